/**
 * Generator of M5 binary units (docs/wire-formats.md §2) for the `m5` and `udp-link` targets: valid
 * seeds (the project's test vectors, plus freshly encoded random messages), mutated seeds (byte
 * mutations and IE-aware ones: IE duplication, removal, reordering, IEI and length changes),
 * random octets led by a known Message Type or not, and boundary lengths (0..4 octets, the
 * 16/17-octet Registration ID limits, 255/256 length-octet limits, the largest UDP payload and
 * beyond), often built as a valid message followed by skippable IEs filling exactly that length.
 *
 * Rejected alternative: purely random octets. Nine inputs in ten would stop at the Message Type
 * octet and never reach the optional-part walk, where the length arithmetic is.
 */
import { ADDRESS_TYPES, DELIVERY_STATUSES, FAILURE_REASONS, type ApplicationId, type DeliveryMessage, type DeviceResponse, type MessageId, type RegistrationId } from '@msgin5g/core';
import { encodeM5, type M5Message } from '@msgin5g/protocol';
import { mutate, concat, type MutationContext } from './byte-mutations';
import { fromHex } from './hex';
import type { Prng } from './prng';

/** Longest M5 input generated: past the 65,535-octet UDP limit, to test inputs no socket carries. */
export const M5_MAX_INPUT_OCTETS = 70_000;

/** Largest UDP payload over IPv4 (65,535 − 8 − 20): the most the `udp-link` target can send. */
export const UDP_MAX_PAYLOAD_OCTETS = 65_507;

/**
 * Valid units and reject-table inputs of docs/wire-formats.md §2 (copied from
 * packages/protocol/test/fixtures/m5-vectors.json, so this tool reads no other package's tests).
 */
export const M5_VECTOR_HEX: readonly string[] = [
  '10002a',
  '10ffff',
  '10002a3002abcd',
  '10002ac1',
  '1100a0002a21080011223344556677',
  '1101a0002a220102',
  '12080011223344556677',
  '120107',
  '1210abababababababababababababababab',
  '1300a0002a21080011223344556677',
  '1301a0002a220104',
  '1301220101',
  '1300a5002a21080011223344556677',
  '1f097e',
  '7e00',
  '1000',
  '10',
  '12',
  '12080011',
  '1200',
  '1211ababababababababababababababababab',
  '10002a3005ab',
  '10002aa000',
  // version 2, docs/wire-formats.md §5 (names starting 'v2' in the vectors file)
  '010575652d3737000102030405060708090a0b0c0d0e0f0003010203a0002ab1',
  '010561732d3031000000000000000000000000000000000001ff',
  '010561732d3031000000000000000000000000000000000001ffd1',
  '03000102030405060708090a0b0c0d0e0f00a0002a',
  '03000102030405060708090a0b0c0d0e0f0122010a',
  '040575652d3737000102030405060708090a0b0c0d0e0f0002abcda0002a',
  '05000102030405060708090a0b0c0d0e0fa0002a',
  '020575652d3737000102030405060708090a0b0c0d0e0f00',
  '060575652d3737000102030405060708090a0b0c0d0e0f01a0002a22010e',
  '010475652d37000000000000000000000000000000000001ff',
  '010575652d3737000000000000000000000000000000000000',
  '010575652d373700000000000000000000000000000000000901',
  '010575652d3737000000',
  '040575652d373700000000000000000000000000000000000100',
];

const VECTORS: readonly Uint8Array[] = M5_VECTOR_HEX.map(fromHex);

const KNOWN_TYPES = [0x10, 0x11, 0x12, 0x13, 0x1f, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06] as const;

/** Octets that mean something in M5: types, IEIs, results, lengths at the limits, failure codes. */
const INTERESTING = [
  0x00, 0x01, 0x02, 0x05, 0x09, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x16, 0x17, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x7e, 0x7f, 0x80, 0x81, 0x9f, 0xa0, 0xa5, 0xaf,
  0xb0, 0xc1, 0xfe, 0xff,
];

/** IE headers and whole IEs, valid and not, to insert anywhere. */
const TOKENS: readonly Uint8Array[] = [
  '21', '2100', '2101ff', '2110', '2111', '220105', '2200', '2202ffff', '22', 'a0', 'a0002a', 'a000', 'af0000', '80', 'c1', '3000', '30ff', '7f01aa', 'ff',
].map(fromHex);

const M5_BOUNDARY_LENGTHS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 17, 18, 19, 20, 21, 254, 255, 256, 257, 258, 1500, 4095, 4096, 4097, 65_506, 65_507, 65_508, 65_535, 65_536, 70_000];

/** A random message of any kind this version encodes (with boundary ids more often than chance). */
export function randomM5Message(rng: Prng): M5Message {
  const app = (): ApplicationId => (rng.chance(0.2) ? rng.pick([0, 1, 255, 256, 65_534, 65_535]) : rng.below(65_536)) as ApplicationId;
  const regId = (): RegistrationId => {
    const octets = rng.chance(0.3) ? rng.pick([1, 2, 15, 16]) : rng.between(1, 16);
    return Buffer.from(rng.bytes(octets)).toString('hex') as RegistrationId;
  };
  const responseKind = rng.chance(0.5) ? 'REGISTRATION_RESPONSE' : 'DEREGISTRATION_RESPONSE';
  switch (rng.below(7)) {
    case 5:
    case 6:
      return randomDeliveryMessage(rng, app);
    case 0:
      return { kind: 'REGISTRATION_REQUEST', applicationId: app() };
    case 1:
      return { kind: 'DEREGISTRATION_REQUEST', registrationId: regId() };
    case 2:
      return rng.chance(0.5)
        ? { kind: responseKind, result: 'SUCCESS', registrationId: regId(), applicationId: app() }
        : { kind: responseKind, result: 'SUCCESS', registrationId: regId() };
    case 3: {
      const failure: DeviceResponse = rng.chance(0.5)
        ? { kind: responseKind, result: 'FAILURE', failureReason: rng.pick(FAILURE_REASONS), applicationId: app() }
        : { kind: responseKind, result: 'FAILURE', failureReason: rng.pick(FAILURE_REASONS) };
      return failure;
    }
    default:
      return { kind: 'STATUS', failureReason: rng.pick(FAILURE_REASONS), offendingMessageType: rng.below(256) };
  }
}

/** A random message-delivery message (docs/wire-formats.md §5.2), lengths at their limits more often than chance. */
function randomDeliveryMessage(rng: Prng, app: () => ApplicationId): DeliveryMessage {
  const address = (): string => {
    const n = rng.chance(0.2) ? rng.pick([5, 6, 254, 255]) : rng.between(5, 40);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(0x21 + rng.below(0x5e));
    return s;
  };
  const messageId = (): MessageId => Buffer.from(rng.bytes(16)).toString('hex') as MessageId;
  const payload = (): Uint8Array => rng.bytes(rng.chance(0.1) ? rng.pick([1, 255, 256, 4096]) : rng.between(1, 64));
  const optionalApp = (): { applicationId?: ApplicationId } => (rng.chance(0.5) ? { applicationId: app() } : {});
  const optionalReason = () => (rng.chance(0.5) ? { failureReason: rng.pick(FAILURE_REASONS) } : {});
  switch (rng.below(6)) {
    case 0:
      return { kind: 'MESSAGE_SENDING_REQUEST', targetAddress: address(), messageId: messageId(), payload: payload(), ...optionalApp(), deliveryStatusRequired: rng.chance(0.5), targetType: rng.pick(ADDRESS_TYPES) };
    case 1:
      return { kind: 'DELIVERY_REPORT_SENDING_REQUEST', targetAddress: address(), messageId: messageId(), deliveryStatus: rng.pick(DELIVERY_STATUSES), ...optionalApp(), ...optionalReason() };
    case 2:
      return rng.chance(0.5)
        ? { kind: 'MESSAGE_SENDING_RESPONSE', messageId: messageId(), result: 'ACCEPTED', ...optionalApp(), ...(rng.chance(0.5) ? { deliveryStatus: rng.pick(['DELIVERED', 'STORED'] as const) } : {}) }
        : { kind: 'MESSAGE_SENDING_RESPONSE', messageId: messageId(), result: 'FAILURE', failureReason: rng.pick(FAILURE_REASONS), ...optionalApp() };
    case 3:
      return { kind: 'MESSAGE_RECEIVING', originatorAddress: address(), messageId: messageId(), payload: payload(), ...optionalApp(), deliveryStatusRequired: rng.chance(0.5), originatorType: rng.pick(ADDRESS_TYPES) };
    case 4:
      return { kind: 'MESSAGE_RECEIVING_ACK', messageId: messageId(), ...optionalApp() };
    default:
      return { kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: address(), messageId: messageId(), deliveryStatus: rng.pick(DELIVERY_STATUSES), ...optionalApp(), ...optionalReason() };
  }
}

/**
 * Offset where the optional part of a unit starts, by its Message Type and mandatory part, or -1
 * when the type has no optional part here or the mandatory part does not fit.
 */
export function optionalPartStart(unit: Uint8Array): number {
  const type = unit[0];
  let start: number;
  switch (type) {
    case 0x10:
    case 0x1f:
      start = 3;
      break;
    case 0x11:
    case 0x13:
      start = 2;
      break;
    case 0x12:
      start = 2 + (unit[1] ?? 0);
      break;
    // docs/wire-formats.md §5.2: address LV, Message ID 16, then Payload LV-E or Delivery status 1
    case 0x01:
    case 0x04: {
      const afterId = 2 + (unit[1] ?? 0) + 16;
      start = afterId + 2 + (((unit[afterId] ?? 0) << 8) | (unit[afterId + 1] ?? 0));
      break;
    }
    case 0x02:
    case 0x06:
      start = 2 + (unit[1] ?? 0) + 16 + 1;
      break;
    case 0x03:
      start = 18;
      break;
    case 0x05:
      start = 17;
      break;
    default:
      return -1;
  }
  return start <= unit.length ? start : -1;
}

/** `[start, end)` of each whole IE of the optional part (TS 24.007 §11.2: TV 0xA_, type-1 bit 8, else TLV). */
export function ieBounds(unit: Uint8Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let i = optionalPartStart(unit);
  if (i < 0) return out;
  while (i < unit.length) {
    const iei = unit[i] as number;
    const end = (iei & 0xf0) === 0xa0 ? i + 3 : (iei & 0x80) !== 0 ? i + 1 : i + 2 + (unit[i + 1] ?? 0);
    if (i + 1 >= unit.length && (iei & 0x80) === 0) break;
    if (end > unit.length) break;
    out.push([i, end]);
    i = end;
  }
  return out;
}

/** An IE that any message skips or reads: type-1, unknown TLV, or (where skipped) Application ID. */
function skippableIe(rng: Prng, unit: Uint8Array, room: number): Uint8Array {
  const request = unit[0] === 0x10 || unit[0] === 0x12 || unit[0] === 0x1f;
  if (room < 2 || rng.chance(0.3)) return Uint8Array.of(rng.pick([0x80, 0x8f, 0x90, 0x9f, 0xb0, 0xc1, 0xd2, 0xff]));
  if (request && room >= 3 && rng.chance(0.2)) return Uint8Array.of(0xa0 | rng.below(16), rng.below(256), rng.below(256));
  const len = Math.min(room - 2, rng.chance(0.5) ? rng.below(8) : rng.below(256));
  let iei = rng.below(0x80);
  if (!request && (iei === 0x21 || iei === 0x22)) iei = 0x30;
  const ie = new Uint8Array(2 + len);
  ie[0] = iei;
  ie[1] = len;
  rng.fill(ie, 2);
  return ie;
}

/** `prefix` followed by skippable IEs up to exactly `length` octets (a valid unit stays valid). */
function fillToLength(rng: Prng, prefix: Uint8Array, length: number): Uint8Array {
  if (length <= prefix.length) return prefix.slice(0, length);
  const out = new Uint8Array(length);
  out.set(prefix);
  let i = prefix.length;
  const bigTlvs = rng.chance(0.5);
  while (i < length) {
    const room = length - i;
    if (room === 1 || (!bigTlvs && rng.chance(0.3))) {
      out[i] = 0x80 | rng.below(0x20);
      i += 1;
      continue;
    }
    const len = Math.min(room - 2, bigTlvs ? 255 : rng.below(40));
    const iei = 0x30 + rng.below(0x40);
    out[i] = iei;
    out[i + 1] = len;
    if (rng.chance(0.2)) rng.fill(out, i + 2, i + 2 + len);
    i += 2 + len;
  }
  return out;
}

/** One of the IE-aware mutations, or a byte mutation when the unit has no optional part. */
function mutateIes(rng: Prng, unit: Uint8Array, maxOctets: number): Uint8Array {
  const ies = ieBounds(unit);
  const start = optionalPartStart(unit);
  if (start < 0) return mutate(rng, unit, { interesting: INTERESTING, tokens: TOKENS, maxOctets });
  const at = ies.length > 0 && rng.chance(0.7) ? rng.pick(ies) : undefined;
  switch (rng.below(6)) {
    case 0: {
      // duplicate an IE (right after itself, or at the end)
      if (at === undefined) return concat(unit, rng.pick(TOKENS), maxOctets);
      const ie = unit.subarray(at[0], at[1]);
      return rng.chance(0.5) ? concat(concat(unit.subarray(0, at[1]), ie), unit.subarray(at[1]), maxOctets) : concat(unit, ie, maxOctets);
    }
    case 1:
      // remove an IE
      return at === undefined ? unit.slice(0, start) : concat(unit.subarray(0, at[0]), unit.subarray(at[1]));
    case 2: {
      // swap two IEs
      if (ies.length < 2) return concat(unit, skippableIe(rng, unit, 64), maxOctets);
      const i = rng.below(ies.length - 1);
      const [a0, a1] = ies[i] as [number, number];
      const [, b1] = ies[i + 1] as [number, number];
      return concat(concat(concat(unit.subarray(0, a0), unit.subarray(a1, b1)), unit.subarray(a0, a1)), unit.subarray(b1), maxOctets);
    }
    case 3: {
      // change an IEI
      if (at === undefined) return concat(unit, rng.pick(TOKENS), maxOctets);
      const out = unit.slice();
      out[at[0]] = rng.pick([0x21, 0x22, 0xa0, 0xa7, 0xaf, 0x80, 0xb0, 0x30, 0x7f, 0x00]);
      return out;
    }
    case 4: {
      // change a TLV length (or the DE-REGISTRATION REQUEST's id length) to a boundary
      const out = unit.slice();
      const tlvs = ies.filter(([s, e]) => e - s >= 2 && ((unit[s] as number) & 0x80) === 0);
      const pos = tlvs.length > 0 && rng.chance(0.8) ? (rng.pick(tlvs)[0] + 1) : unit[0] === 0x12 && unit.length > 1 ? 1 : -1;
      if (pos < 0 || pos >= out.length) return concat(unit, rng.pick(TOKENS), maxOctets);
      const rest = out.length - pos - 1;
      out[pos] = rng.pick([0, 1, 2, 15, 16, 17, 255, rest - 1, rest, rest + 1].map((v) => v & 0xff));
      return out;
    }
    default: {
      // insert a crafted IE at an IE boundary
      const bounds = [start, ...ies.map(([, e]) => e)];
      const where = rng.pick(bounds);
      return concat(concat(unit.subarray(0, where), rng.pick(TOKENS)), unit.subarray(where), maxOctets);
    }
  }
}

const STRATEGY_WEIGHTS = [
  20, // 0 mutated vector or encoded message (byte mutations)
  15, // 1 IE-aware mutation
  10, // 2 valid: encoded message, maybe with skippable IEs
  18, // 3 short random octets, often led by a known type
  7, // 4 medium random octets (up to 600)
  14, // 5 boundary length
  4, // 6 long random (4 KiB .. max)
  5, // 7 splice of two seeds
  7, // 8 structured: known type + random IE sequence
];

/** A seed message: a copied vector or a freshly encoded random message. */
function seed(rng: Prng): Uint8Array {
  return rng.chance(0.35) ? rng.pick(VECTORS) : encodeM5(randomM5Message(rng));
}

/**
 * One M5 unit of at most `maxOctets` octets (default {@link M5_MAX_INPUT_OCTETS}); the same `rng`
 * state always gives the same unit.
 */
export function generateM5Input(rng: Prng, maxOctets = M5_MAX_INPUT_OCTETS): Uint8Array {
  const ctx: MutationContext = { interesting: INTERESTING, tokens: TOKENS, maxOctets };
  switch (rng.weighted(STRATEGY_WEIGHTS)) {
    case 0:
      return mutate(rng, seed(rng), ctx);
    case 1: {
      let unit = seed(rng);
      const rounds = rng.between(1, 3);
      for (let k = 0; k < rounds; k++) unit = mutateIes(rng, unit, maxOctets);
      return unit;
    }
    case 2: {
      let unit = encodeM5(randomM5Message(rng));
      const extra = rng.chance(0.5) ? rng.between(1, 4) : 0;
      for (let k = 0; k < extra; k++) unit = concat(unit, skippableIe(rng, unit, 64), maxOctets);
      return unit;
    }
    case 3: {
      const n = rng.below(25);
      const out = rng.bytes(n);
      if (n > 0 && rng.chance(0.6)) out[0] = rng.pick(KNOWN_TYPES);
      return out;
    }
    case 4: {
      const out = rng.bytes(rng.below(601));
      if (out.length > 0 && rng.chance(0.5)) out[0] = rng.pick(KNOWN_TYPES);
      return out;
    }
    case 5: {
      const length = Math.min(maxOctets, rng.pick(M5_BOUNDARY_LENGTHS));
      switch (rng.below(4)) {
        case 0:
          return rng.bytes(length);
        case 1: {
          const out = rng.bytes(length);
          if (length > 0) out[0] = rng.pick(KNOWN_TYPES);
          return out;
        }
        case 2:
          return fillToLength(rng, seed(rng), length);
        default: {
          // valid message filled to the boundary, then its last IE cut or overrun by one octet
          const filled = fillToLength(rng, encodeM5(randomM5Message(rng)), length);
          return rng.chance(0.5) ? filled.subarray(0, Math.max(0, filled.length - 1)) : concat(filled, Uint8Array.of(0x30), maxOctets);
        }
      }
    }
    case 6: {
      const out = rng.bytes(rng.between(Math.min(4096, maxOctets), maxOctets));
      if (out.length > 0 && rng.chance(0.7)) out[0] = rng.pick(KNOWN_TYPES);
      return out;
    }
    case 7: {
      const a = seed(rng);
      const b = seed(rng);
      return concat(a.subarray(0, rng.below(a.length + 1)), b.subarray(rng.below(b.length + 1)), maxOctets);
    }
    default: {
      const type = rng.pick(KNOWN_TYPES);
      const head = type === 0x12 ? Uint8Array.of(type, rng.pick([0, 1, 8, 16, 17, rng.below(256)])) : Uint8Array.of(type, rng.below(256), rng.below(256)).subarray(0, type === 0x11 || type === 0x13 ? 2 : 3);
      let unit: Uint8Array = head;
      if (type === 0x12) unit = concat(unit, rng.bytes(Math.min(rng.below(20), 255)));
      const count = rng.between(0, 6);
      for (let k = 0; k < count; k++) unit = concat(unit, rng.chance(0.5) ? rng.pick(TOKENS) : skippableIe(rng, unit, 32), maxOctets);
      return unit;
    }
  }
}
