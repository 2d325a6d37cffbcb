/**
 * Checks of one JSON body against every JSON body decoder: `decodeCoapDeviceRequest`,
 * `decodeCoapDeviceResponse`, `decodeMsgin5g1Request` (the REG with `notifyUri` included),
 * `decodeMsgin5g1Answer`; the message bodies of docs/wire-formats.md §5.3–§5.4:
 * `decodeCoapDeviceBody` (what the CoAP device link reads: REG, DEREG, MSG, IMDN),
 * `decodeCoapDeviceDelivery`, `decodeCoapGatewayDelivery`, `decodeCoapMessageResponse`,
 * `decodeMsgin5g1MessageRequest`, `decodeMsgin5g1MsgResp`, `decodeMsgin5g1ImdnAnswer`; and the
 * answer readers `interpretServerAnswer` (with the input's code and operation, and with `2.04` and
 * the other operation), `interpretMessageAnswer` and `interpretReportAnswer` (with the input's code).
 * The decoders return `Parsed<T>` (`{ok:false, error}`) and the readers an outcome; none has an
 * error class to throw, so any throw is a failure.
 *
 * Checked, for every input:
 * - no throw; `{ok:true, value}` or `{ok:false, error}` with a non-empty error text;
 * - nothing larger than `MAX_JSON_BODY_OCTETS` is accepted;
 * - an accepted body re-encodes (`encode…`) to a body that decodes to the same value;
 * - `interpretServerAnswer` follows the docs/wire-formats.md §4 table: RST/TIMEOUT/NETWORK_ERROR, 5.xx
 *   and 0.00 are SERVER_UNREACHABLE; 4.xx, other classes and unreadable codes SERVER_REJECTED;
 *   a 2.xx is SUCCESS exactly when `decodeMsgin5g1Answer` reads the body as an answer to this
 *   operation with result SUCCESS, or FAILURE `NOT_REGISTERED` to a DEREG; GATEWAY_NOT_REGISTERED exactly
 *   when it is FAILURE `GATEWAY_NOT_REGISTERED` to the same operation; the cause is non-empty;
 * - `decodeCoapDeviceBody` agrees with the reader of its `messageType`: it accepts exactly what
 *   `decodeCoapDeviceRequest` or `decodeCoapDeviceDelivery` accepts, with the same value;
 * - `interpretMessageAnswer` follows the §5.4 table: 4.13 is PAYLOAD_TOO_LARGE, other codes as §4;
 *   a 2.xx is ACCEPTED (DELIVERED / STORED) exactly when `decodeMsgin5g1MsgResp` reads a MSGRESP
 *   with the request's `msgId` and that status, FAILURE RECIPIENT_UNKNOWN / PAYLOAD_TOO_LARGE /
 *   GATEWAY_NOT_REGISTERED exactly for DELY_FAILED with that cause, SERVER_REJECTED otherwise (and
 *   always for another `msgId`); `interpretReportAnswer` likewise with `decodeMsgin5g1ImdnAnswer`;
 * - the input octets are unchanged and no prototype gained an enumerable property.
 *
 * Rejected alternative: a second, independent JSON reader as the oracle. It would duplicate the
 * member rules; the encode→decode round trip and the sibling decoder (`decodeMsgin5g1Answer` for
 * `interpretServerAnswer`) check the same things from the package's own public functions.
 */
import {
  decodeCoapDeviceBody,
  decodeCoapDeviceDelivery,
  decodeCoapDeviceRequest,
  decodeCoapDeviceResponse,
  decodeCoapGatewayDelivery,
  decodeCoapMessageResponse,
  decodeMsgin5g1Answer,
  decodeMsgin5g1ImdnAnswer,
  decodeMsgin5g1MessageRequest,
  decodeMsgin5g1MsgResp,
  decodeMsgin5g1Request,
  encodeCoapDeviceDelivery,
  encodeCoapDeviceRequest,
  encodeCoapDeviceResponse,
  encodeCoapGatewayDelivery,
  encodeCoapMessageResponse,
  encodeMsgin5g1Answer,
  encodeMsgin5g1MessageAnswer,
  encodeMsgin5g1MessageRequest,
  encodeMsgin5g1Request,
  FAILURE_CAUSE_GATEWAY_NOT_REGISTERED,
  FAILURE_CAUSE_NOT_REGISTERED,
  interpretMessageAnswer,
  interpretReportAnswer,
  interpretServerAnswer,
  MAX_JSON_BODY_OCTETS,
  parseCoapCode,
  type CoapDeviceDelivery,
  type ServerOperation,
} from '@msgin5g/protocol';
import type { DeviceRequest, MessageId, Parsed } from '@msgin5g/core';
import type { FailureCheck } from './fuzz-report';
import { prototypesClean } from './global-state';
import type { JsonInput } from './json-inputs';

/** The functions under test (injected so the tests can break them). */
export interface JsonDeps {
  readonly decodeCoapDeviceRequest: typeof decodeCoapDeviceRequest;
  readonly decodeCoapDeviceResponse: typeof decodeCoapDeviceResponse;
  readonly decodeMsgin5g1Request: typeof decodeMsgin5g1Request;
  readonly decodeMsgin5g1Answer: typeof decodeMsgin5g1Answer;
  readonly decodeCoapDeviceBody: typeof decodeCoapDeviceBody;
  readonly decodeCoapDeviceDelivery: typeof decodeCoapDeviceDelivery;
  readonly decodeCoapGatewayDelivery: typeof decodeCoapGatewayDelivery;
  readonly decodeCoapMessageResponse: typeof decodeCoapMessageResponse;
  readonly decodeMsgin5g1MessageRequest: typeof decodeMsgin5g1MessageRequest;
  readonly decodeMsgin5g1MsgResp: typeof decodeMsgin5g1MsgResp;
  readonly decodeMsgin5g1ImdnAnswer: typeof decodeMsgin5g1ImdnAnswer;
  readonly interpretServerAnswer: typeof interpretServerAnswer;
  readonly interpretMessageAnswer: typeof interpretMessageAnswer;
  readonly interpretReportAnswer: typeof interpretReportAnswer;
}

export const DEFAULT_JSON_DEPS: JsonDeps = {
  decodeCoapDeviceRequest,
  decodeCoapDeviceResponse,
  decodeMsgin5g1Request,
  decodeMsgin5g1Answer,
  decodeCoapDeviceBody,
  decodeCoapDeviceDelivery,
  decodeCoapGatewayDelivery,
  decodeCoapMessageResponse,
  decodeMsgin5g1MessageRequest,
  decodeMsgin5g1MsgResp,
  decodeMsgin5g1ImdnAnswer,
  interpretServerAnswer,
  interpretMessageAnswer,
  interpretReportAnswer,
};

/** What one input did; `controlCharCause` when an outcome's cause text holds a control character (observation, not failure). */
export interface JsonCheckOutcome {
  readonly accepted: boolean;
  readonly controlCharCause?: string;
  readonly failure?: { readonly check: FailureCheck; readonly detail: string };
}

type Decoder = (body: Uint8Array) => Parsed<unknown>;

interface DecoderCase {
  readonly name: keyof Omit<JsonDeps, 'interpretServerAnswer' | 'interpretMessageAnswer' | 'interpretReportAnswer'>;
  /** Re-encodes an accepted value (any: the value's type is the decoder's). */
  readonly encode: (value: never) => Uint8Array;
}

const CASES: readonly DecoderCase[] = [
  { name: 'decodeCoapDeviceRequest', encode: encodeCoapDeviceRequest as (v: never) => Uint8Array },
  { name: 'decodeCoapDeviceResponse', encode: encodeCoapDeviceResponse as (v: never) => Uint8Array },
  { name: 'decodeMsgin5g1Request', encode: encodeMsgin5g1Request as (v: never) => Uint8Array },
  { name: 'decodeMsgin5g1Answer', encode: encodeMsgin5g1Answer as (v: never) => Uint8Array },
  { name: 'decodeCoapDeviceBody', encode: ((v: DeviceRequest | CoapDeviceDelivery) => (v.kind === 'REGISTRATION_REQUEST' || v.kind === 'DEREGISTRATION_REQUEST' ? encodeCoapDeviceRequest(v) : encodeCoapDeviceDelivery(v))) as (v: never) => Uint8Array },
  { name: 'decodeCoapDeviceDelivery', encode: encodeCoapDeviceDelivery as (v: never) => Uint8Array },
  { name: 'decodeCoapGatewayDelivery', encode: encodeCoapGatewayDelivery as (v: never) => Uint8Array },
  { name: 'decodeCoapMessageResponse', encode: encodeCoapMessageResponse as (v: never) => Uint8Array },
  { name: 'decodeMsgin5g1MessageRequest', encode: encodeMsgin5g1MessageRequest as (v: never) => Uint8Array },
  { name: 'decodeMsgin5g1MsgResp', encode: encodeMsgin5g1MessageAnswer as (v: never) => Uint8Array },
  { name: 'decodeMsgin5g1ImdnAnswer', encode: encodeMsgin5g1MessageAnswer as (v: never) => Uint8Array },
];

/** A Message ID no generated MSGRESP echoes by chance often: the `msgId` of "another" request. */
const OTHER_MESSAGE_ID = 'f0e1d2c3b4a5968778695a4b3c2d1e0f' as MessageId;
/** `failureCause` of a DELY_FAILED MSGRESP → the reason `interpretMessageAnswer` must give (§5.4). */
const MESSAGE_FAILURE_CAUSES: ReadonlyMap<string, string> = new Map([
  ['RECIPIENT_UNKNOWN', 'RECIPIENT_UNKNOWN'],
  ['PAYLOAD_TOO_LARGE', 'PAYLOAD_TOO_LARGE'],
  [FAILURE_CAUSE_GATEWAY_NOT_REGISTERED, 'GATEWAY_NOT_REGISTERED'],
]);

function thrown(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `non-Error ${typeof err}: ${String(err)}`;
}

function offsetView(input: Uint8Array): Uint8Array {
  const backing = new Uint8Array(input.length + 5);
  backing.set(input, 3);
  return backing.subarray(3, 3 + input.length);
}

/** Whether a text has a C0 control character or DEL. */
function hasControlChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** The outcome class the §4 table prescribes for a code, or 'BODY' for a 2.xx (decided by the body). */
function expectedByCode(code: string): 'UNREACHABLE' | 'REJECTED' | 'BODY' {
  if (code === 'RST' || code === 'TIMEOUT' || code === 'NETWORK_ERROR') return 'UNREACHABLE';
  const parsed = parseCoapCode(code);
  if (parsed === undefined) return 'REJECTED';
  if (parsed.codeClass === 2) return 'BODY';
  if (parsed.codeClass === 5) return 'UNREACHABLE';
  if (parsed.codeClass === 0 && parsed.detail === 0) return 'UNREACHABLE';
  return 'REJECTED';
}

/** Runs every check on one input. Never throws. */
export function checkJsonInput(input: JsonInput, deps: JsonDeps = DEFAULT_JSON_DEPS): JsonCheckOutcome {
  const fail = (check: FailureCheck, detail: string): JsonCheckOutcome => ({ accepted: false, failure: { check, detail } });
  const body = input.body;
  const view = offsetView(body);
  let accepted = false;
  const results = new Map<DecoderCase['name'], Parsed<unknown>>();

  for (const c of CASES) {
    const decode = deps[c.name] as Decoder;
    let r: Parsed<unknown>;
    try {
      r = decode(view);
    } catch (err) {
      return fail('THROW', `${c.name} threw ${thrown(err)}`);
    }
    if (r === null || typeof r !== 'object' || typeof r.ok !== 'boolean') return fail('ORACLE', `${c.name} returned no {ok} result`);
    results.set(c.name, r);
    if (!r.ok) {
      if (typeof r.error !== 'string' || r.error.length === 0) return fail('ORACLE', `${c.name} rejected without an error text`);
      continue;
    }
    accepted = true;
    if (body.length > MAX_JSON_BODY_OCTETS) return fail('ORACLE', `${c.name} accepted a body of ${body.length} octets (limit ${MAX_JSON_BODY_OCTETS})`);
    let again: Parsed<unknown>;
    try {
      again = decode(c.encode(r.value as never));
    } catch (err) {
      return fail('ORACLE', `${c.name}: re-encoding the accepted value ${JSON.stringify(r.value)} threw ${thrown(err)}`);
    }
    if (!again.ok || JSON.stringify(again.value) !== JSON.stringify(r.value)) {
      return fail('ORACLE', `${c.name}: decode(encode(v)) ≠ v for ${JSON.stringify(r.value)} (${again.ok ? JSON.stringify(again.value) : again.error})`);
    }
  }

  // decodeCoapDeviceBody reads what one of the two per-type readers reads, the same way.
  const body4 = results.get('decodeCoapDeviceBody');
  const byType = [results.get('decodeCoapDeviceRequest'), results.get('decodeCoapDeviceDelivery')].find((r) => r?.ok === true);
  if (body4?.ok !== (byType !== undefined) || (body4?.ok === true && JSON.stringify(body4.value) !== JSON.stringify(byType?.ok === true ? byType.value : undefined))) {
    return fail('ORACLE', `decodeCoapDeviceBody gave ${body4?.ok ? JSON.stringify(body4.value) : 'an error'}, the per-type readers ${byType?.ok ? JSON.stringify(byType.value) : 'errors'}`);
  }

  let controlCharCause: string | undefined;
  const other: ServerOperation = input.operation === 'REG' ? 'DEREG' : 'REG';
  for (const [operation, code] of [
    [input.operation, input.code],
    [other, '2.04'],
  ] as const) {
    let outcome: ReturnType<typeof interpretServerAnswer>;
    try {
      outcome = deps.interpretServerAnswer(operation, code, view);
    } catch (err) {
      return fail('THROW', `interpretServerAnswer(${operation}, ${JSON.stringify(code)}) threw ${thrown(err)}`);
    }
    const where = `interpretServerAnswer(${operation}, ${JSON.stringify(code)})`;
    if (outcome === null || typeof outcome !== 'object') return fail('ORACLE', `${where} returned no outcome`);
    if (outcome.kind === 'FAILURE') {
      if (outcome.reason !== 'SERVER_REJECTED' && outcome.reason !== 'SERVER_UNREACHABLE' && outcome.reason !== 'GATEWAY_NOT_REGISTERED') return fail('ORACLE', `${where}: reason ${String(outcome.reason)}`);
      if (typeof outcome.cause !== 'string' || outcome.cause.length === 0) return fail('ORACLE', `${where}: FAILURE without a cause`);
      if (controlCharCause === undefined && hasControlChar(outcome.cause)) controlCharCause = outcome.cause;
    } else if (outcome.kind === 'SUCCESS') {
      accepted = true;
    } else {
      return fail('ORACLE', `${where}: outcome kind ${String((outcome as { kind: unknown }).kind)}`);
    }
    const expected = expectedByCode(code);
    const got = outcome.kind === 'SUCCESS' ? 'SUCCESS' : outcome.reason === 'SERVER_UNREACHABLE' ? 'UNREACHABLE' : outcome.reason === 'GATEWAY_NOT_REGISTERED' ? 'GATEWAY_NOT_REGISTERED' : 'REJECTED';
    if (expected !== 'BODY') {
      if (got !== expected) return fail('ORACLE', `${where} gave ${got}; the §4 table says ${expected} for that code`);
      continue;
    }
    let answer: ReturnType<typeof decodeMsgin5g1Answer>;
    try {
      answer = deps.decodeMsgin5g1Answer(view);
    } catch (err) {
      return fail('THROW', `decodeMsgin5g1Answer threw ${thrown(err)}`);
    }
    const success =
      answer.ok &&
      answer.value.messageType === operation &&
      (answer.value.result === 'SUCCESS' || (operation === 'DEREG' && answer.value.failureCause === FAILURE_CAUSE_NOT_REGISTERED));
    if (success !== (got === 'SUCCESS')) return fail('ORACLE', `${where} gave ${got}, but the body reads as ${answer.ok ? JSON.stringify(answer.value) : `no answer (${answer.error})`}`);
    const forgotten = answer.ok && answer.value.messageType === operation && answer.value.result === 'FAILURE' && answer.value.failureCause === FAILURE_CAUSE_GATEWAY_NOT_REGISTERED;
    if (forgotten !== (got === 'GATEWAY_NOT_REGISTERED')) return fail('ORACLE', `${where} gave ${got}, but the body reads as ${answer.ok ? JSON.stringify(answer.value) : `no answer (${answer.error})`}`);
    if (!success && !forgotten && got !== 'REJECTED') return fail('ORACLE', `${where} gave ${got} for a 2.xx; only SUCCESS or SERVER_REJECTED are possible`);
  }

  const messageOracle = checkMessageAnswers(input.code, view, deps);
  if (messageOracle.failure !== undefined) return fail(messageOracle.failure.check, messageOracle.failure.detail);
  if (messageOracle.accepted) accepted = true;
  if (controlCharCause === undefined) controlCharCause = messageOracle.controlCharCause;

  if (view.length !== body.length || Buffer.compare(view, body) !== 0) return fail('STATE', 'a decoder modified its input octets');
  if (!prototypesClean()) return fail('STATE', 'a built-in prototype gained an enumerable property');
  return controlCharCause === undefined ? { accepted } : { accepted, controlCharCause };
}

/** `interpretMessageAnswer` (with the body's own `msgId`, and another) and `interpretReportAnswer` against the §5.4 table. */
function checkMessageAnswers(code: string, view: Uint8Array, deps: JsonDeps): JsonCheckOutcome {
  const fail = (check: FailureCheck, detail: string): JsonCheckOutcome => ({ accepted: false, failure: { check, detail } });
  let resp: ReturnType<typeof decodeMsgin5g1MsgResp>;
  let imdn: ReturnType<typeof decodeMsgin5g1ImdnAnswer>;
  try {
    resp = deps.decodeMsgin5g1MsgResp(view);
    imdn = deps.decodeMsgin5g1ImdnAnswer(view);
  } catch (err) {
    return fail('THROW', `a message answer decoder threw ${thrown(err)}`);
  }
  const byCode = code === '4.13' ? 'PAYLOAD_TOO_LARGE' : expectedByCode(code);
  let accepted = false;
  let controlCharCause: string | undefined;

  const ids = resp.ok && resp.value.messageId !== OTHER_MESSAGE_ID ? [resp.value.messageId, OTHER_MESSAGE_ID] : [OTHER_MESSAGE_ID];
  for (const messageId of ids) {
    const where = `interpretMessageAnswer(${JSON.stringify(code)}, msgId ${messageId === OTHER_MESSAGE_ID ? 'another' : 'the body’s'})`;
    let outcome: ReturnType<typeof interpretMessageAnswer>;
    try {
      outcome = deps.interpretMessageAnswer(code, view, messageId);
    } catch (err) {
      return fail('THROW', `${where} threw ${thrown(err)}`);
    }
    if (outcome === null || typeof outcome !== 'object') return fail('ORACLE', `${where} returned no outcome`);
    let got: string;
    if (outcome.kind === 'ACCEPTED') {
      got = `ACCEPTED ${outcome.deliveryStatus}`;
      accepted = true;
    } else if (outcome.kind === 'FAILURE') {
      if (typeof outcome.cause !== 'string' || outcome.cause.length === 0) return fail('ORACLE', `${where}: FAILURE without a cause`);
      if (controlCharCause === undefined && hasControlChar(outcome.cause)) controlCharCause = outcome.cause;
      got = outcome.reason === 'SERVER_UNREACHABLE' ? 'UNREACHABLE' : outcome.reason === 'SERVER_REJECTED' ? 'REJECTED' : outcome.reason;
    } else {
      return fail('ORACLE', `${where}: outcome kind ${String((outcome as { kind: unknown }).kind)}`);
    }
    let expected: string = byCode;
    if (byCode === 'BODY') {
      if (!resp.ok || resp.value.messageId !== messageId) expected = 'REJECTED';
      else if (resp.value.status === 'DELIVERED') expected = 'ACCEPTED DELIVERED';
      else if (resp.value.status === 'DELY_STORED') expected = 'ACCEPTED STORED';
      else expected = MESSAGE_FAILURE_CAUSES.get(resp.value.failureCause ?? '') ?? 'REJECTED';
    }
    if (got !== expected) return fail('ORACLE', `${where} gave ${got}; the §5.4 table says ${expected} (the body reads as ${resp.ok ? JSON.stringify(resp.value) : `no MSGRESP (${resp.error})`})`);
  }

  const where = `interpretReportAnswer(${JSON.stringify(code)})`;
  let outcome: ReturnType<typeof interpretReportAnswer>;
  try {
    outcome = deps.interpretReportAnswer(code, view);
  } catch (err) {
    return fail('THROW', `${where} threw ${thrown(err)}`);
  }
  if (outcome === null || typeof outcome !== 'object') return fail('ORACLE', `${where} returned no outcome`);
  if (outcome.kind === 'FAILURE' && (typeof outcome.cause !== 'string' || outcome.cause.length === 0)) return fail('ORACLE', `${where}: FAILURE without a cause`);
  if (outcome.kind === 'SUCCESS') accepted = true;
  const got = outcome.kind === 'SUCCESS' ? 'SUCCESS' : outcome.kind === 'FAILURE' ? (outcome.reason === 'SERVER_UNREACHABLE' ? 'UNREACHABLE' : outcome.reason === 'SERVER_REJECTED' ? 'REJECTED' : outcome.reason) : `kind ${String((outcome as { kind: unknown }).kind)}`;
  const reportByCode = expectedByCode(code);
  const expected =
    reportByCode !== 'BODY'
      ? reportByCode
      : !imdn.ok
        ? 'REJECTED'
        : imdn.value.result === 'SUCCESS'
          ? 'SUCCESS'
          : imdn.value.failureCause === FAILURE_CAUSE_GATEWAY_NOT_REGISTERED
            ? 'GATEWAY_NOT_REGISTERED'
            : 'REJECTED';
  if (got !== expected) return fail('ORACLE', `${where} gave ${got}; the §5.4 table says ${expected} (the body reads as ${imdn.ok ? JSON.stringify(imdn.value) : `no IMDN answer (${imdn.error})`})`);
  return controlCharCause === undefined ? { accepted } : { accepted, controlCharCause };
}
