/**
 * `judgeDatagram` as a pure function: the order of the message-layer checks (the first failing one
 * decides, RFC 7252 leaves the order to the server) and the cases the socket tests
 * (`rfc7252-strict.test.ts`) do not reach.
 */
import { COAP_OPTION, encodeCoapMessage, type CoapOption, type CoapType } from '@msgin5g/protocol';
import { judgeDatagram, STRICT_CODE, type MessageVerdict } from '@msgin5g/server';

const POST = 0x02;
const GET = 0x01;
const o = (number: number, value: number[] | string = []): CoapOption => ({ number, value: typeof value === 'string' ? Buffer.from(value) : Uint8Array.from(value) });
const path = (p: string): CoapOption => o(COAP_OPTION.URI_PATH, p);
const cf50 = o(COAP_OPTION.CONTENT_FORMAT, [50]);

function judge(options: CoapOption[], r: { type?: CoapType; code?: number; payload?: Uint8Array } = {}): MessageVerdict {
  return judgeDatagram(encodeCoapMessage({ type: r.type ?? 'CON', code: r.code ?? POST, messageId: 7, token: Uint8Array.from([1]), options, payload: r.payload ?? Buffer.from('{}') }));
}

/** The answer code of a verdict, or its kind when it is not an ANSWER. */
function outcome(v: MessageVerdict): number | string {
  return v.kind === 'ANSWER' ? v.code : v.kind;
}

describe('judgeDatagram (RFC 7252 §5.4, §5.10)', () => {
  it('order: a bad critical option (4.02) beats Proxy-Uri (5.05), which beats If-Match (4.12), which beats Accept (4.06), which beats size (4.13)', () => {
    const big = new Uint8Array(5000);
    const all = [o(COAP_OPTION.IF_MATCH, [1]), path('msgin5g'), cf50, o(13), o(COAP_OPTION.ACCEPT, [0]), o(COAP_OPTION.PROXY_URI, 'coap://x/')];
    expect(outcome(judge(all, { payload: big }))).toBe(STRICT_CODE.BAD_OPTION);
    expect(outcome(judge(all.filter((x) => x.number !== 13), { payload: big }))).toBe(STRICT_CODE.PROXYING_NOT_SUPPORTED);
    const noProxy = all.filter((x) => x.number !== 13 && x.number !== COAP_OPTION.PROXY_URI);
    expect(outcome(judge(noProxy, { payload: big }))).toBe(STRICT_CODE.PRECONDITION_FAILED);
    expect(outcome(judge(noProxy.filter((x) => x.number !== COAP_OPTION.IF_MATCH), { payload: big }))).toBe(STRICT_CODE.NOT_ACCEPTABLE);
    const v = judge([path('msgin5g'), cf50], { payload: big });
    expect(v).toMatchObject({ kind: 'ANSWER', code: STRICT_CODE.REQUEST_ENTITY_TOO_LARGE, size1: 4096 });
  });

  it('§5.10.8.1: If-Match is fulfilled when any value is empty and the resource exists; never on a resource that does not exist', () => {
    expect(outcome(judge([o(COAP_OPTION.IF_MATCH, [9]), o(COAP_OPTION.IF_MATCH), path('msgin5g'), cf50]))).toBe('REQUEST');
    expect(outcome(judge([o(COAP_OPTION.IF_MATCH), path('nowhere'), cf50]))).toBe(STRICT_CODE.PRECONDITION_FAILED);
  });

  it('§5.10.8.2: If-None-Match on a resource that does not exist is fulfilled (the request goes on, to its 4.04)', () => {
    expect(outcome(judge([o(COAP_OPTION.IF_NONE_MATCH), path('nowhere'), cf50]))).toBe('REQUEST');
    expect(outcome(judge([o(COAP_OPTION.IF_NONE_MATCH, [0]), path('nowhere'), cf50]))).toBe(STRICT_CODE.BAD_OPTION); // value must be empty (§5.4.3)
  });

  it('§5.4.3: an elective option of bad length is ignored, so a 3-octet Content-Format reads as absent', () => {
    const v = judge([path('msgin5g'), o(COAP_OPTION.CONTENT_FORMAT, [0, 0, 50])]);
    expect(v.kind).toBe('REQUEST');
    if (v.kind === 'REQUEST') expect(v.view.contentFormat).toBeUndefined();
  });

  it('Block2 and Block1 (RFC 7959) are recognised and passed to the coap server; Uri-Query too', () => {
    expect(outcome(judge([path('registry'), o(COAP_OPTION.URI_QUERY, 'a=1'), o(COAP_OPTION.BLOCK2, [0x16])], { code: GET, payload: new Uint8Array(0) }))).toBe('REQUEST');
    expect(outcome(judge([path('msgin5g'), cf50, o(COAP_OPTION.BLOCK1, [0x0e])]))).toBe('REQUEST');
  });

  it('the request view carries method, Uri-Path and Content-Format for classifyRequest', () => {
    const v = judge([path('msgin5g'), cf50]);
    expect(v).toMatchObject({ kind: 'REQUEST', view: { code: '0.02', uriPath: ['msgin5g'], contentFormat: 50 } });
  });

  it('a NON with a bad critical option is ignored, not answered (§5.4.1 → §4.3)', () => {
    expect(judge([path('msgin5g'), cf50, o(COAP_OPTION.OSCORE)], { type: 'NON' })).toMatchObject({ kind: 'IGNORE', malformed: false });
  });

  it('§3: not CoAP (version 2, under 4 octets) is ignored as malformed', () => {
    expect(judgeDatagram(Uint8Array.from([0x80, 0x01, 0, 1]))).toMatchObject({ kind: 'IGNORE', malformed: true });
    expect(judgeDatagram(Uint8Array.from([0x40, 0x01]))).toMatchObject({ kind: 'IGNORE', malformed: true });
  });

  it('§4.2: a CON with a reserved code class (7.00) has no context → RST', () => {
    expect(judgeDatagram(Uint8Array.from([0x40, 0xe0, 0x12, 0x34]))).toMatchObject({ kind: 'RESET', messageId: 0x1234, reason: 'NO_CONTEXT' });
  });
});
