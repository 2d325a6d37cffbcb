/**
 * The `notifyUri` member of a gateway's own REG (docs/adr/0013-how-the-server-reaches-the-gateway.md;
 * provisional, docs/wire-formats.md §5.4): `coap://<host>[:<port>]/<path>`, where the server POSTs
 * the `MSG` and `IMDN` for the gateway and the devices behind it.
 *
 * {@link takeNotifyUri} is a stop-gap kept in this one place: the strict REG decoder of
 * `@msgin5g/protocol` (`decodeMsgin5g1Request`) does not know the member yet, so the server takes it
 * out of the body before that decoder reads the rest. Once the decoder reads `notifyUri` itself,
 * this function goes and `request-target.ts` takes the value from the decoded request.
 */
import type { Parsed } from '@msgin5g/core';

/** Where a `notifyUri` points: host (IPv6 without brackets), UDP port, Uri-Path segments. */
export interface NotifyTarget {
  readonly host: string;
  readonly port: number;
  readonly pathSegments: readonly string[];
}

const DEFAULT_PORT = 5683;
const MAX_URI_CHARACTERS = 255;

/**
 * Reads a `notifyUri`: scheme `coap`, a host, an optional port 1..65535, a path; no user info, query
 * or fragment; at most 255 characters. @returns the target, or an error naming the problem.
 */
export function parseNotifyUri(uri: string): Parsed<NotifyTarget> {
  if (uri.length > MAX_URI_CHARACTERS) return { ok: false, error: `notifyUri is longer than ${MAX_URI_CHARACTERS} characters` };
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return { ok: false, error: `notifyUri ${JSON.stringify(uri.slice(0, 60))} is not a URI` };
  }
  if (url.protocol !== 'coap:') return { ok: false, error: `notifyUri must be a coap:// URI, got ${JSON.stringify(url.protocol)}` };
  if (url.hostname === '') return { ok: false, error: 'notifyUri has no host' };
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    return { ok: false, error: 'notifyUri must have no user info, query or fragment' };
  }
  const port = url.port === '' ? DEFAULT_PORT : Number(url.port);
  if (port === 0) return { ok: false, error: 'notifyUri port must be 1..65535' };
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const pathSegments = url.pathname
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
  return { ok: true, value: { host, port, pathSegments } };
}

/**
 * Takes `notifyUri` out of a MSGin5G-1 request body (the stop-gap above). A body that is not a JSON
 * object, or has no `notifyUri`, comes back unchanged for the strict decoder to judge.
 * @returns the body without the member and its value, or an error when the value is not a string
 *   or not a valid `coap://` URI.
 */
export function takeNotifyUri(body: Uint8Array): Parsed<{ body: Uint8Array; notifyUri?: string }> {
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return { ok: true, value: { body } };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj) || !Object.prototype.hasOwnProperty.call(obj, 'notifyUri')) return { ok: true, value: { body } };
  const { notifyUri, ...rest } = obj as Record<string, unknown>;
  if (typeof notifyUri !== 'string') return { ok: false, error: 'member "notifyUri" must be a string' };
  const parsed = parseNotifyUri(notifyUri);
  if (!parsed.ok) return parsed;
  return { ok: true, value: { body: Buffer.from(JSON.stringify(rest), 'utf8'), notifyUri } };
}
