import type { ApplicationId, MessageId, UeServiceId } from '@msgin5g/core';
import {
  decodeMsgin5g1ImdnAnswer,
  decodeMsgin5g1MessageRequest,
  decodeMsgin5g1MsgResp,
  encodeMsgin5g1MessageAnswer,
  encodeMsgin5g1MessageRequest,
  MAX_JSON_BODY_OCTETS,
  MSGIN5G1_MAX_MESSAGE_PAYLOAD_OCTETS,
  type Msgin5g1Imdn,
  type Msgin5g1Msg,
} from '../src';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
const MID = '000102030405060708090a0b0c0d0e0f' as MessageId;

const msg: Msgin5g1Msg = {
  messageType: 'MSG',
  originatorAddress: 'gw-1/127.0.0.1:40000/42',
  targetAddress: 'ue-77',
  targetType: 'UE',
  messageId: MID,
  applicationId: 42 as ApplicationId,
  deliveryStatusRequired: true,
  payload: new Uint8Array([1, 2, 3]),
  gatewayUeServiceId: 'gw-1' as UeServiceId,
};

describe('MSGin5G-1 MSG / IMDN bodies (docs/wire-formats.md §5.4)', () => {
  it('writes a MSG with the §5.4 member names, in order, payload in base64', () => {
    expect(text(encodeMsgin5g1MessageRequest(msg))).toBe(
      '{"messageType":"MSG","oriAddr":"gw-1/127.0.0.1:40000/42","destAddr":"ue-77","targetType":"UE","msgId":"000102030405060708090a0b0c0d0e0f","appId":"42","delivStReqInd":true,"payload":"AQID","gatewayUeServiceId":"gw-1"}',
    );
  });

  it('reads back every MSG and IMDN it writes', () => {
    expect(decodeMsgin5g1MessageRequest(encodeMsgin5g1MessageRequest(msg))).toEqual({ ok: true, value: msg });
    const imdn: Msgin5g1Imdn = { messageType: 'IMDN', originatorAddress: 'ue-77', targetAddress: 'gw-1/x/42', messageId: MID, deliveryStatus: 'FAILED', failureReason: 'NOT_DELIVERED' };
    expect(text(encodeMsgin5g1MessageRequest(imdn))).toBe('{"messageType":"IMDN","oriAddr":"ue-77","destAddr":"gw-1/x/42","msgId":"000102030405060708090a0b0c0d0e0f","delivSt":"REPT_DELY_FAILED","failureCause":"NOT_DELIVERED"}');
    expect(decodeMsgin5g1MessageRequest(encodeMsgin5g1MessageRequest(imdn))).toEqual({ ok: true, value: imdn });
  });

  it('writes oriType after oriAddr when set, reads it back, reads it absent as absent, and refuses GROUP or another value', () => {
    const fromAs: Msgin5g1Msg = { messageType: 'MSG', originatorAddress: 'as-weather', originatorType: 'AS', targetAddress: 'gw-1/127.0.0.1:40000/42', targetType: 'UE', messageId: MID, deliveryStatusRequired: false, payload: new Uint8Array([9]) };
    const body = encodeMsgin5g1MessageRequest(fromAs);
    expect(text(body)).toBe('{"messageType":"MSG","oriAddr":"as-weather","oriType":"AS","destAddr":"gw-1/127.0.0.1:40000/42","targetType":"UE","msgId":"000102030405060708090a0b0c0d0e0f","delivStReqInd":false,"payload":"CQ=="}');
    expect(decodeMsgin5g1MessageRequest(body)).toEqual({ ok: true, value: fromAs });
    const plain = decodeMsgin5g1MessageRequest(json({ messageType: 'MSG', oriAddr: 'ue-77', destAddr: 'ue-78', msgId: MID, delivStReqInd: false, payload: 'AA==' }));
    expect(plain.ok && 'originatorType' in plain.value).toBe(false);
    for (const oriType of ['GROUP', 'ue', 1]) {
      const r = decodeMsgin5g1MessageRequest(json({ messageType: 'MSG', oriAddr: 'ue-77', oriType, destAddr: 'ue-78', msgId: MID, delivStReqInd: false, payload: 'AA==' }));
      expect(r).toEqual({ ok: false, error: expect.stringContaining('member "oriType" must be one of "UE", "AS"') });
    }
  });

  it('reads an absent targetType as UE and an upper-case msgId as lower-case', () => {
    const r = decodeMsgin5g1MessageRequest(json({ messageType: 'MSG', oriAddr: 'as-one', destAddr: 'ue-77', msgId: MID.toUpperCase(), delivStReqInd: false, payload: 'AA==' }));
    expect(r).toEqual({ ok: true, value: expect.objectContaining({ targetType: 'UE', messageId: MID, payload: new Uint8Array([0]) }) });
  });

  it.each([
    [{ messageType: 'MSG', oriAddr: 'as-one', destAddr: 'ue-77', msgId: MID, delivStReqInd: false, payload: 'AQID', extra: 1 }, 'unknown member "extra"'],
    [{ messageType: 'MSG', oriAddr: 'as1', destAddr: 'ue-77', msgId: MID, delivStReqInd: false, payload: 'AQID' }, '5..255 octets'],
    [{ messageType: 'MSG', oriAddr: 'as-one', destAddr: 'ue-77', msgId: 'abc', delivStReqInd: false, payload: 'AQID' }, '32 hex characters'],
    [{ messageType: 'MSG', oriAddr: 'as-one', destAddr: 'ue-77', msgId: MID, delivStReqInd: 'yes', payload: 'AQID' }, 'true or false'],
    [{ messageType: 'MSG', oriAddr: 'as-one', destAddr: 'ue-77', msgId: MID, delivStReqInd: false, payload: '' }, '1..65535 octets'],
    [{ messageType: 'MSG', oriAddr: 'as-one', destAddr: 'ue-77', msgId: MID, delivStReqInd: false, payload: 'AQI' }, 'base64'],
    [{ messageType: 'MSG', oriAddr: 'as-one', destAddr: 'ue-77', msgId: MID, delivStReqInd: false, payload: 'AQJ=' }, 'canonical'],
    [{ messageType: 'MSG', oriAddr: 'as-one', destAddr: 'ue-77', targetType: 'PHONE', msgId: MID, delivStReqInd: false, payload: 'AQID' }, 'targetType'],
    [{ messageType: 'IMDN', oriAddr: 'as-one', destAddr: 'ue-77', msgId: MID, delivSt: 'OK' }, 'delivSt'],
    [{ messageType: 'IMDN', oriAddr: 'as-one', destAddr: 'ue-77', msgId: MID, delivSt: 'REPT_DELY_FAILED', failureCause: 'oops' }, 'failureCause'],
    [{ messageType: 'REG', ueServiceId: 'x' }, 'messageType'],
  ])('refuses %j naming the problem', (body, problem) => {
    const r = decodeMsgin5g1MessageRequest(json(body));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(problem);
  });

  it('fits the largest payload it announces into one body at the JSON limit, and not one octet more', () => {
    const longest = (n: number): string => 'y'.repeat(n);
    const worst = { ...msg, originatorAddress: longest(255), targetAddress: longest(255), targetType: 'GROUP' as const, applicationId: 65535 as ApplicationId, deliveryStatusRequired: false, gatewayUeServiceId: longest(256) as UeServiceId };
    const fits = encodeMsgin5g1MessageRequest({ ...worst, payload: new Uint8Array(MSGIN5G1_MAX_MESSAGE_PAYLOAD_OCTETS) });
    expect(fits.length).toBeLessThanOrEqual(MAX_JSON_BODY_OCTETS);
    expect(decodeMsgin5g1MessageRequest(fits).ok).toBe(true);
    const over = encodeMsgin5g1MessageRequest({ ...worst, payload: new Uint8Array(MSGIN5G1_MAX_MESSAGE_PAYLOAD_OCTETS + 3) });
    expect(over.length).toBeGreaterThan(MAX_JSON_BODY_OCTETS);
  });

  it('writes and reads MSGRESP and the IMDN answer, ignoring unknown members in answers', () => {
    const resp = encodeMsgin5g1MessageAnswer({ messageType: 'MSGRESP', messageId: MID, status: 'DELY_FAILED', failureCause: 'RECIPIENT_UNKNOWN' });
    expect(text(resp)).toBe('{"messageType":"MSGRESP","msgId":"000102030405060708090a0b0c0d0e0f","status":"DELY_FAILED","failureCause":"RECIPIENT_UNKNOWN"}');
    expect(decodeMsgin5g1MsgResp(resp)).toEqual({ ok: true, value: { messageType: 'MSGRESP', messageId: MID, status: 'DELY_FAILED', failureCause: 'RECIPIENT_UNKNOWN' } });
    expect(decodeMsgin5g1MsgResp(json({ messageType: 'MSGRESP', msgId: MID, status: 'DELIVERED', later: [1] }))).toEqual({ ok: true, value: { messageType: 'MSGRESP', messageId: MID, status: 'DELIVERED' } });
    expect(decodeMsgin5g1MsgResp(json({ messageType: 'MSGRESP', msgId: MID, status: 'LOST' })).ok).toBe(false);
    expect(text(encodeMsgin5g1MessageAnswer({ messageType: 'IMDN', result: 'SUCCESS' }))).toBe('{"messageType":"IMDN","result":"SUCCESS"}');
    expect(decodeMsgin5g1ImdnAnswer(json({ messageType: 'IMDN', result: 'FAILURE', failureCause: 'x' }))).toEqual({ ok: true, value: { messageType: 'IMDN', result: 'FAILURE', failureCause: 'x' } });
    expect(decodeMsgin5g1ImdnAnswer(json({ messageType: 'IMDN' })).ok).toBe(false);
  });
});
