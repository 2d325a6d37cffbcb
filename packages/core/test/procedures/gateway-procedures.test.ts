import {
  EXCHANGE_LIFETIME_MS,
  GatewayProcedures,
  PROTOCOL_ERROR_LOGS_PER_S,
  STORE_ERROR_LOGS_PER_S,
  RegistrationStoreError,
  silentLogger,
  type ApplicationId,
  type DeviceAuthorizer,
  type GatewayDeregistrationCause,
  type Layer2Id,
  type Logger,
  type Registration,
  type RegistrationId,
  type RegistrationState,
  type Tombstone,
  type UeServiceId,
} from '@msgin5g/core';
import { FakeClock, FakeServerLink, InMemoryDeviceLink, InMemoryRegistrationStore, RecordingLogger, SequenceRegistrationIdAllocator } from '@msgin5g/core/testing';
import { A, B, APP, GW, reg, dereg } from './fixtures';


interface World {
  store: InMemoryRegistrationStore;
  server: FakeServerLink;
  link: InMemoryDeviceLink;
  clock: FakeClock;
  gw: GatewayProcedures;
  denied: Set<string>;
}

async function world(overrides: Partial<Pick<World, 'store' | 'server' | 'clock'>> & { logger?: Logger } = {}, options: { removeMappingOnFailure?: boolean; maxRegistrations?: number; maxInFlight?: number; answerRetryDelaysMs?: number[] } = {}): Promise<World> {
  const store = overrides.store ?? new InMemoryRegistrationStore();
  const server = overrides.server ?? new FakeServerLink();
  const clock = overrides.clock ?? new FakeClock();
  const link = new InMemoryDeviceLink('udp');
  const denied = new Set<string>();
  const authorizer: DeviceAuthorizer = { authorize: (_l, layer2Id, applicationId) => ({ allowed: !denied.has(layer2Id) && !denied.has(String(applicationId)) }) };
  const gw = new GatewayProcedures(
    { store, server, links: [link], clock, allocator: new SequenceRegistrationIdAllocator(), authorizer, logger: overrides.logger ?? silentLogger },
    { gatewayUeServiceId: GW, policy: { removeMappingOnFailure: options.removeMappingOnFailure ?? false }, maxRegistrations: options.maxRegistrations, maxInFlight: options.maxInFlight, answerRetryDelaysMs: options.answerRetryDelaysMs },
  );
  await link.start(gw);
  await gw.registerGateway();
  return { store, server, link, clock, gw, denied };
}

/** Registers A with app 42 and returns its Registration ID. */
async function registered(w: World, from = A, app = APP): Promise<RegistrationId> {
  w.link.deliver(from, reg(app));
  const r = await w.link.nextResponse(from);
  if (r.result !== 'SUCCESS') throw new Error(`registration failed: ${JSON.stringify(r)}`);
  return r.registrationId;
}

/**
 * The in-memory store with a gate on `sync()`, modelling one batch: while held, every `sync()`
 * waits on the same pending commit; `release()` settles it. `failNextSync` makes the next commit
 * fail: every write since the last successful one is undone (an undo journal) and every `sync()`
 * waiting on it rejects, as the port contract says of a real store.
 */
class GatedStore extends InMemoryRegistrationStore {
  syncsCompleted = 0;
  syncCalls = 0;
  private held = false;
  private failNext = false;
  private undo: Array<() => Promise<unknown>> = [];
  private batch: { promise: Promise<void>; settle: () => void } | undefined;

  hold(): void {
    this.held = true;
  }
  release(): void {
    this.held = false;
    const batch = this.batch;
    this.batch = undefined;
    batch?.settle();
  }
  failNextSync(): void {
    this.failNext = true;
  }
  override async insert(r: Registration): Promise<Registration> {
    const done = await super.insert(r);
    this.undo.push(() => super.remove(r.registrationId));
    return done;
  }
  override async transition(id: RegistrationId, from: RegistrationState, to: RegistrationState, now: number, cause?: GatewayDeregistrationCause): Promise<Registration | undefined> {
    const done = await super.transition(id, from, to, now, cause);
    if (done !== undefined) this.undo.push(() => super.transition(id, to, from, now));
    return done;
  }
  override async remove(id: RegistrationId, tombstone?: Tombstone): Promise<Registration | undefined> {
    const removed = await super.remove(id, tombstone);
    if (removed !== undefined) {
      this.undo.push(async () => {
        (this as unknown as { tombstones: Map<RegistrationId, Tombstone> }).tombstones.delete(id);
        await super.insert(removed);
      });
    }
    return removed;
  }
  override async sync(): Promise<void> {
    this.syncCalls++;
    if (!this.held) return this.commit();
    if (this.batch === undefined) {
      let settle!: () => void;
      const gate = new Promise<void>((resolve) => (settle = resolve));
      const promise = gate.then(() => this.commit());
      promise.catch(() => undefined);
      this.batch = { promise, settle };
    }
    return this.batch.promise;
  }
  private async commit(): Promise<void> {
    const undo = this.undo.splice(0);
    if (this.failNext) {
      this.failNext = false;
      for (const u of undo.reverse()) await u();
      throw new RegistrationStoreError('IO', 'commit failed (test)');
    }
    this.syncsCompleted++;
  }
}

/** Upstream calls made on a device's behalf (the gateway's own REG excluded). */
const upstream = (w: World, op: 'REG' | 'DEREG') => w.server.calls.filter((c) => c.operation === op && c.request.gatewayUeServiceId !== undefined);

describe('registration of a constrained device (TS 23.554 §8.11.2)', () => {
  it('registers the device at the server on its behalf and answers with a new Registration ID', async () => {
    const w = await world();
    const rid = await registered(w);
    expect(rid).toMatch(/^[0-9a-f]{16}$/);
    expect(upstream(w, 'REG')).toHaveLength(1);
    expect(upstream(w, 'REG')[0]?.request).toEqual({ ueServiceId: `gw-1/${A}/42`, gatewayUeServiceId: GW, applicationId: APP });
    await expect(w.store.get(rid)).resolves.toMatchObject({ state: 'REGISTERED', layer2Id: A, applicationId: APP });
  });

  it('persists REGISTERING before the POST', async () => {
    const w = await world();
    w.server.hold();
    w.link.deliver(A, reg());
    for (let i = 0; i < 20 && w.server.pending === 0; i++) await new Promise((r) => setImmediate(r));
    expect(w.server.pending).toBe(1);
    await expect(w.store.list()).resolves.toMatchObject([{ state: 'REGISTERING' }]);
    w.server.release();
    await w.link.nextResponse(A);
  });

  it('refuses a device the authorization list does not allow, with nothing upstream', async () => {
    const w = await world();
    w.denied.add(A);
    w.link.deliver(A, reg());
    await expect(w.link.nextResponse(A)).resolves.toEqual({ kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'NOT_AUTHORISED', applicationId: APP });
    expect(w.server.calls.filter((c) => c.request.applicationId !== undefined)).toHaveLength(0);
  });

  it('answers APPLICATION_ID_IN_USE when the Application ID is registered from another Layer-2 ID', async () => {
    const w = await world();
    await registered(w, A);
    w.link.deliver(B, reg());
    await expect(w.link.nextResponse(B)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'APPLICATION_ID_IN_USE' });
    expect(upstream(w, 'REG')).toHaveLength(1); // A's only
  });

  it('a failed registration leaves no mapping and carries the Failure reason', async () => {
    const w = await world();
    w.server.answerNext({ kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: '4.03' });
    w.link.deliver(A, reg());
    await expect(w.link.nextResponse(A)).resolves.toEqual({ kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'SERVER_REJECTED', applicationId: APP });
    await expect(w.store.count()).resolves.toBe(0);
  });

  it('answers GATEWAY_NOT_REGISTERED while the Gateway UE itself is not registered', async () => {
    const server = new FakeServerLink().answerNext({ kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: 'down' });
    const w = await world({ server });
    expect(w.gw.isGatewayRegistered).toBe(false);
    w.link.deliver(A, reg());
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'GATEWAY_NOT_REGISTERED' });
    await w.gw.registerGateway();
    await expect(registered(w)).resolves.toBeDefined();
  });

  it('answers CONGESTION above the registration limit', async () => {
    const w = await world({}, { maxRegistrations: 1 });
    await registered(w, A, 1 as ApplicationId);
    w.link.deliver(B, reg(2 as ApplicationId));
    await expect(w.link.nextResponse(B)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'CONGESTION' });
    expect(w.gw.counters.congestion).toBe(1);
  });

  it('C01: REG(A, app 42) twice 50 ms apart and again 3 s later → one upstream REG, identical responses, one mapping', async () => {
    const w = await world();
    w.server.hold();
    w.link.deliver(A, reg());
    await new Promise((r) => setTimeout(r, 50));
    w.link.deliver(A, reg());
    await new Promise((r) => setTimeout(r, 20));
    w.server.release();
    const first = await w.link.nextResponse(A);
    w.clock.advance(3000);
    w.link.deliver(A, reg());
    const third = await w.link.nextResponse(A);
    await w.gw.whenIdle();
    expect(third).toEqual(first);
    expect(first).toMatchObject({ result: 'SUCCESS' });
    expect(upstream(w, 'REG').filter((c) => c.request.applicationId === APP)).toHaveLength(1);
    await expect(w.store.count()).resolves.toBe(1);
    expect(w.link.responsesTo(A).every((r) => JSON.stringify(r) === JSON.stringify(first))).toBe(true);
  });
});

describe('de-registration of a constrained device (seed CR, TS 24.538 6.3.2.1.2)', () => {
  it('CR step a: the 2.04 answer is correlated with this device’s pending procedure only', async () => {
    const w = await world();
    const ridA = await registered(w, A, 1 as ApplicationId);
    const ridB = await registered(w, B, 2 as ApplicationId);
    w.server.hold();
    w.link.deliver(A, dereg(ridA));
    w.link.deliver(B, dereg(ridB));
    for (let i = 0; i < 50 && w.server.pending < 2; i++) await new Promise((r) => setImmediate(r));
    w.server.release();
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS', registrationId: ridA, applicationId: 1 });
    await expect(w.link.nextResponse(B)).resolves.toMatchObject({ result: 'SUCCESS', registrationId: ridB, applicationId: 2 });
    const deregs = upstream(w, 'DEREG').map((c) => c.request.ueServiceId);
    expect(deregs.sort()).toEqual([`gw-1/${A}/1`, `gw-1/${B}/2`]);
  });

  it('CR step b.1: success carries the Registration ID received in the request', async () => {
    const w = await world();
    const rid = await registered(w);
    w.link.deliver(A, dereg(rid));
    await expect(w.link.nextResponse(A)).resolves.toEqual({ kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: rid, applicationId: APP });
  });

  it('CR step b.2: failure carries the Failure reason', async () => {
    const w = await world();
    const rid = await registered(w);
    w.server.answerNext({ kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: 'deadline' });
    w.link.deliver(A, dereg(rid));
    await expect(w.link.nextResponse(A)).resolves.toEqual({ kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'SERVER_UNREACHABLE', applicationId: APP });
    // project default (docs/adr/0003): mapping kept in REGISTERED so the device can retry
    await expect(w.store.get(rid)).resolves.toMatchObject({ state: 'REGISTERED' });
    w.link.deliver(A, dereg(rid));
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS', registrationId: rid });
  });

  it('CR step c: the response goes to the stored Layer-2 ID with the stored Application ID', async () => {
    const w = await world();
    const rid = await registered(w, A, 7 as ApplicationId);
    w.link.deliver(A, dereg(rid));
    await w.link.nextResponse(A);
    const last = w.link.sent[w.link.sent.length - 1];
    expect(last?.to).toBe(A);
    expect(last?.response).toMatchObject({ applicationId: 7 });
  });

  it('CR steps c–d: the response is built from the stored mapping, which is removed with its tombstone, committed, and only then sent', async () => {
    const store = new GatedStore();
    const w = await world({ store });
    const rid = await registered(w);
    let storedWhenSent: unknown = 'not sent';
    let tombstoneWhenSent: unknown;
    let syncsWhenSent = -1;
    const send = w.link.send.bind(w.link);
    w.link.send = async (to, response) => {
      if (response.kind === 'DEREGISTRATION_RESPONSE') {
        storedWhenSent = await w.store.get(rid);
        tombstoneWhenSent = await w.store.getTombstone(rid, w.clock.now());
        syncsWhenSent = store.syncsCompleted;
      }
      return send(to, response);
    };
    const before = store.syncsCompleted;
    w.link.deliver(A, dereg(rid));
    await expect(w.link.nextResponse(A)).resolves.toEqual({ kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: rid, applicationId: APP });
    await w.gw.whenIdle();
    // Sent to the stored Layer-2 ID with the stored Application ID, after the removal was durable:
    // a crash after the send cannot bring the mapping back, and a retry is answered from the tombstone.
    expect(storedWhenSent).toBeUndefined();
    expect(tombstoneWhenSent).toMatchObject({ layer2Id: A, applicationId: APP });
    expect(syncsWhenSent).toBeGreaterThan(before);
    await expect(w.store.findByDevice('udp', A, APP)).resolves.toBeUndefined();
  });

  it('removeMappingOnFailure: true removes the mapping on failure too (literal CR step d)', async () => {
    const w = await world({}, { removeMappingOnFailure: true });
    const rid = await registered(w);
    w.server.answerNext({ kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: '4.00' });
    w.link.deliver(A, dereg(rid));
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'SERVER_REJECTED' });
    await w.gw.whenIdle();
    await expect(w.store.count()).resolves.toBe(0);
  });

  it('an unknown Registration ID gets UNKNOWN_REGISTRATION_ID with nothing upstream', async () => {
    const w = await world();
    w.link.deliver(A, dereg('abcdef0123456789' as RegistrationId));
    await expect(w.link.nextResponse(A)).resolves.toEqual({ kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'UNKNOWN_REGISTRATION_ID' });
    expect(upstream(w, 'DEREG')).toHaveLength(0);
  });

  it('C02: server takes 10 s; DEREG copies at 0, 2, 6 s → one upstream DEREG, one response; the 14 s copy is replayed from the tombstone', async () => {
    const w = await world();
    const rid = await registered(w);
    w.server.hold();
    w.link.deliver(A, dereg(rid));
    w.clock.advance(2000);
    w.link.deliver(A, dereg(rid));
    w.clock.advance(4000);
    w.link.deliver(A, dereg(rid));
    for (let i = 0; i < 50 && w.server.pending === 0; i++) await new Promise((r) => setImmediate(r));
    w.clock.advance(4000);
    w.server.release();
    const response = await w.link.nextResponse(A);
    await w.gw.whenIdle();
    expect(upstream(w, 'DEREG')).toHaveLength(1);
    expect(w.link.responsesTo(A).filter((r) => r.kind === 'DEREGISTRATION_RESPONSE')).toHaveLength(1);
    w.clock.advance(4000);
    w.link.deliver(A, dereg(rid));
    await expect(w.link.nextResponse(A)).resolves.toEqual(response);
    expect(upstream(w, 'DEREG')).toHaveLength(1);
    expect(w.gw.counters.tombstoneReplays).toBe(1);
    // after EXCHANGE_LIFETIME the tombstone is gone
    w.clock.advance(EXCHANGE_LIFETIME_MS);
    w.link.deliver(A, dereg(rid));
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ failureReason: 'UNKNOWN_REGISTRATION_ID' });
  });

  it('C08: B sends DEREG(RID of A) → NOT_AUTHORISED to B, nothing upstream, A can still de-register', async () => {
    const w = await world();
    const rid = await registered(w, A);
    w.link.deliver(B, dereg(rid));
    await expect(w.link.nextResponse(B)).resolves.toEqual({ kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'NOT_AUTHORISED' });
    expect(upstream(w, 'DEREG')).toHaveLength(0);
    await expect(w.store.get(rid)).resolves.toMatchObject({ state: 'REGISTERED', layer2Id: A });
    expect(w.link.responsesTo(A)).toHaveLength(1); // only its registration response
    w.link.deliver(A, dereg(rid));
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS', registrationId: rid });
  });

  it('C11: DEREG while the REG is pending is refused, the REG completes, no dangling registration', async () => {
    const w = await world();
    w.server.hold();
    w.link.deliver(A, reg());
    for (let i = 0; i < 50 && w.server.pending === 0; i++) await new Promise((r) => setImmediate(r));
    const [pending] = await w.store.list();
    w.link.deliver(A, dereg(pending!.registrationId));
    w.link.deliver(A, dereg('ffffffffffffffff' as RegistrationId));
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ kind: 'DEREGISTRATION_RESPONSE', failureReason: 'UNKNOWN_REGISTRATION_ID' });
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ kind: 'DEREGISTRATION_RESPONSE', failureReason: 'UNKNOWN_REGISTRATION_ID' });
    w.server.release();
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: pending!.registrationId });
    expect(upstream(w, 'DEREG')).toHaveLength(0);
    expect(w.server.registry.has(`gw-1/${A}/42` as UeServiceId)).toBe(true);
    await expect(w.store.list()).resolves.toMatchObject([{ state: 'REGISTERED' }]);
  });
});

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('persist, then act, with group commit (store.sync)', () => {
  it('a REG is applied at once, but neither POSTed nor answered before sync() resolves', async () => {
    const store = new GatedStore();
    const w = await world({ store });
    store.hold();
    w.link.deliver(A, reg());
    await turns(10);
    await expect(store.list()).resolves.toMatchObject([{ state: 'REGISTERING', layer2Id: A }]);
    expect(upstream(w, 'REG')).toHaveLength(0);
    expect(w.link.sent).toHaveLength(0);
    store.release();
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS' });
    expect(upstream(w, 'REG')).toHaveLength(1);
  });

  it('decisions taken while a commit is pending all wait for it, then all go out (one commit for many devices)', async () => {
    const store = new GatedStore();
    const w = await world({ store });
    store.hold();
    const devices = Array.from({ length: 20 }, (_, i) => `127.0.0.1:${41000 + i}` as Layer2Id);
    devices.forEach((d, i) => w.link.deliver(d, reg((100 + i) as ApplicationId)));
    await turns(10);
    await expect(store.count()).resolves.toBe(20);
    expect(upstream(w, 'REG')).toHaveLength(0);
    store.release();
    const answers = await Promise.all(devices.map((d) => w.link.nextResponse(d)));
    expect(answers.every((a) => a.result === 'SUCCESS')).toBe(true);
    expect(upstream(w, 'REG')).toHaveLength(20);
  });

  it('a reply that needed no write (tombstone replay) also waits for the pending commit', async () => {
    const store = new GatedStore();
    const w = await world({ store });
    const rid = await registered(w);
    w.link.deliver(A, dereg(rid));
    const first = await w.link.nextResponse(A);
    await w.gw.whenIdle();
    store.hold();
    w.link.deliver(A, dereg(rid));
    await turns(10);
    expect(w.link.sent.filter((s) => s.response.kind === 'DEREGISTRATION_RESPONSE')).toHaveLength(1);
    store.release();
    await expect(w.link.nextResponse(A)).resolves.toEqual(first);
    expect(w.gw.counters.tombstoneReplays).toBe(1);
  });

  it('when the commit fails nothing is POSTed and nothing answered (as if the request was lost), and the retry resumes the procedure', async () => {
    const store = new GatedStore();
    const w = await world({ store });
    store.failNextSync();
    w.link.deliver(A, reg());
    await turns(5);
    await w.gw.whenIdle();
    expect(upstream(w, 'REG')).toHaveLength(0);
    expect(w.link.sent).toHaveLength(0);
    // The INSERT was undone with the batch: the retry starts over.
    await expect(store.count()).resolves.toBe(0);
    w.link.deliver(A, reg());
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS' });
    expect(upstream(w, 'REG')).toHaveLength(1);
  });

  it('a DEREG whose DEREGISTERING could not be committed is not POSTed; an answer whose commit fails is not sent, but applied again', async () => {
    const store = new GatedStore();
    const w = await world({ store });
    const rid = await registered(w);
    const sentBefore = w.link.sent.length;
    store.failNextSync();
    w.link.deliver(A, dereg(rid));
    await turns(5);
    await w.gw.whenIdle();
    expect(upstream(w, 'DEREG')).toHaveLength(0);
    expect(w.link.sent).toHaveLength(sentBefore);
    // The server answers, but the removal cannot be committed: nothing is sent for the undone
    // batch; the server's outcome is applied again after a backoff, committed, and only then sent.
    w.server.hold();
    w.link.deliver(A, dereg(rid));
    for (let i = 0; i < 20 && w.server.pending === 0; i++) await turns(1);
    expect(w.server.pending).toBe(1);
    store.failNextSync();
    const syncsBefore = store.syncsCompleted;
    w.server.release();
    await w.gw.whenIdle();
    expect(upstream(w, 'DEREG')).toHaveLength(1);
    expect(w.clock.sleeps).toEqual([100]);
    expect(w.link.sent.slice(sentBefore)).toEqual([{ to: A, response: { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: rid, applicationId: APP } }]);
    expect(store.syncsCompleted).toBeGreaterThan(syncsBefore);
    await expect(store.count()).resolves.toBe(0);
  });

  it("a POST is not dropped when another decision's batch fails: its own state was committed earlier", async () => {
    const store = new GatedStore();
    const server = new FakeServerLink();
    const w1 = await world({ store, server });
    server.hold();
    w1.link.deliver(A, reg());
    for (let i = 0; i < 50 && server.pending === 0; i++) await turns(1);
    await w1.link.stop(); // A's REGISTERING is committed; its exchange dies with this "process"
    await store.sync();
    const server2 = new FakeServerLink();
    const w2 = await world({ store, server: server2 });
    // Recovery resumes A (no write of its own) in the same batch as B's INSERT, whose commit fails.
    store.hold();
    store.failNextSync();
    w2.link.deliver(B, reg(7 as ApplicationId));
    const recovered = w2.gw.recover();
    await turns(5);
    store.release();
    await recovered;
    await w2.gw.whenIdle();
    expect(server2.calls.filter((c) => c.operation === 'REG' && c.request.applicationId === 7)).toHaveLength(0);
    expect(server2.calls.filter((c) => c.operation === 'REG' && c.request.applicationId === APP)).toHaveLength(1);
    await expect(w2.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS' });
    server.release();
  });

  it('APPLICATION_ID_IN_USE waits for the commit of the record it rests on; if that is undone, CONGESTION instead', async () => {
    const store = new GatedStore();
    const w = await world({ store });
    store.hold();
    w.link.deliver(A, reg());
    await turns(3);
    w.link.deliver(B, reg()); // same Application ID from another device, A's INSERT not committed yet
    await turns(5);
    expect(w.link.responsesTo(B)).toHaveLength(0);
    store.failNextSync();
    store.release();
    await expect(w.link.nextResponse(B)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'CONGESTION' });
    await w.gw.whenIdle();
    await expect(store.count()).resolves.toBe(0);
  });
});

describe('restart', () => {
  it('recovery keeps to maxInFlight: 10 pending records, at most 3 exchanges at once, all finished', async () => {
    const store = new InMemoryRegistrationStore();
    const now = new FakeClock().now();
    for (let i = 0; i < 10; i++) {
      await store.insert({
        registrationId: (0x100 + i).toString(16).padStart(16, '0') as RegistrationId,
        applicationId: (300 + i) as ApplicationId,
        layer2Id: `127.0.0.1:${43000 + i}` as Layer2Id,
        link: 'udp',
        ueServiceId: `gw-1/127.0.0.1:${43000 + i}/${300 + i}` as UeServiceId,
        state: 'REGISTERING',
        createdAt: now,
        updatedAt: now,
        expiresAt: now + 86_400_000,
      });
    }
    const server = new FakeServerLink();
    const w = await world({ store, server }, { maxInFlight: 3 });
    server.hold();
    const recovering = w.gw.recover();
    let most = 0;
    for (let round = 0; round < 200 && (await store.list(['REGISTERING'])).length > 0; round++) {
      await turns(2);
      most = Math.max(most, w.gw.inFlight, server.pending);
      server.release();
      server.hold();
    }
    server.release();
    await expect(recovering).resolves.toBe(10);
    await w.gw.whenIdle();
    expect(most).toBe(3);
    await expect(store.list(['REGISTERED'])).resolves.toHaveLength(10);
  });

  it('a duplicate that would resume a pending record gets CONGESTION while maxInFlight exchanges are in flight', async () => {
    const store = new InMemoryRegistrationStore();
    const server = new FakeServerLink();
    const w1 = await world({ store, server });
    server.hold();
    w1.link.deliver(A, reg());
    for (let i = 0; i < 50 && server.pending === 0; i++) await turns(1);
    await w1.link.stop(); // A's REG is left REGISTERING with no exchange in the next process
    const server2 = new FakeServerLink();
    const w2 = await world({ store, server: server2 }, { maxInFlight: 1 });
    server2.hold();
    w2.link.deliver(B, reg(7 as ApplicationId)); // takes the only slot
    for (let i = 0; i < 50 && server2.pending === 0; i++) await turns(1);
    w2.link.deliver(A, reg());
    await expect(w2.link.nextResponse(A)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'CONGESTION' });
    server2.release();
    await expect(w2.link.nextResponse(B)).resolves.toMatchObject({ result: 'SUCCESS' });
    await w2.gw.whenIdle();
    w2.link.deliver(A, reg());
    await expect(w2.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS' });
    server.release();
  });

  it('C09: crash after the server de-registered A but before A got the response → on restart A is told success and the store agrees', async () => {
    const store = new InMemoryRegistrationStore();
    const server = new FakeServerLink();
    const clock = new FakeClock();
    const w1 = await world({ store, server, clock });
    const rid = await registered(w1);
    // the server de-registers A, but the gateway "dies" before it handles the answer
    server.hold();
    w1.link.deliver(A, dereg(rid));
    for (let i = 0; i < 50 && server.pending === 0; i++) await new Promise((r) => setImmediate(r));
    server.registry.delete(`gw-1/${A}/42` as UeServiceId); // the server's side is done
    await w1.link.stop(); // nothing reaches A from the old process
    await expect(store.get(rid)).resolves.toMatchObject({ state: 'DEREGISTERING' });

    const server2 = new FakeServerLink(); // the new process has a new link; the server answers NOT_REGISTERED → success
    const w2 = await world({ store, server: server2, clock });
    await expect(w2.gw.recover()).resolves.toBe(1);
    await expect(w2.link.nextResponse(A)).resolves.toEqual({ kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: rid, applicationId: APP });
    await w2.gw.whenIdle();
    // A retries: same answer from the tombstone, nothing upstream
    w2.link.deliver(A, dereg(rid));
    await expect(w2.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS', registrationId: rid });
    expect(server2.calls.filter((c) => c.operation === 'DEREG')).toHaveLength(1);
    await expect(store.count()).resolves.toBe(0);
    server.release();
  });

  it('finishes a REGISTERING record after a restart and answers the stored Layer-2 ID', async () => {
    const store = new InMemoryRegistrationStore();
    const server = new FakeServerLink();
    const w1 = await world({ store, server });
    server.hold();
    w1.link.deliver(A, reg());
    for (let i = 0; i < 50 && server.pending === 0; i++) await new Promise((r) => setImmediate(r));
    await w1.link.stop();
    const w2 = await world({ store });
    await w2.gw.recover();
    await expect(w2.link.nextResponse(A)).resolves.toMatchObject({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS' });
    await expect(store.list()).resolves.toMatchObject([{ state: 'REGISTERED' }]);
    server.release();
  });

  it('stopAccepting answers CONGESTION and whenIdle waits for in-flight procedures', async () => {
    const w = await world();
    const rid = await registered(w);
    w.server.hold();
    w.link.deliver(A, dereg(rid));
    for (let i = 0; i < 50 && w.server.pending === 0; i++) await new Promise((r) => setImmediate(r));
    w.gw.stopAccepting();
    w.link.deliver(B, reg(9 as ApplicationId));
    await expect(w.link.nextResponse(B)).resolves.toMatchObject({ failureReason: 'CONGESTION' });
    let idle = false;
    const p = w.gw.whenIdle().then(() => (idle = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(idle).toBe(false);
    w.server.release();
    await p;
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS' });
  });
});

describe('protocol errors', () => {
  it('are counted one by one but logged at most PROTOCOL_ERROR_LOGS_PER_S a second, then summarised', async () => {
    const lines: string[] = [];
    const logger = { ...silentLogger, warn: (_f: Record<string, unknown>, m: string) => void lines.push(m) };
    const clock = new FakeClock();
    const link = new InMemoryDeviceLink('udp');
    const gw = new GatewayProcedures(
      { store: new InMemoryRegistrationStore(), server: new FakeServerLink(), links: [link], clock, allocator: new SequenceRegistrationIdAllocator(), authorizer: { authorize: () => ({ allowed: true }) }, logger },
      { gatewayUeServiceId: GW },
    );
    await link.start(gw);
    for (let i = 0; i < 500; i++) link.deliverMalformed(A, 'bad');
    expect(gw.counters.protocolErrors).toBe(500);
    expect(lines.filter((l) => l === 'protocol error from a device')).toHaveLength(PROTOCOL_ERROR_LOGS_PER_S);
    clock.advance(1000);
    link.deliverMalformed(A, 'bad');
    expect(lines).toContain('protocol errors from devices not logged one by one');
    expect(lines.filter((l) => l === 'protocol error from a device')).toHaveLength(PROTOCOL_ERROR_LOGS_PER_S + 1);
  });
});

describe('store failures', () => {
  /** An in-memory store whose next `n` transitions fail with BUSY (a locked file). */
  function lockedTransitions(store: InMemoryRegistrationStore): { failNext(n: number): void } {
    let failing = 0;
    const realTransition = store.transition.bind(store);
    store.transition = async (...args) => {
      if (failing > 0) {
        failing--;
        throw new RegistrationStoreError('BUSY', 'locked');
      }
      return realTransition(...args);
    };
    return { failNext: (n) => void (failing = n) };
  }

  it("C12: the server's answer that could not be committed (store BUSY) is applied again after a backoff; the device is answered without resending", async () => {
    const store = new InMemoryRegistrationStore();
    const lock = lockedTransitions(store);
    const w = await world({ store }, { answerRetryDelaysMs: [5, 5, 5] });
    lock.failNext(2); // REGISTERING → REGISTERED fails twice after the server's answer
    w.link.deliver(A, reg());
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS' });
    await w.gw.whenIdle();
    expect(upstream(w, 'REG')).toHaveLength(1);
    expect(w.gw.counters.storeErrors).toBe(2);
    expect(w.clock.sleeps).toEqual([5, 5]);
    expect(w.gw.counters.registered).toBe(1); // counted once, when durable
    await expect(store.list()).resolves.toMatchObject([{ state: 'REGISTERED' }]);
  });

  it('C12: when every retry fails the record is left pending, never stuck: the device’s retry resumes it', async () => {
    const store = new InMemoryRegistrationStore();
    const lock = lockedTransitions(store);
    const w = await world({ store }, { answerRetryDelaysMs: [2, 2] });
    lock.failNext(3);
    w.link.deliver(A, reg());
    await turns(3);
    await w.gw.whenIdle();
    expect(w.link.responsesTo(A)).toHaveLength(0);
    await expect(store.list()).resolves.toMatchObject([{ state: 'REGISTERING' }]);
    expect(w.gw.counters.storeErrors).toBe(3);
    // the device retries: the pending REG is POSTed again and answered
    w.link.deliver(A, reg());
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS' });
    expect(upstream(w, 'REG')).toHaveLength(2);
    await expect(store.list()).resolves.toMatchObject([{ state: 'REGISTERED' }]);
  });

  it('store errors are logged at most STORE_ERROR_LOGS_PER_S a second, then summarised', async () => {
    const lines: string[] = [];
    const logger = { ...silentLogger, warn: (_f: Record<string, unknown>, m: string) => void lines.push(m) };
    const clock = new FakeClock();
    const store = new InMemoryRegistrationStore();
    const link = new InMemoryDeviceLink('udp');
    const gw = new GatewayProcedures(
      { store, server: new FakeServerLink(), links: [link], clock, allocator: new SequenceRegistrationIdAllocator(), authorizer: { authorize: () => ({ allowed: true }) }, logger },
      { gatewayUeServiceId: GW, requestsPerSecondPerDevice: 1000, burstPerDevice: 1000 },
    );
    await link.start(gw);
    await gw.registerGateway();
    store.insert = async () => {
      throw new RegistrationStoreError('BUSY', 'locked');
    };
    for (let i = 0; i < 50; i++) link.deliver(`127.0.0.1:${42000 + i}` as Layer2Id, reg((200 + i) as ApplicationId));
    await gw.whenIdle();
    expect(gw.counters.storeErrors).toBe(50);
    expect(lines.filter((l) => l === 'registration store error')).toHaveLength(STORE_ERROR_LOGS_PER_S);
    clock.advance(1000);
    link.deliver(A, reg());
    await gw.whenIdle();
    expect(lines).toContain('registration store errors not logged one by one');
  });

  it('a locked store answers CONGESTION', async () => {
    const store = new InMemoryRegistrationStore();
    const w = await world({ store });
    store.insert = async () => {
      throw new RegistrationStoreError('BUSY', 'locked');
    };
    w.link.deliver(A, reg());
    await expect(w.link.nextResponse(A)).resolves.toEqual({ kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION', applicationId: APP });
  });

  it('a DEREG refused for a locked store carries the Application ID to its owner only (docs/wire-formats.md §2: sent when the registration is known)', async () => {
    const store = new InMemoryRegistrationStore();
    const w = await world({ store });
    const rid = await registered(w);
    store.transition = async () => {
      throw new RegistrationStoreError('BUSY', 'locked');
    };
    w.link.deliver(A, dereg(rid));
    await expect(w.link.nextResponse(A)).resolves.toEqual({ kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION', applicationId: APP });
    // Another device naming A's ID is refused without learning A's Application ID.
    w.link.deliver(B, dereg(rid));
    await expect(w.link.nextResponse(B)).resolves.toEqual({ kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'NOT_AUTHORISED' });
  });
});

describe('rate limit per source Layer-2 ID', () => {
  it('answers CONGESTION past the burst, counts it, and leaves other devices alone', async () => {
    const link = new InMemoryDeviceLink('udp');
    const clock = new FakeClock();
    const gw = new GatewayProcedures(
      { store: new InMemoryRegistrationStore(), server: new FakeServerLink(), links: [link], clock, allocator: new SequenceRegistrationIdAllocator(), authorizer: { authorize: () => ({ allowed: true }) }, logger: silentLogger },
      { gatewayUeServiceId: GW, requestsPerSecondPerDevice: 1, burstPerDevice: 2 },
    );
    await link.start(gw);
    await gw.registerGateway();
    for (let i = 0; i < 3; i++) link.deliver(A, dereg('abcdef0123456789' as RegistrationId));
    await gw.whenIdle();
    const answers = link.responsesTo(A).map((r) => (r.result === 'FAILURE' ? r.failureReason : r.result));
    expect(answers.sort()).toEqual(['CONGESTION', 'UNKNOWN_REGISTRATION_ID', 'UNKNOWN_REGISTRATION_ID']); // the refusal needs no queue, so it may go first
    expect(gw.counters.congestion).toBe(1);
    link.deliver(B, reg());
    await expect(link.nextResponse(B)).resolves.toMatchObject({ result: 'SUCCESS' });
    clock.advance(1000);
    link.deliver(A, dereg('abcdef0123456789' as RegistrationId));
    await gw.whenIdle();
    expect(link.responsesTo(A).at(-1)).toMatchObject({ failureReason: 'UNKNOWN_REGISTRATION_ID' });
  });
});

describe('refused requests are logged (issue 11 item 5)', () => {
  /** The `request refused` lines: level, Failure reason, Layer-2 ID, link, request kind. */
  const refusals = (logger: RecordingLogger) =>
    logger.lines.filter((l) => l.message === 'request refused').map((l) => ({ level: l.level, failureReason: l.fields.failureReason, layer2Id: l.fields.layer2Id, link: l.fields.link, request: l.fields.request }));

  it('a DEREG with an unknown Registration ID, or from another Layer-2 ID, is logged at info once', async () => {
    const logger = new RecordingLogger();
    const w = await world({ logger });
    const rid = await registered(w);
    w.link.deliver(A, dereg('abcdef0123456789' as RegistrationId));
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ failureReason: 'UNKNOWN_REGISTRATION_ID' });
    w.link.deliver(B, dereg(rid));
    await expect(w.link.nextResponse(B)).resolves.toMatchObject({ failureReason: 'NOT_AUTHORISED' });
    expect(refusals(logger)).toEqual([
      { level: 'info', failureReason: 'UNKNOWN_REGISTRATION_ID', layer2Id: A, link: 'udp', request: 'DEREGISTRATION_REQUEST' },
      { level: 'info', failureReason: 'NOT_AUTHORISED', layer2Id: B, link: 'udp', request: 'DEREGISTRATION_REQUEST' },
    ]);
  });

  it('a REG refused by the authorization list is logged at info', async () => {
    const logger = new RecordingLogger();
    const w = await world({ logger });
    w.denied.add(B);
    w.link.deliver(B, reg());
    await expect(w.link.nextResponse(B)).resolves.toMatchObject({ failureReason: 'NOT_AUTHORISED' });
    expect(refusals(logger)).toEqual([{ level: 'info', failureReason: 'NOT_AUTHORISED', layer2Id: B, link: 'udp', request: 'REGISTRATION_REQUEST' }]);
  });

  it('CONGESTION is logged at debug only', async () => {
    const logger = new RecordingLogger();
    const w = await world({ logger });
    w.gw.stopAccepting();
    w.link.deliver(A, reg());
    await expect(w.link.nextResponse(A)).resolves.toMatchObject({ failureReason: 'CONGESTION' });
    expect(refusals(logger)).toEqual([{ level: 'debug', failureReason: 'CONGESTION', layer2Id: A, link: 'udp', request: 'REGISTRATION_REQUEST' }]);
  });
});
