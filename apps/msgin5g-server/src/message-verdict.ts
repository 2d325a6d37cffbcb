/**
 * What the reference server does with one datagram at the CoAP message layer, before any request
 * reaches the `coap` 1.5.0 server: the strict RFC 7252 checks the library does not make. Pure; the
 * dispatcher in `reference-server.ts` carries the verdict out.
 *
 * Datagrams (RFC 7252 §3, §4), read with `@msgin5g/protocol`'s strict `parseCoapMessage`:
 * - not CoAP (under 4 octets, version ≠ 1) → ignored (§3);
 * - a message format error (token length 9..15, a token, option or extension running past the end,
 *   an option nibble 15 that is not the payload marker, a payload marker with nothing after it, an
 *   Empty message with a token or more octets) → RST for a CON, silence otherwise (§4.2, §4.3);
 * - an ACK or RST → never answered (§4.2, §4.3): an Empty one is passed on to be matched against the
 *   server's own separate CON responses, any other is ignored;
 * - a CON Empty message (a "CoAP ping") → RST (§4.3); a NON Empty message → ignored (§4.3: a NON is
 *   never Empty);
 * - a CON or NON carrying a response or a reserved code class (1, 6, 7) → RST for a CON, silence for
 *   a NON: the server has no context for it (§4.2, §4.3);
 * - a request (code 0.01..0.31) → judged by its options, in this order (the first failing check decides):
 *   1. a critical option the server does not recognise (OSCORE 9, any unknown odd number), or a
 *      recognised critical one repeated while not repeatable (Uri-Host, §5.4.5) or with a value
 *      length out of range (§5.4.3) → 4.02 Bad Option in a CON with a diagnostic payload (§5.4.1,
 *      §5.5.2); a NON is rejected, i.e. ignored (§5.4.1: "MUST cause the message to be rejected
 *      (Section 4.3)"). An elective option that is unknown, repeated or out of range is ignored.
 *   2. Proxy-Uri or Proxy-Scheme → 5.05 Proxying Not Supported (§5.7.2, §5.10.2);
 *   3. preconditions (§5.10.8): the resources have no ETag, so If-Match is fulfilled only by an
 *      empty value on an existing resource, and If-None-Match only on a resource that does not
 *      exist; otherwise 4.12 Precondition Failed and the method is not performed (§5.10.8.1,
 *      §5.10.8.2). A failed If-Match is 4.12, not 4.02: the option is recognised, the condition fails;
 *   4. Accept present and not 50 → 4.06 Not Acceptable: every answer is application/json (§5.10.4);
 *   5. a payload over {@link MAX_JSON_BODY_OCTETS} → 4.13 Request Entity Too Large with Size1 giving
 *      that maximum (§5.9.2.9, §5.10.9).
 *   Everything else is passed on, with the request's view for `classifyRequest` (Uri-Path,
 *   method, Content-Format read here, so a Content-Format of bad length counts as absent).
 * Recognised options: If-Match, Uri-Host, If-None-Match, Uri-Port, Uri-Path, Content-Format,
 * Uri-Query, Accept, Block2 and Block1 (RFC 7959; the `coap` server implements both), Proxy-Uri and
 * Proxy-Scheme (refused with 5.05). Observe is elective and handled by the dispatcher.
 *
 * Rejected alternative: checking inside the coap server's request handler. coap-packet reads a
 * malformed datagram as far as the bytes go, and the handler cannot send an RST or stay silent, so
 * the checks must run on the bytes before the library sees them.
 *
 * @see RFC 7252 §3, §4.1–§4.3, §5.4, §5.7.2, §5.9, §5.10; docs/wire-formats.md §4
 */
import {
  COAP_CODE,
  COAP_CONTENT_FORMAT_JSON,
  COAP_OPTION,
  MAX_JSON_BODY_OCTETS,
  coapCodeText,
  coapOptionFormats,
  isCriticalOption,
  MSGIN5G_URI_PATH,
  parseCoapMessage,
  readUintOption,
  type CoapMessage,
} from '@msgin5g/protocol';
import { MESSAGES_URI_PATH, REGISTRY_URI_PATH, type RequestView } from './request-target';

/** Response codes the verdict answers with (RFC 7252 §12.1.2), as code octets. */
export const STRICT_CODE = {
  BAD_OPTION: COAP_CODE.BAD_OPTION, // 4.02
  NOT_ACCEPTABLE: COAP_CODE.NOT_ACCEPTABLE, // 4.06
  PRECONDITION_FAILED: 0x8c, // 4.12
  REQUEST_ENTITY_TOO_LARGE: COAP_CODE.REQUEST_ENTITY_TOO_LARGE, // 4.13
  PROXYING_NOT_SUPPORTED: COAP_CODE.PROXYING_NOT_SUPPORTED, // 5.05
} as const;

export type MessageVerdict =
  /** A request the server serves: to the dispatcher (duplicates, faults, the coap server). */
  | { readonly kind: 'REQUEST'; readonly message: CoapMessage; readonly view: RequestView }
  /** A request answered here with an error response: `code` (octet), diagnostic `payload`, Size1 when set. */
  | { readonly kind: 'ANSWER'; readonly message: CoapMessage; readonly code: number; readonly payload: Uint8Array; readonly size1?: number; readonly detail: string }
  /** Answer a CON with an RST carrying its Message ID (RFC 7252 §4.2, §4.3): a format error, a CoAP ping, or a message without context. */
  | { readonly kind: 'RESET'; readonly messageId: number; readonly reason: 'FORMAT_ERROR' | 'PING' | 'NO_CONTEXT'; readonly detail: string }
  /** An Empty ACK or RST from the peer: match it against pending CONs, never answer it. */
  | { readonly kind: 'PEER_EMPTY'; readonly type: 'ACK' | 'RST'; readonly messageId: number }
  /** Say nothing. `malformed`: not CoAP or a format error; otherwise a message rejected or with nothing to do. */
  | { readonly kind: 'IGNORE'; readonly malformed: boolean; readonly detail: string };

/** The options the server recognises, with their formats (RFC 7252 §5.10 table, RFC 7959 §2.1; @msgin5g/protocol). */
const KNOWN_OPTIONS = coapOptionFormats([
  COAP_OPTION.IF_MATCH,
  COAP_OPTION.URI_HOST,
  COAP_OPTION.IF_NONE_MATCH,
  COAP_OPTION.URI_PORT,
  COAP_OPTION.URI_PATH,
  COAP_OPTION.CONTENT_FORMAT,
  COAP_OPTION.URI_QUERY,
  COAP_OPTION.ACCEPT,
  COAP_OPTION.BLOCK2,
  COAP_OPTION.BLOCK1,
  COAP_OPTION.PROXY_URI,
  COAP_OPTION.PROXY_SCHEME,
]);

/** Uri-Paths of the resources that exist (joined with `/`). */
const RESOURCES: ReadonlySet<string> = new Set([MSGIN5G_URI_PATH, REGISTRY_URI_PATH, MESSAGES_URI_PATH]);

const encoder = new TextEncoder();

/** Judges one datagram. Never throws. @see RFC 7252 §3, §4, §5.4 */
export function judgeDatagram(bytes: Uint8Array): MessageVerdict {
  const parsed = parseCoapMessage(bytes);
  switch (parsed.kind) {
    case 'NOT_COAP':
      return { kind: 'IGNORE', malformed: true, detail: parsed.detail };
    case 'FORMAT_ERROR':
      return parsed.type === 'CON'
        ? { kind: 'RESET', messageId: parsed.messageId, reason: 'FORMAT_ERROR', detail: parsed.detail }
        : { kind: 'IGNORE', malformed: true, detail: `${parsed.type}: ${parsed.detail}` };
    case 'MESSAGE':
      return judgeMessage(parsed.message);
  }
}

/** Judges a well-formed message (RFC 7252 §4). */
export function judgeMessage(message: CoapMessage): MessageVerdict {
  const { type, code, messageId } = message;
  if (type === 'ACK' || type === 'RST') {
    if (code === COAP_CODE.EMPTY) return { kind: 'PEER_EMPTY', type, messageId };
    return { kind: 'IGNORE', malformed: false, detail: `${type} carrying ${coapCodeText(code)}: this server sends no requests` };
  }
  const confirmable = type === 'CON';
  if (code === COAP_CODE.EMPTY) {
    return confirmable
      ? { kind: 'RESET', messageId, reason: 'PING', detail: 'CoAP ping (CON 0.00)' }
      : { kind: 'IGNORE', malformed: false, detail: 'NON Empty message (RFC 7252 §4.3: never Empty)' };
  }
  if (code >> 5 !== 0) {
    const detail = `${type} carrying ${coapCodeText(code)}, not a request`;
    return confirmable ? { kind: 'RESET', messageId, reason: 'NO_CONTEXT', detail } : { kind: 'IGNORE', malformed: false, detail };
  }
  return judgeRequest(message);
}

/** Judges a request's options and size (RFC 7252 §5.4, §5.10); see the module comment for the order. */
export function judgeRequest(message: CoapMessage): MessageVerdict {
  const seen = new Set<number>();
  const uriPath: string[] = [];
  const ifMatch: Uint8Array[] = [];
  let ifNoneMatch = false;
  let contentFormat: number | undefined;
  let accept: number | undefined;
  let proxy = false;
  for (const o of message.options) {
    const known = KNOWN_OPTIONS.get(o.number);
    const acceptable = known !== undefined && o.value.length >= known.min && o.value.length <= known.max && (known.repeatable || !seen.has(o.number));
    const repeated = seen.has(o.number);
    seen.add(o.number);
    if (!acceptable) {
      if (!isCriticalOption(o.number)) continue; // elective: ignored (RFC 7252 §5.4.1, §5.4.3, §5.4.5)
      const what =
        known === undefined
          ? `unrecognised critical option ${o.number}`
          : repeated && !known.repeatable
            ? `critical option ${o.number} repeated`
            : `critical option ${o.number} with a value of ${o.value.length} octets (${known.min}..${known.max})`;
      if (message.type !== 'CON') return { kind: 'IGNORE', malformed: false, detail: `NON request with ${what} rejected (RFC 7252 §5.4.1)` };
      return answer(message, STRICT_CODE.BAD_OPTION, what, `bad option: ${what}`);
    }
    switch (o.number) {
      case COAP_OPTION.IF_MATCH:
        ifMatch.push(o.value);
        break;
      case COAP_OPTION.IF_NONE_MATCH:
        ifNoneMatch = true;
        break;
      case COAP_OPTION.URI_PATH:
        uriPath.push(Buffer.from(o.value).toString('utf8'));
        break;
      case COAP_OPTION.CONTENT_FORMAT:
        contentFormat = readUintOption(o.value);
        break;
      case COAP_OPTION.ACCEPT:
        accept = readUintOption(o.value);
        break;
      case COAP_OPTION.PROXY_URI:
      case COAP_OPTION.PROXY_SCHEME:
        proxy = true;
        break;
      default:
        break; // Uri-Host, Uri-Port, Uri-Query, Block1, Block2: understood; the coap server reads the Block options
    }
  }
  if (proxy) return answer(message, STRICT_CODE.PROXYING_NOT_SUPPORTED, 'Proxy-Uri or Proxy-Scheme in a request', 'not a proxy');
  const exists = RESOURCES.has(uriPath.join('/'));
  // RFC 7252 §5.10.8.1: no representation here has an ETag, so only an empty If-Match value can match, and only when the resource exists.
  if (ifMatch.length > 0 && !(exists && ifMatch.some((v) => v.length === 0))) {
    return answer(message, STRICT_CODE.PRECONDITION_FAILED, 'If-Match not fulfilled (no ETag here)', 'precondition failed: If-Match');
  }
  // RFC 7252 §5.10.8.2: If-None-Match is fulfilled only when the target resource does not exist.
  if (ifNoneMatch && exists) {
    return answer(message, STRICT_CODE.PRECONDITION_FAILED, 'If-None-Match on an existing resource', 'precondition failed: If-None-Match');
  }
  if (accept !== undefined && accept !== COAP_CONTENT_FORMAT_JSON) {
    return answer(message, STRICT_CODE.NOT_ACCEPTABLE, `Accept ${String(accept)} is not ${COAP_CONTENT_FORMAT_JSON}`, `Accept ${COAP_CONTENT_FORMAT_JSON} only`);
  }
  if (message.payload.length > MAX_JSON_BODY_OCTETS) {
    return answer(
      message,
      STRICT_CODE.REQUEST_ENTITY_TOO_LARGE,
      `body of ${message.payload.length} octets is over ${MAX_JSON_BODY_OCTETS}`,
      `body over ${MAX_JSON_BODY_OCTETS} octets`,
      MAX_JSON_BODY_OCTETS,
    );
  }
  return { kind: 'REQUEST', message, view: { code: coapCodeText(message.code), uriPath, contentFormat, payload: message.payload } };
}

function answer(message: CoapMessage, code: number, detail: string, diagnostic: string, size1?: number): MessageVerdict {
  const payload = encoder.encode(diagnostic.length > 80 ? `${diagnostic.slice(0, 79)}…` : diagnostic);
  return size1 === undefined ? { kind: 'ANSWER', message, code, payload, detail } : { kind: 'ANSWER', message, code, payload, size1, detail };
}
