/**
 * Test device: a CoAP client on npm `coap` 1.5.0's `Agent` (a third-party CoAP stack, so the link
 * is not tested against this project's own reading of RFC 7252). Each device has its own agent on
 * its own bound socket, so its source port — its Layer-2 ID — is stable, and `close()` releases it.
 * Implements the contract suite's `TestDevice`.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { Agent, type IncomingMessage, type OutgoingMessage } from 'coap';
import { must, transportLayer2Id, type DeviceRequest, type DeviceResponse, type Layer2Id } from '@msgin5g/core';
import type { TestDevice } from '@msgin5g/core/testing';
import { COAP_CONTENT_FORMAT_JSON, decodeCoapDeviceResponse, encodeCoapDeviceRequest } from '@msgin5g/protocol';

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
  private readonly responses: DeviceResponse[] = [];
  private readonly waiters: Array<() => void> = [];
  /** Unanswered requests and their give-up timers. */
  private readonly open = new Map<OutgoingMessage, NodeJS.Timeout | undefined>();

  private constructor(
    private readonly socket: Socket,
    private readonly agent: Agent,
    readonly layer2Id: Layer2Id,
    private readonly target: { host: string; port: number },
  ) {}

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
