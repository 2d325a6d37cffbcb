/**
 * MSGin5G-1 JSON bodies for messages and delivery status reports (docs/wire-formats.md §5.4; member
 * names from TS 29.538, provisional): `MSG` and `IMDN` requests — uplink from the gateway to the
 * server on a device's behalf, and downlink from the server to the gateway's own endpoint
 * (docs/adr/0013) — and their answers: `MSGRESP` for a `MSG`, `{"messageType":"IMDN","result":…}`
 * for an `IMDN`.
 *
 * Requests are read strictly (unknown members, wrong types, bad ids are errors with a clear text);
 * answers leniently (unknown members ignored), as in `msgin5g1.ts`.
 */
import {
  ADDRESS_TYPES,
  FAILURE_REASONS,
  parseMessageId,
  parseUeServiceId,
  PAYLOAD_MAX_OCTETS,
  PAYLOAD_MIN_OCTETS,
  SERVICE_ADDRESS_MAX_OCTETS,
  SERVICE_ADDRESS_MIN_OCTETS,
  type AddressType,
  type ApplicationId,
  type DeliveryStatus,
  type FailureReason,
  type MessageId,
  type Parsed,
  type ServiceAddress,
  type UeServiceId,
} from '@msgin5g/core';
import { bad, describe, encodeJson, member, MAX_JSON_BODY_OCTETS, ok, parseJsonObject, readApplicationId, readEnum, readString, unknownMember, type JsonObject } from './json-body';

/** A `MSG` request body (§5.4). `gatewayUeServiceId`: the gateway a device is behind (uplink only). */
export interface Msgin5g1Msg {
  readonly messageType: 'MSG';
  /** [oriAddr] */
  readonly originatorAddress: ServiceAddress;
  /**
   * [oriType] What `originatorAddress` names, UE or AS (provisional member, §5.4: TS 29.538 has no
   * originator type, `targetType` describes `destAddr`). Sent by the server on a MSG it delivers to
   * the gateway, so the gateway can fill the 0x04 originator type; absent on the wire = UE.
   */
  readonly originatorType?: OriginatorType;
  /** [destAddr] */
  readonly targetAddress: ServiceAddress;
  /** [targetType] What `targetAddress` names; absent on the wire = UE. */
  readonly targetType: AddressType;
  /** [msgId] */
  readonly messageId: MessageId;
  /** [appId] */
  readonly applicationId?: ApplicationId;
  /** [delivStReqInd] */
  readonly deliveryStatusRequired: boolean;
  /** [payload] 1..65535 octets, base64 on the wire. */
  readonly payload: Uint8Array;
  /** [gatewayUeServiceId] Provisional, as in the REG of §4. */
  readonly gatewayUeServiceId?: UeServiceId;
}

/** An `IMDN` request body (§5.4): a delivery status report on message `messageId`. */
export interface Msgin5g1Imdn {
  readonly messageType: 'IMDN';
  /** [oriAddr] Who reports (the recipient of the message reported on). */
  readonly originatorAddress: ServiceAddress;
  /** [destAddr] The originator of the message reported on. */
  readonly targetAddress: ServiceAddress;
  /** [msgId] */
  readonly messageId: MessageId;
  /** [delivSt] */
  readonly deliveryStatus: DeliveryStatus;
  /** [failureCause] */
  readonly failureReason?: FailureReason;
  readonly gatewayUeServiceId?: UeServiceId;
}

/** What an originator can be (§5.4 `oriType`): a group sends nothing. */
export type OriginatorType = Exclude<AddressType, 'GROUP'>;
export const ORIGINATOR_TYPES: readonly OriginatorType[] = ['UE', 'AS'];

/** Either request body. */
export type Msgin5g1MessageRequest = Msgin5g1Msg | Msgin5g1Imdn;

/** `MSGRESP` (§5.4), the answer to a `MSG`: `status` what became of the message; `failureCause` with DELY_FAILED. */
export interface Msgin5g1MsgResp {
  readonly messageType: 'MSGRESP';
  readonly messageId: MessageId;
  readonly status: MsgRespStatus;
  /** Free text; the M5 Failure reason name when it is one (`RECIPIENT_UNKNOWN`, `CONGESTION`, …). */
  readonly failureCause?: string;
}
export type MsgRespStatus = 'DELIVERED' | 'DELY_STORED' | 'DELY_FAILED';
export const MSGRESP_STATUSES: readonly MsgRespStatus[] = ['DELIVERED', 'DELY_STORED', 'DELY_FAILED'];

/** The answer to an `IMDN`: `{"messageType":"IMDN","result":"SUCCESS"}`, or FAILURE with `failureCause`. */
export interface Msgin5g1ImdnAnswer {
  readonly messageType: 'IMDN';
  readonly result: 'SUCCESS' | 'FAILURE';
  readonly failureCause?: string;
}

/** `delivSt` on the wire for each delivery status (TS 29.538 names; STORED provisional). */
export const DELIVERY_STATUS_WIRE: Readonly<Record<DeliveryStatus, string>> = {
  DELIVERED: 'REPT_DELY_SUCCESS',
  FAILED: 'REPT_DELY_FAILED',
  STORED: 'REPT_DELY_STORED',
};
const DELIVERY_STATUS_OF_WIRE: ReadonlyMap<string, DeliveryStatus> = new Map(Object.entries(DELIVERY_STATUS_WIRE).map(([k, v]) => [v, k as DeliveryStatus]));

const MSG_MEMBERS: ReadonlySet<string> = new Set(['messageType', 'oriAddr', 'oriType', 'destAddr', 'targetType', 'msgId', 'appId', 'delivStReqInd', 'payload', 'gatewayUeServiceId']);
const IMDN_MEMBERS: ReadonlySet<string> = new Set(['messageType', 'oriAddr', 'destAddr', 'msgId', 'delivSt', 'failureCause', 'gatewayUeServiceId']);
const REQUEST = 'MSGin5G-1 message request';
const ANSWER = 'MSGin5G-1 message answer';
const utf8 = new TextEncoder();

/** UTF-8 JSON of a `MSG` or `IMDN`, members in the order of §5.4; `oriType` and `appId` only when set. */
export function encodeMsgin5g1MessageRequest(r: Msgin5g1MessageRequest): Uint8Array {
  if (r.messageType === 'MSG') {
    const body: Record<string, string | boolean> = { messageType: 'MSG', oriAddr: r.originatorAddress };
    if (r.originatorType !== undefined) body['oriType'] = r.originatorType;
    Object.assign(body, { destAddr: r.targetAddress, targetType: r.targetType, msgId: r.messageId });
    if (r.applicationId !== undefined) body['appId'] = String(r.applicationId);
    body['delivStReqInd'] = r.deliveryStatusRequired;
    body['payload'] = Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength).toString('base64');
    if (r.gatewayUeServiceId !== undefined) body['gatewayUeServiceId'] = r.gatewayUeServiceId;
    return encodeJson(body);
  }
  const body: Record<string, string> = { messageType: 'IMDN', oriAddr: r.originatorAddress, destAddr: r.targetAddress, msgId: r.messageId, delivSt: DELIVERY_STATUS_WIRE[r.deliveryStatus] };
  if (r.failureReason !== undefined) body['failureCause'] = r.failureReason;
  if (r.gatewayUeServiceId !== undefined) body['gatewayUeServiceId'] = r.gatewayUeServiceId;
  return encodeJson(body);
}

/**
 * Reads a `MSG` or `IMDN` body strictly. Errors name the problem: not a JSON object, an unknown
 * member, `messageType` neither, an address not 5..255 octets of UTF-8, `msgId` not 32 hex
 * characters, `payload` not canonical base64 of 1..65535 octets, `delivStReqInd` not a boolean,
 * `delivSt`, `targetType` or `oriType` not in its table, `failureCause` not a Failure reason name.
 */
export function decodeMsgin5g1MessageRequest(body: Uint8Array): Parsed<Msgin5g1MessageRequest> {
  const json = parseJsonObject(body, REQUEST);
  if (!json.ok) return json;
  const obj = json.value;
  const type = readEnum(obj, 'messageType', ['MSG', 'IMDN'] as const);
  if (!type.ok) return bad(`${REQUEST}: ${type.error}`);
  const r = type.value === 'MSG' ? readMsg(obj) : readImdn(obj);
  return r.ok ? r : bad(`${REQUEST}: ${r.error}`);
}

function readMsg(obj: JsonObject): Parsed<Msgin5g1Msg> {
  const extra = unknownMember(obj, MSG_MEMBERS);
  if (extra !== undefined) return bad(`unknown member ${JSON.stringify(extra.slice(0, 40))} in a MSG`);
  const ori = readServiceAddress(obj, 'oriAddr');
  if (!ori.ok) return ori;
  const oriType = member(obj, 'oriType') === undefined ? ok<OriginatorType | undefined>(undefined) : readEnum(obj, 'oriType', ORIGINATOR_TYPES);
  if (!oriType.ok) return oriType;
  const dest = readServiceAddress(obj, 'destAddr');
  if (!dest.ok) return dest;
  const targetType = member(obj, 'targetType') === undefined ? ok<AddressType>('UE') : readEnum(obj, 'targetType', ADDRESS_TYPES);
  if (!targetType.ok) return targetType;
  const messageId = readMessageId(obj, 'msgId');
  if (!messageId.ok) return messageId;
  const applicationId = readApplicationId(obj, 'appId', false);
  if (!applicationId.ok) return applicationId;
  const required = readBoolean(obj, 'delivStReqInd');
  if (!required.ok) return required;
  const payload = readPayload(obj, 'payload');
  if (!payload.ok) return payload;
  const gateway = readOptionalUeServiceId(obj, 'gatewayUeServiceId');
  if (!gateway.ok) return gateway;
  const msg: { -readonly [K in keyof Msgin5g1Msg]: Msgin5g1Msg[K] } = {
    messageType: 'MSG',
    originatorAddress: ori.value,
    targetAddress: dest.value,
    targetType: targetType.value,
    messageId: messageId.value,
    deliveryStatusRequired: required.value,
    payload: payload.value,
  };
  if (oriType.value !== undefined) msg.originatorType = oriType.value;
  if (applicationId.value !== undefined) msg.applicationId = applicationId.value;
  if (gateway.value !== undefined) msg.gatewayUeServiceId = gateway.value;
  return ok(msg);
}

function readImdn(obj: JsonObject): Parsed<Msgin5g1Imdn> {
  const extra = unknownMember(obj, IMDN_MEMBERS);
  if (extra !== undefined) return bad(`unknown member ${JSON.stringify(extra.slice(0, 40))} in an IMDN`);
  const ori = readServiceAddress(obj, 'oriAddr');
  if (!ori.ok) return ori;
  const dest = readServiceAddress(obj, 'destAddr');
  if (!dest.ok) return dest;
  const messageId = readMessageId(obj, 'msgId');
  if (!messageId.ok) return messageId;
  const wire = readEnum(obj, 'delivSt', [...DELIVERY_STATUS_OF_WIRE.keys()]);
  if (!wire.ok) return wire;
  const failure = member(obj, 'failureCause') === undefined ? ok<FailureReason | undefined>(undefined) : readEnum(obj, 'failureCause', FAILURE_REASONS);
  if (!failure.ok) return failure;
  const gateway = readOptionalUeServiceId(obj, 'gatewayUeServiceId');
  if (!gateway.ok) return gateway;
  const imdn: { -readonly [K in keyof Msgin5g1Imdn]: Msgin5g1Imdn[K] } = {
    messageType: 'IMDN',
    originatorAddress: ori.value,
    targetAddress: dest.value,
    messageId: messageId.value,
    deliveryStatus: DELIVERY_STATUS_OF_WIRE.get(wire.value) as DeliveryStatus,
  };
  if (failure.value !== undefined) imdn.failureReason = failure.value;
  if (gateway.value !== undefined) imdn.gatewayUeServiceId = gateway.value;
  return ok(imdn);
}

/** UTF-8 JSON of an answer: `MSGRESP` or the IMDN answer. */
export function encodeMsgin5g1MessageAnswer(a: Msgin5g1MsgResp | Msgin5g1ImdnAnswer): Uint8Array {
  const body: Record<string, string> =
    a.messageType === 'MSGRESP' ? { messageType: 'MSGRESP', msgId: a.messageId, status: a.status } : { messageType: 'IMDN', result: a.result };
  if (a.failureCause !== undefined) body['failureCause'] = a.failureCause;
  return encodeJson(body);
}

/** Reads a `MSGRESP` leniently (unknown members ignored): `msgId`, `status` required; `failureCause` a string when present. */
export function decodeMsgin5g1MsgResp(body: Uint8Array): Parsed<Msgin5g1MsgResp> {
  const json = parseJsonObject(body, ANSWER);
  if (!json.ok) return json;
  const obj = json.value;
  const type = readEnum(obj, 'messageType', ['MSGRESP'] as const);
  if (!type.ok) return bad(`${ANSWER}: ${type.error}`);
  const messageId = readMessageId(obj, 'msgId');
  if (!messageId.ok) return bad(`${ANSWER}: ${messageId.error}`);
  const status = readEnum(obj, 'status', MSGRESP_STATUSES);
  if (!status.ok) return bad(`${ANSWER}: ${status.error}`);
  const cause = readString(obj, 'failureCause', false);
  if (!cause.ok) return bad(`${ANSWER}: ${cause.error}`);
  const resp = { messageType: 'MSGRESP' as const, messageId: messageId.value, status: status.value };
  return ok(cause.value === undefined ? resp : { ...resp, failureCause: cause.value });
}

/** Reads an IMDN answer leniently: `result` required; `failureCause` a string when present. */
export function decodeMsgin5g1ImdnAnswer(body: Uint8Array): Parsed<Msgin5g1ImdnAnswer> {
  const json = parseJsonObject(body, ANSWER);
  if (!json.ok) return json;
  const obj = json.value;
  const type = readEnum(obj, 'messageType', ['IMDN'] as const);
  if (!type.ok) return bad(`${ANSWER}: ${type.error}`);
  const result = readEnum(obj, 'result', ['SUCCESS', 'FAILURE'] as const);
  if (!result.ok) return bad(`${ANSWER}: ${result.error}`);
  const cause = readString(obj, 'failureCause', false);
  if (!cause.ok) return bad(`${ANSWER}: ${cause.error}`);
  return ok(cause.value === undefined ? { messageType: 'IMDN', result: result.value } : { messageType: 'IMDN', result: result.value, failureCause: cause.value });
}

/** A required Target / Originator address member: 5..255 octets of UTF-8 (§5.1). */
export function readServiceAddress(obj: JsonObject, name: string): Parsed<ServiceAddress> {
  const s = readString(obj, name, true);
  if (!s.ok) return s as Parsed<never>;
  const octets = utf8.encode(s.value as string).length;
  if (octets < SERVICE_ADDRESS_MIN_OCTETS || octets > SERVICE_ADDRESS_MAX_OCTETS) {
    return bad(`member "${name}" must be ${SERVICE_ADDRESS_MIN_OCTETS}..${SERVICE_ADDRESS_MAX_OCTETS} octets of UTF-8, got ${octets}`);
  }
  return ok(s.value as string);
}

/** A required Message ID member: 32 hex characters (§5.1), read lower-case. */
export function readMessageId(obj: JsonObject, name: string): Parsed<MessageId> {
  const s = readString(obj, name, true);
  if (!s.ok) return s as Parsed<never>;
  const id = parseMessageId(s.value as string);
  return id.ok ? id : bad(`member "${name}" must be 32 hex characters (16 octets), got ${describe(s.value)}`);
}

/** A required boolean member. */
export function readBoolean(obj: JsonObject, name: string): Parsed<boolean> {
  const v = member(obj, name);
  if (v === undefined) return bad(`member "${name}" is missing`);
  return typeof v === 'boolean' ? ok(v) : bad(`member "${name}" must be true or false, got ${describe(v)}`);
}

/** A required Payload member: canonical base64 (RFC 4648 §4, padded) of 1..65535 octets (§5.1). */
export function readPayload(obj: JsonObject, name: string): Parsed<Uint8Array> {
  const s = readString(obj, name, true);
  if (!s.ok) return s as Parsed<never>;
  const text = s.value as string;
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return bad(`member "${name}" must be base64 (RFC 4648, padded), got ${describe(text)}`);
  const bytes = Buffer.from(text, 'base64');
  // Node ignores stray bits in the last character; canonical base64 must read back identically.
  if (bytes.toString('base64') !== text) return bad(`member "${name}" is not canonical base64`);
  if (bytes.length < PAYLOAD_MIN_OCTETS || bytes.length > PAYLOAD_MAX_OCTETS) return bad(`member "${name}" must hold ${PAYLOAD_MIN_OCTETS}..${PAYLOAD_MAX_OCTETS} octets, got ${bytes.length}`);
  return ok(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

function readOptionalUeServiceId(obj: JsonObject, name: string): Parsed<UeServiceId | undefined> {
  const s = readString(obj, name, false);
  if (!s.ok || s.value === undefined) return s as Parsed<undefined>;
  const id = parseUeServiceId(s.value);
  return id.ok ? id : bad(`member "${name}" must be 1..256 printable characters, got ${describe(s.value)}`);
}

/**
 * The largest Payload, octets, a `MSG` can carry in one body of {@link MAX_JSON_BODY_OCTETS}
 * (4,096) octets with every other member at its longest (both addresses 255 octets,
 * `gatewayUeServiceId` 256 characters, `appId` "65535", `targetType` "GROUP"). Computed from the
 * encoder, so it follows any change to the body. Addresses whose characters JSON must escape
 * (`"`, `\`, control characters) make a body longer; the server then answers 4.13, which the
 * gateway reads as PAYLOAD_TOO_LARGE.
 */
export const MSGIN5G1_MAX_MESSAGE_PAYLOAD_OCTETS: number = (() => {
  const longest = (n: number): string => 'x'.repeat(n);
  const empty = encodeMsgin5g1MessageRequest({
    messageType: 'MSG',
    originatorAddress: longest(SERVICE_ADDRESS_MAX_OCTETS),
    targetAddress: longest(SERVICE_ADDRESS_MAX_OCTETS),
    targetType: 'GROUP',
    messageId: '0'.repeat(32) as MessageId,
    applicationId: 65535 as ApplicationId,
    deliveryStatusRequired: false,
    payload: new Uint8Array(0),
    gatewayUeServiceId: longest(256) as UeServiceId,
  }).length;
  // base64 takes 4 characters per 3 octets (rounded up to a whole group).
  return Math.floor((MAX_JSON_BODY_OCTETS - empty) / 4) * 3;
})();
