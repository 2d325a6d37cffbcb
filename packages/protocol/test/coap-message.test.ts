/** The strict CoAP parser and the encoder (RFC 7252 §3), checked against `coap-packet` both ways and against bytes written from the RFC. */
import { generate, parse } from 'coap-packet';
import fc from 'fast-check';
import { COAP_CODE, coapCodeText, encodeCoapMessage, isCriticalOption, parseCoapMessage, readUintOption, uintOptionValue, type CoapType } from '@msgin5g/protocol';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** xorshift32 octets, so a failure can be replayed. */
function pseudoRandom(n: number, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

describe('parseCoapMessage', () => {
  it('reads a POST /msgin5g with token, Content-Format 50 and a payload', () => {
    const bytes = generate({
      code: '0.02',
      messageId: 0xbeef,
      token: Buffer.from('0102030405060708', 'hex'),
      confirmable: true,
      options: [
        { name: 'Uri-Path', value: Buffer.from('msgin5g') },
        { name: 'Content-Format', value: Buffer.from([50]) },
      ],
      payload: Buffer.from('{}'),
    });
    const r = parseCoapMessage(bytes);
    expect(r.kind).toBe('MESSAGE');
    if (r.kind !== 'MESSAGE') return;
    expect({ ...r.message, token: toHex(r.message.token), payload: Buffer.from(r.message.payload).toString(), options: r.message.options.map((o) => [o.number, toHex(o.value)]) }).toEqual({
      type: 'CON',
      code: COAP_CODE.POST,
      messageId: 0xbeef,
      token: '0102030405060708',
      options: [
        [11, toHex(Buffer.from('msgin5g'))],
        [12, '32'],
      ],
      payload: '{}',
    });
  });

  it.each([
    ['CON empty (ping)', '40000001', 'CON'],
    ['ACK empty', '60000002', 'ACK'],
    ['RST empty', '70000003', 'RST'],
    ['NON request without options or payload', '50010004', 'NON'],
  ])('reads %s', (_what, input, type) => {
    expect(parseCoapMessage(hex(input))).toMatchObject({ kind: 'MESSAGE', message: { type } });
  });

  it('reads extended option deltas and lengths (13 and 14 nibbles)', () => {
    const long = Buffer.alloc(300, 0x61);
    const bytes = generate({ code: '0.02', messageId: 1, options: [{ name: 'Uri-Path', value: Buffer.from('x') }, { name: 'Size1', value: Buffer.from([1]) }, { name: 'No-Response', value: Buffer.from([2]) }, { name: 'Proxy-Uri', value: long }] });
    const r = parseCoapMessage(bytes);
    expect(r.kind === 'MESSAGE' ? r.message.options.map((o) => [o.number, o.value.length]) : r).toEqual([
      [11, 1],
      [35, 300],
      [60, 1],
      [258, 1],
    ]);
  });

  it.each([
    ['3 octets', '400200', 'NOT_COAP'],
    ['version 0', '00020001', 'NOT_COAP'],
    ['version 2', '80020001', 'NOT_COAP'],
    ['version 3', 'c0020001', 'NOT_COAP'],
    ['token length 9', '490200010102030405060708 09', 'FORMAT_ERROR'],
    ['token length 15', '4f0200010102', 'FORMAT_ERROR'],
    ['token past the end', '44020001 0102', 'FORMAT_ERROR'],
    ['option value past the end', '40020001 b7 6d7367', 'FORMAT_ERROR'],
    ['option delta nibble 15', '40020001 f1 00', 'FORMAT_ERROR'],
    ['option length nibble 15', '40020001 bf 00', 'FORMAT_ERROR'],
    ['option delta extension past the end', '40020001 d1', 'FORMAT_ERROR'],
    ['option length extension past the end', '40020001 1e 00', 'FORMAT_ERROR'],
    ['payload marker with no payload', '40020001 b7 6d7367696e3567 ff', 'FORMAT_ERROR'],
    ['Empty message with a token', '41000001 aa', 'FORMAT_ERROR'],
    ['Empty message with a payload', '60000001 ff 00', 'FORMAT_ERROR'],
  ])('%s → %s', (_what, input, kind) => {
    expect(parseCoapMessage(hex(input)).kind).toBe(kind);
  });

  it('keeps type, code and Message ID of a format error, for the RST', () => {
    expect(parseCoapMessage(hex('49 02 12 34 00'))).toMatchObject({ kind: 'FORMAT_ERROR', type: 'CON', code: 2, messageId: 0x1234, detail: expect.stringContaining('token length 9') });
  });

  it('never throws on random input, and agrees with coap-packet on what it accepts', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const input = pseudoRandom(1 + (seed % 64), seed);
      if (seed % 3 === 0) input[0] = 0x40 | ((input[0] as number) & 0x3f); // version 1 more often
      const r = parseCoapMessage(input);
      if (r.kind !== 'MESSAGE') continue;
      // Whatever the strict parser accepts, coap-packet reads the same way.
      const p = parse(Buffer.from(input));
      expect({ mid: p.messageId, token: p.token.toString('hex'), payload: p.payload.toString('hex') }).toEqual({
        mid: r.message.messageId,
        token: toHex(r.message.token),
        payload: toHex(r.message.payload),
      });
    }
  });
});

describe('encodeCoapMessage', () => {
  it('writes an empty ACK and an RST as 4 octets', () => {
    expect(toHex(encodeCoapMessage({ type: 'ACK', code: 0, messageId: 0x0a0b }))).toBe('60000a0b');
    expect(toHex(encodeCoapMessage({ type: 'RST', code: 0, messageId: 0x0a0b }))).toBe('70000a0b');
  });

  it('writes a piggybacked 2.04 that coap-packet reads back, options sorted and delta-encoded', () => {
    const bytes = encodeCoapMessage({
      type: 'ACK',
      code: COAP_CODE.CHANGED,
      messageId: 0x1234,
      token: hex('c0ffee'),
      options: [
        { number: 60, value: hex('1000') },
        { number: 12, value: hex('32') },
        { number: 300, value: new Uint8Array(20).fill(7) },
      ],
      payload: new TextEncoder().encode('{"a":"b"}'),
    });
    const p = parse(Buffer.from(bytes));
    expect({ ack: p.ack, code: p.code, mid: p.messageId, token: p.token.toString('hex'), payload: p.payload.toString() }).toEqual({
      ack: true,
      code: '2.04',
      mid: 0x1234,
      token: 'c0ffee',
      payload: '{"a":"b"}',
    });
    expect(p.options.map((o) => [String(o.name), o.value.length])).toEqual([
      ['Content-Format', 1],
      ['Size1', 2],
      ['300', 20],
    ]);
    expect(parseCoapMessage(bytes)).toMatchObject({ kind: 'MESSAGE', message: { type: 'ACK', code: COAP_CODE.CHANGED } });
  });

  it('rejects a token over 8 octets and a bad Message ID (bugs)', () => {
    expect(() => encodeCoapMessage({ type: 'CON', code: 1, messageId: 1, token: new Uint8Array(9) })).toThrow(RangeError);
    expect(() => encodeCoapMessage({ type: 'CON', code: 1, messageId: 65536 })).toThrow(RangeError);
  });

  it('names codes as c.dd', () => {
    expect([0x44, 0x80, 0x8f, 0xa5, 0x02].map(coapCodeText)).toEqual(['2.04', '4.00', '4.15', '5.05', '0.02']);
  });
});

describe('option encoding, byte for byte from RFC 7252 §3.1', () => {
  it('delta 11 inline, delta 13..268 as nibble 13 + (delta − 13), 269.. as nibble 14 + (delta − 269) in 2 octets; lengths alike', () => {
    const bytes = encodeCoapMessage({
      type: 'CON',
      code: COAP_CODE.POST,
      messageId: 0x0001,
      options: [
        { number: 11, value: new Uint8Array(13).fill(0x61) }, // delta 11, length 13 → B D 00
        { number: 60, value: Uint8Array.of(0x05) }, // delta 49 → D 1 24
        { number: 2050, value: new Uint8Array(0) }, // delta 1990 → E 0 06b9
      ],
    });
    expect(toHex(bytes)).toBe(`40020001 bd00 ${'61'.repeat(13)} d124 05 e006b9`.replace(/ /g, ''));
    expect(parseCoapMessage(bytes)).toMatchObject({ kind: 'MESSAGE', message: { options: [{ number: 11 }, { number: 60 }, { number: 2050 }] } });
  });

  it('uint values are minimal big-endian (0 is zero octets, §3.2) and read back; over 4 octets reads as undefined', () => {
    expect([0, 50, 255, 256, 4096, 0xffffffff].map((n) => toHex(uintOptionValue(n)))).toEqual(['', '32', 'ff', '0100', '1000', 'ffffffff']);
    for (const n of [0, 50, 256, 60, 0xffffffff]) expect(readUintOption(uintOptionValue(n))).toBe(n);
    expect(readUintOption(new Uint8Array(5))).toBeUndefined();
  });

  it('odd option numbers are critical (§5.4.6)', () => {
    expect([1, 11, 12, 14, 60, 35].map(isCriticalOption)).toEqual([true, true, false, false, false, true]);
  });

  it('parse(encode(m)) gives m back for any well-formed message (fast-check)', () => {
    const type = fc.constantFrom<CoapType>('CON', 'NON', 'ACK', 'RST');
    const option = fc.record({ number: fc.integer({ min: 0, max: 2000 }), value: fc.uint8Array({ maxLength: 300 }) });
    fc.assert(
      fc.property(type, fc.integer({ min: 1, max: 255 }), fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 8 }), fc.array(option, { maxLength: 6 }), fc.uint8Array({ maxLength: 64 }), (t, code, messageId, token, options, payload) => {
        const bytes = encodeCoapMessage({ type: t, code, messageId, token, options, payload });
        const r = parseCoapMessage(bytes);
        expect(r.kind).toBe('MESSAGE');
        if (r.kind !== 'MESSAGE') return;
        const sorted = [...options].sort((a, b) => a.number - b.number);
        expect({ type: r.message.type, code: r.message.code, messageId: r.message.messageId, token: toHex(r.message.token), payload: toHex(r.message.payload) }).toEqual({
          type: t,
          code,
          messageId,
          token: toHex(token),
          payload: toHex(payload),
        });
        expect(r.message.options.map((o) => [o.number, toHex(o.value)])).toEqual(sorted.map((o) => [o.number, toHex(o.value)]));
      }),
      { numRuns: 500, seed: 0x7252 },
    );
  });
});

describe('COAP_OPTION_FORMAT (RFC 7252 §5.10 table, RFC 7959 §2.1)', () => {
  it('gives the table rows endpoints pick from, and refuses an option it does not define', async () => {
    const { COAP_OPTION, COAP_OPTION_FORMAT, coapOptionFormats } = await import('@msgin5g/protocol');
    expect(COAP_OPTION_FORMAT.get(COAP_OPTION.IF_MATCH)).toEqual({ min: 0, max: 8, repeatable: true });
    expect(COAP_OPTION_FORMAT.get(COAP_OPTION.URI_HOST)).toEqual({ min: 1, max: 255, repeatable: false });
    expect(COAP_OPTION_FORMAT.get(COAP_OPTION.IF_NONE_MATCH)).toEqual({ min: 0, max: 0, repeatable: false });
    expect(COAP_OPTION_FORMAT.get(COAP_OPTION.PROXY_URI)).toEqual({ min: 1, max: 1034, repeatable: false });
    expect([...coapOptionFormats([COAP_OPTION.URI_PATH, COAP_OPTION.ACCEPT]).keys()]).toEqual([11, 17]);
    expect(() => coapOptionFormats([COAP_OPTION.OSCORE])).toThrow(TypeError);
  });
});
