/**
 * MSGin5G-1 JSON bodies, Gateway UE ↔ MSGin5G Server (docs/wire-formats.md §4; TS 24.538 §6.1, §7.1
 * `messageType` values; member names in TS 29.538 style, provisional).
 *
 * Requests are read strictly (unknown members, wrong types and bad ids are errors with a clear
 * text): the reference server uses this to catch a gateway that drifts from the table. Answers
 * are read leniently (unknown members ignored), because the gateway must work with servers that
 * add members. The reading of an answer into an outcome is `interpret-server-answer.ts`.
 */
import { parseUeServiceId, type ApplicationId, type Parsed, type UeServiceId } from '@msgin5g/core';
import { bad, describe, encodeJson, ok, parseJsonObject, readApplicationId, readEnum, readString, unknownMember, type JsonObject } from './json-body';

/** The MSGin5G-1 operations this gateway uses (`messageType`, TS 24.538 §7.1). */
export type ServerOperation = 'REG' | 'DEREG';
export const SERVER_OPERATIONS: readonly ServerOperation[] = ['REG', 'DEREG'];

/**
 * A MSGin5G-1 request body. `gatewayUeServiceId` and `applicationId` are present when the gateway
 * acts for a constrained device, absent when it (de)registers itself.
 * Wire form: `{"messageType":"REG","ueServiceId":"<device>","gatewayUeServiceId":"gw-1","appId":"42"}`;
 * the gateway's own REG may carry `"notifyUri":"coap://192.0.2.1:5700/msgin5g"`.
 */
export interface Msgin5g1Request {
  readonly messageType: ServerOperation;
  readonly ueServiceId: UeServiceId;
  readonly gatewayUeServiceId?: UeServiceId;
  readonly applicationId?: ApplicationId;
  /**
   * On the gateway's own REG only (provisional, docs/adr/0013): the URI of the gateway's MSGin5G-1
   * endpoint, where the server delivers `MSG` / `IMDN` for the devices behind it. A `coap://` URI
   * (see {@link checkNotifyUri}).
   */
  readonly notifyUri?: string;
}

/** Longest `notifyUri`, characters (a generous bound; RFC 7252 §6 puts no limit on a URI). */
export const NOTIFY_URI_MAX_CHARS = 1024;

/**
 * Why `text` is not a usable `notifyUri`, or `undefined` when it is: printable ASCII of
 * 1..{@link NOTIFY_URI_MAX_CHARS} characters, a URI with scheme `coap` (no DTLS), a host, a port
 * 1..65535 when given, a path, no user information and no fragment.
 * @see RFC 7252 §6.1 (coap URI scheme), §6.4; docs/adr/0013
 */
export function checkNotifyUri(text: string): string | undefined {
  if (text.length === 0 || text.length > NOTIFY_URI_MAX_CHARS) return `must be 1..${NOTIFY_URI_MAX_CHARS} characters, got ${text.length}`;
  if (!/^[\x21-\x7e]+$/.test(text)) return 'must be printable ASCII without spaces (percent-encode the rest)';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `is not a URI: ${describe(text)}`;
  }
  if (url.protocol !== 'coap:') return `must be a coap:// URI, got scheme ${JSON.stringify(url.protocol.replace(/:$/, '').slice(0, 20))}`;
  if (url.hostname === '') return 'has no host';
  if (url.username !== '' || url.password !== '') return 'must not carry user information';
  if (url.hash !== '') return 'must not carry a fragment (RFC 7252 §6.4)';
  if (url.pathname === '' || url.pathname === '/') return 'has no path (the gateway serves /msgin5g by default)';
  return undefined;
}

/** The server's answer body: `{"messageType":"DEREG","result":"FAILURE","failureCause":"NOT_REGISTERED"}`. */
export interface Msgin5g1Answer {
  readonly messageType: ServerOperation;
  readonly result: 'SUCCESS' | 'FAILURE';
  /** Free text (TS 29.538 style), normally only with FAILURE. */
  readonly failureCause?: string;
}

const REQUEST_MEMBERS: ReadonlySet<string> = new Set(['messageType', 'ueServiceId', 'gatewayUeServiceId', 'appId', 'notifyUri']);
const RESULTS: readonly Msgin5g1Answer['result'][] = ['SUCCESS', 'FAILURE'];
const REQUEST = 'MSGin5G-1 request';
const ANSWER = 'MSGin5G-1 answer';

/**
 * UTF-8 JSON of a request, members in the order of the docs/wire-formats.md §4 table; the Application
 * ID is written as a decimal string (`"42"`).
 */
export function encodeMsgin5g1Request(r: Msgin5g1Request): Uint8Array {
  const body: Record<string, string> = { messageType: r.messageType, ueServiceId: r.ueServiceId };
  if (r.gatewayUeServiceId !== undefined) body['gatewayUeServiceId'] = r.gatewayUeServiceId;
  if (r.applicationId !== undefined) body['appId'] = String(r.applicationId);
  if (r.notifyUri !== undefined) body['notifyUri'] = r.notifyUri;
  return encodeJson(body);
}

/**
 * Reads a request body strictly. Errors name the problem: not JSON / not an object, unknown
 * member, `messageType` not REG/DEREG, `ueServiceId` missing or not 1..256 printable characters,
 * `appId` not a decimal string 0..65535, `notifyUri` not a `coap://` URI ({@link checkNotifyUri}) or
 * in a request other than the gateway's own REG, a member of the wrong type.
 */
export function decodeMsgin5g1Request(body: Uint8Array): Parsed<Msgin5g1Request> {
  const json = parseJsonObject(body, REQUEST);
  if (!json.ok) return json;
  const obj = json.value;
  const extra = unknownMember(obj, REQUEST_MEMBERS);
  if (extra !== undefined) return bad(`${REQUEST}: unknown member ${JSON.stringify(extra.slice(0, 40))}`);
  const messageType = readEnum(obj, 'messageType', SERVER_OPERATIONS);
  if (!messageType.ok) return bad(`${REQUEST}: ${messageType.error}`);
  const ueServiceId = readUeServiceId(obj, 'ueServiceId', true);
  if (!ueServiceId.ok) return bad(`${REQUEST}: ${ueServiceId.error}`);
  const gatewayUeServiceId = readUeServiceId(obj, 'gatewayUeServiceId', false);
  if (!gatewayUeServiceId.ok) return bad(`${REQUEST}: ${gatewayUeServiceId.error}`);
  const applicationId = readApplicationId(obj, 'appId', false);
  if (!applicationId.ok) return bad(`${REQUEST}: ${applicationId.error}`);
  const notifyUri = readString(obj, 'notifyUri', false);
  if (!notifyUri.ok) return bad(`${REQUEST}: ${notifyUri.error}`);
  const uriProblem = notifyUri.value === undefined ? undefined : checkNotifyUri(notifyUri.value);
  if (uriProblem !== undefined) return bad(`${REQUEST}: member "notifyUri" ${uriProblem}`);
  if (notifyUri.value !== undefined && (messageType.value !== 'REG' || gatewayUeServiceId.value !== undefined)) {
    return bad(`${REQUEST}: member "notifyUri" belongs only in the gateway's own REG`);
  }
  const request: { -readonly [K in keyof Msgin5g1Request]: Msgin5g1Request[K] } = {
    messageType: messageType.value,
    ueServiceId: ueServiceId.value as UeServiceId,
  };
  if (gatewayUeServiceId.value !== undefined) request.gatewayUeServiceId = gatewayUeServiceId.value;
  if (applicationId.value !== undefined) request.applicationId = applicationId.value;
  if (notifyUri.value !== undefined) request.notifyUri = notifyUri.value;
  return ok(request);
}

/** UTF-8 JSON of an answer: `messageType`, `result`, then `failureCause` when present. */
export function encodeMsgin5g1Answer(a: Msgin5g1Answer): Uint8Array {
  const body: Record<string, string> = { messageType: a.messageType, result: a.result };
  if (a.failureCause !== undefined) body['failureCause'] = a.failureCause;
  return encodeJson(body);
}

/** Reads an answer body (unknown members ignored). Requires `messageType` and `result`; `failureCause` must be a string when present. */
export function decodeMsgin5g1Answer(body: Uint8Array): Parsed<Msgin5g1Answer> {
  const json = parseJsonObject(body, ANSWER);
  return json.ok ? readMsgin5g1Answer(json.value) : json;
}

/** {@link decodeMsgin5g1Answer} for an already parsed JSON object. */
export function readMsgin5g1Answer(obj: JsonObject): Parsed<Msgin5g1Answer> {
  const messageType = readEnum(obj, 'messageType', SERVER_OPERATIONS);
  if (!messageType.ok) return bad(`${ANSWER}: ${messageType.error}`);
  const result = readEnum(obj, 'result', RESULTS);
  if (!result.ok) return bad(`${ANSWER}: ${result.error}`);
  const failureCause = readString(obj, 'failureCause', false);
  if (!failureCause.ok) return bad(`${ANSWER}: ${failureCause.error}`);
  return ok(
    failureCause.value === undefined
      ? { messageType: messageType.value, result: result.value }
      : { messageType: messageType.value, result: result.value, failureCause: failureCause.value },
  );
}

function readUeServiceId(obj: JsonObject, name: string, required: boolean): Parsed<UeServiceId | undefined> {
  const s = readString(obj, name, required);
  if (!s.ok || s.value === undefined) return s as Parsed<undefined>;
  const id = parseUeServiceId(s.value);
  return id.ok ? id : bad(`member "${name}" must be 1..256 printable characters, got ${describe(s.value)}`);
}
