/** The §3.1 frame layout: encode, decode, padding, tags, and properties over random input. */
import fc from 'fast-check';
import { decodeM5Frame, encodeM5Frame, formatMac, isGroupMac, isUnicastMac, isUsableEtherType, macAt, macOctets, withVlanTag } from '@msgin5g/protocol';

const hex = (s: string): Uint8Array => Uint8Array.from((s.replace(/\s+/g, '').match(/../g) ?? []).map((h) => parseInt(h, 16)));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('M5 frame (docs/wire-formats.md §3.1)', () => {
  it('encodes the de-registration example of docs/wire-formats.md §2 into a 60-octet frame', () => {
    const frame = encodeM5Frame({ destination: '020000000001', source: '02000000aa01', etherType: 0x88b5, unit: hex('12080011223344556677') });
    expect(toHex(frame)).toBe(`02000000000102000000aa0188b5000a12080011223344556677${'00'.repeat(34)}`);
    expect(frame.length).toBe(60);
  });

  it('does not pad a frame already 60 octets or longer', () => {
    const unit = new Uint8Array(100).fill(0x5a);
    expect(encodeM5Frame({ destination: '020000000001', source: '020000000002', etherType: 0x88b5, unit }).length).toBe(116);
  });

  it('throws RangeError for a unit over 65,535 octets', () => {
    expect(() => encodeM5Frame({ destination: '020000000001', source: '020000000002', etherType: 0x88b5, unit: new Uint8Array(65_536) })).toThrow(RangeError);
  });

  it('decodes a tagged frame and reports tags and padding', () => {
    const frame = withVlanTag(encodeM5Frame({ destination: '020000000001', source: '02000000aa01', etherType: 0x88b5, unit: hex('10002a') }), 100);
    const r = decodeM5Frame(frame, 0x88b5);
    expect(r).toMatchObject({ kind: 'M5', destination: '020000000001', source: '02000000aa01', vlanTags: 1, paddingOctets: 41 });
    expect(r.kind === 'M5' && toHex(r.unit)).toBe('10002a');
  });

  it('reads another EtherType as OTHER_ETHERTYPE', () => {
    expect(decodeM5Frame(hex(`020000000001 02000000aa01 0800 4500`), 0x88b5)).toEqual({ kind: 'OTHER_ETHERTYPE', destination: '020000000001', source: '02000000aa01', etherType: 0x0800 });
  });

  it('decode(encode(x)) gives x back, for any unit, MACs and EtherType (fast-check)', () => {
    const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => macAt(b, 0));
    fc.assert(
      fc.property(mac, mac, fc.integer({ min: 0x0600, max: 0xffff }).filter(isUsableEtherType), fc.uint8Array({ maxLength: 200 }), fc.option(fc.integer({ min: 0, max: 4095 })), (d, s, t, unit, vlan) => {
        let frame = encodeM5Frame({ destination: d, source: s, etherType: t, unit });
        if (vlan !== null) frame = withVlanTag(frame, vlan);
        const r = decodeM5Frame(frame, t);
        expect(r.kind).toBe('M5');
        if (r.kind !== 'M5') return;
        expect([r.destination, r.source, r.vlanTags, toHex(r.unit)]).toEqual([d, s, vlan === null ? 0 : 1, toHex(unit)]);
        expect(frame.length).toBeGreaterThanOrEqual(60);
      }),
      { numRuns: 300, seed: 0x3_1 },
    );
  });

  it('decode never throws on random bytes (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0x0600, max: 0xffff }), (bytes, t) => {
        const r = decodeM5Frame(bytes, t);
        expect(['M5', 'OTHER_ETHERTYPE', 'MALFORMED']).toContain(r.kind);
        if (r.kind === 'M5') expect(r.unit.length + r.paddingOctets).toBeLessThanOrEqual(bytes.length);
      }),
      { numRuns: 1000, seed: 0x3_2 },
    );
  });

  it('withVlanTag inserts TPID and TCI after the source MAC (IEEE 802.1Q §9.5), and refuses what cannot be a tag', () => {
    const frame = encodeM5Frame({ destination: '020000000001', source: '02000000aa01', etherType: 0x88b5, unit: hex('10002a') });
    expect(toHex(withVlanTag(frame, 0xabc).subarray(0, 18))).toBe('02000000000102000000aa018100 0abc 88b5'.replace(/ /g, ''));
    expect(toHex(withVlanTag(frame, 7, 0x88a8).subarray(12, 16))).toBe('88a80007');
    expect(() => withVlanTag(frame, 4096)).toThrow(RangeError);
    expect(() => withVlanTag(frame, 1, 0x0800)).toThrow(RangeError);
    expect(() => withVlanTag(new Uint8Array(11), 1)).toThrow(RangeError);
  });

  it('MAC helpers', () => {
    expect(toHex(macOctets('02000000aa01'))).toBe('02000000aa01');
    expect(() => macOctets('02:00:00:00:aa:01')).toThrow(TypeError);
    expect(formatMac('02000000aa01')).toBe('02:00:00:00:aa:01');
    expect(isGroupMac('ffffffffffff')).toBe(true);
    expect(isGroupMac('01005e000001')).toBe(true);
    expect(isGroupMac('02000000aa01')).toBe(false);
    expect(isUnicastMac('02000000aa01')).toBe(true);
    expect(isUnicastMac('33330000000f')).toBe(false);
    expect(isUnicastMac('nope')).toBe(false);
  });
});
