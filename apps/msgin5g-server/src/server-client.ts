/**
 * A small CoAP client for the running reference server, used by the `send` and `messages`
 * subcommands: one confirmable request per call from a private agent, closed afterwards so nothing
 * keeps the process alive (as `registry-client.ts`).
 */
import { Agent } from 'coap';
import { COAP_CONTENT_FORMAT_JSON, DEFAULT_COAP_PORT, MSGIN5G_URI_PATH } from '@msgin5g/protocol';
import type { InboxPage } from './as-inbox';
import { endWithBody } from './coap-request-body';
import { MESSAGES_URI_PATH } from './request-target';

/** Where the server is: host (IPv6 without brackets) and UDP port. */
export interface ServerAddress {
  readonly host: string;
  readonly port: number;
}

/** Reads `coap://host[:port][/]` (the `--server` flag). @throws Error naming the problem. */
export function parseServerUri(uri: string): ServerAddress {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new Error(`--server ${JSON.stringify(uri)} is not a URI (e.g. coap://127.0.0.1:5683)`);
  }
  if (url.protocol !== 'coap:' || url.hostname === '') throw new Error(`--server must be coap://host[:port], got ${JSON.stringify(uri)}`);
  if (url.pathname !== '' && url.pathname !== '/') throw new Error('--server takes no path: the resources are /msgin5g and /messages');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: url.port === '' ? DEFAULT_COAP_PORT : Number(url.port) };
}

/** A CoAP answer: code `c.dd` and the payload as text. */
export interface ServerAnswer {
  readonly code: string;
  readonly text: string;
}

/**
 * One CON request. @throws Error when no answer arrives within `timeoutMs` (ms) or the request fails.
 */
export function serverRequest(server: ServerAddress, r: { method: 'GET' | 'POST'; path: string; query?: string; body?: Uint8Array }, timeoutMs: number): Promise<ServerAnswer> {
  const agent = new Agent({ type: server.host.includes(':') ? 'udp6' : 'udp4' });
  agent.on('error', () => undefined);
  return new Promise<ServerAnswer>((resolve, reject) => {
    const options: Record<string, unknown> = {};
    if (r.body !== undefined) options['Content-Format'] = COAP_CONTENT_FORMAT_JSON;
    const req = agent.request({
      hostname: server.host,
      port: server.port,
      method: r.method,
      confirmable: true,
      pathname: `/${r.path}`,
      ...(r.query === undefined ? {} : { query: r.query }),
      options: options as never,
    });
    const timer = setTimeout(() => {
      try {
        agent.abort(req);
      } catch {
        // already answered
      }
      reject(new Error(`no answer from coap://${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port} within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      resolve({ code: res.code, text: res.payload.toString('utf8') });
    });
    req.on('error', (err: unknown) => {
      clearTimeout(timer);
      reject(err instanceof Error ? err : new Error(String(err)));
    });
    // `send` POSTs a MSG body of up to 4,096 octets: over coap-packet's 1,280-octet limit too.
    if (r.body === undefined) req.end();
    else endWithBody(req, r.body);
  }).finally(() => {
    try {
      agent.close();
    } catch {
      // closed already
    }
  });
}

/** POSTs a MSGin5G-1 body to `/msgin5g`; resolves with the answer. */
export function postToServer(server: ServerAddress, body: Uint8Array, timeoutMs: number): Promise<ServerAnswer> {
  return serverRequest(server, { method: 'POST', path: MSGIN5G_URI_PATH, body }, timeoutMs);
}

/** `GET /messages[?since=N]`. @throws Error when the answer is not 2.05 with a page. */
export async function fetchMessages(server: ServerAddress, since: number | undefined, timeoutMs: number): Promise<InboxPage> {
  const a = await serverRequest(server, { method: 'GET', path: MESSAGES_URI_PATH, ...(since === undefined ? {} : { query: `since=${since}` }) }, timeoutMs);
  let page: InboxPage;
  try {
    page = JSON.parse(a.text) as InboxPage;
  } catch {
    throw new Error(`GET /${MESSAGES_URI_PATH} answered ${a.code} without JSON`);
  }
  if (a.code !== '2.05' || !Array.isArray(page.messages) || typeof page.lastSeq !== 'number') throw new Error(`GET /${MESSAGES_URI_PATH} answered ${a.code}: ${a.text.slice(0, 80)}`);
  return page;
}
