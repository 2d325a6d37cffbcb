/**
 * The JSON bodies a CoAP device exchanges with the gateway for messages (docs/wire-formats.md §5.3,
 * member names of §5.4), as the simulated device writes and reads them:
 *
 * - device → gateway: `{"messageType":"MSG","destAddr":"ue-77","targetType":"UE","msgId":"<32 hex>",
 *   "appId":"42","delivStReqInd":true,"payload":"<base64>"}`, answered 2.04
 *   `{"messageType":"MSGRESP","msgId":…,"status":"DELIVERED"|"DELY_STORED"|"DELY_FAILED","failureCause"?:…}`;
 *   a report `{"messageType":"IMDN","destAddr":…,"msgId":…,"delivSt":"REPT_DELY_SUCCESS"|"REPT_DELY_FAILED"}`.
 * - gateway → device (a CON POST to the device, its 2.04 the ack): `{"messageType":"MSG","oriAddr":…,
 *   "targetType":…,"msgId":…,"appId":…,"delivStReqInd":…,"payload":…}` or
 *   `{"messageType":"IMDN","oriAddr":…,"msgId":…,"delivSt":…,"failureCause"?:…}`.
 *
 * Mapped to and from the domain messages of `@msgin5g/core` (delivery-messages.ts), so the send and
 * listen flows print the same lines on every link. Reading is lenient about members it does not
 * know (a simulator should show what arrived) and strict about the ones it reads.
 *
 * Kept apart, small, on purpose: `@msgin5g/protocol` (coap-device-body.ts) is gaining the link's own
 * encoders and decoders for these bodies; this file is then replaced by them.
 */
import {
  FAILURE_REASON_CODE,
} from '@msgin5g/protocol';
import {
  ADDRESS_TYPES,
  parseApplicationId,
  parseMessageId,
  type AddressType,
  type DeliveryReportReceiving,
  type DeliveryReportSendingRequest,
  type FailureReason,
  type MessageReceiving,
  type MessageSendingRequest,
  type MessageSendingResponse,
  type Parsed,
} from '@msgin5g/core';

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Body of the device's `MSG` POST for a MESSAGE SENDING REQUEST (the Application ID as a decimal string). */
export function encodeMsgBody(r: MessageSendingRequest): Uint8Array {
  return utf8.encode(
    JSON.stringify({
      messageType: 'MSG',
      destAddr: r.targetAddress,
      targetType: r.targetType,
      msgId: r.messageId,
      ...(r.applicationId === undefined ? {} : { appId: String(r.applicationId) }),
      delivStReqInd: r.deliveryStatusRequired,
      payload: Buffer.from(r.payload).toString('base64'),
    }),
  );
}

/** Body of the device's `IMDN` POST for a DELIVERY REPORT SENDING REQUEST. */
export function encodeImdnBody(r: DeliveryReportSendingRequest): Uint8Array {
  return utf8.encode(
    JSON.stringify({
      messageType: 'IMDN',
      destAddr: r.targetAddress,
      msgId: r.messageId,
      delivSt: r.deliveryStatus === 'FAILED' ? 'REPT_DELY_FAILED' : 'REPT_DELY_SUCCESS',
      ...(r.failureReason === undefined ? {} : { failureCause: r.failureReason }),
    }),
  );
}

/** Reads the gateway's 2.04 `MSGRESP` body into a MESSAGE SENDING RESPONSE. */
export function decodeMsgRespBody(body: Uint8Array): Parsed<MessageSendingResponse> {
  const o = parseObject(body);
  if (!o.ok) return o;
  const v = o.value;
  if (v['messageType'] !== 'MSGRESP') return bad(`messageType must be "MSGRESP", got ${JSON.stringify(v['messageType'])}`);
  const id = parseMessageId(String(v['msgId']));
  if (typeof v['msgId'] !== 'string' || !id.ok) return bad('msgId must be 32 hex characters');
  switch (v['status']) {
    case 'DELIVERED':
      return { ok: true, value: { kind: 'MESSAGE_SENDING_RESPONSE', messageId: id.value, result: 'ACCEPTED', deliveryStatus: 'DELIVERED' } };
    case 'DELY_STORED':
      return { ok: true, value: { kind: 'MESSAGE_SENDING_RESPONSE', messageId: id.value, result: 'ACCEPTED', deliveryStatus: 'STORED' } };
    case 'DELY_FAILED':
      return { ok: true, value: { kind: 'MESSAGE_SENDING_RESPONSE', messageId: id.value, result: 'FAILURE', failureReason: failureReasonOf(v['failureCause']) } };
    default:
      return bad(`status must be DELIVERED, DELY_STORED or DELY_FAILED, got ${JSON.stringify(v['status'])}`);
  }
}

/** Reads a `MSG` or `IMDN` the gateway POSTs to the device. */
export function decodeGatewayPostBody(body: Uint8Array): Parsed<MessageReceiving | DeliveryReportReceiving> {
  const o = parseObject(body);
  if (!o.ok) return o;
  const v = o.value;
  const oriAddr = v['oriAddr'];
  if (typeof oriAddr !== 'string' || oriAddr.length === 0) return bad('oriAddr must be a non-empty string');
  const id = typeof v['msgId'] === 'string' ? parseMessageId(v['msgId']) : undefined;
  if (id === undefined || !id.ok) return bad('msgId must be 32 hex characters');
  let applicationId;
  if (v['appId'] !== undefined) {
    const app = typeof v['appId'] === 'string' ? parseApplicationId(v['appId']) : undefined;
    if (app === undefined || !app.ok) return bad('appId must be a decimal string 0..65535');
    applicationId = app.value;
  }
  if (v['messageType'] === 'MSG') {
    const targetType = v['targetType'] ?? 'UE';
    if (!ADDRESS_TYPES.includes(targetType as AddressType)) return bad('targetType must be UE, AS or GROUP');
    const required = v['delivStReqInd'] ?? false;
    if (typeof required !== 'boolean') return bad('delivStReqInd must be true or false');
    const payload = typeof v['payload'] === 'string' ? base64(v['payload']) : undefined;
    if (payload === undefined || payload.length === 0) return bad('payload must be non-empty base64');
    return {
      ok: true,
      value: {
        kind: 'MESSAGE_RECEIVING',
        originatorAddress: oriAddr,
        messageId: id.value,
        payload,
        ...(applicationId === undefined ? {} : { applicationId }),
        deliveryStatusRequired: required,
        originatorType: targetType as AddressType,
      },
    };
  }
  if (v['messageType'] === 'IMDN') {
    const st = v['delivSt'];
    if (st !== 'REPT_DELY_SUCCESS' && st !== 'REPT_DELY_FAILED') return bad('delivSt must be REPT_DELY_SUCCESS or REPT_DELY_FAILED');
    return {
      ok: true,
      value: {
        kind: 'DELIVERY_REPORT_RECEIVING',
        originatorAddress: oriAddr,
        messageId: id.value,
        deliveryStatus: st === 'REPT_DELY_SUCCESS' ? 'DELIVERED' : 'FAILED',
        ...(applicationId === undefined ? {} : { applicationId }),
        ...(v['failureCause'] === undefined ? {} : { failureReason: failureReasonOf(v['failureCause']) }),
      },
    };
  }
  return bad(`messageType must be "MSG" or "IMDN", got ${JSON.stringify(v['messageType'])}`);
}

/** A §2 Failure reason name; anything else reads as UNSPECIFIED (docs/wire-formats.md §3.3). */
function failureReasonOf(v: unknown): FailureReason {
  return typeof v === 'string' && Object.hasOwn(FAILURE_REASON_CODE, v) ? (v as FailureReason) : 'UNSPECIFIED';
}

/** Canonical base64 only (what `Buffer` writes back the same), so garbage is not taken as a payload. */
function base64(s: string): Uint8Array | undefined {
  const b = Buffer.from(s, 'base64');
  return b.toString('base64') === s ? Uint8Array.from(b) : undefined;
}

function parseObject(body: Uint8Array): Parsed<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(body));
  } catch {
    return bad('body is not UTF-8 JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('body must be a JSON object');
  return { ok: true, value: value as Record<string, unknown> };
}

function bad<T>(error: string): Parsed<T> {
  return { ok: false, error };
}
