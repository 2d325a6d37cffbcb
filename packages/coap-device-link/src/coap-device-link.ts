/**
 * `CoapDeviceLink`: the `DeviceLink` port for CoAP-capable constrained devices (TS 24.538 Annex A.3
 * style; docs/wire-formats.md §3.3). A CoAP server on one UDP socket serving one resource (Uri-Path
 * `msgin5g` by default): POST, Content-Format 50, CON or NON, body
 * `{"messageType":"REG","appId":"42"}` or `{"messageType":"DEREG","registrationId":"…"}`, answered
 * 2.04 Changed with the JSON result. A device's Layer-2 ID is its source `ip:port` (IPv4-mapped
 * sources unmapped, as on the UDP link).
 *
 * Exchanges. A valid request becomes a pending exchange and goes to `handler.onRequest`. The core
 * answers later through `send(layer2Id, response)`, which answers every pending exchange from that
 * Layer-2 ID for the same procedure (same request kind, and the same Application ID for REG / the
 * same Registration ID for DEREG when the response names it; otherwise the oldest such procedure):
 * the core absorbs a device's repeated requests and answers ONCE, so a device that re-sent with a
 * new Message ID gets the answer on both exchanges. A response with no exchange pending (after a
 * restart, or after the exchange aged out) is logged and dropped: the device's retry reaches the
 * core, which replays the answer.
 * - CON answered within `separateAfterMs` (default 1 s, below the client's ACK_TIMEOUT of 2 s):
 *   piggybacked in the ACK (RFC 7252 §5.2.1).
 * - CON not answered by then: an empty ACK at `separateAfterMs`, then the response as a separate CON
 *   with a new Message ID (RFC 7252 §5.2.2), retransmitted with ACK_TIMEOUT × [1, 1.5] doubling up to
 *   MAX_RETRANSMIT = 4 times until the device ACKs or RSTs it.
 * - NON: the response is a NON with a new Message ID (RFC 7252 §5.2.3).
 * Duplicates (same source, same Message ID, within EXCHANGE_LIFETIME = 247 s; RFC 7252 §4.5) never
 * reach the core twice: a CON copy gets the answer already sent for it (piggybacked response, error
 * response, or the empty ACK), or nothing while its exchange is still pending; a NON copy is ignored.
 *
 * Bounds (no map grows with traffic): at most `maxPendingExchanges` pending exchanges in all (a
 * request beyond that is answered at once with 2.04 FAILURE `CONGESTION`, as the core would), at most
 * `maxExchangesPerDevice` per Layer-2 ID (the oldest is dropped unanswered: the device has moved on to
 * its newer copy), each at most `pendingLifetimeMs` old; at most `maxRememberedMessages` Message IDs
 * remembered for duplicate detection; at most `maxPendingExchanges` separate responses awaiting an
 * ACK. Datagrams over `maxDatagramOctets` are not parsed (a CON request among them gets 4.13).
 *
 * Everything that is not a valid MSGin5G request is reported through `handler.onProtocolError`
 * (never `onRequest`) and answered as RFC 7252 says, see `request-verdict.ts` for requests:
 * - not CoAP (under 4 octets, version ≠ 1): ignored (RFC 7252 §3);
 * - message format error (token length 9..15, reserved option nibble, option or token past the end,
 *   payload marker with no payload, Empty message with a body): CON → RST, otherwise ignored (§4.2, §4.3);
 * - a response or a reserved code class sent to the server: CON → RST, otherwise ignored (§4.2);
 * - an Empty NON: ignored (§4.1). Not reported: an Empty CON ("CoAP ping", answered RST, §4.3), and
 *   empty ACK/RST (matched against separate responses, otherwise ignored).
 *
 * Rejected alternative: npm `coap` 1.5.0's server fed from our own socket (what the reference MSGin5G
 * Server does). Checked against its source and on the wire: it runs the request handler once per
 * retransmitted copy of a CON (its response cache only covers copies that arrive after a piggybacked
 * or NON answer; during the empty-ACK phase the cache key misses when the request has a token); it
 * sends its own empty ACK after `piggybackReplyMs` (default 50 ms) per copy; it hands token lengths
 * 9..12, truncated options, a payload marker without payload, unknown critical options and even a
 * CON 0.00 ping to the request handler as requests; its error path (`_sendError`: bad version,
 * option nibble 15, FETCH without Content-Format) answers 127.0.0.1 instead of the client; and a
 * pending response cannot be dropped without reaching into its private `_ackTimer`. The message layer this link needs — piggybacked,
 * separate and NON responses, duplicate detection, one resource — is smaller than the workarounds.
 *
 * Address families: as `UdpDeviceLink` — a host with `:` opens `udp6`, `::` is bound dual-stack. The
 * socket setup (`bindUdpSocket`) and `unmapIpv4` come from `@msgin5g/udp-socket`, shared with the UDP
 * link: CoAP here is one more protocol over the same kind of UDP socket.
 *
 * @see TS 24.538 Annex A.3; RFC 7252 §4 (messaging), §5.2 (responses), §5.4 (options), §12.1 (codes)
 */
import * as dgram from 'node:dgram';
import { isIP } from 'node:net';
import {
  DeviceLinkError,
  assertNever,
  failureResponse,
  parseTransportLayer2Id,
  silentLogger,
  transportLayer2Id,
  type DeviceLink,
  type DeviceLinkHandler,
  type DeviceProtocolError,
  type DeviceRequest,
  type DeviceResponse,
  type Layer2Id,
  type Logger,
} from '@msgin5g/core';
import {
  COAP_CODE,
  COAP_CONTENT_FORMAT_JSON,
  COAP_OPTION,
  DEFAULT_COAP_PORT,
  MAX_JSON_BODY_OCTETS,
  MSGIN5G_URI_PATH,
  coapCodeText,
  encodeCoapDeviceResponse,
  encodeCoapMessage,
  parseCoapMessage,
  uintOptionValue,
  type CoapMessage,
  type CoapOption,
  type CoapType,
} from '@msgin5g/protocol';
import { judgeRequest, type RequestVerdict } from './request-verdict';
import { bindUdpSocket, DEFAULT_RECV_BUFFER_OCTETS, unmapIpv4, type BoundUdpSocket } from '@msgin5g/udp-socket';


/** EXCHANGE_LIFETIME (RFC 7252 §4.8.2), ms: how long a Message ID is remembered for duplicate detection. */
export const EXCHANGE_LIFETIME_MS = 247_000;
/** ACK_TIMEOUT (RFC 7252 §4.8), ms. */
export const DEFAULT_ACK_TIMEOUT_MS = 2_000;
/** ACK_RANDOM_FACTOR (RFC 7252 §4.8). */
const ACK_RANDOM_FACTOR = 1.5;
/** MAX_RETRANSMIT (RFC 7252 §4.8). */
const MAX_RETRANSMIT = 4;
/** Default wait for the core before a CON gets an empty ACK and a separate response, ms. */
export const DEFAULT_SEPARATE_AFTER_MS = 1_000;
export const DEFAULT_MAX_PENDING_EXCHANGES = 10_000;
export const DEFAULT_MAX_EXCHANGES_PER_DEVICE = 8;
export const DEFAULT_MAX_REMEMBERED_MESSAGES = 20_000;
/** Default largest datagram parsed, octets: a 4096-octet body plus a generous header. */
export const DEFAULT_MAX_DATAGRAM_OCTETS = 8_192;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Options of {@link CoapDeviceLink}. */
export interface CoapDeviceLinkOptions {
  /** IP address literal to bind: `0.0.0.0`, `127.0.0.1`, `::` (dual-stack), `::1`, or any local address. */
  readonly host: string;
  /** UDP port, 0..65535 (0: ephemeral, read it from `endpoint`). Default 5683. */
  readonly port?: number;
  /** Path of the resource, segments separated by `/` (`msgin5g`, `/a/b`). Default `msgin5g`. */
  readonly uriPath?: string;
  readonly logger?: Logger;
  /** How long a CON waits for the core before it gets an empty ACK and later a separate response, ms. Default 1000; keep it below the devices' ACK_TIMEOUT (2 s). */
  readonly separateAfterMs?: number;
  /** ACK_TIMEOUT for retransmitting separate CON responses, ms. Default 2000. */
  readonly ackTimeoutMs?: number;
  /** Most pending exchanges in all. Default 10 000. */
  readonly maxPendingExchanges?: number;
  /** Most pending exchanges per Layer-2 ID. Default 8. */
  readonly maxExchangesPerDevice?: number;
  /** A pending exchange older than this is dropped unanswered, ms. Default 247 000 (EXCHANGE_LIFETIME). */
  readonly pendingLifetimeMs?: number;
  /** Most Message IDs remembered for duplicate detection. Default 20 000. */
  readonly maxRememberedMessages?: number;
  /** Larger datagrams are not parsed, octets. Default 8192. */
  readonly maxDatagramOctets?: number;
  /** Receive buffer to ask the OS for, octets. Default 1 MiB. */
  readonly recvBufferOctets?: number;
}

type State =
  | { readonly kind: 'IDLE' }
  | { readonly kind: 'RUNNING'; readonly socket: dgram.Socket; readonly handler: DeviceLinkHandler }
  | { readonly kind: 'STOPPED' };

type Running = Extract<State, { kind: 'RUNNING' }>;

type DriverOperation = 'bind' | 'send' | 'socket';

/** A device endpoint: where to send (the socket's form of the address) and its Layer-2 ID. */
interface Peer {
  readonly address: string;
  readonly port: number;
  readonly layer2Id: Layer2Id;
}

/** A request Message ID seen from a peer, and what a duplicate of it gets (nothing while `replay` is undefined). */
interface Remembered {
  readonly at: number;
  replay: Uint8Array | undefined;
}

/** A valid request waiting for the core's response. */
interface Exchange {
  readonly peer: Peer;
  readonly request: DeviceRequest;
  /** Application ID (REG) or Registration ID (DEREG): which procedure this is. */
  readonly procedure: string;
  readonly type: 'CON' | 'NON';
  readonly messageId: number;
  readonly token: Uint8Array;
  readonly receivedAt: number;
  readonly remembered: Remembered;
  /** An empty ACK was sent: the response goes in a separate CON. */
  acked: boolean;
  timer?: NodeJS.Timeout;
}

/** A separate CON response waiting for the device's ACK. */
interface SeparateResponse {
  readonly peer: Peer;
  readonly messageId: number;
  readonly bytes: Uint8Array;
  retransmissions: number;
  timeoutMs: number;
  timer?: NodeJS.Timeout;
}

/**
 * A `DeviceLink` for CoAP devices. `start()` rejects with `DeviceLinkError` `BIND`; `send()` rejects
 * with `BAD_ADDRESS` (not an `ip:port` Layer-2 ID), `SEND` (the OS refused the datagram) or `CLOSED`.
 * The constructor throws `TypeError` on an invalid option (configuration bug).
 */
export class CoapDeviceLink implements DeviceLink {
  readonly kind = 'coap' as const;
  private readonly host: string;
  private readonly port: number;
  private readonly family: 'udp4' | 'udp6';
  private readonly uriPath: readonly string[];
  private readonly logger: Logger;
  private readonly separateAfterMs: number;
  private readonly ackTimeoutMs: number;
  private readonly maxPendingExchanges: number;
  private readonly maxExchangesPerDevice: number;
  private readonly pendingLifetimeMs: number;
  private readonly maxRememberedMessages: number;
  private readonly maxDatagramOctets: number;
  private readonly recvBufferOctets: number;
  private state: State = { kind: 'IDLE' };
  private boundPort: number | undefined;
  private generation = 0;
  private starting = false;
  /** Key `layer2Id#messageId`, oldest first. */
  private readonly remembered = new Map<string, Remembered>();
  private readonly pending = new Map<Layer2Id, Exchange[]>();
  /** Every pending exchange, oldest first. */
  private readonly pendingOrder = new Set<Exchange>();
  /** Key `layer2Id#messageId` of the separate response, oldest first. */
  private readonly separate = new Map<string, SeparateResponse>();
  private nextMessageId = Math.floor(Math.random() * 0x10000);
  private congestionRefusals = 0;
  private congestionLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(options: CoapDeviceLinkOptions) {
    const port = options.port ?? DEFAULT_COAP_PORT;
    if (isIP(options.host) === 0) throw new TypeError(`CoapDeviceLink host must be an IP address literal, got ${JSON.stringify(options.host)}`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`CoapDeviceLink port must be 0..65535, got ${String(port)}`);
    this.host = options.host.toLowerCase();
    this.port = port;
    this.family = isIP(this.host) === 6 ? 'udp6' : 'udp4';
    this.uriPath = parseUriPath(options.uriPath ?? MSGIN5G_URI_PATH);
    this.logger = options.logger ?? silentLogger;
    this.separateAfterMs = checkInt('separateAfterMs', options.separateAfterMs ?? DEFAULT_SEPARATE_AFTER_MS, 0, MAX_TIMER_MS);
    this.ackTimeoutMs = checkInt('ackTimeoutMs', options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS, 1, MAX_TIMER_MS);
    this.maxPendingExchanges = checkInt('maxPendingExchanges', options.maxPendingExchanges ?? DEFAULT_MAX_PENDING_EXCHANGES, 1, 1e7);
    this.maxExchangesPerDevice = checkInt('maxExchangesPerDevice', options.maxExchangesPerDevice ?? DEFAULT_MAX_EXCHANGES_PER_DEVICE, 1, 1e7);
    this.pendingLifetimeMs = checkInt('pendingLifetimeMs', options.pendingLifetimeMs ?? EXCHANGE_LIFETIME_MS, 1, MAX_TIMER_MS);
    this.maxRememberedMessages = checkInt('maxRememberedMessages', options.maxRememberedMessages ?? DEFAULT_MAX_REMEMBERED_MESSAGES, 1, 1e8);
    this.maxDatagramOctets = checkInt('maxDatagramOctets', options.maxDatagramOctets ?? DEFAULT_MAX_DATAGRAM_OCTETS, 4, 65_535);
    this.recvBufferOctets = options.recvBufferOctets ?? DEFAULT_RECV_BUFFER_OCTETS;
  }

  /** `coap://127.0.0.1:5683/msgin5g`, `coap://[::]:5683/msgin5g`; the bound port once started. */
  get endpoint(): string {
    const host = this.family === 'udp6' ? `[${this.host}]` : this.host;
    return `coap://${host}:${this.boundPort ?? this.port}/${this.uriPath.join('/')}`;
  }

  /** Pending exchanges (for tests and metrics). */
  get pendingExchanges(): number {
    return this.pendingOrder.size;
  }

  /** Binds the socket; resolves when requests can arrive. Rejects with `DeviceLinkError` `BIND`. */
  async start(handler: DeviceLinkHandler): Promise<void> {
    if (this.state.kind === 'RUNNING' || this.starting) throw new DeviceLinkError('BIND', `CoAP device link ${this.endpoint} is already running`);
    this.starting = true;
    try {
      await this.bindSocket(handler);
    } finally {
      this.starting = false;
    }
  }

  private async bindSocket(handler: DeviceLinkHandler): Promise<void> {
    const generation = this.generation;
    let bound: BoundUdpSocket;
    try {
      bound = await bindUdpSocket({
        host: this.host,
        port: this.port,
        recvBufferOctets: this.recvBufferOctets,
        onMessage: (msg, address, port) => this.onDatagram(msg, address, port),
        onError: (err) => {
          const e = this.classify(err, 'socket');
          this.logger.error({ link: 'coap', endpoint: this.endpoint, reason: e.reason, err: e.message }, 'CoAP device link socket error');
        },
      });
    } catch (err) {
      throw this.classify(err, 'bind');
    }
    const { socket } = bound;
    if (generation !== this.generation) {
      socket.close();
      throw new DeviceLinkError('CLOSED', `CoAP device link ${this.endpoint} was stopped while starting`);
    }
    if (bound.recvBufferError !== undefined) {
      this.logger.warn({ link: 'coap', err: errorText(bound.recvBufferError) }, 'could not enlarge the UDP receive buffer');
    }
    this.boundPort = bound.port;
    this.state = { kind: 'RUNNING', socket, handler };
    this.logger.debug({ link: 'coap', endpoint: this.endpoint }, 'CoAP device link listening');
  }

  /**
   * Answers the pending exchange(s) from `to` for this response's procedure with 2.04 and the JSON
   * body of `encodeCoapDeviceResponse`. Resolves when the OS has taken the datagrams, or at once
   * when no exchange is pending (logged, dropped). Rejects with `DeviceLinkError` `BAD_ADDRESS`,
   * `SEND` or `CLOSED`.
   */
  async send(to: Layer2Id, response: DeviceResponse): Promise<void> {
    const state = this.state;
    if (state.kind !== 'RUNNING') throw new DeviceLinkError('CLOSED', `CoAP device link ${this.endpoint} is not running`);
    const parsed = parseTransportLayer2Id(to);
    if (!parsed.ok) throw new DeviceLinkError('BAD_ADDRESS', `not a CoAP Layer-2 ID: ${parsed.error}`);
    if (isIP(parsed.value.address) === 0) throw new DeviceLinkError('BAD_ADDRESS', `CoAP Layer-2 ID ${to} must carry an IP address, not a host name`);
    this.sweep(Date.now());
    const group = this.takeExchanges(parsed.value.layer2Id, response);
    if (group.length === 0) {
      this.logger.info(
        { link: 'coap', layer2Id: to, response: response.kind, result: response.result },
        'no CoAP exchange pending for this response: dropped (the device retries and gets it replayed)',
      );
      return;
    }
    const payload = encodeCoapDeviceResponse(response);
    const sent = await Promise.allSettled(group.map((ex) => this.answerExchange(state.socket, ex, payload)));
    for (const s of sent) if (s.status === 'rejected') throw s.reason;
  }

  /** Closes the socket and cancels every pending exchange and retransmission. Idempotent; afterwards `send` rejects with `CLOSED`. */
  async stop(): Promise<void> {
    this.generation += 1;
    const state = this.state;
    if (state.kind !== 'RUNNING') {
      if (state.kind === 'IDLE') this.state = { kind: 'STOPPED' };
      return;
    }
    this.state = { kind: 'STOPPED' };
    for (const ex of this.pendingOrder) clearTimeout(ex.timer);
    for (const s of this.separate.values()) clearTimeout(s.timer);
    this.pendingOrder.clear();
    this.pending.clear();
    this.separate.clear();
    this.remembered.clear();
    await new Promise<void>((resolve) => {
      try {
        state.socket.close(() => resolve());
      } catch {
        resolve(); // already closed by the driver
      }
    });
    this.logger.info({ link: 'coap', endpoint: this.endpoint }, 'CoAP device link stopped');
  }

  private onDatagram(msg: Buffer, rawAddress: string, port: number): void {
    const state = this.state;
    if (state.kind !== 'RUNNING') return;
    this.sweep(Date.now());
    const id = transportLayer2Id(unmapIpv4(rawAddress), port);
    if (!id.ok) {
      this.report(state.handler, { link: 'coap', detail: `datagram from unusable source ${rawAddress}:${port}: ${id.error}`, answered: false, octets: msg.length });
      return;
    }
    const peer: Peer = { address: rawAddress, port, layer2Id: id.value };
    const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.length);
    if (bytes.length > this.maxDatagramOctets) {
      this.onOversized(state, peer, bytes);
      return;
    }
    const parsed = parseCoapMessage(bytes);
    switch (parsed.kind) {
      case 'NOT_COAP':
        this.report(state.handler, { link: 'coap', from: peer.layer2Id, detail: `not a CoAP message: ${parsed.detail}`, answered: false, octets: bytes.length });
        return;
      case 'FORMAT_ERROR': {
        const answered = parsed.type === 'CON';
        if (answered) this.fireAndForget(state.socket, peer, resetBytes(parsed.messageId), 'RST');
        this.report(state.handler, { link: 'coap', from: peer.layer2Id, detail: `CoAP message format error: ${parsed.detail}`, answered, octets: bytes.length });
        return;
      }
      case 'MESSAGE':
        this.onMessage(state, peer, parsed.message, bytes.length);
        return;
      default:
        assertNever(parsed, 'CoAP parse result');
    }
  }

  private onMessage(state: Running, peer: Peer, m: CoapMessage, octets: number): void {
    if (m.type === 'ACK' || m.type === 'RST') {
      if (m.code === COAP_CODE.EMPTY) this.onAckOrReset(peer, m.type, m.messageId);
      else this.report(state.handler, { link: 'coap', from: peer.layer2Id, detail: `${m.type} carrying code ${coapCodeText(m.code)}: this link sends no requests`, answered: false, octets });
      return;
    }
    if (m.code === COAP_CODE.EMPTY) {
      if (m.type === 'CON') {
        this.fireAndForget(state.socket, peer, resetBytes(m.messageId), 'RST'); // CoAP ping (RFC 7252 §4.3)
        this.logger.debug({ link: 'coap', layer2Id: peer.layer2Id }, 'CoAP ping answered with RST');
      } else {
        this.report(state.handler, { link: 'coap', from: peer.layer2Id, detail: 'an Empty NON message (RFC 7252 §4.1 forbids it)', answered: false, octets });
      }
      return;
    }
    if (m.code >> 5 !== 0) {
      const answered = m.type === 'CON';
      if (answered) this.fireAndForget(state.socket, peer, resetBytes(m.messageId), 'RST');
      const what = [2, 4, 5].includes(m.code >> 5) ? 'a response' : 'a reserved code class';
      this.report(state.handler, { link: 'coap', from: peer.layer2Id, detail: `${m.type} with code ${coapCodeText(m.code)} (${what}) sent to the server`, answered, octets });
      return;
    }
    const key = `${peer.layer2Id}#${m.messageId}`;
    const seen = this.remembered.get(key);
    if (seen !== undefined) {
      // A retransmitted or duplicated copy (RFC 7252 §4.5): processed once, answered alike.
      if (m.type === 'CON' && seen.replay !== undefined) this.fireAndForget(state.socket, peer, seen.replay, 'replayed answer');
      this.logger.debug({ link: 'coap', layer2Id: peer.layer2Id, messageId: m.messageId, replayed: m.type === 'CON' && seen.replay !== undefined }, 'duplicate CoAP request');
      return;
    }
    const verdict: RequestVerdict = judgeRequest(m, this.uriPath, octets);
    switch (verdict.kind) {
      case 'IGNORE':
        this.remember(key, undefined);
        this.report(state.handler, { link: 'coap', from: peer.layer2Id, detail: verdict.detail, answered: false, octets });
        return;
      case 'ANSWER': {
        const options: CoapOption[] = [];
        if (verdict.contentFormat !== undefined) options.push({ number: COAP_OPTION.CONTENT_FORMAT, value: uintOptionValue(verdict.contentFormat) });
        if (verdict.size1 !== undefined) options.push({ number: COAP_OPTION.SIZE1, value: uintOptionValue(verdict.size1) });
        const bytes = this.responseBytes(m, verdict.code, options, verdict.payload);
        this.remember(key, m.type === 'CON' ? bytes : undefined);
        this.fireAndForget(state.socket, peer, bytes, coapCodeText(verdict.code));
        this.report(state.handler, { link: 'coap', from: peer.layer2Id, detail: `${coapCodeText(verdict.code)}: ${verdict.detail}`, answered: true, octets });
        return;
      }
      case 'ACCEPT':
        this.accept(state, peer, m, verdict.request, key);
        return;
      default:
        assertNever(verdict, 'request verdict');
    }
  }

  /** A valid request: a new pending exchange, then the core. */
  private accept(state: Running, peer: Peer, m: CoapMessage, request: DeviceRequest, key: string): void {
    const type = m.type === 'CON' ? 'CON' : 'NON';
    if (this.pendingOrder.size >= this.maxPendingExchanges) {
      // Refuse the newest, as the core does at its limits: the device retries later.
      const applicationId = request.kind === 'REGISTRATION_REQUEST' ? request.applicationId : undefined;
      const body = encodeCoapDeviceResponse(failureResponse(request.kind, 'CONGESTION', applicationId));
      const bytes = this.responseBytes(m, COAP_CODE.CHANGED, [jsonFormat()], body);
      this.remember(key, type === 'CON' ? bytes : undefined);
      this.fireAndForget(state.socket, peer, bytes, 'CONGESTION');
      this.logCongestion(peer);
      return;
    }
    const mine = this.pending.get(peer.layer2Id) ?? [];
    while (mine.length >= this.maxExchangesPerDevice) {
      const oldest = mine[0] as Exchange;
      this.logger.debug({ link: 'coap', layer2Id: peer.layer2Id, messageId: oldest.messageId }, 'oldest pending exchange of a device dropped for a newer one');
      this.dropExchange(oldest);
    }
    const remembered = this.remember(key, undefined);
    const ex: Exchange = {
      peer,
      request,
      procedure: procedureOf(request),
      type,
      messageId: m.messageId,
      token: Uint8Array.from(m.token),
      receivedAt: remembered.at,
      remembered,
      acked: false,
    };
    if (type === 'CON') ex.timer = setTimeout(() => this.onSeparateDue(state.socket, ex), this.separateAfterMs);
    const list = this.pending.get(peer.layer2Id);
    if (list === undefined) this.pending.set(peer.layer2Id, [ex]);
    else list.push(ex);
    this.pendingOrder.add(ex);
    try {
      state.handler.onRequest(request, peer.layer2Id, 'coap');
    } catch (err) {
      this.logger.error({ link: 'coap', layer2Id: peer.layer2Id, err: errorText(err) }, 'device link handler threw in onRequest');
    }
  }

  /** The core is slow: acknowledge the CON now, answer in a separate response later (RFC 7252 §5.2.2). */
  private onSeparateDue(socket: dgram.Socket, ex: Exchange): void {
    ex.timer = undefined;
    if (!this.pendingOrder.has(ex) || ex.acked) return;
    ex.acked = true;
    const ack = emptyAckBytes(ex.messageId);
    ex.remembered.replay = ack;
    this.fireAndForget(socket, ex.peer, ack, 'empty ACK');
    this.logger.debug({ link: 'coap', layer2Id: ex.peer.layer2Id, messageId: ex.messageId }, 'empty ACK sent; the response will be separate');
  }

  /**
   * Removes and returns the pending exchanges `response` answers: same Layer-2 ID and request kind,
   * and the procedure the response names (Application ID of a REG response, Registration ID of a
   * DEREG success), or else the oldest pending procedure of that kind.
   */
  private takeExchanges(layer2Id: Layer2Id, response: DeviceResponse): Exchange[] {
    const list = this.pending.get(layer2Id);
    if (list === undefined) return [];
    const kind: DeviceRequest['kind'] = response.kind === 'REGISTRATION_RESPONSE' ? 'REGISTRATION_REQUEST' : 'DEREGISTRATION_REQUEST';
    const sameKind = list.filter((ex) => ex.request.kind === kind);
    const named = procedureNamedBy(response);
    const procedure = named ?? sameKind[0]?.procedure;
    const group = sameKind.filter((ex) => ex.procedure === procedure);
    for (const ex of group) this.dropExchange(ex);
    return group;
  }

  private answerExchange(socket: dgram.Socket, ex: Exchange, payload: Uint8Array): Promise<void> {
    const options = [jsonFormat()];
    if (ex.type === 'CON' && !ex.acked) {
      const bytes = encodeCoapMessage({ type: 'ACK', code: COAP_CODE.CHANGED, messageId: ex.messageId, token: ex.token, options, payload });
      ex.remembered.replay = bytes;
      this.logger.debug({ link: 'coap', layer2Id: ex.peer.layer2Id, messageId: ex.messageId }, 'piggybacked response');
      return this.sendDatagram(socket, bytes, ex.peer);
    }
    const messageId = this.allocateMessageId();
    const type: CoapType = ex.type === 'CON' ? 'CON' : 'NON';
    const bytes = encodeCoapMessage({ type, code: COAP_CODE.CHANGED, messageId, token: ex.token, options, payload });
    if (type === 'CON') this.trackSeparate(socket, ex.peer, messageId, bytes);
    this.logger.debug({ link: 'coap', layer2Id: ex.peer.layer2Id, messageId, type }, type === 'CON' ? 'separate response' : 'NON response');
    return this.sendDatagram(socket, bytes, ex.peer);
  }

  /** Retransmits a separate CON response until the device ACKs or RSTs it (RFC 7252 §4.2). */
  private trackSeparate(socket: dgram.Socket, peer: Peer, messageId: number, bytes: Uint8Array): void {
    while (this.separate.size >= this.maxPendingExchanges) {
      const [key, oldest] = this.separate.entries().next().value as [string, SeparateResponse];
      clearTimeout(oldest.timer);
      this.separate.delete(key);
      this.logger.warn({ link: 'coap', layer2Id: oldest.peer.layer2Id, messageId: oldest.messageId }, 'too many separate responses awaiting an ACK: stopped retransmitting the oldest');
    }
    const s: SeparateResponse = { peer, messageId, bytes, retransmissions: 0, timeoutMs: this.ackTimeoutMs * (1 + (ACK_RANDOM_FACTOR - 1) * Math.random()) };
    const key = `${peer.layer2Id}#${messageId}`;
    const arm = (): void => {
      s.timer = setTimeout(() => {
        if (this.separate.get(key) !== s) return;
        if (s.retransmissions >= MAX_RETRANSMIT) {
          this.separate.delete(key);
          this.logger.warn({ link: 'coap', layer2Id: peer.layer2Id, messageId }, 'separate response never acknowledged by the device');
          return;
        }
        s.retransmissions += 1;
        s.timeoutMs *= 2;
        this.fireAndForget(socket, peer, bytes, 'separate response retransmission');
        arm();
      }, s.timeoutMs);
    };
    this.separate.set(key, s);
    arm();
  }

  private onAckOrReset(peer: Peer, type: 'ACK' | 'RST', messageId: number): void {
    const key = `${peer.layer2Id}#${messageId}`;
    const s = this.separate.get(key);
    if (s === undefined) {
      this.logger.debug({ link: 'coap', layer2Id: peer.layer2Id, messageId, type }, 'empty ACK/RST matching nothing: ignored');
      return;
    }
    clearTimeout(s.timer);
    this.separate.delete(key);
    if (type === 'RST') this.logger.info({ link: 'coap', layer2Id: peer.layer2Id, messageId }, 'the device rejected a separate response with RST');
    else this.logger.debug({ link: 'coap', layer2Id: peer.layer2Id, messageId, retransmissions: s.retransmissions }, 'separate response acknowledged');
  }

  /** A datagram too large to parse: a CON request among them gets 4.13 with Size1 (RFC 7252 §5.9.2.9), anything else is dropped. */
  private onOversized(state: Running, peer: Peer, bytes: Uint8Array): void {
    const first = bytes[0] as number;
    const code = bytes[1] as number;
    const tkl = first & 0x0f;
    const conRequest = first >> 6 === 1 && ((first >> 4) & 0x3) === 0 && code >> 5 === 0 && code !== COAP_CODE.EMPTY && tkl <= 8;
    if (conRequest) {
      const messageId = ((bytes[2] as number) << 8) | (bytes[3] as number);
      const answer = encodeCoapMessage({
        type: 'ACK',
        code: COAP_CODE.REQUEST_ENTITY_TOO_LARGE,
        messageId,
        token: bytes.subarray(4, 4 + tkl),
        options: [{ number: COAP_OPTION.SIZE1, value: uintOptionValue(MAX_JSON_BODY_OCTETS) }],
      });
      this.fireAndForget(state.socket, peer, answer, '4.13');
    }
    this.report(state.handler, { link: 'coap', from: peer.layer2Id, detail: `datagram of ${bytes.length} octets exceeds the limit of ${this.maxDatagramOctets}`, answered: conRequest, octets: bytes.length });
  }

  /** A response to request `m`: piggybacked in the ACK for a CON, a NON with a new Message ID for a NON. */
  private responseBytes(m: CoapMessage, code: number, options: readonly CoapOption[], payload: Uint8Array): Uint8Array {
    return m.type === 'CON'
      ? encodeCoapMessage({ type: 'ACK', code, messageId: m.messageId, token: m.token, options, payload })
      : encodeCoapMessage({ type: 'NON', code, messageId: this.allocateMessageId(), token: m.token, options, payload });
  }

  /** Remembers a request's Message ID, and what a duplicate of it gets. */
  private remember(key: string, replay: Uint8Array | undefined): Remembered {
    const entry: Remembered = { at: Date.now(), replay };
    this.remembered.set(key, entry);
    while (this.remembered.size > this.maxRememberedMessages) {
      const oldest = this.remembered.keys().next().value as string;
      this.remembered.delete(oldest);
    }
    return entry;
  }

  private dropExchange(ex: Exchange): void {
    clearTimeout(ex.timer);
    ex.timer = undefined;
    this.pendingOrder.delete(ex);
    const list = this.pending.get(ex.peer.layer2Id);
    if (list === undefined) return;
    const i = list.indexOf(ex);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.pending.delete(ex.peer.layer2Id);
  }

  /** Forgets Message IDs older than EXCHANGE_LIFETIME and drops exchanges older than `pendingLifetimeMs`. Amortised O(1): both are in age order. */
  private sweep(now: number): void {
    for (const [key, r] of this.remembered) {
      if (r.at > now - EXCHANGE_LIFETIME_MS) break;
      this.remembered.delete(key);
    }
    for (const ex of this.pendingOrder) {
      if (ex.receivedAt > now - this.pendingLifetimeMs) break;
      this.logger.debug({ link: 'coap', layer2Id: ex.peer.layer2Id, messageId: ex.messageId, request: ex.request.kind }, 'pending exchange expired unanswered');
      this.dropExchange(ex);
    }
  }

  private logCongestion(peer: Peer): void {
    this.congestionRefusals += 1;
    const now = Date.now();
    if (now - this.congestionLoggedAt < 1000) return;
    this.congestionLoggedAt = now;
    this.logger.warn(
      { link: 'coap', layer2Id: peer.layer2Id, maxPendingExchanges: this.maxPendingExchanges, refusedSoFar: this.congestionRefusals },
      'CoAP device link at its pending-exchange limit: request answered CONGESTION',
    );
  }

  private report(handler: DeviceLinkHandler, error: DeviceProtocolError): void {
    // debug, not warn: the handler (the gateway) logs and counts protocol errors.
    this.logger.debug({ link: 'coap', layer2Id: error.from, octets: error.octets, answered: error.answered, detail: error.detail }, 'unusable CoAP datagram');
    try {
      handler.onProtocolError(error);
    } catch (err) {
      this.logger.error({ link: 'coap', layer2Id: error.from, err: errorText(err) }, 'device link handler threw in onProtocolError');
    }
  }

  private allocateMessageId(): number {
    this.nextMessageId = (this.nextMessageId + 1) & 0xffff;
    return this.nextMessageId;
  }

  /** Sends without a caller to tell: a failure is logged (answers to bad input, ACKs, retransmissions are best effort, like UDP). */
  private fireAndForget(socket: dgram.Socket, peer: Peer, bytes: Uint8Array, what: string): void {
    this.sendDatagram(socket, bytes, peer).catch((err: unknown) => {
      this.logger.warn({ link: 'coap', layer2Id: peer.layer2Id, what, err: errorText(err) }, 'could not send to a CoAP device');
    });
  }

  private sendDatagram(socket: dgram.Socket, bytes: Uint8Array, peer: Peer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        socket.send(bytes, peer.port, peer.address, (err) => (err ? reject(this.classify(err, 'send')) : resolve()));
      } catch (err) {
        reject(this.classify(err, 'send'));
      }
    });
  }

  /** The one place that turns `node:dgram` errors into {@link DeviceLinkError}s. */
  private classify(err: unknown, op: DriverOperation): DeviceLinkError {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
    const where = `${this.host}:${this.port}`;
    const opts = { cause: err };
    switch (code) {
      case 'EADDRINUSE':
        return new DeviceLinkError('BIND', `UDP port ${this.port} is in use (CoAP device link, bind ${where})`, opts);
      case 'EACCES':
      case 'EPERM':
        return op === 'bind'
          ? new DeviceLinkError('BIND', `no permission to bind UDP ${where} (ports below 1024 need privileges)`, opts)
          : new DeviceLinkError('SEND', `no permission to send (${code}): a firewall may block it`, opts);
      case 'EADDRNOTAVAIL':
        return op === 'bind'
          ? new DeviceLinkError('BIND', `address ${this.host} is not configured on this host`, opts)
          : new DeviceLinkError('BAD_ADDRESS', `cannot send from ${this.host} to that address`, opts);
      case 'EAFNOSUPPORT':
        return new DeviceLinkError(op === 'bind' ? 'BIND' : 'BAD_ADDRESS', `address family not supported (is IPv6 disabled?) for ${where}`, opts);
      case 'EINVAL':
      case 'ERR_INVALID_ARG_TYPE':
      case 'ERR_INVALID_ARG_VALUE':
      case 'ERR_SOCKET_BAD_PORT':
        return new DeviceLinkError(op === 'bind' ? 'BIND' : 'BAD_ADDRESS', `invalid address for UDP ${op}: ${errorText(err)}`, opts);
      case 'ERR_SOCKET_DGRAM_NOT_RUNNING':
        return new DeviceLinkError('CLOSED', `CoAP device link ${this.endpoint} is closed`, opts);
      case 'EMSGSIZE':
        return new DeviceLinkError('SEND', `datagram too large for UDP ${op}`, opts);
      default:
        return new DeviceLinkError(op === 'bind' ? 'BIND' : 'SEND', `UDP ${op} failed on ${where} (CoAP device link): ${errorText(err)}`, opts);
    }
  }
}

/** `70 00 <mid>`: RST (RFC 7252 §4.2). */
function resetBytes(messageId: number): Uint8Array {
  return encodeCoapMessage({ type: 'RST', code: COAP_CODE.EMPTY, messageId });
}

/** `60 00 <mid>`: empty ACK (RFC 7252 §4.2, §5.2.2). */
function emptyAckBytes(messageId: number): Uint8Array {
  return encodeCoapMessage({ type: 'ACK', code: COAP_CODE.EMPTY, messageId });
}

function jsonFormat(): CoapOption {
  return { number: COAP_OPTION.CONTENT_FORMAT, value: uintOptionValue(COAP_CONTENT_FORMAT_JSON) };
}

function procedureOf(request: DeviceRequest): string {
  switch (request.kind) {
    case 'REGISTRATION_REQUEST':
      return `app:${request.applicationId}`;
    case 'DEREGISTRATION_REQUEST':
      return `rid:${request.registrationId}`;
    default:
      return assertNever(request, 'device request');
  }
}

/** The procedure a response names, when it names one. */
function procedureNamedBy(response: DeviceResponse): string | undefined {
  switch (response.kind) {
    case 'REGISTRATION_RESPONSE':
      return response.applicationId === undefined ? undefined : `app:${response.applicationId}`;
    case 'DEREGISTRATION_RESPONSE':
      return response.result === 'SUCCESS' ? `rid:${response.registrationId}` : undefined;
    default:
      return assertNever(response, 'device response');
  }
}

/** `msgin5g`, `/msgin5g`, `a/b` → segments. @throws TypeError on an empty path or segment, or one over 255 octets. */
function parseUriPath(path: string): string[] {
  const segments = path.replace(/^\/+/, '').replace(/\/+$/, '').split('/');
  for (const s of segments) {
    if (s.length === 0 || Buffer.byteLength(s) > 255) throw new TypeError(`CoapDeviceLink uriPath must be non-empty segments of at most 255 octets, got ${JSON.stringify(path)}`);
  }
  return segments;
}

function checkInt(name: string, value: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`CoapDeviceLink ${name} must be an integer ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
