import { CryptoRegistrationIdAllocator } from '../src/crypto-registration-id-allocator';

describe('CryptoRegistrationIdAllocator', () => {
  it('gives 8-octet IDs (16 hex digits), all different, across several pool refills', () => {
    const allocator = new CryptoRegistrationIdAllocator();
    const ids = Array.from({ length: 3000 }, () => allocator.allocate());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // Each octet value shows up: the pool is really random, not a zero-filled buffer sliced.
    const octets = new Set(ids.flatMap((id) => id.match(/../g) ?? []));
    expect(octets.size).toBeGreaterThan(250);
  });

  it('honours other lengths and refuses lengths outside 1..16', () => {
    expect(new CryptoRegistrationIdAllocator(3).allocate()).toMatch(/^[0-9a-f]{6}$/);
    expect(new CryptoRegistrationIdAllocator(16).allocate()).toMatch(/^[0-9a-f]{32}$/);
    expect(() => new CryptoRegistrationIdAllocator(0)).toThrow(RangeError);
    expect(() => new CryptoRegistrationIdAllocator(17)).toThrow(RangeError);
  });
});
