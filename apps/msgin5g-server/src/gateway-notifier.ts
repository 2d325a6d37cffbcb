/**
 * How the reference server delivers a `MSG` or `IMDN` to a gateway: a CON POST to the `notifyUri`
 * the gateway gave in its REG (docs/adr/0013), Content-Format 50, the JSON body of
 * docs/wire-formats.md §5.4, sent with the `coap` 1.5.0 client (retransmission per RFC 7252 §4.2 is
 * the library's), and the gateway's answer read into what the router does next
 * (packages/core/src/ports/server-inbox.ts says what a gateway answers):
 *
 * | answer | outcome |
 * |---|---|
 * | 2.xx `MSGRESP` `DELY_STORED` or `DELIVERED` (to a MSG); `{"messageType":"IMDN","result":"SUCCESS"}` (to an IMDN) | ACCEPTED: the gateway has it durably |
 * | 2.xx `DELY_FAILED` / `FAILURE` with `failureCause` `CONGESTION` | RETRY (the gateway's queue is full) |
 * | 2.xx `DELY_FAILED` / `FAILURE` with any other cause | REJECTED with that cause |
 * | 2.xx with a body that does not read, or a `msgId` not the one sent | RETRY (the gateway drops a repeat) |
 * | 5.03 (Max-Age honoured), any other 5.xx, no answer within the timeout, RST, a socket error | RETRY |
 * | 4.13 | REJECTED `PAYLOAD_TOO_LARGE` |
 * | any other 4.xx | REJECTED `UNSPECIFIED` (the gateway cannot take it; sending it again would not help) |
 * | any other code | RETRY |
 */
import { Agent, type IncomingMessage, type OutgoingMessage } from 'coap';
import { COAP_CONTENT_FORMAT_JSON, decodeMsgin5g1ImdnAnswer, decodeMsgin5g1MsgResp } from '@msgin5g/protocol';
import { endWithBody } from './coap-request-body';
import { parseNotifyUri } from './notify-uri';

/** What became of one delivery attempt. `retryAfterMs`: the gateway's Max-Age with a 5.03. */
export type NotifyOutcome =
  | { readonly kind: 'ACCEPTED'; readonly detail: string }
  | { readonly kind: 'REJECTED'; readonly cause: string; readonly detail: string }
  | { readonly kind: 'RETRY'; readonly detail: string; readonly retryAfterMs?: number };

/** Sends one delivery; the router's only door to the network. */
export interface GatewayNotifier {
  /** POSTs `body` (a `MSG` when `messageType` is MSG, else an `IMDN`) to `notifyUri`. Never rejects. */
  deliver(notifyUri: string, messageType: 'MSG' | 'IMDN', messageId: string, body: Uint8Array): Promise<NotifyOutcome>;
  /** Aborts what is in flight (those resolve RETRY) and closes the sockets. Idempotent. */
  close(): void;
}

/** Default time a delivery may take, ms: CoAP retransmission (2 s, doubling) runs inside it. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 15_000;

/** {@link GatewayNotifier} over the `coap` client: one agent per address family, opened when first needed. */
export class CoapGatewayNotifier implements GatewayNotifier {
  private readonly agents = new Map<'udp4' | 'udp6', Agent>();
  private readonly inFlight = new Set<() => void>();
  private closed = false;

  constructor(private readonly timeoutMs: number = DEFAULT_DELIVERY_TIMEOUT_MS) {}

  deliver(notifyUri: string, messageType: 'MSG' | 'IMDN', messageId: string, body: Uint8Array): Promise<NotifyOutcome> {
    const target = parseNotifyUri(notifyUri);
    if (!target.ok) return Promise.resolve({ kind: 'REJECTED', cause: 'UNSPECIFIED', detail: target.error });
    if (this.closed) return Promise.resolve({ kind: 'RETRY', detail: 'server stopping' });
    const { host, port, pathSegments } = target.value;
    const family = host.includes(':') ? 'udp6' : 'udp4';
    let agent = this.agents.get(family);
    if (agent === undefined) {
      agent = new Agent({ type: family });
      // A socket error (ICMP port unreachable on some systems) is the agent's 'error' event; each request then times out and is retried.
      agent.on('error', () => undefined);
      this.agents.set(family, agent);
    }
    const a = agent;
    return new Promise<NotifyOutcome>((resolve) => {
      let req: OutgoingMessage;
      const pending: { timer?: NodeJS.Timeout } = {};
      const finish = (outcome: NotifyOutcome): void => {
        if (!this.inFlight.delete(abort)) return;
        clearTimeout(pending.timer);
        resolve(outcome);
      };
      const abort = (): void => {
        try {
          a.abort(req);
        } catch {
          // already done
        }
        finish({ kind: 'RETRY', detail: 'aborted: server stopping' });
      };
      this.inFlight.add(abort);
      try {
        req = a.request({
          hostname: host,
          port,
          method: 'POST',
          confirmable: true,
          pathname: `/${pathSegments.map(encodeURIComponent).join('/')}`,
          options: { 'Content-Format': COAP_CONTENT_FORMAT_JSON },
        });
      } catch (err) {
        finish({ kind: 'RETRY', detail: `cannot send: ${String(err)}` });
        return;
      }
      pending.timer = setTimeout(() => {
        if (!this.inFlight.has(abort)) return;
        try {
          a.abort(req);
        } catch {
          // already done
        }
        finish({ kind: 'RETRY', detail: `no answer within ${this.timeoutMs} ms` });
      }, this.timeoutMs);
      req.on('response', (res: IncomingMessage) => finish(readAnswer(res, messageType, messageId)));
      req.on('error', (err: unknown) => finish({ kind: 'RETRY', detail: `CoAP error: ${String(err)}` }));
      req.on('timeout', (err: unknown) => finish({ kind: 'RETRY', detail: `CoAP timeout: ${String(err)}` }));
      endWithBody(req, body); // a body over coap-packet's 1,280-octet limit still goes in one datagram
    });
  }

  close(): void {
    this.closed = true;
    for (const abort of [...this.inFlight]) abort();
    for (const agent of this.agents.values()) {
      try {
        agent.close();
      } catch {
        // its socket was never opened or already closed
      }
    }
    this.agents.clear();
  }
}

/** Reads a gateway's answer (table in the module comment). Exported for tests. */
export function readAnswer(res: { code: string; payload: Buffer; headers: Record<string, unknown> }, messageType: 'MSG' | 'IMDN', messageId: string): NotifyOutcome {
  const code = res.code;
  if (code.startsWith('2.')) {
    const payload = new Uint8Array(res.payload.buffer, res.payload.byteOffset, res.payload.byteLength);
    if (messageType === 'MSG') {
      const resp = decodeMsgin5g1MsgResp(payload);
      if (!resp.ok) return { kind: 'RETRY', detail: `${code} with an unreadable MSGRESP: ${resp.error}` };
      if (resp.value.messageId !== messageId) return { kind: 'RETRY', detail: `MSGRESP for msgId ${resp.value.messageId}, not ${messageId}` };
      if (resp.value.status !== 'DELY_FAILED') return { kind: 'ACCEPTED', detail: `MSGRESP ${resp.value.status}` };
      return failed(resp.value.failureCause, 'MSGRESP DELY_FAILED');
    }
    const answer = decodeMsgin5g1ImdnAnswer(payload);
    if (!answer.ok) return { kind: 'RETRY', detail: `${code} with an unreadable IMDN answer: ${answer.error}` };
    if (answer.value.result === 'SUCCESS') return { kind: 'ACCEPTED', detail: 'IMDN SUCCESS' };
    return failed(answer.value.failureCause, 'IMDN FAILURE');
  }
  if (code === '5.03') {
    const maxAge = res.headers['Max-Age'];
    const s = typeof maxAge === 'number' ? maxAge : 60; // RFC 7252 §5.10.5: absent means 60 s
    return { kind: 'RETRY', detail: '5.03 Service Unavailable', retryAfterMs: s * 1000 };
  }
  if (code.startsWith('5.')) return { kind: 'RETRY', detail: `answered ${code}` };
  if (code === '4.13') return { kind: 'REJECTED', cause: 'PAYLOAD_TOO_LARGE', detail: 'answered 4.13' };
  if (code.startsWith('4.')) return { kind: 'REJECTED', cause: 'UNSPECIFIED', detail: `answered ${code}: ${res.payload.toString('utf8').slice(0, 80)}` };
  return { kind: 'RETRY', detail: `answered ${code}` };
}

function failed(cause: string | undefined, what: string): NotifyOutcome {
  if (cause === 'CONGESTION') return { kind: 'RETRY', detail: `${what} CONGESTION` };
  return { kind: 'REJECTED', cause: cause ?? 'UNSPECIFIED', detail: `${what} ${cause ?? '(no cause)'}` };
}
