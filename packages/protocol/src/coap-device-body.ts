/**
 * JSON bodies of the CoAP device link (docs/wire-formats.md §3.3; TS 24.538 Annex A.3 style): POST to
 * `/msgin5g`, Content-Format 50.
 *
 * - request:  `{"messageType":"REG","appId":"42"}` / `{"messageType":"DEREG","registrationId":"0011223344556677"}`;
 *   `appId` may also be a JSON number (`{"messageType":"REG","appId":42}`), an integer 0..65535, as
 *   devices built with a JSON library tend to write it; the gateway always writes the string form.
 *   A REG may carry `"lifetime":3600`, the registration lifetime asked for, s (a JSON integer
 *   1..4294967295; provisional, docs/adr/0011-registration-lifetime.md).
 * - response: `{"messageType":"DEREG","result":"SUCCESS","appId":"42","registrationId":"…"}` /
 *   `{"messageType":"DEREG","result":"FAILURE","appId":"42","failureReason":"SERVER_UNREACHABLE"}`;
 *   a REG success from the gateway ends with `"lifetime":…`, the lifetime granted, s.
 *
 * Requests are read strictly (a body that is not exactly such JSON gets 4.00 with the error text as
 * diagnostic, see `coap-device-diagnostic.ts`); responses leniently (unknown members ignored, an unknown `failureReason` name reads
 * as `UNSPECIFIED`, as unknown codes do in the M5 binary codec). Rejected alternative: carrying the
 * M5 binary octets in the CoAP payload — Annex A.3 shows JSON, and JSON keeps the link debuggable.
 */
import {
  FAILURE_REASONS,
  LIFETIME_S_MAX,
  LIFETIME_S_MIN,
  assertNever,
  isLifetimeS,
  parseRegistrationId,
  type ApplicationId,
  type DeviceRequest,
  type DeviceResponse,
  type FailureReason,
  type Parsed,
  type RegistrationId,
} from '@msgin5g/core';
import { bad, encodeJson, member, ok, parseJsonObject, readApplicationId, readEnum, readString, unknownMember, describe, type JsonObject } from './json-body';
import { SERVER_OPERATIONS, type ServerOperation } from './msgin5g1';
import { decodeDeviceDeliveryObject, type CoapDeviceDelivery } from './coap-device-delivery-body';

const REQUEST = 'CoAP device request';
const RESPONSE = 'CoAP device response';
const REG_MEMBERS: ReadonlySet<string> = new Set(['messageType', 'appId', 'lifetime']);
const DEREG_MEMBERS: ReadonlySet<string> = new Set(['messageType', 'registrationId']);
const RESULTS: readonly ('SUCCESS' | 'FAILURE')[] = ['SUCCESS', 'FAILURE'];
const KNOWN_REASONS: ReadonlySet<string> = new Set(FAILURE_REASONS);

/** Reads a device's request body strictly; the error text is suitable as a 4.00 diagnostic. */
export function decodeCoapDeviceRequest(body: Uint8Array): Parsed<DeviceRequest> {
  const json = parseJsonObject(body, REQUEST);
  if (!json.ok) return json;
  const obj = json.value;
  const messageType = readEnum(obj, 'messageType', SERVER_OPERATIONS);
  if (!messageType.ok) return bad(`${REQUEST}: ${messageType.error}`);
  switch (messageType.value) {
    case 'REG': {
      const extra = unknownMember(obj, REG_MEMBERS);
      if (extra !== undefined) return bad(`${REQUEST}: unknown member ${JSON.stringify(extra.slice(0, 40))} in a REG`);
      const app = readApplicationId(obj, 'appId', true, true);
      if (!app.ok) return bad(`${REQUEST}: ${app.error}`);
      const lifetime = readLifetime(obj);
      if (!lifetime.ok) return bad(`${REQUEST}: ${lifetime.error}`);
      const applicationId = app.value as ApplicationId;
      return ok(lifetime.value === undefined ? { kind: 'REGISTRATION_REQUEST', applicationId } : { kind: 'REGISTRATION_REQUEST', applicationId, lifetimeS: lifetime.value });
    }
    case 'DEREG': {
      const extra = unknownMember(obj, DEREG_MEMBERS);
      if (extra !== undefined) return bad(`${REQUEST}: unknown member ${JSON.stringify(extra.slice(0, 40))} in a DEREG`);
      const id = readRegistrationId(obj, true);
      if (!id.ok) return bad(`${REQUEST}: ${id.error}`);
      return ok({ kind: 'DEREGISTRATION_REQUEST', registrationId: id.value as RegistrationId });
    }
    default:
      return assertNever(messageType.value, 'messageType');
  }
}

/** Every `messageType` a device may POST: REG and DEREG (§3.3), MSG and IMDN (§3.3 "Messages", §5.3). */
export const COAP_DEVICE_MESSAGE_TYPES: readonly ('REG' | 'DEREG' | 'MSG' | 'IMDN')[] = ['REG', 'DEREG', 'MSG', 'IMDN'];

/**
 * Reads any body a device POSTs, strictly: a REG / DEREG as {@link decodeCoapDeviceRequest} does, a
 * MSG / IMDN as `decodeCoapDeviceDelivery` (coap-device-delivery-body.ts) does. What the CoAP device
 * link decodes; the error text is suitable as a 4.00 diagnostic.
 */
export function decodeCoapDeviceBody(body: Uint8Array): Parsed<DeviceRequest | CoapDeviceDelivery> {
  const json = parseJsonObject(body, REQUEST);
  if (!json.ok) return json;
  const messageType = readEnum(json.value, 'messageType', COAP_DEVICE_MESSAGE_TYPES);
  if (!messageType.ok) return bad(`${REQUEST}: ${messageType.error}`);
  return messageType.value === 'MSG' || messageType.value === 'IMDN' ? decodeDeviceDeliveryObject(json.value) : decodeCoapDeviceRequest(body);
}

/** UTF-8 JSON of a device request (used by the device simulator). */
export function encodeCoapDeviceRequest(r: DeviceRequest): Uint8Array {
  switch (r.kind) {
    case 'REGISTRATION_REQUEST':
      return encodeJson(r.lifetimeS === undefined ? { messageType: 'REG', appId: String(r.applicationId) } : { messageType: 'REG', appId: String(r.applicationId), lifetime: r.lifetimeS });
    case 'DEREGISTRATION_REQUEST':
      return encodeJson({ messageType: 'DEREG', registrationId: r.registrationId });
    default:
      return assertNever(r, 'device request kind');
  }
}

/**
 * UTF-8 JSON of a response: `messageType`, `result`, `appId` (when known), then `registrationId` or
 * `failureReason` (by name), then `lifetime` (a REG success carrying one).
 */
export function encodeCoapDeviceResponse(r: DeviceResponse): Uint8Array {
  const body: Record<string, string | number> = { messageType: operationOf(r.kind), result: r.result };
  if (r.applicationId !== undefined) body['appId'] = String(r.applicationId);
  switch (r.result) {
    case 'SUCCESS':
      body['registrationId'] = r.registrationId;
      if (r.kind === 'REGISTRATION_RESPONSE' && r.lifetimeS !== undefined) body['lifetime'] = r.lifetimeS;
      break;
    case 'FAILURE':
      body['failureReason'] = r.failureReason;
      break;
    default:
      return assertNever(r, 'response result');
  }
  return encodeJson(body);
}

/**
 * Reads a gateway's response body (used by the device simulator). SUCCESS needs `registrationId`
 * and no `failureReason`; FAILURE needs `failureReason` and no `registrationId`.
 */
export function decodeCoapDeviceResponse(body: Uint8Array): Parsed<DeviceResponse> {
  const json = parseJsonObject(body, RESPONSE);
  if (!json.ok) return json;
  const obj = json.value;
  const messageType = readEnum(obj, 'messageType', SERVER_OPERATIONS);
  if (!messageType.ok) return bad(`${RESPONSE}: ${messageType.error}`);
  const kind: DeviceResponse['kind'] = messageType.value === 'REG' ? 'REGISTRATION_RESPONSE' : 'DEREGISTRATION_RESPONSE';
  const result = readEnum(obj, 'result', RESULTS);
  if (!result.ok) return bad(`${RESPONSE}: ${result.error}`);
  const app = readApplicationId(obj, 'appId', false);
  if (!app.ok) return bad(`${RESPONSE}: ${app.error}`);
  const id = readRegistrationId(obj, false);
  if (!id.ok) return bad(`${RESPONSE}: ${id.error}`);
  const reason = readString(obj, 'failureReason', false);
  if (!reason.ok) return bad(`${RESPONSE}: ${reason.error}`);
  const applicationId = app.value;
  switch (result.value) {
    case 'SUCCESS': {
      if (reason.value !== undefined) return bad(`${RESPONSE}: a SUCCESS response carries "failureReason"`);
      if (id.value === undefined) return bad(`${RESPONSE}: a SUCCESS response lacks "registrationId"`);
      const registrationId = id.value;
      const success = applicationId === undefined ? { kind, result: 'SUCCESS' as const, registrationId } : { kind, result: 'SUCCESS' as const, registrationId, applicationId };
      if (kind !== 'REGISTRATION_RESPONSE' || member(obj, 'lifetime') === undefined) return ok(success);
      const lifetime = readLifetime(obj);
      if (!lifetime.ok) return bad(`${RESPONSE}: ${lifetime.error}`);
      return ok({ ...success, kind, lifetimeS: lifetime.value as number });
    }
    case 'FAILURE': {
      if (id.value !== undefined) return bad(`${RESPONSE}: a FAILURE response carries "registrationId"`);
      if (reason.value === undefined) return bad(`${RESPONSE}: a FAILURE response lacks "failureReason"`);
      const failureReason: FailureReason = KNOWN_REASONS.has(reason.value) ? (reason.value as FailureReason) : 'UNSPECIFIED';
      return ok(applicationId === undefined ? { kind, result: 'FAILURE', failureReason } : { kind, result: 'FAILURE', failureReason, applicationId });
    }
    default:
      return assertNever(result.value, 'result');
  }
}

function operationOf(kind: DeviceResponse['kind']): ServerOperation {
  switch (kind) {
    case 'REGISTRATION_RESPONSE':
      return 'REG';
    case 'DEREGISTRATION_RESPONSE':
      return 'DEREG';
    default:
      return assertNever(kind, 'response kind');
  }
}

/** The optional `lifetime` member: a JSON integer of seconds, 1..4294967295. */
function readLifetime(obj: JsonObject): Parsed<number | undefined> {
  const v = member(obj, 'lifetime');
  if (v === undefined) return ok(undefined);
  return isLifetimeS(v) ? ok(v) : bad(`member "lifetime" must be an integer ${LIFETIME_S_MIN}..${LIFETIME_S_MAX} (seconds), got ${describe(v)}`);
}

function readRegistrationId(obj: JsonObject, required: boolean): Parsed<RegistrationId | undefined> {
  const s = readString(obj, 'registrationId', required);
  if (!s.ok || s.value === undefined) return s as Parsed<undefined>;
  const id = parseRegistrationId(s.value);
  return id.ok ? id : bad(`member "registrationId" must be 2..32 hex digits (1..16 octets), got ${describe(s.value)}`);
}
