/**
 * Checks of one M5 unit against the binary decoder (`decodeM5`) and the inbound classification
 * (`decodeDeviceRequest`). Both are documented never to throw and to report bad input as values
 * (`{ok:false, error: M5ProtocolError}`, `{kind:'REJECT'}`), so any throw, even of an
 * `M5ProtocolError`, is a failure.
 *
 * Checked, for every input:
 * - no throw; the result has the documented shape; `EMPTY` exactly for 0 octets,
 *   `UNKNOWN_MESSAGE_TYPE` exactly for a first octet outside 0x01..0x06/0x10/0x11/0x12/0x13/0x1F;
 * - a decoded message encodes (`encodeM5` does not throw) and decodes back to itself;
 * - the classification agrees with the decoder and the docs/wire-formats.md §2 reject table: a decodable
 *   0x10/0x12 is a REQUEST carrying the decoded message; an undecodable one is answered
 *   `11 01 22 01 05` / `13 01 22 01 05`; any other type `1F 09 <type>`; 0 octets are not answered;
 * - no answer is longer than 5 octets (no amplification);
 * - `decodeDeviceUnit` (message delivery, docs/wire-formats.md §5) agrees with the decoder: a
 *   decodable 0x10/0x12/0x01/0x02/0x05 is passed on as decoded, anything else gets the §2/§5.2
 *   answer, never longer than 5 octets or 4 more than the input;
 * - the input octets are unchanged, and no prototype gained an enumerable property.
 *
 * The decoder functions are injected so the tests can prove each check fails on a broken decoder.
 * Rejected alternative: checking only "does not throw". It passes a decoder that accepts garbage or
 * answers with the wrong bytes; the round trip and the reject table catch those at no extra cost.
 */
import { decodeDeviceRequest, decodeDeviceUnit, decodeM5, encodeM5, M5ProtocolError } from '@msgin5g/protocol';
import type { FailureCheck } from './fuzz-report';
import { prototypesClean } from './global-state';
import { toHex } from './hex';

/** The functions under test. */
export interface M5Deps {
  readonly decodeM5: typeof decodeM5;
  readonly decodeDeviceRequest: typeof decodeDeviceRequest;
  readonly decodeDeviceUnit: typeof decodeDeviceUnit;
  readonly encodeM5: typeof encodeM5;
}

export const DEFAULT_M5_DEPS: M5Deps = { decodeM5, decodeDeviceRequest, decodeDeviceUnit, encodeM5 };

/** Longest answer the reject table allows (docs/wire-formats.md §2: "every answer is at most 5 octets"). */
export const MAX_REJECT_ANSWER_OCTETS = 5;

/** What one input did. `answer`: the reject answer (null: none); `failure` when a check failed. */
export interface CheckOutcome {
  readonly accepted: boolean;
  readonly answer: Uint8Array | null;
  readonly failure?: { readonly check: FailureCheck; readonly detail: string };
}

const KNOWN_TYPES: ReadonlySet<number> = new Set([0x10, 0x11, 0x12, 0x13, 0x1f, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06]);
const REASONS: ReadonlySet<string> = new Set(['EMPTY', 'UNKNOWN_MESSAGE_TYPE', 'MALFORMED']);
const KINDS: ReadonlySet<string> = new Set([
  'REGISTRATION_REQUEST',
  'DEREGISTRATION_REQUEST',
  'REGISTRATION_RESPONSE',
  'DEREGISTRATION_RESPONSE',
  'STATUS',
  'MESSAGE_SENDING_REQUEST',
  'DELIVERY_REPORT_SENDING_REQUEST',
  'MESSAGE_SENDING_RESPONSE',
  'MESSAGE_RECEIVING',
  'MESSAGE_RECEIVING_ACK',
  'DELIVERY_REPORT_RECEIVING',
]);
/** Message-delivery types a device sends (docs/wire-formats.md §5.2). */
const DEVICE_DELIVERY_TYPES: ReadonlySet<number> = new Set([0x01, 0x02, 0x05]);
const MALFORMED_REG_ANSWER = '1101220105';
const MALFORMED_DEREG_ANSWER = '1301220105';

/** The answer docs/wire-formats.md §2 prescribes for an input that is not a valid request (null: none). */
export function expectedRejectAnswer(input: Uint8Array): string | null {
  if (input.length === 0) return null;
  const type = input[0] as number;
  if (type === 0x10) return MALFORMED_REG_ANSWER;
  if (type === 0x12) return MALFORMED_DEREG_ANSWER;
  return `1f09${toHex(Uint8Array.of(type))}`;
}

/**
 * The answer `decodeDeviceUnit` must give an input that is not a valid request or device message
 * (docs/wire-formats.md §2 reject table and §5.2; null: none).
 */
export function expectedUnitRejectAnswer(input: Uint8Array): string | null {
  const type = input[0];
  if (type === undefined || !DEVICE_DELIVERY_TYPES.has(type)) return expectedRejectAnswer(input);
  // The Message ID after the address LV (0x01, 0x02) or after the type (0x05), when it is there.
  const start = type === 0x05 ? 1 : input.length >= 2 ? 2 + (input[1] as number) : input.length + 1;
  if (start + 16 <= input.length) return `03${toHex(input.subarray(start, start + 16))}01220105`;
  return `1f05${toHex(Uint8Array.of(type))}`;
}

/** The input as the UDP link hands it over: a view at a non-zero offset of a larger buffer. */
function offsetView(input: Uint8Array): Uint8Array {
  const backing = new Uint8Array(input.length + 3);
  backing.set(input, 1);
  return backing.subarray(1, 1 + input.length);
}

function thrown(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `non-Error ${typeof err}: ${String(err)}`;
}

/** Runs every check on one input. Never throws. */
export function checkM5Input(input: Uint8Array, deps: M5Deps = DEFAULT_M5_DEPS): CheckOutcome {
  const fail = (check: FailureCheck, detail: string): CheckOutcome => ({ accepted: false, answer: null, failure: { check, detail } });
  const view = offsetView(input);

  let decoded: ReturnType<typeof decodeM5>;
  try {
    decoded = deps.decodeM5(view);
  } catch (err) {
    return fail('THROW', `decodeM5 threw ${thrown(err)}`);
  }
  if (decoded === null || typeof decoded !== 'object' || typeof decoded.ok !== 'boolean') return fail('ORACLE', 'decodeM5 returned no {ok} result');
  const type = input[0];
  if (decoded.ok) {
    if (!KINDS.has(decoded.message?.kind)) return fail('ORACLE', `decodeM5 returned an unknown message kind ${String(decoded.message?.kind)}`);
    let encoded: Uint8Array;
    try {
      encoded = deps.encodeM5(decoded.message);
    } catch (err) {
      return fail('ORACLE', `a decoded message has no encoding: encodeM5 threw ${thrown(err)} for ${JSON.stringify(decoded.message)}`);
    }
    let again: ReturnType<typeof decodeM5>;
    try {
      again = deps.decodeM5(encoded);
    } catch (err) {
      return fail('THROW', `decodeM5 threw ${thrown(err)} on the re-encoding ${toHex(encoded)}`);
    }
    if (!again.ok || JSON.stringify(again.message) !== JSON.stringify(decoded.message)) {
      return fail('ORACLE', `decode(encode(m)) ≠ m: ${JSON.stringify(decoded.message)} re-encoded as ${toHex(encoded)}`);
    }
  } else {
    const e = decoded.error;
    if (!(e instanceof M5ProtocolError) || !REASONS.has(e.reason)) return fail('ORACLE', `decodeM5 error is not an M5ProtocolError with a known reason: ${String(e)}`);
    if ((e.reason === 'EMPTY') !== (input.length === 0)) return fail('ORACLE', `reason ${e.reason} for a ${input.length}-octet input`);
    if (input.length > 0 && (e.reason === 'UNKNOWN_MESSAGE_TYPE') !== !KNOWN_TYPES.has(type as number)) {
      return fail('ORACLE', `reason ${e.reason} for Message Type 0x${toHex(Uint8Array.of(type as number))}`);
    }
  }

  let inbound: ReturnType<typeof decodeDeviceRequest>;
  try {
    inbound = deps.decodeDeviceRequest(view);
  } catch (err) {
    return fail('THROW', `decodeDeviceRequest threw ${thrown(err)}`);
  }
  let answer: Uint8Array | null = null;
  const isRequestType = type === 0x10 || type === 0x12;
  if (inbound?.kind === 'REQUEST') {
    if (!isRequestType || !decoded.ok) return fail('ORACLE', 'decodeDeviceRequest accepted an input decodeM5 does not decode as a request');
    if (JSON.stringify(inbound.request) !== JSON.stringify(decoded.message)) {
      return fail('ORACLE', `decodeDeviceRequest gave ${JSON.stringify(inbound.request)}, decodeM5 ${JSON.stringify(decoded.message)}`);
    }
  } else if (inbound?.kind === 'REJECT') {
    if (isRequestType && decoded.ok) return fail('ORACLE', `decodeDeviceRequest rejected a valid request (${inbound.detail})`);
    answer = inbound.answer;
    if (answer !== null && !(answer instanceof Uint8Array)) return fail('ORACLE', 'reject answer is not a byte array');
    if (answer !== null && answer.length > MAX_REJECT_ANSWER_OCTETS) {
      return fail('AMPLIFICATION', `reject answer of ${answer.length} octets (${toHex(answer.subarray(0, 64))}) to a ${input.length}-octet input; at most ${MAX_REJECT_ANSWER_OCTETS} allowed`);
    }
    const expected = expectedRejectAnswer(input);
    const got = answer === null ? null : toHex(answer);
    if (got !== expected) return fail('ORACLE', `reject answer ${got ?? 'none'}, the reject table says ${expected ?? 'none'}`);
  } else {
    return fail('ORACLE', 'decodeDeviceRequest returned neither REQUEST nor REJECT');
  }

  // decodeDeviceUnit (message delivery included): agrees with decodeM5 and the §5.2 reject rules.
  let unit: ReturnType<typeof decodeDeviceUnit>;
  try {
    unit = deps.decodeDeviceUnit(view);
  } catch (err) {
    return fail('THROW', `decodeDeviceUnit threw ${thrown(err)}`);
  }
  const isDeviceType = isRequestType || DEVICE_DELIVERY_TYPES.has(type as number);
  if (unit?.kind === 'REQUEST' || unit?.kind === 'DELIVERY') {
    const message = unit.kind === 'REQUEST' ? unit.request : unit.message;
    if (!isDeviceType || !decoded.ok) return fail('ORACLE', `decodeDeviceUnit accepted (${unit.kind}) an input decodeM5 does not decode as a device message`);
    if (JSON.stringify(message) !== JSON.stringify(decoded.message)) return fail('ORACLE', `decodeDeviceUnit gave ${JSON.stringify(message)}, decodeM5 ${JSON.stringify(decoded.message)}`);
  } else if (unit?.kind === 'REJECT') {
    if (isDeviceType && decoded.ok) return fail('ORACLE', `decodeDeviceUnit rejected a valid device message (${unit.detail})`);
    const a = unit.answer;
    if (a !== null && !(a instanceof Uint8Array)) return fail('ORACLE', 'decodeDeviceUnit reject answer is not a byte array');
    if (a !== null && a.length > Math.max(MAX_REJECT_ANSWER_OCTETS, input.length + 4)) {
      return fail('AMPLIFICATION', `decodeDeviceUnit reject answer of ${a.length} octets to a ${input.length}-octet input`);
    }
    const expected = expectedUnitRejectAnswer(input);
    const got = a === null ? null : toHex(a);
    if (got !== expected) return fail('ORACLE', `decodeDeviceUnit answer ${got ?? 'none'}, docs/wire-formats.md §2/§5.2 say ${expected ?? 'none'}`);
  } else {
    return fail('ORACLE', 'decodeDeviceUnit returned neither REQUEST, DELIVERY nor REJECT');
  }

  if (view.length !== input.length || Buffer.compare(view, input) !== 0) return fail('STATE', 'the decoder modified its input octets');
  if (!prototypesClean()) return fail('STATE', 'a built-in prototype gained an enumerable property');
  return { accepted: decoded.ok, answer };
}
