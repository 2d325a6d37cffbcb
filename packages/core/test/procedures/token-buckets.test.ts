import { TokenBuckets } from '@msgin5g/core';

describe('TokenBuckets', () => {
  it('allows a burst, then the refill rate', () => {
    const b = new TokenBuckets(10, 5);
    const t0 = 1_000_000;
    const first = Array.from({ length: 8 }, () => b.take('a', t0));
    expect(first).toEqual([true, true, true, true, true, false, false, false]);
    expect(b.take('a', t0 + 99)).toBe(false); // 0.99 token
    expect(b.take('a', t0 + 100)).toBe(true); // refilled 1 at 10/s
    expect(b.take('b', t0)).toBe(true); // another source has its own bucket
  });

  it('never holds more than maxKeys buckets (least recently used dropped)', () => {
    const b = new TokenBuckets(1, 1, 3);
    for (const k of ['a', 'b', 'c', 'd']) b.take(k, 0);
    expect(b.size).toBe(3);
    // 'a' was dropped: it starts again with a full bucket
    expect(b.take('a', 0)).toBe(true);
    expect(b.take('d', 0)).toBe(false);
  });

  it('rejects nonsense limits', () => {
    expect(() => new TokenBuckets(0, 1)).toThrow(RangeError);
    expect(() => new TokenBuckets(1, 0)).toThrow(RangeError);
  });
});
