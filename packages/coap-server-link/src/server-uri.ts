/**
 * The MSGin5G Server's URI, read once when the link is built: `coap://host[:port]/path[?query]`
 * (RFC 7252 §6.1, §6.4). The result carries everything a request needs, already split into the
 * CoAP options it becomes, so nothing is re-parsed per exchange.
 *
 * Only the `coap` scheme is accepted (no DTLS: `coaps` is refused, not silently downgraded).
 * A host that is an IPv6 literal (`coap://[::1]:5683/msgin5g`) selects a UDP/IPv6 socket; any
 * other host (an IPv4 literal or a name) selects UDP/IPv4, and a name is resolved by the system
 * resolver for IPv4 only. Rejected alternative: resolving a name to pick the family at start-up,
 * which would fix the address for the life of the process and hide a later DNS change.
 */
import { isIP, isIPv6 } from 'node:net';
import { ServerLinkError } from '@msgin5g/core';
import { DEFAULT_COAP_PORT } from '@msgin5g/protocol';

/** A parsed, validated server URI. */
export interface ServerUri {
  /** Host as the socket uses it: IPv6 literals without brackets (`::1`), names as written. */
  readonly host: string;
  /** UDP port, 1..65535; 5683 when the URI names none. */
  readonly port: number;
  /** 4 for UDP/IPv4 (IPv4 literals and names), 6 for IPv6 literals. */
  readonly family: 4 | 6;
  /** Uri-Path option values, percent-decoded, one per segment (RFC 7252 §6.4 step 8). */
  readonly uriPath: readonly Buffer[];
  /** Uri-Query option values, percent-decoded, one per `&`-separated argument (§6.4 step 9). */
  readonly uriQuery: readonly Buffer[];
  /** The URI in normal form, for logs: `coap://127.0.0.1:5683/msgin5g`. */
  readonly endpoint: string;
}

/** Longest Uri-Path / Uri-Query option value, octets (RFC 7252 §5.10). */
const MAX_URI_OPTION_OCTETS = 255;

/**
 * Parses and validates a server URI.
 *
 * @throws ServerLinkError reason `CONFIG` when the text is not a URI, the scheme is not `coap`,
 *   the host is missing, the port is not 1..65535, the path is empty, a segment is longer than
 *   255 octets or not valid percent-encoding, or the URI has a fragment or user information.
 * @see RFC 7252 §6.1, §6.4
 */
export function parseServerUri(text: string): ServerUri {
  const fail = (why: string, cause?: unknown): never => {
    throw new ServerLinkError('CONFIG', `server URI ${JSON.stringify(text)}: ${why}`, cause === undefined ? undefined : { cause });
  };
  if (typeof text !== 'string' || text.trim() === '') fail('must be a non-empty coap:// URI');
  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    return fail('not a URI', err);
  }
  if (url.protocol === 'coaps:') fail('coaps (DTLS) is not supported; use coap://');
  if (url.protocol !== 'coap:') fail(`scheme must be coap, got ${url.protocol.replace(/:$/, '')}`);
  if (url.username !== '' || url.password !== '') fail('user information is not allowed in a coap URI');
  if (url.hash !== '') fail('a fragment is not allowed in a coap URI (RFC 7252 §6.4)');

  const bracketed = url.hostname.startsWith('[') && url.hostname.endsWith(']');
  const host = bracketed ? url.hostname.slice(1, -1) : url.hostname;
  if (host === '') fail('host is missing');
  if (bracketed && !isIPv6(host)) fail(`${url.hostname} is not an IPv6 address`);
  const family: 4 | 6 = isIP(host) === 6 ? 6 : 4;

  let port = DEFAULT_COAP_PORT;
  if (url.port !== '') {
    port = Number(url.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`port must be 1..65535, got ${url.port}`);
  }

  const uriPath = splitOption(url.pathname, '/', 'path segment', fail);
  if (uriPath.length === 0) fail('path is empty; the MSGin5G resource is usually /msgin5g');
  const uriQuery = url.search === '' ? [] : splitOption(url.search.slice(1), '&', 'query argument', fail);

  const hostInUri = family === 6 ? `[${host}]` : host;
  return { host, port, family, uriPath, uriQuery, endpoint: `coap://${hostInUri}:${port}${url.pathname}${url.search}` };
}

function splitOption(text: string, separator: string, what: string, fail: (why: string, cause?: unknown) => never): Buffer[] {
  const out: Buffer[] = [];
  for (const part of text.split(separator)) {
    if (part === '') continue;
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch (err) {
      return fail(`${what} ${JSON.stringify(part)} is not valid percent-encoding`, err);
    }
    const value = Buffer.from(decoded, 'utf8');
    if (value.length > MAX_URI_OPTION_OCTETS) fail(`${what} is ${value.length} octets; at most ${MAX_URI_OPTION_OCTETS}`);
    out.push(value);
  }
  return out;
}
