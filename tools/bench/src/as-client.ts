/**
 * `AsClient`: the benchmark's pretend Application Server talking to the reference MSGin5G Server
 * over MSGin5G-1 (docs/wire-formats.md §5.4), as `msgin5g-server send` and `messages` do
 * (apps/msgin5g-server/src/message-commands.ts), but many requests at once from a few long-lived
 * coap 1.5.0 agents: `send` POSTs a `MSG` from an AS Service ID (no `gatewayUeServiceId`) to
 * `/msgin5g` and reads the `MSGRESP`; `inbox` reads every entry of `GET /messages` page by page.
 * Rejected alternative: the server's `fetchMessages` / `postToServer` — they open and close one
 * socket per request (and are not exported by `@msgin5g/server`); the benchmark sends thousands.
 *
 * Each agent is given its own socket: an agent that made its socket itself closes it whenever no
 * request is pending and opens a new one (a new source port) for the next, and every new port is a
 * new peer for the server's `--check-mid-reuse` table (512 KiB each): a W6 run made ~2 000 of them,
 * and the server spent ~12 % of its time allocating them.
 */
import { createSocket, type Socket } from 'node:dgram';
import { Agent } from 'coap';
import type { ApplicationId, MessageId } from '@msgin5g/core';
import { COAP_CONTENT_FORMAT_JSON, decodeMsgin5g1MsgResp, encodeMsgin5g1MessageRequest, MSGIN5G_URI_PATH } from '@msgin5g/protocol';
import { MESSAGES_URI_PATH, type InboxEntry, type InboxPage } from '@msgin5g/server';

/** The server's answer to one `MSG`: its `MSGRESP` status and cause, or `NO_ANSWER` / a CoAP code. */
export interface SendAnswer {
  /** `DELIVERED`, `DELY_STORED`, `DELY_FAILED`; `NO_ANSWER` (none within the timeout); `CODE` (not 2.04 with a MSGRESP). */
  readonly status: 'DELIVERED' | 'DELY_STORED' | 'DELY_FAILED' | 'NO_ANSWER' | 'CODE';
  readonly failureCause?: string;
  /** The CoAP code, or the error text for NO_ANSWER. */
  readonly detail?: string;
}

export interface AsMessage {
  readonly to: string;
  readonly messageId: MessageId;
  readonly payload: Uint8Array;
  readonly deliveryStatusRequired: boolean;
  readonly applicationId?: ApplicationId;
}

export class AsClient {
  private readonly agents: Agent[];
  private readonly sockets: Socket[] = [];
  private next = 0;

  /**
   * @param server the reference server on 127.0.0.1 (`port`)
   * @param from the AS Service ID the messages come from (5..255 octets)
   * @param agents how many coap agents (sockets) to spread requests over: one per ~16 in flight
   *   keeps coap 1.5.0 from dropping datagrams (docs/benchmarks.md, W1)
   */
  constructor(
    private readonly server: { host: string; port: number },
    readonly from: string,
    agents = 1,
  ) {
    this.agents = Array.from({ length: Math.max(1, agents) }, () => {
      const socket = createSocket('udp4');
      socket.on('error', () => undefined);
      this.sockets.push(socket);
      const a = new Agent({ type: 'udp4', socket });
      a.on('error', () => undefined);
      return a;
    });
  }

  /** POSTs one `MSG` (CON; coap retransmits inside `timeoutMs`). Never rejects. */
  send(m: AsMessage, timeoutMs = 10_000): Promise<SendAnswer> {
    const body = encodeMsgin5g1MessageRequest({
      messageType: 'MSG',
      originatorAddress: this.from,
      targetAddress: m.to,
      targetType: 'UE',
      messageId: m.messageId,
      deliveryStatusRequired: m.deliveryStatusRequired,
      payload: m.payload,
      ...(m.applicationId === undefined ? {} : { applicationId: m.applicationId }),
    });
    return this.request('POST', MSGIN5G_URI_PATH, undefined, body, timeoutMs).then(
      (a): SendAnswer => {
        if (a.code !== '2.04') return { status: 'CODE', detail: a.code };
        const resp = decodeMsgin5g1MsgResp(a.payload);
        if (!resp.ok || resp.value.messageId !== m.messageId) return { status: 'CODE', detail: `2.04 ${Buffer.from(a.payload).toString('utf8').slice(0, 80)}` };
        return { status: resp.value.status, ...(resp.value.failureCause === undefined ? {} : { failureCause: resp.value.failureCause }) };
      },
      (err: unknown): SendAnswer => ({ status: 'NO_ANSWER', detail: err instanceof Error ? err.message : String(err) }),
    );
  }

  /**
   * Every entry of the AS inbox after `since` (`GET /messages?since=N`, page by page, oldest
   * first), at most `maxPages` pages. @throws Error when a page does not come or does not read.
   */
  async inbox(since = 0, maxPages = 100_000, timeoutMs = 10_000): Promise<{ entries: InboxEntry[]; lastSeq: number }> {
    const entries: InboxEntry[] = [];
    let cursor = since;
    let lastSeq = since;
    for (let i = 0; i < maxPages; i++) {
      const a = await this.request('GET', MESSAGES_URI_PATH, `since=${cursor}`, undefined, timeoutMs);
      let page: InboxPage;
      try {
        page = JSON.parse(Buffer.from(a.payload).toString('utf8')) as InboxPage;
      } catch {
        throw new Error(`GET /${MESSAGES_URI_PATH} answered ${a.code} without JSON`);
      }
      if (a.code !== '2.05' || !Array.isArray(page.messages)) throw new Error(`GET /${MESSAGES_URI_PATH} answered ${a.code}`);
      lastSeq = page.lastSeq;
      const before = cursor;
      for (const e of page.messages) {
        if (e.seq <= cursor) continue;
        entries.push(e);
        cursor = e.seq;
      }
      if (!page.more || cursor === before) break;
    }
    return { entries, lastSeq };
  }

  close(): void {
    for (const a of this.agents) {
      try {
        a.close();
      } catch {
        // nothing pending
      }
    }
    for (const s of this.sockets.splice(0)) {
      try {
        s.close();
      } catch {
        // closed already
      }
    }
  }

  private request(method: 'GET' | 'POST', path: string, query: string | undefined, body: Uint8Array | undefined, timeoutMs: number): Promise<{ code: string; payload: Uint8Array }> {
    const agent = this.agents[this.next++ % this.agents.length] as Agent;
    return new Promise((resolve, reject) => {
      const req = agent.request({
        hostname: this.server.host,
        port: this.server.port,
        method,
        confirmable: true,
        pathname: `/${path}`,
        ...(query === undefined ? {} : { query }),
        options: (body === undefined ? {} : { 'Content-Format': COAP_CONTENT_FORMAT_JSON }) as never,
      });
      const timer = setTimeout(() => {
        try {
          agent.abort(req);
        } catch {
          // answered meanwhile
        }
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      req.on('response', (res: { code: string; payload: Buffer }) => {
        clearTimeout(timer);
        resolve({ code: res.code, payload: new Uint8Array(res.payload) });
      });
      req.on('error', (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
      req.end(body === undefined ? undefined : Buffer.from(body));
    });
  }
}
