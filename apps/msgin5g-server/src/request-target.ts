/**
 * What a CoAP request to the reference server asks for, decided once from its method, Uri-Path,
 * Uri-Query, Content-Format and payload, before any fault is chosen: a well-formed MSGin5G-1
 * request (REG/DEREG, or a MSG/IMDN), an admin resource, or a request answered with a 4.xx and a
 * JSON diagnostic.
 *
 * Resources: `POST /msgin5g` (MSGin5G-1: REG/DEREG, docs/wire-formats.md §4; MSG/IMDN, §5.4),
 * `GET /registry` (admin, for tests: the UE Service IDs registered) and `GET /messages[?since=N]`
 * (what reached the pretend Application Server, `as-inbox.ts`). The reference server is strict on purpose, so that a
 * gateway drifting from the wire format fails loudly: a missing Content-Format is 4.15 like a
 * wrong one, and the body is read with the protocol package's strict request decoder.
 */
import {
  COAP_CONTENT_FORMAT_JSON,
  decodeMsgin5g1MessageRequest,
  decodeMsgin5g1Request,
  MSGIN5G_URI_PATH,
  type Msgin5g1MessageRequest,
  type Msgin5g1Request,
} from '@msgin5g/protocol';
import { parseNotifyUri } from './notify-uri';

/** Uri-Path of the admin registry resource. */
export const REGISTRY_URI_PATH = 'registry';
/** Uri-Path of the pretend Application Server's inbox. */
export const MESSAGES_URI_PATH = 'messages';

/** The parts of a CoAP request the server looks at. `code` is the method code, `0.02` for POST. */
export interface RequestView {
  readonly code: string;
  readonly uriPath: readonly string[];
  readonly contentFormat: number | undefined;
  readonly payload: Uint8Array;
  /** Uri-Query options, in order (absent: none). */
  readonly uriQuery?: readonly string[];
}

export type RequestTarget =
  /** REG / DEREG; `notifyUri` from a gateway's own REG (docs/adr/0013). */
  | { readonly kind: 'msgin5g'; readonly request: Msgin5g1Request; readonly notifyUri?: string }
  /** MSG / IMDN (docs/wire-formats.md §5.4). */
  | { readonly kind: 'message'; readonly request: Msgin5g1MessageRequest }
  | { readonly kind: 'registry' }
  /** `GET /messages`, entries numbered above `since` when given. */
  | { readonly kind: 'messages'; readonly since?: number }
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
    if (isMessageRequest(view.payload)) {
      const message = decodeMsgin5g1MessageRequest(view.payload);
      return message.ok ? { kind: 'message', request: message.value } : { kind: 'reject', code: '4.00', diagnostic: message.error };
    }
    // The strict decoder reads `notifyUri` and refuses it anywhere but a gateway's own REG.
    const decoded = decodeMsgin5g1Request(view.payload);
    if (!decoded.ok) return { kind: 'reject', code: '4.00', diagnostic: decoded.error };
    const notifyUri = decoded.value.notifyUri;
    if (notifyUri === undefined) return { kind: 'msgin5g', request: decoded.value };
    const target = parseNotifyUri(notifyUri);
    if (!target.ok) return { kind: 'reject', code: '4.00', diagnostic: `MSGin5G-1 request: ${target.error}` };
    return { kind: 'msgin5g', request: decoded.value, notifyUri };
  }
  if (path === REGISTRY_URI_PATH) {
    return view.code === GET ? { kind: 'registry' } : { kind: 'reject', code: '4.05', diagnostic: `/${path} accepts GET only` };
  }
  if (path === MESSAGES_URI_PATH) {
    if (view.code !== GET) return { kind: 'reject', code: '4.05', diagnostic: `/${path} accepts GET only` };
    return readSince(view.uriQuery ?? []);
  }
  return { kind: 'reject', code: '4.04', diagnostic: `no resource /${path}; try /${MSGIN5G_URI_PATH}` };
}

/** Whether a body names `MSG` or `IMDN` as its `messageType` (then the message decoder reads it). */
function isMessageRequest(payload: Uint8Array): boolean {
  try {
    const obj: unknown = JSON.parse(Buffer.from(payload).toString('utf8'));
    const type = typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>)['messageType'] : undefined;
    return type === 'MSG' || type === 'IMDN';
  } catch {
    return false;
  }
}

/** `since=<seq>` (a whole number), the only Uri-Query `/messages` takes. */
function readSince(queries: readonly string[]): RequestTarget {
  let since: number | undefined;
  for (const q of queries) {
    const m = /^since=([0-9]{1,15})$/.exec(q);
    if (m === null) return { kind: 'reject', code: '4.00', diagnostic: `unknown or bad query ${JSON.stringify(q.slice(0, 40))}; /${MESSAGES_URI_PATH} takes since=<seq>` };
    if (since !== undefined) return { kind: 'reject', code: '4.00', diagnostic: 'since given twice' };
    since = Number(m[1]);
  }
  return since === undefined ? { kind: 'messages' } : { kind: 'messages', since };
}
