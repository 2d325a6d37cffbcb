/**
 * SLIP framing (RFC 1055) of the serial link, docs/wire-formats.md §3.4: each M5 binary message
 * (§2) travels as one frame.
 *
 * | Octet(s) on the line | Meaning |
 * |---|---|
 * | `C0` | END: ends a frame (a sender may also start a frame with END to flush line noise) |
 * | `DB DC` | a `C0` octet inside the frame (ESC_END) |
 * | `DB DD` | a `DB` octet inside the frame (ESC_ESC) |
 *
 * Empty frames (`C0 C0`, a leading END) are ignored. A frame whose content grows past
 * {@link MAX_SLIP_FRAME_OCTETS} (64 KiB, counted after unescaping) is discarded whole: the decoder
 * drops what it holds, reports it once, and drops (counting) everything up to the next END, where
 * it resynchronises — the tail of an over-long frame is never read as a frame of its own.
 *
 * Receiving, where this decoder is stricter than RFC 1055's sample code (the RFC calls these
 * "protocol violations" and leaves the handling open; this follows the Linux `slip` driver for END
 * and discards rather than guesses otherwise, because a serial line has no checksum and a corrupted
 * M5 request must not be acted upon):
 * - ESC followed by anything but ESC_END or ESC_ESC marks the frame corrupted: it is discarded
 *   (reported once, its octets counted up to its END), never delivered.
 * - END always ends a frame, also right after an ESC (that frame is corrupted, see above).
 *
 * Why a codec of our own, not `@serialport/parser-slip-encoder` (13.0.0): its `SlipDecoder` has no
 * bound on a frame (a device that never sends END grows the buffer without limit), appends with
 * `Buffer.concat` per octet (quadratic: 64 KiB of noise costs gigabytes of copying), emits empty
 * frames, and on a bad escape emits the half frame it holds. Bounding it would mean scanning every
 * chunk before it does, i.e. writing the decoder anyway.
 *
 * Why here and not in `@msgin5g/protocol` (the house rule puts byte layouts there): SLIP is the
 * framing of this one link, not an M5 layout — the M5 bytes inside a frame are still encoded and
 * decoded only by `@msgin5g/protocol` — and this package is written, as an outside team would, only
 * against the public SDK, without changing another package. Should a second link need SLIP, this
 * module moves to `@msgin5g/protocol` in a commit of its own. It is pure (no I/O) so that move is a
 * file move.
 *
 * @see RFC 1055; docs/wire-formats.md §3.4
 */

/** END: ends (and may start) a frame. */
export const SLIP_END = 0xc0;
/** ESC: the next octet is ESC_END or ESC_ESC. */
export const SLIP_ESC = 0xdb;
/** After ESC: a `C0` octet of content. */
export const SLIP_ESC_END = 0xdc;
/** After ESC: a `DB` octet of content. */
export const SLIP_ESC_ESC = 0xdd;

/** Largest frame content (after unescaping), octets: 64 KiB (docs/wire-formats.md §3.4). */
export const MAX_SLIP_FRAME_OCTETS = 64 * 1024;

/**
 * Encodes one frame: END, the content with `C0` and `DB` escaped, END. The leading END flushes
 * whatever line noise the receiver holds (RFC 1055, "send an initial END").
 * @param content the frame content, 0..any octets (an empty content gives `C0 C0`, which receivers ignore).
 * @returns 2 + content length + the number of `C0`/`DB` octets in it, octets.
 */
export function encodeSlipFrame(content: Uint8Array): Uint8Array {
  let escapes = 0;
  for (const b of content) if (b === SLIP_END || b === SLIP_ESC) escapes++;
  const out = new Uint8Array(content.length + escapes + 2);
  let o = 0;
  out[o++] = SLIP_END;
  for (const b of content) {
    if (b === SLIP_END) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_END;
    } else if (b === SLIP_ESC) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_ESC;
    } else {
      out[o++] = b;
    }
  }
  out[o] = SLIP_END;
  return out;
}

/** What the decoder made of the octets pushed so far. */
export type SlipEvent =
  /** A complete, non-empty frame's content (a copy: 1..{@link MAX_SLIP_FRAME_OCTETS} octets). */
  | { readonly kind: 'FRAME'; readonly frame: Uint8Array }
  /**
   * A frame thrown away, reported once, when the decoder knows: `OVERSIZE` at the octet that passes
   * the limit, `BAD_ESCAPE` at the bad octet after ESC (or at an END right after ESC). `octets`: the
   * line octets of that frame so far (escapes included); the rest of it, up to its END, is dropped
   * too and only counted ({@link SlipCounters.discardedOctets}).
   */
  | { readonly kind: 'DISCARDED'; readonly reason: 'OVERSIZE' | 'BAD_ESCAPE'; readonly octets: number };

/** Running totals of a {@link SlipDecoder}, for logs and tests. */
export interface SlipCounters {
  /** Frames delivered. */
  frames: number;
  /** Frames discarded because their content passed {@link MAX_SLIP_FRAME_OCTETS}. */
  oversizeFrames: number;
  /** Frames discarded because of an ESC not followed by ESC_END or ESC_ESC. */
  badEscapeFrames: number;
  /** Line octets thrown away by either (escapes and the END included). */
  discardedOctets: number;
}

/**
 * Incremental SLIP decoder for one byte stream. Octets may arrive split anywhere (an ESC at the
 * end of one chunk, its second octet in the next). Memory is bounded: one buffer of
 * `maxFrameOctets`. Never throws on any input.
 */
export class SlipDecoder {
  private readonly buffer: Uint8Array;
  private length = 0;
  /** Line octets of the current frame (escapes included), for the discard count. */
  private lineOctets = 0;
  private escaped = false;
  private state: 'OK' | 'BAD_ESCAPE' | 'OVERSIZE' = 'OK';
  readonly counters: SlipCounters = { frames: 0, oversizeFrames: 0, badEscapeFrames: 0, discardedOctets: 0 };

  /** @param maxFrameOctets largest content, octets (default 64 KiB); a positive integer. @throws RangeError otherwise. */
  constructor(readonly maxFrameOctets: number = MAX_SLIP_FRAME_OCTETS) {
    if (!Number.isInteger(maxFrameOctets) || maxFrameOctets < 1) throw new RangeError(`maxFrameOctets must be a positive integer, got ${String(maxFrameOctets)}`);
    this.buffer = new Uint8Array(maxFrameOctets);
  }

  /**
   * Line octets (escapes included) of a frame not yet ended and not discarded; 0 between frames
   * and while discarding (those octets are counted in {@link SlipCounters.discardedOctets}).
   */
  get pendingOctets(): number {
    return this.state === 'OK' ? this.lineOctets : 0;
  }

  /** Feeds octets; returns the frames they complete and the frames they discard, in line order. */
  push(chunk: Uint8Array): SlipEvent[] {
    const events: SlipEvent[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (b === SLIP_END) {
        this.endFrame(events);
        continue;
      }
      this.lineOctets++;
      if (this.state !== 'OK') {
        this.counters.discardedOctets++; // the rest of a discarded frame, up to its END
        continue;
      }
      if (this.escaped) {
        this.escaped = false;
        if (b === SLIP_ESC_END) this.append(SLIP_END, events);
        else if (b === SLIP_ESC_ESC) this.append(SLIP_ESC, events);
        else this.discard('BAD_ESCAPE', this.lineOctets, events);
      } else if (b === SLIP_ESC) {
        this.escaped = true;
      } else {
        this.append(b, events);
      }
    }
    return events;
  }

  /**
   * Drops a frame not yet ended (the line was closed and is reopened), counting its octets as
   * discarded. @returns the line octets dropped now.
   */
  reset(): number {
    const dropped = this.state === 'OK' ? this.lineOctets : 0; // a discarded frame's octets are counted already
    this.counters.discardedOctets += dropped;
    this.clear();
    return dropped;
  }

  private append(b: number, events: SlipEvent[]): void {
    if (this.length === this.maxFrameOctets) this.discard('OVERSIZE', this.lineOctets, events);
    else this.buffer[this.length++] = b;
  }

  /** Discards the current frame now (reported once); its remaining octets are counted up to its END. */
  private discard(reason: 'OVERSIZE' | 'BAD_ESCAPE', octets: number, events: SlipEvent[]): void {
    this.state = reason;
    this.length = 0;
    if (reason === 'OVERSIZE') this.counters.oversizeFrames++;
    else this.counters.badEscapeFrames++;
    this.counters.discardedOctets += octets;
    events.push({ kind: 'DISCARDED', reason, octets });
  }

  private endFrame(events: SlipEvent[]): void {
    if (this.state === 'OK' && this.escaped) this.discard('BAD_ESCAPE', this.lineOctets + 1, events); // ESC END
    else if (this.state !== 'OK') this.counters.discardedOctets++; // the END of a discarded frame
    else if (this.length > 0) {
      this.counters.frames++;
      events.push({ kind: 'FRAME', frame: this.buffer.slice(0, this.length) });
    }
    this.clear();
  }

  private clear(): void {
    this.length = 0;
    this.lineOctets = 0;
    this.escaped = false;
    this.state = 'OK';
  }
}
