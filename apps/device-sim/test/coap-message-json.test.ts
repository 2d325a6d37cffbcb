/**
 * The CoAP device's message bodies (src/coap-message-json.ts, docs/wire-formats.md §5.3): the exact
 * JSON it writes, what it reads, and that no input makes a reader throw (fast-check). Imports the
 * module from src: it is internal, and to be replaced by `@msgin5g/protocol`'s encoders.
 */
import fc from 'fast-check';
import type { ApplicationId, MessageId } from '@msgin5g/core';
import { decodeGatewayPostBody, decodeMsgRespBody, encodeImdnBody, encodeMsgBody } from '../src/coap-message-json';

const MID = '000102030405060708090a0b0c0d0e0f' as MessageId;
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('CoAP device message JSON', () => {
  it('MSG: members in the §5.3 order, appId a decimal string, payload base64; without appId when none', () => {
    const r = { kind: 'MESSAGE_SENDING_REQUEST', targetAddress: 'as-service-1', messageId: MID, payload: Uint8Array.of(0xff, 0x00), applicationId: 42 as ApplicationId, deliveryStatusRequired: true, targetType: 'AS' } as const;
    expect(text(encodeMsgBody(r))).toBe(`{"messageType":"MSG","destAddr":"as-service-1","targetType":"AS","msgId":"${MID}","appId":"42","delivStReqInd":true,"payload":"/wA="}`);
    const { applicationId: _a, ...noApp } = r;
    expect(JSON.parse(text(encodeMsgBody(noApp)))).not.toHaveProperty('appId');
  });

  it('IMDN: delivered and failed (with the failure cause)', () => {
    expect(text(encodeImdnBody({ kind: 'DELIVERY_REPORT_SENDING_REQUEST', targetAddress: 'ue-77', messageId: MID, deliveryStatus: 'DELIVERED' }))).toBe(
      `{"messageType":"IMDN","destAddr":"ue-77","msgId":"${MID}","delivSt":"REPT_DELY_SUCCESS"}`,
    );
    expect(JSON.parse(text(encodeImdnBody({ kind: 'DELIVERY_REPORT_SENDING_REQUEST', targetAddress: 'ue-77', messageId: MID, deliveryStatus: 'FAILED', failureReason: 'NOT_DELIVERED' })))).toEqual({
      messageType: 'IMDN',
      destAddr: 'ue-77',
      msgId: MID,
      delivSt: 'REPT_DELY_FAILED',
      failureCause: 'NOT_DELIVERED',
    });
  });

  it('MSGRESP: each status; an unknown failure cause reads UNSPECIFIED; bad bodies are errors', () => {
    expect(decodeMsgRespBody(json({ messageType: 'MSGRESP', msgId: MID.toUpperCase(), status: 'DELY_STORED' }))).toEqual({ ok: true, value: { kind: 'MESSAGE_SENDING_RESPONSE', messageId: MID, result: 'ACCEPTED', deliveryStatus: 'STORED' } });
    expect(decodeMsgRespBody(json({ messageType: 'MSGRESP', msgId: MID, status: 'DELY_FAILED', failureCause: 'NEW_CAUSE' }))).toMatchObject({ ok: true, value: { result: 'FAILURE', failureReason: 'UNSPECIFIED' } });
    for (const bad of [{ messageType: 'MSG', msgId: MID, status: 'DELIVERED' }, { messageType: 'MSGRESP', msgId: 'abc', status: 'DELIVERED' }, { messageType: 'MSGRESP', msgId: MID, status: 'OK' }, [1]]) {
      expect(decodeMsgRespBody(json(bad)).ok).toBe(false);
    }
  });

  it('gateway POSTs: MSG and IMDN read into MESSAGE RECEIVING / DELIVERY REPORT RECEIVING; bad members are errors', () => {
    expect(decodeGatewayPostBody(json({ messageType: 'MSG', oriAddr: 'ue-1001', targetType: 'AS', msgId: MID, appId: '7', delivStReqInd: true, payload: 'aGk=' }))).toEqual({
      ok: true,
      value: { kind: 'MESSAGE_RECEIVING', originatorAddress: 'ue-1001', messageId: MID, payload: new TextEncoder().encode('hi'), applicationId: 7, deliveryStatusRequired: true, originatorType: 'AS' },
    });
    expect(decodeGatewayPostBody(json({ messageType: 'IMDN', oriAddr: 'ue-77', msgId: MID, delivSt: 'REPT_DELY_FAILED', failureCause: 'NOT_DELIVERED' }))).toEqual({
      ok: true,
      value: { kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: 'ue-77', messageId: MID, deliveryStatus: 'FAILED', failureReason: 'NOT_DELIVERED' },
    });
    const msg = { messageType: 'MSG', oriAddr: 'ue-1001', msgId: MID, payload: 'aGk=' };
    expect(decodeGatewayPostBody(json(msg))).toMatchObject({ ok: true, value: { deliveryStatusRequired: false, originatorType: 'UE' } });
    for (const bad of [
      { ...msg, payload: 'a Gk' }, // not canonical base64
      { ...msg, payload: '' },
      { ...msg, appId: 42 }, // a number, not the decimal string
      { ...msg, appId: '70000' },
      { ...msg, delivStReqInd: 'yes' },
      { ...msg, targetType: 'HOST' },
      { ...msg, msgId: 'zz' },
      { ...msg, oriAddr: '' },
      { ...msg, messageType: 'REG' },
      { messageType: 'IMDN', oriAddr: 'ue-77', msgId: MID, delivSt: 'DELIVERED' },
    ]) {
      expect(decodeGatewayPostBody(json(bad)).ok).toBe(false);
    }
  });

  it('readers never throw, whatever the bytes or the JSON', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(typeof decodeGatewayPostBody(b).ok).toBe('boolean');
        expect(typeof decodeMsgRespBody(b).ok).toBe('boolean');
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), fc.dictionary(fc.constantFrom('messageType', 'oriAddr', 'msgId', 'appId', 'delivStReqInd', 'payload', 'targetType', 'delivSt', 'status', 'failureCause', '__proto__'), fc.jsonValue()), (v, o) => {
        for (const body of [json(v), json(o), json({ ...o, messageType: 'MSG' }), json({ ...o, messageType: 'IMDN' }), json({ ...o, messageType: 'MSGRESP' })]) {
          expect(typeof decodeGatewayPostBody(body).ok).toBe('boolean');
          expect(typeof decodeMsgRespBody(body).ok).toBe('boolean');
        }
      }),
    );
  });
});
