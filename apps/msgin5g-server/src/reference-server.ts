/**
 * The reference MSGin5G Server (MSGin5G-1 over CoAP): a REG/DEREG registry of UE Service IDs,
 * answers per docs/wire-formats.md §4, message routing with store and forward to the gateways'
 * `notifyUri` and a pretend Application Server (§5.4, `message-router.ts`), admin resources
 * `GET /registry` and `GET /messages`, and fault injection.
 *
 * Design. The server owns its UDP socket (bound with `reuseAddr: false`, so a second server on a
 * port in use fails with EADDRINUSE; coap's own socket binds with SO_REUSEADDR and would share the
 * port silently) and sees every datagram first. The message layer is checked before anything else
 * (`message-verdict.ts`, RFC 7252 §3–§5.10), so the coap library never sees a malformed or
 * unsupported message (coap-packet reads a malformed one as far as the bytes go, and coap answers an
 * RST with a 5.00):
 * - a message format error, a CoAP ping, or a CON carrying a response code → RST for a CON, silence
 *   for anything else; an ACK or RST is never answered (an Empty one ends a separate response's
 *   retransmission, and an Empty ACK is also passed to coap);
 * - a request with a bad critical option (4.02 in a CON, silence in a NON), Proxy-Uri/Proxy-Scheme
 *   (5.05), a failed If-Match/If-None-Match (4.12), Accept not 50 (4.06) or a body over 4,096 octets
 *   (4.13 with Size1) → answered with bytes written here, piggybacked for a CON, the registry
 *   untouched, no fault applied, copies answered with the same bytes.
 * Every other request goes to a small dispatcher that decides, once per request (per source and
 * Message ID), what happens to it, and replays that decision for retransmitted copies:
 * - normal answers and the faults that are just odd answers (`fail`, `code`, `empty`, `badjson`,
 *   `noresult`) go to the `coap` 1.5.0 server, which answers piggybacked and replays its cached
 *   answer to duplicates;
 * - `delay` holds the datagram, absorbing copies, then hands it to the coap server;
 * - `drop` swallows it and its copies; `rst`, `separate`, and requests the coap server mishandles
 *   (FETCH, Observe) are answered with bytes written here (`raw-coap.ts`), with the separate CON
 *   response retransmitted until the client ACKs it (RFC 7252 §4.2) and the ACK counted in `stats`.
 * Rejected alternatives: a server written entirely on raw datagrams (the normal path would then be
 * this project's reading of RFC 7252 on both ends of the test), and faults inside coap's request
 * handler alone (coap sends an empty ACK after 50 ms on its own and runs the handler once per
 * retransmitted copy, so it cannot express `drop`, `delay` or exact RST bytes).
 *
 * Check mode (`checkMessageIdReuse`). RFC 7252 §4.4 forbids a client to reuse a Message ID toward
 * the same endpoint within EXCHANGE_LIFETIME (247 s). With the check on, the server remembers, per
 * peer (`ip:port`) and Message ID, when a request was first seen and its token; a later request
 * with the same (peer, Message ID) but another token within 247 s is a reuse (a retransmission
 * carries the same token): it is counted in `stats.messageIdReuses` and logged at `warn` (the
 * first 20 one by one). Without the check, such a request is taken for a duplicate and answered
 * from the cache, exactly what a strict server does, which is why the gateway paces its IDs.
 * Memory: 512 KiB + token strings per peer seen, so the check is for tests and benchmarks.
 *
 * coap 1.5.0 specifics relied on: `listen(socket)` uses a socket it is given (and does not close
 * it) and attaches one `message` listener, which is replaced here by the dispatcher, feeding the
 * coap server through its public `handleRequest()`.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { createServer, parameters as coapParameters, type IncomingMessage, type OutgoingMessage, type Server } from 'coap';
import { parse as parseCoap, type ParsedPacket } from 'coap-packet';
import { assertNever, EXCHANGE_LIFETIME_MS, silentLogger, type Logger } from '@msgin5g/core';
import { COAP_OPTION, coapCodeText, DEFAULT_COAP_PORT, type CoapMessage } from '@msgin5g/protocol';
import { FaultPlan } from './fault-plan';
import { formatFault, type Fault, type FaultSpec } from './fault-spec';
import { CoapGatewayNotifier, DEFAULT_DELIVERY_TIMEOUT_MS, type GatewayNotifier } from './gateway-notifier';
import { MessageRouter, type MessageRouterOptions, type MessageRouterStats } from './message-router';
import { judgeDatagram, type MessageVerdict } from './message-verdict';
import { emptyAckBytes, errorResponseBytes, hasObserve, resetBytes, responseBytes } from './raw-coap';
import { Registry } from './registry';
import { classifyRequest, type RequestTarget, type RequestView } from './request-target';
import { replyFor, type ServerReply, type ServerState } from './server-reply';
import type { InboxEntry } from './as-inbox';

export interface ReferenceServerOptions {
  /** Address to bind, IPv4 or IPv6 literal or a name. Default `127.0.0.1` (loopback only: a test server should not face a network). */
  readonly host?: string;
  /** UDP port; 0 picks a free one (see `start()`'s result). Default 5683. */
  readonly port?: number;
  /** Faults in force from the start (SPEC texts or parsed specs); change them later through `faults`. */
  readonly faults?: readonly (FaultSpec | string)[];
  /** Receives one `info` line per request. */
  readonly logger?: Logger;
  /** Count (peer, Message ID) reuse within EXCHANGE_LIFETIME (RFC 7252 §4.4) in `stats.messageIdReuses`. Default false. */
  readonly checkMessageIdReuse?: boolean;
  /** Message routing: pretend AS id, expiry, store size, inbox size, retry backoff (`message-router.ts`). */
  readonly messages?: Omit<MessageRouterOptions, 'logger'> & {
    /** How long one delivery to a gateway may take, ms (CoAP retransmission inside). Default 15,000. */
    readonly deliveryTimeoutMs?: number;
  };
  /** Replaces the CoAP client that POSTs to gateways (tests). */
  readonly notifier?: GatewayNotifier;
}

/** The message side of the server, for tests and the stopping line. */
export interface ReferenceServerMessages {
  /** The pretend Application Server's inbox, oldest first. */
  inbox(): InboxEntry[];
  /** Items stored for forwarding to gateways. */
  readonly stored: number;
  readonly stats: Readonly<MessageRouterStats>;
  /** The `notifyUri` a registration gave, if any. */
  notifyUriOf(ueServiceId: string): string | undefined;
}

/** Counters since `start()`. */
export interface ReferenceServerStats {
  /** Requests seen for the first time (not counting retransmitted copies). */
  requests: number;
  /** Retransmitted or duplicated copies of a request (absorbed or answered from cache). */
  duplicates: number;
  /** Requests a fault applied to. */
  faultsApplied: number;
  /** Separate responses sent (fault `separate`). */
  separateResponsesSent: number;
  /** Separate CON responses the client ACKed. */
  separateResponsesAcked: number;
  /** Separate CON responses given up on after MAX_RETRANSMIT without an ACK. */
  separateResponsesUnacked: number;
  /** Empty ACKs received from clients. */
  emptyAcksReceived: number;
  /** RSTs received from clients. */
  resetsReceived: number;
  /** Datagrams that are not CoAP messages or break the message format (RFC 7252 §3): ignored, or an RST for a CON. */
  malformedDatagrams: number;
  /** Well-formed messages rejected or answered at the message layer (`message-verdict.ts`): 4.02, 4.06, 4.12, 4.13, 5.05, an RST to a CON response, an ignored NON, a non-Empty ACK or RST. CoAP pings are not counted. */
  messagesRejected: number;
  /** Requests that reused a (peer, Message ID) pair with a new token within 247 s (only counted with `checkMessageIdReuse`). */
  messageIdReuses: number;
  /** Distinct peers (`ip:port`) whose Message IDs were checked (0 without `checkMessageIdReuse`). */
  peersChecked: number;
}

export interface ReferenceServer {
  /** Binds and starts answering; resolves with the bound address (the real port when `port` was 0). @throws Error when the address is in use or cannot be bound. */
  start(): Promise<{ host: string; port: number }>;
  /** Stops answering, cancels delayed and separate answers, closes the socket. Idempotent. */
  stop(): Promise<void>;
  /** UE Service IDs currently registered (live view). */
  readonly registry: ReadonlySet<string>;
  /** Message routing: inbox, store, counters. */
  readonly messages: ReferenceServerMessages;
  /** Faults in force, changeable at run time. */
  readonly faults: FaultPlan;
  readonly stats: Readonly<ReferenceServerStats>;
}

/** Builds a reference server; nothing is bound until `start()`. */
export function createReferenceServer(options: ReferenceServerOptions = {}): ReferenceServer {
  return new CoapReferenceServer(options);
}

/** How long the server remembers a request for duplicate detection, ms (EXCHANGE_LIFETIME, RFC 7252 §4.8.2). */
const EXCHANGE_MEMORY_MS = EXCHANGE_LIFETIME_MS;
/** At most this many remembered requests; the oldest are forgotten first. */
const MAX_REMEMBERED = 10_000;

/** Reuse warnings logged one by one; later ones are only counted. */
const REUSE_WARNINGS_LOGGED = 20;

/** Per peer: when each Message ID was first used for a request, and with which token. */
interface PeerMessageIds {
  readonly at: Float64Array;
  readonly token: Array<string | undefined>;
  /** When this peer last sent a request, ms: a peer quiet for EXCHANGE_LIFETIME is forgotten. */
  lastAt: number;
}

/** What happens to copies of a request that was already seen. */
type Seen =
  | { readonly at: number; mode: 'drop' | 'absorb' | 'coap' }
  | { readonly at: number; mode: 'resend'; readonly bytes: Buffer };

/** A request on its way to the coap server's handler. */
interface Plan {
  readonly from: string;
  readonly messageId: number;
  readonly target: RequestTarget;
  readonly fault: Fault | undefined;
}

/** A separate CON response waiting for the client's ACK. */
interface PendingCon {
  readonly bytes: Buffer;
  readonly to: RemoteInfo;
  attempts: number;
  timeoutMs: number;
  timer?: NodeJS.Timeout;
}

class CoapReferenceServer implements ReferenceServer {
  readonly faults: FaultPlan;
  readonly stats: ReferenceServerStats = newStats();
  private readonly host: string;
  private readonly port: number;
  private readonly logger: Logger;
  private readonly state: ServerState;
  private readonly seen = new Map<string, Seen>();
  private readonly plans = new Map<string, Plan>();
  private readonly pendingCons = new Map<string, PendingCon>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly checkReuse: boolean;
  private readonly midsByPeer = new Map<string, PeerMessageIds>();
  private socket?: Socket;
  private coap?: Server;
  private feedCoap?: (msg: Buffer, rinfo: RemoteInfo) => void;
  private nextMessageId = Math.floor(Math.random() * 0x10000);
  private stopping?: Promise<void>;

  constructor(options: ReferenceServerOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? DEFAULT_COAP_PORT;
    this.logger = options.logger ?? silentLogger;
    this.faults = new FaultPlan(options.faults ?? []);
    this.checkReuse = options.checkMessageIdReuse ?? false;
    const routerRef: { router?: MessageRouter } = {};
    const registry = new Registry(
      (ueServiceId) => routerRef.router?.onRegistered(ueServiceId),
      (ueServiceId) => routerRef.router?.onDeviceDeregistered(ueServiceId),
    );
    const notifier = options.notifier ?? new CoapGatewayNotifier(options.messages?.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS);
    const router = new MessageRouter(registry, notifier, { ...options.messages, logger: this.logger });
    routerRef.router = router;
    this.state = { registry, router };
  }

  get registry(): ReadonlySet<string> {
    return this.state.registry.ids;
  }

  get messages(): ReferenceServerMessages {
    const { router, registry } = this.state;
    return {
      inbox: () => router.inboxEntries(),
      get stored() {
        return router.storedCount;
      },
      stats: router.stats,
      notifyUriOf: (ue) => registry.notifyUriOf(ue),
    };
  }

  async start(): Promise<{ host: string; port: number }> {
    if (this.socket !== undefined) throw new Error('reference server already started');
    const type = isIPv6(this.host) ? 'udp6' : 'udp4';
    const socket = createSocket({ type, reuseAddr: false });
    this.socket = socket;
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(this.port, this.host, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.socket = undefined;
      try {
        socket.close();
      } catch {
        // never bound
      }
      throw new Error(`cannot bind the MSGin5G Server to ${this.host} port ${this.port}: ${String(err)}`, { cause: err });
    }
    socket.on('error', (err) => this.logger.error({ err: String(err) }, 'socket error'));

    const coap = createServer({ type, reuseAddr: false });
    coap.on('request', (req: IncomingMessage, res: OutgoingMessage) => this.onCoapRequest(req, res));
    coap.on('error', (err: unknown) => this.logger.error({ err: String(err) }, 'CoAP server error'));
    coap.listen(socket);
    // Take the datagrams first: coap's listener is replaced by the dispatcher, which feeds coap.
    socket.removeAllListeners('message');
    this.feedCoap = coap.handleRequest();
    socket.on('message', (msg: Buffer, from: RemoteInfo) => this.onDatagram(msg, from));
    this.coap = coap;
    this.state.router.start();

    const address = socket.address();
    return { host: address.address, port: address.port };
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.state.router.stop();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const p of this.pendingCons.values()) clearTimeout(p.timer);
    this.pendingCons.clear();
    this.coap?.close(); // clears its answer cache and the timers of its cached answers; leaves our socket open
    const socket = this.socket;
    if (socket === undefined) return;
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  private onDatagram(msg: Buffer, from: RemoteInfo): void {
    if (this.stopping !== undefined) return;
    const verdict = judgeDatagram(msg);
    switch (verdict.kind) {
      case 'IGNORE':
        if (verdict.malformed) this.stats.malformedDatagrams += 1;
        else this.stats.messagesRejected += 1;
        this.logger.debug({ from: peer(from), octets: msg.length, detail: verdict.detail }, 'datagram ignored');
        return;
      case 'RESET':
        if (verdict.reason === 'FORMAT_ERROR') this.stats.malformedDatagrams += 1;
        else if (verdict.reason === 'NO_CONTEXT') this.stats.messagesRejected += 1;
        this.logger.debug({ from: peer(from), messageId: verdict.messageId, detail: verdict.detail }, 'CON rejected with RST');
        this.send(resetBytes(verdict.messageId), from);
        return;
      case 'PEER_EMPTY':
        this.onAckOrReset(verdict.type, `${peer(from)}/${verdict.messageId}`);
        // coap sends CON only when its answer misses the 50 ms piggyback window; it needs the ACK. Never an RST (RFC 7252 §4.2: not answered).
        if (verdict.type === 'ACK') this.feedCoap?.(msg, from);
        return;
      case 'ANSWER':
      case 'REQUEST':
        break;
      default:
        assertNever(verdict, 'message verdict');
    }
    const message = verdict.message;
    const key = `${peer(from)}/${message.messageId}`;
    if (this.checkReuse) this.checkMessageId(peer(from), message.messageId, Buffer.from(message.token).toString('hex'));
    const seen = this.seen.get(key);
    if (seen !== undefined) {
      this.stats.duplicates += 1;
      this.onDuplicate(seen, msg, from);
      return;
    }
    if (verdict.kind === 'ANSWER') {
      this.onRejectedRequest(verdict, from, key);
      return;
    }
    let packet: ParsedPacket;
    try {
      packet = parseCoap(msg);
    } catch (err) {
      // Well-formed by RFC 7252 §3 (parseCoapMessage) yet refused by coap-packet: nothing the coap server could answer.
      this.stats.malformedDatagrams += 1;
      this.logger.warn({ from: peer(from), octets: msg.length, err: String(err) }, 'request coap-packet cannot read: ignored');
      if (message.type === 'CON') this.send(resetBytes(message.messageId), from);
      return;
    }
    this.onNewRequest(packet, { ...verdict.view, uriQuery: uriQueryOf(message) }, msg, from, key);
  }

  /** A request the message-layer checks answered (4.02, 4.06, 4.12, 4.13, 5.05): answered here, the registry untouched, copies get the same bytes. */
  private onRejectedRequest(verdict: Extract<MessageVerdict, { kind: 'ANSWER' }>, from: RemoteInfo, key: string): void {
    this.stats.requests += 1;
    this.stats.messagesRejected += 1;
    this.forgetOld();
    const { message } = verdict;
    const bytes = errorResponseBytes(message, verdict.code, verdict.payload, verdict.size1, this.allocateMessageId());
    this.seen.set(key, { at: Date.now(), mode: 'resend', bytes });
    this.send(bytes, from);
    this.logger.info({ from: peer(from), messageId: message.messageId, answer: coapCodeText(verdict.code), diagnostic: verdict.detail }, 'request');
  }

  private onNewRequest(packet: ParsedPacket, view: RequestView, msg: Buffer, from: RemoteInfo, key: string): void {
    this.stats.requests += 1;
    this.forgetOld();
    const now = Date.now();
    const target = classifyRequest(view);
    const fault = target.kind === 'msgin5g' || target.kind === 'message' ? this.faults.take(target.request.messageType) : undefined;
    if (fault !== undefined) this.stats.faultsApplied += 1;
    const plan: Plan = { from: peer(from), messageId: packet.messageId, target, fault };

    // coap 1.5.0 mishandles FETCH and Observe (replies to 127.0.0.1, or opens a stream): answer here.
    if (fault === undefined && (packet.code === '0.05' || hasObserve(packet))) {
      const reply = replyFor(target, undefined, this.state)!;
      const bytes = responseBytes(packet, reply, packet.confirmable ? undefined : this.allocateMessageId());
      this.seen.set(key, { at: now, mode: 'resend', bytes });
      this.send(bytes, from);
      this.logRequest(plan, reply.code);
      return;
    }
    if (fault === undefined) {
      this.toCoap(key, now, plan, msg, from);
      return;
    }
    switch (fault.kind) {
      case 'fail':
      case 'code':
      case 'empty':
      case 'badjson':
      case 'noresult':
        this.toCoap(key, now, plan, msg, from);
        return;
      case 'drop':
        this.seen.set(key, { at: now, mode: 'drop' });
        this.logRequest(plan, 'none (drop)');
        return;
      case 'lost':
        replyFor(plan.target, plan.fault, this.state);
        this.seen.set(key, { at: now, mode: 'drop' });
        this.logRequest(plan, 'none (lost after the operation)');
        return;
      case 'rst': {
        const bytes = resetBytes(packet.messageId);
        this.seen.set(key, { at: now, mode: 'resend', bytes });
        this.send(bytes, from);
        this.logRequest(plan, 'RST');
        return;
      }
      case 'delay': {
        const entry: Seen = { at: now, mode: 'absorb' };
        this.seen.set(key, entry);
        this.later(fault.ms, () => {
          entry.mode = 'coap';
          this.plans.set(key, plan);
          this.feedCoap?.(msg, from);
        });
        return;
      }
      case 'separate': {
        if (packet.confirmable) {
          const bytes = emptyAckBytes(packet.messageId);
          this.seen.set(key, { at: now, mode: 'resend', bytes });
          this.send(bytes, from);
        } else {
          this.seen.set(key, { at: now, mode: 'absorb' });
        }
        this.later(fault.ms, () => this.sendSeparate(packet, plan, from));
        return;
      }
      default:
        assertNever(fault, 'fault');
    }
  }

  /** Hands a new request to the coap server, which answers it piggybacked (and replays that answer to copies). */
  private toCoap(key: string, now: number, plan: Plan, msg: Buffer, from: RemoteInfo): void {
    this.seen.set(key, { at: now, mode: 'coap' });
    this.plans.set(key, plan);
    this.feedCoap?.(msg, from);
  }

  private onDuplicate(seen: Seen, msg: Buffer, from: RemoteInfo): void {
    switch (seen.mode) {
      case 'drop':
      case 'absorb':
        return;
      case 'resend':
        this.send(seen.bytes, from);
        return;
      case 'coap':
        this.feedCoap?.(msg, from); // coap replays its cached answer
        return;
      default:
        assertNever(seen, 'seen mode');
    }
  }

  /** The coap server's request handler: answers with the reply the dispatcher planned. */
  private onCoapRequest(req: IncomingMessage, res: OutgoingMessage): void {
    const key = `${peer(req.rsinfo)}/${String(req._packet.messageId)}`;
    const plan = this.plans.get(key);
    this.plans.delete(key);
    // Without a plan coap lost its cached answer for a copy; answering again could apply the operation twice.
    const reply: ServerReply = (plan === undefined ? undefined : replyFor(plan.target, plan.fault, this.state)) ?? {
      code: '5.00',
    };
    res.code = reply.code;
    if (reply.contentFormat !== undefined) res.setOption('Content-Format', reply.contentFormat);
    if (reply.maxAge !== undefined) res.setOption('Max-Age', reply.maxAge);
    res.on('error', (err: unknown) => this.logger.warn({ err: String(err) }, 'could not send an answer'));
    res.end(reply.payload);
    if (plan !== undefined) this.logRequest(plan, reply.code);
  }

  private sendSeparate(request: ParsedPacket, plan: Plan, to: RemoteInfo): void {
    const reply = replyFor(plan.target, plan.fault, this.state)!;
    const messageId = this.allocateMessageId();
    const bytes = responseBytes(request, reply, messageId);
    this.stats.separateResponsesSent += 1;
    this.send(bytes, to);
    this.logRequest(plan, `${reply.code} (separate)`);
    if (!request.confirmable) return;
    // Retransmit the CON until ACKed: ACK_TIMEOUT × [1, ACK_RANDOM_FACTOR], doubling, MAX_RETRANSMIT times (RFC 7252 §4.2).
    const pending: PendingCon = {
      bytes,
      to,
      attempts: 0,
      timeoutMs: coapParameters.ackTimeout * 1000 * (1 + (coapParameters.ackRandomFactor - 1) * Math.random()),
    };
    const conKey = `${peer(to)}/${messageId}`;
    const arm = (): void => {
      pending.timer = setTimeout(() => {
        if (pending.attempts >= coapParameters.maxRetransmit) {
          this.pendingCons.delete(conKey);
          this.stats.separateResponsesUnacked += 1;
          this.logger.warn({ to: peer(to), messageId }, 'separate response never ACKed');
          return;
        }
        pending.attempts += 1;
        pending.timeoutMs *= 2;
        this.send(bytes, to);
        arm();
      }, pending.timeoutMs);
    };
    this.pendingCons.set(conKey, pending);
    arm();
  }

  private onAckOrReset(type: 'ACK' | 'RST', key: string): void {
    if (type === 'RST') this.stats.resetsReceived += 1;
    else this.stats.emptyAcksReceived += 1;
    const pending = this.pendingCons.get(key);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.pendingCons.delete(key);
    if (type === 'ACK') this.stats.separateResponsesAcked += 1;
  }

  private send(bytes: Buffer, to: RemoteInfo): void {
    const socket = this.socket;
    if (socket === undefined || this.stopping !== undefined) return;
    socket.send(bytes, to.port, to.address, (err) => {
      if (err) this.logger.warn({ to: peer(to), err: String(err) }, 'send failed');
    });
  }

  private later(ms: number, run: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.stopping === undefined) run();
    }, ms);
    this.timers.add(t);
  }

  /** Check mode: counts a request that reuses (peer, Message ID) with another token within EXCHANGE_LIFETIME. */
  private checkMessageId(from: string, id: number, token: string): void {
    const now = Date.now();
    let mids = this.midsByPeer.get(from);
    if (mids === undefined) {
      // 512 KiB a peer: forget the peers quiet for EXCHANGE_LIFETIME (none of their IDs can be reused
      // within it any more), so clients opening a new socket per request do not grow this for ever.
      if (this.midsByPeer.size >= 64) {
        for (const [peer, m] of this.midsByPeer) if (now - m.lastAt >= EXCHANGE_MEMORY_MS) this.midsByPeer.delete(peer);
      }
      mids = { at: new Float64Array(0x10000).fill(Number.NEGATIVE_INFINITY), token: new Array<string | undefined>(0x10000), lastAt: now };
      this.midsByPeer.set(from, mids);
      this.stats.peersChecked = this.midsByPeer.size;
    }
    mids.lastAt = now;
    const previous = mids.token[id];
    const sinceMs = now - (mids.at[id] as number);
    if (previous !== undefined && sinceMs < EXCHANGE_MEMORY_MS) {
      if (previous === token) return; // a retransmission: same exchange
      this.stats.messageIdReuses += 1;
      if (this.stats.messageIdReuses <= REUSE_WARNINGS_LOGGED) {
        this.logger.warn({ from, messageId: id, sinceMs, reuses: this.stats.messageIdReuses }, 'Message ID reused within EXCHANGE_LIFETIME (RFC 7252 §4.4)');
      }
    }
    mids.at[id] = now;
    mids.token[id] = token;
  }

  private allocateMessageId(): number {
    this.nextMessageId = (this.nextMessageId + 1) & 0xffff;
    return this.nextMessageId;
  }

  /** Forgets requests older than EXCHANGE_LIFETIME, and the oldest beyond MAX_REMEMBERED. */
  private forgetOld(): void {
    const horizon = Date.now() - EXCHANGE_MEMORY_MS;
    for (const [key, s] of this.seen) {
      if (s.at >= horizon && this.seen.size < MAX_REMEMBERED) break;
      this.seen.delete(key);
      this.plans.delete(key);
    }
  }

  private logRequest(plan: Plan, answer: string): void {
    const fields: Record<string, unknown> = { from: plan.from, messageId: plan.messageId, answer };
    switch (plan.target.kind) {
      case 'msgin5g': {
        const r = plan.target.request;
        fields['messageType'] = r.messageType;
        fields['ueServiceId'] = r.ueServiceId;
        if (r.gatewayUeServiceId !== undefined) fields['gatewayUeServiceId'] = r.gatewayUeServiceId;
        if (r.applicationId !== undefined) fields['applicationId'] = r.applicationId;
        if (plan.target.notifyUri !== undefined) fields['notifyUri'] = plan.target.notifyUri;
        break;
      }
      case 'message': {
        const r = plan.target.request;
        fields['messageType'] = r.messageType;
        fields['oriAddr'] = r.originatorAddress;
        fields['destAddr'] = r.targetAddress;
        fields['msgId'] = r.messageId;
        if (r.gatewayUeServiceId !== undefined) fields['gatewayUeServiceId'] = r.gatewayUeServiceId;
        break;
      }
      case 'messages':
        fields['resource'] = 'messages';
        if (plan.target.since !== undefined) fields['since'] = plan.target.since;
        break;
      case 'registry':
        fields['resource'] = 'registry';
        break;
      case 'reject':
        fields['diagnostic'] = plan.target.diagnostic;
        break;
      default:
        assertNever(plan.target, 'request target');
    }
    if (plan.fault !== undefined) fields['fault'] = formatFault(plan.fault);
    this.logger.info(fields, 'request');
  }
}

/** The Uri-Query options of a request, in order (RFC 7252 §5.10.1), read here so the message-layer verdict need not carry them. */
function uriQueryOf(message: CoapMessage): string[] {
  return message.options.filter((o) => o.number === COAP_OPTION.URI_QUERY).map((o) => Buffer.from(o.value).toString('utf8'));
}

function peer(r: { address: string; port: number }): string {
  return r.address.includes(':') ? `[${r.address}]:${r.port}` : `${r.address}:${r.port}`;
}

function newStats(): ReferenceServerStats {
  return {
    requests: 0,
    duplicates: 0,
    faultsApplied: 0,
    separateResponsesSent: 0,
    separateResponsesAcked: 0,
    separateResponsesUnacked: 0,
    emptyAcksReceived: 0,
    resetsReceived: 0,
    malformedDatagrams: 0,
    messagesRejected: 0,
    messageIdReuses: 0,
    peersChecked: 0,
  };
}
