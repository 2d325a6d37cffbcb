import { TokenSource, TOKEN_OCTETS } from '../src/token-source';

describe('TokenSource', () => {
  it('hands out 8-octet tokens, each its own Buffer, all different across pool refills', () => {
    const source = new TokenSource();
    const tokens = Array.from({ length: 2000 }, () => source.next());
    for (const t of tokens) expect(t.length).toBe(TOKEN_OCTETS);
    expect(new Set(tokens.map((t) => t.toString('hex'))).size).toBe(tokens.length);
    // Not views on one pool: changing one token changes no other.
    const copy = Buffer.from(tokens[1]!);
    tokens[0]!.fill(0);
    expect(tokens[1]).toEqual(copy);
  });
});
