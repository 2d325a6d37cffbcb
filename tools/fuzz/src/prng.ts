/**
 * The fuzzer's random source: sfc32 (Small Fast Counter, 32-bit), seeded per input from
 * (run seed, target stream, input index). Every input can therefore be regenerated alone from the
 * seed and its index (`pnpm fuzz --seed S --target m5 --index I`), without replaying the inputs
 * before it, and the targets draw from independent streams.
 *
 * Rejected alternative: fast-check's generators. They shrink and report well, but a million
 * inputs through its arbitrary machinery costs several times the decoding being tested; a raw
 * 32-bit generator keeps the run inside a few minutes on a shared two-core machine.
 */

/** Stream numbers of the targets: inputs of different targets never share a random sequence. */
export const STREAM = { m5: 1, json: 2, 'udp-link': 3 } as const;

const TWO_POW_MINUS_32 = 2.3283064365386963e-10;

/** Murmur3's 32-bit finaliser: a cheap avalanche for seeding. */
function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A seeded pseudo-random generator (sfc32). Not for cryptography. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` a uint32; `stream` one of {@link STREAM}; `index` the input number (0, 1, …). */
  constructor(seed: number, stream: number, index: number) {
    this.a = mix32(seed ^ 0x9e3779b9);
    this.b = mix32(this.a ^ Math.imul(stream + 1, 0x27d4eb2d));
    this.c = mix32(this.b ^ (index >>> 0));
    this.d = mix32(this.c ^ Math.floor(index / 0x1_0000_0000)) | 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform integer 0..2^32-1. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform integer 0..n-1 (n ≥ 1, at most 2^32; the bias is below 2^-20 for the sizes used here). */
  below(n: number): number {
    return Math.floor(this.u32() * TWO_POW_MINUS_32 * n);
  }

  /** A uniform integer min..max (inclusive). */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  /** True with probability `p` (0..1). */
  chance(p: number): boolean {
    return this.u32() * TWO_POW_MINUS_32 < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }

  /** An index into `weights` (non-negative, not all zero), drawn with those relative weights. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.u32() * TWO_POW_MINUS_32 * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] as number;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** Fills `out[start..end)` with random octets. */
  fill(out: Uint8Array, start = 0, end = out.length): Uint8Array {
    let i = start;
    for (; i + 4 <= end; i += 4) {
      const v = this.u32();
      out[i] = v;
      out[i + 1] = v >>> 8;
      out[i + 2] = v >>> 16;
      out[i + 3] = v >>> 24;
    }
    for (; i < end; i++) out[i] = this.u32();
    return out;
  }

  /** `n` random octets. */
  bytes(n: number): Uint8Array {
    return this.fill(new Uint8Array(n));
  }
}
