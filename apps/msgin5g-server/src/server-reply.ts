/**
 * The reference server's answer to one request: the registry operation (REG adds the UE Service
 * ID, idempotently; DEREG removes it, and answers FAILURE `NOT_REGISTERED` when it was not there)
 * and the CoAP reply it leads to, with the fault, if any, applied. Pure apart from the registry.
 * A request made on a device's behalf (it carries `gatewayUeServiceId`) is refused with FAILURE
 * `GATEWAY_NOT_REGISTERED`, the registry untouched, unless that gateway's own UE Service ID is
 * registered: the registry is in memory, so a restarted server has forgotten every gateway
 * (docs/adr/0012-server-forgot-the-gateway.md).
 * How the reply travels (piggybacked, separate, dropped, RST) is the transport's business.
 *
 * @see docs/wire-formats.md §4; TS 24.538 §7.1
 */
import { assertNever } from '@msgin5g/core';
import { COAP_CONTENT_FORMAT_JSON, encodeMsgin5g1Answer, FAILURE_CAUSE_GATEWAY_NOT_REGISTERED, FAILURE_CAUSE_NOT_REGISTERED, type Msgin5g1Answer, type Msgin5g1Request } from '@msgin5g/protocol';
import type { Fault } from './fault-spec';
import type { RequestTarget } from './request-target';

/** A CoAP reply: response code `c.dd`, options, payload. */
export interface ServerReply {
  readonly code: string;
  readonly contentFormat?: number;
  /** Max-Age option, seconds (RFC 7252 §5.10.5). */
  readonly maxAge?: number;
  readonly payload?: Buffer;
}

/** Max-Age sent with a 5.03 fault, seconds (cases C06). */
export const SERVICE_UNAVAILABLE_MAX_AGE_S = 30;

/**
 * The reply to a request, applying the operation to `registry` when the fault lets it happen
 * (no fault, delay, separate, empty, badjson, noresult). For `drop` and `rst` there is no reply
 * (`undefined`) and the registry is untouched.
 */
export function replyFor(target: RequestTarget, fault: Fault | undefined, registry: Set<string>): ServerReply | undefined {
  switch (target.kind) {
    case 'reject':
      return json(target.code, { error: target.diagnostic });
    case 'registry':
      return json('2.05', { ueServiceIds: [...registry].sort() });
    case 'msgin5g':
      return msgin5gReply(target.request, fault, registry);
    default:
      return assertNever(target, 'request target');
  }
}

function msgin5gReply(request: Msgin5g1Request, fault: Fault | undefined, registry: Set<string>): ServerReply | undefined {
  const op = request.messageType;
  if (fault === undefined) return answer(apply(request, registry));
  switch (fault.kind) {
    case 'delay':
    case 'separate':
      return answer(apply(request, registry));
    case 'drop':
    case 'rst':
      return undefined;
    case 'lost':
      apply(request, registry);
      return undefined;
    case 'fail':
      return answer({ messageType: op, result: 'FAILURE', failureCause: fault.failureCause });
    case 'code':
      return fault.code === '5.03' ? { code: fault.code, maxAge: SERVICE_UNAVAILABLE_MAX_AGE_S } : { code: fault.code };
    case 'empty':
      apply(request, registry);
      return { code: '2.04' };
    case 'badjson':
      apply(request, registry);
      return { code: '2.04', contentFormat: COAP_CONTENT_FORMAT_JSON, payload: Buffer.from('{not json', 'utf8') };
    case 'noresult':
      apply(request, registry);
      return json('2.04', { messageType: op });
    default:
      return assertNever(fault, 'fault');
  }
}

/** The registry operation and its MSGin5G-1 answer. */
function apply(request: Msgin5g1Request, registry: Set<string>): Msgin5g1Answer {
  const { messageType, ueServiceId, gatewayUeServiceId } = request;
  if (gatewayUeServiceId !== undefined && !registry.has(gatewayUeServiceId)) {
    return { messageType, result: 'FAILURE', failureCause: FAILURE_CAUSE_GATEWAY_NOT_REGISTERED };
  }
  switch (messageType) {
    case 'REG':
      registry.add(ueServiceId);
      return { messageType, result: 'SUCCESS' };
    case 'DEREG':
      return registry.delete(ueServiceId)
        ? { messageType, result: 'SUCCESS' }
        : { messageType, result: 'FAILURE', failureCause: FAILURE_CAUSE_NOT_REGISTERED };
    default:
      return assertNever(messageType, 'messageType');
  }
}

function answer(a: Msgin5g1Answer): ServerReply {
  return { code: '2.04', contentFormat: COAP_CONTENT_FORMAT_JSON, payload: Buffer.from(encodeMsgin5g1Answer(a)) };
}

function json(code: string, body: unknown): ServerReply {
  return { code, contentFormat: COAP_CONTENT_FORMAT_JSON, payload: Buffer.from(JSON.stringify(body), 'utf8') };
}
