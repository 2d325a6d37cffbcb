import type { ApplicationId, UeServiceId } from '@msgin5g/core';
import { MAX_JSON_BODY_OCTETS, decodeMsgin5g1Answer, decodeMsgin5g1Request, encodeMsgin5g1Answer, encodeMsgin5g1Request } from '@msgin5g/protocol';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const gw = 'gw-1' as UeServiceId;
const device = 'gw-1/02000000aa01/42' as UeServiceId;
const app = 42 as ApplicationId;

describe('MSGin5G-1 request bodies (docs/wire-formats.md §4 table)', () => {
  it.each([
    ['the gateway registers itself', { messageType: 'REG', ueServiceId: gw } as const, '{"messageType":"REG","ueServiceId":"gw-1"}'],
    ['the gateway de-registers itself', { messageType: 'DEREG', ueServiceId: gw } as const, '{"messageType":"DEREG","ueServiceId":"gw-1"}'],
    [
      'register a device on its behalf',
      { messageType: 'REG', ueServiceId: device, gatewayUeServiceId: gw, applicationId: app } as const,
      '{"messageType":"REG","ueServiceId":"gw-1/02000000aa01/42","gatewayUeServiceId":"gw-1","appId":"42"}',
    ],
    [
      'de-register a device on its behalf',
      { messageType: 'DEREG', ueServiceId: device, gatewayUeServiceId: gw, applicationId: app } as const,
      '{"messageType":"DEREG","ueServiceId":"gw-1/02000000aa01/42","gatewayUeServiceId":"gw-1","appId":"42"}',
    ],
  ])('%s: exact bytes and round trip', (_name, request, json) => {
    const body = encodeMsgin5g1Request(request);
    expect(text(body)).toBe(json);
    expect(decodeMsgin5g1Request(body)).toEqual({ ok: true, value: request });
  });

  it('writes appId 0 and 65535 as decimal strings', () => {
    expect(text(encodeMsgin5g1Request({ messageType: 'REG', ueServiceId: gw, applicationId: 0 as ApplicationId }))).toBe('{"messageType":"REG","ueServiceId":"gw-1","appId":"0"}');
    expect(decodeMsgin5g1Request(utf8('{"messageType":"REG","ueServiceId":"d","appId":"65535"}'))).toMatchObject({ ok: true, value: { applicationId: 65535 } });
  });

  it.each([
    ['non-object JSON (array)', '[1]', 'MSGin5G-1 request: body must be a JSON object, got an array'],
    ['non-object JSON (string)', '"REG"', 'body must be a JSON object, got the string "REG"'],
    ['null', 'null', 'body must be a JSON object, got null'],
    ['not JSON', '{messageType:REG}', 'MSGin5G-1 request: body is not JSON'],
    ['empty', '', 'MSGin5G-1 request: empty body'],
    ['missing messageType', '{"ueServiceId":"gw-1"}', 'member "messageType" is missing'],
    ['unknown messageType', '{"messageType":"SEND","ueServiceId":"gw-1"}', 'member "messageType" must be one of "REG", "DEREG", got the string "SEND"'],
    ['messageType of the wrong type', '{"messageType":1,"ueServiceId":"gw-1"}', 'must be one of "REG", "DEREG", got a number (1)'],
    ['missing ueServiceId', '{"messageType":"REG"}', 'member "ueServiceId" is missing'],
    ['ueServiceId not a string', '{"messageType":"REG","ueServiceId":["gw-1"]}', 'member "ueServiceId" must be a string, got an array'],
    ['empty ueServiceId', '{"messageType":"REG","ueServiceId":""}', 'member "ueServiceId" must be 1..256 printable characters'],
    ['ueServiceId with a control character', '{"messageType":"REG","ueServiceId":"gw\\u0000"}', 'member "ueServiceId" must be 1..256 printable characters'],
    ['ueServiceId too long', `{"messageType":"REG","ueServiceId":"${'a'.repeat(257)}"}`, 'must be 1..256 printable characters, got a string of 257 characters'],
    ['gatewayUeServiceId null', '{"messageType":"REG","ueServiceId":"d","gatewayUeServiceId":null}', 'member "gatewayUeServiceId" must be a string, got null'],
    ['appId as a number', '{"messageType":"REG","ueServiceId":"d","appId":42}', 'member "appId" must be a decimal string "0".."65535", got a number (42)'],
    ['appId out of range', '{"messageType":"REG","ueServiceId":"d","appId":"65536"}', 'member "appId" must be a decimal string "0".."65535", got the string "65536"'],
    ['appId negative', '{"messageType":"REG","ueServiceId":"d","appId":"-1"}', 'got the string "-1"'],
    ['appId with a leading zero', '{"messageType":"REG","ueServiceId":"d","appId":"042"}', 'got the string "042"'],
    ['appId hex', '{"messageType":"REG","ueServiceId":"d","appId":"0x2a"}', 'got the string "0x2a"'],
    ['unknown member', '{"messageType":"REG","ueServiceId":"d","appID":"42"}', 'MSGin5G-1 request: unknown member "appID"'],
    ['__proto__ member', '{"messageType":"REG","ueServiceId":"d","__proto__":{"appId":"1"}}', 'unknown member "__proto__"'],
  ])('rejects %s with a clear error', (_name, json, error) => {
    const r = decodeMsgin5g1Request(utf8(json));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(error);
  });

  it('rejects a huge body by its size, before parsing', () => {
    const huge = utf8(`{"messageType":"REG","ueServiceId":"${'a'.repeat(10_000_000)}"}`);
    const started = Date.now();
    expect(decodeMsgin5g1Request(huge)).toEqual({ ok: false, error: `MSGin5G-1 request: body of ${huge.length} octets is larger than ${MAX_JSON_BODY_OCTETS}` });
    expect(Date.now() - started).toBeLessThan(50);
  });

  it('rejects invalid UTF-8', () => {
    expect(decodeMsgin5g1Request(Uint8Array.of(0x7b, 0xc3, 0x28, 0x7d))).toEqual({ ok: false, error: 'MSGin5G-1 request: body is not UTF-8' });
  });

  it('does not read inherited members', () => {
    const r = decodeMsgin5g1Request(utf8('{"messageType":"REG","ueServiceId":"d"}'));
    expect(r).toEqual({ ok: true, value: { messageType: 'REG', ueServiceId: 'd' } });
    expect(decodeMsgin5g1Request(utf8('{"messageType":"constructor","ueServiceId":"d"}')).ok).toBe(false);
  });
});

describe('MSGin5G-1 answer bodies', () => {
  it('encodes the docs/wire-formats.md §4 examples exactly', () => {
    expect(text(encodeMsgin5g1Answer({ messageType: 'DEREG', result: 'SUCCESS' }))).toBe('{"messageType":"DEREG","result":"SUCCESS"}');
    expect(text(encodeMsgin5g1Answer({ messageType: 'DEREG', result: 'FAILURE', failureCause: 'NOT_REGISTERED' }))).toBe(
      '{"messageType":"DEREG","result":"FAILURE","failureCause":"NOT_REGISTERED"}',
    );
  });

  it('decodes leniently: unknown members are ignored', () => {
    expect(decodeMsgin5g1Answer(utf8('{"result":"FAILURE","failureCause":"X","messageType":"REG","retryAfter":30}'))).toEqual({
      ok: true,
      value: { messageType: 'REG', result: 'FAILURE', failureCause: 'X' },
    });
  });

  it.each([
    ['no result', '{"messageType":"REG"}', 'MSGin5G-1 answer: member "result" is missing'],
    ['no messageType', '{"result":"SUCCESS"}', 'MSGin5G-1 answer: member "messageType" is missing'],
    ['result lower-case', '{"messageType":"REG","result":"success"}', 'member "result" must be one of "SUCCESS", "FAILURE", got the string "success"'],
    ['failureCause an object', '{"messageType":"REG","result":"FAILURE","failureCause":{}}', 'member "failureCause" must be a string, got an object'],
    ['a number', '42', 'MSGin5G-1 answer: body must be a JSON object, got a number (42)'],
    ['truncated JSON', '{"messageType":"REG",', 'MSGin5G-1 answer: body is not JSON'],
  ])('rejects %s', (_name, json, error) => {
    const r = decodeMsgin5g1Answer(utf8(json));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(error);
  });
});

describe('notifyUri in the gateway\'s own REG (docs/adr/0013, docs/wire-formats.md §4)', () => {
  it('writes it last and reads it back', () => {
    const request = { messageType: 'REG', ueServiceId: gw, notifyUri: 'coap://192.0.2.1:5700/msgin5g' } as const;
    const body = encodeMsgin5g1Request(request);
    expect(text(body)).toBe('{"messageType":"REG","ueServiceId":"gw-1","notifyUri":"coap://192.0.2.1:5700/msgin5g"}');
    expect(decodeMsgin5g1Request(body)).toEqual({ ok: true, value: request });
  });

  it.each(['coap://[2001:db8::1]:5700/msgin5g', 'coap://gw.example.net/msgin5g', 'coap://10.0.0.7:5700/a/b%20c'])('accepts %s', (uri) => {
    expect(decodeMsgin5g1Request(utf8(JSON.stringify({ messageType: 'REG', ueServiceId: 'gw-1', notifyUri: uri })))).toMatchObject({ ok: true, value: { notifyUri: uri } });
  });

  it.each([
    ['another scheme', 'http://192.0.2.1/msgin5g', 'must be a coap:// URI, got scheme "http"'],
    ['coaps', 'coaps://192.0.2.1/msgin5g', 'must be a coap:// URI, got scheme "coaps"'],
    ['no path', 'coap://192.0.2.1:5700', 'has no path'],
    ['a fragment', 'coap://192.0.2.1/msgin5g#x', 'must not carry a fragment'],
    ['user information', 'coap://u:p@192.0.2.1/msgin5g', 'must not carry user information'],
    ['a space', 'coap://192.0.2.1/msg in5g', 'printable ASCII without spaces'],
    ['not a URI', 'msgin5g', 'is not a URI'],
    ['empty', '', 'must be 1..1024 characters, got 0'],
    ['too long', `coap://h/${'a'.repeat(1020)}`, 'must be 1..1024 characters, got 1029'],
    ['a port out of range', 'coap://192.0.2.1:70000/msgin5g', 'is not a URI'],
  ])('rejects %s', (_name, uri, error) => {
    const r = decodeMsgin5g1Request(utf8(JSON.stringify({ messageType: 'REG', ueServiceId: 'gw-1', notifyUri: uri })));
    expect(r).toEqual({ ok: false, error: expect.stringContaining(error) });
    expect(r.ok === false && r.error).toContain('member "notifyUri"');
  });

  it('rejects notifyUri of the wrong type, on a DEREG, and on a REG for a device', () => {
    expect(decodeMsgin5g1Request(utf8('{"messageType":"REG","ueServiceId":"gw-1","notifyUri":5700}'))).toEqual({ ok: false, error: expect.stringContaining('"notifyUri" must be a string') });
    expect(decodeMsgin5g1Request(utf8('{"messageType":"DEREG","ueServiceId":"gw-1","notifyUri":"coap://h/msgin5g"}'))).toEqual({ ok: false, error: expect.stringContaining("only in the gateway's own REG") });
    expect(decodeMsgin5g1Request(utf8('{"messageType":"REG","ueServiceId":"d-1","gatewayUeServiceId":"gw-1","notifyUri":"coap://h/msgin5g"}'))).toEqual({
      ok: false,
      error: expect.stringContaining("only in the gateway's own REG"),
    });
  });
});
