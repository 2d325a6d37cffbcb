/**
 * What the reference server does with one datagram at the CoAP message layer, before any request
 * reaches the `coap` 1.5.0 server: the strict RFC 7252 checks the library does not make. The checks
 * themselves live in `@msgin5g/protocol` (`coap-message-verdict.ts`), shared with the gateway's own
 * MSGin5G-1 endpoint; this module fixes the reference server's rules and keeps the names the server
 * and its tests use. Pure; the dispatcher in `reference-server.ts` carries the verdict out.
 *
 * The server's rules: the resources `msgin5g`, `registry` and `messages` exist (for If-Match / If-None-Match);
 * it recognises If-Match, Uri-Host, If-None-Match, Uri-Port, Uri-Path, Content-Format, Uri-Query,
 * Accept, Block2 and Block1 (RFC 7959; the `coap` server implements both), Proxy-Uri and
 * Proxy-Scheme (refused with 5.05); payloads up to 4,096 octets. Observe is elective and handled by
 * the dispatcher. The order of the checks and each answer: `coap-message-verdict.ts` and
 * docs/wire-formats.md §4.
 *
 * @see RFC 7252 §3, §4.1–§4.3, §5.4, §5.7.2, §5.9, §5.10; docs/wire-formats.md §4
 */
import {
  COAP_OPTION,
  COAP_STRICT_CODE,
  coapOptionFormats,
  judgeCoapDatagram,
  judgeCoapMessage,
  judgeCoapRequest,
  MAX_JSON_BODY_OCTETS,
  MSGIN5G_URI_PATH,
  type CoapEndpointRules,
  type CoapMessage,
  type CoapMessageVerdict,
} from '@msgin5g/protocol';
import { MESSAGES_URI_PATH, REGISTRY_URI_PATH } from './request-target';

/** Response codes the verdict answers with (RFC 7252 §12.1.2), as code octets. */
export const STRICT_CODE = COAP_STRICT_CODE;

/** The verdict on one datagram (`@msgin5g/protocol`'s `CoapMessageVerdict`; its request view has the shape of `RequestView`). */
export type MessageVerdict = CoapMessageVerdict;

/** The reference server's rules (see the module docs). */
export const REFERENCE_SERVER_RULES: CoapEndpointRules = {
  recognisedOptions: coapOptionFormats([
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
  ]),
  resources: new Set([MSGIN5G_URI_PATH, REGISTRY_URI_PATH, MESSAGES_URI_PATH]),
  maxPayloadOctets: MAX_JSON_BODY_OCTETS,
};

/** Judges one datagram. Never throws. @see RFC 7252 §3, §4, §5.4 */
export function judgeDatagram(bytes: Uint8Array): MessageVerdict {
  return judgeCoapDatagram(bytes, REFERENCE_SERVER_RULES);
}

/** Judges a well-formed message (RFC 7252 §4). */
export function judgeMessage(message: CoapMessage): MessageVerdict {
  return judgeCoapMessage(message, REFERENCE_SERVER_RULES);
}

/** Judges a request's options and size (RFC 7252 §5.4, §5.10). */
export function judgeRequest(message: CoapMessage): MessageVerdict {
  return judgeCoapRequest(message, REFERENCE_SERVER_RULES);
}
