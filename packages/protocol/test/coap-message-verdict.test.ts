/**
 * The shared strict RFC 7252 verdict (`coap-message-verdict.ts`) under rules other than the
 * reference server's (whose rules are tested in apps/msgin5g-server/test/message-verdict.test.ts):
 * what an endpoint recognises, which resources exist and the payload limit come from its rules.
 */
import { COAP_CODE, COAP_OPTION, coapOptionFormats, encodeCoapMessage, judgeCoapDatagram, type CoapEndpointRules, type CoapOption } from '@msgin5g/protocol';

const rules = (over: Partial<CoapEndpointRules> = {}): CoapEndpointRules => ({
  recognisedOptions: coapOptionFormats([COAP_OPTION.URI_PATH, COAP_OPTION.CONTENT_FORMAT, COAP_OPTION.IF_MATCH]),
  resources: new Set(['inbox']),
  ...over,
});
const post = (options: CoapOption[], payload = new Uint8Array([0x7b, 0x7d]), type: 'CON' | 'NON' = 'CON'): Uint8Array =>
  encodeCoapMessage({ type, code: COAP_CODE.POST, messageId: 0x0102, token: Uint8Array.of(9), options, payload });
const path = (p: string): CoapOption => ({ number: COAP_OPTION.URI_PATH, value: new TextEncoder().encode(p) });

describe('judgeCoapDatagram under an endpoint\'s own rules', () => {
  it('a critical option outside the rules is 4.02 (Block1 here), though another endpoint recognises it', () => {
    const v = judgeCoapDatagram(post([path('inbox'), { number: COAP_OPTION.BLOCK1, value: Uint8Array.of(0x06) }]), rules());
    expect(v).toMatchObject({ kind: 'ANSWER', code: COAP_CODE.BAD_OPTION });
    expect(judgeCoapDatagram(post([path('inbox'), { number: COAP_OPTION.BLOCK1, value: Uint8Array.of(0x06) }]), rules({ recognisedOptions: coapOptionFormats([COAP_OPTION.URI_PATH, COAP_OPTION.BLOCK1]) }))).toMatchObject({ kind: 'REQUEST' });
    expect(judgeCoapDatagram(post([path('inbox'), { number: COAP_OPTION.BLOCK1, value: Uint8Array.of(0x06) }], undefined, 'NON'), rules())).toMatchObject({ kind: 'IGNORE', malformed: false });
  });

  it('If-Match with an empty value holds only on a resource of the rules (RFC 7252 §5.10.8.1)', () => {
    const ifMatch = { number: COAP_OPTION.IF_MATCH, value: new Uint8Array(0) };
    expect(judgeCoapDatagram(post([ifMatch, path('inbox')]), rules())).toMatchObject({ kind: 'REQUEST', view: { uriPath: ['inbox'] } });
    expect(judgeCoapDatagram(post([ifMatch, path('msgin5g')]), rules())).toMatchObject({ kind: 'ANSWER', code: 0x8c });
  });

  it('the payload limit and Size1 come from maxPayloadOctets (default 4,096)', () => {
    expect(judgeCoapDatagram(post([path('inbox')], new Uint8Array(11)), rules({ maxPayloadOctets: 10 }))).toMatchObject({ kind: 'ANSWER', code: COAP_CODE.REQUEST_ENTITY_TOO_LARGE, size1: 10 });
    expect(judgeCoapDatagram(post([path('inbox')], new Uint8Array(10)), rules({ maxPayloadOctets: 10 }))).toMatchObject({ kind: 'REQUEST' });
    expect(judgeCoapDatagram(post([path('inbox')], new Uint8Array(4097)), rules())).toMatchObject({ kind: 'ANSWER', size1: 4096 });
  });

  it('the request view carries method, Uri-Path, Content-Format and payload for the resource logic', () => {
    const v = judgeCoapDatagram(post([path('inbox'), { number: COAP_OPTION.CONTENT_FORMAT, value: Uint8Array.of(50) }]), rules());
    expect(v).toEqual({ kind: 'REQUEST', message: expect.anything(), view: { code: '0.02', uriPath: ['inbox'], contentFormat: 50, payload: new Uint8Array([0x7b, 0x7d]) } });
  });
});
