/**
 * `CoapServerInbox`: the `ServerInbox` port over CoAP — the gateway's own MSGin5G-1 endpoint, where
 * the MSGin5G Server delivers `MSG` and `IMDN` for the devices behind the gateway
 * (docs/adr/0013-how-the-server-reaches-the-gateway.md; docs/wire-formats.md §5.4). A CoAP server on
 * a UDP socket of its own serving one resource (Uri-Path `msgin5g` by default): POST, Content-Format
 * 50, CON or NON, body a `MSG` or `IMDN` read strictly by `decodeMsgin5g1MessageRequest`. The URI
 * the gateway gives in its REG is {@link CoapServerInbox.notifyUri}.
 *
 * A datagram goes through, in this order:
 * 1. the strict RFC 7252 message verdict of `@msgin5g/protocol` (`judgeCoapDatagram`, shared with the
 *    reference server) with this endpoint's rules ({@link INBOX_RULES}): format errors RST (CON) or
 *    silence (NON), CoAP ping RST, a CON carrying a response code RST, Empty ACK/RST ignored (the
 *    inbox sends no CON), an unrecognised / repeated / bad-length critical option 4.02 (a NON:
 *    silence), Proxy-Uri / Proxy-Scheme 5.05, Accept other than 50 4.06, a payload over 4,096
 *    octets 4.13 with Size1 4096;
 * 2. duplicate detection (RFC 7252 §4.5) by source endpoint and Message ID: a copy of an exchange
 *    still pending is absorbed (nothing sent: the answer, piggybacked, is on its way once the
 *    handler resolves); a copy of a finished CON exchange gets the very bytes the first got
 *    (`CoapDuplicateCache`, EXCHANGE_LIFETIME 247 s; a NON's copies nothing, NON_LIFETIME 145 s);
 * 3. the resource: Uri-Path other than the configured one 4.04, a method other than POST 4.05,
 *    Content-Format absent or not 50 4.15, a body that does not decode (or a MSG whose `targetType`
 *    is not UE, a `destAddr` that is no UE Service ID) 4.00 — each with a JSON diagnostic
 *    `{"error":"…"}`, Content-Format 50, as the reference server answers;
 * 4. admission: with `maxPendingExchanges` deliveries already at the handler, 5.03 Service
 *    Unavailable with Max-Age `refusalMaxAgeS`;
 * 5. `handler.onServerDelivery(delivery)`, once per exchange; when its promise resolves, the answer
 *    2.04 with the `MSGRESP` (to a MSG) or the IMDN answer (to an IMDN): piggybacked in the ACK of a
 *    CON, a NON for a NON (RFC 7252 §5.2.1, §5.2.3). A handler that throws, rejects or resolves
 *    something that is no verdict: 5.00, logged at error; never a crash. A handler that has not
 *    resolved after `pendingLifetimeMs` (default 93 s, MAX_TRANSMIT_WAIT: the server has given up by
 *    then): 5.03 with Max-Age, its late verdict logged and dropped.
 * Every answer to a CON is remembered for its duplicates.
 *
 * The originator's type: a `MSG` from the server carries `targetType` for `destAddr` (the device,
 * always UE here); who sent it is said by the provisional member `oriType` (UE or AS), UE when
 * absent (docs/wire-formats.md §5.4).
 *
 * Rejected alternative: an empty ACK at once and the answer as a separate CON (RFC 7252 §5.2.2), as
 * the CoAP device link does for slow answers. The handler answers after a store commit
 * (milliseconds); the server's retransmissions while it runs are absorbed here, so piggybacking
 * costs at most a few duplicate datagrams and saves a retransmitted CON of our own and its state.
 * Rejected too: npm `coap`'s server (see `packages/coap-device-link/src/coap-device-link.ts`): it
 * runs a handler once per retransmitted copy and hands format errors to it as requests.
 *
 * @see RFC 7252 §4 (messaging), §5.2 (responses), §5.4 (options), §5.9 (codes); docs/adr/0013
 */
import type * as dgram from 'node:dgram';
import { isIP } from 'node:net';
import {
  assertNever,
  parseUeServiceId,
  ServerInboxError,
  silentLogger,
  type Logger,
  type ServerDelivery,
  type ServerDeliveryFailure,
  type ServerDeliveryVerdict,
  type ServerInbox,
  type ServerInboxHandler,
  type UeServiceId,
} from '@msgin5g/core';
import {
  checkNotifyUri,
  COAP_CODE,
  COAP_CONTENT_FORMAT_JSON,
  COAP_OPTION,
  coapCodeText,
  CoapDuplicateCache,
  coapOptionFormats,
  decodeMsgin5g1MessageRequest,
  encodeCoapMessage,
  encodeMsgin5g1MessageAnswer,
  judgeCoapDatagram,
  MAX_JSON_BODY_OCTETS,
  MSGIN5G_URI_PATH,
  uintOptionValue,
  type CoapEndpointRules,
  type CoapMessage,
  type CoapOption,
  type Msgin5g1MessageRequest,
} from '@msgin5g/protocol';
import { bindUdpSocket, classifyDgramError, DEFAULT_RECV_BUFFER_OCTETS, unmapIpv4 } from '@msgin5g/udp-socket';

/** Default UDP port of the inbox (provisional; the server's own is 5683). */
export const DEFAULT_SERVER_INBOX_PORT = 5700;
/** Default most deliveries at the handler at once. */
export const DEFAULT_INBOX_MAX_PENDING = 256;
/** Default: a delivery the handler has not answered after MAX_TRANSMIT_WAIT (RFC 7252 §4.8.2, 93 s) gets 5.03. */
export const DEFAULT_INBOX_PENDING_LIFETIME_MS = 93_000;
/** Default Max-Age of a 5.03, seconds. */
export const DEFAULT_INBOX_REFUSAL_MAX_AGE_S = 5;
/** Default most finished exchanges remembered for duplicate detection. */
export const DEFAULT_INBOX_MAX_REMEMBERED = 20_000;
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Longest diagnostic text in an answer, characters. */
const MAX_DIAGNOSTIC_CHARS = 200;
/** At most one warn line per this many ms for what a peer did wrong (the rest at debug, counted). */
const WARN_INTERVAL_MS = 1_000;

/**
 * What the inbox recognises (RFC 7252 §5.10): Uri-Host, Uri-Port, Uri-Path, Content-Format,
 * Uri-Query, Accept, and Proxy-Uri / Proxy-Scheme (to refuse them with 5.05). Every other critical
 * option — If-Match, If-None-Match, OSCORE, Block1, Block2, unknown odd numbers — is 4.02: the
 * inbox acts on none of them. One resource; bodies up to 4,096 octets.
 */
function inboxRules(path: readonly string[]): CoapEndpointRules {
  return {
    recognisedOptions: coapOptionFormats([
      COAP_OPTION.URI_HOST,
      COAP_OPTION.URI_PORT,
      COAP_OPTION.URI_PATH,
      COAP_OPTION.CONTENT_FORMAT,
      COAP_OPTION.URI_QUERY,
      COAP_OPTION.ACCEPT,
      COAP_OPTION.PROXY_URI,
      COAP_OPTION.PROXY_SCHEME,
    ]),
    resources: new Set([path.join('/')]),
    maxPayloadOctets: MAX_JSON_BODY_OCTETS,
  };
}
/** The rules of an inbox at the default path (see {@link inboxRules}). */
export const INBOX_RULES: CoapEndpointRules = inboxRules([MSGIN5G_URI_PATH]);

/** Options of {@link CoapServerInbox}. */
export interface CoapServerInboxOptions {
  /** IP address literal to bind: `127.0.0.1`, `0.0.0.0`, `::` (dual-stack), `::1`, or a local address. */
  readonly host: string;
  /** UDP port, 0..65535 (0: any free port, read `notifyUri` after `start()`). Default 5700. */
  readonly port?: number;
  /** Path of the resource, segments separated by `/`. Default `msgin5g`. */
  readonly path?: string;
  /**
   * The host written in `notifyUri`: an IP address literal or a DNS name the MSGin5G Server can
   * reach the gateway at. Default: `host` — so it is required when `host` is unspecified (`0.0.0.0`,
   * `::`), which names no address the server could send to.
   */
  readonly advertisedHost?: string;
  /** The port written in `notifyUri` (port forwarding in front of the gateway), 1..65535. Default: the bound port. */
  readonly advertisedPort?: number;
  readonly logger?: Logger;
  /** Most deliveries at the handler at once; a new one beyond it gets 5.03 with Max-Age. Default 256. */
  readonly maxPendingExchanges?: number;
  /** A delivery the handler has not answered after this long gets 5.03 with Max-Age, ms. Default 93 000. */
  readonly pendingLifetimeMs?: number;
  /** Max-Age of the 5.03 answers, seconds 0..86 400. Default 5. */
  readonly refusalMaxAgeS?: number;
  /** Most finished exchanges remembered for duplicate detection. Default 20 000. */
  readonly maxRememberedMessages?: number;
  /** Receive buffer to ask the OS for, octets. Default 1 MiB. */
  readonly recvBufferOctets?: number;
}

/** What the inbox has seen and done since it was built (a snapshot). */
export interface CoapServerInboxCounters {
  /** Datagrams received. */
  readonly datagrams: number;
  /** Deliveries handed to the handler (one per exchange). */
  readonly deliveries: number;
  /** Copies of a request absorbed or answered from the duplicate cache (RFC 7252 §4.5). */
  readonly duplicates: number;
  /** Requests answered with a 4.xx or 5.05 by the rules (message layer and resource), and datagrams reset or ignored as malformed. */
  readonly rejected: number;
  /** New deliveries refused with 5.03 because `maxPendingExchanges` were at the handler. */
  readonly refused: number;
  /** Deliveries answered 5.00: the handler threw, rejected or resolved no verdict. */
  readonly handlerFailures: number;
  /** Deliveries answered 5.03 because the handler had not resolved within `pendingLifetimeMs`. */
  readonly expired: number;
}

/** Where a datagram came from: the address as the socket gives it (to answer), and the key part for duplicates. */
interface Source {
  readonly address: string;
  readonly port: number;
  /** `ip:port`, IPv4-mapped addresses unmapped: the endpoint of RFC 7252 §4.5. */
  readonly endpoint: string;
}

/** A delivery at the handler. */
interface Pending {
  readonly source: Source;
  readonly type: 'CON' | 'NON';
  readonly messageId: number;
  readonly token: Uint8Array;
  readonly key: string;
  readonly receivedAt: number;
  readonly delivery: ServerDelivery;
  timer?: NodeJS.Timeout;
}

interface Running {
  readonly socket: dgram.Socket;
  readonly handler: ServerInboxHandler;
  readonly port: number;
}

/**
 * A `ServerInbox` over CoAP/UDP. `start()` rejects with `ServerInboxError` `BIND` (the socket cannot
 * be bound) or `CLOSED` (after `stop()`); the constructor throws `TypeError` on an invalid option,
 * among them a wildcard `host` without `advertisedHost` (a configuration bug).
 */
export class CoapServerInbox implements ServerInbox {
  private readonly host: string;
  private readonly port: number;
  private readonly path: readonly string[];
  private readonly rules: CoapEndpointRules;
  private readonly advertisedHost: string;
  private readonly advertisedPort: number | undefined;
  private readonly logger: Logger;
  private readonly maxPending: number;
  private readonly pendingLifetimeMs: number;
  private readonly refusalMaxAgeS: number;
  private readonly recvBufferOctets: number;
  private readonly pending = new Map<string, Pending>();
  /** What each finished exchange's copies get: a CON's answer bytes; a NON's nothing. */
  private readonly finished: CoapDuplicateCache<{ readonly bytes: Uint8Array | undefined }>;
  private running: Running | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;
  private nextMessageId = Math.floor(Math.random() * 0x10000);
  private warnedAt = Number.NEGATIVE_INFINITY;
  private readonly counts = { datagrams: 0, deliveries: 0, duplicates: 0, rejected: 0, refused: 0, handlerFailures: 0, expired: 0 };

  constructor(options: CoapServerInboxOptions) {
    if (typeof options.host !== 'string' || isIP(options.host) === 0) throw new TypeError(`CoapServerInbox host must be an IP address literal, got ${JSON.stringify(options.host)}`);
    this.host = options.host.toLowerCase();
    this.port = checkInt('port', options.port ?? DEFAULT_SERVER_INBOX_PORT, 0, 65_535);
    this.path = parsePath(options.path ?? MSGIN5G_URI_PATH);
    this.rules = inboxRules(this.path);
    this.advertisedHost = pickAdvertisedHost(this.host, options.advertisedHost);
    this.advertisedPort = options.advertisedPort === undefined ? undefined : checkInt('advertisedPort', options.advertisedPort, 1, 65_535);
    this.logger = options.logger ?? silentLogger;
    this.maxPending = checkInt('maxPendingExchanges', options.maxPendingExchanges ?? DEFAULT_INBOX_MAX_PENDING, 1, 1e7);
    this.pendingLifetimeMs = checkInt('pendingLifetimeMs', options.pendingLifetimeMs ?? DEFAULT_INBOX_PENDING_LIFETIME_MS, 1, MAX_TIMER_MS);
    this.refusalMaxAgeS = checkInt('refusalMaxAgeS', options.refusalMaxAgeS ?? DEFAULT_INBOX_REFUSAL_MAX_AGE_S, 0, 86_400);
    this.finished = new CoapDuplicateCache(checkInt('maxRememberedMessages', options.maxRememberedMessages ?? DEFAULT_INBOX_MAX_REMEMBERED, 1, 1e8));
    this.recvBufferOctets = options.recvBufferOctets ?? DEFAULT_RECV_BUFFER_OCTETS;
    const problem = checkNotifyUri(this.uriWith(this.advertisedPort ?? (this.port === 0 ? 1 : this.port)));
    if (problem !== undefined) throw new TypeError(`CoapServerInbox notifyUri ${problem} (advertisedHost ${JSON.stringify(this.advertisedHost)}, path ${JSON.stringify(options.path)})`);
  }

  /**
   * `coap://<advertisedHost>:<port>/<path>`: the URI the gateway sends in its REG as `notifyUri`
   * (docs/adr/0013). The port is `advertisedPort`, else the bound port (the configured one before
   * `start()`). An IPv6 literal is bracketed, path segments percent-encoded.
   * @throws ServerInboxError `CLOSED` when read before `start()` with port 0 (no port is bound yet)
   */
  get notifyUri(): string {
    const port = this.advertisedPort ?? this.running?.port ?? (this.port === 0 ? undefined : this.port);
    if (port === undefined) throw new ServerInboxError('CLOSED', 'CoapServerInbox notifyUri: port 0 is bound at start(); read notifyUri after it');
    return this.uriWith(port);
  }

  /** The local endpoint, for logs: `coap://0.0.0.0:5700/msgin5g`. */
  get endpoint(): string {
    const host = isIP(this.host) === 6 ? `[${this.host}]` : this.host;
    return `coap://${host}:${this.running?.port ?? this.port}/${this.path.join('/')}`;
  }

  /** Deliveries at the handler now. */
  get pendingExchanges(): number {
    return this.pending.size;
  }

  get counters(): CoapServerInboxCounters {
    return { ...this.counts };
  }

  /** Binds the socket; resolves once deliveries can arrive. Rejects `ServerInboxError` `BIND` or `CLOSED`. */
  start(handler: ServerInboxHandler): Promise<void> {
    if (this.stopped) return Promise.reject(new ServerInboxError('CLOSED', `CoapServerInbox ${this.endpoint} was stopped`));
    // A failed bind may be retried (the port may be free later); a start in progress is shared.
    this.starting ??= this.bind(handler).catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  /** Closes the socket; idempotent. Deliveries still at the handler are not answered (the port contract): the server retransmits or delivers again. */
  async stop(): Promise<void> {
    this.stopped = true;
    try {
      await this.starting;
    } catch {
      // never bound: nothing to close
    }
    const running = this.running;
    this.running = undefined;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    if (this.pending.size > 0) this.logger.info({ endpoint: this.endpoint, pending: this.pending.size }, 'server inbox stopping: deliveries at the handler left unanswered');
    this.pending.clear();
    this.finished.clear();
    if (running === undefined) return;
    await new Promise<void>((resolve) => {
      try {
        running.socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }

  private async bind(handler: ServerInboxHandler): Promise<void> {
    let socket: dgram.Socket;
    let port: number;
    try {
      const bound = await bindUdpSocket({
        host: this.host,
        port: this.port,
        recvBufferOctets: this.recvBufferOctets,
        onMessage: (msg, address, from) => this.onDatagram(msg, address, from),
        onError: (err) => this.logger.error({ endpoint: this.endpoint, err: err.message }, 'server inbox socket error'),
      });
      socket = bound.socket;
      port = bound.port;
      if (bound.recvBufferError !== undefined) this.logger.warn({ endpoint: this.endpoint, err: errorText(bound.recvBufferError) }, 'server inbox: could not enlarge the UDP receive buffer');
    } catch (err) {
      const c = classifyDgramError(err, 'bind', { host: this.host, port: this.port, link: `server inbox ${this.endpoint}` });
      throw new ServerInboxError('BIND', c.message, { cause: err });
    }
    if (this.stopped) {
      socket.close();
      throw new ServerInboxError('CLOSED', `CoapServerInbox ${this.endpoint} was stopped while starting`);
    }
    this.running = { socket, handler, port };
    this.logger.info({ endpoint: this.endpoint, notifyUri: this.notifyUri }, 'server inbox listening');
  }

  private uriWith(port: number): string {
    const host = isIP(this.advertisedHost) === 6 ? `[${this.advertisedHost}]` : this.advertisedHost;
    return `coap://${host}:${port}/${this.path.map((s) => encodeURIComponent(s)).join('/')}`;
  }

  private onDatagram(msg: Buffer, address: string, port: number): void {
    if (this.running === undefined) return;
    this.counts.datagrams += 1;
    const source: Source = { address, port, endpoint: endpointOf(unmapIpv4(address), port) };
    const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.length);
    const verdict = judgeCoapDatagram(bytes, this.rules);
    switch (verdict.kind) {
      case 'IGNORE':
        if (verdict.malformed) this.counts.rejected += 1;
        this.logger.debug({ from: source.endpoint, detail: verdict.detail }, 'server inbox: datagram ignored');
        return;
      case 'RESET':
        if (verdict.reason !== 'PING') this.complain(source, `RST: ${verdict.detail}`);
        this.transmit(source, encodeCoapMessage({ type: 'RST', code: COAP_CODE.EMPTY, messageId: verdict.messageId }), 'RST');
        return;
      case 'PEER_EMPTY':
        this.logger.debug({ from: source.endpoint, type: verdict.type, messageId: verdict.messageId }, 'server inbox: Empty ACK/RST matching nothing (the inbox sends no CON)');
        return;
      case 'ANSWER':
        if (this.isDuplicate(source, verdict.message)) return;
        this.complain(source, `${coapCodeText(verdict.code)}: ${verdict.detail}`);
        this.answer(source, verdict.message, verdict.code, verdict.size1 === undefined ? [] : [{ number: COAP_OPTION.SIZE1, value: uintOptionValue(verdict.size1) }], verdict.payload);
        return;
      case 'REQUEST':
        if (this.isDuplicate(source, verdict.message)) return;
        this.onRequest(source, verdict.message, verdict.view.uriPath, verdict.view.contentFormat);
        return;
      default:
        assertNever(verdict, 'CoAP message verdict');
    }
  }

  /** A copy of a request seen before (RFC 7252 §4.5): absorbed while pending, else answered as the first (CON) or not at all (NON). */
  private isDuplicate(source: Source, m: CoapMessage): boolean {
    const key = keyOf(source, m.messageId);
    if (this.pending.has(key)) {
      this.counts.duplicates += 1;
      this.logger.debug({ from: source.endpoint, messageId: m.messageId, pending: true }, 'server inbox: copy of a pending request absorbed');
      return true;
    }
    const finished = this.finished.get(key, Date.now());
    if (finished === undefined) return false;
    this.counts.duplicates += 1;
    const replayed = m.type === 'CON' && finished.bytes !== undefined;
    if (replayed) this.transmit(source, finished.bytes as Uint8Array, 'replayed answer');
    this.logger.debug({ from: source.endpoint, messageId: m.messageId, replayed }, 'server inbox: copy of a finished request');
    return true;
  }

  private onRequest(source: Source, m: CoapMessage, uriPath: readonly string[], contentFormat: number | undefined): void {
    if (uriPath.join('/') !== this.path.join('/')) {
      return this.refuse(source, m, COAP_CODE.NOT_FOUND, `no resource /${uriPath.join('/')}; use /${this.path.join('/')}`);
    }
    if (m.code !== COAP_CODE.POST) return this.refuse(source, m, COAP_CODE.METHOD_NOT_ALLOWED, `/${this.path.join('/')} accepts POST only, got ${coapCodeText(m.code)}`);
    if (contentFormat !== COAP_CONTENT_FORMAT_JSON) {
      return this.refuse(source, m, COAP_CODE.UNSUPPORTED_CONTENT_FORMAT, `Content-Format must be ${COAP_CONTENT_FORMAT_JSON} (application/json), got ${contentFormat === undefined ? 'none' : String(contentFormat)}`);
    }
    const decoded = decodeMsgin5g1MessageRequest(m.payload);
    if (!decoded.ok) return this.refuse(source, m, COAP_CODE.BAD_REQUEST, decoded.error);
    const delivery = toDelivery(decoded.value);
    if (!delivery.ok) return this.refuse(source, m, COAP_CODE.BAD_REQUEST, delivery.error);
    if (this.pending.size >= this.maxPending) {
      this.counts.refused += 1;
      this.warn('server inbox at its pending-delivery limit: new delivery answered 5.03', { from: source.endpoint, messageId: m.messageId, pending: this.pending.size });
      return this.unavailable(source, m, 'inbox busy');
    }
    const p: Pending = { source, type: m.type as 'CON' | 'NON', messageId: m.messageId, token: Uint8Array.from(m.token), key: keyOf(source, m.messageId), receivedAt: Date.now(), delivery: delivery.value };
    this.pending.set(p.key, p);
    p.timer = setTimeout(() => this.onExpired(p), this.pendingLifetimeMs);
    this.counts.deliveries += 1;
    const handler = (this.running as Running).handler;
    let verdict: Promise<ServerDeliveryVerdict>;
    try {
      verdict = Promise.resolve(handler.onServerDelivery(p.delivery));
    } catch (err) {
      verdict = Promise.reject(err);
    }
    verdict.then(
      (v) => this.onVerdict(p, v),
      (err: unknown) => this.onHandlerFailure(p, `the handler rejected: ${errorText(err)}`),
    );
  }

  private onVerdict(p: Pending, verdict: unknown): void {
    if (this.pending.get(p.key) !== p) {
      this.logger.warn({ from: p.source.endpoint, messageId: p.messageId, kind: p.delivery.kind, verdict: describeVerdict(verdict) }, 'server inbox: verdict after the exchange was answered or the inbox stopped: dropped');
      return;
    }
    const body = answerBody(p.delivery, verdict);
    if (body === undefined) return this.onHandlerFailure(p, `the handler resolved no verdict: ${describeVerdict(verdict)}`);
    this.settle(p);
    if ((verdict as ServerDeliveryVerdict).kind === 'FAILURE') {
      const v = verdict as ServerDeliveryVerdict & { kind: 'FAILURE' };
      this.logger.info({ from: p.source.endpoint, kind: p.delivery.kind, targetAddress: p.delivery.targetAddress, reason: v.reason, detail: v.detail }, 'server inbox: delivery refused');
    }
    this.respond(p.source, p, COAP_CODE.CHANGED, [{ number: COAP_OPTION.CONTENT_FORMAT, value: uintOptionValue(COAP_CONTENT_FORMAT_JSON) }], body);
  }

  private onHandlerFailure(p: Pending, why: string): void {
    if (this.pending.get(p.key) !== p) return;
    this.settle(p);
    this.counts.handlerFailures += 1;
    this.logger.error({ from: p.source.endpoint, messageId: p.messageId, kind: p.delivery.kind, targetAddress: p.delivery.targetAddress, err: why }, 'server inbox: delivery answered 5.00');
    this.respond(p.source, p, INTERNAL_SERVER_ERROR, [], utf8.encode('gateway error'));
  }

  private onExpired(p: Pending): void {
    if (this.pending.get(p.key) !== p) return;
    this.settle(p);
    this.counts.expired += 1;
    this.warn('server inbox: the handler did not answer in time: delivery answered 5.03', { from: p.source.endpoint, messageId: p.messageId, kind: p.delivery.kind });
    this.respond(p.source, p, COAP_CODE.SERVICE_UNAVAILABLE, [{ number: COAP_OPTION.MAX_AGE, value: uintOptionValue(this.refusalMaxAgeS) }], utf8.encode('no answer in time'));
  }

  private settle(p: Pending): void {
    clearTimeout(p.timer);
    this.pending.delete(p.key);
  }

  /** A resource-level error (4.00, 4.04, 4.05, 4.15): a JSON diagnostic `{"error":"…"}`, Content-Format 50. */
  private refuse(source: Source, m: CoapMessage, code: number, diagnostic: string): void {
    this.complain(source, `${coapCodeText(code)}: ${diagnostic}`);
    const text = diagnostic.length > MAX_DIAGNOSTIC_CHARS ? `${diagnostic.slice(0, MAX_DIAGNOSTIC_CHARS - 1)}…` : diagnostic;
    this.answer(source, m, code, [{ number: COAP_OPTION.CONTENT_FORMAT, value: uintOptionValue(COAP_CONTENT_FORMAT_JSON) }], utf8.encode(JSON.stringify({ error: text })));
  }

  /** 5.03 Service Unavailable with Max-Age (RFC 7252 §5.9.3.4). */
  private unavailable(source: Source, m: CoapMessage, diagnostic: string): void {
    this.answer(source, m, COAP_CODE.SERVICE_UNAVAILABLE, [{ number: COAP_OPTION.MAX_AGE, value: uintOptionValue(this.refusalMaxAgeS) }], utf8.encode(diagnostic));
  }

  /** Answers a request that never reached the handler. */
  private answer(source: Source, m: CoapMessage, code: number, options: readonly CoapOption[], payload: Uint8Array): void {
    this.respond(source, { type: m.type as 'CON' | 'NON', messageId: m.messageId, token: m.token, key: keyOf(source, m.messageId), receivedAt: Date.now() }, code, options, payload);
  }

  /**
   * The response to a request: piggybacked in the ACK of a CON (its duplicates get the same bytes
   * for EXCHANGE_LIFETIME), a NON with a new Message ID for a NON (RFC 7252 §5.2.1, §5.2.3).
   */
  private respond(source: Source, r: Pick<Pending, 'type' | 'messageId' | 'token' | 'key' | 'receivedAt'>, code: number, options: readonly CoapOption[], payload: Uint8Array): void {
    const now = Date.now();
    if (r.type === 'CON') {
      const bytes = encodeCoapMessage({ type: 'ACK', code, messageId: r.messageId, token: r.token, options, payload });
      this.finished.remember(r.key, 'CON', { bytes }, r.receivedAt, now);
      this.transmit(source, bytes, coapCodeText(code));
      return;
    }
    this.finished.remember(r.key, 'NON', { bytes: undefined }, r.receivedAt, now);
    this.nextMessageId = (this.nextMessageId + 1) & 0xffff;
    this.transmit(source, encodeCoapMessage({ type: 'NON', code, messageId: this.nextMessageId, token: r.token, options, payload }), coapCodeText(code));
  }

  private transmit(source: Source, bytes: Uint8Array, what: string): void {
    const socket = this.running?.socket;
    if (socket === undefined) return;
    try {
      socket.send(bytes, source.port, source.address, (err) => {
        if (err) this.logger.warn({ to: source.endpoint, what, err: err.message }, 'server inbox: could not send');
      });
    } catch (err) {
      this.logger.warn({ to: source.endpoint, what, err: errorText(err) }, 'server inbox: could not send');
    }
  }

  /** What a peer did wrong: counted, logged at warn at most once a second (debug otherwise). */
  private complain(source: Source, detail: string): void {
    this.counts.rejected += 1;
    this.warn('server inbox: request refused', { from: source.endpoint, detail });
  }

  private warn(message: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.warnedAt < WARN_INTERVAL_MS) {
      this.logger.debug(fields, message);
      return;
    }
    this.warnedAt = now;
    this.logger.warn({ ...fields, ...this.counts }, message);
  }
}

/** 5.00 Internal Server Error (RFC 7252 §5.9.3.1). */
const INTERNAL_SERVER_ERROR = 0xa0;
const utf8 = new TextEncoder();

/** The server's request as the port's delivery: `destAddr` must be a UE Service ID, a MSG's `targetType` UE (the device). */
function toDelivery(r: Msgin5g1MessageRequest): { ok: true; value: ServerDelivery } | { ok: false; error: string } {
  const target = parseUeServiceId(r.targetAddress);
  if (!target.ok) return { ok: false, error: `member "destAddr" must be the UE Service ID of a device behind the gateway: ${target.error}` };
  const targetAddress: UeServiceId = target.value;
  if (r.messageType === 'MSG') {
    if (r.targetType !== 'UE') return { ok: false, error: `a MSG to the gateway names a device: member "targetType" must be "UE" (or absent), got "${r.targetType}"` };
    return {
      ok: true,
      value: {
        kind: 'MSG',
        originatorAddress: r.originatorAddress,
        originatorType: r.originatorType ?? 'UE',
        targetAddress,
        messageId: r.messageId,
        ...(r.applicationId === undefined ? {} : { applicationId: r.applicationId }),
        deliveryStatusRequired: r.deliveryStatusRequired,
        payload: r.payload,
      },
    };
  }
  return {
    ok: true,
    value: {
      kind: 'IMDN',
      originatorAddress: r.originatorAddress,
      targetAddress,
      messageId: r.messageId,
      deliveryStatus: r.deliveryStatus,
      ...(r.failureReason === undefined ? {} : { failureReason: r.failureReason }),
    },
  };
}

const DELIVERY_FAILURES: ReadonlySet<ServerDeliveryFailure> = new Set<ServerDeliveryFailure>(['RECIPIENT_UNKNOWN', 'CONGESTION', 'PAYLOAD_TOO_LARGE', 'UNSPECIFIED']);

/**
 * The 2.04 body for `verdict` (docs/wire-formats.md §5.4; ports/server-inbox.ts): to a MSG a
 * `MSGRESP` (STORED → DELY_STORED; FAILURE → DELY_FAILED with `failureCause` the reason), to an
 * IMDN `{"messageType":"IMDN","result":"SUCCESS"}` or FAILURE with `failureCause`. `undefined` when
 * `verdict` is not a verdict (a handler bug, answered 5.00).
 */
function answerBody(delivery: ServerDelivery, verdict: unknown): Uint8Array | undefined {
  if (typeof verdict !== 'object' || verdict === null) return undefined;
  const v = verdict as { kind?: unknown; reason?: unknown };
  let failureCause: ServerDeliveryFailure | undefined;
  if (v.kind === 'FAILURE') {
    if (!DELIVERY_FAILURES.has(v.reason as ServerDeliveryFailure)) return undefined;
    failureCause = v.reason as ServerDeliveryFailure;
  } else if (v.kind !== 'STORED') {
    return undefined;
  }
  switch (delivery.kind) {
    case 'MSG':
      return encodeMsgin5g1MessageAnswer(
        failureCause === undefined
          ? { messageType: 'MSGRESP', messageId: delivery.messageId, status: 'DELY_STORED' }
          : { messageType: 'MSGRESP', messageId: delivery.messageId, status: 'DELY_FAILED', failureCause },
      );
    case 'IMDN':
      return encodeMsgin5g1MessageAnswer(failureCause === undefined ? { messageType: 'IMDN', result: 'SUCCESS' } : { messageType: 'IMDN', result: 'FAILURE', failureCause });
    default:
      return assertNever(delivery, 'server delivery');
  }
}

function describeVerdict(verdict: unknown): string {
  try {
    const text = JSON.stringify(verdict) ?? String(verdict);
    return text.length > 120 ? `${text.slice(0, 119)}…` : text;
  } catch {
    return String(verdict);
  }
}

/** `ip:port`, `[v6]:port`. */
function endpointOf(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

function keyOf(source: Source, messageId: number): string {
  return `${source.endpoint}#${messageId}`;
}

/** `msgin5g`, `/msgin5g`, `a/b` → segments. @throws TypeError on an empty path or segment, or one over 255 octets. */
function parsePath(path: string): string[] {
  const segments = typeof path === 'string' ? path.replace(/^\/+/, '').replace(/\/+$/, '').split('/') : [''];
  for (const s of segments) {
    if (s.length === 0 || Buffer.byteLength(s) > 255) throw new TypeError(`CoapServerInbox path must be non-empty segments of at most 255 octets, got ${JSON.stringify(path)}`);
  }
  return segments;
}

/** DNS name (RFC 1123 labels) of at most 253 characters. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * The host for `notifyUri`: `advertised` when given (an IP literal that is not unspecified, or a DNS
 * name), else the bound host unless it is unspecified (`0.0.0.0`, `::`): an address the server
 * cannot send to, so the configuration must name one.
 */
function pickAdvertisedHost(host: string, advertised: string | undefined): string {
  const unspecified = (h: string): boolean => h === '0.0.0.0' || (isIP(h) === 6 && /^[0:]+$/.test(h));
  if (advertised === undefined) {
    if (unspecified(host)) {
      throw new TypeError(`CoapServerInbox bound to ${host} needs advertisedHost: the address or name the MSGin5G Server reaches the gateway at (it goes into notifyUri)`);
    }
    return host;
  }
  const ip = isIP(advertised);
  if (ip === 0 && !HOST_NAME.test(advertised)) throw new TypeError(`CoapServerInbox advertisedHost must be an IP address literal or a DNS name, got ${JSON.stringify(advertised)}`);
  if (ip !== 0 && unspecified(advertised)) throw new TypeError(`CoapServerInbox advertisedHost ${advertised} is unspecified: name an address the MSGin5G Server can reach`);
  return ip === 6 ? advertised.toLowerCase() : advertised;
}

function checkInt(name: string, value: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`CoapServerInbox ${name} must be an integer ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
