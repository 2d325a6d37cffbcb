/** judgeRequest: which request goes to the core and which gets which error (RFC 7252 §5.4, §5.8, §5.9). */
import { COAP_CODE, MAX_JSON_BODY_OCTETS, encodeCoapMessage, type CoapMessage, type CoapOption } from '@msgin5g/protocol';
import { MAX_ANSWER_GROWTH_OCTETS, judgeRequest } from '../src/request-verdict';

const te = new TextEncoder();
const path = (s: string): CoapOption => ({ number: 11, value: te.encode(s) });
const cf = (n: number): CoapOption => ({ number: 12, value: n === 0 ? new Uint8Array(0) : Uint8Array.of(n) });
const REG = te.encode('{"messageType":"REG","appId":"42"}');

function msg(over: Partial<CoapMessage> = {}): CoapMessage {
  return { type: 'CON', code: COAP_CODE.POST, messageId: 1, token: Uint8Array.of(1), options: [path('msgin5g'), cf(50)], payload: REG, ...over };
}
const codeOf = (m: CoapMessage, uri = ['msgin5g']) => {
  const v = judgeRequest(m, uri);
  return v.kind === 'ANSWER' ? v.code : v.kind;
};

describe('judgeRequest', () => {
  it('accepts POST /msgin5g with Content-Format 50 and a REG body', () => {
    expect(judgeRequest(msg(), ['msgin5g'])).toEqual({ kind: 'ACCEPT', request: { kind: 'REGISTRATION_REQUEST', applicationId: 42 } });
  });

  it('ignores Uri-Host, Uri-Port, Uri-Query, Accept 50 and unknown elective options', () => {
    const options: CoapOption[] = [
      { number: 3, value: te.encode('gw.example') },
      { number: 7, value: Uint8Array.of(0x16, 0x33) },
      path('msgin5g'),
      cf(50),
      { number: 15, value: te.encode('x=1') },
      { number: 17, value: Uint8Array.of(50) },
      { number: 28, value: new Uint8Array(0) },
      { number: 258, value: Uint8Array.of(0) },
      { number: 2050, value: Uint8Array.of(1, 2, 3) },
    ];
    expect(codeOf(msg({ options }))).toBe('ACCEPT');
  });

  it.each<[string, Partial<CoapMessage>, number | string]>([
    ['unknown critical option 25 in a CON', { options: [path('msgin5g'), cf(50), { number: 25, value: Uint8Array.of(1) }] }, COAP_CODE.BAD_OPTION],
    ['unknown critical option 25 in a NON (rejected silently)', { type: 'NON', options: [path('msgin5g'), cf(50), { number: 25, value: Uint8Array.of(1) }] }, 'IGNORE'],
    ['If-Match', { options: [{ number: 1, value: Uint8Array.of(1) }, path('msgin5g'), cf(50)] }, COAP_CODE.BAD_OPTION],
    ['Block1', { options: [path('msgin5g'), cf(50), { number: 27, value: Uint8Array.of(0x06) }] }, COAP_CODE.BAD_OPTION],
    ['two Uri-Host options', { options: [{ number: 3, value: te.encode('a') }, { number: 3, value: te.encode('b') }, path('msgin5g'), cf(50)] }, COAP_CODE.BAD_OPTION],
    ['a 3-octet Uri-Port', { options: [{ number: 7, value: Uint8Array.of(1, 2, 3) }, path('msgin5g'), cf(50)] }, COAP_CODE.BAD_OPTION],
    ['Proxy-Uri', { options: [path('msgin5g'), cf(50), { number: 35, value: te.encode('coap://x/') }] }, COAP_CODE.PROXYING_NOT_SUPPORTED],
    ['no Uri-Path', { options: [cf(50)] }, COAP_CODE.NOT_FOUND],
    ['Uri-Path /other', { options: [path('other'), cf(50)] }, COAP_CODE.NOT_FOUND],
    ['Uri-Path /msgin5g/x', { options: [path('msgin5g'), path('x'), cf(50)] }, COAP_CODE.NOT_FOUND],
    ['a Uri-Path that is not UTF-8', { options: [{ number: 11, value: Uint8Array.of(0xff, 0xfe) }, cf(50)] }, COAP_CODE.NOT_FOUND],
    ['GET', { code: 0x01 }, COAP_CODE.METHOD_NOT_ALLOWED],
    ['unknown method 0.08', { code: 0x08 }, COAP_CODE.METHOD_NOT_ALLOWED],
    ['Accept 0', { options: [path('msgin5g'), cf(50), { number: 17, value: new Uint8Array(0) }] }, COAP_CODE.NOT_ACCEPTABLE],
    ['no Content-Format', { options: [path('msgin5g')] }, COAP_CODE.UNSUPPORTED_CONTENT_FORMAT],
    ['Content-Format 0 (text/plain)', { options: [path('msgin5g'), cf(0)] }, COAP_CODE.UNSUPPORTED_CONTENT_FORMAT],
    ['Content-Format 60 (CBOR)', { options: [path('msgin5g'), cf(60)] }, COAP_CODE.UNSUPPORTED_CONTENT_FORMAT],
    ['a 3-octet Content-Format (elective, out of range: absent)', { options: [path('msgin5g'), { number: 12, value: Uint8Array.of(0, 0, 50) }] }, COAP_CODE.UNSUPPORTED_CONTENT_FORMAT],
    ['a body over the limit', { payload: new Uint8Array(MAX_JSON_BODY_OCTETS + 1).fill(0x20) }, COAP_CODE.REQUEST_ENTITY_TOO_LARGE],
    ['an empty body', { payload: new Uint8Array(0) }, COAP_CODE.BAD_REQUEST],
    ['a body that is not JSON', { payload: te.encode('hello') }, COAP_CODE.BAD_REQUEST],
    ['a REG without appId', { payload: te.encode('{"messageType":"REG"}') }, COAP_CODE.BAD_REQUEST],
  ])('%s → %s', (_what, over, expected) => {
    expect(codeOf(msg(over))).toBe(expected);
  });

  it('the first Content-Format counts; a repeated one is ignored (elective, RFC 7252 §5.4.5)', () => {
    expect(codeOf(msg({ options: [path('msgin5g'), cf(50), cf(0)] }))).toBe('ACCEPT');
  });

  it('4.00 carries a JSON diagnostic with Content-Format 50, cut short', () => {
    const v = judgeRequest(msg({ payload: te.encode(`{"messageType":"REG","appId":"42","${'x'.repeat(500)}":"1"}`) }), ['msgin5g']);
    expect(v).toMatchObject({ kind: 'ANSWER', code: COAP_CODE.BAD_REQUEST, contentFormat: 50 });
    if (v.kind !== 'ANSWER') return;
    const body = JSON.parse(new TextDecoder().decode(v.payload)) as { error: string };
    expect(body.error).toMatch(/^unknown member/);
    expect(v.payload.length).toBeLessThanOrEqual(100);
  });

  it('accepts appId as a JSON number 0..65535; 42.5, -1, 70000 and "042" get 4.00 with a diagnostic that names the rule', () => {
    expect(judgeRequest(msg({ payload: te.encode('{"messageType":"REG","appId":42}') }), ['msgin5g'])).toEqual({ kind: 'ACCEPT', request: { kind: 'REGISTRATION_REQUEST', applicationId: 42 } });
    expect(judgeRequest(msg({ payload: te.encode('{"messageType":"REG","appId":65535}') }), ['msgin5g'])).toMatchObject({ kind: 'ACCEPT' });
    const diagnostics = ['42.5', '-1', '70000', '"042"'].map((v) => {
      const verdict = judgeRequest(msg({ payload: te.encode(`{"messageType":"REG","appId":${v}}`) }), ['msgin5g']);
      expect(verdict).toMatchObject({ kind: 'ANSWER', code: COAP_CODE.BAD_REQUEST });
      return verdict.kind === 'ANSWER' ? (JSON.parse(new TextDecoder().decode(verdict.payload)) as { error: string }).error : '';
    });
    expect(diagnostics).toEqual([
      'member "appId" must be an integer 0..65535, got a number (42.5)',
      'member "appId" must be an integer 0..65535, got a number (-1)',
      'member "appId" must be an integer 0..65535, got a number (70000)',
      'member "appId" must be a decimal string "0".."65535"…', // the whole text would make the answer 51 octets larger than the request
    ]);
  });

  it('a long 4.00 diagnostic is cut between words, with …, never mid-word', () => {
    const v = judgeRequest(msg({ payload: te.encode('{"messageType":"DEREG","registrationId":"xyz0"}') }), ['msgin5g']);
    if (v.kind !== 'ANSWER') throw new Error(`expected an answer, got ${v.kind}`);
    expect(JSON.parse(new TextDecoder().decode(v.payload))).toEqual({ error: 'member "registrationId" must be 2..32 hex digits (1..16 octets)…' });
    expect(v.detail).toContain('got the string "xyz0"'); // the full text, for the logs
  });

  it('a 4.00 answer is at most 40 octets larger than its request, whatever the bad body (and a short request gets a shorter text)', () => {
    const bodies = ['', '{}', 'x', '[]', 'null', '{"messageType":"REG"}', '{"messageType":"REG","appId":-1}', '{"a":tru}', '{"messageType":"DEREG","registrationId":"xyz0"}'];
    for (let n = 1; n <= 60; n++) bodies.push(`{"messageType":"REG","appId":"42","${'é"'.repeat(n % 7)}${'k'.repeat(n)}":1}`, `{"messageType":"${'Ü '.repeat(n)}"}`);
    let cut = 0;
    for (const body of bodies) {
      const m = msg({ payload: te.encode(body), token: new Uint8Array(body.length % 9) });
      const v = judgeRequest(m, ['msgin5g']);
      if (v.kind !== 'ANSWER') throw new Error(`expected 4.00 for ${body}, got ${v.kind}`);
      const answer = encodeCoapMessage({ type: 'ACK', code: v.code, messageId: m.messageId, token: m.token, options: [{ number: 12, value: Uint8Array.of(50) }], payload: v.payload });
      expect({ body, growth: answer.length - encodeCoapMessage(m).length <= MAX_ANSWER_GROWTH_OCTETS }).toEqual({ body, growth: true });
      const text = (JSON.parse(new TextDecoder().decode(v.payload)) as { error: string }).error;
      expect(text.length).toBeLessThanOrEqual(80);
      if (text.endsWith('…')) cut += 1;
    }
    expect(cut).toBeGreaterThan(10);
  });

  it('4.13 carries Size1 = the largest body accepted', () => {
    expect(judgeRequest(msg({ payload: new Uint8Array(5000) }), ['msgin5g'])).toMatchObject({ kind: 'ANSWER', size1: MAX_JSON_BODY_OCTETS });
  });

  it('matches a configured multi-segment path exactly', () => {
    expect(codeOf(msg({ options: [path('a'), path('b'), cf(50)] }), ['a', 'b'])).toBe('ACCEPT');
    expect(codeOf(msg({ options: [path('a'), cf(50)] }), ['a', 'b'])).toBe(COAP_CODE.NOT_FOUND);
  });
});
