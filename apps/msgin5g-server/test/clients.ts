/** Test clients for the reference server: the `coap` library (a real CoAP peer) and raw datagrams. */
import { createSocket, type Socket } from 'node:dgram';
import { Agent } from 'coap';
import { generate, parse, type Packet, type ParsedPacket } from 'coap-packet';

export interface CoapAnswer {
  readonly code: string;
  readonly headers: Record<string, unknown>;
  readonly body: string;
  readonly from: { address: string; port: number };
}

/** One CON request with the coap library from a fresh agent on `host`'s family; rejects after `timeoutMs`. */
export function coapRequest(
  target: { host: string; port: number },
  r: { method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'FETCH'; path?: string; query?: string; contentFormat?: number | null; body?: string },
  timeoutMs = 3000,
): Promise<CoapAnswer> {
  const agent = new Agent({ type: target.host.includes(':') ? 'udp6' : 'udp4' });
  return new Promise((resolve, reject) => {
    const options: Record<string, unknown> = {};
    const cf = r.contentFormat === undefined ? 50 : r.contentFormat;
    if (cf !== null) options['Content-Format'] = cf;
    const req = agent.request({ hostname: target.host, port: target.port, method: r.method ?? 'POST', pathname: r.path ?? '/msgin5g', ...(r.query === undefined ? {} : { query: r.query }), options: options as never });
    const timer = setTimeout(() => {
      agent.abort(req);
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      resolve({ code: res.code, headers: { ...res.headers }, body: res.payload.toString('utf8'), from: { address: res.rsinfo.address, port: res.rsinfo.port } });
    });
    req.on('error', (err: unknown) => {
      clearTimeout(timer);
      reject(err instanceof Error ? err : new Error(String(err)));
    });
    req.end(r.body === undefined ? undefined : Buffer.from(r.body));
  });
}

/** A raw UDP client: sends exact bytes, records every datagram it gets. */
export class RawClient {
  readonly received: Array<{ bytes: Buffer; packet: ParsedPacket; at: number }> = [];
  private waiters: Array<() => void> = [];
  private constructor(private readonly socket: Socket, private readonly target: { host: string; port: number }) {}

  static async open(target: { host: string; port: number }): Promise<RawClient> {
    const socket = createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => socket.bind(0, target.host, () => resolve()));
    const c = new RawClient(socket, target);
    socket.on('message', (bytes) => {
      c.received.push({ bytes, packet: parse(bytes), at: Date.now() });
      for (const w of c.waiters.splice(0)) w();
    });
    return c;
  }

  send(bytes: Buffer): void {
    this.socket.send(bytes, this.target.port, this.target.host);
  }

  /** Resolves once `n` datagrams have arrived; rejects after `timeoutMs`. */
  async waitForCount(n: number, timeoutMs = 3000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.received.length < n) {
      const left = until - Date.now();
      if (left <= 0) throw new Error(`expected ${n} datagrams within ${timeoutMs} ms, got ${this.received.length}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** A CON (or NON) POST /msgin5g with Content-Format 50 and `body`. */
export function msgin5gPost(messageId: number, token: Buffer, body: string, confirmable = true): Buffer {
  const packet: Packet = {
    code: '0.02',
    confirmable,
    messageId,
    token,
    options: [
      { name: 'Uri-Path', value: Buffer.from('msgin5g') },
      { name: 'Content-Format', value: Buffer.from([50]) },
    ],
    payload: Buffer.from(body),
  };
  return generate(packet);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
