/**
 * Duplicate detection of a CoAP server endpoint's message layer (RFC 7252 §4.5): what the endpoint
 * did with each request Message ID it has finished with, per source endpoint, so that a
 * retransmitted copy is answered alike and never processed twice. Shared by the CoAP device link
 * and the gateway's MSGin5G-1 endpoint (`CoapServerInbox`). A CON's Message ID is remembered for EXCHANGE_LIFETIME
 * (247 s), a NON's for NON_LIFETIME (145 s), both counted from the first copy's arrival (§4.8.2:
 * after that the device may reuse the Message ID for a new message).
 *
 * Two insertion-ordered maps, one per lifetime, so the oldest entry of each is at its head:
 * forgetting expired entries is amortised O(1) per insertion. An entry whose exchange was answered
 * late (inserted after younger ones) may outlive its lifetime in the map until the sweep reaches it;
 * `get` checks the expiry, so it is never mistaken for a duplicate. At most `max` entries in all:
 * beyond that the oldest is forgotten first (a copy of it then reads as a new message), so traffic
 * cannot grow the cache. Requests still in progress are not here: the message layer keeps those.
 *
 * Rejected alternative: one map with a per-entry lifetime. Its head would no longer be the next to
 * expire, so a sweep would have to walk CON entries 145..247 s old on every datagram.
 *
 * Pure: time is passed in (ms, any monotone clock the caller uses consistently).
 * @see RFC 7252 §4.5 (message deduplication), §4.8.2 (EXCHANGE_LIFETIME, NON_LIFETIME)
 */
import { EXCHANGE_LIFETIME_MS } from '@msgin5g/core';

/** NON_LIFETIME, ms: how long a NON's Message ID is remembered for duplicate detection (RFC 7252 §4.8.2: 145 s). */
export const NON_LIFETIME_MS = 145_000;

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
  readonly insertedAt: number;
}

/** How long a Message ID is remembered, ms, by message type. */
export interface DuplicateLifetimes {
  readonly CON: number;
  readonly NON: number;
}

export class CoapDuplicateCache<V> {
  private readonly maps: { readonly CON: Map<string, Entry<V>>; readonly NON: Map<string, Entry<V>> } = { CON: new Map(), NON: new Map() };

  /**
   * @param max most entries kept in all, ≥ 1
   * @param lifetimes ms per type; default EXCHANGE_LIFETIME for CON, NON_LIFETIME for NON
   */
  constructor(
    private readonly max: number,
    private readonly lifetimes: DuplicateLifetimes = { CON: EXCHANGE_LIFETIME_MS, NON: NON_LIFETIME_MS },
  ) {}

  /** Entries held (expired ones not yet swept included). */
  get size(): number {
    return this.maps.CON.size + this.maps.NON.size;
  }

  /** What was remembered for `key` (`layer2Id#messageId`), unless its lifetime is over at `now`. */
  get(key: string, now: number): V | undefined {
    const entry = this.maps.CON.get(key) ?? this.maps.NON.get(key);
    return entry !== undefined && entry.expiresAt > now ? entry.value : undefined;
  }

  /**
   * Remembers `value` for `key` until `firstSeenAt` + the lifetime of `type` (replacing an earlier
   * entry for the key), forgets what has expired at `now`, then the oldest entries beyond `max`.
   */
  remember(key: string, type: 'CON' | 'NON', value: V, firstSeenAt: number, now: number): void {
    this.maps.CON.delete(key);
    this.maps.NON.delete(key);
    this.maps[type].set(key, { value, expiresAt: firstSeenAt + this.lifetimes[type], insertedAt: now });
    this.sweep(now);
    for (let excess = this.size - this.max; excess > 0; excess--) {
      const con = this.maps.CON.entries().next().value;
      const non = this.maps.NON.entries().next().value;
      const from = non === undefined || (con !== undefined && con[1].insertedAt <= non[1].insertedAt) ? this.maps.CON : this.maps.NON;
      const oldest = from.keys().next().value as string;
      from.delete(oldest);
    }
  }

  /** Forgets entries whose lifetime is over at `now`, from the head of each map (see the module docs). */
  sweep(now: number): void {
    for (const map of [this.maps.CON, this.maps.NON]) {
      for (const [key, entry] of map) {
        if (entry.expiresAt > now) break;
        map.delete(key);
      }
    }
  }

  clear(): void {
    this.maps.CON.clear();
    this.maps.NON.clear();
  }
}
