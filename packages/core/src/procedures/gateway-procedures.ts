/**
 * The registration and de-registration procedures of a Gateway MSGin5G UE (docs/architecture.md §2),
 * carried out against the ports. Implements `DeviceLinkHandler`, so device links feed it directly.
 *
 * Concurrency: every decision (look the record up, run the pure `transition`, persist, respond) runs
 * on one serial queue, so two copies of a request can never both see "absent"; decisions take
 * microseconds. Upstream POSTs run outside the queue and come back as `SERVER_ANSWERED` events.
 * Persist, then act, with group commit: inside the queue a decision *applies* its writes (the store
 * shows them to every later decision at once) and reserves its POST; its responses and its POST go
 * out only after `store.sync()` has made those writes durable, outside the queue. So all decisions
 * taken in one event-loop turn share one commit (one fsync), and no device ever hears of a state
 * that a crash could undo. Rejected: awaiting durability inside the queue (one commit per write,
 * measured as ~75% of gateway CPU under load, issue 5).
 * Rejected alternative: a lock per registration key. REG requests are keyed by device and DEREG
 * requests by Registration ID, so per-key locks need two lock spaces and a lock order; one queue
 * cannot deadlock and is not the bottleneck (the upstream round trip is).
 *
 * When the server forgets the gateway (an answer GATEWAY_NOT_REGISTERED, docs/adr/0012): the gateway
 * counts as unregistered at once, ONE recovery loop registers it again (backoff as at start-up), the
 * procedures that got that answer are held pending and POSTed again once it is registered (at most
 * once each; if the first attempt fails they are answered GATEWAY_NOT_REGISTERED), and every
 * REGISTERED record is registered again at the server on its device's behalf, paced (a resync: no
 * store state changes). Rejected: answering every such device GATEWAY_NOT_REGISTERED at once; the
 * device then retries a REG the gateway could have finished itself.
 *
 * @see TS 24.538 6.3.2.1.2 (seed CR), TS 23.554 §8.11.2 / §8.11.3
 */
import { defaultDeviceUeServiceId, type ApplicationId, type Layer2Id, type LinkId, type LinkKind, type RegistrationId, type UeServiceId } from '../ids';
import type { DeviceRequest, DeviceResponse, FailureReason, RegistrationRequest, DeregistrationRequest } from '../messages';
import { LIFETIME_S_MAX, LIFETIME_S_MIN, assertNever, failureResponse, isLifetimeS } from '../messages';
import type { Clock } from '../ports/clock';
import type { DeviceAuthorizer } from '../ports/device-authorizer';
import type { DeviceDeliveryMessage } from '../delivery-messages';
import type { DeviceLink, DeviceLinkHandler, DeviceProtocolError } from '../ports/device-link';
import type { MessageStore } from '../ports/message-store';
import type { ServerDelivery, ServerDeliveryVerdict, ServerInboxHandler } from '../ports/server-inbox';
import { InMemoryMessageStore } from '../in-memory-message-store';
import { NOOP_GATEWAY_OBSERVER, type GatewayObserver } from '../ports/gateway-observer';
import { debugEnabled, type Logger } from '../ports/logger';
import type { RegistrationIdAllocator } from '../ports/registration-id-allocator';
import { RegistrationStoreError, type RegistrationStore } from '../ports/registration-store';
import type { ServerLink, ServerOutcome, ServerRequest } from '../ports/server-link';
import type { GatewayDeregistrationCause, Registration } from '../registration';
import { DEFAULT_MACHINE_POLICY, machineStateOf, transition, type Command, type MachineEvent, type MachinePolicy, type MachineState, type Transition, type UpstreamOperation } from '../state-machine';
import { ExpiryScheduler, type ExpirySchedulerOptions } from './expiry-scheduler';
import { MessageRelay, type MessageCounters, type MessageRelayOptions } from './message-relay';
import { RateLimitedLog } from './rate-limited-log';
import { SerialQueue } from './serial-queue';
import { TokenBuckets } from './token-buckets';

export interface GatewayProceduresDeps {
  readonly store: RegistrationStore;
  /**
   * Uplink dedup records, downlink queues and the report outbox (docs/wire-formats.md §5.3), made
   * durable by `store.sync()`: it must share the registration store's durability (the SQLite
   * adapter's message store over the same database). Default: an {@link InMemoryMessageStore}
   * (tests, and callers written before messages; nothing survives a restart).
   */
  readonly messages?: MessageStore;
  readonly server: ServerLink;
  /**
   * The device link instances answers leave through, each with the id the store records. A bare
   * `DeviceLink` is the instance named by its kind (`udp`). Ids must be unique.
   */
  readonly links: ReadonlyArray<DeviceLink | LinkInstance>;
  readonly clock: Clock;
  readonly allocator: RegistrationIdAllocator;
  readonly authorizer: DeviceAuthorizer;
  readonly logger: Logger;
  /** Told of lifecycle events, for metrics; default {@link NOOP_GATEWAY_OBSERVER}. */
  readonly observer?: GatewayObserver;
}

/** A running device link and the instance id its requests are tagged with (docs/architecture.md §4). */
export interface LinkInstance {
  readonly id: LinkId;
  readonly link: DeviceLink;
}

export interface GatewayProceduresOptions {
  /** The Gateway UE's own UE Service ID (TS 23.554 §8.2.1). */
  readonly gatewayUeServiceId: UeServiceId;
  readonly policy?: Partial<MachinePolicy>;
  /** Most live registrations; above it REG gets CONGESTION. Default 1 000 000. */
  readonly maxRegistrations?: number;
  /** Most upstream procedures in flight; above it requests get CONGESTION. Default 4096. */
  readonly maxInFlight?: number;
  /**
   * Requests per second each source Layer-2 ID may send (token bucket), and the burst it may send
   * at once; above it the request gets CONGESTION. Defaults 20 and 40.
   */
  readonly requestsPerSecondPerDevice?: number;
  readonly burstPerDevice?: number;
  /**
   * When the server has answered but its outcome cannot be committed (store `BUSY`/`IO`), the
   * outcome is applied again after each of these delays (ms) before the record is left pending for
   * the device's retry or the next start. Default 100, 200, 400, 800, 1600 (about 3 s in all).
   */
  readonly answerRetryDelaysMs?: readonly number[];
  /**
   * The wait after failed attempt `attempt` (1, 2, …) when the gateway registers itself again after
   * the server forgot it, ms. Default {@link defaultReregisterDelayMs} (2 000 doubled per attempt, at
   * most 30 000); the gateway app passes its start-up backoff (`registerRetryMs`, `registerRetryMaxMs`).
   */
  readonly reregisterDelayMs?: (attempt: number) => number;
  /** Resync after the gateway registered itself again: REG POSTs for REGISTERED devices in flight at once. Default 16. */
  readonly resyncInFlight?: number;
  /** Resync: REG POSTs started per second (within the upstream Message ID budget, RFC 7252 §4.4). Default 100. */
  readonly resyncPerSecond?: number;
  /**
   * Registration lifetime, s (docs/adr/0011-registration-lifetime.md): granted to a device whose
   * authorization entry names none, and the most such a device may ask for. Default
   * {@link DEFAULT_REGISTRATION_LIFETIME_S}.
   */
  readonly registrationLifetimeS?: number;
  /** Pace and batching of the expiry scheduler (started by {@link GatewayProcedures.startExpiry}). */
  readonly expiry?: ExpirySchedulerOptions;
  /** Message relay settings (docs/wire-formats.md §5.3): queue bounds, resend schedule, outbox backoff. */
  readonly messages?: MessageRelayOptions;
  /**
   * Where the MSGin5G Server delivers messages for the devices behind the gateway (the
   * `ServerInbox`'s `notifyUri`, docs/adr/0013), sent in the gateway's own REG, at start and on every
   * re-registration after the server forgot the gateway. Absent: the REG carries none. A function is
   * read at each REG: the inbox knows its URI only after `start(handler)`, and its handler is these
   * procedures (`notifyUri: () => inbox.notifyUri`).
   */
  readonly notifyUri?: string | (() => string | undefined);
}

/** Default lifetime of a registration, s: 86 400 (one day, Eclipse Leshan's default). */
export const DEFAULT_REGISTRATION_LIFETIME_S = 86_400;

/**
 * Outcome of {@link GatewayProcedures.endRegistration}, one `kind` per case:
 * - `DEREGISTERED`: the server answered the DEREG (success, or "not registered": the end state
 *   holds); the mapping is removed and a tombstone kept. `registration` is the removed record.
 * - `UNKNOWN_REGISTRATION_ID`: no live record has this Registration ID.
 * - `BUSY`: a procedure for it is pending (REGISTERING, or a DEREGISTERING started by the device or
 *   by an earlier end); nothing done. `registration` is the record as found.
 * - `NOT_DUE` (cause `EXPIRED` only): the record's `expiresAt` is still ahead (it was refreshed); nothing done.
 * - `FAILED`: the gateway could not de-register it and the mapping stays REGISTERED (as for a
 *   device's failed DEREG, docs/adr/0003). `reason` SERVER_REJECTED / SERVER_UNREACHABLE: the server
 *   refused or did not answer; GATEWAY_NOT_REGISTERED: the gateway itself is not registered, nothing
 *   was sent; CONGESTION: the gateway is draining, nothing was sent; UNSPECIFIED: the DEREGISTERING
 *   state could not be committed (a store error, logged), so it was undone and nothing was sent.
 * - `UNFINISHED`: the exchange did not end (the server link closed at shutdown, or the answer could
 *   not be committed): the record stays DEREGISTERING and is finished by the device's retry or the
 *   next start.
 */
export type EndRegistrationResult =
  | { readonly kind: 'DEREGISTERED'; readonly registration: Registration }
  | { readonly kind: 'UNKNOWN_REGISTRATION_ID' }
  | { readonly kind: 'BUSY'; readonly registration: Registration }
  | { readonly kind: 'NOT_DUE'; readonly registration: Registration }
  | { readonly kind: 'FAILED'; readonly reason: FailureReason; readonly registration: Registration }
  | { readonly kind: 'UNFINISHED'; readonly registration: Registration };

/** How an upstream exchange ended: the server's outcome and the transition its answer made (committed). */
interface ExchangeEnd {
  readonly outcome: ServerOutcome;
  readonly transition: Transition;
}

/** Default {@link GatewayProceduresOptions.reregisterDelayMs}: 2 000 ms doubled per failed attempt, at most 30 000 ms. */
export function defaultReregisterDelayMs(attempt: number): number {
  return Math.min(30_000, 2000 * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
}

/**
 * A server that forgets the gateway again within this long (ms) of its last re-registration, with
 * no POST on a device's behalf answered SUCCESS in between, makes the next re-registration wait
 * (`reregisterDelayMs`, doubling per repeat): a server that answers GATEWAY_NOT_REGISTERED to
 * everything cannot drive a tight loop of registrations and resyncs. A server restarted twice in a
 * minute, that served devices in between, is not delayed.
 */
export const REREGISTER_FLAP_WINDOW_MS = 60_000;

/** Default {@link GatewayProceduresOptions.answerRetryDelaysMs}. */
export const DEFAULT_ANSWER_RETRY_DELAYS_MS: readonly number[] = [100, 200, 400, 800, 1600];

/** Counters, for logs and metrics. Monotonic. */
export interface GatewayCounters {
  /** Decoded device requests handed to the core. */
  requests: number;
  responses: number;
  responseSendFailures: number;
  protocolErrors: number;
  upstreamPosts: number;
  /**
   * Copies of a request absorbed, wherever: by the core (a copy while the procedure is pending) and
   * by a link's own message layer (CoAP retransmissions, reported through
   * `DeviceLinkHandler.onDuplicateAbsorbed`).
   */
  duplicatesAbsorbed: number;
  tombstoneReplays: number;
  idempotentReplies: number;
  /** Requests answered NOT_AUTHORISED (authorization list, or a DEREG from another Layer-2 ID). */
  notAuthorised: number;
  /** Requests answered CONGESTION (limits, draining, a locked store, a procedure of the other kind pending). */
  congestion: number;
  staleAnswers: number;
  storeErrors: number;
  registered: number;
  deregistered: number;
  failed: number;
  /** Times the gateway registered itself again after the server forgot it (docs/adr/0012). */
  gatewayReregistrations: number;
  /** REGISTERED devices registered again at the server after that (resync), and those whose POST failed. */
  resynced: number;
  resyncFailed: number;
  /** Registrations the gateway de-registered on its own (kick, expiry), server answer committed. */
  registrationsEnded: number;
}

const newCounters = (): GatewayCounters => ({
  requests: 0,
  responses: 0,
  responseSendFailures: 0,
  protocolErrors: 0,
  upstreamPosts: 0,
  duplicatesAbsorbed: 0,
  tombstoneReplays: 0,
  idempotentReplies: 0,
  notAuthorised: 0,
  congestion: 0,
  staleAnswers: 0,
  storeErrors: 0,
  registered: 0,
  deregistered: 0,
  failed: 0,
  gatewayReregistrations: 0,
  resynced: 0,
  resyncFailed: 0,
  registrationsEnded: 0,
});

/** Most protocol-error warnings logged per second; the rest are counted and summarised. */
export const PROTOCOL_ERROR_LOGS_PER_S = 20;
/** Most registration-store-error warnings logged per second (a locked file fails every request). */
export const STORE_ERROR_LOGS_PER_S = 5;

/** How a resync POST for one REGISTERED record ended. */
type ResyncResult = 'RESYNCED' | 'FAILED' | 'SKIPPED' | 'FORGOTTEN';

/** A response a transition asks for; sent once the transition's writes are committed. */
type Reply = Extract<Command, { kind: 'RESPOND' }>;

/** Thrown inside a decision to answer the device with a Failure reason instead of going on. */
class Refusal {
  constructor(
    readonly reason: FailureReason,
    /** The refusal rests on a state read (possibly applied, not yet committed): answer after sync(). */
    readonly afterRead = false,
  ) {}
}

export class GatewayProcedures implements DeviceLinkHandler, ServerInboxHandler {
  readonly counters: GatewayCounters = newCounters();
  /** The message relay (docs/wire-formats.md §5): uplink `MSG`, downlink queues, report outbox. */
  private readonly relay: MessageRelay;
  private readonly queue = new SerialQueue();
  /** Upstream exchanges in flight, by record; each resolves how it ended (undefined: it did not). */
  private readonly inflight = new Map<RegistrationId, Promise<ExchangeEnd | undefined>>();
  /** Waiting for an in-flight slot (recovery); one is woken per finished exchange. */
  private readonly slotWaiters: Array<() => void> = [];
  private readonly handling = new Set<Promise<void>>();
  private readonly links = new Map<LinkId, DeviceLink>();
  private readonly policy: MachinePolicy;
  private readonly maxRegistrations: number;
  private readonly maxInFlight: number;
  private readonly lifetimeS: number;
  private readonly expiry: ExpiryScheduler;
  private readonly rate: TokenBuckets;
  private gatewayRegistered = false;
  /** Incremented by every successful registration of the gateway itself: tells a stale GATEWAY_NOT_REGISTERED from news. */
  private generation = 0;
  /** The one recovery loop runs (docs/adr/0012). */
  private recovering = false;
  /** Procedures answered GATEWAY_NOT_REGISTERED, held pending until the gateway is registered again. */
  private readonly parked = new Map<RegistrationId, UpstreamOperation>();
  /** Parking open: false once the current recovery's first attempt failed (new ones are answered at once). */
  private parking = true;
  /** Procedures already POSTed again after a re-registration: a second GATEWAY_NOT_REGISTERED is final. */
  private readonly retried = new Set<RegistrationId>();
  private lastReregisteredAt = Number.NEGATIVE_INFINITY;
  /** A POST on a device's behalf was answered SUCCESS since the last re-registration. */
  private servedSinceReregistration = false;
  private flaps = 0;
  /** REGISTERED records the server may not hold (listed when a resync starts; removed once resynced). */
  private readonly unsynced = new Set<RegistrationId>();
  /** Records a device asked for during the resync: resynced next. */
  private readonly resyncFirst = new Set<RegistrationId>();
  private resyncRunning = false;
  /** The recovery's registration attempt in flight: `whenIdle` waits for it, so a stop sees its outcome and de-registers. */
  private registering: Promise<ServerOutcome> | undefined;
  /** Resync POSTs in flight, by record: a device procedure's POST for that record waits for it. */
  private readonly resyncing = new Map<RegistrationId, Promise<void>>();
  private readonly reregisterDelayMs: (attempt: number) => number;
  private readonly resyncInFlight: number;
  private readonly resyncPerSecond: number;
  private accepting = true;
  private readonly protocolErrorLog: RateLimitedLog;
  private readonly storeErrorLog: RateLimitedLog;
  private readonly observer: GatewayObserver;
  private observerFailed = false;
  /** The logger writes debug lines: read once, so the per-procedure debug lines cost nothing at info. */
  private readonly debug: boolean;

  constructor(
    private readonly deps: GatewayProceduresDeps,
    private readonly options: GatewayProceduresOptions,
  ) {
    for (const l of deps.links) {
      const instance = 'link' in l ? l : { id: l.kind as LinkId, link: l };
      if (this.links.has(instance.id)) throw new TypeError(`two device links share the id ${JSON.stringify(instance.id)}; give each instance its own name`);
      this.links.set(instance.id, instance.link);
    }
    this.observer = deps.observer ?? NOOP_GATEWAY_OBSERVER;
    this.debug = debugEnabled(deps.logger);
    this.policy = { ...DEFAULT_MACHINE_POLICY, ...options.policy };
    this.maxRegistrations = options.maxRegistrations ?? 1_000_000;
    this.maxInFlight = options.maxInFlight ?? 4096;
    const lifetimeS = options.registrationLifetimeS ?? DEFAULT_REGISTRATION_LIFETIME_S;
    if (!isLifetimeS(lifetimeS)) throw new RangeError(`registrationLifetimeS must be an integer ${LIFETIME_S_MIN}..${LIFETIME_S_MAX}, got ${lifetimeS}`);
    this.lifetimeS = lifetimeS;
    this.expiry = new ExpiryScheduler(
      {
        store: deps.store,
        clock: deps.clock,
        logger: deps.logger,
        end: (id) => this.endRegistration(id, 'EXPIRED'),
        postpone: (id, until) => this.postponeExpiry(id, until),
      },
      options.expiry,
    );
    this.rate = new TokenBuckets(options.requestsPerSecondPerDevice ?? 20, options.burstPerDevice ?? 40);
    this.reregisterDelayMs = options.reregisterDelayMs ?? defaultReregisterDelayMs;
    this.resyncInFlight = Math.max(1, options.resyncInFlight ?? 16);
    this.resyncPerSecond = Math.max(1, options.resyncPerSecond ?? 100);
    this.protocolErrorLog = new RateLimitedLog(deps.logger, PROTOCOL_ERROR_LOGS_PER_S, 'protocol errors from devices not logged one by one');
    this.storeErrorLog = new RateLimitedLog(deps.logger, STORE_ERROR_LOGS_PER_S, 'registration store errors not logged one by one');
    this.relay = new MessageRelay(
      {
        store: deps.store,
        messages: deps.messages ?? new InMemoryMessageStore(),
        server: deps.server,
        links: this.links,
        clock: deps.clock,
        logger: deps.logger,
        gatewayUeServiceId: options.gatewayUeServiceId,
        run: (task) => this.queue.run(task),
        isGatewayRegistered: () => this.gatewayRegistered,
        generation: () => this.generation,
        gatewayForgotten: (generation) => this.gatewayForgotten(generation),
        served: () => {
          this.servedSinceReregistration = true;
        },
        accepting: () => this.accepting,
        hasRoom: () => this.inflight.size + this.relay.uplinksInFlight < this.maxInFlight,
        takeToken: (link, from) => this.rate.take(`${link}|${from}`, this.deps.clock.now()),
        observe: (call) => this.observe(call),
      },
      options.messages,
    );
  }

  /** The message relay's counters (docs/wire-formats.md §5), for logs and tests. */
  get messageCounters(): Readonly<MessageCounters> {
    return this.relay.counters;
  }

  /** When the downlink sender of registration `id` wakes next (ms since the epoch), `undefined` when none is armed. For tests and logs. */
  nextDownlinkAttempt(id: RegistrationId): number | undefined {
    return this.relay.nextAttemptFor(id);
  }

  /** Whether the Gateway UE itself is registered with the MSGin5G Server. */
  get isGatewayRegistered(): boolean {
    return this.gatewayRegistered;
  }

  /** Upstream procedures in flight. */
  get inFlight(): number {
    return this.inflight.size;
  }

  /**
   * Registers the Gateway UE's own UE Service ID with the server (architecture §2.3, "The gateway's
   * own registration"): one attempt. Until one succeeds, device requests get GATEWAY_NOT_REGISTERED.
   * A failure is logged at debug only: the caller, which retries, writes one warn per attempt. An
   * answer GATEWAY_NOT_REGISTERED to this REG is odd (it is the registration) and reads as
   * SERVER_REJECTED. Rejects only with `ServerLinkError` CLOSED (the link was closed under it).
   */
  async registerGateway(): Promise<ServerOutcome> {
    const configured = this.options.notifyUri;
    const notifyUri = typeof configured === 'function' ? configured() : configured;
    let outcome = await this.deps.server.register({ ueServiceId: this.options.gatewayUeServiceId, ...(notifyUri === undefined ? {} : { notifyUri }) });
    if (outcome.kind === 'FAILURE' && outcome.reason === 'GATEWAY_NOT_REGISTERED') {
      outcome = { kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: `${outcome.cause} to the gateway's own REG` };
    }
    if (outcome.kind === 'SUCCESS') {
      this.gatewayRegistered = true;
      this.generation++;
      this.parking = true;
      this.deps.logger.info({ ueServiceId: this.options.gatewayUeServiceId, notifyUri, outcome }, 'Gateway UE registered with the MSGin5G Server');
      // Reports held while the gateway was not registered go now.
      this.relay.gatewayRegistered();
    } else {
      this.deps.logger.debug({ ueServiceId: this.options.gatewayUeServiceId, outcome }, 'Gateway UE registration attempt failed');
    }
    return outcome;
  }

  /** De-registers the Gateway UE itself (at shutdown, after `drain`). Device requests then get GATEWAY_NOT_REGISTERED. */
  async deregisterGateway(): Promise<ServerOutcome> {
    this.gatewayRegistered = false;
    const outcome = await this.deps.server.deregister({ ueServiceId: this.options.gatewayUeServiceId });
    if (outcome.kind === 'SUCCESS') this.deps.logger.info({ ueServiceId: this.options.gatewayUeServiceId, outcome }, 'Gateway UE de-registered');
    else this.deps.logger.warn({ ueServiceId: this.options.gatewayUeServiceId, outcome }, 'Gateway UE de-registration failed');
    return outcome;
  }

  /**
   * Drives every REGISTERING / DEREGISTERING record left by an earlier run to an end (architecture §3,
   * "Restart"): the POST is sent again and the response goes to the stored Layer-2 ID. Then the
   * messages (docs/architecture.md "Messages"): uplinks left unanswered are dropped, each downlink
   * queue resumes where it was (or ends with reports when its registration is gone), and the report
   * outbox starts. Resolves the number of records resumed.
   */
  async recover(): Promise<number> {
    const resumed = await this.recoverProcedures();
    if (this.accepting) {
      try {
        const m = await this.relay.recover();
        if (m.uplinksDropped + m.queuesResumed + m.queuesEnded > 0) this.deps.logger.info(m, 'messages left by an earlier run: unanswered uplinks dropped, downlink queues resumed or ended');
      } catch (err) {
        // The queues not reached are resumed by the next delivery for their device or the next start.
        this.refusalReason(err, { during: 'message recovery' });
      }
    }
    return resumed;
  }

  private async recoverProcedures(): Promise<number> {
    const pending = await this.deps.store.list(['REGISTERING', 'DEREGISTERING']);
    for (const r of pending) {
      // Stop resuming once the gateway stops; what is left is resumed by the next start.
      if (!this.accepting) break;
      await this.inFlightSlot();
      const replies = await this.queue.run(async () => {
        const current = await this.deps.store.get(r.registrationId);
        if (current === undefined || this.inflight.has(r.registrationId)) return [];
        this.deps.logger.info(fields(current), 'resuming a procedure left pending by an earlier run');
        return this.apply(transition(machineStateOf(current), { kind: 'RECOVERED' }, this.deps.clock.now(), this.policy));
      });
      await this.sendAfterCommit(replies);
    }
    return pending.length;
  }

  /**
   * Waits until fewer than `maxInFlight` exchanges are in flight. At most maxInFlight exchanges at
   * once, as for device requests: waiters are woken one at a time as exchanges end (not
   * Promise.race over every exchange, which is quadratic).
   */
  private async inFlightSlot(): Promise<void> {
    while (this.inflight.size >= this.maxInFlight) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
  }

  /**
   * De-registers a REGISTERED device at the MSGin5G Server on its behalf, with no request from it:
   * an operator's kick (`KICKED`) or the end of its lifetime (`EXPIRED`; only when its `expiresAt`
   * has passed). As the device's own DEREG (docs/architecture.md §2.2, §3 "Gateway-initiated
   * de-registration"): DEREGISTERING is persisted with the cause, then the DEREG is POSTed (group
   * commit; the in-flight bound applies: this waits for a slot). On success the mapping is removed
   * and the tombstone kept, so a later DEREG from the device gets the success response. Nothing is
   * sent to the device. On failure the mapping stays REGISTERED (docs/adr/0003). A restart mid-way
   * finishes it (`recover()`), still sending nothing to the device.
   *
   * Races: decisions run on the serial queue, so a device's own DEREG or REG either came first (this
   * resolves `BUSY`, or `UNKNOWN_REGISTRATION_ID` once it ended) or comes after (it is answered
   * CONGESTION while the DEREG is pending, then gets the tombstone or starts its own procedure).
   *
   * Resolves when the server's answer is committed (or the exchange ended without one); see
   * {@link EndRegistrationResult} for each outcome.
   * @throws RegistrationStoreError when the store cannot be read or the DEREGISTERING state cannot
   *   be written (then nothing was sent; a failed commit resolves `FAILED` UNSPECIFIED instead).
   */
  async endRegistration(registrationId: RegistrationId, cause: GatewayDeregistrationCause): Promise<EndRegistrationResult> {
    for (;;) {
      await this.inFlightSlot();
      const decision = await this.queue.run(async (): Promise<{ result: EndRegistrationResult; exchange?: Promise<ExchangeEnd | undefined> } | undefined> => {
        const current = await this.deps.store.get(registrationId);
        if (current === undefined) return { result: { kind: 'UNKNOWN_REGISTRATION_ID' } };
        if (current.state !== 'REGISTERED') {
          // A pending procedure: BUSY. decide() resumes it if it has no exchange in flight, but
          // only while the gateway may talk to the server at all.
          if (!this.gatewayRegistered || !this.accepting) return { result: { kind: 'BUSY', registration: current } };
        } else {
          if (!this.gatewayRegistered) return { result: { kind: 'FAILED', reason: 'GATEWAY_NOT_REGISTERED', registration: current } };
          if (!this.accepting) return { result: { kind: 'FAILED', reason: 'CONGESTION', registration: current } };
          // Another decision took the last slot since we waited: wait again.
          if (this.inflight.size >= this.maxInFlight) return undefined;
        }
        const now = this.deps.clock.now();
        const t = this.decide(machineStateOf(current), { kind: 'END_REQUESTED', cause }, now);
        const launched: Array<Promise<ExchangeEnd | undefined>> = [];
        await this.apply(t, launched);
        switch (t.note) {
          case 'UNKNOWN_ID':
            return { result: { kind: 'UNKNOWN_REGISTRATION_ID' } };
          case 'BUSY_WITH_OTHER_PROCEDURE':
            return { result: { kind: 'BUSY', registration: current } };
          case 'NOT_DUE':
            return { result: { kind: 'NOT_DUE', registration: current } };
          default: {
            // The DEREG apply() launched: it ends once its answer is applied (or it gave up).
            const registration = t.state.kind === 'ABSENT' ? current : t.state.registration;
            return { result: { kind: 'UNFINISHED', registration }, exchange: launched[0] };
          }
        }
      });
      if (decision === undefined) continue;
      if (decision.exchange === undefined) {
        // The result rests on a read that may be another decision's uncommitted write.
        await this.deps.store.sync();
        return decision.result;
      }
      if (decision.result.kind === 'UNFINISHED') this.deps.logger.info({ ...fields(decision.result.registration), cause }, 'gateway-initiated de-registration started');
      const end = await decision.exchange;
      if (end === undefined && decision.result.kind === 'UNFINISHED') {
        // No answer applied: either DEREGISTERING could not be committed (undone, nothing sent) or
        // the exchange did not complete (the record stays DEREGISTERING). The store tells which.
        const now = await this.deps.store.get(registrationId);
        if (now?.state === 'REGISTERED') return { kind: 'FAILED', reason: 'UNSPECIFIED', registration: now };
      }
      return endResultOf(end, decision.result);
    }
  }

  /**
   * Starts the expiry scheduler (docs/adr/0011-registration-lifetime.md): ends every registration
   * that expired while the gateway was down, then keeps one timer for the next expiry. Call after
   * {@link registerGateway} and {@link recover}. Resolves how many registrations that first sweep
   * ended. Stopped by {@link stopAccepting}.
   */
  startExpiry(): Promise<number> {
    return this.expiry.start();
  }

  /** The expiry scheduler's counters (expired, postponed, skipped, sweeps) and when its timer is armed for (ms), for logs and tests. */
  get expiryStatus(): { readonly counters: Readonly<ExpiryScheduler['counters']>; readonly armedFor: number | undefined } {
    return { counters: this.expiry.counters, armedFor: this.expiry.armedFor };
  }

  /**
   * The registration lifetime a device gets, s (docs/adr/0011-registration-lifetime.md): what it
   * asked for, at most the lifetime configured for it (its authorization entry's, else the
   * gateway's); the configured one when it asked for none.
   */
  grantLifetimeS(asked: number | undefined, configured: number | undefined): number {
    const most = configured ?? this.lifetimeS;
    return asked === undefined ? most : Math.min(asked, most);
  }

  /**
   * After a failed expiry: moves the record's `expiresAt` to `until` (ms) so it is tried again then,
   * but only if it is still REGISTERED and still due (a device's refresh in the meantime wins).
   */
  private async postponeExpiry(registrationId: RegistrationId, until: number): Promise<void> {
    const moved = await this.queue.run(async () => {
      const current = await this.deps.store.get(registrationId);
      if (current?.state !== 'REGISTERED' || current.expiresAt > this.deps.clock.now()) return false;
      return (await this.deps.store.refreshExpiry(registrationId, until, this.deps.clock.now())) !== undefined;
    });
    await this.deps.store.sync();
    if (moved) this.deps.logger.info({ registrationId, retryAt: new Date(until).toISOString() }, 'expiry failed; the registration is kept and tried again later');
  }

  /** Stops taking new device requests: they get CONGESTION ("retry later") while the gateway drains. The expiry scheduler stops too. */
  stopAccepting(): void {
    this.accepting = false;
    this.expiry.stop();
    this.relay.stop();
  }

  /**
   * Resolves when no request is being handled, no upstream procedure is in flight, no expiry sweep
   * runs, and no attempt to register the gateway again is in flight (so a stop that follows sees
   * whether it succeeded).
   */
  async whenIdle(): Promise<void> {
    for (;;) {
      await this.expiry.whenIdle();
      await this.relay.whenIdle();
      if (this.handling.size === 0 && this.inflight.size === 0 && this.registering === undefined) return;
      await Promise.allSettled([...this.handling, ...this.inflight.values(), ...(this.registering === undefined ? [] : [this.registering])]);
    }
  }

  /** Deletes expired tombstones and expired uplink dedup records (docs/wire-formats.md §5.3); resolves how many tombstones. */
  async purgeTombstones(): Promise<number> {
    const purged = await this.queue.run(() => this.deps.store.purgeTombstones(this.deps.clock.now()));
    await this.relay.purgeUplinks();
    await this.deps.store.sync();
    return purged;
  }

  /**
   * The handler to start the link instance `id` with: what it delivers is tagged with `id`, so the
   * registration records that instance and its answers leave through it, also after a restart.
   * @throws TypeError when no link instance has that id.
   */
  handlerFor(id: LinkId): DeviceLinkHandler {
    if (!this.links.has(id)) throw new TypeError(`no device link instance ${JSON.stringify(id)}`);
    return {
      onRequest: (request, from) => this.onRequest(request, from, id),
      onDeliveryMessage: (message, from) => this.onDeliveryMessage(message, from, id),
      onProtocolError: (error) => this.onProtocolError({ ...error, link: id }),
      onDuplicateAbsorbed: () => this.absorbedByLink(id),
    };
  }

  /**
   * A link's message layer absorbed a copy of a request (`DeviceLinkHandler.onDuplicateAbsorbed`):
   * counted in `duplicatesAbsorbed`, reported to the observer with layer `link`.
   */
  private absorbedByLink(link: LinkId): void {
    this.counters.duplicatesAbsorbed++;
    this.observe((o) => o.duplicateAbsorbed(link, 'link'));
  }

  /** Calls the observer; one that throws is logged once and otherwise ignored (metrics must not break procedures). */
  private observe(call: (o: GatewayObserver) => void): void {
    try {
      call(this.observer);
    } catch (err) {
      if (this.observerFailed) return;
      this.observerFailed = true;
      this.deps.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'gateway observer threw; its later errors are not logged');
    }
  }

  /**
   * `DeviceLinkHandler`: a decoded request from a device. Never throws. Started directly as a
   * link's handler (tests, one link per kind), `link` is the adapter's kind, which is then also the
   * instance id; {@link handlerFor} passes the instance id.
   */
  onRequest(request: DeviceRequest, from: Layer2Id, link: LinkKind): void {
    const p = this.handleRequest(request, from, link as LinkId);
    this.handling.add(p);
    void p.finally(() => this.handling.delete(p));
  }

  /**
   * `DeviceLinkHandler`: a message-delivery message from a device (docs/wire-formats.md §5.2: 0x01,
   * 0x02, 0x05), handled by the message relay. Never throws. `link` as for {@link onRequest}.
   */
  onDeliveryMessage(message: DeviceDeliveryMessage, from: Layer2Id, link: LinkKind): void {
    const p = this.relay.onDeviceMessage(message, from, link as LinkId);
    this.handling.add(p);
    void p.finally(() => this.handling.delete(p));
  }

  /**
   * `ServerInboxHandler`: a `MSG` or `IMDN` the MSGin5G Server delivers for a device behind the
   * gateway (docs/adr/0013, docs/wire-formats.md §5.3). Resolves `STORED` only once the item is
   * durable in the device's queue (a repeat of a queued one: `STORED` again, nothing new), else
   * FAILURE RECIPIENT_UNKNOWN (no REGISTERED device with that UE Service ID), PAYLOAD_TOO_LARGE
   * (beyond the device's link instance, `DeviceLink.maxPayloadOctets`, 65 535 when it says none),
   * CONGESTION (a queue bound, `messages.queuePerDevice` / `queueTotal`, or the gateway drains) or
   * UNSPECIFIED (store failure). Never rejects.
   */
  onServerDelivery(delivery: ServerDelivery): Promise<ServerDeliveryVerdict> {
    const p = this.relay.onServerDelivery(delivery);
    const tracked = p.then(() => undefined);
    this.handling.add(tracked);
    void tracked.finally(() => this.handling.delete(tracked));
    return p;
  }

  /** `DeviceLinkHandler`: an input the link could not decode (already answered by the link if possible). */
  onProtocolError(error: DeviceProtocolError): void {
    this.counters.protocolErrors++;
    this.observe((o) => o.protocolError(error.link as LinkId));
    // A flood of bad input must not become a flood of log lines.
    this.protocolErrorLog.warn(
      this.deps.clock.now(),
      { link: error.link, layer2Id: error.from, detail: error.detail, answered: error.answered, octets: error.octets, protocolErrors: this.counters.protocolErrors },
      'protocol error from a device',
    );
  }

  /**
   * Handles one device request to its end (response sent, or procedure launched). Never rejects.
   * @see TS 24.538 6.3.2.1.2
   */
  async handleRequest(request: DeviceRequest, from: Layer2Id, link: LinkId): Promise<void> {
    this.counters.requests++;
    this.observe((o) => o.requestReceived(link, request.kind));
    const appId = request.kind === 'REGISTRATION_REQUEST' ? request.applicationId : undefined;
    try {
      if (!this.gatewayRegistered) {
        // A copy of a request whose procedure is held for the re-registration waits for its answer.
        if (this.parked.size > 0 && (await this.isParkedCopy(request, from, link))) return;
        throw new Refusal('GATEWAY_NOT_REGISTERED');
      }
      if (!this.accepting) throw new Refusal('CONGESTION');
      if (!this.rate.take(`${link}|${from}`, this.deps.clock.now())) throw new Refusal('CONGESTION');
      switch (request.kind) {
        case 'REGISTRATION_REQUEST':
          await this.register(request, from, link);
          return;
        case 'DEREGISTRATION_REQUEST':
          await this.deregister(request, from, link);
          return;
        default:
          assertNever(request, 'device request');
      }
    } catch (err) {
      let reason = this.refusalReason(err, { link, layer2Id: from, request: request.kind });
      if (err instanceof Refusal && err.afterRead) {
        // The state it rests on may be another decision's uncommitted write: answer once it is durable.
        try {
          await this.deps.store.sync();
        } catch {
          reason = 'CONGESTION';
        }
      }
      this.refused({ link, layer2Id: from, request: request.kind }, reason, link);
      const applicationId = request.kind === 'DEREGISTRATION_REQUEST' ? await this.ownApplicationId(request.registrationId, from, link) : appId;
      await this.respond(link, from, failureResponse(request.kind, reason, applicationId));
    }
  }

  /**
   * The Application ID of a registration, for a DE-REGISTRATION failure answer (docs/wire-formats.md §2:
   * sent when the registration is known), but only to the device that owns it (no leak to another
   * Layer-2 ID). A store read; `undefined` when unknown or unreadable.
   */
  private async ownApplicationId(registrationId: RegistrationId, from: Layer2Id, link: LinkId): Promise<ApplicationId | undefined> {
    try {
      const r = await this.deps.store.get(registrationId);
      return r !== undefined && r.link === link && r.layer2Id === from ? r.applicationId : undefined;
    } catch {
      return undefined;
    }
  }

  private refusalReason(err: unknown, context: Record<string, unknown>): FailureReason {
    if (err instanceof Refusal) return err.reason;
    if (err instanceof RegistrationStoreError) {
      this.counters.storeErrors++;
      this.storeErrorLog.warn(this.deps.clock.now(), { ...context, reason: err.reason, err: err.message, storeErrors: this.counters.storeErrors }, 'registration store error');
      // A locked store is contention, not a fault: the device retries later (case C12).
      return err.reason === 'BUSY' ? 'CONGESTION' : 'UNSPECIFIED';
    }
    this.deps.logger.error({ ...context, err: err instanceof Error ? err.stack : String(err) }, 'unexpected error in a device procedure');
    return 'UNSPECIFIED';
  }

  /**
   * The one place a device request answered with a failure and nothing upstream is accounted for
   * (a Refusal, or a failure the state machine answered at once: UNKNOWN_REGISTRATION_ID,
   * NOT_AUTHORISED, CONGESTION): counted, told to the observer, and logged with its Failure reason,
   * Layer-2 ID and link. CONGESTION can come in floods (rate limit, draining): debug; others info.
   * Called when the answer is sent, so a refusal whose commit failed is not counted twice.
   */
  private refused(context: Record<string, unknown>, reason: FailureReason, link: LinkId): void {
    if (reason === 'CONGESTION') this.counters.congestion++;
    if (reason === 'NOT_AUTHORISED') this.counters.notAuthorised++;
    this.observe((o) => o.requestRefused(reason, link));
    this.deps.logger[reason === 'CONGESTION' ? 'debug' : 'info']({ ...context, failureReason: reason }, 'request refused');
  }

  private async register(request: RegistrationRequest, from: Layer2Id, link: LinkId): Promise<void> {
    const { applicationId } = request;
    const decision = this.deps.authorizer.authorize(link, from, applicationId);
    if (!decision.allowed) throw new Refusal('NOT_AUTHORISED');
    const ueServiceId = decision.ueServiceId ?? defaultDeviceUeServiceId(this.options.gatewayUeServiceId, from, applicationId);
    const lifetimeS = this.grantLifetimeS(request.lifetimeS, decision.lifetimeS);

    for (let attempt = 0; ; attempt++) {
      let replies: readonly Reply[];
      try {
        replies = await this.queue.run(async () => {
          const existing = await this.deps.store.findByDevice(link, from, applicationId);
          if (existing === undefined) await this.admitNewRegistration(link, from, applicationId);
          if (existing?.state === 'REGISTERED' && this.unsynced.has(existing.registrationId)) {
            // The server may not hold it since it forgot the gateway: no SUCCESS until it is
            // registered there again. Resync it next; the device's retry then gets its answer.
            this.resyncSoon(existing.registrationId);
            throw new Refusal('GATEWAY_NOT_REGISTERED');
          }
          const now = this.deps.clock.now();
          const candidate: Registration = {
            registrationId: this.deps.allocator.allocate(),
            applicationId,
            layer2Id: from,
            link,
            ueServiceId,
            state: 'REGISTERING',
            createdAt: now,
            updatedAt: now,
            expiresAt: now + lifetimeS * 1000,
          };
          const event: MachineEvent = { kind: 'REGISTRATION_REQUESTED', link, layer2Id: from, applicationId, candidate, lifetimeS };
          return this.apply(this.decide(machineStateOf(existing), event, now));
        });
      } catch (err) {
        // A freshly drawn Registration ID that collides (live or tombstoned) is drawn again.
        if (err instanceof RegistrationStoreError && err.reason === 'DUPLICATE' && attempt < 3) continue;
        throw err;
      }
      await this.sendAfterCommit(replies, { link, layer2Id: from, request: request.kind });
      return;
    }
  }

  /** Checks that a new registration may be created; throws a Refusal otherwise. Runs inside the queue. */
  private async admitNewRegistration(link: LinkId, from: Layer2Id, applicationId: ApplicationId): Promise<void> {
    const holders = await this.deps.store.findByApplicationId(applicationId);
    if (holders.some((r) => r.link !== link || r.layer2Id !== from)) throw new Refusal('APPLICATION_ID_IN_USE', true);
    if (this.inflight.size >= this.maxInFlight) throw new Refusal('CONGESTION');
    if ((await this.deps.store.count()) >= this.maxRegistrations) throw new Refusal('CONGESTION', true);
  }

  private async deregister(request: DeregistrationRequest, from: Layer2Id, link: LinkId): Promise<void> {
    const replies = await this.queue.run(async () => {
      const now = this.deps.clock.now();
      const current = await this.deps.store.get(request.registrationId);
      const tombstone = current === undefined ? await this.deps.store.getTombstone(request.registrationId, now) : undefined;
      if (current?.state === 'REGISTERED' && current.link === link && current.layer2Id === from && this.inflight.size >= this.maxInFlight) {
        throw new Refusal('CONGESTION');
      }
      const event: MachineEvent = { kind: 'DEREGISTRATION_REQUESTED', link, layer2Id: from, registrationId: request.registrationId };
      return this.apply(this.decide(machineStateOf(current, tombstone), event, now));
    });
    await this.sendAfterCommit(replies, { link, layer2Id: from, request: request.kind });
  }

  /**
   * `transition`, plus one rule that needs to know what is in flight: a duplicate request for a
   * record that is pending in the store but has no exchange in flight (its answer could not be
   * persisted, say the store was locked; or a restart has not resumed it yet) resumes the procedure
   * instead of waiting forever. REG and DEREG are idempotent at the server, so a second POST is safe.
   */
  private decide(state: MachineState, event: MachineEvent, now: number): Transition {
    const t = transition(state, event, now, this.policy);
    if (state.kind !== 'REGISTERING' && state.kind !== 'DEREGISTERING') return t;
    if (this.inflight.has(state.registration.registrationId)) return t;
    if (t.note !== 'DUPLICATE_ABSORBED' && t.note !== 'BUSY_WITH_OTHER_PROCEDURE') return t;
    // Resuming starts an exchange like a new procedure does: the same in-flight bound applies. A
    // gateway-initiated end is not refused for it: it reports BUSY and leaves the record as it is.
    if (this.inflight.size >= this.maxInFlight) {
      if (event.kind === 'END_REQUESTED') return t;
      throw new Refusal('CONGESTION');
    }
    this.deps.logger.info(fields(state.registration), 'resuming a pending procedure that had no exchange in flight');
    // A procedure held for the gateway's re-registration (docs/adr/0012) is POSTed again now, once.
    if (this.parked.delete(state.registration.registrationId)) this.retried.add(state.registration.registrationId);
    const resumed = transition(state, { kind: 'RECOVERED' }, now, this.policy);
    // A copy absorbed is the resumed procedure itself (answered when it ends); a request of another
    // kind keeps its own answer (CONGESTION, or UNKNOWN_REGISTRATION_ID for C11).
    if (t.note === 'DUPLICATE_ABSORBED') return resumed;
    return { state: t.state, commands: [...resumed.commands, ...t.commands], note: t.note };
  }

  /**
   * Carries out a transition's commands in order, inside the queue: writes are applied, a POST is
   * reserved (it waits for the commit itself); responses are returned, to be sent by
   * {@link sendAfterCommit} once the writes are durable.
   */
  private async apply(t: Transition, launched?: Array<Promise<ExchangeEnd | undefined>>): Promise<Reply[]> {
    this.count(t);
    const replies: Reply[] = [];
    for (const c of t.commands) {
      if (c.kind === 'RESPOND') replies.push(c);
      else {
        const started = await this.execute(c);
        if (started !== undefined) launched?.push(started.exchange);
      }
    }
    return replies;
  }

  /**
   * Makes every write applied so far durable (`store.sync()`), then sends the replies in order.
   * Even a reply that needed no write waits: it may describe a state another decision applied and
   * has not committed yet. If the commit fails, the writes are undone and nothing is sent: the
   * error reaches the caller (a device request is then answered with a failure; the device retries).
   * `request` (link, Layer-2 ID, request kind) is given when the replies answer a device request at
   * once: a failure among them is then a refusal, accounted for by {@link refused}.
   */
  private async sendAfterCommit(replies: readonly Reply[], request?: Record<string, unknown>): Promise<void> {
    if (replies.length === 0) return;
    await this.deps.store.sync();
    for (const r of replies) {
      if (request !== undefined && r.response.result === 'FAILURE') this.refused(request, r.response.failureReason, r.link);
      await this.respond(r.link, r.to, r.response);
    }
  }

  private count(t: Transition): void {
    // A transition that answers a device with a failure and no upstream exchange is a refusal
    // (NOT_OWNER, UNKNOWN_ID, BUSY_WITH_OTHER_PROCEDURE), accounted for when its answer is sent
    // (sendAfterCommit → refused); a replayed tombstone is not a refusal.
    if (t.note === 'NOT_OWNER' || t.note === 'UNKNOWN_ID' || t.note === 'BUSY_WITH_OTHER_PROCEDURE') return;
    switch (t.note) {
      case undefined:
        return;
      case 'DUPLICATE_ABSORBED':
        this.counters.duplicatesAbsorbed++;
        this.observe((o) => o.duplicateAbsorbed(this.linkOf(t), 'procedure'));
        return;
      case 'TOMBSTONE_REPLAY':
        this.counters.tombstoneReplays++;
        return;
      case 'IDEMPOTENT_REPLY':
        this.counters.idempotentReplies++;
        return;
      case 'STALE_ANSWER':
        this.counters.staleAnswers++;
        return;
      case 'NOTHING_TO_RECOVER':
      case 'NOT_DUE':
        return;
      default:
        assertNever(t.note, 'transition note');
    }
  }

  /** The link instance of the record a transition stays on (a duplicate is absorbed only for a record). */
  private linkOf(t: Transition): LinkId {
    return t.state.kind === 'ABSENT' ? ('unknown' as LinkId) : t.state.registration.link;
  }

  /** Carries out one command; a POST gives the exchange it started (wrapped: an async function would flatten a promise). */
  private async execute(c: Exclude<Command, Reply>): Promise<{ readonly exchange: Promise<ExchangeEnd | undefined> } | undefined> {
    const { store, clock } = this.deps;
    switch (c.kind) {
      case 'INSERT':
        await store.insert(c.registration);
        return;
      case 'SET_STATE': {
        const updated = await store.transition(c.registrationId, c.from, c.to, clock.now(), c.cause);
        if (updated === undefined) throw new Error(`store state of ${c.registrationId} is not ${c.from}`);
        if (updated.state === 'REGISTERED') this.expiry.expiryAt(updated.expiresAt);
        return;
      }
      case 'SET_EXPIRY': {
        const updated = await store.refreshExpiry(c.registrationId, c.expiresAt, clock.now());
        if (updated === undefined) throw new Error(`store state of ${c.registrationId} is not REGISTERED`);
        this.expiry.expiryAt(updated.expiresAt);
        return;
      }
      case 'REMOVE': {
        const removed = await store.remove(c.registrationId, c.tombstone);
        // In the same batch as the removal (one commit): its queued messages end with failure
        // reports (docs/wire-formats.md §5.3, any de-registration).
        if (removed !== undefined) await this.relay.registrationRemoved(removed);
        return;
      }
      case 'POST':
        return { exchange: this.launch(c.operation, c.registration) };
      default:
        assertNever(c, 'command');
    }
  }

  /**
   * Whether record `id` is durably in `state`: `sync()`; if that fails (the batch was undone, maybe
   * for another decision's write), the record is read again, and if it still is in `state` that
   * state was committed earlier, so the POST may go. Never rejects.
   */
  private async committed(id: RegistrationId, state: 'REGISTERING' | 'DEREGISTERING'): Promise<boolean> {
    try {
      await this.deps.store.sync();
      return true;
    } catch {
      try {
        const current = await this.deps.store.get(id);
        if (current?.state !== state) return false;
        await this.deps.store.sync();
        return true;
      } catch {
        return false;
      }
    }
  }

  /** Starts the upstream exchange; its answer comes back through the queue as SERVER_ANSWERED. */
  private launch(operation: UpstreamOperation, registration: Registration): Promise<ExchangeEnd | undefined> {
    const id = registration.registrationId;
    const request: ServerRequest = {
      ueServiceId: registration.ueServiceId,
      gatewayUeServiceId: this.options.gatewayUeServiceId,
      applicationId: registration.applicationId,
    };
    this.counters.upstreamPosts++;
    if (this.debug) this.deps.logger.debug({ ...fields(registration), operation }, 'POST to the MSGin5G Server');
    const run = async (): Promise<ExchangeEnd | undefined> => {
      // The state that leads to this POST must be durable before the POST (architecture §3). If it
      // cannot be committed it is undone, and there is nothing to send.
      if (!(await this.committed(id, operation === 'REG' ? 'REGISTERING' : 'DEREGISTERING'))) {
        this.deps.logger.warn({ ...fields(registration), operation }, 'state could not be committed; POST not sent');
        return undefined;
      }
      // A resync REG for this record may be in flight: this POST must reach the server after it.
      const resync = this.resyncing.get(id);
      if (resync !== undefined) await resync;
      const generation = this.generation;
      let outcome: ServerOutcome;
      try {
        const postedAt = this.deps.clock.now();
        outcome = operation === 'REG' ? await this.deps.server.register(request) : await this.deps.server.deregister(request);
        const seconds = Math.max(0, this.deps.clock.now() - postedAt) / 1000;
        this.observe((o) => o.upstreamAnswered(operation, seconds));
      } catch (err) {
        // The link is closed (shutdown): leave the record pending; the next start finishes it.
        this.deps.logger.warn({ ...fields(registration), operation, err: err instanceof Error ? err.message : String(err) }, 'upstream exchange not completed; left pending for the next start');
        return undefined;
      }
      if (outcome.kind === 'SUCCESS') this.servedSinceReregistration = true;
      else if (outcome.reason === 'GATEWAY_NOT_REGISTERED' && this.park(registration, operation, generation)) return;
      this.retried.delete(id);
      // The server has acted: its outcome must not be dropped because the store was locked for a
      // moment (case C12). It is applied again after a backoff; only after the last try is the
      // record left pending, for the device's retry or the next start.
      const delays = this.options.answerRetryDelaysMs ?? DEFAULT_ANSWER_RETRY_DELAYS_MS;
      for (let attempt = 0; ; attempt++) {
        try {
          const { t, replies } = await this.queue.run(async () => {
            const now = this.deps.clock.now();
            const current = await this.deps.store.get(id);
            const answered = transition(machineStateOf(current), { kind: 'SERVER_ANSWERED', operation, outcome }, now, this.policy);
            return { t: answered, replies: await this.apply(answered) };
          });
          await this.sendAfterCommit(replies);
          // Logged and counted once, when the outcome is durable (not once per attempt).
          this.log(operation, registration, outcome, t);
          return { outcome, transition: t };
        } catch (err) {
          const delay = delays[attempt];
          if (!(err instanceof RegistrationStoreError) || err.reason === 'CLOSED' || err.reason === 'DUPLICATE' || delay === undefined) throw err;
          this.counters.storeErrors++;
          this.storeErrorLog.warn(this.deps.clock.now(), { ...fields(registration), operation, reason: err.reason, err: err.message, retryInMs: delay }, "the server's answer could not be committed; applying it again");
          await this.deps.clock.sleep(delay);
        }
      }
    };
    const p = run()
      .catch((err: unknown) => {
        this.refusalReason(err, { ...fields(registration), operation });
        return undefined;
      })
      .finally(() => {
        // Only our own entry: a later exchange for the same record may have replaced it.
        if (this.inflight.get(id) === p) this.inflight.delete(id);
        this.slotWaiters.shift()?.();
        // Parked on a stale answer (the gateway registered again since this POST): POST it again now.
        if (this.parked.has(id) && this.gatewayRegistered) void this.resumeParked();
      });
    this.inflight.set(id, p);
    return p;
  }

  private log(operation: UpstreamOperation, r: Registration, outcome: ServerOutcome, t: Transition): void {
    if (t.note === 'STALE_ANSWER') {
      this.deps.logger.warn({ ...fields(r), operation, outcome }, 'answer for a procedure no longer pending; dropped');
      return;
    }
    const cause = operation === 'DEREG' ? r.deregistrationCause : undefined;
    if (cause !== undefined) {
      const after = { ...fields(r), state: t.state.kind };
      // Gateway-initiated (kick, expiry): not a device procedure, so not in procedureFinished.
      if (outcome.kind === 'SUCCESS') {
        this.counters.registrationsEnded++;
        this.observe((o) => o.registrationEnded(cause, r.link));
        this.deps.logger.info({ ...after, cause, note: outcome.note }, 'registration ended by the gateway: de-registered at the server, mapping removed');
      } else {
        this.counters.failed++;
        this.deps.logger.warn({ ...after, cause, failureReason: outcome.reason, outcomeCause: outcome.cause }, 'gateway-initiated de-registration failed; mapping kept REGISTERED');
      }
      return;
    }
    this.observe((o) => o.procedureFinished(operation, outcome.kind === 'SUCCESS' ? 'SUCCESS' : 'FAILURE', outcome.kind === 'SUCCESS' ? undefined : outcome.reason, r.link));
    if (outcome.kind === 'SUCCESS') {
      if (operation === 'REG') this.counters.registered++;
      else {
        this.counters.deregistered++;
        this.unsynced.delete(r.registrationId);
      }
      // debug, not info: one line per procedure cost ~6 % of the gateway's CPU under load (docs/benchmarks.md);
      // the counters (`procedures_total`) say how many, failures stay at warn.
      if (this.debug) this.deps.logger.debug({ ...fields(r), state: t.state.kind, operation, note: outcome.note }, operation === 'REG' ? 'device registered' : 'device de-registered; mapping removed');
    } else {
      this.counters.failed++;
      this.deps.logger.warn({ ...fields(r), state: t.state.kind, operation, failureReason: outcome.reason, cause: outcome.cause }, `device ${operation} failed`);
    }
  }

  /** Whether the gateway is registering itself again after the server forgot it (docs/adr/0012). */
  get isRecovering(): boolean {
    return this.recovering;
  }

  /**
   * A device procedure got GATEWAY_NOT_REGISTERED from the POST it made at `generation`. Starts the
   * recovery if that is news, and holds the record pending (`true`) to be POSTed again once the
   * gateway is registered; `false` when the answer is final for it: the gateway is stopping, this
   * procedure was already POSTed again after a re-registration, or the current recovery's first
   * attempt failed (the device is then answered GATEWAY_NOT_REGISTERED at once).
   */
  private park(registration: Registration, operation: UpstreamOperation, generation: number): boolean {
    const id = registration.registrationId;
    this.gatewayForgotten(generation);
    if (!this.accepting || this.retried.has(id) || (!this.gatewayRegistered && !this.parking)) return false;
    this.parked.set(id, operation);
    this.deps.logger.debug({ ...fields(registration), operation }, 'procedure held until the Gateway UE is registered again');
    return true;
  }

  /**
   * The server answered GATEWAY_NOT_REGISTERED to a POST made at `generation`. News only when the
   * gateway counts as registered under that same registration: it then counts as unregistered at
   * once (new device requests get GATEWAY_NOT_REGISTERED) and the one recovery loop starts. An
   * answer to a POST made before the latest re-registration, or during a recovery, changes nothing.
   */
  private gatewayForgotten(generation: number): void {
    if (generation !== this.generation || !this.gatewayRegistered || !this.accepting) return;
    this.gatewayRegistered = false;
    this.deps.logger.warn(
      { ueServiceId: this.options.gatewayUeServiceId, server: this.deps.server.endpoint },
      'the MSGin5G Server does not know the Gateway UE (it may have restarted); registering it again, devices get GATEWAY_NOT_REGISTERED meanwhile',
    );
    if (this.recovering) return; // the running loop sees it and goes round again
    this.recovering = true;
    void this.recoverGateway();
  }

  /** The one recovery loop: rounds until the gateway is registered and nothing forgot it since, or stop. Never rejects. */
  private async recoverGateway(): Promise<void> {
    try {
      while (!this.gatewayRegistered && this.accepting) await this.recoveryRound();
    } catch (err) {
      this.deps.logger.error({ err: err instanceof Error ? err.stack : String(err) }, 'recovery of the gateway registration failed');
    } finally {
      // Synchronous with the loop's last check, so a forget after it starts a new loop.
      this.recovering = false;
    }
  }

  /**
   * One round: register the gateway (backoff as at start-up; after a failed first attempt the held
   * procedures are answered GATEWAY_NOT_REGISTERED), POST the held procedures again, then resync the
   * REGISTERED records, paced. Logs one info line with the counts.
   */
  private async recoveryRound(): Promise<void> {
    const { clock, logger, server } = this.deps;
    this.flaps = !this.servedSinceReregistration && clock.now() - this.lastReregisteredAt < REREGISTER_FLAP_WINDOW_MS ? this.flaps + 1 : 0;
    if (this.flaps > 0) {
      // Forgotten again soon after the last re-registration: do not keep devices waiting on it.
      const waitMs = this.reregisterDelayMs(this.flaps);
      logger.warn({ server: server.endpoint, repeats: this.flaps, waitMs }, 'the MSGin5G Server forgot the Gateway UE again soon after it registered again; waiting before the next registration');
      this.parking = false;
      await this.failParked();
      await clock.sleep(waitMs);
    }
    for (let attempt = 1; ; attempt++) {
      if (!this.accepting) return;
      let outcome: ServerOutcome;
      try {
        this.registering = this.registerGateway();
        outcome = await this.registering;
      } catch (err) {
        if (!this.accepting) return; // the server link was closed under it (stop)
        throw err;
      } finally {
        this.registering = undefined;
      }
      if (outcome.kind === 'SUCCESS') break;
      const retryInMs = this.reregisterDelayMs(attempt);
      logger.warn({ server: server.endpoint, attempt, failureReason: outcome.reason, cause: outcome.cause, retryInMs }, 'MSGin5G Server did not accept the gateway registration; retrying');
      if (attempt === 1) {
        // A held device waits for one attempt at most (docs/adr/0012), then hears the failure.
        this.parking = false;
        await this.failParked();
      }
      await clock.sleep(retryInMs);
    }
    this.lastReregisteredAt = clock.now();
    this.servedSinceReregistration = false;
    this.counters.gatewayReregistrations++;
    const resumed = await this.resumeParked();
    const { resynced, failed } = await this.resync();
    if (!this.gatewayRegistered) {
      logger.info({ resynced, failed, resumed }, 'resync interrupted: the MSGin5G Server forgot the Gateway UE again');
      return;
    }
    logger.info({ ueServiceId: this.options.gatewayUeServiceId, server: server.endpoint, resynced, failed, resumed }, 'Gateway UE registered again with the MSGin5G Server; REGISTERED devices resynced');
    this.observe((o) => o.gatewayReregistered(resynced, failed));
  }

  /** A copy of a held procedure's request (same device, same kind): counted as absorbed; no answer now. */
  private async isParkedCopy(request: DeviceRequest, from: Layer2Id, link: LinkId): Promise<boolean> {
    let r: Registration | undefined;
    try {
      r = request.kind === 'REGISTRATION_REQUEST' ? await this.deps.store.findByDevice(link, from, request.applicationId) : await this.deps.store.get(request.registrationId);
    } catch {
      return false;
    }
    if (r === undefined || r.link !== link || r.layer2Id !== from) return false;
    if (this.parked.get(r.registrationId) !== (request.kind === 'REGISTRATION_REQUEST' ? 'REG' : 'DEREG')) return false;
    this.counters.duplicatesAbsorbed++;
    this.observe((o) => o.duplicateAbsorbed(link, 'procedure'));
    return true;
  }

  /** Answers every held procedure GATEWAY_NOT_REGISTERED (REG: record removed; DEREG: back to REGISTERED, docs/adr/0003). */
  private async failParked(): Promise<void> {
    const outcome: ServerOutcome = { kind: 'FAILURE', reason: 'GATEWAY_NOT_REGISTERED', cause: 'the Gateway UE is not registered with the MSGin5G Server' };
    for (const [id, operation] of [...this.parked]) {
      try {
        const done = await this.queue.run(async () => {
          if (!this.parked.delete(id)) return undefined;
          this.retried.delete(id);
          const current = await this.deps.store.get(id);
          if (current === undefined || this.inflight.has(id)) return undefined;
          const t = transition(machineStateOf(current), { kind: 'SERVER_ANSWERED', operation, outcome }, this.deps.clock.now(), this.policy);
          return { current, t, replies: await this.apply(t) };
        });
        if (done === undefined) continue;
        await this.sendAfterCommit(done.replies);
        this.log(operation, done.current, outcome, done.t);
      } catch (err) {
        // Not committed: the record stays pending; its device's retry or the next start resumes it.
        this.refusalReason(err, { registrationId: id, operation });
      }
    }
  }

  /** POSTs every held procedure again (the gateway is registered again), within the in-flight bound. Resolves how many. Never rejects. */
  private async resumeParked(): Promise<number> {
    let resumed = 0;
    for (const id of [...this.parked.keys()]) {
      if (!this.accepting || !this.gatewayRegistered) break;
      while (this.inflight.size >= this.maxInFlight) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
      try {
        const replies = await this.queue.run(async () => {
          if (!this.parked.delete(id)) return [];
          const current = await this.deps.store.get(id);
          if (current === undefined || this.inflight.has(id)) return [];
          this.retried.add(id);
          resumed++;
          this.deps.logger.debug(fields(current), 'POSTing a held procedure again: the Gateway UE is registered again');
          return this.apply(transition(machineStateOf(current), { kind: 'RECOVERED' }, this.deps.clock.now(), this.policy));
        });
        await this.sendAfterCommit(replies);
      } catch (err) {
        this.refusalReason(err, { registrationId: id });
      }
    }
    return resumed;
  }

  /**
   * Registers every REGISTERED record at the server again, on its device's behalf (a resync: the
   * store does not change), at most `resyncInFlight` at once and `resyncPerSecond` started per
   * second; records a device asked for meanwhile go first. Stops early if the gateway is forgotten
   * again or stops. Resolves the counts of records resynced and of POSTs that failed.
   */
  private async resync(): Promise<{ resynced: number; failed: number }> {
    // Only the IDs are kept for the (long) resync; each record is read again when its turn comes.
    let ids: RegistrationId[];
    try {
      ids = (await this.deps.store.list(['REGISTERED'])).map((r) => r.registrationId);
    } catch (err) {
      this.refusalReason(err, { during: 'resync' });
      return { resynced: 0, failed: 0 };
    }
    this.unsynced.clear();
    this.resyncFirst.clear();
    for (const id of ids) this.unsynced.add(id);
    const tally = { resynced: 0, failed: 0 };
    const running = new Set<Promise<void>>();
    let windowStart = this.deps.clock.now();
    let started = 0;
    let next = 0;
    this.resyncRunning = true;
    try {
      while (this.gatewayRegistered && this.accepting) {
        const first = this.resyncFirst.values().next();
        let id: RegistrationId | undefined;
        if (first.done === true) id = ids[next++];
        else {
          id = first.value;
          this.resyncFirst.delete(id);
        }
        if (id === undefined) break;
        if (!this.unsynced.has(id)) continue;
        while (running.size >= this.resyncInFlight) await Promise.race(running);
        const now = this.deps.clock.now();
        if (now - windowStart >= 1000) {
          windowStart = now;
          started = 0;
        }
        if (started >= this.resyncPerSecond) {
          await this.deps.clock.sleep(windowStart + 1000 - now);
          windowStart = this.deps.clock.now();
          started = 0;
        }
        started++;
        const p: Promise<void> = this.resyncOne(id).then((result) => {
          if (result === 'RESYNCED') tally.resynced++;
          else if (result === 'FAILED') tally.failed++;
          running.delete(p);
        });
        running.add(p);
      }
      await Promise.all(running);
    } finally {
      this.resyncRunning = false;
    }
    return tally;
  }

  /** A device asked for record `id`, not yet resynced: resync it next (or now, if no resync runs). */
  private resyncSoon(id: RegistrationId): void {
    if (this.resyncRunning) this.resyncFirst.add(id);
    else if (this.resyncing.size < this.resyncInFlight) void this.resyncOne(id);
  }

  /** One resync POST (REG on the device's behalf) for record `id` if it is still REGISTERED and not yet resynced. Never rejects. */
  private async resyncOne(id: RegistrationId): Promise<ResyncResult> {
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    let record: Registration | undefined;
    try {
      record = await this.queue.run(async () => {
        if (!this.unsynced.has(id) || this.resyncing.has(id) || this.inflight.has(id)) return undefined;
        const r = await this.deps.store.get(id);
        if (r?.state !== 'REGISTERED') {
          this.unsynced.delete(id);
          return undefined;
        }
        this.resyncing.set(id, done);
        return r;
      });
    } catch (err) {
      release();
      this.refusalReason(err, { registrationId: id, during: 'resync' });
      return 'FAILED';
    }
    if (record === undefined) {
      release();
      return 'SKIPPED';
    }
    try {
      const generation = this.generation;
      if (!this.gatewayRegistered) return 'FORGOTTEN';
      this.counters.upstreamPosts++;
      const outcome = await this.deps.server.register({ ueServiceId: record.ueServiceId, gatewayUeServiceId: this.options.gatewayUeServiceId, applicationId: record.applicationId });
      if (outcome.kind === 'SUCCESS') {
        this.servedSinceReregistration = true;
        this.unsynced.delete(id);
        this.counters.resynced++;
        return 'RESYNCED';
      }
      if (outcome.reason === 'GATEWAY_NOT_REGISTERED') {
        this.gatewayForgotten(generation);
        return 'FORGOTTEN';
      }
      this.counters.resyncFailed++;
      this.deps.logger.debug({ ...fields(record), failureReason: outcome.reason, cause: outcome.cause }, 'resync REG failed; the record stays REGISTERED and is resynced when its device asks');
      return 'FAILED';
    } catch (err) {
      // The server link was closed (stop).
      this.deps.logger.debug({ ...fields(record), err: err instanceof Error ? err.message : String(err) }, 'resync REG not completed');
      return 'FAILED';
    } finally {
      this.resyncing.delete(id);
      release();
    }
  }

  /** Sends a response on a link; a send failure is logged and counted, never thrown (seed CR step c). */
  private async respond(link: LinkId, to: Layer2Id, response: DeviceResponse): Promise<void> {
    const l = this.links.get(link);
    if (l === undefined) {
      this.counters.responseSendFailures++;
      this.deps.logger.warn({ link, layer2Id: to, response }, 'no device link instance of this name is running; response not sent');
      return;
    }
    try {
      await l.send(to, response);
      this.counters.responses++;
    } catch (err) {
      this.counters.responseSendFailures++;
      this.deps.logger.warn({ link, layer2Id: to, response, err: err instanceof Error ? err.message : String(err) }, 'response could not be sent');
    }
  }
}

function fields(r: Registration): Record<string, unknown> {
  return { registrationId: r.registrationId, applicationId: r.applicationId, layer2Id: r.layer2Id, link: r.link, ueServiceId: r.ueServiceId, state: r.state };
}

/**
 * The result of a gateway-initiated de-registration once its exchange ended. `started` is the
 * UNFINISHED result the decision made (the record as DEREGISTERING).
 */
function endResultOf(end: ExchangeEnd | undefined, started: EndRegistrationResult): EndRegistrationResult {
  if (end === undefined || started.kind !== 'UNFINISHED') return started;
  const after = end.transition.state;
  if (end.transition.note === 'STALE_ANSWER') return started;
  if (after.kind === 'ABSENT') return { kind: 'DEREGISTERED', registration: started.registration };
  if (after.kind === 'REGISTERED' && end.outcome.kind === 'FAILURE') return { kind: 'FAILED', reason: end.outcome.reason, registration: after.registration };
  return started;
}
