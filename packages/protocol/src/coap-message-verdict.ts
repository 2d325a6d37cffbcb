/**
 * What a strict RFC 7252 server endpoint does with one datagram at the CoAP message layer, before
 * its resource logic: the checks npm `coap` 1.5.0 does not make. Pure, and shared by the endpoints
 * of this repository that serve MSGin5G-1 requests — the reference MSGin5G Server
 * (`apps/msgin5g-server`) and the gateway's own MSGin5G-1 endpoint (`CoapServerInbox`,
 * docs/adr/0013) — each with its {@link CoapEndpointRules}: the options it recognises, the resources
 * that exist, the largest payload. The caller carries the verdict out.
 *
 * Datagrams (RFC 7252 §3, §4), read with the strict `parseCoapMessage`:
 * - not CoAP (under 4 octets, version ≠ 1) → ignored (§3);
 * - a message format error (token length 9..15, a token, option or extension running past the end,
 *   an option nibble 15 that is not the payload marker, a payload marker with nothing after it, an
 *   Empty message with a token or more octets) → RST for a CON, silence otherwise (§4.2, §4.3);
 * - an ACK or RST → never answered (§4.2, §4.3): an Empty one is passed on to be matched against the
 *   endpoint's own CONs, any other is ignored;
 * - a CON Empty message (a "CoAP ping") → RST (§4.3); a NON Empty message → ignored (§4.3: a NON is
 *   never Empty);
 * - a CON or NON carrying a response or a reserved code class (1, 6, 7) → RST for a CON, silence for
 *   a NON: the endpoint has no context for it (§4.2, §4.3);
 * - a request (code 0.01..0.31) → judged by its options, in this order (the first failing check decides):
 *   1. a critical option the endpoint does not recognise (OSCORE 9, any unknown odd number), or a
 *      recognised critical one repeated while not repeatable (Uri-Host, §5.4.5) or with a value
 *      length out of range (§5.4.3) → 4.02 Bad Option in a CON with a diagnostic payload (§5.4.1,
 *      §5.5.2); a NON is rejected, i.e. ignored (§5.4.1: "MUST cause the message to be rejected
 *      (Section 4.3)"). An elective option that is unknown, repeated or out of range is ignored.
 *   2. Proxy-Uri or Proxy-Scheme (when recognised) → 5.05 Proxying Not Supported (§5.7.2, §5.10.2);
 *   3. preconditions (§5.10.8), when If-Match / If-None-Match are recognised: the resources have no
 *      ETag, so If-Match is fulfilled only by an empty value on an existing resource, and
 *      If-None-Match only on a resource that does not exist; otherwise 4.12 Precondition Failed and
 *      the method is not performed (§5.10.8.1, §5.10.8.2). A failed If-Match is 4.12, not 4.02: the
 *      option is recognised, the condition fails;
 *   4. Accept present and not 50 → 4.06 Not Acceptable: every answer is application/json (§5.10.4);
 *   5. a payload over `maxPayloadOctets` → 4.13 Request Entity Too Large with Size1 giving that
 *      maximum (§5.9.2.9, §5.10.9).
 *   Everything else is passed on with the request's view (Uri-Path, method, Content-Format read
 *   here, so a Content-Format of bad length counts as absent) for the resource's own checks
 *   (4.04, 4.05, 4.15, 4.00).
 *
 * Rejected alternative: one copy of these checks per endpoint (they lived in the reference server
 * alone until the gateway gained an endpoint of its own): two copies of RFC 7252 drift apart.
 *
 * @see RFC 7252 §3, §4.1–§4.3, §5.4, §5.7.2, §5.9, §5.10
 */
import { COAP_CONTENT_FORMAT_JSON } from './codepoints';
import { COAP_CODE, COAP_OPTION, coapCodeText, isCriticalOption, parseCoapMessage, readUintOption, type CoapMessage, type CoapOptionFormat } from './coap-message';
import { MAX_JSON_BODY_OCTETS } from './json-body';

/** Response codes the verdict answers with (RFC 7252 §12.1.2), as code octets. */
export const COAP_STRICT_CODE = {
  BAD_OPTION: COAP_CODE.BAD_OPTION, // 4.02
  NOT_ACCEPTABLE: COAP_CODE.NOT_ACCEPTABLE, // 4.06
  PRECONDITION_FAILED: 0x8c, // 4.12
  REQUEST_ENTITY_TOO_LARGE: COAP_CODE.REQUEST_ENTITY_TOO_LARGE, // 4.13
  PROXYING_NOT_SUPPORTED: COAP_CODE.PROXYING_NOT_SUPPORTED, // 5.05
} as const;

/** The parts of a request an endpoint's resource logic looks at. `code` is the method code, `0.02` for POST. */
export interface CoapRequestView {
  readonly code: string;
  readonly uriPath: readonly string[];
  readonly contentFormat: number | undefined;
  readonly payload: Uint8Array;
}

/** What one endpoint recognises and serves (see the module docs). */
export interface CoapEndpointRules {
  /** The options it recognises, with their formats (`coapOptionFormats`, RFC 7252 §5.10); any other critical option is 4.02. */
  readonly recognisedOptions: ReadonlyMap<number, CoapOptionFormat>;
  /** Uri-Paths of the resources that exist, segments joined with `/` (`msgin5g`), for the preconditions. */
  readonly resources: ReadonlySet<string>;
  /** Largest payload accepted, octets (Size1 of the 4.13). Default {@link MAX_JSON_BODY_OCTETS}, 4,096. */
  readonly maxPayloadOctets?: number;
}

export type CoapMessageVerdict =
  /** A request the endpoint serves: to its resource logic (duplicates first). */
  | { readonly kind: 'REQUEST'; readonly message: CoapMessage; readonly view: CoapRequestView }
  /** A request answered here with an error response: `code` (octet), diagnostic `payload`, Size1 when set. */
  | { readonly kind: 'ANSWER'; readonly message: CoapMessage; readonly code: number; readonly payload: Uint8Array; readonly size1?: number; readonly detail: string }
  /** Answer a CON with an RST carrying its Message ID (RFC 7252 §4.2, §4.3): a format error, a CoAP ping, or a message without context. */
  | { readonly kind: 'RESET'; readonly messageId: number; readonly reason: 'FORMAT_ERROR' | 'PING' | 'NO_CONTEXT'; readonly detail: string }
  /** An Empty ACK or RST from the peer: match it against pending CONs, never answer it. */
  | { readonly kind: 'PEER_EMPTY'; readonly type: 'ACK' | 'RST'; readonly messageId: number }
  /** Say nothing. `malformed`: not CoAP or a format error; otherwise a message rejected or with nothing to do. */
  | { readonly kind: 'IGNORE'; readonly malformed: boolean; readonly detail: string };

const encoder = new TextEncoder();

/** Judges one datagram against `rules`. Never throws. @see RFC 7252 §3, §4, §5.4 */
export function judgeCoapDatagram(bytes: Uint8Array, rules: CoapEndpointRules): CoapMessageVerdict {
  const parsed = parseCoapMessage(bytes);
  switch (parsed.kind) {
    case 'NOT_COAP':
      return { kind: 'IGNORE', malformed: true, detail: parsed.detail };
    case 'FORMAT_ERROR':
      return parsed.type === 'CON'
        ? { kind: 'RESET', messageId: parsed.messageId, reason: 'FORMAT_ERROR', detail: parsed.detail }
        : { kind: 'IGNORE', malformed: true, detail: `${parsed.type}: ${parsed.detail}` };
    case 'MESSAGE':
      return judgeCoapMessage(parsed.message, rules);
  }
}

/** Judges a well-formed message (RFC 7252 §4). */
export function judgeCoapMessage(message: CoapMessage, rules: CoapEndpointRules): CoapMessageVerdict {
  const { type, code, messageId } = message;
  if (type === 'ACK' || type === 'RST') {
    if (code === COAP_CODE.EMPTY) return { kind: 'PEER_EMPTY', type, messageId };
    return { kind: 'IGNORE', malformed: false, detail: `${type} carrying ${coapCodeText(code)}: this endpoint sends no requests` };
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
  return judgeCoapRequest(message, rules);
}

/** Judges a request's options and size against `rules` (RFC 7252 §5.4, §5.10); see the module comment for the order. */
export function judgeCoapRequest(message: CoapMessage, rules: CoapEndpointRules): CoapMessageVerdict {
  const maxPayloadOctets = rules.maxPayloadOctets ?? MAX_JSON_BODY_OCTETS;
  const seen = new Set<number>();
  const uriPath: string[] = [];
  const ifMatch: Uint8Array[] = [];
  let ifNoneMatch = false;
  let contentFormat: number | undefined;
  let accept: number | undefined;
  let proxy = false;
  for (const o of message.options) {
    const known = rules.recognisedOptions.get(o.number);
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
      return answer(message, COAP_STRICT_CODE.BAD_OPTION, what, `bad option: ${what}`);
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
        break; // Uri-Host, Uri-Port, Uri-Query, Block1/Block2 where recognised: understood; no effect on the verdict
    }
  }
  if (proxy) return answer(message, COAP_STRICT_CODE.PROXYING_NOT_SUPPORTED, 'Proxy-Uri or Proxy-Scheme in a request', 'not a proxy');
  const exists = rules.resources.has(uriPath.join('/'));
  // RFC 7252 §5.10.8.1: no representation here has an ETag, so only an empty If-Match value can match, and only when the resource exists.
  if (ifMatch.length > 0 && !(exists && ifMatch.some((v) => v.length === 0))) {
    return answer(message, COAP_STRICT_CODE.PRECONDITION_FAILED, 'If-Match not fulfilled (no ETag here)', 'precondition failed: If-Match');
  }
  // RFC 7252 §5.10.8.2: If-None-Match is fulfilled only when the target resource does not exist.
  if (ifNoneMatch && exists) {
    return answer(message, COAP_STRICT_CODE.PRECONDITION_FAILED, 'If-None-Match on an existing resource', 'precondition failed: If-None-Match');
  }
  if (accept !== undefined && accept !== COAP_CONTENT_FORMAT_JSON) {
    return answer(message, COAP_STRICT_CODE.NOT_ACCEPTABLE, `Accept ${String(accept)} is not ${COAP_CONTENT_FORMAT_JSON}`, `Accept ${COAP_CONTENT_FORMAT_JSON} only`);
  }
  if (message.payload.length > maxPayloadOctets) {
    return answer(
      message,
      COAP_STRICT_CODE.REQUEST_ENTITY_TOO_LARGE,
      `body of ${message.payload.length} octets is over ${maxPayloadOctets}`,
      `body over ${maxPayloadOctets} octets`,
      maxPayloadOctets,
    );
  }
  return { kind: 'REQUEST', message, view: { code: coapCodeText(message.code), uriPath, contentFormat, payload: message.payload } };
}

function answer(message: CoapMessage, code: number, detail: string, diagnostic: string, size1?: number): CoapMessageVerdict {
  const payload = encoder.encode(diagnostic.length > 80 ? `${diagnostic.slice(0, 79)}…` : diagnostic);
  return size1 === undefined ? { kind: 'ANSWER', message, code, payload, detail } : { kind: 'ANSWER', message, code, payload, size1, detail };
}
