/**
 * `CoapEndpoint`: the simulated CoAP device's own RFC 7252 message layer on one UDP socket, client
 * and server at once. The device sends its requests (REG, MSG, IMDN) as CON POSTs to the gateway
 * and, on the same socket, serves the gateway's CON POSTs (a message or a report for the device,
 * docs/wire-formats.md §5.3): the gateway sends them to the address the device registered from.
 *
 * Client (RFC 7252 §4.2, §5.2): a CON with a fresh Message ID and a 4-octet random token,
 * retransmitted from ACK_TIMEOUT × random(1, ACK_RANDOM_FACTOR), doubling, at most MAX_RETRANSMIT
 * times, until an ACK or RST. A piggybacked response ends the exchange; an empty ACK stops the
 * retransmission and the response comes later as a separate CON (ACKed) or NON, matched by token.
 * The whole exchange is bounded by the caller's deadline.
 *
 * Server (RFC 7252 §4, §5.4): a CON request is answered with a piggybacked ACK, a NON with a NON.
 * A copy with the same source and Message ID within EXCHANGE_LIFETIME gets the reply already sent
 * (a CON) or nothing (a NON), and reaches the handler once. Not POST: 4.05; another Uri-Path: 4.04;
 * an unrecognised critical option: 4.02; Content-Format absent or not 50: 4.15; a body the handler
 * refuses: 4.00 with its diagnostic. A message-format error in a CON, an Empty CON ("ping"), and
 * an unexpected CON response get RST; the same in a NON, and anything from a host other than the
 * gateway's, are ignored.
 *
 * Rejected alternative: npm `coap`'s `Agent` (what `CoapDevice` uses for register / deregister). An
 * Agent on a socket answers every request it did not send with RST, so the device could not take
 * the gateway's POSTs on its registered address, and it has no server side of its own.
 *
 * @see RFC 7252 §3, §4.2, §4.4, §4.5, §5.2, §5.4.1, §5.9; docs/wire-formats.md §3.3, §5.3
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { COAP_CODE, COAP_CONTENT_FORMAT_JSON, COAP_OPTION, MSGIN5G_URI_PATH, coapCodeText, encodeCoapMessage, isCriticalOption, parseCoapMessage, readUintOption, uintOptionValue, type CoapMessage } from '@msgin5g/protocol';
import type { GatewayAddress } from './gateway-address';

/** RFC 7252 §4.8 transmission parameters (defaults). */
export const ACK_TIMEOUT_MS = 2000;
export const ACK_RANDOM_FACTOR = 1.5;
export const MAX_RETRANSMIT = 4;
/** RFC 7252 §4.8.2: how long a Message ID is remembered for duplicate detection, ms. */
export const EXCHANGE_LIFETIME_MS = 247_000;
/** Bound on remembered request Message IDs (the oldest forgotten first). */
const REMEMBERED_LIMIT = 4096;

/** A response the gateway sent to one of the device's requests. */
export interface CoapReply {
  /** `2.04`, `4.00`, … */
  readonly code: string;
  readonly payload: Uint8Array;
}

/** What the device answers a request from the gateway: a response code octet and a body. */
export interface CoapServed {
  readonly code: number;
  readonly payload?: Uint8Array;
}

/** Takes the body of a well-formed POST to the device's Uri-Path from the gateway. Must not throw. */
export type CoapPostHandler = (body: Uint8Array) => CoapServed;

export type CoapEndpointErrorReason = 'BIND' | 'TIMEOUT' | 'RESET' | 'SEND' | 'CLOSED';

/** The one error class of {@link CoapEndpoint}. */
export class CoapEndpointError extends Error {
  override readonly name = 'CoapEndpointError';
  constructor(
    readonly reason: CoapEndpointErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export interface CoapEndpointOptions {
  readonly gateway: GatewayAddress;
  /** Local UDP port (the device's Layer-2 ID is its source `ip:port`); 0 picks one. */
  readonly localPort: number;
  /** Local IP to bind. Default the loopback of the gateway's IP version, as `CoapDevice`. */
  readonly localHost?: string;
  /** Uri-Path of the gateway's CoAP device link, and of the device's own resource. Default `msgin5g`. */
  readonly uriPath?: string;
  /** ACK_TIMEOUT, ms (RFC 7252 §4.8). Default 2000; tests shorten it. */
  readonly ackTimeoutMs?: number;
}

interface Pending {
  readonly messageId: number;
  readonly token: string;
  acked: boolean;
  settle(reply: CoapReply | CoapEndpointError): void;
}

export class CoapEndpoint {
  private readonly pending = new Set<Pending>();
  /** Replies sent to requests from the gateway, by `host:port/mid`, for duplicates (§4.5). */
  private readonly replied = new Map<string, { at: number; bytes: Uint8Array | undefined }>();
  /** Message IDs of separate responses already taken, so a retransmitted copy is ACKed again, not RST. */
  private readonly takenResponses = new Map<number, number>();
  private handler: CoapPostHandler | undefined;
  private nextMessageId = randomBytes(2).readUInt16BE(0);
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly options: CoapEndpointOptions,
  ) {
    socket.on('message', (msg, rinfo) => this.onDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), rinfo));
    socket.on('error', () => undefined); // reported through the exchange that fails
  }

  /** Binds the socket. @throws CoapEndpointError `BIND` (port in use, address not configured). */
  static async open(options: CoapEndpointOptions): Promise<CoapEndpoint> {
    const v6 = isIP(options.gateway.host) === 6;
    const socket = createSocket(v6 ? 'udp6' : 'udp4');
    const localHost = options.localHost ?? (v6 ? '::1' : '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err: NodeJS.ErrnoException) => {
        const hint = err.code === 'EADDRINUSE' ? ` (local UDP port ${options.localPort} is in use: another device process on it? pick another --local-port, the same one the device registered from)` : '';
        reject(new CoapEndpointError('BIND', `cannot bind ${localHost}:${options.localPort}: ${err.message}${hint}`));
      });
      socket.bind(options.localPort, localHost, () => resolve());
    });
    return new CoapEndpoint(socket, options);
  }

  /** The device's source address as the gateway sees it (`127.0.0.1:5691`, `[::1]:5691`). */
  get layer2Id(): string {
    const a = this.socket.address();
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  /** Serves the gateway's POSTs to the device's Uri-Path with `handler` from now on. */
  serve(handler: CoapPostHandler): void {
    this.handler = handler;
  }

  /**
   * One CON POST of `body` (JSON, Content-Format 50) to the gateway's Uri-Path. Resolves with the
   * response (piggybacked or separate). Rejects with {@link CoapEndpointError} `TIMEOUT` (no
   * response within `deadlineMs`, ms), `RESET` (the gateway RST the request), `SEND`, `CLOSED`.
   */
  post(body: Uint8Array, deadlineMs: number): Promise<CoapReply> {
    if (this.closed) return Promise.reject(new CoapEndpointError('CLOSED', 'device is closed'));
    const messageId = this.takeMessageId();
    const token = randomBytes(4);
    const bytes = encodeCoapMessage({
      type: 'CON',
      code: COAP_CODE.POST,
      messageId,
      token,
      options: [
        { number: COAP_OPTION.URI_PATH, value: new TextEncoder().encode(this.uriPath) },
        { number: COAP_OPTION.CONTENT_FORMAT, value: uintOptionValue(COAP_CONTENT_FORMAT_JSON) },
      ],
      payload: body,
    });
    const { gateway } = this.options;
    return new Promise<CoapReply>((resolve, reject) => {
      let retransmitTimer: NodeJS.Timeout | undefined;
      const p: Pending = {
        messageId,
        token: token.toString('hex'),
        acked: false,
        settle: (outcome) => {
          clearTimeout(retransmitTimer);
          clearTimeout(deadline);
          this.pending.delete(p);
          if (outcome instanceof CoapEndpointError) reject(outcome);
          else resolve(outcome);
        },
      };
      const deadline = setTimeout(() => p.settle(new CoapEndpointError('TIMEOUT', `no answer from coap://${formatHost(gateway)} within ${deadlineMs} ms`)), deadlineMs);
      let sent = 0;
      let wait = (this.options.ackTimeoutMs ?? ACK_TIMEOUT_MS) * (1 + Math.random() * (ACK_RANDOM_FACTOR - 1));
      const transmit = (): void => {
        if (p.acked || !this.pending.has(p)) return;
        sent += 1;
        this.socket.send(bytes, gateway.port, gateway.host, (err) => {
          if (err) p.settle(new CoapEndpointError('SEND', `cannot send to ${formatHost(gateway)}: ${err.message}`));
        });
        if (sent <= MAX_RETRANSMIT) {
          retransmitTimer = setTimeout(transmit, wait);
          wait *= 2;
        }
      };
      this.pending.add(p);
      transmit();
    });
  }

  /** Closes the socket; pending posts reject with `CLOSED`. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of [...this.pending]) p.settle(new CoapEndpointError('CLOSED', 'device closed'));
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  private get uriPath(): string {
    return this.options.uriPath ?? MSGIN5G_URI_PATH;
  }

  private takeMessageId(): number {
    this.nextMessageId = (this.nextMessageId + 1) & 0xffff;
    return this.nextMessageId;
  }

  private onDatagram(bytes: Uint8Array, from: RemoteInfo): void {
    if (this.closed || !sameHost(from.address, this.options.gateway.host)) return;
    const parsed = parseCoapMessage(bytes);
    if (parsed.kind === 'NOT_COAP') return;
    if (parsed.kind === 'FORMAT_ERROR') {
      if (parsed.type === 'CON') this.reset(parsed.messageId, from);
      return;
    }
    const m = parsed.message;
    const codeClass = m.code >> 5;
    if (m.type === 'ACK' || m.type === 'RST') return this.onAckOrReset(m);
    if (m.code === COAP_CODE.EMPTY) {
      if (m.type === 'CON') this.reset(m.messageId, from); // CoAP ping (§4.3)
      return;
    }
    if (codeClass === 0) return this.onRequest(m, from);
    if (codeClass >= 2) return this.onSeparateResponse(m, from);
    if (m.type === 'CON') this.reset(m.messageId, from); // reserved classes 1, 6, 7
  }

  private onAckOrReset(m: CoapMessage): void {
    for (const p of this.pending) {
      if (p.messageId !== m.messageId) continue;
      if (m.type === 'RST') return p.settle(new CoapEndpointError('RESET', `the gateway reset the request (RST, Message ID ${m.messageId})`));
      if (m.code === COAP_CODE.EMPTY) {
        p.acked = true; // separate response follows (§5.2.2)
        return;
      }
      if (Buffer.from(m.token).toString('hex') !== p.token) return; // not an answer to this request
      return p.settle({ code: coapCodeText(m.code), payload: Uint8Array.from(m.payload) });
    }
  }

  private onSeparateResponse(m: CoapMessage, from: RemoteInfo): void {
    const token = Buffer.from(m.token).toString('hex');
    const p = [...this.pending].find((q) => q.token === token);
    if (p === undefined) {
      // A copy of a separate response already taken is ACKed again (§4.5); anything else unexpected is rejected (§5.3.2).
      if (m.type === 'CON' && this.takenResponses.has(m.messageId)) this.ack(m.messageId, from);
      else if (m.type === 'CON') this.reset(m.messageId, from);
      return;
    }
    if (m.type === 'CON') {
      this.ack(m.messageId, from);
      this.takenResponses.set(m.messageId, Date.now());
      if (this.takenResponses.size > REMEMBERED_LIMIT) this.takenResponses.delete(this.takenResponses.keys().next().value as number);
    }
    p.settle({ code: coapCodeText(m.code), payload: Uint8Array.from(m.payload) });
  }

  private onRequest(m: CoapMessage, from: RemoteInfo): void {
    const key = `${from.address}:${from.port}/${m.messageId}`;
    const now = Date.now();
    const earlier = this.replied.get(key);
    if (earlier !== undefined && now - earlier.at < EXCHANGE_LIFETIME_MS) {
      if (earlier.bytes !== undefined && m.type === 'CON') this.sendTo(earlier.bytes, from);
      return;
    }
    const served = this.answer(m);
    const bytes = encodeCoapMessage({
      type: m.type === 'CON' ? 'ACK' : 'NON',
      code: served.code,
      messageId: m.type === 'CON' ? m.messageId : this.takeMessageId(),
      token: m.token,
      options: served.code === COAP_CODE.CHANGED && served.payload !== undefined && served.payload.length > 0 ? [{ number: COAP_OPTION.CONTENT_FORMAT, value: uintOptionValue(COAP_CONTENT_FORMAT_JSON) }] : [],
      ...(served.payload === undefined ? {} : { payload: served.payload }),
    });
    this.replied.set(key, { at: now, bytes: m.type === 'CON' ? bytes : undefined });
    if (this.replied.size > REMEMBERED_LIMIT) this.replied.delete(this.replied.keys().next().value as string);
    this.sendTo(bytes, from);
  }

  /** The response to a well-formed request from the gateway (RFC 7252 §5.4.1, §5.8, §5.10.3). */
  private answer(m: CoapMessage): CoapServed {
    const text = (s: string) => new TextEncoder().encode(s);
    const path: string[] = [];
    let format: number | undefined;
    let formats = 0;
    for (const o of m.options) {
      if (o.number === COAP_OPTION.URI_PATH) path.push(new TextDecoder().decode(o.value));
      else if (o.number === COAP_OPTION.CONTENT_FORMAT) {
        formats += 1;
        format = readUintOption(o.value);
      } else if (o.number !== COAP_OPTION.URI_HOST && o.number !== COAP_OPTION.URI_PORT && isCriticalOption(o.number)) {
        return { code: COAP_CODE.BAD_OPTION, payload: text(`unrecognised critical option ${o.number}`) };
      }
    }
    if (formats > 1) return { code: COAP_CODE.BAD_OPTION, payload: text('Content-Format repeated') };
    if (path.join('/') !== this.uriPath) return { code: COAP_CODE.NOT_FOUND };
    if (m.code !== COAP_CODE.POST) return { code: COAP_CODE.METHOD_NOT_ALLOWED };
    if (format !== COAP_CONTENT_FORMAT_JSON) return { code: COAP_CODE.UNSUPPORTED_CONTENT_FORMAT };
    if (this.handler === undefined) return { code: COAP_CODE.SERVICE_UNAVAILABLE, payload: text('device is not listening') };
    return this.handler(Uint8Array.from(m.payload));
  }

  private ack(messageId: number, to: RemoteInfo): void {
    this.sendTo(encodeCoapMessage({ type: 'ACK', code: COAP_CODE.EMPTY, messageId }), to);
  }

  private reset(messageId: number, to: RemoteInfo): void {
    this.sendTo(encodeCoapMessage({ type: 'RST', code: COAP_CODE.EMPTY, messageId }), to);
  }

  private sendTo(bytes: Uint8Array, to: RemoteInfo): void {
    if (this.closed) return;
    this.socket.send(bytes, to.port, to.address, () => undefined);
  }
}

function formatHost(a: GatewayAddress): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Whether a datagram's source is the gateway's host (IPv4-mapped sources unmapped). */
function sameHost(source: string, gatewayHost: string): boolean {
  const s = source.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  return s === gatewayHost.toLowerCase() || isIP(gatewayHost) === 0;
}
