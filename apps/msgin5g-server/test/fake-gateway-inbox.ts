/**
 * A fake gateway inbox for the routing tests: a UDP socket on loopback that reads each CON POST the
 * reference server sends to a `notifyUri` (coap-packet), records it once per Message ID, and
 * answers piggybacked with what `answer` says (retransmitted copies get the same bytes), or stays
 * silent. Stands for the gateway's MSGin5G-1 endpoint (docs/adr/0013).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { generate, parse } from 'coap-packet';

export interface Delivery {
  readonly uriPath: string[];
  readonly contentFormat: number | undefined;
  readonly confirmable: boolean;
  readonly body: Record<string, unknown>;
}

/** What the inbox answers: a code and JSON body (`maxAge` adds Max-Age), or `silent`. */
export type InboxAnswer = { code: string; body?: unknown; maxAge?: number } | 'silent';

/** Answers as a gateway that stored the item durably (packages/core/src/ports/server-inbox.ts). */
export const storedAnswer = (d: Delivery): InboxAnswer =>
  d.body['messageType'] === 'MSG' ? { code: '2.04', body: { messageType: 'MSGRESP', msgId: d.body['msgId'], status: 'DELY_STORED' } } : { code: '2.04', body: { messageType: 'IMDN', result: 'SUCCESS' } };

export class FakeGatewayInbox {
  readonly deliveries: Delivery[] = [];
  /** Requests seen, copies included. */
  datagrams = 0;
  answer: (d: Delivery) => InboxAnswer = storedAnswer;
  private readonly sent = new Map<number, Buffer>();

  private constructor(private readonly socket: Socket) {}

  /** Binds 127.0.0.1 on `port` (0: a free one). */
  static async open(port = 0): Promise<FakeGatewayInbox> {
    const socket = createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, '127.0.0.1', () => resolve());
    });
    const inbox = new FakeGatewayInbox(socket);
    socket.on('message', (m, from) => inbox.onMessage(m, from));
    return inbox;
  }

  get port(): number {
    return this.socket.address().port;
  }

  uri(path = 'msgin5g'): string {
    return `coap://127.0.0.1:${this.port}/${path}`;
  }

  /** Resolves once `n` deliveries were recorded; rejects after `timeoutMs`. */
  async waitFor(n: number, timeoutMs = 5000): Promise<Delivery[]> {
    const until = Date.now() + timeoutMs;
    while (this.deliveries.length < n) {
      if (Date.now() > until) throw new Error(`expected ${n} deliveries within ${timeoutMs} ms, got ${this.deliveries.length}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.deliveries;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private onMessage(bytes: Buffer, from: RemoteInfo): void {
    let packet;
    try {
      packet = parse(bytes);
    } catch {
      return;
    }
    if (packet.code !== '0.02') return;
    this.datagrams += 1;
    const copy = this.sent.get(packet.messageId);
    if (copy !== undefined) {
      this.socket.send(copy, from.port, from.address);
      return;
    }
    const cf = packet.options.find((o) => o.name === 'Content-Format')?.value;
    const delivery: Delivery = {
      uriPath: packet.options.filter((o) => o.name === 'Uri-Path').map((o) => (o.value as Buffer).toString('utf8')),
      contentFormat: cf === undefined ? undefined : (cf as Buffer).length === 0 ? 0 : (cf as Buffer).readUIntBE(0, (cf as Buffer).length),
      confirmable: packet.confirmable,
      body: JSON.parse(packet.payload.toString('utf8')) as Record<string, unknown>,
    };
    this.deliveries.push(delivery);
    const a = this.answer(delivery);
    if (a === 'silent') return;
    const options: Array<{ name: 'Content-Format' | 'Max-Age'; value: Buffer }> = [];
    if (a.body !== undefined) options.push({ name: 'Content-Format', value: Buffer.from([50]) });
    if (a.maxAge !== undefined) options.push({ name: 'Max-Age', value: Buffer.from([a.maxAge]) });
    const out = generate({
      code: a.code,
      messageId: packet.messageId,
      token: packet.token,
      ack: true,
      options,
      payload: a.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(a.body)),
    });
    this.sent.set(packet.messageId, out);
    this.socket.send(out, from.port, from.address);
  }
}
