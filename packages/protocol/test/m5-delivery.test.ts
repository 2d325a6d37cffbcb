// Message-delivery messages (docs/wire-formats.md §5): the §5.2 example byte-exact, decodeDeviceUnit on
// every reject vector (v2 included), conditional-IE rules, encoder refusals, and the no-amplification bound.
import type { ApplicationId, MessageId } from '@msgin5g/core';
import { M5ProtocolError, decodeDeviceRequest, decodeDeviceUnit, decodeM5, encodeM5, type M5Message } from '@msgin5g/protocol';
import fc from 'fast-check';
import { NUM_RUNS, mutatedM5, randomM5 } from './arbitraries';
import { bytes, hexOf, isV2, rejectVectors } from './vectors';

const id = '000102030405060708090a0b0c0d0e0f' as MessageId;
const app42 = 42 as ApplicationId;

describe('docs/wire-formats.md §5.2 example', () => {
  it('MESSAGE SENDING REQUEST from Application ID 42 to ue-77, report wanted, and its "accepted" answer', () => {
    const request: M5Message = { kind: 'MESSAGE_SENDING_REQUEST', targetAddress: 'ue-77', messageId: id, payload: Uint8Array.of(1, 2, 3), applicationId: app42, deliveryStatusRequired: true, targetType: 'UE' };
    const requestHex = '01 05 75 65 2D 37 37  00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F  00 03 01 02 03  A0 00 2A  B1';
    expect(hexOf(encodeM5(request))).toBe(hexOf(bytes(requestHex)));
    expect(decodeDeviceUnit(bytes(requestHex))).toEqual({ kind: 'DELIVERY', message: request });
    const accepted: M5Message = { kind: 'MESSAGE_SENDING_RESPONSE', messageId: id, result: 'ACCEPTED', applicationId: app42 };
    expect(hexOf(encodeM5(accepted))).toBe(hexOf(bytes('03 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 00 A0 00 2A')));
  });

  it('an accepted answer may say what the server did (Delivery status TLV 0x23): stored', () => {
    const stored: M5Message = { kind: 'MESSAGE_SENDING_RESPONSE', messageId: id, result: 'ACCEPTED', deliveryStatus: 'STORED' };
    const hex = `03${id}00230102`;
    expect(hexOf(encodeM5(stored))).toBe(hex);
    expect(decodeM5(bytes(hex))).toEqual({ ok: true, message: stored });
  });
});

describe('decodeDeviceUnit: every reject vector of m5-vectors.json, v2 included', () => {
  it('has v2 vectors to run', () => {
    expect(rejectVectors.filter(isV2).length).toBeGreaterThanOrEqual(5);
  });
  it.each(rejectVectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    const r = decodeDeviceUnit(bytes(v.hex));
    expect(r.kind).toBe('REJECT');
    if (r.kind !== 'REJECT') throw new Error('not a reject');
    expect(hexOf(r.answer)).toBe(v.answer);
    expect(r.detail.length).toBeGreaterThan(0);
  });
  it('answers the section 2 inputs exactly as decodeDeviceRequest does', () => {
    for (const v of rejectVectors.filter((x) => !isV2(x))) expect(decodeDeviceUnit(bytes(v.hex))).toEqual(decodeDeviceRequest(bytes(v.hex)));
    expect(decodeDeviceUnit(bytes('10002a'))).toEqual(decodeDeviceRequest(bytes('10002a')));
  });
});

describe('decodeDeviceUnit: what devices send', () => {
  it('passes a report and an ack through as DELIVERY', () => {
    expect(decodeDeviceUnit(bytes(`020575652d3737${id}02a0002a`))).toEqual({
      kind: 'DELIVERY',
      message: { kind: 'DELIVERY_REPORT_SENDING_REQUEST', targetAddress: 'ue-77', messageId: id, deliveryStatus: 'STORED', applicationId: app42 },
    });
    expect(decodeDeviceUnit(bytes(`05${id}`))).toEqual({ kind: 'DELIVERY', message: { kind: 'MESSAGE_RECEIVING_ACK', messageId: id } });
  });

  it.each([
    ['a report with Delivery status 0x07', `020575652d3737${id}07`, `03${id}01220105`, 'Delivery status 0x07'],
    ['a report cut inside its Message ID', `020575652d3737${id.slice(0, 8)}`, '1f0502', 'Message ID needs 16 octets'],
    ['an ack with a TLV running past the end', `05${id}3004ab`, `03${id}01220105`, 'runs past the end'],
    ['an ack cut inside the Message ID', `05${id.slice(0, 20)}`, '1f0505', 'Message ID needs 16 octets'],
    ['a sending request whose address is not UTF-8', `0105ff65ff3737${id}000101`, `03${id}01220105`, 'not UTF-8'],
    ['a sending request with Target type 3', `010575652d3737${id}000101d3`, `03${id}01220105`, 'Target type value 3'],
    ['a sending request with two Application ID IEs', `010575652d3737${id}000101a0002aa0002b`, `03${id}01220105`, 'duplicate Application ID'],
    ['a sending request with a TLV running past the end', `010575652d3737${id}0001013005ab`, `03${id}01220105`, 'runs past the end'],
  ])('%s gets %s', (_name, hex, answer, detail) => {
    const r = decodeDeviceUnit(bytes(hex));
    if (r.kind !== 'REJECT') throw new Error(`expected a reject, got ${JSON.stringify(r)}`);
    expect(hexOf(r.answer)).toBe(answer);
    expect(r.detail).toContain(detail);
  });

  it('a sending request with a 0-octet address: the Message ID right after it is echoed (18 octets in, 21 out)', () => {
    const r = decodeDeviceUnit(bytes(`0100${id}`));
    if (r.kind !== 'REJECT') throw new Error('not a reject');
    expect(hexOf(r.answer)).toBe(`03${id}01220105`);
  });

  it('skips IEs that do not belong (a Failure reason in a sending request), reads the ones that do', () => {
    expect(decodeM5(bytes(`010575652d3737${id}000101220107b1`))).toMatchObject({ ok: true, message: { deliveryStatusRequired: true } });
  });

  it('property: never throws; every answer is at most 5 octets, or 4 more than the unit it answers', () => {
    fc.assert(
      fc.property(fc.oneof(randomM5, mutatedM5), (input) => {
        const r = decodeDeviceUnit(input);
        if (r.kind === 'REJECT' && r.answer !== null) expect(r.answer.length).toBeLessThanOrEqual(Math.max(5, input.length + 4));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('MESSAGE SENDING RESPONSE conditional IEs (TS 24.007 §8.5.6)', () => {
  it.each([
    ['accepted with a Failure reason', `03${id}00220105`, 'accepted response carries a Failure reason'],
    ['failure without a Failure reason', `03${id}01`, 'lacks the Failure reason'],
    ['failure with a Delivery status', `03${id}0122010523010` + '0', 'failure response carries a Delivery status'],
    ['accepted, Delivery status failed', `03${id}00230101`, 'Delivery status failed'],
    ['Result 0x02', `03${id}02`, 'Result 0x02'],
  ])('%s is MALFORMED', (_name, hex, detail) => {
    const r = decodeM5(bytes(hex));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain(detail);
  });
});

describe('encodeM5 refuses values with no encoding', () => {
  const base = { kind: 'MESSAGE_SENDING_REQUEST', targetAddress: 'ue-77', messageId: id, payload: Uint8Array.of(1), deliveryStatusRequired: false, targetType: 'UE' } as const;
  it.each<[string, M5Message, string]>([
    ['a 4-octet address', { ...base, targetAddress: 'ue-7' }, '5..255 octets'],
    ['a 256-octet address', { ...base, targetAddress: 'x'.repeat(256) }, '5..255 octets'],
    ['an empty payload', { ...base, payload: new Uint8Array(0) }, 'Payload must be'],
    ['a 65,536-octet payload', { ...base, payload: new Uint8Array(0x10000) }, 'Payload must be'],
    ['a 15-octet Message ID', { ...base, messageId: id.slice(2) as MessageId }, 'Message ID'],
    ['an unknown target type', { ...base, targetType: 'BROADCAST' as never }, 'target type'],
    ['a Message ID that is not hex', { kind: 'MESSAGE_RECEIVING_ACK', messageId: 'zz'.repeat(16) as MessageId }, 'Message ID'],
    ['an unknown Delivery status', { kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: 'ue-77', messageId: id, deliveryStatus: 'LOST' as never }, 'unknown Delivery status'],
    ['a 4-octet originator address', { kind: 'MESSAGE_RECEIVING', originatorAddress: 'ue-7', messageId: id, payload: Uint8Array.of(1), deliveryStatusRequired: false, originatorType: 'UE' }, 'Originator address'],
  ])('%s', (_name, message, detail) => {
    expect(() => encodeM5(message)).toThrow(M5ProtocolError);
    expect(() => encodeM5(message)).toThrow(detail);
  });
});
