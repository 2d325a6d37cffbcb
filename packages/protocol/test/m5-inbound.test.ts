import type { ApplicationId, MessageId } from '@msgin5g/core';
import { answerWithoutDeliveryHandler as answer, decodeDeviceRequest } from '@msgin5g/protocol';
import { bytes, hexOf, isV2, rejectVectors } from './vectors';

describe('decodeDeviceRequest: every section 2 reject vector of m5-vectors.json', () => {
  it('has vectors to run', () => {
    expect(rejectVectors.filter((v) => !isV2(v)).length).toBeGreaterThanOrEqual(11);
  });

  it.each(rejectVectors.filter((v) => !isV2(v)).map((v) => [v.name, v] as const))('%s', (_name, v) => {
    const r = decodeDeviceRequest(bytes(v.hex));
    expect(r.kind).toBe('REJECT');
    if (r.kind !== 'REJECT') return;
    expect(hexOf(r.answer)).toBe(v.answer);
    expect(r.detail.length).toBeGreaterThan(0);
  });
});

describe('decodeDeviceRequest', () => {
  it('passes valid requests through, whatever unknown IEs follow', () => {
    expect(decodeDeviceRequest(bytes('10002a'))).toEqual({ kind: 'REQUEST', request: { kind: 'REGISTRATION_REQUEST', applicationId: 42 as ApplicationId } });
    expect(decodeDeviceRequest(bytes('10002ac13002abcd'))).toEqual({ kind: 'REQUEST', request: { kind: 'REGISTRATION_REQUEST', applicationId: 42 } });
    expect(decodeDeviceRequest(bytes('12080011223344556677'))).toEqual({
      kind: 'REQUEST',
      request: { kind: 'DEREGISTRATION_REQUEST', registrationId: '0011223344556677' },
    });
  });

  it.each([
    ['13', '1f0913', 'sent only by the gateway'],
    ['1f097e', '1f091f', 'sent only by the gateway'],
    ['11', '1f0911', 'sent only by the gateway'],
    ['01ffff', '1f0901', 'message-delivery type 0x01 is not served by this entry point'],
    ['02', '1f0902', 'message-delivery type 0x02 is not served by this entry point'],
    ['00', '1f0900', 'unknown message type 0x00'],
    ['ff' + '00'.repeat(100), '1f09ff', 'unknown message type 0xff'],
  ])('answers %s with STATUS %s', (hex, answer, detail) => {
    const r = decodeDeviceRequest(bytes(hex));
    expect(r).toMatchObject({ kind: 'REJECT' });
    if (r.kind !== 'REJECT') return;
    expect(hexOf(r.answer)).toBe(answer);
    expect(r.detail).toContain(detail);
  });

  it('C07: the UDP-link inputs are each answered or dropped, never thrown', () => {
    const inputs = ['', '12', '12080011', '7e00'].map(bytes);
    const big = new Uint8Array(65000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919 + 13) & 0xff;
    inputs.push(big);
    const answers = inputs.map((b) => {
      const r = decodeDeviceRequest(b);
      return r.kind === 'REJECT' ? hexOf(r.answer) : 'REQUEST';
    });
    expect(answers).toEqual([null, '1301220105', '1301220105', '1f097e', `1f09${big[0]?.toString(16).padStart(2, '0')}`]);
    expect(decodeDeviceRequest(bytes('10002a')).kind).toBe('REQUEST');
  });

  it('returns a fresh answer array each time (callers may keep or mutate it)', () => {
    const a = decodeDeviceRequest(bytes('10'));
    const b = decodeDeviceRequest(bytes('10'));
    if (a.kind !== 'REJECT' || b.kind !== 'REJECT' || a.answer === null || b.answer === null) throw new Error('expected answers');
    a.answer[0] = 0;
    expect(hexOf(b.answer)).toBe('1101220105');
  });

  it('drops a non-byte-array input without throwing', () => {
    expect(decodeDeviceRequest(null as unknown as Uint8Array)).toMatchObject({ kind: 'REJECT', answer: null });
  });
});

describe('answerWithoutDeliveryHandler (a handler written before version 2)', () => {
  const id = '000102030405060708090a0b0c0d0e0f' as MessageId;
  it('answers a 0x01 MESSAGE SENDING RESPONSE failure MESSAGE_TYPE_NOT_SUPPORTED, Message ID and Application ID echoed', () => {
    const r = answer({ kind: 'MESSAGE_SENDING_REQUEST', targetAddress: 'ue-77', messageId: id, payload: Uint8Array.of(1), applicationId: 42 as ApplicationId, deliveryStatusRequired: false, targetType: 'UE' });
    expect(Buffer.from(r.answer as Uint8Array).toString('hex')).toBe(`03${id}01a0002a220109`);
    const noApp = answer({ kind: 'MESSAGE_SENDING_REQUEST', targetAddress: 'ue-77', messageId: id, payload: Uint8Array.of(1), deliveryStatusRequired: false, targetType: 'UE' });
    expect(Buffer.from(noApp.answer as Uint8Array).toString('hex')).toBe(`03${id}01220109`);
  });
  it('drops 0x02 and 0x05 (no answer), with a reason for the log', () => {
    expect(answer({ kind: 'MESSAGE_RECEIVING_ACK', messageId: id }).answer).toBeNull();
    const r = answer({ kind: 'DELIVERY_REPORT_SENDING_REQUEST', targetAddress: 'ue-77', messageId: id, deliveryStatus: 'DELIVERED' });
    expect(r.answer).toBeNull();
    expect(r.detail).toContain('dropped');
  });
});
