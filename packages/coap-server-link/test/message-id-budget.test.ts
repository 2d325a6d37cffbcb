/** `MessageIdBudget` with a fake clock: RFC 7252 §4.4 Message ID reuse, pure arithmetic. */
import { EXCHANGE_LIFETIME_MS } from '@msgin5g/core';
import { MESSAGE_ID_SPACE, MessageIdBudget } from '@msgin5g/coap-server-link';

describe('MessageIdBudget', () => {
  it('defaults to EXCHANGE_LIFETIME (247 s) and the whole 16-bit space', () => {
    const b = new MessageIdBudget();
    expect(b.lifetimeMs).toBe(EXCHANGE_LIFETIME_MS);
    expect(b.size).toBe(MESSAGE_ID_SPACE);
  });

  it('hands out IDs in sequence from the first one, wrapping at 65 536', () => {
    const b = new MessageIdBudget(1000, MESSAGE_ID_SPACE, 65_534);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([65_534, 65_535, 0, 1]);
  });

  it('never reuses an ID within the lifetime: a whole space per lifetime, then the oldest frees first', () => {
    const b = new MessageIdBudget(1000, 4, 10);
    const spent: Array<{ id: number; at: number }> = [];
    let now = 0;
    // Ask once per ms for 3.5 lifetimes; spend only when available.
    for (; now < 3500; now++) {
      if (b.available(now)) spent.push({ id: b.take(now), at: now });
    }
    expect(b.forced).toBe(0);
    // 4 IDs per 1000 ms: at 0 (×4), 1000 (×4), 2000 (×4), 3000 (×4).
    expect(spent).toHaveLength(16);
    const lastUse = new Map<number, number>();
    for (const s of spent) {
      const before = lastUse.get(s.id);
      if (before !== undefined) expect(s.at - before).toBeGreaterThanOrEqual(1000);
      lastUse.set(s.id, s.at);
    }
    expect([...lastUse.keys()].sort()).toEqual([10, 11, 12, 13]);
  });

  it('says when the next ID frees, and counts a forced take', () => {
    const b = new MessageIdBudget(500, 2, 0);
    expect(b.availableAt()).toBe(Number.NEGATIVE_INFINITY);
    b.take(100);
    b.take(200);
    expect(b.available(599)).toBe(false);
    expect(b.availableAt()).toBe(600);
    expect(b.available(600)).toBe(true);
    b.take(300); // too early
    expect(b.forced).toBe(1);
  });

  it.each([
    [0, 10, 0],
    [Number.POSITIVE_INFINITY, 10, 0],
    [1000, 0, 0],
    [1000, 65_537, 0],
    [1000, 10, 65_536],
    [1000, 10, -1],
  ])('refuses lifetime %p, size %p, first %p with RangeError', (lifetime, size, first) => {
    expect(() => new MessageIdBudget(lifetime, size, first)).toThrow(RangeError);
  });
});
