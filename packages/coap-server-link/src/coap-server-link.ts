/**
 * `CoapServerLink`: the `ServerLink` port over CoAP with npm `coap` 1.5.0 — MSGin5G-1 from the
 * Gateway UE to the MSGin5G Server (TS 24.538 §6.1, §7.1; docs/wire-formats.md §4).
 *
 * Contract (ports/server-link.ts): each `register`/`deregister`/`sendMessage`/`sendReport` is ONE
 * confirmable POST to the configured URI, Content-Format 50 (application/json), body from
 * `encodeMsgin5g1Request` (REG, DEREG; the gateway's own REG with `notifyUri` when given) or
 * `encodeMsgin5g1MessageRequest` (MSG, IMDN, docs/wire-formats.md §5.4). It resolves with the
 * outcome read by `interpretServerAnswer` / `interpretMessageAnswer` / `interpretReportAnswer`
 * (the docs/wire-formats.md §4 table and its §5.4 rows) and never rejects for anything the network
 * or the server does; after `close()` it rejects with `ServerLinkError('CLOSED')`. A bad URI or deadline throws `ServerLinkError('CONFIG')` from the
 * constructor.
 *
 * Deadline. Each exchange has the gateway's OWN deadline (`deadlineMs`, default 30 s). CoAP
 * retransmission (RFC 7252 §4.2: first after 2..3 s, then doubling) runs inside it with coap's
 * default timing, so a 30 s deadline covers the first transmission and 3 retransmissions. When the
 * deadline passes, the exchange resolves SERVER_UNREACHABLE, retransmission stops, and the request
 * stays matched for `lateWindowMs` more so that a late answer is recognised, ACKed by coap if it
 * is a CON, and logged as dropped — it never reaches a caller. After that window the request is
 * forgotten and coap answers any later copy with RST (RFC 7252 §4.2).
 * Rejected alternatives: relying on coap's own give-up, which fires only after EXCHANGE_LIFETIME
 * (247 s, dominated by MAX_LATENCY); and shrinking coap's timing with `coap.updateTiming`, which is
 * global to the process (it would also change the gateway's CoAP device link) and still could not
 * express "30 s" without distorting retransmission.
 *
 * Sockets. The link binds `upstreamSockets` UDP sockets of its own (IPv4 or IPv6 after the server's
 * host, ephemeral ports), each given to a private `coap.Agent`, so every source port is stable for
 * the life of the link (an agent's own socket is closed when idle and reopened on another port) and
 * `close()` can release them: coap's `Agent({ socket }).close(cb)` never calls `cb`, so the link
 * aborts its requests in the agents and closes the sockets itself.
 *
 * Pacing (RFC 7252 §4.4). A Message ID must not be reused toward the same server endpoint within
 * EXCHANGE_LIFETIME (247 s); coap's agent just wraps a 16-bit counter, so above ~265 requests/s a
 * single socket would reuse IDs within seconds and a strict server would replay stale answers.
 * Each socket therefore spends its IDs through a {@link MessageIdBudget} (65 536 per 247 s), the
 * link sends on the next socket (round robin) whose budget allows, and when none does, the
 * exchange waits in a FIFO queue until the oldest ID of some socket expires. The queue is bounded
 * (`maxQueued`): an exchange that finds it full resolves at once SERVER_UNREACHABLE with cause
 * "upstream Message ID budget exhausted", and a queued exchange whose deadline passes resolves as
 * a timeout. Both stay inside the `ServerLink` contract (never a rejection), so the core needs no
 * new outcome; the device sees SERVER_UNREACHABLE and retries later.
 * Rejected alternatives: a new outcome the core would map to CONGESTION (changes the port and the
 * state machine for a condition that, with 8 sockets, needs > 2 000 requests/s sustained for four
 * minutes), and more sockets opened on demand (the server's view of the gateway, its endpoints,
 * would then grow without bound).
 *
 * coap 1.5.0 behaviour this relies on (checked against its source):
 * - an RST to the request surfaces as a `response` whose code is `0.00` (it is never a success;
 *   `0.00` is classified as RST), and coap leaves the request's token in `_tkToReq`, removed here;
 * - a separate response (empty ACK, then a CON 2.04) is ACKed by the agent and surfaces as a
 *   normal `response`;
 * - `agent._nextMessageId()` is called exactly once per new non-blockwise request, synchronously
 *   inside `req.end()`, to pick its Message ID (block-wise transfers would call it again; our bodies
 *   are far below a block). The link replaces that method on each of its agents by one that spends
 *   the socket's budget, so the ID on the wire is the one the budget accounted for;
 * - `generate` (coap-packet) refuses messages over 1,280 octets, so the link lets coap build the
 *   message without a payload and appends marker and body to the bytes coap hands `req.sender.send`
 *   (its RetrySend keeps exactly those bytes for every retransmission). One datagram of up to
 *   ~4.1 kB, as the strict peers of this repository accept; no Block1 (RFC 7959), which coap would
 *   only use when asked and whose 2.31 exchanges would cost a Message ID per block;
 * - a send failure surfaces as `error` on the request; coap's own give-up as `error` then
 *   `timeout`. Every one of these has a listener for the whole life of the request, because an
 *   `error` without a listener kills the process. `agent.abort(req)` is called at most once per
 *   request and only before a `response` (both run coap's request-count bookkeeping; doing it twice
 *   would let coap reset the retransmission timers of unrelated requests).
 */
import { createSocket, type Socket } from 'node:dgram';
import { Agent, type IncomingMessage, type OutgoingMessage } from 'coap';
import {
  assertNever,
  debugEnabled,
  ServerLinkError,
  silentLogger,
  type Logger,
  type MessageExchangeEnd,
  type MessageOperation,
  type MessageOutcome,
  type ServerExchangeEnd,
  type ServerExchangeStats,
  type ServerLink,
  type ServerMessageRequest,
  type ServerOutcome,
  type ServerReportRequest,
  type ServerRequest,
} from '@msgin5g/core';
import {
  COAP_CONTENT_FORMAT_JSON,
  encodeMsgin5g1MessageRequest,
  encodeMsgin5g1Request,
  interpretMessageAnswer,
  interpretReportAnswer,
  interpretServerAnswer,
  MAX_JSON_BODY_OCTETS,
  MSGIN5G1_MAX_MESSAGE_PAYLOAD_OCTETS,
  type ServerOperation,
} from '@msgin5g/protocol';
import { EXCHANGE_LIFETIME_MS, MESSAGE_ID_SPACE, MessageIdBudget } from './message-id-budget';
import { TokenSource } from './token-source';
import { parseServerUri, type ServerUri } from './server-uri';

/** Options of {@link CoapServerLink}. */
export interface CoapServerLinkOptions {
  /** MSGin5G Server resource, `coap://host[:port]/path`, e.g. `coap://127.0.0.1:5683/msgin5g` or `coap://[::1]:5683/msgin5g`. */
  readonly uri: string;
  /** The gateway's deadline per exchange, ms, 1..2^31-1. Default 30 000. */
  readonly deadlineMs?: number;
  /** How long after its deadline an exchange still recognises (and drops) a late answer, ms. Default: `deadlineMs`. */
  readonly lateWindowMs?: number;
  /** Upstream UDP sockets (source ports), each with its own Message ID budget, 1..64. Default 1. */
  readonly upstreamSockets?: number;
  /** Most exchanges waiting for a Message ID; beyond it an exchange resolves SERVER_UNREACHABLE at once. 0..2^31-1, default 16 384. */
  readonly maxQueued?: number;
  /** How long a Message ID stays unusable after it was spent, ms. Default EXCHANGE_LIFETIME, 247 000 (RFC 7252 §4.8.2); smaller only in tests. */
  readonly exchangeLifetimeMs?: number;
  /** Distinct Message IDs each socket cycles through, 1..65 536. Default 65 536; smaller only in tests. */
  readonly messageIdsPerSocket?: number;
  readonly logger?: Logger;
}

/** Pacing counters since the link was built. */
export interface CoapServerLinkStats {
  /** Exchanges sent, per socket (index order), and their source ports (0 until bound). */
  readonly sentPerSocket: readonly number[];
  readonly localPorts: readonly number[];
  /** Exchanges that had to wait for a Message ID. */
  readonly queued: number;
  /** Exchanges refused because the queue was full. */
  readonly queueFull: number;
  /** Exchanges waiting now. */
  readonly waiting: number;
  /** Message IDs coap took while its socket's budget was spent (must be 0). */
  readonly forcedReuse: number;
}

/** Most upstream sockets a link opens. */
export const MAX_UPSTREAM_SOCKETS = 64;
/** Default bound of the queue of exchanges waiting for a Message ID. */
export const DEFAULT_MAX_QUEUED = 16_384;

/** Default deadline per exchange, ms (docs/architecture.md "Deadlines"). */
export const DEFAULT_SERVER_DEADLINE_MS = 30_000;
/** RFC 7252 §3: the octet before a payload. */
const PAYLOAD_MARKER = Buffer.from([0xff]);
/** Largest timer delay Node accepts, ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Every MSGin5G-1 operation the link performs. */
type Operation = ServerOperation | MessageOperation;
/** What an exchange resolves with: a `MSG` a {@link MessageOutcome}, the others a {@link ServerOutcome}. */
type Outcome = ServerOutcome | MessageOutcome;
/** How an exchange ended, for {@link CoapServerLink.exchangeStats}. */
type End = ServerExchangeEnd | MessageExchangeEnd;
/**
 * Reads what ended an exchange into its outcome: `code` is a response code `c.dd`, or `RST`,
 * `TIMEOUT`, `NETWORK_ERROR` (interpret-server-answer.ts).
 */
type AnswerReader = (code: string, payload: Buffer | undefined) => Outcome;

/** The ends each operation can have, in the order `exchangeStats` lists them. */
const ENDS: Readonly<Record<Operation, readonly End[]>> = {
  REG: ['SUCCESS', 'SERVER_REJECTED', 'SERVER_UNREACHABLE', 'GATEWAY_NOT_REGISTERED', 'CLOSED'],
  DEREG: ['SUCCESS', 'SERVER_REJECTED', 'SERVER_UNREACHABLE', 'GATEWAY_NOT_REGISTERED', 'CLOSED'],
  MSG: ['ACCEPTED', 'SERVER_REJECTED', 'SERVER_UNREACHABLE', 'GATEWAY_NOT_REGISTERED', 'RECIPIENT_UNKNOWN', 'PAYLOAD_TOO_LARGE', 'CLOSED'],
  IMDN: ['SUCCESS', 'SERVER_REJECTED', 'SERVER_UNREACHABLE', 'GATEWAY_NOT_REGISTERED', 'CLOSED'],
};

function endOf(outcome: Outcome): End {
  return outcome.kind === 'FAILURE' ? outcome.reason : outcome.kind;
}

/** What ended (or failed to end) an exchange, in the driver's terms, before classification. */
type DriverEvent =
  | { readonly kind: 'response'; readonly code: string; readonly payload: Buffer | undefined }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'deadline' };

/** One upstream socket: its agent and its Message ID budget. */
interface Upstream {
  readonly socket: Socket;
  readonly agent: Agent;
  readonly budget: MessageIdBudget;
  readonly bound: Promise<void>;
  sent: number;
}

/** One exchange. `PENDING` until an outcome is resolved (`req` unset while it waits for a Message ID); `LATE` after its deadline, while a late answer is still recognised. */
interface Exchange {
  readonly operation: Operation;
  readonly body: Buffer;
  readonly read: AnswerReader;
  upstream?: Upstream;
  /** Who the exchange is for, in logs: the UE Service ID (REG/DEREG) or the originator (MSG/IMDN). */
  readonly ueServiceId: string;
  readonly startedAt: number;
  readonly resolve: (outcome: Outcome) => void;
  readonly reject: (err: ServerLinkError) => void;
  req?: OutgoingMessage;
  state: 'PENDING' | 'LATE' | 'DONE';
  /** coap delivered a `response` (so its bookkeeping for this request is already done). */
  answered: boolean;
  /** The request was aborted in the agent. */
  aborted: boolean;
  /** Times coap put the request on the wire (its RetrySend `sending` events): 1 + retransmissions. */
  transmissions: number;
  timer?: NodeJS.Timeout;
}

/**
 * `ServerLink` over CoAP. One instance per server URI; safe for any number of concurrent exchanges
 * (each has its own token and Message ID).
 *
 * @see TS 24.538 §6.1, §7.1; RFC 7252 §4.2 (CON/ACK/RST), §5.2.2 (separate response), §6.4 (URI)
 */
export class CoapServerLink implements ServerLink {
  readonly endpoint: string;
  private readonly target: ServerUri;
  private readonly deadlineMs: number;
  private readonly lateWindowMs: number;
  private readonly logger: Logger;
  /** The logger writes debug lines (read once: the per-exchange debug lines cost nothing at info). */
  private readonly debug: boolean;
  private readonly upstreams: Upstream[] = [];
  private readonly bound: Promise<void>;
  private readonly exchanges = new Set<Exchange>();
  private readonly tokens = new TokenSource();
  /** Exchanges waiting for a Message ID, oldest first. */
  private readonly waiting = new Set<Exchange>();
  private readonly maxQueued: number;
  private nextUpstream = 0;
  private wakeTimer?: NodeJS.Timeout;
  private queuedCount = 0;
  private queueFullCount = 0;
  /** Exchanges ended, per operation and end (see {@link exchangeStats}); every (operation, end) of {@link ENDS} present. */
  private readonly ended = new Map<Operation, Map<End, number>>(
    (Object.keys(ENDS) as Operation[]).map((operation) => [operation, new Map(ENDS[operation].map((end) => [end, 0]))]),
  );
  private retransmissions = 0;
  private closing?: Promise<void>;

  /** @throws ServerLinkError `CONFIG` for a bad URI (see {@link parseServerUri}), deadline, late window or pacing option. */
  constructor(options: CoapServerLinkOptions) {
    this.target = parseServerUri(options.uri);
    this.endpoint = this.target.endpoint;
    this.deadlineMs = checkMs('deadlineMs', options.deadlineMs ?? DEFAULT_SERVER_DEADLINE_MS, 1);
    this.lateWindowMs = checkMs('lateWindowMs', options.lateWindowMs ?? this.deadlineMs, 0);
    this.logger = options.logger ?? silentLogger;
    this.debug = debugEnabled(this.logger);
    const sockets = checkInt('upstreamSockets', options.upstreamSockets ?? 1, 1, MAX_UPSTREAM_SOCKETS);
    this.maxQueued = checkInt('maxQueued', options.maxQueued ?? DEFAULT_MAX_QUEUED, 0, MAX_TIMER_MS);
    const lifetimeMs = checkMs('exchangeLifetimeMs', options.exchangeLifetimeMs ?? EXCHANGE_LIFETIME_MS, 1);
    const idsPerSocket = checkInt('messageIdsPerSocket', options.messageIdsPerSocket ?? MESSAGE_ID_SPACE, 1, MESSAGE_ID_SPACE);

    for (let i = 0; i < sockets; i++) this.upstreams.push(this.openUpstream(new MessageIdBudget(lifetimeMs, idsPerSocket)));
    this.bound = Promise.all(this.upstreams.map((u) => u.bound)).then(() => undefined);
    this.bound.catch(() => undefined); // reported per exchange
  }

  /** Pacing counters (see {@link CoapServerLinkStats}). */
  get stats(): CoapServerLinkStats {
    return {
      sentPerSocket: this.upstreams.map((u) => u.sent),
      localPorts: this.upstreams.map((u) => localPort(u.socket)),
      queued: this.queuedCount,
      queueFull: this.queueFullCount,
      waiting: this.waiting.size,
      forcedReuse: this.upstreams.reduce((n, u) => n + u.budget.forced, 0),
    };
  }

  /**
   * `ServerLink.exchangeStats`: exchanges ended per operation and end (success, the failure reason,
   * or cut by `close()`), and retransmissions of the CONs (coap's RetrySend put a request on the
   * wire again after ACK_TIMEOUT, RFC 7252 §4.2). Counted as they happen (an increment each);
   * read at scrape time.
   */
  exchangeStats(): ServerExchangeStats {
    const exchanges: Array<ServerExchangeStats['exchanges'][number]> = [];
    for (const [operation, ends] of this.ended) {
      for (const [end, count] of ends) {
        if (count > 0) exchanges.push({ operation, end, count });
      }
    }
    return { exchanges, retransmissions: this.retransmissions };
  }

  private openUpstream(budget: MessageIdBudget): Upstream {
    const socket = createSocket({ type: this.target.family === 6 ? 'udp6' : 'udp4' });
    const bound = new Promise<void>((resolve, reject) => {
      socket.once('listening', () => {
        // coap 1.5.0's agent calls socket.address() (a getsockname system call) for every datagram
        // it receives, only to pass it along; the address of a bound socket never changes, so it is
        // read once (the calls were ~1 % of the gateway's CPU under the W2 benchmark).
        const address = socket.address();
        socket.address = () => address;
        resolve();
      });
      socket.once('error', reject);
    });
    bound.catch(() => undefined);
    socket.on('error', (err) => this.logger.error({ endpoint: this.endpoint, err: String(err) }, 'MSGin5G-1 socket error'));
    socket.bind(0);
    const agent = new Agent({ socket });
    agent.on('error', (err: unknown) => this.logger.error({ endpoint: this.endpoint, err: String(err) }, 'MSGin5G-1 CoAP agent error'));
    // coap picks the Message ID of each new request here (once, inside req.end()): spend the budget instead.
    agent._nextMessageId = () => budget.take(Date.now());
    return { socket, agent, budget, bound, sent: 0 };
  }

  /**
   * REG for the gateway itself or for a device on its behalf; the gateway's own REG carries
   * `notifyUri` when `request.notifyUri` is set (docs/adr/0013), a device's never. @see TS 24.538 §7.1
   */
  register(request: ServerRequest): Promise<ServerOutcome> {
    // notifyUri belongs in the gateway's own REG only (docs/wire-formats.md §4): a strict server refuses it in a device's.
    const { notifyUri, ...rest } = request;
    const body = encodeMsgin5g1Request({ messageType: 'REG', ...rest, ...(notifyUri !== undefined && request.gatewayUeServiceId === undefined ? { notifyUri } : {}) });
    return this.exchange('REG', Buffer.from(body), request.ueServiceId, (code, payload) => interpretServerAnswer('REG', code, payload));
  }

  /** DEREG (seed CR, TS 24.538 6.3.2.1.2); FAILURE `NOT_REGISTERED` reads as success. */
  deregister(request: ServerRequest): Promise<ServerOutcome> {
    const { notifyUri: _notifyUri, ...forDereg } = request; // notifyUri belongs in a REG only (docs/wire-formats.md §4)
    return this.exchange('DEREG', Buffer.from(encodeMsgin5g1Request({ messageType: 'DEREG', ...forDereg })), request.ueServiceId, (code, payload) => interpretServerAnswer('DEREG', code, payload));
  }

  /**
   * The largest Payload a `MSG` may carry, octets: {@link MSGIN5G1_MAX_MESSAGE_PAYLOAD_OCTETS}
   * (2,355), what fits the server's 4,096-octet body with every other member at its longest.
   */
  readonly maxMessagePayloadOctets = MSGIN5G1_MAX_MESSAGE_PAYLOAD_OCTETS;

  /**
   * One `MSG` POST (docs/wire-formats.md §5.4) on the device's behalf, through the same exchange
   * machinery as REG/DEREG (deadline, Message ID budget, retransmission). The answer is read by
   * `interpretMessageAnswer`: 2.04 `MSGRESP` DELIVERED / DELY_STORED → ACCEPTED; DELY_FAILED with
   * RECIPIENT_UNKNOWN, PAYLOAD_TOO_LARGE or GATEWAY_NOT_REGISTERED → that reason, another cause →
   * SERVER_REJECTED; 4.13 → PAYLOAD_TOO_LARGE; the rest as the §4 table. A body over the 4,096
   * octets a server accepts (addresses JSON must escape can make one) resolves PAYLOAD_TOO_LARGE
   * without an exchange. Rejects only `ServerLinkError` `CLOSED`.
   */
  sendMessage(request: ServerMessageRequest): Promise<MessageOutcome> {
    const body = Buffer.from(
      encodeMsgin5g1MessageRequest({
        messageType: 'MSG',
        originatorAddress: request.originatorAddress,
        targetAddress: request.targetAddress,
        targetType: request.targetType,
        messageId: request.messageId,
        applicationId: request.applicationId,
        deliveryStatusRequired: request.deliveryStatusRequired,
        payload: request.payload,
        gatewayUeServiceId: request.gatewayUeServiceId,
      }),
    );
    return this.exchange('MSG', body, request.originatorAddress, (code, payload) => interpretMessageAnswer(code, payload, request.messageId));
  }

  /**
   * One `IMDN` POST (§5.4): 2.04 `{"messageType":"IMDN","result":"SUCCESS"}` is SUCCESS, FAILURE
   * `GATEWAY_NOT_REGISTERED` is GATEWAY_NOT_REGISTERED, the rest as the §4 table
   * (`interpretReportAnswer`). Rejects only `ServerLinkError` `CLOSED`.
   */
  sendReport(request: ServerReportRequest): Promise<ServerOutcome> {
    const body = Buffer.from(
      encodeMsgin5g1MessageRequest({
        messageType: 'IMDN',
        originatorAddress: request.originatorAddress,
        targetAddress: request.targetAddress,
        messageId: request.messageId,
        deliveryStatus: request.deliveryStatus,
        ...(request.failureReason === undefined ? {} : { failureReason: request.failureReason }),
        gatewayUeServiceId: request.gatewayUeServiceId,
      }),
    );
    return this.exchange('IMDN', body, request.originatorAddress, (code, payload) => interpretReportAnswer(code, payload));
  }

  /**
   * Ends every exchange, stops all retransmission and closes the link's sockets. An exchange still
   * pending (sent, or queued for a Message ID) rejects with `ServerLinkError('CLOSED')`: its outcome
   * is unknown (the server may yet carry it out), so it is not a failure and the caller leaves its
   * record pending for the next start (ports/server-link.ts). Idempotent: every call returns the
   * same promise. After it, `register`/`deregister` reject with `CLOSED`.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async exchange<O extends Outcome>(operation: Operation, body: Buffer, ueServiceId: string, read: (code: string, payload: Buffer | undefined) => O): Promise<O> {
    if (this.closing !== undefined) throw new ServerLinkError('CLOSED', `server link ${this.endpoint} is closed`);
    if (body.length > MAX_JSON_BODY_OCTETS) {
      // Only a MSG can grow this large (a payload near the limit with addresses JSON must escape).
      const outcome = read('4.13', undefined);
      this.count(operation, outcome);
      this.logger.info({ endpoint: this.endpoint, operation, ueServiceId, octets: body.length }, 'MSGin5G-1 body over the server limit: not sent');
      return outcome;
    }
    try {
      await this.bound;
    } catch (err) {
      const outcome = this.classify(read, { kind: 'error', error: err }) as O;
      this.count(operation, outcome);
      return outcome;
    }
    if (this.closing !== undefined) throw new ServerLinkError('CLOSED', `server link ${this.endpoint} is closed`);

    return new Promise<O>((resolve, reject) => {
      // The exchange's reader makes every outcome it resolves with, so it is an O.
      const ex: Exchange = { operation, body, read, ueServiceId, startedAt: Date.now(), resolve: resolve as (outcome: Outcome) => void, reject, state: 'PENDING', answered: false, aborted: false, transmissions: 0 };
      this.exchanges.add(ex);
      ex.timer = setTimeout(() => this.onDeadline(ex), this.deadlineMs);
      const upstream = this.waiting.size === 0 ? this.pickUpstream(Date.now()) : undefined;
      if (upstream !== undefined) {
        this.send(ex, upstream);
      } else if (this.waiting.size >= this.maxQueued) {
        this.queueFullCount += 1;
        this.settle(ex, { kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: `upstream Message ID budget exhausted (${this.waiting.size} exchanges already waiting)` });
        this.finish(ex);
      } else {
        this.queuedCount += 1;
        this.waiting.add(ex);
        this.armWake();
      }
    });
  }

  /** The next socket, round robin, whose budget allows a Message ID at `now`. */
  private pickUpstream(now: number): Upstream | undefined {
    const n = this.upstreams.length;
    for (let k = 0; k < n; k++) {
      const u = this.upstreams[(this.nextUpstream + k) % n] as Upstream;
      if (u.budget.available(now)) {
        this.nextUpstream = (this.nextUpstream + k + 1) % n;
        return u;
      }
    }
    return undefined;
  }

  /** Sends waiting exchanges while some budget allows; re-arms the wake-up for the rest. */
  private drainWaiting(): void {
    this.wakeTimer = undefined;
    const now = Date.now();
    for (const ex of this.waiting) {
      const u = this.pickUpstream(now);
      if (u === undefined) break;
      this.waiting.delete(ex);
      this.send(ex, u);
    }
    this.armWake();
  }

  /** Wakes when the first spent Message ID of any socket expires, if anything waits. */
  private armWake(): void {
    if (this.wakeTimer !== undefined || this.waiting.size === 0 || this.closing !== undefined) return;
    const at = Math.min(...this.upstreams.map((u) => u.budget.availableAt()));
    this.wakeTimer = setTimeout(() => this.drainWaiting(), Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(at - Date.now()))));
  }

  private send(ex: Exchange, upstream: Upstream): void {
    const { operation } = ex;
    ex.upstream = upstream;
    upstream.sent += 1;
    const options: Record<string, unknown> = { 'Uri-Path': [...this.target.uriPath], 'Content-Format': COAP_CONTENT_FORMAT_JSON };
    if (this.target.uriQuery.length > 0) options['Uri-Query'] = [...this.target.uriQuery];
    const req = upstream.agent.request({
      hostname: this.target.host,
      port: this.target.port,
      method: 'POST',
      confirmable: true,
      token: this.tokens.next(),
      options: options as Parameters<Agent['request']>[0]['options'],
    });
    ex.req = req;
    // Listeners stay attached for the request's whole life: late events must be harmless.
    req.on('response', (res: IncomingMessage) => this.onResponse(ex, res));
    // coap's own give-up (after EXCHANGE_LIFETIME) is an `error` carrying `retransmitTimeout`, then `timeout`.
    req.on('error', (err: unknown) => this.onDriverEvent(ex, isCoapGiveUp(err) ? { kind: 'timeout' } : { kind: 'error', error: err }));
    req.on('timeout', () => this.onDriverEvent(ex, { kind: 'timeout' }));
    // coap's RetrySend emits `sending` for the first transmission and for every retransmission.
    req.sender.on('sending', () => {
      if (ex.transmissions++ > 0) this.retransmissions += 1;
    });
    // coap-packet's `generate` refuses a message over 1,280 octets, and a MSG body may be up to
    // 4,096 (docs/wire-formats.md §5.4): coap builds the message without a payload and the payload
    // marker and body are appended to the bytes it hands its RetrySend, which keeps them for the
    // retransmissions. Byte for byte what `generate` writes for a payload that fits.
    const body = ex.body;
    const sender = req.sender as unknown as { send(message: Buffer, avoidBackoff?: boolean): void };
    const sendWithoutPayload = sender.send.bind(sender);
    sender.send = (message, avoidBackoff) => sendWithoutPayload(Buffer.concat([message, PAYLOAD_MARKER, body]), avoidBackoff);
    if (this.debug) this.logger.debug({ endpoint: this.endpoint, operation, ueServiceId: ex.ueServiceId }, 'MSGin5G-1 request sent');
    req.end();
  }

  private onResponse(ex: Exchange, res: IncomingMessage): void {
    ex.answered = true;
    const code = res.code;
    if (code === '0.00') this.forgetResetToken(ex);
    const payload = res.payload !== undefined && res.payload.length > 0 ? res.payload : undefined;
    if (ex.state !== 'PENDING') {
      this.logger.warn(
        { endpoint: this.endpoint, operation: ex.operation, ueServiceId: ex.ueServiceId, code, afterMs: Date.now() - ex.startedAt },
        'MSGin5G-1 late answer dropped',
      );
      this.finish(ex);
      return;
    }
    this.settle(ex, this.classify(ex.read, { kind: 'response', code, payload }));
    this.finish(ex);
  }

  private onDriverEvent(ex: Exchange, event: DriverEvent): void {
    this.abortInAgent(ex);
    if (ex.state !== 'PENDING') {
      this.logger.debug({ endpoint: this.endpoint, operation: ex.operation, event: event.kind }, 'MSGin5G-1 driver event after the exchange ended');
      this.finish(ex);
      return;
    }
    this.settle(ex, this.classify(ex.read, event));
    this.finish(ex);
  }

  private onDeadline(ex: Exchange): void {
    if (ex.state !== 'PENDING') return;
    if (ex.req === undefined) {
      // Still waiting for a Message ID: nothing was sent, nothing can answer late.
      this.waiting.delete(ex);
      this.settle(ex, this.classify(ex.read, { kind: 'deadline' }));
      this.finish(ex);
      return;
    }
    this.settle(ex, this.classify(ex.read, { kind: 'deadline' }));
    ex.state = 'LATE';
    // Stop retransmitting, but keep the request matched so a late answer is recognised and dropped.
    ex.req?.sender.reset();
    ex.timer = setTimeout(() => {
      this.abortInAgent(ex);
      this.finish(ex);
    }, this.lateWindowMs);
  }

  /**
   * The one place where what coap reported becomes an outcome: an answer code (`0.00` is an RST,
   * never a success), coap's own give-up or our deadline (`TIMEOUT`), or any driver error
   * (`NETWORK_ERROR`, with its text kept in the cause).
   */
  private classify(read: AnswerReader, event: DriverEvent): Outcome {
    switch (event.kind) {
      case 'response':
        return read(event.code === '0.00' ? 'RST' : event.code, event.payload);
      case 'timeout':
      case 'deadline':
        return read('TIMEOUT', undefined);
      case 'error': {
        const outcome = read('NETWORK_ERROR', undefined);
        return outcome.kind === 'FAILURE' ? { ...outcome, cause: `${outcome.cause}: ${errorText(event.error)}` } : outcome;
      }
      default:
        return assertNever(event, 'CoAP driver event');
    }
  }

  private settle(ex: Exchange, outcome: Outcome): void {
    if (ex.state !== 'PENDING') return;
    ex.state = 'DONE';
    clearTimeout(ex.timer);
    this.count(ex.operation, outcome);
    if (outcome.kind !== 'FAILURE') {
      if (this.debug) this.logger.debug({ endpoint: this.endpoint, operation: ex.operation, ueServiceId: ex.ueServiceId, elapsedMs: Date.now() - ex.startedAt, ...(outcome.kind === 'SUCCESS' ? { note: outcome.note } : { deliveryStatus: outcome.deliveryStatus }) }, 'MSGin5G-1 success');
    } else {
      this.logger.info({ endpoint: this.endpoint, operation: ex.operation, ueServiceId: ex.ueServiceId, elapsedMs: Date.now() - ex.startedAt, reason: outcome.reason, cause: outcome.cause }, 'MSGin5G-1 failure');
    }
    ex.resolve(outcome);
  }

  private count(operation: Operation, end: Outcome | 'CLOSED'): void {
    const ends = this.ended.get(operation) as Map<End, number>;
    const key = end === 'CLOSED' ? 'CLOSED' : endOf(end);
    ends.set(key, (ends.get(key) ?? 0) + 1);
  }

  /** Forgets the exchange once coap holds nothing more for it. */
  private finish(ex: Exchange): void {
    if (ex.state === 'PENDING') return;
    clearTimeout(ex.timer);
    ex.state = 'DONE';
    this.exchanges.delete(ex);
  }

  /** Stops retransmission and drops coap's state for the request; at most once, and never after a response. */
  private abortInAgent(ex: Exchange): void {
    if (ex.req === undefined || ex.upstream === undefined || ex.answered || ex.aborted) return;
    ex.aborted = true;
    ex.upstream.agent.abort(ex.req);
  }

  /** coap 1.5.0 keeps the token of a request answered by RST (the RST has no token); drop it. */
  private forgetResetToken(ex: Exchange): void {
    const token = ex.req?._packet.token;
    if (token !== undefined) ex.upstream?.agent._tkToReq.delete(token.toString('hex'));
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.waiting.clear();
    for (const ex of [...this.exchanges]) {
      if (ex.state === 'PENDING') {
        // Not a failure: the server may still carry the request out. The caller keeps it pending.
        ex.state = 'DONE';
        clearTimeout(ex.timer);
        this.count(ex.operation, 'CLOSED');
        this.logger.info({ endpoint: this.endpoint, operation: ex.operation, ueServiceId: ex.ueServiceId }, 'MSGin5G-1 exchange cut by close(); outcome unknown');
        ex.reject(new ServerLinkError('CLOSED', 'server link closed before an answer; the outcome is unknown'));
      }
      ex.state = 'DONE';
      this.abortInAgent(ex);
      this.finish(ex);
    }
    await Promise.all(this.upstreams.map((u) => closeUpstream(u)));
  }
}

async function closeUpstream(u: Upstream): Promise<void> {
  u.agent.close(); // with our own socket this closes nothing and never calls back
  try {
    await u.bound;
  } catch {
    // never bound: nothing was sent
  }
  await new Promise<void>((resolve) => {
    try {
      u.socket.close(() => resolve());
    } catch {
      resolve(); // already closed after a socket error
    }
  });
}

function localPort(socket: Socket): number {
  try {
    return socket.address().port;
  } catch {
    return 0; // not bound yet, or closed
  }
}

function checkInt(name: string, value: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ServerLinkError('CONFIG', `${name} must be an integer ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

function checkMs(name: string, value: number, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_TIMER_MS) {
    throw new ServerLinkError('CONFIG', `${name} must be an integer ${min}..${MAX_TIMER_MS} ms, got ${String(value)}`);
  }
  return value;
}

/** coap 1.5.0's RetrySendError ("No reply in 247 seconds."), emitted when it gives up on a CON. */
function isCoapGiveUp(err: unknown): boolean {
  return err instanceof Error && typeof (err as { retransmitTimeout?: unknown }).retransmitTimeout === 'number';
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === undefined ? err.message : `${code} ${err.message}`;
  }
  return String(err);
}
