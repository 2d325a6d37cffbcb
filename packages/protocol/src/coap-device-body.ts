/**
 * JSON bodies of the CoAP device link (docs/wire-formats.md §3.3; TS 24.538 Annex A.3 style): POST to
 * `/msgin5g`, Content-Format 50.
 *
 * - request:  `{"messageType":"REG","appId":"42"}` / `{"messageType":"DEREG","registrationId":"0011223344556677"}`;
 *   `appId` may also be a JSON number (`{"messageType":"REG","appId":42}`), an integer 0..65535, as
 *   devices built with a JSON library tend to write it; the gateway always writes the string form.
 * - response: `{"messageType":"DEREG","result":"SUCCESS","appId":"42","registrationId":"…"}` /
 *   `{"messageType":"DEREG","result":"FAILURE","appId":"42","failureReason":"SERVER_UNREACHABLE"}`
 *
 * Requests are read strictly (a body that is not exactly such JSON gets 4.00 with the error text as
 * diagnostic, see `coap-device-diagnostic.ts`); responses leniently (unknown members ignored, an unknown `failureReason` name reads
 * as `UNSPECIFIED`, as unknown codes do in the M5 binary codec). Rejected alternative: carrying the
 * M5 binary octets in the CoAP payload — Annex A.3 shows JSON, and JSON keeps the link debuggable.
 */
import {
  FAILURE_REASONS,
  assertNever,
  parseRegistrationId,
  type ApplicationId,
  type DeviceRequest,
  type DeviceResponse,
  type FailureReason,
  type Parsed,
  type RegistrationId,
} from '@msgin5g/core';
import { bad, encodeJson, ok, parseJsonObject, readApplicationId, readEnum, readString, unknownMember, describe, type JsonObject } from './json-body';
import { SERVER_OPERATIONS, type ServerOperation } from './msgin5g1';

const REQUEST = 'CoAP device request';
const RESPONSE = 'CoAP device response';
const REG_MEMBERS: ReadonlySet<string> = new Set(['messageType', 'appId']);
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
      return ok({ kind: 'REGISTRATION_REQUEST', applicationId: app.value as ApplicationId });
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

/** UTF-8 JSON of a device request (used by the device simulator). */
export function encodeCoapDeviceRequest(r: DeviceRequest): Uint8Array {
  switch (r.kind) {
    case 'REGISTRATION_REQUEST':
      return encodeJson({ messageType: 'REG', appId: String(r.applicationId) });
    case 'DEREGISTRATION_REQUEST':
      return encodeJson({ messageType: 'DEREG', registrationId: r.registrationId });
    default:
      return assertNever(r, 'device request kind');
  }
}

/** UTF-8 JSON of a response: `messageType`, `result`, `appId` (when known), then `registrationId` or `failureReason` (by name). */
export function encodeCoapDeviceResponse(r: DeviceResponse): Uint8Array {
  const body: Record<string, string> = { messageType: operationOf(r.kind), result: r.result };
  if (r.applicationId !== undefined) body['appId'] = String(r.applicationId);
  switch (r.result) {
    case 'SUCCESS':
      body['registrationId'] = r.registrationId;
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
      return ok(applicationId === undefined ? { kind, result: 'SUCCESS', registrationId } : { kind, result: 'SUCCESS', registrationId, applicationId });
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

function readRegistrationId(obj: JsonObject, required: boolean): Parsed<RegistrationId | undefined> {
  const s = readString(obj, 'registrationId', required);
  if (!s.ok || s.value === undefined) return s as Parsed<undefined>;
  const id = parseRegistrationId(s.value);
  return id.ok ? id : bad(`member "registrationId" must be 2..32 hex digits (1..16 octets), got ${describe(s.value)}`);
}
