/**
 * The `notifyUri` member of a gateway's own REG (docs/adr/0013-how-the-server-reaches-the-gateway.md;
 * provisional, docs/wire-formats.md §5.4): `coap://<host>[:<port>]/<path>`, where the server POSTs
 * the `MSG` and `IMDN` for the gateway and the devices behind it.
 * The strict REG decoder of `@msgin5g/protocol` checks the member's form; this module reads the
 * target the server POSTs to.
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
