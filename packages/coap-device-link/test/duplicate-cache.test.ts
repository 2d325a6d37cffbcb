/** DuplicateCache: CON Message IDs for EXCHANGE_LIFETIME, NON ones for NON_LIFETIME, from the first copy; bounded (RFC 7252 §4.5, §4.8.2). */
import { DuplicateCache } from '../src/duplicate-cache';
import { EXCHANGE_LIFETIME_MS, NON_LIFETIME_MS } from '../src/transmission-parameters';

describe('DuplicateCache', () => {
  it('remembers a CON 247 s and a NON 145 s from the first copy, whenever the answer was sent', () => {
    const c = new DuplicateCache<string>(100);
    c.remember('a#1', 'CON', 'ack', 0, 5_000); // answered 5 s after the first copy
    c.remember('a#2', 'NON', 'non', 0, 5_000);
    expect(c.get('a#1', EXCHANGE_LIFETIME_MS - 1)).toBe('ack');
    expect(c.get('a#1', EXCHANGE_LIFETIME_MS)).toBeUndefined();
    expect(c.get('a#2', NON_LIFETIME_MS - 1)).toBe('non');
    expect(c.get('a#2', NON_LIFETIME_MS)).toBeUndefined();
    expect([EXCHANGE_LIFETIME_MS, NON_LIFETIME_MS]).toEqual([247_000, 145_000]);
  });

  it('forgets expired entries as new ones arrive', () => {
    const c = new DuplicateCache<string>(100);
    for (let i = 0; i < 10; i++) c.remember(`a#${i}`, i % 2 === 0 ? 'CON' : 'NON', 'x', i, i);
    c.remember('b#1', 'CON', 'x', NON_LIFETIME_MS + 20, NON_LIFETIME_MS + 20);
    expect(c.size).toBe(6); // the five NON entries are gone
    c.remember('b#2', 'CON', 'x', EXCHANGE_LIFETIME_MS + 20, EXCHANGE_LIFETIME_MS + 20);
    expect(c.size).toBe(2);
  });

  it('keeps at most max entries: the oldest inserted is forgotten first, whichever its type', () => {
    const c = new DuplicateCache<string>(3);
    c.remember('a#1', 'NON', 'x', 0, 0);
    c.remember('a#2', 'CON', 'x', 1, 1);
    c.remember('a#3', 'NON', 'x', 2, 2);
    c.remember('a#4', 'CON', 'x', 3, 3);
    expect(['a#1', 'a#2', 'a#3', 'a#4'].map((k) => c.get(k, 10))).toEqual([undefined, 'x', 'x', 'x']);
    c.remember('a#5', 'CON', 'x', 4, 4);
    expect(['a#2', 'a#3', 'a#4', 'a#5'].map((k) => c.get(k, 10))).toEqual([undefined, 'x', 'x', 'x']);
    expect(c.size).toBe(3);
  });

  it('a key remembered again replaces its entry (a Message ID reused after its lifetime)', () => {
    const c = new DuplicateCache<string>(10);
    c.remember('a#1', 'NON', 'old', 0, 0);
    c.remember('a#1', 'CON', 'new', 200_000, 200_000);
    expect(c.get('a#1', 300_000)).toBe('new');
    expect(c.size).toBe(1);
  });
});
