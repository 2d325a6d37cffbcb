/**
 * Gateway-initiated de-registration (`GatewayProcedures.endRegistration`, docs/architecture.md §3):
 * the kick and the expiry primitive. Each race of the device's own requests against it, in both
 * orders, over the fakes; and a restart half-way.
 */
import {
  GatewayProcedures,
  NOOP_GATEWAY_OBSERVER,
  RegistrationStoreError,
  silentLogger,
  type ApplicationId,
  type DeviceAuthorizer,
  type GatewayDeregistrationCause,
  type GatewayObserver,
  type Layer2Id,
  type LinkId,
  type RegistrationId,
  type UeServiceId,
} from '@msgin5g/core';
import { FakeClock, FakeServerLink, InMemoryDeviceLink, InMemoryRegistrationStore, SequenceRegistrationIdAllocator } from '@msgin5g/core/testing';
import { A, APP, GW, reg, dereg } from './fixtures';

const LIFETIME_S = 60;

interface World {
  store: InMemoryRegistrationStore;
  server: FakeServerLink;
  link: InMemoryDeviceLink;
  clock: FakeClock;
  gw: GatewayProcedures;
  ended: Array<[GatewayDeregistrationCause, LinkId]>;
}

async function world(parts: Partial<Pick<World, 'store' | 'server' | 'clock'>> = {}, options: { maxInFlight?: number } = {}): Promise<World> {
  const store = parts.store ?? new InMemoryRegistrationStore();
  const server = parts.server ?? new FakeServerLink();
  const clock = parts.clock ?? new FakeClock();
  const link = new InMemoryDeviceLink('udp');
  const ended: Array<[GatewayDeregistrationCause, LinkId]> = [];
  const observer: GatewayObserver = { ...NOOP_GATEWAY_OBSERVER, registrationEnded: (cause, l) => void ended.push([cause, l]) };
  const authorizer: DeviceAuthorizer = { authorize: () => ({ allowed: true }) };
  const gw = new GatewayProcedures(
    { store, server, links: [link], clock, allocator: new SequenceRegistrationIdAllocator(), authorizer, logger: silentLogger, observer },
    { gatewayUeServiceId: GW, maxInFlight: options.maxInFlight, registrationLifetimeS: LIFETIME_S },
  );
  await link.start(gw);
  await gw.registerGateway();
  return { store, server, link, clock, gw, ended };
}

async function registered(w: World, from = A, app = APP): Promise<RegistrationId> {
  w.link.deliver(from, reg(app));
  const r = await w.link.nextResponse(from);
  if (r.result !== 'SUCCESS') throw new Error(`registration failed: ${JSON.stringify(r)}`);
  await w.gw.whenIdle(); // its exchange has left the in-flight set
  return r.registrationId;
}

const deregs = (w: World) => w.server.calls.filter((c) => c.operation === 'DEREG' && c.request.gatewayUeServiceId !== undefined);
/** Lets pending promise chains run: a bounded number of macrotask turns. */
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};
/** Waits (bounded) until the fake server holds `n` calls. */
async function untilPending(server: FakeServerLink, n = 1): Promise<void> {
  for (let i = 0; i < 100 && server.pending < n; i++) await turns(1);
  expect(server.pending).toBe(n);
}

describe('endRegistration: the gateway de-registers a device on its behalf', () => {
  it('KICKED: DEREG at the server, mapping removed, tombstone kept, nothing sent to the device, observer told', async () => {
    const w = await world();
    const rid = await registered(w);
    const result = await w.gw.endRegistration(rid, 'KICKED');
    expect(result).toMatchObject({ kind: 'DEREGISTERED', registration: { registrationId: rid, applicationId: APP, layer2Id: A, state: 'DEREGISTERING', deregistrationCause: 'KICKED' } });
    expect(deregs(w)).toHaveLength(1);
    expect(deregs(w)[0]?.request.ueServiceId).toBe(`gw-1/${A}/42`);
    expect(w.server.registry.has(`gw-1/${A}/42` as UeServiceId)).toBe(false);
    await expect(w.store.get(rid)).resolves.toBeUndefined();
    await expect(w.store.getTombstone(rid, w.clock.now())).resolves.toMatchObject({ response: { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: rid, applicationId: APP } });
    expect(w.link.responsesTo(A)).toHaveLength(1); // the REG answer only
    expect(w.ended).toEqual([['KICKED', 'udp']]);
    expect(w.gw.counters.registrationsEnded).toBe(1);
    expect(w.gw.counters.deregistered).toBe(0); // not a device procedure
    // The device de-registers later: it gets the response it would have got, nothing goes upstream.
    w.link.deliver(A, dereg(rid));
    await expect(w.link.nextResponse(A)).resolves.toEqual({ kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: rid, applicationId: APP });
    expect(deregs(w)).toHaveLength(1);
  });

  it('persists DEREGISTERING with its cause before the POST', async () => {
    const w = await world();
    const rid = await registered(w);
    w.server.hold();
    const ending = w.gw.endRegistration(rid, 'KICKED');
    await untilPending(w.server);
    await expect(w.store.get(rid)).resolves.toMatchObject({ state: 'DEREGISTERING', deregistrationCause: 'KICKED' });
    w.server.release();
    await expect(ending).resolves.toMatchObject({ kind: 'DEREGISTERED' });
  });

  it('an unknown Registration ID (never known, or already de-registered) is UNKNOWN_REGISTRATION_ID with nothing upstream', async () => {
    const w = await world();
    await expect(w.gw.endRegistration('00000000000000ff' as RegistrationId, 'KICKED')).resolves.toEqual({ kind: 'UNKNOWN_REGISTRATION_ID' });
    const rid = await registered(w);
    await w.gw.endRegistration(rid, 'KICKED');
    await expect(w.gw.endRegistration(rid, 'KICKED')).resolves.toEqual({ kind: 'UNKNOWN_REGISTRATION_ID' });
    expect(deregs(w)).toHaveLength(1);
  });

  it.each([
    ['SERVER_UNREACHABLE', { kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: 'deadline' }],
    ['SERVER_REJECTED', { kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: '4.03' }],
  ] as const)('a server failure (%s) keeps the mapping REGISTERED (docs/adr/0003); the device can still de-register itself', async (reason, answer) => {
    const w = await world();
    const rid = await registered(w);
    w.server.answerNext(answer);
    const result = await w.gw.endRegistration(rid, 'KICKED');
    expect(result).toMatchObject({ kind: 'FAILED', reason, registration: { registrationId: rid, state: 'REGISTERED' } });
    const stored = await w.store.get(rid);
    expect(stored).toMatchObject({ state: 'REGISTERED' });
    expect(stored).not.toHaveProperty('deregistrationCause');
    expect(w.link.responsesTo(A)).toHaveLength(1);
    expect(w.ended).toEqual([]);
    w.link.deliver(A, dereg(rid));
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS', registrationId: rid });
  });

  it('EXPIRED ends a record only once its expiresAt has passed (NOT_DUE before, nothing upstream)', async () => {
    const w = await world();
    const rid = await registered(w);
    const r = await w.store.get(rid);
    expect(r?.expiresAt).toBe(w.clock.now() + LIFETIME_S * 1000);
    await expect(w.gw.endRegistration(rid, 'EXPIRED')).resolves.toMatchObject({ kind: 'NOT_DUE', registration: { registrationId: rid } });
    expect(deregs(w)).toHaveLength(0);
    w.clock.advance(LIFETIME_S * 1000);
    await expect(w.gw.endRegistration(rid, 'EXPIRED')).resolves.toMatchObject({ kind: 'DEREGISTERED' });
    expect(w.ended).toEqual([['EXPIRED', 'udp']]);
  });

  it('answers FAILED without a POST while the gateway is not registered, or draining', async () => {
    const w = await world();
    const rid = await registered(w);
    w.gw.stopAccepting();
    await expect(w.gw.endRegistration(rid, 'KICKED')).resolves.toMatchObject({ kind: 'FAILED', reason: 'CONGESTION' });
    await w.gw.deregisterGateway();
    await expect(w.gw.endRegistration(rid, 'KICKED')).resolves.toMatchObject({ kind: 'FAILED', reason: 'GATEWAY_NOT_REGISTERED' });
    expect(deregs(w)).toHaveLength(0);
    await expect(w.store.get(rid)).resolves.toMatchObject({ state: 'REGISTERED' });
  });

  it('keeps to maxInFlight: waits for a slot, then goes on', async () => {
    const w = await world({}, { maxInFlight: 1 });
    const rid = await registered(w);
    w.server.hold();
    w.link.deliver('127.0.0.1:40009' as Layer2Id, reg(9 as ApplicationId)); // takes the only slot
    await untilPending(w.server);
    let done = false;
    const ending = w.gw.endRegistration(rid, 'KICKED').finally(() => (done = true));
    await turns(20);
    expect(done).toBe(false);
    expect(w.server.pending).toBe(1);
    await expect(w.store.get(rid)).resolves.toMatchObject({ state: 'REGISTERED' });
    w.server.release();
    await expect(ending).resolves.toMatchObject({ kind: 'DEREGISTERED' });
  });
});

describe('endRegistration races (the serial queue decides; both orders)', () => {
  it('the device DEREG first: the end is BUSY, the device gets its answer, one DEREG upstream', async () => {
    const w = await world();
    const rid = await registered(w);
    w.server.hold();
    w.clock.advance(LIFETIME_S * 1000);
    w.link.deliver(A, dereg(rid));
    await untilPending(w.server); // the device's decision is taken and its POST is out
    const ending = w.gw.endRegistration(rid, 'EXPIRED');
    await expect(ending).resolves.toMatchObject({ kind: 'BUSY', registration: { state: 'DEREGISTERING' } });
    w.server.release();
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS', registrationId: rid });
    expect(deregs(w)).toHaveLength(1);
    expect(w.ended).toEqual([]);
  });

  it('the end first: the device DEREG meanwhile gets CONGESTION, its retry the tombstone; one DEREG upstream', async () => {
    const w = await world();
    const rid = await registered(w);
    w.server.hold();
    const ending = w.gw.endRegistration(rid, 'KICKED');
    await untilPending(w.server); // the end's decision is taken and its POST is out
    w.link.deliver(A, dereg(rid));
    await expect(w.link.nextResponse(A)).resolves.toEqual({ kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION', applicationId: APP });
    w.server.release();
    await expect(ending).resolves.toMatchObject({ kind: 'DEREGISTERED' });
    w.link.deliver(A, dereg(rid));
    await expect(w.link.nextResponse(A)).resolves.toEqual({ kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: rid, applicationId: APP });
    expect(deregs(w)).toHaveLength(1);
  });

  it('the end first and it fails: the device DEREG retried afterwards runs its own procedure', async () => {
    const w = await world();
    const rid = await registered(w);
    w.server.hold();
    w.server.answerNext({ kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: 'deadline' });
    const ending = w.gw.endRegistration(rid, 'KICKED');
    await untilPending(w.server);
    w.link.deliver(A, dereg(rid));
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'CONGESTION' });
    w.server.release();
    await expect(ending).resolves.toMatchObject({ kind: 'FAILED', reason: 'SERVER_UNREACHABLE' });
    w.link.deliver(A, dereg(rid));
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS', registrationId: rid });
    expect(deregs(w)).toHaveLength(2);
  });

  it('the device REG while the end is pending gets CONGESTION; after the end it gets a new Registration ID', async () => {
    const w = await world();
    const rid = await registered(w);
    w.server.hold();
    const ending = w.gw.endRegistration(rid, 'KICKED');
    await untilPending(w.server);
    w.link.deliver(A, reg());
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION' });
    w.server.release();
    await expect(ending).resolves.toMatchObject({ kind: 'DEREGISTERED' });
    const again = await registered(w);
    expect(again).not.toBe(rid);
  });

  it('the end while the device REG is pending is BUSY and leaves the registration to complete', async () => {
    const w = await world();
    w.server.hold();
    w.link.deliver(A, reg());
    await untilPending(w.server);
    const [r] = await w.store.list();
    await expect(w.gw.endRegistration(r!.registrationId, 'KICKED')).resolves.toMatchObject({ kind: 'BUSY', registration: { state: 'REGISTERING' } });
    w.server.release();
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS' });
    await expect(w.store.list()).resolves.toMatchObject([{ state: 'REGISTERED' }]);
  });

  it('issued in the same turn, whichever the queue takes first: one DEREG upstream, the device ends with a success', async () => {
    const w = await world();
    const rid = await registered(w);
    const ending = w.gw.endRegistration(rid, 'KICKED');
    w.link.deliver(A, dereg(rid));
    const result = await ending;
    expect(['DEREGISTERED', 'BUSY']).toContain(result.kind);
    const first = await w.link.nextResponse(A);
    if (first.result === 'FAILURE') {
      expect(first).toMatchObject({ failureReason: 'CONGESTION' });
      w.link.deliver(A, dereg(rid));
      await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS', registrationId: rid });
    } else {
      expect(first).toMatchObject({ registrationId: rid });
    }
    await w.gw.whenIdle();
    expect(deregs(w)).toHaveLength(1);
    await expect(w.store.count()).resolves.toBe(0);
  });

  it('two ends at once: one de-registers, the other is BUSY', async () => {
    const w = await world();
    const rid = await registered(w);
    const [first, second] = await Promise.all([w.gw.endRegistration(rid, 'KICKED'), w.gw.endRegistration(rid, 'EXPIRED')]);
    expect(first.kind).toBe('DEREGISTERED');
    expect(second.kind).toBe('BUSY');
    expect(deregs(w)).toHaveLength(1);
  });
});

describe('endRegistration across a restart', () => {
  it('a DEREGISTERING started by the gateway is finished by recover() and nothing is sent to the device', async () => {
    const store = new InMemoryRegistrationStore();
    const clock = new FakeClock();
    const server = new FakeServerLink();
    const w1 = await world({ store, server, clock });
    const rid = await registered(w1);
    server.hold();
    clock.advance(LIFETIME_S * 1000);
    void w1.gw.endRegistration(rid, 'EXPIRED').catch(() => undefined);
    await untilPending(server);
    await w1.link.stop(); // the process "dies": its exchange never comes back
    await expect(store.get(rid)).resolves.toMatchObject({ state: 'DEREGISTERING', deregistrationCause: 'EXPIRED' });

    const server2 = new FakeServerLink();
    const w2 = await world({ store, server: server2, clock });
    await expect(w2.gw.recover()).resolves.toBe(1);
    await w2.gw.whenIdle();
    await expect(store.get(rid)).resolves.toBeUndefined();
    expect(w2.link.sent).toEqual([]);
    expect(w2.ended).toEqual([['EXPIRED', 'udp']]);
    w2.link.deliver(A, dereg(rid));
    await expect(w2.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS', registrationId: rid });
    expect(server2.calls.filter((c) => c.operation === 'DEREG')).toHaveLength(1);
    server.release();
  });

  it('before recover() reaches it, the device DEREG resumes it and is told CONGESTION; its retry gets the tombstone', async () => {
    const store = new InMemoryRegistrationStore();
    const clock = new FakeClock();
    const server = new FakeServerLink();
    const w1 = await world({ store, server, clock });
    const rid = await registered(w1);
    server.hold();
    void w1.gw.endRegistration(rid, 'KICKED').catch(() => undefined);
    await untilPending(server);
    await w1.link.stop();

    const server2 = new FakeServerLink();
    const w2 = await world({ store, server: server2, clock });
    w2.link.deliver(A, dereg(rid));
    await expect(w2.link.nextResponse(A)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'CONGESTION' });
    await w2.gw.whenIdle();
    expect(server2.calls.filter((c) => c.operation === 'DEREG')).toHaveLength(1);
    await expect(store.get(rid)).resolves.toBeUndefined();
    expect(w2.ended).toEqual([['KICKED', 'udp']]);
    w2.link.deliver(A, dereg(rid));
    await expect(w2.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS', registrationId: rid });
    server.release();
  });
});

describe('endRegistration when the DEREGISTERING state cannot be committed', () => {
  it('resolves FAILED UNSPECIFIED, nothing POSTed, the mapping still REGISTERED', async () => {
    const store = new InMemoryRegistrationStore();
    const w = await world({ store });
    const rid = await registered(w);
    // The next commit fails: the store undoes the write (here by hand, as an undo journal would).
    const realSync = store.sync.bind(store);
    let failNext = true;
    store.sync = async () => {
      if (failNext) {
        failNext = false;
        await store.transition(rid, 'DEREGISTERING', 'REGISTERED', w.clock.now());
        throw new RegistrationStoreError('IO', 'commit failed (test)');
      }
      return realSync();
    };
    await expect(w.gw.endRegistration(rid, 'KICKED')).resolves.toMatchObject({ kind: 'FAILED', reason: 'UNSPECIFIED', registration: { state: 'REGISTERED' } });
    expect(deregs(w)).toHaveLength(0);
    await expect(store.get(rid)).resolves.toMatchObject({ state: 'REGISTERED' });
  });
});
