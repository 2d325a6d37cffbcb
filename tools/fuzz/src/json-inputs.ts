/**
 * Generator of JSON bodies for the `json` target: the CoAP device link's request and response
 * bodies (docs/wire-formats.md §3.3), the MSGin5G-1 request and answer bodies (§4, the gateway's
 * REG with `notifyUri` included), and the message bodies of §5.3–§5.4 (`MSG` and `IMDN` from a
 * device, to a device and on MSGin5G-1, `MSGRESP`, the IMDN answer), each with a CoAP answer code
 * and an operation for `interpretServerAnswer`.
 *
 * Strategies: structured objects of one of the schemas with members perturbed (dropped,
 * duplicated in the text, renamed, given hostile values of every JSON type, unknown members such
 * as `__proto__`), serialised with random whitespace and `\u` escapes; byte mutations of those and
 * of encoder output (JSON punctuation, bad UTF-8, BOM, NUL inserted); token soup; non-object JSON;
 * deep nesting; and boundary lengths around the 4,096-octet body limit and far past it.
 *
 * Rejected alternative: fast-check's `json()` arbitrary. It only yields valid JSON of random
 * shape, which the decoders reject at the first member check; the schema-aware generator reaches
 * every member rule and the accept paths (a third of the bodies are accepted by some decoder).
 */
import { ADDRESS_TYPES, FAILURE_REASONS, type ApplicationId, type DeliveryStatus, type MessageId, type RegistrationId, type UeServiceId } from '@msgin5g/core';
import {
  encodeCoapDeviceDelivery,
  encodeCoapDeviceRequest,
  encodeCoapDeviceResponse,
  encodeCoapGatewayDelivery,
  encodeCoapMessageResponse,
  encodeMsgin5g1Answer,
  encodeMsgin5g1MessageAnswer,
  encodeMsgin5g1MessageRequest,
  encodeMsgin5g1Request,
  MAX_JSON_BODY_OCTETS,
  MSGRESP_STATUSES,
  ORIGINATOR_TYPES,
  type ServerOperation,
} from '@msgin5g/protocol';
import { concat, mutate, type MutationContext } from './byte-mutations';
import type { Prng } from './prng';

/** One input of the json target. */
export interface JsonInput {
  readonly body: Uint8Array;
  /** CoAP response code text for `interpretServerAnswer` (`2.04`, `4.04`, `RST`, garbage). */
  readonly code: string;
  readonly operation: ServerOperation;
}

/** Longest body generated (past the 4,096-octet limit and the largest UDP payload). */
export const JSON_MAX_INPUT_OCTETS = 70_000;

const utf8 = new TextEncoder();
const bytes = (s: string) => utf8.encode(s);

const INTERESTING = [0x00, 0x09, 0x0a, 0x20, 0x22, 0x2c, 0x2d, 0x2e, 0x30, 0x31, 0x3a, 0x5b, 0x5c, 0x5d, 0x65, 0x7b, 0x7d, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xed, 0xef, 0xf4, 0xf5, 0xff];

const TOKENS: readonly Uint8Array[] = [
  ...['{', '}', '[', ']', '"', ':', ',', '\\', '\\u', '\\u0000', '\\ud800', '\\udfff', '"\\ud83d\\ude00"', 'null', 'true', 'false', '-0', '1e999', '0.0000001', '"__proto__"', '"constructor"', ' ', '\n', '\t', '{"a":1}', '[[[]]]'].map(bytes),
  Uint8Array.of(0xc0, 0x80), // overlong NUL
  Uint8Array.of(0xed, 0xa0, 0x80), // UTF-8-encoded surrogate
  Uint8Array.of(0xf4, 0x90, 0x80, 0x80), // above U+10FFFF
  Uint8Array.of(0xef, 0xbb, 0xbf), // BOM
  Uint8Array.of(0xff),
  Uint8Array.of(0xe2, 0x82), // truncated sequence
  Uint8Array.of(0x00),
];

const CODES_2XX = ['2.04', '2.05', '2.01', '2.03', '2.31', '2.00'];
const CODES_OTHER = ['4.00', '4.04', '4.13', '4.29', '5.00', '5.03', '5.31', '0.00', '0.01', '0.31', '1.00', '3.00', '6.00', '7.31', '2.32', '4.32', '8.00', '9.99', '2.4', '2..4', '2.044', '', ' 2.04', '2,04', 'RST', 'TIMEOUT', 'NETWORK_ERROR', 'rst', '\u0662.04', '2.0\u0000'];

/** A string of random characters drawn from ASCII, controls, and a few multi-byte and astral ones. */
function randomText(rng: Prng, maxLength: number): string {
  const n = rng.below(maxLength + 1);
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = rng.below(20);
    s += r < 14 ? String.fromCharCode(0x20 + rng.below(95)) : r < 16 ? String.fromCharCode(rng.below(0x20)) : r < 18 ? String.fromCharCode(0x80 + rng.below(0x780)) : r < 19 ? '😀' : String.fromCharCode(0xd800 + rng.below(0x800));
  }
  return s;
}

function hexString(rng: Prng, octets: number): string {
  return Buffer.from(rng.bytes(octets)).toString('hex');
}

/** JSON text of a hostile value of any type (the member name decides nothing here). */
function hostileValue(rng: Prng): string {
  switch (rng.below(14)) {
    case 0:
      return rng.pick(['null', 'true', 'false', '0', '-1', '42', '65535', '65536', '1e400', '-0', '4.2', '1E2', '[]', '{}', '[1,2]', '{"a":{"b":null}}', '""']);
    case 1:
      return JSON.stringify(rng.pick(['', ' ', '0', '42', '042', '+42', '-1', '65535', '65536', '99999999999999999999', '4.2', '1e2', '0x2a', ' 42', '42 ', '\u0664\u0662', '4\u00002']));
    case 2:
      return JSON.stringify(rng.pick(['REG', 'DEREG', 'reg', 'REG ', 'DEREGISTER', 'REG\u0000', 'SUCCESS', 'FAILURE', 'success', 'NOT_REGISTERED', 'MSG', 'IMDN', 'MSGRESP', 'msg', 'REPT_DELY_SUCCESS', 'DELY_STORED', ...FAILURE_REASONS]));
    case 3:
      return JSON.stringify(hexString(rng, rng.pick([0, 1, 2, 15, 16, 17, 20])));
    case 4:
      return JSON.stringify(hexString(rng, rng.between(1, 16)).toUpperCase() + (rng.chance(0.5) ? 'z' : '0'));
    case 5:
      return JSON.stringify('x'.repeat(rng.pick([255, 256, 257, 1000])));
    case 6:
      return JSON.stringify(randomText(rng, 40));
    case 7:
      return `"${'\\ud800'.repeat(rng.between(1, 3))}"`;
    case 8:
      return `[${JSON.stringify(rng.pick(['REG', '42', '00']))}]`;
    case 9:
      return `{"toString":1,"valueOf":2}`;
    case 10:
      return String(rng.below(70_000));
    case 11:
      return `${'['.repeat(rng.between(1, 300))}${']'.repeat(rng.between(0, 300))}`;
    case 12:
      return JSON.stringify(randomText(rng, 300));
    default:
      return `"${'\\u0000\\u001f\\"\\\\'.repeat(rng.between(1, 10))}"`;
  }
}

/** A Service address (§5.1: 5..255 octets of UTF-8), often at or just past a bound. */
function serviceAddress(rng: Prng): string {
  switch (rng.below(8)) {
    case 0:
      return 'a'.repeat(rng.pick([4, 5, 255, 256]));
    case 1:
      return 'é'.repeat(rng.pick([2, 3, 127, 128])); // 2 octets each: 4, 6, 254, 256 octets
    case 2:
      return randomText(rng, 40);
    default:
      return rng.chance(0.5) ? `gw-${rng.below(10)}/127.0.0.1:${rng.below(65_536)}/${rng.below(65_536)}` : `as-${rng.below(1000)}`;
  }
}

/** base64 of random octets, mostly canonical; sometimes empty, unpadded, with a stray bit, or not base64. */
function payloadValue(rng: Prng): string {
  const b64 = Buffer.from(rng.bytes(rng.chance(0.05) ? rng.pick([0, 65_535, 65_536]) : rng.between(1, 64))).toString('base64');
  switch (rng.below(12)) {
    case 0:
      return b64.replace(/=+$/, '');
    case 1:
      return b64.length >= 2 && b64.endsWith('=') ? `${b64.slice(0, -2)}${rng.pick(['B', 'C', 'D'])}=`.slice(0, b64.length) : `${b64}=`;
    case 2:
      return b64.replace(/[A-Za-z]/, rng.pick(['-', '_', ' ', '*']));
    default:
      return b64;
  }
}

/** A `notifyUri`: a valid coap:// URI, or one each rule of `checkNotifyUri` refuses. */
function notifyUriValue(rng: Prng): string {
  return rng.pick([
    `coap://127.0.0.1:${rng.below(65_536)}/msgin5g`,
    'coap://[::1]:5700/msgin5g',
    'coap://gw.example/m',
    'coap://127.0.0.1:5700',
    'coap://127.0.0.1:5700/',
    'coaps://127.0.0.1:5700/msgin5g',
    'http://127.0.0.1/msgin5g',
    'coap://user@127.0.0.1/msgin5g',
    'coap://127.0.0.1/msgin5g#frag',
    'coap://127.0.0.1:70000/msgin5g',
    'coap:///msgin5g',
    'coap://127.0.0.1/ msgin5g',
    `coap://h/${'p'.repeat(rng.pick([1009, 1010, 1011]))}`,
    '',
    randomText(rng, 30),
  ]);
}

/** A valid member value for a name, or a hostile one. */
function memberValue(rng: Prng, name: string, messageType: string): string {
  if (rng.chance(0.15)) return hostileValue(rng);
  switch (name) {
    case 'messageType':
      return JSON.stringify(rng.chance(0.95) ? messageType : rng.pick(['REG', 'DEREG', 'MSG', 'IMDN', 'MSGRESP']));
    case 'appId':
      if (rng.chance(0.1)) return String(rng.below(65_536)); // a JSON number: the CoAP device link takes it, the rest refuse it
      return JSON.stringify(String(rng.chance(0.2) ? rng.pick([0, 65_535]) : rng.below(65_536)));
    case 'registrationId':
      return JSON.stringify(hexString(rng, rng.between(1, 16)));
    case 'result':
      return JSON.stringify(rng.chance(0.5) ? 'SUCCESS' : 'FAILURE');
    case 'failureReason':
      return JSON.stringify(rng.chance(0.9) ? rng.pick(FAILURE_REASONS) : randomText(rng, 20));
    case 'failureCause':
      return JSON.stringify(rng.chance(0.5) ? rng.pick(['NOT_REGISTERED', 'GATEWAY_NOT_REGISTERED']) : randomText(rng, 60));
    case 'ueServiceId':
    case 'gatewayUeServiceId':
      return JSON.stringify(rng.chance(0.1) ? 'u'.repeat(rng.pick([1, 255, 256, 257])) : `device-${rng.below(1_000_000)}@gw-${rng.below(10)}`);
    case 'oriAddr':
    case 'destAddr':
      return JSON.stringify(serviceAddress(rng));
    case 'targetType':
    case 'oriType':
      return JSON.stringify(rng.chance(0.9) ? rng.pick([...ADDRESS_TYPES]) : rng.pick(['ue', 'HOST', '']));
    case 'msgId':
      return JSON.stringify(rng.chance(0.85) ? hexString(rng, 16)[rng.chance(0.1) ? 'toUpperCase' : 'toLowerCase']() : hexString(rng, rng.pick([0, 15, 17])));
    case 'delivStReqInd':
      return rng.chance(0.9) ? String(rng.chance(0.5)) : rng.pick(['"true"', '1', '0', 'null']);
    case 'payload':
      return JSON.stringify(payloadValue(rng));
    case 'delivSt':
      return JSON.stringify(rng.pick(['REPT_DELY_SUCCESS', 'REPT_DELY_FAILED', 'REPT_DELY_STORED', 'DELIVERED', 'rept_dely_success']));
    case 'status':
      return JSON.stringify(rng.chance(0.9) ? rng.pick(MSGRESP_STATUSES) : rng.pick(['STORED', 'DELY_DELIVERED', 'delivered']));
    case 'notifyUri':
      return JSON.stringify(notifyUriValue(rng));
    default:
      return hostileValue(rng);
  }
}

/** Some of `names`, each kept with probability `p`, in order. */
const some = (rng: Prng, p: number, names: readonly string[]) => names.filter(() => rng.chance(p));

/** Each schema: the `messageType` it is for (`undefined`: the input's operation, REG or DEREG) and its member names. */
const SCHEMAS: ReadonlyArray<(rng: Prng) => readonly [string | undefined, readonly string[]]> = [
  // CoAP device request
  (rng) => [undefined, rng.chance(0.5) ? ['messageType', 'appId'] : ['messageType', 'registrationId']],
  // CoAP device response
  (rng) => [undefined, ['messageType', 'result', ...(rng.chance(0.6) ? ['appId'] : []), rng.chance(0.5) ? 'registrationId' : 'failureReason']],
  // MSGin5G-1 request (the gateway's own REG with notifyUri, or a device's on its behalf)
  (rng) => [undefined, rng.chance(0.4) ? ['messageType', 'ueServiceId', 'notifyUri'] : ['messageType', 'ueServiceId', ...(rng.chance(0.7) ? ['gatewayUeServiceId', 'appId'] : [])]],
  // MSGin5G-1 answer
  (rng) => [undefined, ['messageType', 'result', ...(rng.chance(0.5) ? ['failureCause'] : [])]],
  // CoAP device → gateway MSG / IMDN (§5.3)
  (rng) => ['MSG', ['messageType', 'destAddr', ...some(rng, 0.6, ['targetType']), 'msgId', ...some(rng, 0.6, ['appId', 'delivStReqInd']), 'payload']],
  (rng) => ['IMDN', ['messageType', 'destAddr', 'msgId', 'delivSt', ...some(rng, 0.4, ['appId', 'failureCause'])]],
  // gateway → CoAP device MSG / IMDN (§5.3)
  (rng) => ['MSG', ['messageType', 'oriAddr', ...some(rng, 0.6, ['targetType']), 'msgId', ...some(rng, 0.6, ['appId', 'delivStReqInd']), 'payload']],
  (rng) => ['IMDN', ['messageType', 'oriAddr', 'msgId', 'delivSt', ...some(rng, 0.4, ['appId', 'failureCause'])]],
  // MSGin5G-1 MSG / IMDN (§5.4), up- or downlink
  (rng) => ['MSG', ['messageType', 'oriAddr', ...some(rng, 0.4, ['oriType']), 'destAddr', ...some(rng, 0.7, ['targetType']), 'msgId', ...some(rng, 0.5, ['appId']), 'delivStReqInd', 'payload', ...some(rng, 0.4, ['gatewayUeServiceId'])]],
  (rng) => ['IMDN', ['messageType', 'oriAddr', 'destAddr', 'msgId', 'delivSt', ...some(rng, 0.4, ['failureCause', 'gatewayUeServiceId'])]],
  // MSGRESP (§5.3, §5.4) and the IMDN answer (§5.4)
  (rng) => ['MSGRESP', ['messageType', 'msgId', 'status', ...some(rng, 0.4, ['failureCause', 'appId'])]],
  (rng) => ['IMDN', ['messageType', 'result', ...some(rng, 0.5, ['failureCause'])]],
];

const UNKNOWN_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', ' ', 'x', 'MessageType', 'messagetype', 'appid', 'result ', '\u0000', 'oriAddr', 'oritype', 'msgid', 'notifyUri', 'lifetime'];

function whitespace(rng: Prng): string {
  return rng.chance(0.8) ? '' : rng.pick([' ', '  ', '\n', '\t', '\r\n', ' \n\t ']);
}

/** JSON text of a name with some ASCII letters written as `\u00XX` (the same name once parsed). */
function escapedName(rng: Prng, name: string): string {
  if (!rng.chance(0.1)) return JSON.stringify(name);
  let s = '"';
  for (const ch of name) s += rng.chance(0.3) && ch.charCodeAt(0) < 0x80 && /[A-Za-z]/.test(ch) ? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}` : JSON.stringify(ch).slice(1, -1);
  return `${s}"`;
}

/** A structured body: one schema's members, perturbed, serialised by hand. */
function structuredBody(rng: Prng, operation: ServerOperation): string {
  const [type, names] = rng.pick(SCHEMAS)(rng);
  const messageType = type ?? operation;
  const members: Array<[string, string]> = [];
  for (const name of names) {
    if (rng.chance(0.06)) continue; // dropped
    members.push([name, memberValue(rng, name, messageType)]);
    if (rng.chance(0.05)) members.push([name, memberValue(rng, name, messageType)]); // duplicate key in the text
  }
  if (rng.chance(0.15)) members.push([rng.pick(UNKNOWN_NAMES), hostileValue(rng)]);
  if (rng.chance(0.1)) members.reverse();
  const parts = members.map(([n, v]) => `${whitespace(rng)}${escapedName(rng, n)}${whitespace(rng)}:${whitespace(rng)}${v}${whitespace(rng)}`);
  return `${whitespace(rng)}{${parts.join(',')}${rng.chance(0.02) ? ',' : ''}}${whitespace(rng)}`;
}

/** Encoder output for random valid values: every body of §3.3, §4 and §5.3–§5.4. */
function encodedBody(rng: Prng, operation: ServerOperation): Uint8Array {
  const app = rng.below(65_536) as ApplicationId;
  const regId = hexString(rng, rng.between(1, 16)) as RegistrationId;
  const kind = operation === 'REG' ? 'REGISTRATION_RESPONSE' : 'DEREGISTRATION_RESPONSE';
  if (rng.chance(0.6)) return encodedMessageBody(rng, rng.between(1, 64));
  switch (rng.below(5)) {
    case 4:
      return encodeMsgin5g1Request({ messageType: 'REG', ueServiceId: `gw-${rng.below(10)}` as UeServiceId, notifyUri: `coap://127.0.0.1:${rng.between(1, 65_535)}/msgin5g` });
    case 0:
      return encodeCoapDeviceRequest(operation === 'REG' ? { kind: 'REGISTRATION_REQUEST', applicationId: app } : { kind: 'DEREGISTRATION_REQUEST', registrationId: regId });
    case 1:
      return encodeCoapDeviceResponse(rng.chance(0.5) ? { kind, result: 'SUCCESS', registrationId: regId, applicationId: app } : { kind, result: 'FAILURE', failureReason: rng.pick(FAILURE_REASONS) });
    case 2:
      return encodeMsgin5g1Request({ messageType: operation, ueServiceId: `dev-${rng.below(1000)}` as UeServiceId, gatewayUeServiceId: 'gw-1' as UeServiceId, applicationId: app });
    default:
      return encodeMsgin5g1Answer(rng.chance(0.6) ? { messageType: operation, result: 'SUCCESS' } : { messageType: operation, result: 'FAILURE', failureCause: rng.chance(0.5) ? rng.pick(['NOT_REGISTERED', 'GATEWAY_NOT_REGISTERED']) : randomText(rng, 30) });
  }
}

/** A valid §5.3 / §5.4 message body, its payload `payloadOctets` octets (1..65535). */
function encodedMessageBody(rng: Prng, payloadOctets: number, which = rng.below(8)): Uint8Array {
  const messageId = hexString(rng, 16) as MessageId;
  const payload = rng.bytes(payloadOctets);
  const address = () => (rng.chance(0.5) ? `gw-1/127.0.0.1:${rng.below(65_536)}/${rng.below(65_536)}` : `as-${rng.below(1000)}`);
  const optionalApp = () => (rng.chance(0.6) ? { applicationId: rng.below(65_536) as ApplicationId } : {});
  const reportStatus = (): DeliveryStatus => (rng.chance(0.5) ? 'DELIVERED' : 'FAILED');
  const optionalReason = () => (rng.chance(0.4) ? { failureReason: rng.pick(FAILURE_REASONS) } : {});
  switch (which) {
    case 0:
      return encodeCoapDeviceDelivery({ kind: 'MESSAGE_SENDING_REQUEST', targetAddress: address(), messageId, payload, ...optionalApp(), deliveryStatusRequired: rng.chance(0.5), targetType: rng.pick(ADDRESS_TYPES) });
    case 1:
      return encodeCoapDeviceDelivery({ kind: 'DELIVERY_REPORT_SENDING_REQUEST', targetAddress: address(), messageId, deliveryStatus: reportStatus(), ...optionalApp(), ...optionalReason() });
    case 2:
      return encodeCoapGatewayDelivery({ kind: 'MESSAGE_RECEIVING', originatorAddress: address(), messageId, payload, ...optionalApp(), deliveryStatusRequired: rng.chance(0.5), originatorType: rng.pick(ADDRESS_TYPES) });
    case 3:
      return encodeCoapGatewayDelivery({ kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: address(), messageId, deliveryStatus: reportStatus(), ...optionalApp(), ...optionalReason() });
    case 4:
      return encodeCoapMessageResponse(
        rng.chance(0.6)
          ? { kind: 'MESSAGE_SENDING_RESPONSE', messageId, result: 'ACCEPTED', ...optionalApp(), deliveryStatus: rng.chance(0.5) ? 'DELIVERED' : 'STORED' }
          : { kind: 'MESSAGE_SENDING_RESPONSE', messageId, result: 'FAILURE', failureReason: rng.pick(FAILURE_REASONS), ...optionalApp() },
      );
    case 5: {
      const gateway = rng.chance(0.5) ? { gatewayUeServiceId: 'gw-1' as UeServiceId } : {};
      if (rng.chance(0.5)) {
        return encodeMsgin5g1MessageRequest({ messageType: 'IMDN', originatorAddress: address(), targetAddress: address(), messageId, deliveryStatus: rng.pick(['DELIVERED', 'FAILED', 'STORED'] as const), ...optionalReason(), ...gateway });
      }
      const oriType = rng.chance(0.5) ? { originatorType: rng.pick(ORIGINATOR_TYPES) } : {};
      return encodeMsgin5g1MessageRequest({ messageType: 'MSG', originatorAddress: address(), ...oriType, targetAddress: address(), targetType: rng.pick(ADDRESS_TYPES), messageId, ...optionalApp(), deliveryStatusRequired: rng.chance(0.5), payload, ...gateway });
    }
    case 6: {
      const status = rng.pick(MSGRESP_STATUSES);
      // The causes interpretMessageAnswer tells apart, and others.
      const cause = status === 'DELY_FAILED' || rng.chance(0.1) ? { failureCause: rng.pick(['RECIPIENT_UNKNOWN', 'PAYLOAD_TOO_LARGE', 'GATEWAY_NOT_REGISTERED', 'CONGESTION', randomText(rng, 20)]) } : {};
      return encodeMsgin5g1MessageAnswer({ messageType: 'MSGRESP', messageId, status, ...cause });
    }
    default:
      return encodeMsgin5g1MessageAnswer(
        rng.chance(0.5) ? { messageType: 'IMDN', result: 'SUCCESS' } : { messageType: 'IMDN', result: 'FAILURE', failureCause: rng.pick(['GATEWAY_NOT_REGISTERED', 'RECIPIENT_UNKNOWN', randomText(rng, 20)]) },
      );
  }
}

/**
 * A valid `MSG` body (device, gateway or MSGin5G-1 form) whose payload fills it to just under
 * `length` octets, padded with JSON whitespace to exactly that: valid JSON on both sides of the
 * 4,096-octet limit. The other members are drawn afresh after measuring, so the payload leaves a
 * margin of 64 octets for them; a body that still overruns is cut (then it is not JSON).
 */
function messageBodyOfLength(rng: Prng, length: number): Uint8Array {
  const which = rng.pick([0, 2, 5]);
  const overhead = encodedMessageBody(rng, 3, which).length - 4; // 3 octets are 4 base64 characters
  const payloadOctets = Math.max(1, Math.min(65_535, Math.floor((length - overhead - 64) / 4) * 3));
  return padTo(rng, encodedMessageBody(rng, payloadOctets, which), length);
}

/** `body` padded with JSON whitespace (before or after) to exactly `length` octets, or cut to it. */
function padTo(rng: Prng, body: Uint8Array, length: number): Uint8Array {
  if (body.length >= length) return body.slice(0, length);
  const pad = new Uint8Array(length - body.length).fill(rng.pick([0x20, 0x0a, 0x09]));
  return rng.chance(0.5) ? concat(body, pad) : concat(pad, body);
}

/** A body grown to exactly `length` octets by a long string member (unknown, or `failureCause`). */
function inflateTo(rng: Prng, operation: ServerOperation, length: number): Uint8Array {
  const name = rng.chance(0.5) ? 'failureCause' : 'padding';
  const head = `{"messageType":"${operation}","result":"${rng.chance(0.5) ? 'SUCCESS' : 'FAILURE'}","${name}":"`;
  const fill = Math.max(0, length - head.length - 2);
  return bytes(`${head}${'p'.repeat(fill)}"}`);
}

const STRATEGY_WEIGHTS = [
  30, // 0 structured
  22, // 1 byte-mutated structured or encoded body
  8, // 2 encoder output as is
  8, // 3 random octets, short
  5, // 4 token soup
  5, // 5 non-object JSON
  12, // 6 boundary lengths around the limit
  3, // 7 far past the limit
  3, // 8 deep nesting
  4, // 9 bad UTF-8 inside an otherwise valid body
];

/** One json-target input of at most `maxOctets` octets; the same `rng` state always gives the same input. */
export function generateJsonInput(rng: Prng, maxOctets = JSON_MAX_INPUT_OCTETS): JsonInput {
  const operation: ServerOperation = rng.chance(0.5) ? 'REG' : 'DEREG';
  const code = rng.chance(0.7) ? rng.pick(CODES_2XX) : rng.chance(0.8) ? rng.pick(CODES_OTHER) : randomText(rng, 6);
  const ctx: MutationContext = { interesting: INTERESTING, tokens: TOKENS, maxOctets };
  let body: Uint8Array;
  switch (rng.weighted(STRATEGY_WEIGHTS)) {
    case 0:
      body = bytes(structuredBody(rng, operation));
      break;
    case 1:
      body = mutate(rng, rng.chance(0.5) ? bytes(structuredBody(rng, operation)) : encodedBody(rng, operation), ctx);
      break;
    case 2:
      body = encodedBody(rng, operation);
      break;
    case 3:
      body = rng.bytes(rng.below(65));
      break;
    case 4: {
      const n = rng.between(1, 30);
      let out: Uint8Array = new Uint8Array(0);
      for (let k = 0; k < n; k++) out = concat(out, rng.pick(TOKENS), maxOctets);
      body = out;
      break;
    }
    case 5:
      body = bytes(rng.pick(['null', 'true', '0', '"REG"', '[]', '[{"messageType":"REG","appId":"1"}]', '""', '1e999', '-', '{', '}', ' ', '\u0000']));
      break;
    case 6: {
      const length = MAX_JSON_BODY_OCTETS + rng.between(-2, 2);
      const how = rng.below(3);
      body = how === 0 ? padTo(rng, rng.chance(0.5) ? encodedBody(rng, operation) : bytes(structuredBody(rng, operation)), length) : how === 1 ? inflateTo(rng, operation, length) : messageBodyOfLength(rng, length);
      break;
    }
    case 7: {
      const length = rng.pick([8192, 65_507, 65_536, maxOctets]);
      body = rng.chance(0.5) ? padTo(rng, encodedBody(rng, operation), length) : rng.bytes(length);
      break;
    }
    case 8: {
      const depth = rng.between(100, 2100);
      body = bytes(rng.chance(0.5) ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(Math.min(depth, 800))}1${'}'.repeat(Math.min(depth, 800))}`);
      break;
    }
    default: {
      const valid = encodedBody(rng, operation);
      const at = rng.below(valid.length);
      body = concat(concat(valid.subarray(0, at), rng.pick(TOKENS.slice(-7))), valid.subarray(at), maxOctets);
      break;
    }
  }
  if (body.length > maxOctets) body = body.subarray(0, maxOctets);
  return { body, code, operation };
}
