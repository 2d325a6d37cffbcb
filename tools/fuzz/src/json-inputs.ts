/**
 * Generator of JSON bodies for the `json` target: the CoAP device link's request and response
 * bodies (docs/wire-formats.md §3.3) and the MSGin5G-1 request and answer bodies (§4), each with a
 * CoAP answer code and an operation for `interpretServerAnswer`.
 *
 * Strategies: structured objects of one of the four schemas with members perturbed (dropped,
 * duplicated in the text, renamed, given hostile values of every JSON type, unknown members such
 * as `__proto__`), serialised with random whitespace and `\u` escapes; byte mutations of those and
 * of encoder output (JSON punctuation, bad UTF-8, BOM, NUL inserted); token soup; non-object JSON;
 * deep nesting; and boundary lengths around the 4,096-octet body limit and far past it.
 *
 * Rejected alternative: fast-check's `json()` arbitrary. It only yields valid JSON of random
 * shape, which the decoders reject at the first member check; the schema-aware generator reaches
 * every member rule and the accept paths (a third of the bodies are accepted by some decoder).
 */
import { FAILURE_REASONS, type ApplicationId, type RegistrationId, type UeServiceId } from '@msgin5g/core';
import { encodeCoapDeviceRequest, encodeCoapDeviceResponse, encodeMsgin5g1Answer, encodeMsgin5g1Request, MAX_JSON_BODY_OCTETS, type ServerOperation } from '@msgin5g/protocol';
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
const CODES_OTHER = ['4.00', '4.04', '4.29', '5.00', '5.03', '5.31', '0.00', '0.01', '0.31', '1.00', '3.00', '6.00', '7.31', '2.32', '4.32', '8.00', '9.99', '2.4', '2..4', '2.044', '', ' 2.04', '2,04', 'RST', 'TIMEOUT', 'NETWORK_ERROR', 'rst', '\u0662.04', '2.0\u0000'];

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
      return JSON.stringify(rng.pick(['REG', 'DEREG', 'reg', 'REG ', 'DEREGISTER', 'REG\u0000', 'SUCCESS', 'FAILURE', 'success', 'NOT_REGISTERED', ...FAILURE_REASONS]));
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

/** A valid member value for a name, or a hostile one. */
function memberValue(rng: Prng, name: string, operation: ServerOperation): string {
  if (rng.chance(0.15)) return hostileValue(rng);
  switch (name) {
    case 'messageType':
      return JSON.stringify(rng.chance(0.95) ? operation : rng.pick(['REG', 'DEREG']));
    case 'appId':
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
    default:
      return hostileValue(rng);
  }
}

const SCHEMAS: ReadonlyArray<(rng: Prng) => readonly string[]> = [
  // CoAP device request
  (rng) => (rng.chance(0.5) ? ['messageType', 'appId'] : ['messageType', 'registrationId']),
  // CoAP device response
  (rng) => ['messageType', 'result', ...(rng.chance(0.6) ? ['appId'] : []), rng.chance(0.5) ? 'registrationId' : 'failureReason'],
  // MSGin5G-1 request
  (rng) => ['messageType', 'ueServiceId', ...(rng.chance(0.7) ? ['gatewayUeServiceId', 'appId'] : [])],
  // MSGin5G-1 answer
  (rng) => ['messageType', 'result', ...(rng.chance(0.5) ? ['failureCause'] : [])],
];

const UNKNOWN_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', ' ', 'x', 'MessageType', 'messagetype', 'appid', 'result ', '\u0000'];

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
  const names = [...rng.pick(SCHEMAS)(rng)];
  const members: Array<[string, string]> = [];
  for (const name of names) {
    if (rng.chance(0.06)) continue; // dropped
    members.push([name, memberValue(rng, name, operation)]);
    if (rng.chance(0.05)) members.push([name, memberValue(rng, name, operation)]); // duplicate key in the text
  }
  if (rng.chance(0.15)) members.push([rng.pick(UNKNOWN_NAMES), hostileValue(rng)]);
  if (rng.chance(0.1)) members.reverse();
  const parts = members.map(([n, v]) => `${whitespace(rng)}${escapedName(rng, n)}${whitespace(rng)}:${whitespace(rng)}${v}${whitespace(rng)}`);
  return `${whitespace(rng)}{${parts.join(',')}${rng.chance(0.02) ? ',' : ''}}${whitespace(rng)}`;
}

/** Encoder output for random valid values. */
function encodedBody(rng: Prng, operation: ServerOperation): Uint8Array {
  const app = rng.below(65_536) as ApplicationId;
  const regId = hexString(rng, rng.between(1, 16)) as RegistrationId;
  const kind = operation === 'REG' ? 'REGISTRATION_RESPONSE' : 'DEREGISTRATION_RESPONSE';
  switch (rng.below(4)) {
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
      body = rng.chance(0.5) ? padTo(rng, rng.chance(0.5) ? encodedBody(rng, operation) : bytes(structuredBody(rng, operation)), length) : inflateTo(rng, operation, length);
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
