/**
 * The gateway's reading of an MSGin5G Server answer (docs/wire-formats.md §4 table) into a
 * {@link ServerOutcome} (REG, DEREG, IMDN) or, for a `MSG`, a {@link MessageOutcome} (§5.4). Kept apart from the CoAP adapter so the table is tested without sockets
 * and every ServerLink adapter reads answers the same way.
 *
 * | answer | outcome |
 * |---|---|
 * | 2.xx, `result` SUCCESS | success |
 * | 2.xx, FAILURE `NOT_REGISTERED`, to a DEREG | success (the end state holds; noted) |
 * | 2.xx, FAILURE `GATEWAY_NOT_REGISTERED` | GATEWAY_NOT_REGISTERED: the gateway must register itself again (docs/adr/0012) |
 * | 2.xx, FAILURE with any other cause | SERVER_REJECTED, cause `FAILURE <cause>` |
 * | 2.xx, empty / non-JSON body, no `result`, or an unusable answer | SERVER_REJECTED |
 * | 4.xx | SERVER_REJECTED, cause e.g. `4.04 Not Found` |
 * | 5.xx, RST, network error, timeout, 0.00 (no final answer) | SERVER_UNREACHABLE |
 * | any other class (a request code, 1.xx, 3.xx, 6.xx, 7.xx) or an unreadable code | SERVER_REJECTED |
 *
 * A 0.00 is never success (cases C05). Rejected alternative: reading any 2.xx as success, which
 * would report a registration the server may not have made.
 */
import { assertNever, type MessageFailureReason, type MessageId, type MessageOutcome, type ServerOutcome } from '@msgin5g/core';
import { FAILURE_CAUSE_GATEWAY_NOT_REGISTERED, FAILURE_CAUSE_NOT_REGISTERED } from './codepoints';
import { describeCoapCode, parseCoapCode } from './coap-response-code';
import { member, parseJsonObject } from './json-body';
import { readMsgin5g1Answer, type ServerOperation } from './msgin5g1';
import { decodeMsgin5g1ImdnAnswer, decodeMsgin5g1MsgResp } from './msgin5g1-messages';

/** Longest server-supplied text kept in a cause, in characters. */
const MAX_CAUSE_TEXT = 200;

/**
 * Reads one answer to a `REG`/`DEREG`. `code` is the CoAP response code as `c.dd` (`'2.04'`,
 * `'4.04'`, `'5.03'`), or `'RST'`, `'TIMEOUT'` (no final answer within the deadline) or
 * `'NETWORK_ERROR'` (ICMP error, socket error). `body` is the payload, if any. Never throws.
 * The cause text always says what happened: `4.04 Not Found`, `FAILURE QUOTA_EXCEEDED`,
 * `2.04 without result`, `RST`, `no answer within the deadline`.
 *
 * @see docs/wire-formats.md §4; TS 24.538 §6.1; RFC 7252 §5.9
 */
export function interpretServerAnswer(operation: ServerOperation, code: string, body: Uint8Array | undefined): ServerOutcome {
  const outcome = outcomeOfCode(code);
  return outcome === 'SUCCESS_CLASS' ? interpretSuccessClass(operation, code, body) : outcome;
}

/**
 * Reads one answer to an uplink `MSG` (docs/wire-formats.md §5.4) into a {@link MessageOutcome}.
 * `code` and `body` as for {@link interpretServerAnswer}; `messageId` is the request's `msgId`,
 * which the `MSGRESP` must echo. Never throws.
 *
 * | answer | outcome |
 * |---|---|
 * | 2.xx `MSGRESP` `status` DELIVERED | ACCEPTED, DELIVERED |
 * | 2.xx `MSGRESP` `status` DELY_STORED | ACCEPTED, STORED |
 * | 2.xx `MSGRESP` DELY_FAILED, `failureCause` RECIPIENT_UNKNOWN / PAYLOAD_TOO_LARGE / GATEWAY_NOT_REGISTERED | FAILURE with that reason |
 * | 2.xx `MSGRESP` DELY_FAILED, any other cause or none | SERVER_REJECTED, cause `DELY_FAILED <cause>` |
 * | 2.xx with an empty / non-JSON body, not a `MSGRESP`, or another `msgId` | SERVER_REJECTED |
 * | 4.13 | PAYLOAD_TOO_LARGE (the server's body limit) |
 * | anything else | as the §4 table: other 4.xx and unknown codes SERVER_REJECTED; 5.xx, RST, 0.00, network error, timeout SERVER_UNREACHABLE |
 *
 * @see docs/wire-formats.md §4, §5.4; RFC 7252 §5.9.2.9 (4.13)
 */
export function interpretMessageAnswer(code: string, body: Uint8Array | undefined, messageId: MessageId): MessageOutcome {
  if (code === '4.13') return { kind: 'FAILURE', reason: 'PAYLOAD_TOO_LARGE', cause: describeCoapCode(code) };
  const outcome = outcomeOfCode(code);
  if (outcome !== 'SUCCESS_CLASS') return outcome;
  if (body === undefined || body.length === 0) return rejected(`${code} with an empty body`);
  const resp = decodeMsgin5g1MsgResp(body);
  if (!resp.ok) return rejected(`${code} with an unusable MSGRESP (${printable(resp.error)})`);
  const { status, failureCause } = resp.value;
  if (resp.value.messageId !== messageId) return rejected(`${code} MSGRESP for msgId ${resp.value.messageId}, not ${messageId}`);
  switch (status) {
    case 'DELIVERED':
      return { kind: 'ACCEPTED', deliveryStatus: 'DELIVERED' };
    case 'DELY_STORED':
      return { kind: 'ACCEPTED', deliveryStatus: 'STORED' };
    case 'DELY_FAILED': {
      const reason = failureCause === undefined ? undefined : MESSAGE_FAILURE_CAUSES.get(failureCause);
      if (reason !== undefined) return { kind: 'FAILURE', reason, cause: `DELY_FAILED ${failureCause as string}` };
      return rejected(failureCause === undefined ? 'DELY_FAILED without failureCause' : `DELY_FAILED ${printable(failureCause)}`);
    }
    default:
      return assertNever(status, 'MSGRESP status');
  }
}

/**
 * Reads one answer to an uplink `IMDN` (docs/wire-formats.md §5.4) into a {@link ServerOutcome}:
 * 2.xx `{"messageType":"IMDN","result":"SUCCESS"}` is success; FAILURE `GATEWAY_NOT_REGISTERED` is
 * GATEWAY_NOT_REGISTERED; any other FAILURE, an empty or unusable body, or an answer that is not
 * the IMDN answer is SERVER_REJECTED; every other code as the §4 table. Never throws.
 *
 * @see docs/wire-formats.md §4, §5.4
 */
export function interpretReportAnswer(code: string, body: Uint8Array | undefined): ServerOutcome {
  const outcome = outcomeOfCode(code);
  if (outcome !== 'SUCCESS_CLASS') return outcome;
  if (body === undefined || body.length === 0) return rejected(`${code} with an empty body`);
  const answer = decodeMsgin5g1ImdnAnswer(body);
  if (!answer.ok) return rejected(`${code} with an unusable IMDN answer (${printable(answer.error)})`);
  const { result, failureCause } = answer.value;
  switch (result) {
    case 'SUCCESS':
      return { kind: 'SUCCESS' };
    case 'FAILURE':
      if (failureCause === FAILURE_CAUSE_GATEWAY_NOT_REGISTERED) {
        return { kind: 'FAILURE', reason: 'GATEWAY_NOT_REGISTERED', cause: `FAILURE ${FAILURE_CAUSE_GATEWAY_NOT_REGISTERED}` };
      }
      return rejected(failureCause === undefined ? 'FAILURE without failureCause' : `FAILURE ${printable(failureCause)}`);
    default:
      return assertNever(result, 'IMDN answer result');
  }
}

/** The `failureCause` texts of a DELY_FAILED `MSGRESP` the gateway tells apart (§5.4); any other is SERVER_REJECTED. */
const MESSAGE_FAILURE_CAUSES: ReadonlyMap<string, MessageFailureReason> = new Map<string, MessageFailureReason>([
  ['RECIPIENT_UNKNOWN', 'RECIPIENT_UNKNOWN'],
  ['PAYLOAD_TOO_LARGE', 'PAYLOAD_TOO_LARGE'],
  [FAILURE_CAUSE_GATEWAY_NOT_REGISTERED, 'GATEWAY_NOT_REGISTERED'],
]);

/**
 * The part of the §4 table every operation shares: everything but a 2.xx answer becomes an outcome
 * here (RST, timeout and network errors, 4.xx, 5.xx, 0.00 and codes that are no answer);
 * `SUCCESS_CLASS` leaves the body to the operation's reader.
 */
function outcomeOfCode(code: string): ServerOutcome & { kind: 'FAILURE' } | 'SUCCESS_CLASS' {
  switch (code) {
    case 'RST':
      return unreachable('RST: the server reset the exchange');
    case 'TIMEOUT':
      return unreachable('no answer within the deadline');
    case 'NETWORK_ERROR':
      return unreachable('network error');
  }
  const parsed = parseCoapCode(code);
  if (parsed === undefined) return rejected(`unreadable answer code ${typeof code === 'string' ? JSON.stringify(code.slice(0, 16)) : typeof code}`);
  switch (parsed.codeClass) {
    case 2:
      return 'SUCCESS_CLASS';
    case 4:
      return rejected(describeCoapCode(code));
    case 5:
      return unreachable(describeCoapCode(code));
    case 0:
      return parsed.detail === 0 ? unreachable('0.00 Empty: no final answer') : rejected(`${code} is a request code, not an answer`);
    default:
      return rejected(`${code} is not a response code`);
  }
}

function interpretSuccessClass(operation: ServerOperation, code: string, body: Uint8Array | undefined): ServerOutcome {
  if (body === undefined || body.length === 0) return rejected(`${code} with an empty body`);
  const json = parseJsonObject(body, 'answer');
  if (!json.ok) return rejected(`${code} with an unusable body (${printable(json.error)})`);
  if (member(json.value, 'result') === undefined) return rejected(`${code} without result`);
  const answer = readMsgin5g1Answer(json.value);
  if (!answer.ok) return rejected(`${code} with an unusable answer (${printable(answer.error)})`);
  const { messageType, result, failureCause } = answer.value;
  if (messageType !== operation) return rejected(`${code} answers ${printable(messageType)}, not ${operation}`);
  switch (result) {
    case 'SUCCESS':
      return { kind: 'SUCCESS' };
    case 'FAILURE': {
      if (operation === 'DEREG' && failureCause === FAILURE_CAUSE_NOT_REGISTERED) {
        return { kind: 'SUCCESS', note: `FAILURE ${FAILURE_CAUSE_NOT_REGISTERED} to a DEREG: the registration is already gone` };
      }
      if (failureCause === FAILURE_CAUSE_GATEWAY_NOT_REGISTERED) {
        // The server does not know the gateway the request names (it restarted, say): not a verdict
        // on the device, so kept apart from SERVER_REJECTED for the core to register itself again.
        return { kind: 'FAILURE', reason: 'GATEWAY_NOT_REGISTERED', cause: `FAILURE ${FAILURE_CAUSE_GATEWAY_NOT_REGISTERED}` };
      }
      return rejected(failureCause === undefined ? 'FAILURE without failureCause' : `FAILURE ${printable(failureCause)}`);
    }
    default:
      return assertNever(result, 'answer result');
  }
}

function rejected(cause: string): ServerOutcome & { kind: 'FAILURE' } {
  return { kind: 'FAILURE', reason: 'SERVER_REJECTED', cause };
}

function unreachable(cause: string): ServerOutcome & { kind: 'FAILURE' } {
  return { kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause };
}

/** Server-supplied text made safe for a log line: control characters replaced, length bounded. */
function printable(text: string): string {
  const cut = text.length > MAX_CAUSE_TEXT ? text.slice(0, MAX_CAUSE_TEXT) : text;
  let out = '';
  for (let i = 0; i < cut.length; i++) {
    const c = cut.charCodeAt(i);
    out += c < 0x20 || c === 0x7f ? '?' : cut[i];
  }
  return text.length > MAX_CAUSE_TEXT ? `${out}…` : out;
}
