/**
 * Token buckets keyed by source (docs/architecture.md §3 "Limits": max request rate per source). Each
 * key gets `burst` tokens, refilled at `ratePerS` tokens a second; a request takes one. Pure: time
 * comes in as `now` (ms). Memory is bounded: at most `maxKeys` buckets, the least recently used
 * dropped first (a dropped source simply starts again with a full bucket).
 *
 * Rejected alternative: a fixed window counter per second — cheaper, but it lets a source send two
 * windows' worth in the instant around a boundary.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    private readonly maxKeys = 100_000,
  ) {
    if (!(ratePerS > 0) || !(burst >= 1) || !(maxKeys >= 1)) throw new RangeError('ratePerS > 0, burst >= 1 and maxKeys >= 1 are required');
  }

  /** Takes one token for `key` at `now` (ms); false when the bucket is empty. */
  take(key: string, now: number): boolean {
    const b = this.buckets.get(key);
    let tokens: number;
    if (b === undefined) {
      tokens = this.burst;
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
    } else {
      tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerS);
      this.buckets.delete(key); // re-inserted below: Map order is the LRU order
    }
    const allowed = tokens >= 1;
    this.buckets.set(key, { tokens: allowed ? tokens - 1 : tokens, at: now });
    return allowed;
  }

  /** Buckets held. */
  get size(): number {
    return this.buckets.size;
  }
}
