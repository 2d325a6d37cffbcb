/**
 * A simulated CoAP-capable constrained device (TS 24.538 Annex A.3 style, docs/wire-formats.md §3.3): one
 * confirmable POST with a JSON body to the gateway's CoAP device link, Content-Format 50, and the
 * JSON result decoded from the 2.04 answer. CoAP itself retransmits the CON (RFC 7252 §4.2); the
 * device's own deadline bounds the whole exchange.
 *
 * The device binds its own UDP socket to a fixed local port and hands it to a private `coap.Agent`:
 * the gateway knows a CoAP device by its source `ip:port`, so REG and DEREG must leave from the
 * same port. Rejected alternative: coap's global agent, whose socket (and so source port) changes
 * whenever it goes idle.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { Agent } from 'coap';
import type { DeviceRequest, DeviceResponse } from '@msgin5g/core';
import { COAP_CONTENT_FORMAT_JSON, MSGIN5G_URI_PATH, decodeCoapDeviceResponse, encodeCoapDeviceRequest } from '@msgin5g/protocol';
import type { GatewayAddress } from './gateway-address';

/** What the gateway answered: a decoded result (2.04) or another CoAP code with its diagnostic. */
export type CoapAnswer =
  | { readonly kind: 'RESULT'; readonly message: DeviceResponse; readonly body: Uint8Array; readonly code: string }
  | { readonly kind: 'COAP_ERROR'; readonly code: string; readonly body: Uint8Array };

export class CoapDeviceError extends Error {
  override readonly name = 'CoapDeviceError';
  constructor(
    readonly reason: 'BIND' | 'TIMEOUT' | 'SEND' | 'BAD_ANSWER',
    message: string,
  ) {
    super(message);
  }
}

export interface CoapDeviceOptions {
  readonly gateway: GatewayAddress;
  /** Local UDP port (the device's Layer-2 ID is `ip:port`); 0 picks one. */
  readonly localPort: number;
  readonly localHost?: string;
  /** Uri-Path of the gateway's CoAP device link. Default `msgin5g`. */
  readonly uriPath?: string;
}

export class CoapDevice {
  private constructor(
    private readonly socket: Socket,
    private readonly agent: Agent,
    private readonly options: CoapDeviceOptions,
  ) {}

  /** The device's source address as the gateway sees it (`127.0.0.1:5691`). */
  get layer2Id(): string {
    const a = this.socket.address();
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  /** Binds the local socket. @throws CoapDeviceError `BIND`. */
  static async open(options: CoapDeviceOptions): Promise<CoapDevice> {
    const v6 = isIP(options.gateway.host) === 6;
    const socket = createSocket(v6 ? 'udp6' : 'udp4');
    const localHost = options.localHost ?? (v6 ? '::1' : '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err: NodeJS.ErrnoException) => {
        const hint = err.code === 'EADDRINUSE' ? ` (local UDP port ${options.localPort} is in use: pick another --local-port, and use the same one for register and deregister)` : '';
        reject(new CoapDeviceError('BIND', `cannot bind ${localHost}:${options.localPort}: ${err.message}${hint}`));
      });
      socket.bind(options.localPort, localHost, () => resolve());
    });
    socket.on('error', () => undefined); // reported through the request's own error
    return new CoapDevice(socket, new Agent({ socket }), options);
  }

  /**
   * One CON POST with `request` as JSON; resolves the answer, or rejects after `deadlineMs` (ms).
   * @throws CoapDeviceError `TIMEOUT` (no answer in time), `SEND`, `BAD_ANSWER` (2.04 without a result).
   */
  exchange(request: DeviceRequest, deadlineMs: number): Promise<CoapAnswer> {
    const { gateway } = this.options;
    return new Promise<CoapAnswer>((resolve, reject) => {
      const req = this.agent.request({
        hostname: gateway.host,
        port: gateway.port,
        method: 'POST',
        pathname: `/${this.options.uriPath ?? MSGIN5G_URI_PATH}`,
        confirmable: true,
        options: { 'Content-Format': COAP_CONTENT_FORMAT_JSON } as never,
      });
      const timer = setTimeout(() => {
        reject(new CoapDeviceError('TIMEOUT', `no answer from coap://${gateway.host}:${gateway.port} within ${deadlineMs} ms`));
      }, deadlineMs);
      req.on('response', (res) => {
        clearTimeout(timer);
        const body = new Uint8Array(res.payload);
        if (res.code !== '2.04') {
          resolve({ kind: 'COAP_ERROR', code: res.code, body });
          return;
        }
        const decoded = decodeCoapDeviceResponse(body);
        if (!decoded.ok) reject(new CoapDeviceError('BAD_ANSWER', `2.04 without a usable result: ${decoded.error}`));
        else resolve({ kind: 'RESULT', message: decoded.value, body, code: res.code });
      });
      req.on('error', (err: unknown) => {
        clearTimeout(timer);
        reject(new CoapDeviceError('SEND', err instanceof Error ? err.message : String(err)));
      });
      req.on('timeout', () => undefined);
      req.end(Buffer.from(encodeCoapDeviceRequest(request)));
    });
  }

  /** Closes the socket (coap's `Agent({socket}).close(cb)` never calls back, so the socket is closed here). */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
