import type { ApplicationId, RegistrationId } from '@msgin5g/core';
import { M5ProtocolError, decodeM5, encodeM5, type M5Message } from '@msgin5g/protocol';
import { bytes, decodeVectors, hexOf } from './vectors';

const app42 = 42 as ApplicationId;
const rid = '0011223344556677' as RegistrationId;

/** The decode vectors that use an encoding the encoder never writes (an unknown IE, IEI 0xA5). */
const NON_CANONICAL = [
  'registration request with an unknown TLV after it (skipped)',
  'registration request with an unknown type-1 IE after it (skipped)',
  'application id IEI with a non-zero low nibble decodes the same',
  'v2-lifetime: de-registration response with a lifetime IE (does not belong there: skipped)',
];
const isCanonical = (name: string): boolean => !NON_CANONICAL.includes(name);

describe('decodeM5: every decode vector of m5-vectors.json', () => {
  it('has vectors to run', () => {
    expect(decodeVectors.length).toBeGreaterThanOrEqual(14);
  });

  it.each(decodeVectors.map((v) => [v.name, v] as const))('decodes %s', (_name, v) => {
    const r = decodeM5(bytes(v.hex));
    expect(r).toEqual({ ok: true, message: v.message });
  });

  const canonical = decodeVectors.filter((v) => isCanonical(v.name));
  it('re-encodes the canonical vectors byte-exactly (and skips only the non-canonical ones)', () => {
    expect(decodeVectors.length - canonical.length).toBe(NON_CANONICAL.length);
    for (const v of canonical) expect(hexOf(encodeM5(v.message))).toBe(v.hex);
  });
});

describe('docs/wire-formats.md §2 examples, byte-exact', () => {
  const cases: Array<[string, M5Message]> = [
    ['12 08 00 11 22 33 44 55 66 77', { kind: 'DEREGISTRATION_REQUEST', registrationId: rid }],
    ['13 00 A0 00 2A 21 08 00 11 22 33 44 55 66 77', { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: app42, registrationId: rid }],
    ['13 01 A0 00 2A 22 01 04', { kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', applicationId: app42, failureReason: 'SERVER_UNREACHABLE' }],
    ['10 00 2A 24 04 00 00 0E 10', { kind: 'REGISTRATION_REQUEST', applicationId: app42, lifetimeS: 3600 }],
    ['11 00 A0 00 2A 21 08 00 11 22 33 44 55 66 77 24 04 00 00 0E 10', { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: app42, registrationId: rid, lifetimeS: 3600 }],
  ];
  it.each(cases)('%s', (hex, message) => {
    const b = bytes(hex);
    expect(encodeM5(message)).toEqual(b);
    expect(decodeM5(b)).toEqual({ ok: true, message });
  });
});

describe('decodeM5 errors', () => {
  const err = (hex: string): M5ProtocolError => {
    const r = decodeM5(bytes(hex));
    if (r.ok) throw new Error(`expected ${hex} to fail, got ${JSON.stringify(r.message)}`);
    expect(r.error).toBeInstanceOf(M5ProtocolError);
    return r.error;
  };

  it('EMPTY for 0 octets, without a message type', () => {
    expect(err('')).toMatchObject({ reason: 'EMPTY', messageType: undefined });
  });

  it('UNKNOWN_MESSAGE_TYPE carries the type, also for the not-yet-defined 0x01/0x02', () => {
    expect(err('7e00')).toMatchObject({ reason: 'UNKNOWN_MESSAGE_TYPE', messageType: 0x7e, message: 'unknown message type 0x7e' });
    expect(err('01')).toMatchObject({ reason: 'UNKNOWN_MESSAGE_TYPE', messageType: 0x01 });
    expect(err('02')).toMatchObject({ reason: 'UNKNOWN_MESSAGE_TYPE', messageType: 0x02 });
  });

  it.each([
    ['10', 'Application ID needs 2 octets'],
    ['1000', 'Application ID needs 2 octets'],
    ['12', 'length octet missing'],
    ['1200', 'must be 1..16 octets, got 0'],
    ['1211' + 'ab'.repeat(17), 'must be 1..16 octets, got 17'],
    ['12080011', 'runs past the end'],
    ['10002a3005ab', 'length 5 runs past the end'],
    ['10002aa000', 'Application ID IE (0xa0, TV 3 octets) at offset 3 runs past the end'],
    ['10002a30', 'has no length octet'],
    ['11', 'Result octet missing'],
    ['1102a0002a', 'Result 0x02 is neither'],
    ['1100a0002a', 'SUCCESS response lacks the Registration ID'],
    ['1101a0002a', 'FAILURE response lacks the Failure reason'],
    ['1100a0002aa0002a21010a', 'duplicate Application ID'],
    ['110021010a21010b', 'duplicate Registration ID'],
    ['1101220101220102', 'duplicate Failure reason'],
    ['110021010a220101', 'SUCCESS response carries a Failure reason'],
    ['1101220101210107', 'FAILURE response carries a Registration ID'],
    ['110021000a', 'Registration ID must be 1..16 octets, got 0'],
    ['110021' + '11' + 'ab'.repeat(17), 'Registration ID must be 1..16 octets, got 17'],
    ['1101220201ff', 'Failure reason IE must have length 1, got 2'],
  ])('MALFORMED: %s (%s)', (hex, text) => {
    const e = err(hex);
    expect(e.reason).toBe('MALFORMED');
    expect(e.messageType).toBe(bytes(hex)[0]);
    expect(e.message).toContain(text);
  });

  it('STATUS needs both octets', () => {
    expect(err('1f09')).toMatchObject({ reason: 'MALFORMED', messageType: 0x1f });
  });

  it('never throws for a non-byte-array input', () => {
    expect(decodeM5(undefined as unknown as Uint8Array)).toMatchObject({ ok: false, error: { reason: 'MALFORMED' } });
    expect(decodeM5('10002a' as unknown as Uint8Array)).toMatchObject({ ok: false });
  });
});

describe('decodeM5 leniency (TS 24.007 §8.6: unforeseen IEs are ignored)', () => {
  it('decodes a Failure reason code not in the table as UNSPECIFIED', () => {
    expect(decodeM5(bytes('1301220142'))).toEqual({ ok: true, message: { kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'UNSPECIFIED' } });
    expect(decodeM5(bytes('1f00aa'))).toEqual({ ok: true, message: { kind: 'STATUS', failureReason: 'UNSPECIFIED', offendingMessageType: 0xaa } });
  });

  it('skips IEs that do not belong to the message type, and unknown ones in a response', () => {
    // an Application ID IE and a Registration ID TLV inside a REGISTRATION REQUEST are not its IEs
    expect(decodeM5(bytes('10002aa0ffff210107'))).toEqual({ ok: true, message: { kind: 'REGISTRATION_REQUEST', applicationId: 42 } });
    expect(decodeM5(bytes('120107c5'))).toEqual({ ok: true, message: { kind: 'DEREGISTRATION_REQUEST', registrationId: '07' } });
    expect(decodeM5(bytes('1100c33000a0002a7f02abcd210107'))).toEqual({
      ok: true,
      message: { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 42, registrationId: '07' },
    });
  });

  it('accepts the IEs in any order', () => {
    expect(decodeM5(bytes('1300210107a0002a'))).toEqual({
      ok: true,
      message: { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 42, registrationId: '07' },
    });
  });
});

describe('encodeM5', () => {
  it('encodes every message kind with the provisional code points', () => {
    expect(hexOf(encodeM5({ kind: 'REGISTRATION_REQUEST', applicationId: 0xffff as ApplicationId }))).toBe('10ffff');
    expect(hexOf(encodeM5({ kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION' }))).toBe('1101220107');
    expect(hexOf(encodeM5({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: 'AB' as RegistrationId }))).toBe('11002101ab');
    expect(hexOf(encodeM5({ kind: 'STATUS', failureReason: 'MESSAGE_TYPE_NOT_SUPPORTED', offendingMessageType: 0x7e }))).toBe('1f097e');
    expect(hexOf(encodeM5({ kind: 'STATUS', failureReason: 'UNSPECIFIED', offendingMessageType: 0 }))).toBe('1fff00');
  });

  const unencodable: Array<[string, M5Message]> = [
    ['Application ID 65536', { kind: 'REGISTRATION_REQUEST', applicationId: 65536 as ApplicationId }],
    ['Application ID -1', { kind: 'REGISTRATION_REQUEST', applicationId: -1 as ApplicationId }],
    ['Application ID 1.5', { kind: 'REGISTRATION_REQUEST', applicationId: 1.5 as ApplicationId }],
    ['empty Registration ID', { kind: 'DEREGISTRATION_REQUEST', registrationId: '' as RegistrationId }],
    ['odd-length Registration ID', { kind: 'DEREGISTRATION_REQUEST', registrationId: 'abc' as RegistrationId }],
    ['non-hex Registration ID', { kind: 'DEREGISTRATION_REQUEST', registrationId: 'zz' as RegistrationId }],
    ['17-octet Registration ID', { kind: 'DEREGISTRATION_REQUEST', registrationId: 'ab'.repeat(17) as RegistrationId }],
    ['response Application ID out of range', { kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION', applicationId: 70000 as ApplicationId }],
    ['unknown Failure reason', { kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'NOPE' as never }],
    ['inherited name as Failure reason', { kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'toString' as never }],
    ['STATUS type 256', { kind: 'STATUS', failureReason: 'UNSPECIFIED', offendingMessageType: 256 }],
  ];
  it.each(unencodable)('throws M5ProtocolError MALFORMED for %s', (_name, message) => {
    let thrown: unknown;
    try {
      encodeM5(message);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(M5ProtocolError);
    expect(thrown).toMatchObject({ reason: 'MALFORMED', name: 'M5ProtocolError' });
  });
});

describe('Registration lifetime IE (0x24, provisional; docs/wire-formats.md §2)', () => {
  it('is written after the Registration ID, 4 octets big-endian', () => {
    expect(hexOf(encodeM5({ kind: 'REGISTRATION_REQUEST', applicationId: app42, lifetimeS: 0x01020304 }))).toBe('10002a240401020304');
    expect(hexOf(encodeM5({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: rid, applicationId: app42, lifetimeS: 86_400 }))).toBe('1100a0002a210800112233445566772404' + '00015180');
  });

  it.each([0, -1, 1.5, 0x1_0000_0000, Number.NaN])('refuses to encode a lifetime of %s s (MALFORMED)', (lifetimeS) => {
    expect(() => encodeM5({ kind: 'REGISTRATION_REQUEST', applicationId: app42, lifetimeS })).toThrow(M5ProtocolError);
  });

  it('a FAILURE registration response carrying it is malformed', () => {
    const r = decodeM5(bytes('1101a0002a220102240400000e10'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/FAILURE response carries a Registration lifetime IE/);
  });
});
