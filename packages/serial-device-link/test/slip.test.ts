/**
 * SLIP framing (RFC 1055, docs/wire-formats.md §3.4): examples with their bytes, and properties
 * (fast-check) over random frames and random line noise.
 */
import fc from 'fast-check';
import { encodeSlipFrame, MAX_SLIP_FRAME_OCTETS, SlipDecoder, type SlipEvent } from '../src/slip';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const frames = (events: SlipEvent[]) => events.filter((e) => e.kind === 'FRAME').map((e) => hex(e.frame));

describe('encodeSlipFrame', () => {
  it('wraps the content in END octets and escapes C0 and DB (RFC 1055)', () => {
    expect(hex(encodeSlipFrame(bytes('10 00 2a')))).toBe('c010002ac0');
    expect(hex(encodeSlipFrame(bytes('c0 db 01')))).toBe('c0dbdcdbdd01c0');
    expect(hex(encodeSlipFrame(bytes('dc dd')))).toBe('c0dcddc0'); // ESC_END/ESC_ESC alone are plain octets
    expect(hex(encodeSlipFrame(new Uint8Array(0)))).toBe('c0c0');
  });
});

describe('SlipDecoder', () => {
  it('decodes frames with and without a leading END, and unescapes', () => {
    const d = new SlipDecoder();
    expect(frames(d.push(bytes('10 00 2a c0')))).toEqual(['10002a']);
    expect(frames(d.push(bytes('c0 12 01 db dc db dd c0')))).toEqual(['1201c0db']);
    expect(d.counters).toEqual({ frames: 2, oversizeFrames: 0, badEscapeFrames: 0, discardedOctets: 0 });
  });

  it('ignores empty frames (END END, a leading END)', () => {
    const d = new SlipDecoder();
    expect(d.push(bytes('c0 c0 c0 c0'))).toEqual([]);
    expect(d.counters.frames).toBe(0);
  });

  it('keeps an escape split across two chunks', () => {
    const d = new SlipDecoder();
    expect(d.push(bytes('c0 01 db'))).toEqual([]);
    expect(d.pendingOctets).toBe(2);
    expect(frames(d.push(bytes('dc 02 c0')))).toEqual(['01c002']);
  });

  it('discards a frame with a bad escape (ESC then another octet) and delivers the next one', () => {
    const d = new SlipDecoder();
    const events = d.push(bytes('c0 01 db 41 02 c0 10 00 2a c0'));
    expect(events).toEqual([
      { kind: 'DISCARDED', reason: 'BAD_ESCAPE', octets: 3 },
      { kind: 'FRAME', frame: bytes('10002a') },
    ]);
    expect(d.counters).toEqual({ frames: 1, oversizeFrames: 0, badEscapeFrames: 1, discardedOctets: 5 });
  });

  it('ends a frame at END even right after ESC, and discards that frame', () => {
    const d = new SlipDecoder();
    expect(d.push(bytes('01 db c0 02 c0'))).toEqual([
      { kind: 'DISCARDED', reason: 'BAD_ESCAPE', octets: 3 },
      { kind: 'FRAME', frame: bytes('02') },
    ]);
  });

  it('accepts a frame of exactly 64 KiB and discards one octet more, up to its END, then resynchronises', () => {
    const d = new SlipDecoder();
    const max = new Uint8Array(MAX_SLIP_FRAME_OCTETS).fill(0x55);
    const ok = d.push(encodeSlipFrame(max));
    expect(ok).toHaveLength(1);
    expect(ok[0]?.kind === 'FRAME' && ok[0].frame.length).toBe(MAX_SLIP_FRAME_OCTETS);

    const over = new Uint8Array(MAX_SLIP_FRAME_OCTETS + 100).fill(0x55);
    const events = d.push(Uint8Array.from([...encodeSlipFrame(over), ...encodeSlipFrame(bytes('10 00 2a'))]));
    expect(events).toEqual([
      { kind: 'DISCARDED', reason: 'OVERSIZE', octets: MAX_SLIP_FRAME_OCTETS + 1 },
      { kind: 'FRAME', frame: bytes('10002a') },
    ]);
    // 64 KiB + 100 content octets and the END closing them; the leading END of each frame is an empty frame.
    expect(d.counters).toMatchObject({ frames: 2, oversizeFrames: 1, discardedOctets: MAX_SLIP_FRAME_OCTETS + 101 });
  });

  it('counts escaped octets against the limit after unescaping (line octets may be twice as many)', () => {
    const d = new SlipDecoder(4);
    expect(frames(d.push(encodeSlipFrame(bytes('c0 c0 c0 c0'))))).toEqual(['c0c0c0c0']);
    expect(d.push(encodeSlipFrame(bytes('c0 c0 c0 c0 c0')))).toEqual([{ kind: 'DISCARDED', reason: 'OVERSIZE', octets: 10 }]);
  });

  it('reports an over-long run without END once, at the limit, and holds no more than the limit', () => {
    const d = new SlipDecoder(1024);
    const noise = new Uint8Array(10_000).fill(0x41);
    expect(d.push(noise)).toEqual([{ kind: 'DISCARDED', reason: 'OVERSIZE', octets: 1025 }]);
    expect(d.push(noise)).toEqual([]);
    expect(d.counters.discardedOctets).toBe(20_000);
  });

  it('reset() drops a frame in progress and counts it', () => {
    const d = new SlipDecoder();
    d.push(bytes('c0 10 00'));
    expect(d.reset()).toBe(2);
    expect(frames(d.push(bytes('2a c0')))).toEqual(['2a']);
    expect(d.counters.discardedOctets).toBe(2);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new SlipDecoder(0)).toThrow(RangeError);
    expect(() => new SlipDecoder(1.5)).toThrow(RangeError);
  });
});

describe('SLIP properties', () => {
  const frame = fc.uint8Array({ minLength: 1, maxLength: 300 });
  // Octets that make escapes likely.
  const spicyFrame = fc.array(fc.constantFrom(0xc0, 0xdb, 0xdc, 0xdd, 0x00, 0x10), { minLength: 1, maxLength: 50 }).map((a) => Uint8Array.from(a));

  it('decode(encode(x)) = x for random non-empty frames, split into chunks anywhere', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(frame, spicyFrame), { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), (list, cuts) => {
        const line = Buffer.concat(list.map((f) => encodeSlipFrame(f)));
        const points = [...new Set(cuts.map((c) => c % (line.length + 1)))].sort((a, b) => a - b);
        const d = new SlipDecoder();
        const out: SlipEvent[] = [];
        let at = 0;
        for (const p of [...points, line.length]) {
          out.push(...d.push(line.subarray(at, p)));
          at = p;
        }
        expect(out.map((e) => (e.kind === 'FRAME' ? hex(e.frame) : e.kind))).toEqual(list.map(hex));
        expect(d.pendingOctets).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('random octets never throw, every delivered frame is 1..limit octets, and every octet is accounted for', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 400 }), { maxLength: 8 }), fc.integer({ min: 1, max: 64 }), (chunks, limit) => {
        const d = new SlipDecoder(limit);
        let delivered = 0;
        let ends = 0;
        let total = 0;
        for (const c of chunks) {
          total += c.length;
          for (const b of c) if (b === 0xc0) ends++;
          for (const e of d.push(c)) {
            if (e.kind === 'FRAME') {
              expect(e.frame.length).toBeGreaterThanOrEqual(1);
              expect(e.frame.length).toBeLessThanOrEqual(limit);
              delivered++;
            } else {
              expect(e.octets).toBeGreaterThanOrEqual(1);
            }
          }
        }
        expect(d.counters.frames).toBe(delivered);
        // Every octet is in a delivered frame, discarded, pending, or an END of a frame not discarded.
        expect(d.counters.discardedOctets + d.pendingOctets).toBeLessThanOrEqual(total);
        expect(delivered + d.counters.oversizeFrames + d.counters.badEscapeFrames).toBeLessThanOrEqual(ends + 1);
      }),
      { numRuns: 500 },
    );
  });

  it('a valid frame after any noise is delivered once the noise ends with END', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), frame, (noise, f) => {
        const d = new SlipDecoder();
        d.push(noise);
        const out = d.push(encodeSlipFrame(f)); // its leading END ends the noise
        expect(frames(out)).toContain(hex(f));
        expect(frames(out)[frames(out).length - 1]).toBe(hex(f));
      }),
      { numRuns: 300 },
    );
  });
});
