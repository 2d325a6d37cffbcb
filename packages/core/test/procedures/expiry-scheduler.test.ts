/**
 * Registration lifetime and expiry (docs/adr/0011-registration-lifetime.md): the grant rule, the
 * refresh, and the expiry scheduler over FakeClock (one timer, batches, pacing, races, restart).
 */
import {
  ExpiryScheduler,
  GatewayProcedures,
  silentLogger,
  type ApplicationId,
  type AuthorizationDecision,
  type Layer2Id,
  type Registration,
  type RegistrationId,
  type UeServiceId,
} from '@msgin5g/core';
import { FakeClock, FakeServerLink, InMemoryDeviceLink, InMemoryRegistrationStore, SequenceRegistrationIdAllocator } from '@msgin5g/core/testing';
import { A, B, APP, GW, reg, dereg } from './fixtures';

const LIFETIME_S = 60;

interface World {
  store: InMemoryRegistrationStore;
  server: FakeServerLink;
  link: InMemoryDeviceLink;
  clock: FakeClock;
  gw: GatewayProcedures;
  /** Authorization entry per Application ID (lifetimeS). */
  entries: Map<number, AuthorizationDecision>;
}

async function world(
  parts: Partial<Pick<World, 'store' | 'server' | 'clock'>> = {},
  expiry: { expiriesPerSecond?: number; maxConcurrent?: number; batchSize?: number; retryDelayMs?: number } = {},
  maxInFlight?: number,
): Promise<World> {
  const store = parts.store ?? new InMemoryRegistrationStore();
  const server = parts.server ?? new FakeServerLink();
  const clock = parts.clock ?? new FakeClock();
  const link = new InMemoryDeviceLink('udp');
  const entries = new Map<number, AuthorizationDecision>();
  const gw = new GatewayProcedures(
    { store, server, links: [link], clock, allocator: new SequenceRegistrationIdAllocator(), authorizer: { authorize: (_l, _d, app) => entries.get(app) ?? { allowed: true } }, logger: silentLogger },
    { gatewayUeServiceId: GW, registrationLifetimeS: LIFETIME_S, expiry, maxInFlight },
  );
  await link.start(gw);
  await gw.registerGateway();
  return { store, server, link, clock, gw, entries };
}

async function register(w: World, from = A, app = APP, lifetimeS?: number) {
  w.link.deliver(from, reg(app, lifetimeS));
  const r = await w.link.nextResponse(from);
  if (r.kind !== 'REGISTRATION_RESPONSE' || r.result !== 'SUCCESS') throw new Error(`registration failed: ${JSON.stringify(r)}`);
  await w.gw.whenIdle();
  return r;
}

const deregs = (w: World) => w.server.calls.filter((c) => c.operation === 'DEREG' && c.request.gatewayUeServiceId !== undefined);

/** A REGISTERED record as an earlier run left it. */
function stored(i: number, expiresAt: number, now: number): Registration {
  return {
    registrationId: (0x1000 + i).toString(16).padStart(16, '0') as RegistrationId,
    applicationId: (1000 + i) as ApplicationId,
    layer2Id: `127.0.0.1:${20000 + i}` as Layer2Id,
    link: 'udp',
    ueServiceId: `gw-1/127.0.0.1:${20000 + i}/${1000 + i}` as UeServiceId,
    state: 'REGISTERED',
    createdAt: now - 1000,
    updatedAt: now - 1000,
    expiresAt,
  };
}

/** Lets timers' async work run: bounded macrotask turns. */
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('the lifetime granted (docs/adr/0011)', () => {
  it('is the configured lifetime when the device asks none, min(asked, configured) when it asks, and the authorization entry overrides the configured one', async () => {
    const w = await world();
    w.entries.set(7, { allowed: true, lifetimeS: 600 });
    await expect(register(w, A, APP)).resolves.toMatchObject({ lifetimeS: LIFETIME_S });
    await expect(register(w, B, 43 as ApplicationId, 10)).resolves.toMatchObject({ lifetimeS: 10 });
    await expect(register(w, '127.0.0.1:40003' as Layer2Id, 44 as ApplicationId, 3600)).resolves.toMatchObject({ lifetimeS: LIFETIME_S });
    await expect(register(w, '127.0.0.1:40004' as Layer2Id, 7 as ApplicationId, 3600)).resolves.toMatchObject({ lifetimeS: 600 });
    w.entries.set(8, { allowed: true, lifetimeS: 600 });
    await expect(register(w, '127.0.0.1:40005' as Layer2Id, 8 as ApplicationId)).resolves.toMatchObject({ lifetimeS: 600 });
    const now = w.clock.now();
    const byApp = new Map((await w.store.list()).map((r) => [r.applicationId as number, r.expiresAt - now]));
    expect(Object.fromEntries(byApp)).toEqual({ 42: 60_000, 43: 10_000, 44: 60_000, 7: 600_000, 8: 600_000 });
  });

  it('a repeated REG refreshes: the new expiry is persisted before the answer, which carries the lifetime', async () => {
    const w = await world();
    const first = await register(w);
    w.clock.advance(30_000);
    const again = await register(w, A, APP, 20);
    expect(again).toEqual({ ...first, lifetimeS: 20 });
    await expect(w.store.list()).resolves.toMatchObject([{ expiresAt: w.clock.now() + 20_000, updatedAt: w.clock.now() }]);
    expect(w.server.calls.filter((c) => c.operation === 'REG' && c.request.gatewayUeServiceId !== undefined)).toHaveLength(1);
    expect(w.gw.counters.idempotentReplies).toBe(1);
  });
});

describe('the expiry scheduler', () => {
  it('ends a registration when its lifetime runs out, within the millisecond, with one timer and no scan', async () => {
    const w = await world();
    const dueQueries = jest.spyOn(w.store, 'dueExpiries');
    const r = await register(w);
    await expect(w.gw.startExpiry()).resolves.toBe(0);
    expect(w.gw.expiryStatus.armedFor).toBe(w.clock.now() + LIFETIME_S * 1000);
    expect(w.clock.pendingTimers).toBe(1);
    w.clock.advance(LIFETIME_S * 1000 - 1);
    await turns(5);
    await expect(w.store.count()).resolves.toBe(1);
    const queriesBefore = dueQueries.mock.calls.length;
    w.clock.advance(1);
    await w.gw.whenIdle();
    await expect(w.store.count()).resolves.toBe(0);
    expect(deregs(w)).toHaveLength(1);
    // One query found it, one more found nothing: no polling in between.
    expect(dueQueries.mock.calls.length - queriesBefore).toBe(2);
    expect(w.link.responsesTo(A)).toHaveLength(1); // the REG answer only: nothing sent on expiry
    expect(w.gw.expiryStatus.counters.expired).toBe(1);
    expect(w.clock.pendingTimers).toBe(0); // nothing left to expire: no timer
    // The device's late DEREG meets the tombstone.
    w.link.deliver(A, dereg(r.registrationId));
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS', registrationId: r.registrationId });
  });

  it('a refresh moves the expiry later; the timer armed for the old time finds nothing and re-arms', async () => {
    const w = await world();
    await register(w);
    await w.gw.startExpiry();
    w.clock.advance(40_000);
    await register(w); // refresh: 60 s from now
    w.clock.advance(20_000); // the old expiry
    await w.gw.whenIdle();
    await expect(w.store.count()).resolves.toBe(1);
    expect(w.gw.expiryStatus.armedFor).toBe(w.clock.now() + 40_000);
    w.clock.advance(40_000);
    await w.gw.whenIdle();
    await expect(w.store.count()).resolves.toBe(0);
  });

  it('a registration that expires sooner than the armed time moves the timer earlier', async () => {
    const w = await world();
    await register(w);
    await w.gw.startExpiry();
    const t0 = w.clock.now();
    expect(w.gw.expiryStatus.armedFor).toBe(t0 + 60_000);
    await register(w, B, 43 as ApplicationId, 5);
    expect(w.gw.expiryStatus.armedFor).toBe(t0 + 5_000);
    expect(w.clock.pendingTimers).toBe(1);
    w.clock.advance(5_000);
    await w.gw.whenIdle();
    await expect(w.store.list()).resolves.toMatchObject([{ applicationId: APP }]);
    expect(w.gw.expiryStatus.armedFor).toBe(t0 + 60_000);
  });

  it('mass expiry: batches, at most expiriesPerSecond started in any second, at most maxConcurrent at once', async () => {
    const clock = new FakeClock();
    const store = new InMemoryRegistrationStore();
    const t0 = clock.now();
    for (let i = 0; i < 250; i++) await store.insert(stored(i, t0 - 1000 + i, t0));
    const server = new FakeServerLink();
    const w = await world({ store, server, clock }, { expiriesPerSecond: 100, batchSize: 64, maxConcurrent: 8 });
    const starts: number[] = [];
    const end = w.gw.endRegistration.bind(w.gw);
    jest.spyOn(w.gw, 'endRegistration').mockImplementation((id, cause) => {
      starts.push(clock.now());
      return end(id, cause);
    });
    const batches = jest.spyOn(store, 'dueExpiries');
    await expect(w.gw.startExpiry()).resolves.toBe(250);
    await w.gw.whenIdle();
    await expect(store.count()).resolves.toBe(0);
    expect(starts).toHaveLength(250);
    expect(deregs(w)).toHaveLength(250);
    for (let i = 100; i < starts.length; i++) expect(starts[i]! - starts[i - 100]!).toBeGreaterThanOrEqual(1000);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(2490);
    expect(batches.mock.calls.map((c) => c[1])).toEqual([64, 64, 64, 64, 64]); // 4 full-or-partial batches, then an empty read
    expect(w.gw.expiryStatus.counters).toMatchObject({ expired: 250, postponed: 0, skipped: 0 });
  });

  it('keeps maxConcurrent ends in flight at most', async () => {
    const clock = new FakeClock();
    const store = new InMemoryRegistrationStore();
    for (let i = 0; i < 20; i++) await store.insert(stored(i, clock.now() - 10, clock.now()));
    const server = new FakeServerLink();
    const w = await world({ store, server, clock }, { expiriesPerSecond: 1000, maxConcurrent: 3 });
    server.hold();
    const sweeping = w.gw.startExpiry();
    let most = 0;
    for (let round = 0; round < 200 && (await store.count()) > 0; round++) {
      await turns(2);
      most = Math.max(most, server.pending);
      server.release();
      server.hold();
    }
    server.release();
    await expect(sweeping).resolves.toBe(20);
    expect(most).toBe(3);
  });

  it('after a restart, ends at start what expired while the gateway was down, sending nothing to the devices', async () => {
    const clock = new FakeClock();
    const store = new InMemoryRegistrationStore();
    const now = clock.now();
    for (let i = 0; i < 5; i++) await store.insert(stored(i, now - 3_600_000 + i, now));
    await store.insert(stored(9, now + 10_000, now)); // not yet
    const w = await world({ store, clock });
    await w.gw.recover();
    await expect(w.gw.startExpiry()).resolves.toBe(5);
    await expect(store.list()).resolves.toMatchObject([{ applicationId: 1009 }]);
    expect(w.link.sent).toEqual([]);
    expect(w.gw.expiryStatus.armedFor).toBe(now + 10_000);
  });

  it('a failed expiry keeps the registration and tries again retryDelayMs later (no hammering)', async () => {
    const w = await world({}, { retryDelayMs: 30_000 });
    await register(w);
    await w.gw.startExpiry();
    w.server.answerNext({ kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: 'deadline' });
    w.clock.advance(LIFETIME_S * 1000);
    await w.gw.whenIdle();
    await expect(w.store.list()).resolves.toMatchObject([{ state: 'REGISTERED', expiresAt: w.clock.now() + 30_000 }]);
    // The failed DEREG put the record back to REGISTERED during the sweep, which told the scheduler
    // of its old (past) expiry: one more sweep at once finds nothing due and arms for the retry.
    w.clock.advance(0);
    await w.gw.whenIdle();
    expect(deregs(w)).toHaveLength(1);
    expect(w.gw.expiryStatus.armedFor).toBe(w.clock.now() + 30_000);
    w.clock.advance(30_000);
    await w.gw.whenIdle();
    await expect(w.store.count()).resolves.toBe(0);
    expect(deregs(w)).toHaveLength(2);
  });

  it('race: the device de-registers at the same moment and wins; the expiry skips it', async () => {
    const w = await world();
    const r = await register(w);
    await w.gw.startExpiry();
    w.server.hold();
    w.clock.advance(LIFETIME_S * 1000 - 1);
    w.link.deliver(A, dereg(r.registrationId));
    for (let i = 0; i < 50 && w.server.pending === 0; i++) await turns(1);
    w.clock.advance(1); // the timer fires while the device's DEREG is pending
    await turns(5);
    w.server.release();
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS' });
    await w.gw.whenIdle();
    expect(deregs(w)).toHaveLength(1);
    expect(w.gw.expiryStatus.counters.expired).toBe(0);
  });

  it('race: the expiry comes first; the device DEREG gets CONGESTION, then its retry the tombstone', async () => {
    const w = await world();
    const r = await register(w);
    await w.gw.startExpiry();
    w.server.hold();
    w.clock.advance(LIFETIME_S * 1000);
    for (let i = 0; i < 50 && w.server.pending === 0; i++) await turns(1);
    w.link.deliver(A, dereg(r.registrationId));
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'CONGESTION' });
    w.server.release();
    await w.gw.whenIdle();
    w.link.deliver(A, dereg(r.registrationId));
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS', registrationId: r.registrationId });
    expect(deregs(w)).toHaveLength(1);
  });

  it('race: a refresh after the sweep read the record but before its turn wins (NOT_DUE, skipped)', async () => {
    const w = await world({}, { maxConcurrent: 1 });
    await register(w, A, APP);
    await register(w, B, 43 as ApplicationId);
    await w.gw.startExpiry();
    w.server.hold();
    w.clock.advance(LIFETIME_S * 1000); // both due; A's end goes first and is held at the server
    for (let i = 0; i < 50 && w.server.pending === 0; i++) await turns(1);
    w.link.deliver(B, reg(43 as ApplicationId)); // B refreshes meanwhile
    await expect(w.link.nextResponse(B)).resolves.toMatchObject({ result: 'SUCCESS', lifetimeS: LIFETIME_S });
    w.server.release();
    await w.gw.whenIdle();
    await expect(w.store.list()).resolves.toMatchObject([{ layer2Id: B, state: 'REGISTERED' }]);
    expect(w.gw.expiryStatus.counters).toMatchObject({ expired: 1, skipped: 1 });
  });

  it('stopAccepting stops the scheduler: the timer is cancelled', async () => {
    const w = await world();
    await register(w);
    await w.gw.startExpiry();
    expect(w.clock.pendingTimers).toBe(1);
    w.gw.stopAccepting();
    expect(w.clock.pendingTimers).toBe(0);
    w.clock.advance(LIFETIME_S * 1000);
    await w.gw.whenIdle();
    await expect(w.store.count()).resolves.toBe(1);
  });
});

describe('ExpiryScheduler on its own', () => {
  it('an expiry told while a sweep runs (after its nextExpiry read) still moves the timer earlier', async () => {
    const clock = new FakeClock();
    const store = new InMemoryRegistrationStore();
    const now = clock.now();
    await store.insert(stored(1, now + 86_400_000, now));
    const scheduler = new ExpiryScheduler({ store, clock, logger: silentLogger, end: async () => ({ kind: 'UNKNOWN_REGISTRATION_ID' }), postpone: async () => undefined });
    const realNext = store.nextExpiry.bind(store);
    jest.spyOn(store, 'nextExpiry').mockImplementationOnce(async () => {
      const next = await realNext();
      // A device registers with a 2 s lifetime between the read and the arming.
      scheduler.expiryAt(now + 2000);
      return next;
    });
    await scheduler.start();
    expect(scheduler.armedFor).toBe(now + 2000);
    expect(clock.pendingTimers).toBe(1);
  });

  it('refuses options out of range', () => {
    const deps = { store: new InMemoryRegistrationStore(), clock: new FakeClock(), logger: silentLogger, end: async () => ({ kind: 'UNKNOWN_REGISTRATION_ID' as const }), postpone: async () => undefined };
    expect(() => new ExpiryScheduler(deps, { expiriesPerSecond: 0 })).toThrow(RangeError);
    expect(() => new ExpiryScheduler(deps, { maxConcurrent: 0 })).toThrow(RangeError);
    expect(() => new ExpiryScheduler(deps, { batchSize: 1.5 })).toThrow(RangeError);
  });
});
