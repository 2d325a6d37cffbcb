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
 * @see TS 24.538 6.3.2.1.2 (seed CR), TS 23.554 §8.11.2 / §8.11.3
 */
import { defaultDeviceUeServiceId, type ApplicationId, type Layer2Id, type LinkId, type LinkKind, type RegistrationId, type UeServiceId } from '../ids';
import type { DeviceRequest, DeviceResponse, FailureReason, RegistrationRequest, DeregistrationRequest } from '../messages';
import { assertNever, failureResponse } from '../messages';
import type { Clock } from '../ports/clock';
import type { DeviceAuthorizer } from '../ports/device-authorizer';
import type { DeviceLink, DeviceLinkHandler, DeviceProtocolError } from '../ports/device-link';
import { NOOP_GATEWAY_OBSERVER, type GatewayObserver } from '../ports/gateway-observer';
import { debugEnabled, type Logger } from '../ports/logger';
import type { RegistrationIdAllocator } from '../ports/registration-id-allocator';
import { RegistrationStoreError, type RegistrationStore } from '../ports/registration-store';
import type { ServerLink, ServerOutcome, ServerRequest } from '../ports/server-link';
import type { Registration } from '../registration';
import { DEFAULT_MACHINE_POLICY, machineStateOf, transition, type Command, type MachineEvent, type MachinePolicy, type MachineState, type Transition, type UpstreamOperation } from '../state-machine';
import { RateLimitedLog } from './rate-limited-log';
import { SerialQueue } from './serial-queue';
import { TokenBuckets } from './token-buckets';

export interface GatewayProceduresDeps {
  readonly store: RegistrationStore;
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
}

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
});

/** Most protocol-error warnings logged per second; the rest are counted and summarised. */
export const PROTOCOL_ERROR_LOGS_PER_S = 20;
/** Most registration-store-error warnings logged per second (a locked file fails every request). */
export const STORE_ERROR_LOGS_PER_S = 5;

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

export class GatewayProcedures implements DeviceLinkHandler {
  readonly counters: GatewayCounters = newCounters();
  private readonly queue = new SerialQueue();
  private readonly inflight = new Map<RegistrationId, Promise<void>>();
  /** Waiting for an in-flight slot (recovery); one is woken per finished exchange. */
  private readonly slotWaiters: Array<() => void> = [];
  private readonly handling = new Set<Promise<void>>();
  private readonly links = new Map<LinkId, DeviceLink>();
  private readonly policy: MachinePolicy;
  private readonly maxRegistrations: number;
  private readonly maxInFlight: number;
  private readonly rate: TokenBuckets;
  private gatewayRegistered = false;
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
    this.rate = new TokenBuckets(options.requestsPerSecondPerDevice ?? 20, options.burstPerDevice ?? 40);
    this.protocolErrorLog = new RateLimitedLog(deps.logger, PROTOCOL_ERROR_LOGS_PER_S, 'protocol errors from devices not logged one by one');
    this.storeErrorLog = new RateLimitedLog(deps.logger, STORE_ERROR_LOGS_PER_S, 'registration store errors not logged one by one');
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
   * Registers the Gateway UE's own UE Service ID with the server (architecture §2, "The gateway's own
   * registration"). Until it succeeds, device requests get GATEWAY_NOT_REGISTERED.
   */
  async registerGateway(): Promise<ServerOutcome> {
    const outcome = await this.deps.server.register({ ueServiceId: this.options.gatewayUeServiceId });
    this.gatewayRegistered = outcome.kind === 'SUCCESS';
    this.deps.logger[outcome.kind === 'SUCCESS' ? 'info' : 'warn'](
      { ueServiceId: this.options.gatewayUeServiceId, outcome },
      outcome.kind === 'SUCCESS' ? 'Gateway UE registered with the MSGin5G Server' : 'Gateway UE registration failed',
    );
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
   * "Restart"): the POST is sent again and the response goes to the stored Layer-2 ID.
   * Resolves the number of records resumed.
   */
  async recover(): Promise<number> {
    const pending = await this.deps.store.list(['REGISTERING', 'DEREGISTERING']);
    for (const r of pending) {
      // Stop resuming once the gateway stops; what is left is resumed by the next start.
      if (!this.accepting) break;
      // At most maxInFlight exchanges at once, as for device requests: wait for a slot (woken one
      // at a time as exchanges end; not Promise.race over every exchange, which is quadratic).
      while (this.inflight.size >= this.maxInFlight) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
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

  /** Stops taking new device requests: they get CONGESTION ("retry later") while the gateway drains. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Resolves when no request is being handled and no upstream procedure is in flight. */
  async whenIdle(): Promise<void> {
    while (this.handling.size > 0 || this.inflight.size > 0) {
      await Promise.allSettled([...this.handling, ...this.inflight.values()]);
    }
  }

  /** Deletes expired tombstones; resolves how many. */
  async purgeTombstones(): Promise<number> {
    const purged = await this.queue.run(() => this.deps.store.purgeTombstones(this.deps.clock.now()));
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
      if (!this.gatewayRegistered) throw new Refusal('GATEWAY_NOT_REGISTERED');
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

    for (let attempt = 0; ; attempt++) {
      let replies: readonly Reply[];
      try {
        replies = await this.queue.run(async () => {
          const existing = await this.deps.store.findByDevice(link, from, applicationId);
          if (existing === undefined) await this.admitNewRegistration(link, from, applicationId);
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
          };
          const event: MachineEvent = { kind: 'REGISTRATION_REQUESTED', link, layer2Id: from, applicationId, candidate };
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
    if (t.note === 'DUPLICATE_ABSORBED' && (state.kind === 'REGISTERING' || state.kind === 'DEREGISTERING') && !this.inflight.has(state.registration.registrationId)) {
      // Resuming starts an exchange like a new procedure does: the same in-flight bound applies.
      if (this.inflight.size >= this.maxInFlight) throw new Refusal('CONGESTION');
      this.deps.logger.info(fields(state.registration), 'resuming a pending procedure that had no exchange in flight');
      return transition(state, { kind: 'RECOVERED' }, now, this.policy);
    }
    return t;
  }

  /**
   * Carries out a transition's commands in order, inside the queue: writes are applied, a POST is
   * reserved (it waits for the commit itself); responses are returned, to be sent by
   * {@link sendAfterCommit} once the writes are durable.
   */
  private async apply(t: Transition): Promise<Reply[]> {
    this.count(t);
    const replies: Reply[] = [];
    for (const c of t.commands) {
      if (c.kind === 'RESPOND') replies.push(c);
      else await this.execute(c);
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
        return;
      default:
        assertNever(t.note, 'transition note');
    }
  }

  /** The link instance of the record a transition stays on (a duplicate is absorbed only for a record). */
  private linkOf(t: Transition): LinkId {
    return t.state.kind === 'ABSENT' ? ('unknown' as LinkId) : t.state.registration.link;
  }

  private async execute(c: Exclude<Command, Reply>): Promise<void> {
    const { store, clock } = this.deps;
    switch (c.kind) {
      case 'INSERT':
        await store.insert(c.registration);
        return;
      case 'SET_STATE': {
        const updated = await store.transition(c.registrationId, c.from, c.to, clock.now());
        if (updated === undefined) throw new Error(`store state of ${c.registrationId} is not ${c.from}`);
        return;
      }
      case 'REMOVE':
        await store.remove(c.registrationId, c.tombstone);
        return;
      case 'POST':
        this.launch(c.operation, c.registration);
        return;
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
  private launch(operation: UpstreamOperation, registration: Registration): void {
    const id = registration.registrationId;
    const request: ServerRequest = {
      ueServiceId: registration.ueServiceId,
      gatewayUeServiceId: this.options.gatewayUeServiceId,
      applicationId: registration.applicationId,
    };
    this.counters.upstreamPosts++;
    if (this.debug) this.deps.logger.debug({ ...fields(registration), operation }, 'POST to the MSGin5G Server');
    const run = async () => {
      // The state that leads to this POST must be durable before the POST (architecture §3). If it
      // cannot be committed it is undone, and there is nothing to send.
      if (!(await this.committed(id, operation === 'REG' ? 'REGISTERING' : 'DEREGISTERING'))) {
        this.deps.logger.warn({ ...fields(registration), operation }, 'state could not be committed; POST not sent');
        return;
      }
      let outcome: ServerOutcome;
      try {
        const postedAt = this.deps.clock.now();
        outcome = operation === 'REG' ? await this.deps.server.register(request) : await this.deps.server.deregister(request);
        const seconds = Math.max(0, this.deps.clock.now() - postedAt) / 1000;
        this.observe((o) => o.upstreamAnswered(operation, seconds));
      } catch (err) {
        // The link is closed (shutdown): leave the record pending; the next start finishes it.
        this.deps.logger.warn({ ...fields(registration), operation, err: err instanceof Error ? err.message : String(err) }, 'upstream exchange not completed; left pending for the next start');
        return;
      }
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
          return;
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
      })
      .finally(() => {
        // Only our own entry: a later exchange for the same record may have replaced it.
        if (this.inflight.get(id) === p) this.inflight.delete(id);
        this.slotWaiters.shift()?.();
      });
    this.inflight.set(id, p);
  }

  private log(operation: UpstreamOperation, r: Registration, outcome: ServerOutcome, t: Transition): void {
    if (t.note === 'STALE_ANSWER') {
      this.deps.logger.warn({ ...fields(r), operation, outcome }, 'answer for a procedure no longer pending; dropped');
      return;
    }
    this.observe((o) => o.procedureFinished(operation, outcome.kind === 'SUCCESS' ? 'SUCCESS' : 'FAILURE', outcome.kind === 'SUCCESS' ? undefined : outcome.reason, r.link));
    if (outcome.kind === 'SUCCESS') {
      if (operation === 'REG') this.counters.registered++;
      else this.counters.deregistered++;
      // debug, not info: one line per procedure cost ~6 % of the gateway's CPU under load (docs/benchmarks.md);
      // the counters (`procedures_total`) say how many, failures stay at warn.
      if (this.debug) this.deps.logger.debug({ ...fields(r), state: t.state.kind, operation, note: outcome.note }, operation === 'REG' ? 'device registered' : 'device de-registered; mapping removed');
    } else {
      this.counters.failed++;
      this.deps.logger.warn({ ...fields(r), state: t.state.kind, operation, failureReason: outcome.reason, cause: outcome.cause }, `device ${operation} failed`);
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
