/**
 * Lifecycle of a running Gateway UE process (docs/architecture.md §2 "The gateway's own registration", §3
 * "Restart"):
 *
 * start: open the store (the container does) → start every device link (devices get
 * GATEWAY_NOT_REGISTERED until the next step) → start the MSGin5G-1 inbox, whose URI the REG carries
 * (docs/adr/0013) → register the gateway's own UE Service ID, retrying
 * while the server does not accept it (a warn line per failed attempt; delays double from
 * `registerRetryMs` up to `registerRetryMaxMs`, see {@link registerRetryDelayMs}; a first attempt
 * still unanswered after {@link firstAnswerWarnMs} is reported at once, while it goes on) → resume
 * procedures an earlier run left pending → start the expiry scheduler, which first ends the
 * registrations that expired while the gateway was down (in the background, paced) → purge expired
 * tombstones every minute.
 *
 * Later, when the server forgets the gateway, the core registers it again with the same backoff
 * and resyncs its devices (docs/adr/0012-server-forgot-the-gateway.md).
 *
 * stop (SIGINT/SIGTERM): refuse new requests (CONGESTION) → wait up to `drainTimeoutMs` for
 * in-flight procedures → de-register the gateway → close links, the server link and the store.
 * Whatever was still in flight stays REGISTERING/DEREGISTERING in the store and is finished by the
 * next start, because every state is persisted before its POST.
 */
import 'reflect-metadata';
import type { GatewayProcedures, LinkId, LinkInstance, Logger, RegistrationStore, ServerInbox, ServerLink } from '@msgin5g/core';
import { inject, injectable, multiInject, optional } from 'inversify';
import type { GatewayConfig } from './config';
import { TOKENS } from './tokens';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * The wait after failed attempt `attempt` (1, 2, …) of the gateway's own registration, ms: `baseMs`
 * doubled per attempt (`baseMs`, 2·`baseMs`, 4·`baseMs`, …), never above `maxMs`.
 */
export function registerRetryDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
}

/**
 * How long the first registration attempt may stay unanswered before a warn says so, ms: 3 000, or
 * half the server deadline when that is shorter. An unreachable server is then reported within
 * seconds of start-up, not after a whole deadline (30 s by default, docs/adr/0006); the attempt
 * goes on, and its end is logged as usual. Rejected: a shorter deadline for the first attempt,
 * which would fail a slow but working server's first answer and cost a retry.
 */
export function firstAnswerWarnMs(deadlineMs: number): number {
  return Math.min(3000, Math.floor(deadlineMs / 2));
}

@injectable()
export class GatewayRuntime {
  private stopping = false;
  private purgeTimer: NodeJS.Timeout | undefined;
  private registration: Promise<void> | undefined;
  /** Link instances whose `start` resolved and which are not stopped: the readiness check "links bound". */
  private readonly bound = new Set<LinkId>();
  private inboxBound = false;

  constructor(
    @inject(TOKENS.Config) private readonly config: GatewayConfig,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.RegistrationStore) private readonly store: RegistrationStore,
    @inject(TOKENS.ServerLink) private readonly server: ServerLink,
    @multiInject(TOKENS.DeviceLink) @optional() private readonly links: LinkInstance[] = [],
    @inject(TOKENS.GatewayProcedures) readonly procedures: GatewayProcedures,
    @inject(TOKENS.ServerInbox) @optional() private readonly inbox?: ServerInbox,
  ) {}

  /**
   * Starts the links and begins the gateway's own registration. Resolves once the links listen; the
   * registration and recovery go on in the background (`ready` resolves when they are done).
   * @throws DeviceLinkError when a link cannot bind (for example the UDP port is in use).
   */
  async start(): Promise<void> {
    if (this.config.authorization === 'open') {
      this.logger.warn({ authorization: 'open' }, 'authorization is OPEN: every device that asks is registered');
    } else {
      this.logger.info({ authorization: this.config.authorization }, 'authorization list loaded');
    }
    for (const { id, link } of this.links) {
      await link.start(this.procedures.handlerFor(id));
      this.bound.add(id);
      this.logger.info({ link: id, kind: link.kind, endpoint: link.endpoint }, 'device link listening');
    }
    // Before the gateway's REG, which tells the server where it is (notifyUri, docs/adr/0013).
    if (this.inbox !== undefined) {
      await this.inbox.start(this.procedures); // logs "server inbox listening" with its notifyUri
      this.inboxBound = true;
    }
    // Never rejects: a failed recovery leaves records pending, and each is resumed by its device's
    // retry (or the next start); the gateway keeps serving.
    this.registration = this.registerAndRecover().catch((err: unknown) => {
      if (!this.stopping) this.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'registration or recovery at start-up failed; pending records are resumed by device retries or the next start');
    });
    this.purgeTimer = setInterval(() => {
      this.procedures.purgeTombstones().catch((err: unknown) => this.logger.warn({ err: String(err) }, 'tombstone purge failed'));
    }, 60_000);
    this.purgeTimer.unref();
  }

  /** Resolves when the gateway is registered and earlier pending procedures are resumed (or stop began). */
  get ready(): Promise<void> {
    return this.registration ?? Promise.resolve();
  }

  /** Configured link instances that are not bound (before start, or once stop began), for `/readyz`. */
  get unboundLinks(): LinkId[] {
    return this.links.filter(({ id }) => !this.bound.has(id)).map(({ id }) => id);
  }

  /** Whether `stop` began (drain, then de-registration): the gateway takes no new requests. */
  get isStopping(): boolean {
    return this.stopping;
  }

  /** Device links in use, for logs and tests. */
  get endpoints(): string[] {
    return this.links.map((l) => l.link.endpoint);
  }

  private async registerAndRecover(): Promise<void> {
    this.logger.info({ server: this.server.endpoint, ueServiceId: this.config.ueServiceId, deadlineMs: this.config.server.deadlineMs }, 'registering the Gateway UE with the MSGin5G Server; devices get GATEWAY_NOT_REGISTERED until it answers');
    for (let attempt = 1; !this.stopping; attempt++) {
      let outcome;
      const waitedMs = firstAnswerWarnMs(this.config.server.deadlineMs);
      const slow =
        attempt === 1
          ? setTimeout(() => {
              this.logger.warn({ server: this.server.endpoint, waitedMs, deadlineMs: this.config.server.deadlineMs }, 'no answer from the MSGin5G Server yet: is it running and reachable? still waiting');
            }, waitedMs).unref()
          : undefined;
      try {
        outcome = await this.procedures.registerGateway();
      } catch (err) {
        // The server link was closed under it (stop began): nothing to retry.
        if (this.stopping) return;
        throw err;
      } finally {
        clearTimeout(slow);
      }
      if (outcome.kind === 'SUCCESS') break;
      const retryInMs = registerRetryDelayMs(attempt, this.config.registerRetryMs, this.config.registerRetryMaxMs);
      this.logger.warn({ server: this.server.endpoint, attempt, failureReason: outcome.reason, cause: outcome.cause, retryInMs }, 'MSGin5G Server did not accept the gateway registration; retrying');
      await sleep(retryInMs);
    }
    if (this.stopping) return;
    const resumed = await this.procedures.recover();
    this.logger.info(
      { ueServiceId: this.config.ueServiceId, server: this.server.endpoint, resumed, registrations: await this.store.count(), registrationLifetimeS: this.config.registrationLifetimeS },
      'gateway ready',
    );
    if (this.stopping) return;
    // Not awaited: a mass expiry at start is paced (expiry.expiriesPerSecond) and may take a while;
    // the gateway serves meanwhile.
    this.procedures.startExpiry().then(
      (expired) => {
        if (expired > 0) this.logger.info({ expired }, 'registrations that expired while the gateway was down were de-registered');
      },
      (err: unknown) => this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'expiry scheduler did not start'),
    );
  }

  /** Drains, de-registers the gateway, and closes everything. Idempotent. */
  async stop(reason: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.purgeTimer !== undefined) clearInterval(this.purgeTimer);
    this.logger.info({ reason, inFlight: this.procedures.inFlight }, 'stopping: draining in-flight procedures');
    this.procedures.stopAccepting();
    const budgetEnd = Date.now() + this.config.drainTimeoutMs;
    const drained = await Promise.race([this.procedures.whenIdle().then(() => true), sleep(this.config.drainTimeoutMs).then(() => false)]);
    if (!drained) {
      this.logger.warn({ inFlight: this.procedures.inFlight, drainTimeoutMs: this.config.drainTimeoutMs }, 'drain timed out; pending procedures stay persisted and are finished by the next start');
    }
    if (this.procedures.isGatewayRegistered) {
      // The self-de-registration gets what is left of the drain budget (at least 1 s), not a whole
      // server deadline: a stop must not hang on an unreachable server. Closing the server link
      // below ends the exchange if it is still open.
      const left = Math.max(1000, budgetEnd - Date.now());
      const done = await Promise.race([
        this.procedures.deregisterGateway().then(
          () => true,
          (err: unknown) => {
            this.logger.warn({ err: String(err) }, 'gateway de-registration failed');
            return true;
          },
        ),
        sleep(left).then(() => false),
      ]);
      if (!done) this.logger.warn({ waitedMs: left }, 'gateway de-registration unanswered; stopping anyway');
    }
    this.bound.clear();
    // Deliveries still at the handler stay unanswered: the server delivers them again (the queue drops the repeat).
    if (this.inbox !== undefined && this.inboxBound) await this.inbox.stop();
    for (const { link } of this.links) await link.stop();
    await this.server.close();
    await this.store.close();
    this.logger.info({ counters: this.procedures.counters }, 'stopped');
  }
}
