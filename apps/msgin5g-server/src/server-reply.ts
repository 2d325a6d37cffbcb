/**
 * The reference server's answer to one request: the registry operation (`registry.ts`: REG adds
 * the UE Service ID, idempotently; DEREG removes it, and answers FAILURE `NOT_REGISTERED` when it
 * was not there), a MSG or IMDN routed (`message-router.ts`), an admin page, and the CoAP reply it
 * leads to, with the fault, if any, applied (fault-spec.ts; a MSG or IMDN only when the spec names it). Pure apart from
 * the registry and the router.
 * A request made on a device's behalf (it carries `gatewayUeServiceId`) is refused with FAILURE
 * `GATEWAY_NOT_REGISTERED`, the registry untouched, unless that gateway's own UE Service ID is
 * registered: the registry is in memory, so a restarted server has forgotten every gateway
 * (docs/adr/0012-server-forgot-the-gateway.md).
 * How the reply travels (piggybacked, separate, dropped, RST) is the transport's business.
 *
 * @see docs/wire-formats.md §4, §5.4; TS 24.538 §7.1
 */
import { assertNever } from '@msgin5g/core';
import {
  COAP_CONTENT_FORMAT_JSON,
  encodeMsgin5g1Answer,
  encodeMsgin5g1MessageAnswer,
  type Msgin5g1Answer,
  type Msgin5g1ImdnAnswer,
  type Msgin5g1MessageRequest,
  type Msgin5g1MsgResp,
  type Msgin5g1Request,
} from '@msgin5g/protocol';
import type { Fault } from './fault-spec';
import type { MessageRouter } from './message-router';
import type { Registry } from './registry';
import type { RequestTarget } from './request-target';

/** What a reply may read and change. */
export interface ServerState {
  readonly registry: Registry;
  readonly router: MessageRouter;
}

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
export function replyFor(target: RequestTarget, fault: Fault | undefined, state: ServerState): ServerReply | undefined {
  switch (target.kind) {
    case 'reject':
      return json(target.code, { error: target.diagnostic });
    case 'registry':
      return json('2.05', { ueServiceIds: [...state.registry.ids].sort() });
    case 'messages':
      return json('2.05', state.router.messagesPage(target.since));
    case 'message':
      return messageReply(target.request, fault, state.router);
    case 'msgin5g':
      return msgin5gReply(target.request, target.notifyUri, fault, state.registry);
    default:
      return assertNever(target, 'request target');
  }
}

/** A MSG or IMDN routed (message-router.ts) and answered, with the fault applied as for REG/DEREG (fault-spec.ts). */
function messageReply(request: Msgin5g1MessageRequest, fault: Fault | undefined, router: MessageRouter): ServerReply | undefined {
  const route = (): Msgin5g1MsgResp | Msgin5g1ImdnAnswer => (request.messageType === 'MSG' ? router.onMessage(request) : router.onReport(request));
  const reply = (a: Msgin5g1MsgResp | Msgin5g1ImdnAnswer): ServerReply => ({ code: '2.04', contentFormat: COAP_CONTENT_FORMAT_JSON, payload: Buffer.from(encodeMsgin5g1MessageAnswer(a)) });
  if (fault === undefined) return reply(route());
  switch (fault.kind) {
    case 'delay':
    case 'separate':
      return reply(route());
    case 'drop':
    case 'rst':
      return undefined;
    case 'lost':
      route();
      return undefined;
    case 'fail':
      return reply(
        request.messageType === 'MSG'
          ? { messageType: 'MSGRESP', messageId: request.messageId, status: 'DELY_FAILED', failureCause: fault.failureCause }
          : { messageType: 'IMDN', result: 'FAILURE', failureCause: fault.failureCause },
      );
    case 'code':
      return fault.code === '5.03' ? { code: fault.code, maxAge: SERVICE_UNAVAILABLE_MAX_AGE_S } : { code: fault.code };
    case 'empty':
      route();
      return { code: '2.04' };
    case 'badjson':
      route();
      return { code: '2.04', contentFormat: COAP_CONTENT_FORMAT_JSON, payload: Buffer.from('{not json', 'utf8') };
    case 'noresult': {
      const a = route();
      return json('2.04', a.messageType === 'MSGRESP' ? { messageType: 'MSGRESP', msgId: a.messageId } : { messageType: 'IMDN' });
    }
    default:
      return assertNever(fault, 'fault');
  }
}

function msgin5gReply(request: Msgin5g1Request, notifyUri: string | undefined, fault: Fault | undefined, registry: Registry): ServerReply | undefined {
  const op = request.messageType;
  const apply = (r: Msgin5g1Request, reg: Registry): Msgin5g1Answer => reg.apply(r, notifyUri);
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

function answer(a: Msgin5g1Answer): ServerReply {
  return { code: '2.04', contentFormat: COAP_CONTENT_FORMAT_JSON, payload: Buffer.from(encodeMsgin5g1Answer(a)) };
}

function json(code: string, body: unknown): ServerReply {
  return { code, contentFormat: COAP_CONTENT_FORMAT_JSON, payload: Buffer.from(JSON.stringify(body), 'utf8') };
}
