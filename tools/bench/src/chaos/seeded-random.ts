/**
 * `SeededRandom`: a small deterministic PRNG (mulberry32, 32-bit state) so that a chaos run's
 * choices — which devices de-register, when the gateway is killed, the back-off jitter — follow from
 * the printed seed. Rejected alternative: `Math.random()`, which cannot be replayed.
 */
export class SeededRandom {
  private state: number;

  /** `seed`: any integer; only its low 32 bits are used. */
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A float in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A new generator whose sequence depends on this one's seed and `salt` only (not on how far this one has advanced). */
  fork(salt: number): SeededRandom {
    return new SeededRandom((Math.imul(this.seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(salt + 1, 0xc2b2ae35)) >>> 0);
  }
}
