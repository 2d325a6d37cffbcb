import type { ApplicationId, DeviceResponse, RegistrationId } from '@msgin5g/core';
import { decodeCoapDeviceRequest, decodeCoapDeviceResponse, encodeCoapDeviceRequest, encodeCoapDeviceResponse } from '@msgin5g/protocol';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const app = 42 as ApplicationId;
const rid = '0011223344556677' as RegistrationId;

describe('CoAP device link bodies (docs/wire-formats.md §3.3)', () => {
  it('requests: the §3.3 examples, exact bytes and round trip', () => {
    const reg = encodeCoapDeviceRequest({ kind: 'REGISTRATION_REQUEST', applicationId: app });
    const dereg = encodeCoapDeviceRequest({ kind: 'DEREGISTRATION_REQUEST', registrationId: rid });
    expect(text(reg)).toBe('{"messageType":"REG","appId":"42"}');
    expect(text(dereg)).toBe('{"messageType":"DEREG","registrationId":"0011223344556677"}');
    expect(decodeCoapDeviceRequest(reg)).toEqual({ ok: true, value: { kind: 'REGISTRATION_REQUEST', applicationId: 42 } });
    expect(decodeCoapDeviceRequest(dereg)).toEqual({ ok: true, value: { kind: 'DEREGISTRATION_REQUEST', registrationId: rid } });
  });

  it('responses: the §3.3 examples, exact bytes and round trip', () => {
    const success: DeviceResponse = { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: app, registrationId: rid };
    const failure: DeviceResponse = { kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', applicationId: app, failureReason: 'SERVER_UNREACHABLE' };
    const noApp: DeviceResponse = { kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'MALFORMED_REQUEST' };
    expect(text(encodeCoapDeviceResponse(success))).toBe('{"messageType":"DEREG","result":"SUCCESS","appId":"42","registrationId":"0011223344556677"}');
    expect(text(encodeCoapDeviceResponse(failure))).toBe('{"messageType":"DEREG","result":"FAILURE","appId":"42","failureReason":"SERVER_UNREACHABLE"}');
    expect(text(encodeCoapDeviceResponse(noApp))).toBe('{"messageType":"REG","result":"FAILURE","failureReason":"MALFORMED_REQUEST"}');
    for (const r of [success, failure, noApp]) expect(decodeCoapDeviceResponse(encodeCoapDeviceResponse(r))).toEqual({ ok: true, value: r });
  });

  it.each([
    ['42', 42],
    ['0', 0],
    ['65535', 65535],
    ['42.0', 42],
    ['4.2e1', 42],
    ['-0', 0],
  ])('accepts appId as the JSON number %s (an integer 0..65535), read as %d', (text, expected) => {
    const r = decodeCoapDeviceRequest(utf8(`{"messageType":"REG","appId":${text}}`));
    expect(r).toEqual({ ok: true, value: { kind: 'REGISTRATION_REQUEST', applicationId: expected } });
    if (r.ok && r.value.kind === 'REGISTRATION_REQUEST') expect(Object.is(r.value.applicationId, -0)).toBe(false);
  });

  it('a number appId is read by the request decoder only: responses and MSGin5G-1 keep the decimal string', () => {
    expect(decodeCoapDeviceResponse(utf8('{"messageType":"REG","result":"FAILURE","failureReason":"CONGESTION","appId":42}'))).toMatchObject({ ok: false });
  });

  it('reads an upper-case Registration ID as its canonical lower-case form', () => {
    expect(decodeCoapDeviceRequest(utf8('{"messageType":"DEREG","registrationId":"ABCDEF"}'))).toEqual({
      ok: true,
      value: { kind: 'DEREGISTRATION_REQUEST', registrationId: 'abcdef' },
    });
  });

  it.each([
    ['non-object JSON', '["REG"]', 'CoAP device request: body must be a JSON object, got an array'],
    ['not JSON', '{not json', 'CoAP device request: body is not JSON'],
    ['empty body', '', 'CoAP device request: empty body'],
    ['missing messageType', '{"appId":"42"}', 'member "messageType" is missing'],
    ['messageType of the wrong type', '{"messageType":true,"appId":"42"}', 'got a boolean (true)'],
    ['REG without appId', '{"messageType":"REG"}', 'member "appId" is missing'],
    ['appId out of range', '{"messageType":"REG","appId":"70000"}', 'member "appId" must be a decimal string "0".."65535", got the string "70000"'],
    ['appId fractional', '{"messageType":"REG","appId":"4.2"}', 'got the string "4.2"'],
    ['appId with a leading zero', '{"messageType":"REG","appId":"042"}', 'member "appId" must be a decimal string "0".."65535", got the string "042"'],
    ['appId a fractional number', '{"messageType":"REG","appId":42.5}', 'member "appId" must be an integer 0..65535, got a number (42.5)'],
    ['appId a negative number', '{"messageType":"REG","appId":-1}', 'member "appId" must be an integer 0..65535, got a number (-1)'],
    ['appId a number over 65535', '{"messageType":"REG","appId":70000}', 'member "appId" must be an integer 0..65535, got a number (70000)'],
    ['appId a number too large for a double', '{"messageType":"REG","appId":1e400}', 'must be an integer 0..65535, got a number (Infinity)'],
    ['appId a boolean', '{"messageType":"REG","appId":true}', 'member "appId" must be a number or a decimal string, got a boolean (true)'],
    ['appId null', '{"messageType":"REG","appId":null}', 'member "appId" must be a number or a decimal string, got null'],
    ['DEREG without registrationId', '{"messageType":"DEREG"}', 'member "registrationId" is missing'],
    ['registrationId not hex', '{"messageType":"DEREG","registrationId":"xyz0"}', 'member "registrationId" must be 2..32 hex digits (1..16 octets), got the string "xyz0"'],
    ['registrationId odd length', '{"messageType":"DEREG","registrationId":"abc"}', 'must be 2..32 hex digits (1..16 octets)'],
    ['registrationId empty', '{"messageType":"DEREG","registrationId":""}', 'must be 2..32 hex digits (1..16 octets)'],
    ['registrationId 17 octets', `{"messageType":"DEREG","registrationId":"${'ab'.repeat(17)}"}`, 'must be 2..32 hex digits (1..16 octets)'],
    ['registrationId a number', '{"messageType":"DEREG","registrationId":1234}', 'member "registrationId" must be a string, got a number (1234)'],
    ['a REG member in a DEREG', '{"messageType":"DEREG","registrationId":"00","appId":"42"}', 'unknown member "appId" in a DEREG'],
    ['a DEREG member in a REG', '{"messageType":"REG","appId":"42","registrationId":"00"}', 'unknown member "registrationId" in a REG'],
  ])('rejects a request with %s, with a clear error', (_name, json, error) => {
    const r = decodeCoapDeviceRequest(utf8(json));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(error);
  });

  it('rejects a huge request body by its size', () => {
    const r = decodeCoapDeviceRequest(new Uint8Array(1 << 20).fill(0x20));
    expect(r).toEqual({ ok: false, error: 'CoAP device request: body of 1048576 octets is larger than 4096' });
  });

  it('reads responses leniently: unknown members ignored, unknown failureReason names → UNSPECIFIED', () => {
    expect(decodeCoapDeviceResponse(utf8('{"messageType":"REG","result":"FAILURE","failureReason":"QUOTA","extra":1}'))).toEqual({
      ok: true,
      value: { kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'UNSPECIFIED' },
    });
  });

  it.each([
    ['SUCCESS without registrationId', '{"messageType":"REG","result":"SUCCESS","appId":"42"}', 'a SUCCESS response lacks "registrationId"'],
    ['SUCCESS with failureReason', '{"messageType":"REG","result":"SUCCESS","registrationId":"00","failureReason":"CONGESTION"}', 'a SUCCESS response carries "failureReason"'],
    ['FAILURE without failureReason', '{"messageType":"DEREG","result":"FAILURE"}', 'a FAILURE response lacks "failureReason"'],
    ['FAILURE with registrationId', '{"messageType":"DEREG","result":"FAILURE","registrationId":"00","failureReason":"CONGESTION"}', 'a FAILURE response carries "registrationId"'],
    ['failureReason a number', '{"messageType":"DEREG","result":"FAILURE","failureReason":4}', 'member "failureReason" must be a string, got a number (4)'],
    ['result missing', '{"messageType":"DEREG","failureReason":"CONGESTION"}', 'member "result" is missing'],
    ['bad appId', '{"messageType":"DEREG","result":"FAILURE","failureReason":"CONGESTION","appId":"x"}', 'member "appId" must be a decimal string'],
  ])('rejects a response with %s', (_name, json, error) => {
    const r = decodeCoapDeviceResponse(utf8(json));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(error);
  });
});

describe('the optional "lifetime" member (registration lifetime, s; docs/wire-formats.md §3.3)', () => {
  const text = (s: string) => new TextEncoder().encode(s);
  it('is read on a REG and written on a REG success answer, after registrationId', () => {
    expect(decodeCoapDeviceRequest(text('{"messageType":"REG","appId":"42","lifetime":3600}'))).toEqual({ ok: true, value: { kind: 'REGISTRATION_REQUEST', applicationId: 42, lifetimeS: 3600 } });
    const answer = encodeCoapDeviceResponse({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: '0011223344556677' as RegistrationId, applicationId: 42 as ApplicationId, lifetimeS: 3600 });
    expect(new TextDecoder().decode(answer)).toBe('{"messageType":"REG","result":"SUCCESS","appId":"42","registrationId":"0011223344556677","lifetime":3600}');
    expect(decodeCoapDeviceResponse(answer)).toEqual({ ok: true, value: { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: '0011223344556677', applicationId: 42, lifetimeS: 3600 } });
  });

  it.each(['0', '-5', '1.5', '"3600"', '4294967296', 'null'])('refuses "lifetime": %s in a REG', (value) => {
    const r = decodeCoapDeviceRequest(text(`{"messageType":"REG","appId":"42","lifetime":${value}}`));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/member "lifetime" must be an integer 1..4294967295/);
  });

  it('refuses it in a DEREG (unknown member there)', () => {
    expect(decodeCoapDeviceRequest(text('{"messageType":"DEREG","registrationId":"0011223344556677","lifetime":5}')).ok).toBe(false);
  });
});
