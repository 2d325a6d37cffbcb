/**
 * JSON bodies of the CoAP device link for messages (docs/wire-formats.md §3.3 "Messages", §5.3),
 * member names as MSGin5G-1 uses them (§5.4, TS 29.538 style). POST to `/msgin5g`, Content-Format 50,
 * in both directions.
 *
 * Device → gateway (read strictly by {@link decodeCoapDeviceDelivery}, as REG / DEREG are: an unknown
 * member, a wrong type or a bad value is an error, answered 4.00):
 * - `{"messageType":"MSG","destAddr":"ue-77","targetType":"UE","msgId":"<32 hex>","appId":"42","delivStReqInd":true,"payload":"<base64>"}`:
 *   MESSAGE SENDING REQUEST. `targetType` (`UE`, `AS`, `GROUP`; absent: `UE`), `appId` (also a JSON
 *   number, as in REG) and `delivStReqInd` (absent: false) are optional. No `oriAddr`: the gateway
 *   knows who the device is.
 * - `{"messageType":"IMDN","destAddr":"…","msgId":"…","delivSt":"REPT_DELY_SUCCESS"|"REPT_DELY_FAILED","appId":"42","failureCause":"…"}`:
 *   DELIVERY REPORT SENDING REQUEST; `appId` and `failureCause` optional.
 *
 * Gateway → device (read leniently by the device-side decoders: unknown members ignored):
 * - `{"messageType":"MSG","oriAddr":"…","targetType":"UE","msgId":"…","appId":"42","delivStReqInd":false,"payload":"<base64>"}`:
 *   MESSAGE RECEIVING (`targetType` is the originator's type; `appId`, the receiving Application
 *   Client, only when known).
 * - `{"messageType":"IMDN","oriAddr":"…","msgId":"…","delivSt":"…","appId":"42","failureCause":"…"}`:
 *   DELIVERY REPORT RECEIVING (`appId`, `failureCause` when present).
 * - `{"messageType":"MSGRESP","msgId":"…","status":"DELIVERED"|"DELY_STORED"|"DELY_FAILED","failureCause":"…","appId":"42"}`:
 *   MESSAGE SENDING RESPONSE, the 2.04 answer to a device's MSG. `failureCause` (a §2 Failure reason
 *   name) only with `DELY_FAILED`. An accepted response without a Delivery status is written
 *   `DELIVERED` (the server took the message; JSON has no "accepted, status unknown").
 *
 * Values: `msgId` 32 hex characters (read in either case, written lower-case); addresses 5..255
 * octets of UTF-8 (§5.1); `payload` standard base64 with padding (RFC 4648 §4), canonical, 1..65535
 * octets decoded; `failureCause` a Failure reason name (§2), an unknown name read as `UNSPECIFIED`
 * (as unknown codes are in M5 binary). A Delivery status `STORED` has no IMDN form: encoding it throws.
 *
 * Rejected alternative: carrying the M5 binary octets of §5.2 in the CoAP payload — the CoAP link
 * speaks JSON for REG / DEREG (§3.3), and a device with a JSON library should not need a second codec.
 *
 * Pure: no I/O.
 * @see docs/wire-formats.md §3.3, §5.3, §5.4; TS 24.538 Annex A.3
 */
import {
  ADDRESS_TYPES,
  FAILURE_REASONS,
  PAYLOAD_MAX_OCTETS,
  PAYLOAD_MIN_OCTETS,
  SERVICE_ADDRESS_MAX_OCTETS,
  SERVICE_ADDRESS_MIN_OCTETS,
  assertNever,
  parseMessageId,
  type AddressType,
  type ApplicationId,
  type DeliveryReportReceiving,
  type DeliveryReportSendingRequest,
  type DeliveryStatus,
  type FailureReason,
  type MessageId,
  type MessageReceiving,
  type MessageSendingRequest,
  type MessageSendingResponse,
  type Parsed,
} from '@msgin5g/core';
import { MAX_JSON_BODY_OCTETS, bad, describe, encodeJson, member, ok, parseJsonObject, readApplicationId, readEnum, readString, unknownMember, type JsonObject } from './json-body';

/** A message-delivery body a device POSTs to the gateway. */
export type CoapDeviceDelivery = MessageSendingRequest | DeliveryReportSendingRequest;
/** A message-delivery body the gateway POSTs to a device. */
export type CoapGatewayDelivery = MessageReceiving | DeliveryReportReceiving;

/** `messageType` values of the message-delivery bodies. */
export const COAP_DELIVERY_MESSAGE_TYPES: readonly ('MSG' | 'IMDN')[] = ['MSG', 'IMDN'];
/** `delivSt` of an IMDN (TS 29.538 names) ↔ the Delivery status of §5.1. */
export const COAP_IMDN_DELIVERY_STATUS = { DELIVERED: 'REPT_DELY_SUCCESS', FAILED: 'REPT_DELY_FAILED' } as const;
/** `status` of a MSGRESP (TS 29.538 names). */
export const COAP_MSGRESP_STATUSES: readonly ('DELIVERED' | 'DELY_STORED' | 'DELY_FAILED')[] = ['DELIVERED', 'DELY_STORED', 'DELY_FAILED'];

const REQUEST = 'CoAP device request';
const GATEWAY = 'CoAP gateway message';
const RESPONSE = 'CoAP message response';
const MSG_MEMBERS: ReadonlySet<string> = new Set(['messageType', 'destAddr', 'targetType', 'msgId', 'appId', 'delivStReqInd', 'payload']);
const IMDN_MEMBERS: ReadonlySet<string> = new Set(['messageType', 'destAddr', 'msgId', 'delivSt', 'appId', 'failureCause']);
const IMDN_STATUSES: readonly string[] = Object.values(COAP_IMDN_DELIVERY_STATUS);
const KNOWN_REASONS: ReadonlySet<string> = new Set(FAILURE_REASONS);
const utf8Encoder = new TextEncoder();

// ---- device → gateway -----------------------------------------------------------------------

/**
 * Reads a device's `MSG` or `IMDN` body strictly; the error text is suitable as a 4.00 diagnostic
 * (prefixed `CoAP device request: `). Other `messageType`s are an error here (REG / DEREG:
 * `decodeCoapDeviceBody` in coap-device-body.ts reads all four).
 */
export function decodeCoapDeviceDelivery(body: Uint8Array): Parsed<CoapDeviceDelivery> {
  const json = parseJsonObject(body, REQUEST);
  if (!json.ok) return json;
  return decodeDeviceDeliveryObject(json.value);
}

/** {@link decodeCoapDeviceDelivery} on a parsed object (for `decodeCoapDeviceBody`; not exported from the package). */
export function decodeDeviceDeliveryObject(obj: JsonObject): Parsed<CoapDeviceDelivery> {
  const messageType = readEnum(obj, 'messageType', COAP_DELIVERY_MESSAGE_TYPES);
  if (!messageType.ok) return bad(`${REQUEST}: ${messageType.error}`);
  const fail = (error: string) => bad<CoapDeviceDelivery>(`${REQUEST}: ${error}`);
  if (member(obj, 'oriAddr') !== undefined) return fail(`member "oriAddr" is set by the gateway, not the device, in a ${messageType.value}`);
  switch (messageType.value) {
    case 'MSG': {
      const extra = unknownMember(obj, MSG_MEMBERS);
      if (extra !== undefined) return fail(`unknown member ${JSON.stringify(extra.slice(0, 40))} in a MSG`);
      const targetAddress = readAddress(obj, 'destAddr', true);
      if (!targetAddress.ok) return fail(targetAddress.error);
      const targetType = readAddressType(obj);
      if (!targetType.ok) return fail(targetType.error);
      const messageId = readMessageId(obj);
      if (!messageId.ok) return fail(messageId.error);
      const app = readApplicationId(obj, 'appId', false, true);
      if (!app.ok) return fail(app.error);
      const required = readBoolean(obj, 'delivStReqInd');
      if (!required.ok) return fail(required.error);
      const payload = readPayload(obj, true);
      if (!payload.ok) return fail(payload.error);
      return ok({
        kind: 'MESSAGE_SENDING_REQUEST',
        targetAddress: targetAddress.value as string,
        messageId: messageId.value,
        payload: payload.value as Uint8Array,
        ...(app.value === undefined ? {} : { applicationId: app.value }),
        deliveryStatusRequired: required.value,
        targetType: targetType.value,
      });
    }
    case 'IMDN': {
      const extra = unknownMember(obj, IMDN_MEMBERS);
      if (extra !== undefined) return fail(`unknown member ${JSON.stringify(extra.slice(0, 40))} in an IMDN`);
      const targetAddress = readAddress(obj, 'destAddr', true);
      if (!targetAddress.ok) return fail(targetAddress.error);
      const messageId = readMessageId(obj);
      if (!messageId.ok) return fail(messageId.error);
      const status = readImdnStatus(obj);
      if (!status.ok) return fail(status.error);
      const app = readApplicationId(obj, 'appId', false, true);
      if (!app.ok) return fail(app.error);
      const cause = readFailureCause(obj);
      if (!cause.ok) return fail(cause.error);
      return ok({
        kind: 'DELIVERY_REPORT_SENDING_REQUEST',
        targetAddress: targetAddress.value as string,
        messageId: messageId.value,
        deliveryStatus: status.value,
        ...(app.value === undefined ? {} : { applicationId: app.value }),
        ...(cause.value === undefined ? {} : { failureReason: cause.value }),
      });
    }
    default:
      return assertNever(messageType.value, 'messageType');
  }
}

/**
 * UTF-8 JSON of a device's `MSG` / `IMDN` (used by the device simulator and tests), members in the
 * order of the module docs; optional ones only when set (`targetType` and `delivStReqInd` always).
 * @throws RangeError for a value with no JSON form (an IMDN with Delivery status `STORED`).
 */
export function encodeCoapDeviceDelivery(m: CoapDeviceDelivery): Uint8Array {
  switch (m.kind) {
    case 'MESSAGE_SENDING_REQUEST': {
      const body: Record<string, string | boolean> = { messageType: 'MSG', destAddr: m.targetAddress, targetType: m.targetType, msgId: m.messageId };
      if (m.applicationId !== undefined) body['appId'] = String(m.applicationId);
      body['delivStReqInd'] = m.deliveryStatusRequired;
      body['payload'] = base64(m.payload);
      return encodeJson(body);
    }
    case 'DELIVERY_REPORT_SENDING_REQUEST': {
      const body: Record<string, string> = { messageType: 'IMDN', destAddr: m.targetAddress, msgId: m.messageId, delivSt: imdnStatus(m.deliveryStatus) };
      if (m.applicationId !== undefined) body['appId'] = String(m.applicationId);
      if (m.failureReason !== undefined) body['failureCause'] = m.failureReason;
      return encodeJson(body);
    }
    default:
      return assertNever(m, 'device delivery kind');
  }
}

// ---- gateway → device -----------------------------------------------------------------------

/**
 * UTF-8 JSON of the gateway's `MSG` (MESSAGE RECEIVING) or `IMDN` (DELIVERY REPORT RECEIVING) to a
 * device, members in the order of the module docs.
 * @throws RangeError for a value with no JSON form (an IMDN with Delivery status `STORED`).
 */
export function encodeCoapGatewayDelivery(m: CoapGatewayDelivery): Uint8Array {
  switch (m.kind) {
    case 'MESSAGE_RECEIVING': {
      const body: Record<string, string | boolean> = { messageType: 'MSG', oriAddr: m.originatorAddress, targetType: m.originatorType, msgId: m.messageId };
      if (m.applicationId !== undefined) body['appId'] = String(m.applicationId);
      body['delivStReqInd'] = m.deliveryStatusRequired;
      body['payload'] = base64(m.payload);
      return encodeJson(body);
    }
    case 'DELIVERY_REPORT_RECEIVING': {
      const body: Record<string, string> = { messageType: 'IMDN', oriAddr: m.originatorAddress, msgId: m.messageId, delivSt: imdnStatus(m.deliveryStatus) };
      if (m.applicationId !== undefined) body['appId'] = String(m.applicationId);
      if (m.failureReason !== undefined) body['failureCause'] = m.failureReason;
      return encodeJson(body);
    }
    default:
      return assertNever(m, 'gateway delivery kind');
  }
}

/**
 * Reads the gateway's `MSG` / `IMDN` body on the device side (the device simulator, tests):
 * required members checked, unknown ones ignored.
 */
export function decodeCoapGatewayDelivery(body: Uint8Array): Parsed<CoapGatewayDelivery> {
  const json = parseJsonObject(body, GATEWAY);
  if (!json.ok) return json;
  const obj = json.value;
  const fail = (error: string) => bad<CoapGatewayDelivery>(`${GATEWAY}: ${error}`);
  const messageType = readEnum(obj, 'messageType', COAP_DELIVERY_MESSAGE_TYPES);
  if (!messageType.ok) return fail(messageType.error);
  const originatorAddress = readAddress(obj, 'oriAddr', true);
  if (!originatorAddress.ok) return fail(originatorAddress.error);
  const messageId = readMessageId(obj);
  if (!messageId.ok) return fail(messageId.error);
  const app = readApplicationId(obj, 'appId', false);
  if (!app.ok) return fail(app.error);
  const appMember = app.value === undefined ? {} : { applicationId: app.value };
  switch (messageType.value) {
    case 'MSG': {
      const originatorType = readAddressType(obj);
      if (!originatorType.ok) return fail(originatorType.error);
      const required = readBoolean(obj, 'delivStReqInd');
      if (!required.ok) return fail(required.error);
      const payload = readPayload(obj, true);
      if (!payload.ok) return fail(payload.error);
      return ok({
        kind: 'MESSAGE_RECEIVING',
        originatorAddress: originatorAddress.value as string,
        messageId: messageId.value,
        payload: payload.value as Uint8Array,
        ...appMember,
        deliveryStatusRequired: required.value,
        originatorType: originatorType.value,
      });
    }
    case 'IMDN': {
      const status = readImdnStatus(obj);
      if (!status.ok) return fail(status.error);
      const cause = readFailureCause(obj);
      if (!cause.ok) return fail(cause.error);
      return ok({
        kind: 'DELIVERY_REPORT_RECEIVING',
        originatorAddress: originatorAddress.value as string,
        messageId: messageId.value,
        deliveryStatus: status.value,
        ...appMember,
        ...(cause.value === undefined ? {} : { failureReason: cause.value }),
      });
    }
    default:
      return assertNever(messageType.value, 'messageType');
  }
}

/**
 * UTF-8 JSON of a MESSAGE SENDING RESPONSE as the 2.04 body of a device's `MSG`:
 * `messageType`, `msgId`, `status`, then `failureCause` (failures), then `appId` (when known).
 */
export function encodeCoapMessageResponse(r: MessageSendingResponse): Uint8Array {
  const body: Record<string, string> = { messageType: 'MSGRESP', msgId: r.messageId };
  switch (r.result) {
    case 'ACCEPTED':
      body['status'] = r.deliveryStatus === 'STORED' ? 'DELY_STORED' : 'DELIVERED';
      break;
    case 'FAILURE':
      body['status'] = 'DELY_FAILED';
      body['failureCause'] = r.failureReason;
      break;
    default:
      return assertNever(r, 'message sending result');
  }
  if (r.applicationId !== undefined) body['appId'] = String(r.applicationId);
  return encodeJson(body);
}

/**
 * Reads a `MSGRESP` on the device side: `DELIVERED` / `DELY_STORED` are accepted with that Delivery
 * status, `DELY_FAILED` a failure whose `failureCause` (absent or unknown: `UNSPECIFIED`) is the
 * Failure reason. A `failureCause` on an accepted response is an error. Unknown members ignored.
 */
export function decodeCoapMessageResponse(body: Uint8Array): Parsed<MessageSendingResponse> {
  const json = parseJsonObject(body, RESPONSE);
  if (!json.ok) return json;
  const obj = json.value;
  const fail = (error: string) => bad<MessageSendingResponse>(`${RESPONSE}: ${error}`);
  const messageType = readEnum(obj, 'messageType', ['MSGRESP'] as const);
  if (!messageType.ok) return fail(messageType.error);
  const messageId = readMessageId(obj);
  if (!messageId.ok) return fail(messageId.error);
  const status = readEnum(obj, 'status', COAP_MSGRESP_STATUSES);
  if (!status.ok) return fail(status.error);
  const app = readApplicationId(obj, 'appId', false);
  if (!app.ok) return fail(app.error);
  const cause = readFailureCause(obj);
  if (!cause.ok) return fail(cause.error);
  const appMember = app.value === undefined ? {} : { applicationId: app.value };
  if (status.value === 'DELY_FAILED') {
    return ok({ kind: 'MESSAGE_SENDING_RESPONSE', messageId: messageId.value, result: 'FAILURE', failureReason: cause.value ?? 'UNSPECIFIED', ...appMember });
  }
  if (cause.value !== undefined) return fail(`a ${status.value} response carries "failureCause"`);
  return ok({ kind: 'MESSAGE_SENDING_RESPONSE', messageId: messageId.value, result: 'ACCEPTED', ...appMember, deliveryStatus: status.value === 'DELY_STORED' ? 'STORED' : 'DELIVERED' });
}

// ---- sizes ----------------------------------------------------------------------------------

/**
 * Octets of the gateway's `MSG` body besides the base64 of its payload, every other member at its
 * longest JSON form: `oriAddr` of 255 octets that JSON writes as 6 characters each (`\u0001`: a
 * control character is valid UTF-8, so the M5 codec accepts it), `targetType` `GROUP`, `appId`
 * `65535`, `delivStReqInd` `false`. Computed by encoding that body.
 */
export const COAP_MSG_BODY_OVERHEAD_OCTETS: number = (() => {
  const worst: MessageReceiving = {
    kind: 'MESSAGE_RECEIVING',
    originatorAddress: '\u0001'.repeat(SERVICE_ADDRESS_MAX_OCTETS),
    messageId: 'f'.repeat(32) as MessageId,
    payload: Uint8Array.of(1, 2, 3),
    applicationId: 65535 as ApplicationId,
    deliveryStatusRequired: false,
    originatorType: 'GROUP',
  };
  return encodeCoapGatewayDelivery(worst).length - 4; // the 3-octet payload is 4 base64 characters
})();

/**
 * The largest payload, octets, of a gateway `MSG` whose body must fit in `bodyOctets` (default
 * {@link MAX_JSON_BODY_OCTETS}, the CoAP link's body limit) whatever its other members: base64 takes
 * 4 characters per 3 octets. With 4,096 octets: see `COAP_MSG_BODY_OVERHEAD_OCTETS`.
 */
export function coapMessageReceivingMaxPayloadOctets(bodyOctets: number = MAX_JSON_BODY_OCTETS): number {
  const room = bodyOctets - COAP_MSG_BODY_OVERHEAD_OCTETS;
  return room < 4 ? 0 : Math.min(PAYLOAD_MAX_OCTETS, Math.floor(room / 4) * 3);
}

// ---- members --------------------------------------------------------------------------------

function base64(payload: Uint8Array): string {
  return Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('base64');
}

function imdnStatus(status: DeliveryStatus): string {
  switch (status) {
    case 'DELIVERED':
    case 'FAILED':
      return COAP_IMDN_DELIVERY_STATUS[status];
    case 'STORED':
      throw new RangeError('an IMDN has no delivSt for Delivery status STORED (only REPT_DELY_SUCCESS and REPT_DELY_FAILED)');
    default:
      return assertNever(status, 'delivery status');
  }
}

function readImdnStatus(obj: JsonObject): Parsed<DeliveryStatus> {
  const s = readEnum(obj, 'delivSt', IMDN_STATUSES);
  if (!s.ok) return s as Parsed<never>;
  return ok(s.value === COAP_IMDN_DELIVERY_STATUS.DELIVERED ? 'DELIVERED' : 'FAILED');
}

function readAddress(obj: JsonObject, name: string, required: boolean): Parsed<string | undefined> {
  const s = readString(obj, name, required);
  if (!s.ok || s.value === undefined) return s;
  const octets = utf8Encoder.encode(s.value).length;
  if (octets < SERVICE_ADDRESS_MIN_OCTETS || octets > SERVICE_ADDRESS_MAX_OCTETS) {
    return bad(`member "${name}" must be ${SERVICE_ADDRESS_MIN_OCTETS}..${SERVICE_ADDRESS_MAX_OCTETS} octets of UTF-8, got ${octets}`);
  }
  return s;
}

function readAddressType(obj: JsonObject): Parsed<AddressType> {
  if (member(obj, 'targetType') === undefined) return ok('UE');
  return readEnum(obj, 'targetType', ADDRESS_TYPES);
}

function readMessageId(obj: JsonObject): Parsed<MessageId> {
  const s = readString(obj, 'msgId', true);
  if (!s.ok) return s as Parsed<never>;
  const id = parseMessageId(s.value as string);
  return id.ok ? id : bad(`member "msgId" must be 32 hex characters (16 octets), got ${describe(s.value)}`);
}

function readBoolean(obj: JsonObject, name: string): Parsed<boolean> {
  const v = member(obj, name);
  if (v === undefined) return ok(false);
  return typeof v === 'boolean' ? ok(v) : bad(`member "${name}" must be true or false, got ${describe(v)}`);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function readPayload(obj: JsonObject, required: boolean): Parsed<Uint8Array | undefined> {
  const s = readString(obj, 'payload', required);
  if (!s.ok || s.value === undefined) return s as Parsed<undefined>;
  const text = s.value;
  if (!BASE64.test(text)) return bad(`member "payload" must be base64 (RFC 4648 §4, with padding), got ${describe(text)}`);
  const octets = Buffer.from(text, 'base64');
  if (octets.toString('base64') !== text) return bad('member "payload" is not canonical base64 (non-zero bits after the last octet)');
  if (octets.length < PAYLOAD_MIN_OCTETS || octets.length > PAYLOAD_MAX_OCTETS) return bad(`member "payload" must hold ${PAYLOAD_MIN_OCTETS}..${PAYLOAD_MAX_OCTETS} octets, got ${octets.length}`);
  return ok(Uint8Array.from(octets));
}

function readFailureCause(obj: JsonObject): Parsed<FailureReason | undefined> {
  const s = readString(obj, 'failureCause', false);
  if (!s.ok || s.value === undefined) return s as Parsed<undefined>;
  if (s.value.length === 0 || s.value.length > 256) return bad(`member "failureCause" must be 1..256 characters, got ${s.value.length}`);
  return ok(KNOWN_REASONS.has(s.value) ? (s.value as FailureReason) : 'UNSPECIFIED');
}
