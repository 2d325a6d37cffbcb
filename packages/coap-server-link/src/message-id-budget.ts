/**
 * `MessageIdBudget`: the Message IDs one upstream socket may still spend toward one server endpoint
 * without reusing any of them within EXCHANGE_LIFETIME (RFC 7252 §4.4: "The same Message ID MUST
 * NOT be reused (in the communication with the same endpoint) within the EXCHANGE_LIFETIME").
 *
 * Message IDs are handed out in sequence through a space of `size` IDs (65 536, the whole 16-bit
 * space, outside tests) starting at a random one, and each remembers when it was last spent. Because
 * the sequence is strictly round-robin, the next ID is always the one spent longest ago, so "may I
 * send now?" is one comparison and the socket's rate ceiling is `size` per `lifetimeMs`
 * (65 536 / 247 s ≈ 265 confirmable requests/s).
 * Rejected alternative: a free list ordered by expiry (a heap or a queue of released IDs). The ID
 * of a request answered in 1 ms may still not be reused for 247 s, so releasing on the answer buys
 * nothing, and the sequence already yields IDs in expiry order.
 *
 * Memory: one `Float64Array` of `size` entries (512 KiB per socket at 65 536).
 *
 * @see RFC 7252 §4.4 (Message ID reuse), §4.8.2 (EXCHANGE_LIFETIME = 247 s)
 */
import { EXCHANGE_LIFETIME_MS } from '@msgin5g/core';

/** EXCHANGE_LIFETIME with the default transmission parameters, ms (RFC 7252 §4.8.2). Defined in @msgin5g/core. */
export { EXCHANGE_LIFETIME_MS };
/** Number of CoAP Message IDs (16 bits). */
export const MESSAGE_ID_SPACE = 0x10000;

export class MessageIdBudget {
  private readonly lastSpentAt: Float64Array;
  private next = 0;
  /** IDs handed out while the next one was still inside its lifetime (should stay 0: the link checks `available` first). */
  forced = 0;

  /**
   * @param lifetimeMs how long a spent ID stays unusable, ms (> 0).
   * @param size how many distinct IDs to cycle through, 1..65 536 (smaller only in tests).
   * @param first the first Message ID, 0..65 535 (default random, as RFC 7252 §4.4 recommends).
   * @throws RangeError for an out-of-range argument.
   */
  constructor(
    readonly lifetimeMs: number = EXCHANGE_LIFETIME_MS,
    readonly size: number = MESSAGE_ID_SPACE,
    private readonly first: number = Math.floor(Math.random() * MESSAGE_ID_SPACE),
  ) {
    if (!(lifetimeMs > 0) || !Number.isFinite(lifetimeMs)) throw new RangeError(`lifetimeMs must be > 0, got ${String(lifetimeMs)}`);
    if (!Number.isInteger(size) || size < 1 || size > MESSAGE_ID_SPACE) throw new RangeError(`size must be 1..${MESSAGE_ID_SPACE}, got ${String(size)}`);
    if (!Number.isInteger(first) || first < 0 || first >= MESSAGE_ID_SPACE) throw new RangeError(`first must be 0..65535, got ${String(first)}`);
    this.lastSpentAt = new Float64Array(size).fill(Number.NEGATIVE_INFINITY);
  }

  /** Whether an ID can be spent at `now` (ms) without reuse inside the lifetime. */
  available(now: number): boolean {
    return now - (this.lastSpentAt[this.next] as number) >= this.lifetimeMs;
  }

  /** When (ms, same clock as `now`) the next ID becomes spendable; `-Infinity` if it never was spent. */
  availableAt(): number {
    return (this.lastSpentAt[this.next] as number) + this.lifetimeMs;
  }

  /** Spends the next ID at `now` (ms) and returns it, 0..65 535. Counts `forced` if it was not `available`. */
  take(now: number): number {
    if (!this.available(now)) this.forced += 1;
    const i = this.next;
    this.lastSpentAt[i] = now;
    this.next = (i + 1) % this.size;
    return (this.first + i) % MESSAGE_ID_SPACE;
  }
}
