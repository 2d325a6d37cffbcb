/**
 * `ExpiryScheduler`: ends each registration whose lifetime ran out, with cause EXPIRED
 * (docs/adr/0011-registration-lifetime.md, docs/architecture.md §3).
 *
 * One timer, armed for the earliest `expiresAt` of any REGISTERED record (`store.nextExpiry()`, one
 * index probe). When it fires, the due records are read earliest first in batches
 * (`store.dueExpiries(now, batchSize)`, an index range) and each is ended through the procedures'
 * `endRegistration(id, 'EXPIRED')`, which re-checks, on the serial queue, that the record is still
 * REGISTERED and still due: a device that refreshed or de-registered in the meantime wins. Then the
 * timer is armed again. A new or refreshed registration that expires before the armed time moves the
 * timer earlier ({@link expiryAt}). At start, one sweep ends what expired while the gateway was down.
 *
 * Pacing: ends start at most `expiriesPerSecond` a second (default 100) and at most
 * `maxConcurrent` are in flight at once (default 64; `endRegistration` also keeps to the gateway's
 * `maxInFlight`). Each end is one confirmable DEREG upstream, and one upstream socket may spend
 * ~265 Message IDs a second without reuse inside EXCHANGE_LIFETIME (65 536 / 247 s,
 * packages/coap-server-link/src/message-id-budget.ts), so a mass expiry takes at most ~40 % of that
 * budget and leaves the rest to device requests.
 *
 * A failed end (server refused or unreachable, gateway not registered) leaves the record REGISTERED;
 * its `expiresAt` is moved `retryDelayMs` ahead (default 60 s) so the sweep does not hammer the
 * server, and it is tried again then. A store error stops the sweep; it is tried again after
 * `retryDelayMs`.
 *
 * Rejected alternatives: a scan of every record each second (O(n) a second at 100k registrations
 * for nothing most of the time), and a timer per registration (100k pending timers, lost on restart
 * anyway, and each refresh has to find and move its own).
 */
import type { RegistrationId } from '../ids';
import type { Clock, ClockTimer } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { RegistrationStore } from '../ports/registration-store';
import type { EndRegistrationResult } from './gateway-procedures';

export interface ExpirySchedulerOptions {
  /** Most expiries started per second, > 0. Default {@link DEFAULT_EXPIRIES_PER_SECOND}. */
  readonly expiriesPerSecond?: number;
  /** Most expiries in flight at once, ≥ 1. Default 64. */
  readonly maxConcurrent?: number;
  /** Records read per store query, ≥ 1. Default 256. */
  readonly batchSize?: number;
  /** After a failed expiry (or a store error), how long until it is tried again, ms. Default 60 000. */
  readonly retryDelayMs?: number;
}

/** Default pace of a mass expiry, ends started per second (~40 % of one upstream socket's Message ID budget). */
export const DEFAULT_EXPIRIES_PER_SECOND = 100;

/** What the scheduler needs of the procedures. */
export interface ExpirySchedulerDeps {
  readonly store: RegistrationStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Ends one registration with cause EXPIRED (`GatewayProcedures.endRegistration`). */
  end(registrationId: RegistrationId): Promise<EndRegistrationResult>;
  /** Moves a still-due REGISTERED record's `expiresAt` to `until` (ms), on the serial queue. */
  postpone(registrationId: RegistrationId, until: number): Promise<void>;
}

/** Counters, monotonic. */
export interface ExpiryCounters {
  /** Registrations ended by expiry. */
  expired: number;
  /** Ends that failed and were postponed. */
  postponed: number;
  /** Due records found refreshed, busy or gone when their turn came. */
  skipped: number;
  /** Sweeps run (timer firings and the one at start). */
  sweeps: number;
}

export class ExpiryScheduler {
  readonly counters: ExpiryCounters = { expired: 0, postponed: 0, skipped: 0, sweeps: 0 };
  private readonly intervalMs: number;
  private readonly maxConcurrent: number;
  private readonly batchSize: number;
  private readonly retryDelayMs: number;
  private timer: ClockTimer | undefined;
  private armedAt: number | undefined;
  private running = false;
  private stopped = true;
  /** Earliest time the next end may start (pacing), ms. */
  private nextStartAt = 0;
  private sweepDone: Promise<void> = Promise.resolve();

  /** @throws RangeError for an option out of range. */
  constructor(
    private readonly deps: ExpirySchedulerDeps,
    options: ExpirySchedulerOptions = {},
  ) {
    const rate = options.expiriesPerSecond ?? DEFAULT_EXPIRIES_PER_SECOND;
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`expiriesPerSecond must be > 0, got ${rate}`);
    this.intervalMs = 1000 / rate;
    this.maxConcurrent = positiveInteger(options.maxConcurrent ?? 64, 'maxConcurrent');
    this.batchSize = positiveInteger(options.batchSize ?? 256, 'batchSize');
    this.retryDelayMs = positiveInteger(options.retryDelayMs ?? 60_000, 'retryDelayMs');
  }

  /** When the timer is armed for (ms since the epoch), `undefined` when it is not. */
  get armedFor(): number | undefined {
    return this.armedAt;
  }

  /**
   * Ends what is due now (what expired while the gateway was down), then arms the timer. Call after
   * the gateway's own registration and `recover()`. Resolves how many registrations that first
   * sweep ended.
   */
  async start(): Promise<number> {
    this.stopped = false;
    const before = this.counters.expired;
    await this.runSweep();
    return this.counters.expired - before;
  }

  /** Stops: the timer is cancelled and a running sweep starts no more ends (those started finish). */
  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  /** Resolves when no sweep is running. */
  whenIdle(): Promise<void> {
    return this.sweepDone;
  }

  /**
   * A REGISTERED record's `expiresAt` was set (ms since the epoch): a new registration, a refresh,
   * a failed de-registration. Moves the timer earlier if needed; a running sweep re-arms from the
   * store when it ends, so it is told nothing.
   */
  expiryAt(expiresAt: number): void {
    if (this.stopped || this.running) return;
    if (this.armedAt === undefined || expiresAt < this.armedAt) this.arm(expiresAt);
  }

  private arm(at: number): void {
    this.disarm();
    this.armedAt = at;
    this.timer = this.deps.clock.startTimer(at - this.deps.clock.now(), () => {
      this.timer = undefined;
      this.armedAt = undefined;
      void this.runSweep();
    });
  }

  private disarm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.armedAt = undefined;
  }

  private runSweep(): Promise<void> {
    if (this.running || this.stopped) return this.sweepDone;
    this.running = true;
    this.disarm();
    this.sweepDone = this.sweep().finally(() => {
      this.running = false;
    });
    return this.sweepDone;
  }

  /** One sweep: every due record, batch by batch, paced; then the timer for the next one. Never rejects. */
  private async sweep(): Promise<void> {
    this.counters.sweeps++;
    const { store, clock, logger } = this.deps;
    try {
      let ended = 0;
      // Each round ends, postpones or skips every record it read, so they leave the due set; the
      // bound only guards against a store that keeps returning the same records.
      for (let round = 0; !this.stopped && round < 1_000_000; round++) {
        const due = await store.dueExpiries(clock.now(), this.batchSize);
        if (due.length === 0) break;
        const before = this.counters.expired + this.counters.postponed + this.counters.skipped;
        await this.expire(due.map((r) => r.registrationId));
        ended += due.length;
        if (this.counters.expired + this.counters.postponed + this.counters.skipped === before) break;
      }
      if (ended > 0) logger.info({ handled: ended, expired: this.counters.expired, postponed: this.counters.postponed }, 'expiry sweep done');
      if (this.stopped) return;
      const next = await store.nextExpiry();
      if (next !== undefined) this.arm(next);
    } catch (err) {
      logger.warn({ err: err instanceof Error ? err.message : String(err), retryInMs: this.retryDelayMs }, 'expiry sweep failed; trying again later');
      if (!this.stopped) this.arm(clock.now() + this.retryDelayMs);
    }
  }

  /** Ends the records, paced, at most maxConcurrent at once. Rejects on the first store error (the rest are not started). */
  private async expire(ids: readonly RegistrationId[]): Promise<void> {
    const active = new Set<Promise<void>>();
    let failure: unknown;
    for (const id of ids) {
      if (this.stopped || failure !== undefined) break;
      const wait = this.nextStartAt - this.deps.clock.now();
      if (wait > 0) await this.deps.clock.sleep(wait);
      this.nextStartAt = Math.max(this.nextStartAt, this.deps.clock.now()) + this.intervalMs;
      while (active.size >= this.maxConcurrent) await Promise.race(active);
      const p = this.expireOne(id).then(
        () => void active.delete(p),
        (err: unknown) => {
          active.delete(p);
          failure ??= err;
        },
      );
      active.add(p);
    }
    await Promise.all(active);
    if (failure !== undefined) throw failure;
  }

  private async expireOne(id: RegistrationId): Promise<void> {
    const result = await this.deps.end(id);
    switch (result.kind) {
      case 'DEREGISTERED':
        this.counters.expired++;
        return;
      case 'FAILED':
        if (result.reason === 'CONGESTION') {
          // The gateway is draining: no more ends this run; the next start sweeps again.
          this.stop();
          this.counters.skipped++;
          return;
        }
        this.counters.postponed++;
        await this.deps.postpone(id, this.deps.clock.now() + this.retryDelayMs);
        return;
      case 'NOT_DUE':
      case 'BUSY':
      case 'UNKNOWN_REGISTRATION_ID':
      case 'UNFINISHED':
        this.counters.skipped++;
        return;
      default: {
        const never: never = result;
        throw new Error(`unexpected end result ${JSON.stringify(never)}`);
      }
    }
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
