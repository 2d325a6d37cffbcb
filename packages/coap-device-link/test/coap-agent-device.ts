/**
 * Test device: a CoAP client on npm `coap` 1.5.0's `Agent` (a third-party CoAP stack, so the link
 * is not tested against this project's own reading of RFC 7252). Each device has its own agent on
 * its own bound socket, so its source port — its Layer-2 ID — is stable, and `close()` releases it.
 * Implements the contract suite's `TestDevice`.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { Agent, type IncomingMessage, type OutgoingMessage } from 'coap';
import { must, transportLayer2Id, type DeviceDeliveryMessage, type DeviceRequest, type DeviceResponse, type GatewayDeliveryMessage, type Layer2Id, type MessageId, type MessageReceiving } from '@msgin5g/core';
import type { MalformedDeliveryAnswer, TestDevice } from '@msgin5g/core/testing';
import {
  COAP_CODE,
  COAP_CONTENT_FORMAT_JSON,
  decodeCoapDeviceResponse,
  decodeCoapGatewayDelivery,
  decodeCoapMessageResponse,
  encodeCoapDeviceDelivery,
  encodeCoapDeviceRequest,
  encodeCoapMessage,
  parseCoapMessage,
} from '@msgin5g/protocol';

/** A request of the gateway (its `MSG` / `IMDN` POST) as the device received it. */
export interface GatewayPost {
  readonly type: 'CON' | 'NON';
  readonly messageId: number;
  readonly token: Uint8Array;
  readonly from: RemoteInfo;
  readonly body: Uint8Array;
}

/** An answer the agent delivered: code (`2.04`), Content-Format, payload, arrival time. */
export interface AgentAnswer {
  readonly code: string;
  readonly contentFormat: unknown;
  readonly payload: Buffer;
  readonly at: number;
}

export interface PostOptions {
  readonly confirmable?: boolean;
  /** Content-Format option; `null` sends none. Default 50. */
  readonly contentFormat?: number | null;
  readonly pathname?: string;
  readonly method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
}

export class CoapAgentDevice implements TestDevice {
  readonly answers: AgentAnswer[] = [];
  /** Every request the gateway sent this device (copies included), in order. */
  readonly gatewayPosts: GatewayPost[] = [];
  /** MSGRESP answers and gateway `MSG` / `IMDN`s not read yet (a gateway `MSG` is answered 2.04 only when `acknowledge` is called). */
  private readonly deliveryUnits: GatewayDeliveryMessage[] = [];
  /** Gateway `MSG`s awaiting `acknowledge`, by Message ID (of the message). */
  private readonly held = new Map<string, GatewayPost>();
  /** What the device answered to each gateway request, by CoAP Message ID: a copy gets it again. */
  private readonly answered = new Map<number, Uint8Array>();
  private readonly responses: DeviceResponse[] = [];
  private readonly waiters: Array<() => void> = [];
  /** Unanswered requests and their give-up timers. */
  private readonly open = new Map<OutgoingMessage, NodeJS.Timeout | undefined>();

  private constructor(
    private readonly socket: Socket,
    private readonly agent: Agent,
    readonly layer2Id: Layer2Id,
    private readonly target: { host: string; port: number },
  ) {
    // npm coap's Agent ignores requests on its socket; the gateway's own requests (MSG, IMDN) are read here.
    socket.on('message', (bytes, rinfo) => this.onDatagram(bytes, rinfo));
  }

  /** A device bound to `localHost` (ephemeral port) that talks to the link at `target`. */
  static async open(localHost: string, target: { host: string; port: number }): Promise<CoapAgentDevice> {
    const socket = createSocket(isIP(localHost) === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, localHost, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', () => undefined);
    const agent = new Agent({ socket });
    agent.on('error', () => undefined);
    return new CoapAgentDevice(socket, agent, must(transportLayer2Id(localHost, socket.address().port)), target);
  }

  send(request: DeviceRequest): Promise<void> {
    void this.post(encodeCoapDeviceRequest(request)).catch(() => undefined);
    return Promise.resolve();
  }

  /** A body that is not JSON: the link answers 4.00. */
  sendMalformed(): Promise<void> {
    void this.post(Buffer.from('not json')).catch(() => undefined);
    return Promise.resolve();
  }

  /** Sends one request; resolves with its answer (any code), rejects on a driver error or after `timeoutMs`. */
  post(body: Uint8Array, options: PostOptions = {}, timeoutMs = 10_000): Promise<AgentAnswer> {
    const { confirmable = true, contentFormat = COAP_CONTENT_FORMAT_JSON, pathname = '/msgin5g', method = 'POST' } = options;
    const coapOptions: Record<string, unknown> = {};
    if (contentFormat !== null) coapOptions['Content-Format'] = contentFormat;
    const req = this.agent.request({
      hostname: this.target.host,
      port: this.target.port,
      pathname,
      method,
      confirmable,
      options: coapOptions as Parameters<Agent['request']>[0]['options'],
    });
    this.open.set(req, undefined);
    const answer = new Promise<AgentAnswer>((resolve, reject) => {
      this.open.set(
        req,
        setTimeout(() => {
          this.abort(req);
          reject(new Error(`no answer within ${timeoutMs} ms`));
        }, timeoutMs),
      );
      req.on('response', (res: IncomingMessage) => {
        clearTimeout(this.open.get(req));
        this.open.delete(req);
        const a: AgentAnswer = { code: res.code, contentFormat: res.headers['Content-Format'], payload: res.payload, at: Date.now() };
        this.answers.push(a);
        if (a.code === '2.04') {
          const decoded = decodeCoapDeviceResponse(res.payload);
          if (decoded.ok) this.responses.push(decoded.value);
          const msgresp = decodeCoapMessageResponse(res.payload);
          if (msgresp.ok) this.deliveryUnits.push(msgresp.value);
          for (const w of this.waiters.splice(0)) w();
        }
        resolve(a);
      });
      req.on('error', (err: unknown) => {
        this.abort(req);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
      req.on('timeout', () => undefined);
    });
    req.end(Buffer.from(body));
    return answer;
  }

  /** A `MSG` or `IMDN` body (a CoAP device acknowledges a gateway `MSG` with 2.04, not with a 0x05: see `acknowledge`). */
  sendDelivery(message: DeviceDeliveryMessage): Promise<void> {
    if (message.kind === 'MESSAGE_RECEIVING_ACK') return Promise.reject(new Error('a CoAP device acknowledges with 2.04 (acknowledge), there is no JSON 0x05'));
    void this.post(encodeCoapDeviceDelivery(message)).catch(() => undefined);
    return Promise.resolve();
  }

  /** A `MSG` whose payload is not base64: the link answers 4.00. */
  async sendMalformedDelivery(messageId: MessageId): Promise<MalformedDeliveryAnswer> {
    const body = `{"messageType":"MSG","destAddr":"ue-77","msgId":"${messageId}","payload":"not base64!"}`;
    const answer = await this.post(Buffer.from(body), {}, 5000);
    return { kind: 'ERROR_RESPONSE', code: answer.code };
  }

  /** The next MSGRESP answer, or gateway `MSG` / `IMDN` (a copy of a request is not delivered twice). */
  async nextDeliveryUnit(timeoutMs = 3000): Promise<GatewayDeliveryMessage> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const u = this.deliveryUnits.shift();
      if (u !== undefined) return u;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no message-delivery unit within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Answers the gateway's `MSG` carrying `message` with a piggybacked 2.04 (an ACK for a CON, a NON for a NON). */
  async acknowledge(message: MessageReceiving): Promise<void> {
    const post = this.held.get(message.messageId);
    if (post === undefined) throw new Error(`no gateway MSG ${message.messageId} held by this device`);
    this.held.delete(message.messageId);
    await this.answerPost(post, COAP_CODE.CHANGED);
  }

  /** Answers a gateway request with `code` and no payload: piggybacked in the ACK of a CON, a NON for a NON. */
  answerPost(post: GatewayPost, code: number): Promise<void> {
    const bytes = encodeCoapMessage({ type: post.type === 'CON' ? 'ACK' : 'NON', code, messageId: post.messageId, token: post.token });
    this.answered.set(post.messageId, bytes);
    return this.sendTo(bytes, post.from);
  }

  /** Sends raw octets from the device's socket to `to`. */
  sendTo(bytes: Uint8Array, to: { address: string; port: number }): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(bytes, to.port, to.address, (err) => (err ? reject(err) : resolve())));
  }

  private onDatagram(bytes: Buffer, from: RemoteInfo): void {
    const parsed = parseCoapMessage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
    if (parsed.kind !== 'MESSAGE') return;
    const m = parsed.message;
    if ((m.type !== 'CON' && m.type !== 'NON') || m.code === COAP_CODE.EMPTY || m.code >> 5 !== 0) return; // responses are the Agent's
    const post: GatewayPost = { type: m.type, messageId: m.messageId, token: Uint8Array.from(m.token), from, body: Uint8Array.from(m.payload) };
    this.gatewayPosts.push(post);
    const again = this.answered.get(m.messageId);
    if (again !== undefined) {
      void this.sendTo(again, from).catch(() => undefined); // a copy: the same answer again (RFC 7252 §4.5)
      return;
    }
    if ([...this.held.values()].some((h) => h.messageId === m.messageId)) return; // a copy of a MSG not yet acknowledged
    const decoded = decodeCoapGatewayDelivery(post.body);
    if (!decoded.ok) {
      void this.answerPost(post, COAP_CODE.BAD_REQUEST).catch(() => undefined);
      return;
    }
    this.deliveryUnits.push(decoded.value);
    if (decoded.value.kind === 'MESSAGE_RECEIVING') this.held.set(decoded.value.messageId, post);
    else void this.answerPost(post, COAP_CODE.CHANGED).catch(() => undefined);
    for (const w of this.waiters.splice(0)) w();
  }

  async nextResponse(timeoutMs = 3000): Promise<DeviceResponse> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = this.responses.shift();
      if (r !== undefined) return r;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Aborts unanswered requests (stops retransmission) and closes the socket. */
  async close(): Promise<void> {
    for (const req of [...this.open.keys()]) this.abort(req);
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  private abort(req: OutgoingMessage): void {
    if (!this.open.has(req)) return;
    clearTimeout(this.open.get(req));
    this.open.delete(req);
    this.agent.abort(req);
  }
}
