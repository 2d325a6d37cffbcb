import type { ApplicationId, DeliveryReportReceiving, DeliveryReportSendingRequest, MessageId, MessageReceiving, MessageSendingRequest, MessageSendingResponse } from '@msgin5g/core';
import {
  decodeCoapDeviceBody,
  decodeCoapDeviceDelivery,
  decodeCoapGatewayDelivery,
  decodeCoapMessageResponse,
  encodeCoapDeviceDelivery,
  encodeCoapGatewayDelivery,
  encodeCoapMessageResponse,
} from '@msgin5g/protocol';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const mid = '000102030405060708090a0b0c0d0e0f' as MessageId;
const app = 42 as ApplicationId;

const msr: MessageSendingRequest = { kind: 'MESSAGE_SENDING_REQUEST', targetAddress: 'ue-77', messageId: mid, payload: Uint8Array.of(1, 2, 3), applicationId: app, deliveryStatusRequired: true, targetType: 'UE' };
const report: DeliveryReportSendingRequest = { kind: 'DELIVERY_REPORT_SENDING_REQUEST', targetAddress: 'as-service-9', messageId: mid, deliveryStatus: 'FAILED', applicationId: app, failureReason: 'NOT_DELIVERED' };
const receiving: MessageReceiving = { kind: 'MESSAGE_RECEIVING', originatorAddress: 'ue-77', messageId: mid, payload: Uint8Array.of(0xff, 0x00), applicationId: app, deliveryStatusRequired: false, originatorType: 'AS' };
const reportReceiving: DeliveryReportReceiving = { kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: 'ue-77', messageId: mid, deliveryStatus: 'DELIVERED' };

describe('CoAP device link message bodies (docs/wire-formats.md §3.3, §5.3)', () => {
  it('device MSG / IMDN: exact JSON and strict round trip', () => {
    expect(text(encodeCoapDeviceDelivery(msr))).toBe(`{"messageType":"MSG","destAddr":"ue-77","targetType":"UE","msgId":"${mid}","appId":"42","delivStReqInd":true,"payload":"AQID"}`);
    expect(text(encodeCoapDeviceDelivery(report))).toBe(`{"messageType":"IMDN","destAddr":"as-service-9","msgId":"${mid}","delivSt":"REPT_DELY_FAILED","appId":"42","failureCause":"NOT_DELIVERED"}`);
    for (const m of [msr, report]) {
      expect(decodeCoapDeviceDelivery(encodeCoapDeviceDelivery(m))).toEqual({ ok: true, value: m });
      expect(decodeCoapDeviceBody(encodeCoapDeviceDelivery(m))).toEqual({ ok: true, value: m });
    }
  });

  it('device MSG: optional members take their defaults, appId also as a number, msgId in upper case', () => {
    const body = utf8(`{"messageType":"MSG","destAddr":"ue-77","msgId":"${mid.toUpperCase()}","appId":7,"payload":"AA=="}`);
    expect(decodeCoapDeviceBody(body)).toEqual({
      ok: true,
      value: { kind: 'MESSAGE_SENDING_REQUEST', targetAddress: 'ue-77', messageId: mid, payload: Uint8Array.of(0), applicationId: 7, deliveryStatusRequired: false, targetType: 'UE' },
    });
  });

  it('decodeCoapDeviceBody still reads REG / DEREG and names all four messageTypes in its error', () => {
    expect(decodeCoapDeviceBody(utf8('{"messageType":"REG","appId":"42"}'))).toEqual({ ok: true, value: { kind: 'REGISTRATION_REQUEST', applicationId: 42 } });
    const r = decodeCoapDeviceBody(utf8('{"messageType":"MSGRESP"}'));
    expect(r).toEqual({ ok: false, error: 'CoAP device request: member "messageType" must be one of "REG", "DEREG", "MSG", "IMDN", got the string "MSGRESP"' });
  });

  const base = `"destAddr":"ue-77","msgId":"${mid}"`;
  it.each([
    ['oriAddr from a device', `{"messageType":"MSG","oriAddr":"dev-1",${base},"payload":"AQID"}`, '"oriAddr" is set by the gateway'],
    ['unknown member', `{"messageType":"MSG",${base},"payload":"AQID","x":1}`, 'unknown member "x" in a MSG'],
    ['no payload', `{"messageType":"MSG",${base}}`, 'member "payload" is missing'],
    ['empty payload', `{"messageType":"MSG",${base},"payload":""}`, 'must hold 1..65535 octets, got 0'],
    ['base64url payload', `{"messageType":"MSG",${base},"payload":"-_8="}`, 'must be base64'],
    ['unpadded payload', `{"messageType":"MSG",${base},"payload":"AQI"}`, 'must be base64'],
    ['non-canonical base64', `{"messageType":"MSG",${base},"payload":"AQJ="}`, 'not canonical base64'],
    ['short destAddr', `{"messageType":"MSG","destAddr":"ue-7","msgId":"${mid}","payload":"AQID"}`, 'member "destAddr" must be 5..255 octets of UTF-8, got 4'],
    ['long destAddr', `{"messageType":"MSG","destAddr":"${'x'.repeat(256)}","msgId":"${mid}","payload":"AQID"}`, 'got 256'],
    ['bad msgId', `{"messageType":"MSG","destAddr":"ue-77","msgId":"0011","payload":"AQID"}`, 'member "msgId" must be 32 hex characters'],
    ['bad targetType', `{"messageType":"MSG",${base},"targetType":"ue","payload":"AQID"}`, 'member "targetType" must be one of "UE", "AS", "GROUP"'],
    ['delivStReqInd as a string', `{"messageType":"MSG",${base},"delivStReqInd":"true","payload":"AQID"}`, 'must be true or false'],
    ['appId out of range', `{"messageType":"MSG",${base},"appId":70000,"payload":"AQID"}`, 'member "appId" must be an integer 0..65535'],
    ['IMDN without delivSt', `{"messageType":"IMDN",${base}}`, 'member "delivSt" is missing'],
    ['IMDN with a MSGRESP status', `{"messageType":"IMDN",${base},"delivSt":"DELIVERED"}`, 'member "delivSt" must be one of "REPT_DELY_SUCCESS", "REPT_DELY_FAILED"'],
    ['IMDN with payload', `{"messageType":"IMDN",${base},"delivSt":"REPT_DELY_SUCCESS","payload":"AQID"}`, 'unknown member "payload" in an IMDN'],
    ['IMDN with an empty failureCause', `{"messageType":"IMDN",${base},"delivSt":"REPT_DELY_FAILED","failureCause":""}`, 'member "failureCause" must be 1..256 characters'],
  ])('refuses a device body with %s', (_what, body, error) => {
    const r = decodeCoapDeviceBody(utf8(body));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toContain(error);
      expect(r.error.startsWith('CoAP device request: ')).toBe(true);
    }
  });

  it('an unknown failureCause name reads as UNSPECIFIED', () => {
    expect(decodeCoapDeviceBody(utf8(`{"messageType":"IMDN",${base},"delivSt":"REPT_DELY_FAILED","failureCause":"battery low"}`))).toEqual({
      ok: true,
      value: { kind: 'DELIVERY_REPORT_SENDING_REQUEST', targetAddress: 'ue-77', messageId: mid, deliveryStatus: 'FAILED', failureReason: 'UNSPECIFIED' },
    });
  });

  it('gateway MSG / IMDN: exact JSON and round trip on the device side', () => {
    expect(text(encodeCoapGatewayDelivery(receiving))).toBe(`{"messageType":"MSG","oriAddr":"ue-77","targetType":"AS","msgId":"${mid}","appId":"42","delivStReqInd":false,"payload":"/wA="}`);
    expect(text(encodeCoapGatewayDelivery(reportReceiving))).toBe(`{"messageType":"IMDN","oriAddr":"ue-77","msgId":"${mid}","delivSt":"REPT_DELY_SUCCESS"}`);
    for (const m of [receiving, reportReceiving]) expect(decodeCoapGatewayDelivery(encodeCoapGatewayDelivery(m))).toEqual({ ok: true, value: m });
    // lenient: unknown members ignored; strict on what it needs
    expect(decodeCoapGatewayDelivery(utf8(`{"messageType":"IMDN","oriAddr":"ue-77","msgId":"${mid}","delivSt":"REPT_DELY_SUCCESS","future":1}`))).toEqual({ ok: true, value: reportReceiving });
    expect(decodeCoapGatewayDelivery(utf8(`{"messageType":"MSG","msgId":"${mid}","payload":"AQID"}`))).toMatchObject({ ok: false, error: expect.stringContaining('"oriAddr" is missing') });
  });

  it('a Delivery status STORED has no IMDN form: encoding throws RangeError', () => {
    expect(() => encodeCoapGatewayDelivery({ ...reportReceiving, deliveryStatus: 'STORED' })).toThrow(RangeError);
    expect(() => encodeCoapDeviceDelivery({ ...report, deliveryStatus: 'STORED' })).toThrow(RangeError);
  });

  it('MSGRESP: exact JSON for each status, and round trip', () => {
    const delivered: MessageSendingResponse = { kind: 'MESSAGE_SENDING_RESPONSE', messageId: mid, result: 'ACCEPTED', applicationId: app, deliveryStatus: 'DELIVERED' };
    const stored: MessageSendingResponse = { kind: 'MESSAGE_SENDING_RESPONSE', messageId: mid, result: 'ACCEPTED', deliveryStatus: 'STORED' };
    const failed: MessageSendingResponse = { kind: 'MESSAGE_SENDING_RESPONSE', messageId: mid, result: 'FAILURE', failureReason: 'DEVICE_NOT_REGISTERED', applicationId: app };
    expect(text(encodeCoapMessageResponse(delivered))).toBe(`{"messageType":"MSGRESP","msgId":"${mid}","status":"DELIVERED","appId":"42"}`);
    expect(text(encodeCoapMessageResponse(stored))).toBe(`{"messageType":"MSGRESP","msgId":"${mid}","status":"DELY_STORED"}`);
    expect(text(encodeCoapMessageResponse(failed))).toBe(`{"messageType":"MSGRESP","msgId":"${mid}","status":"DELY_FAILED","failureCause":"DEVICE_NOT_REGISTERED","appId":"42"}`);
    for (const r of [delivered, stored, failed]) expect(decodeCoapMessageResponse(encodeCoapMessageResponse(r))).toEqual({ ok: true, value: r });
    // accepted without a Delivery status is written DELIVERED (documented)
    expect(decodeCoapMessageResponse(encodeCoapMessageResponse({ kind: 'MESSAGE_SENDING_RESPONSE', messageId: mid, result: 'ACCEPTED' }))).toEqual({
      ok: true,
      value: { kind: 'MESSAGE_SENDING_RESPONSE', messageId: mid, result: 'ACCEPTED', deliveryStatus: 'DELIVERED' },
    });
    expect(decodeCoapMessageResponse(utf8(`{"messageType":"MSGRESP","msgId":"${mid}","status":"DELIVERED","failureCause":"CONGESTION"}`))).toMatchObject({ ok: false });
    expect(decodeCoapMessageResponse(utf8(`{"messageType":"MSGRESP","msgId":"${mid}","status":"DELY_FAILED"}`))).toEqual({
      ok: true,
      value: { kind: 'MESSAGE_SENDING_RESPONSE', messageId: mid, result: 'FAILURE', failureReason: 'UNSPECIFIED' },
    });
  });

  it('random bytes never throw from any decoder (bounded: 2,000 inputs)', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const pieces = ['{', '}', '"messageType":', '"MSG"', '"IMDN"', '"MSGRESP"', ',', '"payload":"AQID"', `"msgId":"${mid}"`, '"destAddr":"ue-77"', '"oriAddr":"ue-77"', 'null', '1e999', '"\\u0000"', '[', ']'];
    for (let i = 0; i < 2000; i++) {
      const s = Array.from({ length: next() % 12 }, () => pieces[next() % pieces.length]).join('');
      for (const decode of [decodeCoapDeviceBody, decodeCoapGatewayDelivery, decodeCoapMessageResponse]) expect(() => decode(utf8(s))).not.toThrow();
    }
  });
});
