/**
 * What a CoAP request to the reference server asks for, decided once from its method, Uri-Path,
 * Content-Format and payload, before any fault is chosen: a well-formed MSGin5G-1 request, the
 * admin registry resource, or a request answered with a 4.xx and a JSON diagnostic.
 *
 * Resources: `POST /msgin5g` (MSGin5G-1, docs/wire-formats.md §4) and `GET /registry` (admin, for
 * tests: the UE Service IDs registered). The reference server is strict on purpose, so that a
 * gateway drifting from the wire format fails loudly: a missing Content-Format is 4.15 like a
 * wrong one, and the body is read with the protocol package's strict request decoder.
 */
import { COAP_CONTENT_FORMAT_JSON, decodeMsgin5g1Request, MSGIN5G_URI_PATH, type Msgin5g1Request } from '@msgin5g/protocol';

/** Uri-Path of the admin registry resource. */
export const REGISTRY_URI_PATH = 'registry';

/** The parts of a CoAP request the server looks at. `code` is the method code, `0.02` for POST. */
export interface RequestView {
  readonly code: string;
  readonly uriPath: readonly string[];
  readonly contentFormat: number | undefined;
  readonly payload: Uint8Array;
}

export type RequestTarget =
  | { readonly kind: 'msgin5g'; readonly request: Msgin5g1Request }
  | { readonly kind: 'registry' }
  | { readonly kind: 'reject'; readonly code: '4.00' | '4.04' | '4.05' | '4.15'; readonly diagnostic: string };

const GET = '0.01';
const POST = '0.02';

/** Decides what a request asks for. Never throws. @see RFC 7252 §5.9.2 (4.xx codes) */
export function classifyRequest(view: RequestView): RequestTarget {
  const path = view.uriPath.join('/');
  if (path === MSGIN5G_URI_PATH) {
    if (view.code !== POST) return { kind: 'reject', code: '4.05', diagnostic: `/${path} accepts POST only` };
    if (view.contentFormat !== COAP_CONTENT_FORMAT_JSON) {
      const got = view.contentFormat === undefined ? 'none' : String(view.contentFormat);
      return { kind: 'reject', code: '4.15', diagnostic: `Content-Format must be ${COAP_CONTENT_FORMAT_JSON} (application/json), got ${got}` };
    }
    const decoded = decodeMsgin5g1Request(view.payload);
    if (!decoded.ok) return { kind: 'reject', code: '4.00', diagnostic: decoded.error };
    return { kind: 'msgin5g', request: decoded.value };
  }
  if (path === REGISTRY_URI_PATH) {
    return view.code === GET ? { kind: 'registry' } : { kind: 'reject', code: '4.05', diagnostic: `/${path} accepts GET only` };
  }
  return { kind: 'reject', code: '4.04', diagnostic: `no resource /${path}; try /${MSGIN5G_URI_PATH}` };
}
