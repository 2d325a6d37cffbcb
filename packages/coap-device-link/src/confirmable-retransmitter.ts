/**
 * The CON messages the CoAP device link sends (separate responses, RFC 7252 §5.2.2, and its own
 * requests to devices: MSG and IMDN, docs/wire-formats.md §3.3) and their
 * retransmission until the device acknowledges or rejects them (RFC 7252 §4.2): the first copy at
 * once, then the same bytes again after a timeout drawn from ACK_TIMEOUT × [1, ACK_RANDOM_FACTOR],
 * doubled after each retransmission, at most MAX_RETRANSMIT = 4 times; an empty ACK or an RST with
 * the message's Message ID from the same endpoint ends it; after the timeout that follows the last
 * retransmission the link gives up (logged at warn). With the default ACK_TIMEOUT of 2 s that is
 * retransmissions up to 30..45 s after the first copy (MAX_TRANSMIT_SPAN, §4.8.2) and giving up
 * after 62..93 s (MAX_TRANSMIT_WAIT).
 *
 * Bounded: the link admits a request only while its pending exchanges plus the messages held here
 * are under its global cap (see `exchange-table.ts`), so `max` is never reached in operation; it
 * remains as a last guard (the oldest stops being retransmitted, logged at error).
 *
 * Rejected alternative: retransmitting on a fixed period. RFC 7252 §4.2 asks for the randomised,
 * doubling timeout so that many devices behind one congested link do not retransmit in lockstep.
 *
 * @see RFC 7252 §4.2 (CON messages), §4.8 (ACK_TIMEOUT, ACK_RANDOM_FACTOR, MAX_RETRANSMIT), §5.2.2
 */
import type { Logger } from '@msgin5g/core';
import type { Peer, Transmit } from './peer';
import { ACK_RANDOM_FACTOR, MAX_RETRANSMIT } from './transmission-parameters';

export interface ConfirmableRetransmitterOptions {
  readonly transmit: Transmit;
  /** ACK_TIMEOUT, ms ≥ 1. */
  readonly ackTimeoutMs: number;
  /** Most messages awaiting an acknowledgement, ≥ 1 (a guard: see the module docs). */
  readonly max: number;
  readonly logger: Logger;
  /** Uniform in [0, 1): draws the initial timeout. Default `Math.random`. */
  readonly random?: () => number;
}

interface Outstanding {
  readonly peer: Peer;
  readonly messageId: number;
  readonly bytes: Uint8Array;
  /** Called once when the link gives up on it (never acknowledged), or when the guard drops it. */
  readonly onGiveUp: (() => void) | undefined;
  /** For logs: `separate response` or `request`. */
  readonly what: string;
  retransmissions: number;
  timeoutMs: number;
  timer?: NodeJS.Timeout;
}

export class ConfirmableRetransmitter {
  /** Key `layer2Id#messageId`, oldest first. */
  private readonly outstanding = new Map<string, Outstanding>();
  private readonly random: () => number;

  constructor(private readonly options: ConfirmableRetransmitterOptions) {
    this.random = options.random ?? Math.random;
  }

  /** CON messages awaiting the device's ACK or RST. */
  get size(): number {
    return this.outstanding.size;
  }

  /**
   * Sends the CON `bytes` (Message ID `messageId`) to `peer` now, and again on each timeout until
   * {@link settle} or MAX_RETRANSMIT retransmissions; then `onGiveUp` is called (once). `what` names
   * the message in logs (default `separate response`). Resolves when the OS has taken the first copy;
   * rejects with the transmit error (retransmission goes on: the failure may be transient).
   */
  send(peer: Peer, messageId: number, bytes: Uint8Array, options: { readonly what?: string; readonly onGiveUp?: () => void } = {}): Promise<void> {
    const { what = 'separate response', onGiveUp } = options;
    const key = `${peer.layer2Id}#${messageId}`;
    while (this.outstanding.size >= this.options.max) {
      const [oldestKey, oldest] = this.outstanding.entries().next().value as [string, Outstanding];
      clearTimeout(oldest.timer);
      this.outstanding.delete(oldestKey);
      this.options.logger.error({ link: 'coap', layer2Id: oldest.peer.layer2Id, messageId: oldest.messageId }, 'too many CON messages awaiting an ACK: stopped retransmitting the oldest');
      oldest.onGiveUp?.();
    }
    const o: Outstanding = { peer, messageId, bytes, onGiveUp, what, retransmissions: 0, timeoutMs: this.options.ackTimeoutMs * (1 + (ACK_RANDOM_FACTOR - 1) * this.random()) };
    this.outstanding.set(key, o);
    this.arm(key, o);
    return this.options.transmit(peer, bytes);
  }

  /** An empty ACK or RST from `peer` for `messageId`: stops retransmitting. Returns whether it matched a message. */
  settle(peer: Peer, messageId: number, type: 'ACK' | 'RST'): boolean {
    const key = `${peer.layer2Id}#${messageId}`;
    const o = this.outstanding.get(key);
    if (o === undefined) return false;
    clearTimeout(o.timer);
    this.outstanding.delete(key);
    if (type === 'RST') this.options.logger.info({ link: 'coap', layer2Id: peer.layer2Id, messageId }, `the device rejected a ${o.what} with RST`);
    else this.options.logger.debug({ link: 'coap', layer2Id: peer.layer2Id, messageId, retransmissions: o.retransmissions }, `${o.what} acknowledged`);
    return true;
  }

  /** Stops every retransmission. */
  close(): void {
    for (const o of this.outstanding.values()) clearTimeout(o.timer);
    this.outstanding.clear();
  }

  private arm(key: string, o: Outstanding): void {
    o.timer = setTimeout(() => {
      if (this.outstanding.get(key) !== o) return;
      if (o.retransmissions >= MAX_RETRANSMIT) {
        this.outstanding.delete(key);
        this.options.logger.warn({ link: 'coap', layer2Id: o.peer.layer2Id, messageId: o.messageId }, `${o.what} never acknowledged by the device`);
        o.onGiveUp?.();
        return;
      }
      o.retransmissions += 1;
      o.timeoutMs *= 2;
      this.options.transmit(o.peer, o.bytes).catch((err: unknown) => {
        this.options.logger.warn({ link: 'coap', layer2Id: o.peer.layer2Id, what: 'separate response retransmission', err: err instanceof Error ? err.message : String(err) }, 'could not send to a CoAP device');
      });
      this.arm(key, o);
    }, o.timeoutMs);
  }
}
