/**
 * What the CoAP device link does with a well-formed request (a CON or NON message with a method
 * code): hand a decoded `DeviceRequest` to the core, answer it with an error response, or ignore it.
 * Pure; the link carries the verdict out.
 *
 * Checks, in this order (the first failing one decides):
 * 1. options (RFC 7252 §5.4.1, §5.4.3, §5.4.5): a critical option the link does not act on
 *    (If-Match, If-None-Match, OSCORE, Block1/Block2, any unknown odd number), a critical option
 *    repeated or with a value length out of range → 4.02 Bad Option in a CON; a NON carrying one is
 *    rejected, i.e. ignored (RFC 7252 §4.3). Elective options the link does not know are ignored, as
 *    are supernumerary or out-of-range elective ones (a 3-octet Content-Format then reads as absent).
 * 2. Proxy-Uri / Proxy-Scheme → 5.05 Proxying Not Supported (RFC 7252 §5.7.2);
 * 3. Uri-Path other than the configured one → 4.04 Not Found;
 * 4. a method other than POST → 4.05 Method Not Allowed (RFC 7252 §5.8: also for unknown methods);
 * 5. Accept present and not 50 → 4.06 Not Acceptable (RFC 7252 §5.10.4);
 * 6. Content-Format absent or not 50 → 4.15 Unsupported Content-Format (docs/wire-formats.md §3.3);
 * 7. a body over {@link MAX_JSON_BODY_OCTETS} → 4.13 Request Entity Too Large with Size1 (RFC 7252 §5.9.2.9);
 * 8. a body `decodeCoapDeviceBody` refuses (REG, DEREG, and the message bodies MSG and IMDN of
 *    docs/wire-formats.md §3.3 "Messages") → 4.00 Bad Request with a JSON diagnostic
 *    `{"error":"…"}` (Content-Format 50, docs/wire-formats.md §3.3).
 * Uri-Host, Uri-Port and Uri-Query are understood and ignored: one resource, whatever the name.
 *
 * Error responses other than 4.00 carry a short fixed diagnostic payload (RFC 7252 §5.5.2, UTF-8,
 * no Content-Format); the 4.00 payload is `@msgin5g/protocol`'s `coapDeviceDiagnostic`: at most 80
 * characters, cut between words, and short enough that the 4.00 answer is at most
 * {@link MAX_ANSWER_GROWTH_OCTETS} octets larger than the request datagram (no amplification of
 * spoofed traffic, RFC 7252 §11.3). The full text goes to `onProtocolError`, where the gateway logs it.
 *
 * Rejected alternative: answering from inside the checks, as a request handler would. The order of
 * the checks and the answer each one gives would then be spread over socket code, and could only
 * be tested over a socket; as a pure verdict they are tested message by message.
 */
import type { DeviceRequest } from '@msgin5g/core';
import type { CoapDeviceDelivery } from '@msgin5g/protocol';
import {
  COAP_CODE,
  COAP_CONTENT_FORMAT_JSON,
  COAP_OPTION,
  MAX_JSON_BODY_OCTETS,
  coapDeviceDiagnostic,
  coapOptionFormats,
  decodeCoapDeviceBody,
  encodeCoapDeviceDiagnostic,
  isCriticalOption,
  readUintOption,
  encodeCoapMessage,
  type CoapMessage,
} from '@msgin5g/protocol';

/** A 4.00 answer is at most this many octets larger than its request (README "Bad input"). */
export const MAX_ANSWER_GROWTH_OCTETS = 40;
/** Octets of a 4.00 answer besides its token and payload: header 4, Content-Format 50 option 2, payload marker 1. */
const BAD_REQUEST_OVERHEAD_OCTETS = 7;

export type RequestVerdict =
  /** A valid MSGin5G request (REG, DEREG) or message body (MSG, IMDN): to the core. */
  | { readonly kind: 'ACCEPT'; readonly request: DeviceRequest | CoapDeviceDelivery }
  /** Answer with this error response; `detail` is for logs. */
  | {
      readonly kind: 'ANSWER';
      readonly code: number;
      readonly detail: string;
      readonly payload: Uint8Array;
      readonly contentFormat?: number;
      readonly size1?: number;
    }
  /** Reject silently (a NON the link cannot process, RFC 7252 §4.3). */
  | { readonly kind: 'IGNORE'; readonly detail: string };

/** The options the link reads, with their formats (RFC 7252 §5.10 table; @msgin5g/protocol). */
const KNOWN_OPTIONS = coapOptionFormats([
  COAP_OPTION.URI_HOST,
  COAP_OPTION.URI_PORT,
  COAP_OPTION.URI_PATH,
  COAP_OPTION.CONTENT_FORMAT,
  COAP_OPTION.URI_QUERY,
  COAP_OPTION.ACCEPT,
]);

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * Judges a request message against the resource at `uriPath` (its segments, e.g. `['msgin5g']`).
 * `requestOctets` is the size of the datagram it came in (default: its canonical encoding), which
 * bounds the 4.00 diagnostic.
 * @see RFC 7252 §5.4, §5.8, §5.9; docs/wire-formats.md §3.3
 */
export function judgeRequest(message: CoapMessage, uriPath: readonly string[], requestOctets: number = encodeCoapMessage(message).length): RequestVerdict {
  const confirmable = message.type === 'CON';
  const seen = new Set<number>();
  const path: Uint8Array[] = [];
  let contentFormat: number | undefined;
  let accept: number | undefined;
  let proxy = false;
  for (const o of message.options) {
    const known = KNOWN_OPTIONS.get(o.number);
    const critical = isCriticalOption(o.number);
    const acceptable = known !== undefined && o.value.length >= known.min && o.value.length <= known.max && (known.repeatable || !seen.has(o.number));
    seen.add(o.number);
    if (o.number === COAP_OPTION.PROXY_URI || o.number === COAP_OPTION.PROXY_SCHEME) {
      proxy = true;
      continue;
    }
    if (!acceptable) {
      if (!critical) continue; // unrecognised elective: ignored (RFC 7252 §5.4.1)
      const what = known === undefined ? `unrecognised critical option ${o.number}` : `critical option ${o.number} repeated or of bad length ${o.value.length}`;
      return confirmable ? answer(COAP_CODE.BAD_OPTION, what, 'bad critical option') : { kind: 'IGNORE', detail: `NON request with ${what}` };
    }
    switch (o.number) {
      case COAP_OPTION.URI_PATH:
        path.push(o.value);
        break;
      case COAP_OPTION.CONTENT_FORMAT:
        contentFormat = readUintOption(o.value);
        break;
      case COAP_OPTION.ACCEPT:
        accept = readUintOption(o.value);
        break;
      default:
        break; // Uri-Host, Uri-Port, Uri-Query: understood, no effect on this single resource
    }
  }
  if (proxy) return answer(COAP_CODE.PROXYING_NOT_SUPPORTED, 'Proxy-Uri or Proxy-Scheme in a request', 'not a proxy');
  if (!samePath(path, uriPath)) return answer(COAP_CODE.NOT_FOUND, `Uri-Path ${describePath(path)} is not /${uriPath.join('/')}`, `use /${uriPath.join('/')}`);
  if (message.code !== COAP_CODE.POST) return answer(COAP_CODE.METHOD_NOT_ALLOWED, `method code ${methodName(message.code)} is not POST`, 'POST only');
  if (accept !== undefined && accept !== COAP_CONTENT_FORMAT_JSON) {
    return answer(COAP_CODE.NOT_ACCEPTABLE, `Accept ${accept} is not ${COAP_CONTENT_FORMAT_JSON}`, `Accept ${COAP_CONTENT_FORMAT_JSON} only`);
  }
  if (contentFormat !== COAP_CONTENT_FORMAT_JSON) {
    const got = contentFormat === undefined ? 'no Content-Format' : `Content-Format ${contentFormat}`;
    return answer(COAP_CODE.UNSUPPORTED_CONTENT_FORMAT, `${got}, expected ${COAP_CONTENT_FORMAT_JSON} (application/json)`, `Content-Format ${COAP_CONTENT_FORMAT_JSON} only`);
  }
  if (message.payload.length > MAX_JSON_BODY_OCTETS) {
    return answer(COAP_CODE.REQUEST_ENTITY_TOO_LARGE, `body of ${message.payload.length} octets is over ${MAX_JSON_BODY_OCTETS}`, 'body too large', MAX_JSON_BODY_OCTETS);
  }
  const decoded = decodeCoapDeviceBody(message.payload);
  if (!decoded.ok) {
    return {
      kind: 'ANSWER',
      code: COAP_CODE.BAD_REQUEST,
      detail: decoded.error,
      payload: encodeCoapDeviceDiagnostic(coapDeviceDiagnostic(decoded.error, requestOctets + MAX_ANSWER_GROWTH_OCTETS - BAD_REQUEST_OVERHEAD_OCTETS - message.token.length)),
      contentFormat: COAP_CONTENT_FORMAT_JSON,
    };
  }
  return { kind: 'ACCEPT', request: decoded.value };
}

function answer(code: number, detail: string, diagnostic: string, size1?: number): RequestVerdict {
  const payload = encoder.encode(diagnostic);
  return size1 === undefined ? { kind: 'ANSWER', code, detail, payload } : { kind: 'ANSWER', code, detail, payload, size1 };
}

function samePath(path: readonly Uint8Array[], expected: readonly string[]): boolean {
  if (path.length !== expected.length) return false;
  for (let i = 0; i < path.length; i++) {
    const segment = decodeSegment(path[i] as Uint8Array);
    if (segment === undefined || segment !== expected[i]) return false;
  }
  return true;
}

function decodeSegment(value: Uint8Array): string | undefined {
  try {
    return utf8.decode(value);
  } catch {
    return undefined; // not UTF-8: matches no configured segment
  }
}

function describePath(path: readonly Uint8Array[]): string {
  const text = '/' + path.map((p) => decodeSegment(p) ?? '<not UTF-8>').join('/');
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function methodName(code: number): string {
  switch (code) {
    case 0x01:
      return '0.01 (GET)';
    case 0x03:
      return '0.03 (PUT)';
    case 0x04:
      return '0.04 (DELETE)';
    case 0x05:
      return '0.05 (FETCH)';
    case 0x06:
      return '0.06 (PATCH)';
    case 0x07:
      return '0.07 (iPATCH)';
    default:
      return `0.${String(code & 0x1f).padStart(2, '0')}`;
  }
}
