/**
 * When the MSGin5G Server forgets the gateway (issue 11 item 4, docs/adr/0012): an answer
 * GATEWAY_NOT_REGISTERED makes the gateway count as unregistered at once, ONE recovery loop
 * registers it again, the procedures that got that answer are held and POSTed again, and the
 * REGISTERED records are registered again at the server (resync), paced. No device ever hears a
 * SUCCESS for something the server does not hold. FakeServerLink's registry plays the server;
 * `forget()` is its restart.
 */
import {
  GatewayProcedures,
  REREGISTER_FLAP_WINDOW_MS,
  type ApplicationId,
  type DeviceResponse,
  type Layer2Id,
  type RegistrationId,
  type ServerLink,
  type ServerOutcome,
  type ServerRequest,
  type UeServiceId,
} from '@msgin5g/core';
import { FakeClock, FakeServerLink, InMemoryDeviceLink, InMemoryRegistrationStore, RecordingLogger, SequenceRegistrationIdAllocator } from '@msgin5g/core/testing';

const GW = 'gw-1' as UeServiceId;
/** Device i: its own Layer-2 ID and Application ID (Application IDs are unique per device). */
const dev = (i: number) => `127.0.0.1:${41000 + i}` as Layer2Id;
const appOf = (i: number) => (100 + i) as ApplicationId;
const ueOf = (i: number) => `gw-1/${dev(i)}/${appOf(i)}` as UeServiceId;
const reg = (i: number) => ({ kind: 'REGISTRATION_REQUEST' as const, applicationId: appOf(i) });
const dereg = (registrationId: RegistrationId) => ({ kind: 'DEREGISTRATION_REQUEST' as const, registrationId });
const FORGOTTEN = 'the MSGin5G Server does not know the Gateway UE (it may have restarted); registering it again, devices get GATEWAY_NOT_REGISTERED meanwhile';
const REREGISTERED = 'Gateway UE registered again with the MSGin5G Server; REGISTERED devices resynced';

/**
 * A server link over a FakeServerLink that records, per call, the fake time it was made at and how
 * many calls were open at once; each call takes a few event-loop turns, so concurrency shows.
 * `refuse` lists device UE Service IDs answered GATEWAY_NOT_REGISTERED whatever the registry says.
 */
class ObservedServer implements ServerLink {
  readonly endpoint = 'fake://observed';
  readonly starts: Array<{ operation: 'REG' | 'DEREG'; ueServiceId: UeServiceId; at: number; open: number }> = [];
  readonly refuse = new Set<UeServiceId>();
  open = 0;
  constructor(
    readonly fake: FakeServerLink,
    private readonly clock: FakeClock,
  ) {}
  register(request: ServerRequest): Promise<ServerOutcome> {
    return this.call('REG', request, () => this.fake.register(request));
  }
  deregister(request: ServerRequest): Promise<ServerOutcome> {
    return this.call('DEREG', request, () => this.fake.deregister(request));
  }
  close(): Promise<void> {
    return this.fake.close();
  }
  private async call(operation: 'REG' | 'DEREG', request: ServerRequest, go: () => Promise<ServerOutcome>): Promise<ServerOutcome> {
    this.open++;
    this.starts.push({ operation, ueServiceId: request.ueServiceId, at: this.clock.now(), open: this.open });
    try {
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      if (this.refuse.has(request.ueServiceId)) return { kind: 'FAILURE', reason: 'GATEWAY_NOT_REGISTERED', cause: 'FAILURE GATEWAY_NOT_REGISTERED' };
      return await go();
    } finally {
      this.open--;
    }
  }
}

/** A FakeClock whose `sleep` waits until the test calls `wake()` (to look at the gateway between attempts). */
class HeldClock extends FakeClock {
  private sleepers: Array<() => void> = [];
  holding = false;
  override async sleep(ms: number): Promise<void> {
    await super.sleep(ms);
    if (this.holding) await new Promise<void>((resolve) => this.sleepers.push(resolve));
  }
  get sleeping(): number {
    return this.sleepers.length;
  }
  wake(): void {
    this.holding = false;
    for (const s of this.sleepers.splice(0)) s();
  }
}

interface World {
  fake: FakeServerLink;
  server: ObservedServer;
  clock: FakeClock;
  link: InMemoryDeviceLink;
  store: InMemoryRegistrationStore;
  logger: RecordingLogger;
  gw: GatewayProcedures;
}

async function world(options: { clock?: FakeClock; resyncPerSecond?: number; resyncInFlight?: number } = {}): Promise<World> {
  const fake = new FakeServerLink();
  const clock = options.clock ?? new FakeClock();
  const server = new ObservedServer(fake, clock);
  const link = new InMemoryDeviceLink('udp');
  const store = new InMemoryRegistrationStore();
  const logger = new RecordingLogger();
  const gw = new GatewayProcedures(
    { store, server, links: [link], clock, allocator: new SequenceRegistrationIdAllocator(), authorizer: { authorize: () => ({ allowed: true }) }, logger },
    { gatewayUeServiceId: GW, resyncPerSecond: options.resyncPerSecond, resyncInFlight: options.resyncInFlight, requestsPerSecondPerDevice: 1000, burstPerDevice: 1000 },
  );
  await link.start(gw);
  await gw.registerGateway();
  return { fake, server, clock, link, store, logger, gw };
}

/** Waits (event-loop turns, bounded) until `pred` holds. */
async function until(pred: () => boolean, what: string, turns = 20_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (pred()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`not reached: ${what}`);
}

async function registerDevices(w: World, n: number): Promise<RegistrationId[]> {
  const ids: RegistrationId[] = [];
  for (let i = 0; i < n; i++) {
    w.link.deliver(dev(i), reg(i));
    const r = await w.link.nextResponse(dev(i));
    if (r.result !== 'SUCCESS') throw new Error(`registration ${i} failed: ${JSON.stringify(r)}`);
    ids.push(r.registrationId);
  }
  return ids;
}

const gatewayRegs = (w: World) => w.server.starts.filter((s) => s.operation === 'REG' && s.ueServiceId === GW).length;

/**
 * Every SUCCESS a device heard must be true at the server when the test ends: a REG SUCCESS for a
 * device whose UE Service ID the server holds, a DEREG SUCCESS for one it does not hold.
 */
function expectNoFalseSuccess(w: World, devices: number[]): void {
  for (const i of devices) {
    const last = w.link.responsesTo(dev(i)).at(-1);
    if (last === undefined || last.result !== 'SUCCESS') continue;
    const held = w.fake.registry.has(ueOf(i));
    expect({ device: i, kind: last.kind, held }).toEqual({ device: i, kind: last.kind, held: last.kind === 'REGISTRATION_RESPONSE' });
  }
}

describe('the server forgets the gateway (docs/adr/0012)', () => {
  it('C13: a REG answered GATEWAY_NOT_REGISTERED mid-run: one re-registration, the N REGISTERED records resynced, the held REG then finished with a true SUCCESS', async () => {
    const w = await world();
    await registerDevices(w, 5);
    w.fake.forget(); // the server restarted
    w.link.deliver(dev(9), reg(9));
    const answer = await w.link.nextResponse(dev(9));
    expect(answer).toMatchObject({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS' });
    // When the device heard SUCCESS, the server held it and the gateway again.
    expect(w.fake.registry.has(ueOf(9))).toBe(true);
    await until(() => w.logger.has(REREGISTERED), 'the re-registered line');
    expect(gatewayRegs(w)).toBe(2); // start-up + one re-registration
    expect(w.logger.lines.filter((l) => l.message === FORGOTTEN)).toHaveLength(1);
    const done = w.logger.lines.filter((l) => l.message === REREGISTERED);
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ level: 'info', fields: { resynced: 5, failed: 0, resumed: 1 } });
    for (let i = 0; i < 5; i++) expect(w.fake.registry.has(ueOf(i))).toBe(true);
    expect(w.gw.isGatewayRegistered).toBe(true);
    expect(w.gw.counters).toMatchObject({ gatewayReregistrations: 1, resynced: 5, resyncFailed: 0 });
    // The store did not change for the resynced records; the held REG is REGISTERED with the ID it was told.
    const records = await w.store.list();
    expect(records.map((r) => r.state)).toEqual(Array(6).fill('REGISTERED'));
    expect(records.some((r) => answer.result === 'SUCCESS' && r.registrationId === answer.registrationId)).toBe(true);
    expect(w.link.responsesTo(dev(9))).toHaveLength(1);
    expectNoFalseSuccess(w, [0, 1, 2, 3, 4, 9]);
  });

  it('the resync is paced: at most resyncPerSecond POSTs started per second of (fake) time, at most resyncInFlight at once', async () => {
    const w = await world({ resyncPerSecond: 3, resyncInFlight: 2 });
    await registerDevices(w, 10);
    const before = w.server.starts.length;
    w.fake.forget();
    w.link.deliver(dev(20), reg(20));
    await w.link.nextResponse(dev(20));
    await until(() => w.logger.has(REREGISTERED), 'the re-registered line');
    const resync = w.server.starts.slice(before).filter((s) => s.operation === 'REG' && s.ueServiceId !== GW && s.ueServiceId !== ueOf(20));
    expect(resync).toHaveLength(10);
    for (const s of resync) {
      const inWindow = resync.filter((o) => o.at >= s.at && o.at < s.at + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(3);
    }
    expect(resync[resync.length - 1]!.at - resync[0]!.at).toBeGreaterThanOrEqual(3000); // 10 at 3/s: four windows
    expect(Math.max(...resync.map((s) => s.open))).toBeLessThanOrEqual(2 + 1); // + the held REG's re-POST at most
    for (let i = 0; i < 10; i++) expect(w.fake.registry.has(ueOf(i))).toBe(true);
  });

  it('C13: several answers GATEWAY_NOT_REGISTERED at once start ONE recovery loop; the held DEREGs end with true answers', async () => {
    const w = await world();
    const ids = await registerDevices(w, 4);
    w.fake.hold();
    for (let i = 0; i < 3; i++) w.link.deliver(dev(i), dereg(ids[i]!));
    await until(() => w.fake.pending === 3, 'three DEREGs at the server');
    w.fake.forget();
    w.fake.release(); // three answers GATEWAY_NOT_REGISTERED at once
    const answers: DeviceResponse[] = [];
    for (let i = 0; i < 3; i++) answers.push(await w.link.nextResponse(dev(i)));
    // The server no longer held them: DEREG after re-registration reads NOT_REGISTERED, a success.
    expect(answers.map((a) => [a.kind, a.result])).toEqual(Array(3).fill(['DEREGISTRATION_RESPONSE', 'SUCCESS']));
    await until(() => w.logger.has(REREGISTERED), 'the re-registered line');
    expect(gatewayRegs(w)).toBe(2);
    expect(w.logger.lines.filter((l) => l.message === FORGOTTEN)).toHaveLength(1);
    expect(w.logger.lines.find((l) => l.message === REREGISTERED)).toMatchObject({ fields: { resynced: 1, failed: 0, resumed: 3 } });
    expect((await w.store.list()).map((r) => r.registrationId)).toEqual([ids[3]]);
    expect([...w.fake.registry].sort()).toEqual([GW, ueOf(3)].sort());
    for (let i = 0; i < 3; i++) expect(w.link.responsesTo(dev(i))).toHaveLength(2); // REG, then one DEREG answer
    expectNoFalseSuccess(w, [0, 1, 2, 3]);
  });

  it("a held procedure's retransmissions are absorbed while the gateway registers again; the device hears one answer", async () => {
    const w = await world();
    w.fake.forget();
    w.fake.hold();
    w.link.deliver(dev(1), reg(1));
    await until(() => w.fake.pending === 1, 'the REG at the server');
    w.fake.release();
    w.fake.hold(); // the gateway's own REG, made next, waits
    await until(() => w.fake.pending === 1 && gatewayRegs(w) === 2, "the gateway's own REG at the server");
    expect(w.gw.isGatewayRegistered).toBe(false);
    for (let k = 0; k < 3; k++) w.link.deliver(dev(1), reg(1)); // the device's retransmissions
    await until(() => w.gw.counters.duplicatesAbsorbed === 3, 'three copies absorbed');
    expect(w.link.responsesTo(dev(1))).toHaveLength(0);
    // Another device meanwhile is told the truth at once.
    w.link.deliver(dev(2), reg(2));
    expect(await w.link.nextResponse(dev(2))).toMatchObject({ result: 'FAILURE', failureReason: 'GATEWAY_NOT_REGISTERED' });
    w.fake.release();
    expect(await w.link.nextResponse(dev(1))).toMatchObject({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS' });
    await until(() => w.logger.has(REREGISTERED), 'the re-registered line');
    expect(w.link.responsesTo(dev(1))).toHaveLength(1);
    expect(w.fake.registry.has(ueOf(1))).toBe(true);
  });

  it('while the re-registration fails: held procedures are answered GATEWAY_NOT_REGISTERED after the first attempt (REG removed, DEREG keeps its mapping); REGISTERED devices never hear SUCCESS', async () => {
    const clock = new HeldClock();
    const w = await world({ clock });
    const ids = await registerDevices(w, 3);
    w.fake.forget();
    w.fake.hold();
    w.link.deliver(dev(0), dereg(ids[0]!));
    w.link.deliver(dev(7), reg(7));
    await until(() => w.fake.pending === 2, 'DEREG and REG at the server');
    // The gateway's first attempt to register again will fail (unreachable), and its backoff sleep is held.
    w.fake.answerNext({ kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: 'no answer within the deadline' });
    clock.holding = true;
    w.fake.release();
    expect(await w.link.nextResponse(dev(0))).toMatchObject({ kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'GATEWAY_NOT_REGISTERED' });
    expect(await w.link.nextResponse(dev(7))).toMatchObject({ kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'GATEWAY_NOT_REGISTERED' });
    await until(() => clock.sleeping === 1, 'the backoff after attempt 1');
    expect(w.logger.lines.find((l) => l.message === 'MSGin5G Server did not accept the gateway registration; retrying')).toMatchObject({ level: 'warn', fields: { attempt: 1, failureReason: 'SERVER_UNREACHABLE', retryInMs: 2000 } });
    expect((await w.store.get(ids[0]!))?.state).toBe('REGISTERED'); // docs/adr/0003
    expect((await w.store.list()).map((r) => r.registrationId).sort()).toEqual([...ids].sort()); // the REG left nothing
    // Between attempts: an idempotent REG and a DEREG of REGISTERED devices are refused, not answered SUCCESS.
    w.link.deliver(dev(1), reg(1));
    w.link.deliver(dev(2), dereg(ids[2]!));
    expect(await w.link.nextResponse(dev(1))).toMatchObject({ result: 'FAILURE', failureReason: 'GATEWAY_NOT_REGISTERED' });
    expect(await w.link.nextResponse(dev(2))).toMatchObject({ result: 'FAILURE', failureReason: 'GATEWAY_NOT_REGISTERED' });
    clock.wake();
    await until(() => w.logger.has(REREGISTERED), 'the re-registered line');
    expect(w.logger.lines.find((l) => l.message === REREGISTERED)).toMatchObject({ fields: { resynced: 3, failed: 0, resumed: 0 } });
    expect(gatewayRegs(w)).toBe(3);
    for (let i = 0; i < 3; i++) expect(w.fake.registry.has(ueOf(i))).toBe(true);
    // Now the idempotent REG is true, and is answered SUCCESS.
    w.link.deliver(dev(1), reg(1));
    expect(await w.link.nextResponse(dev(1))).toMatchObject({ result: 'SUCCESS', registrationId: ids[1] });
    expectNoFalseSuccess(w, [0, 1, 2, 7]);
  });

  it('during the resync, a REG of a record not yet resynced is refused GATEWAY_NOT_REGISTERED and resynced next; its retry gets SUCCESS', async () => {
    const w = await world({ resyncPerSecond: 1, resyncInFlight: 1 });
    const ids = await registerDevices(w, 6);
    w.fake.forget();
    w.link.deliver(dev(30), reg(30));
    await w.link.nextResponse(dev(30));
    await until(() => w.gw.counters.resynced >= 1, 'the resync under way');
    expect(w.fake.registry.has(ueOf(5))).toBe(false);
    w.link.deliver(dev(5), reg(5)); // last in the resync order
    expect(await w.link.nextResponse(dev(5))).toMatchObject({ result: 'FAILURE', failureReason: 'GATEWAY_NOT_REGISTERED' });
    await until(() => w.fake.registry.has(ueOf(5)), 'device 5 resynced');
    // Resynced ahead of devices that came earlier in the list.
    expect(w.gw.counters.resynced).toBeLessThan(6);
    w.link.deliver(dev(5), reg(5));
    expect(await w.link.nextResponse(dev(5))).toMatchObject({ result: 'SUCCESS', registrationId: ids[5] });
    await until(() => w.logger.has(REREGISTERED), 'the re-registered line');
    expectNoFalseSuccess(w, [0, 1, 2, 3, 4, 5, 30]);
  });

  it('a DEREG decided while its record is being resynced is POSTed after the resync REG: the server ends without it', async () => {
    const w = await world({ resyncInFlight: 1 });
    const ids = await registerDevices(w, 1);
    w.fake.forget();
    w.link.deliver(dev(40), reg(40));
    await w.link.nextResponse(dev(40));
    await until(() => w.server.open > 0 && w.server.starts.at(-1)?.ueServiceId === ueOf(0), 'the resync REG of device 0 in flight');
    w.link.deliver(dev(0), dereg(ids[0]!));
    expect(await w.link.nextResponse(dev(0))).toMatchObject({ kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS' });
    const order = w.server.starts.filter((s) => s.ueServiceId === ueOf(0)).map((s) => s.operation);
    expect(order.slice(-2)).toEqual(['REG', 'DEREG']);
    expect(w.fake.registry.has(ueOf(0))).toBe(false);
    expect(await w.store.get(ids[0]!)).toBeUndefined();
  });

  it('a procedure answered GATEWAY_NOT_REGISTERED again after the re-registration hears it (no endless retry); a repeat soon after waits before registering again', async () => {
    const w = await world();
    w.server.refuse.add(ueOf(3)); // this device is refused whatever the gateway does
    w.link.deliver(dev(3), reg(3));
    expect(await w.link.nextResponse(dev(3))).toMatchObject({ kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'GATEWAY_NOT_REGISTERED' });
    expect(w.link.responsesTo(dev(3))).toHaveLength(1);
    expect(await w.store.list()).toHaveLength(0);
    await until(() => w.logger.lines.filter((l) => l.message === REREGISTERED).length === 2, 'two rounds');
    expect(w.server.starts.filter((s) => s.ueServiceId === ueOf(3))).toHaveLength(2); // the first POST and one retry
    expect(gatewayRegs(w)).toBe(3);
    // The second round came within the flap window: it waited the first backoff step first.
    expect(w.clock.sleeps).toContain(2000);
    expect(w.logger.has('the MSGin5G Server forgot the Gateway UE again soon after it registered again; waiting before the next registration')).toBe(true);
    expect(REREGISTER_FLAP_WINDOW_MS).toBeGreaterThan(2000);
  });

  it('a second restart soon after, with devices served in between, is recovered at once (no wait)', async () => {
    const w = await world();
    await registerDevices(w, 2);
    for (const round of [1, 2]) {
      w.fake.forget();
      w.link.deliver(dev(10 + round), reg(10 + round));
      expect(await w.link.nextResponse(dev(10 + round))).toMatchObject({ result: 'SUCCESS' });
      await until(() => w.logger.lines.filter((l) => l.message === REREGISTERED).length === round, `round ${round}`);
    }
    expect(gatewayRegs(w)).toBe(3);
    expect(w.clock.sleeps).toEqual([]);
    expect([...w.fake.registry].sort()).toEqual([GW, ueOf(0), ueOf(1), ueOf(11), ueOf(12)].sort());
  });

  it('an answer GATEWAY_NOT_REGISTERED to a POST made before the latest re-registration starts no new round: the procedure is POSTed again', async () => {
    const w = await world();
    const ids = await registerDevices(w, 2);
    w.fake.hold();
    w.link.deliver(dev(0), dereg(ids[0]!)); // POSTed now, answered later
    await until(() => w.fake.pending === 1, 'the DEREG at the server');
    w.fake.forget();
    w.fake.release();
    w.fake.hold();
    // Device 1's idempotent REG is answered from the store: no POST; a fresh REG makes one.
    w.link.deliver(dev(5), reg(5));
    await until(() => w.fake.pending === 1 || w.logger.has(FORGOTTEN), 'something at the server');
    w.fake.release();
    await until(() => w.logger.has(REREGISTERED), 'the re-registered line');
    expect(gatewayRegs(w)).toBe(2);
    expect(w.logger.lines.filter((l) => l.message === FORGOTTEN)).toHaveLength(1);
    expect(w.link.responsesTo(dev(0)).at(-1)).toMatchObject({ kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS' });
    expectNoFalseSuccess(w, [0, 1, 5]);
  });

  it("an answer GATEWAY_NOT_REGISTERED to the gateway's own REG is odd: read as SERVER_REJECTED, the gateway stays unregistered", async () => {
    const fake = new FakeServerLink().answerNext({ kind: 'FAILURE', reason: 'GATEWAY_NOT_REGISTERED', cause: 'FAILURE GATEWAY_NOT_REGISTERED' });
    const link = new InMemoryDeviceLink('udp');
    const logger = new RecordingLogger();
    const gw = new GatewayProcedures(
      { store: new InMemoryRegistrationStore(), server: fake, links: [link], clock: new FakeClock(), allocator: new SequenceRegistrationIdAllocator(), authorizer: { authorize: () => ({ allowed: true }) }, logger },
      { gatewayUeServiceId: GW },
    );
    await link.start(gw);
    await expect(gw.registerGateway()).resolves.toEqual({ kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: "FAILURE GATEWAY_NOT_REGISTERED to the gateway's own REG" });
    expect(gw.isGatewayRegistered).toBe(false);
    expect(gw.isRecovering).toBe(false); // the caller retries; no recovery loop of its own
    // The attempt is logged at debug only: the caller writes the one warn per attempt.
    expect(logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
    link.deliver(dev(0), reg(0));
    expect(await link.nextResponse(dev(0))).toMatchObject({ result: 'FAILURE', failureReason: 'GATEWAY_NOT_REGISTERED' });
    await expect(gw.registerGateway()).resolves.toEqual({ kind: 'SUCCESS' });
    expect(gw.isGatewayRegistered).toBe(true);
  });

  it('a stop during an attempt to register again waits for it (whenIdle), so the runtime sees the outcome; held procedures stay pending for the next start', async () => {
    const w = await world();
    w.fake.forget();
    w.fake.hold();
    w.link.deliver(dev(1), reg(1));
    await until(() => w.fake.pending === 1, 'the REG at the server');
    w.fake.release();
    w.fake.hold();
    await until(() => w.fake.pending === 1 && gatewayRegs(w) === 2, "the gateway's own REG at the server");
    w.gw.stopAccepting();
    let idle = false;
    const whenIdle = w.gw.whenIdle().then(() => (idle = true));
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(idle).toBe(false);
    w.fake.release();
    await whenIdle;
    expect(w.gw.isGatewayRegistered).toBe(true); // the runtime then de-registers it
    expect((await w.store.list()).map((r) => r.state)).toEqual(['REGISTERING']);
    expect(w.link.responsesTo(dev(1))).toEqual([]);
  });

  it('tells the observer once per re-registration, with the counts', async () => {
    const calls: Array<[number, number]> = [];
    const fake = new FakeServerLink();
    const link = new InMemoryDeviceLink('udp');
    const store = new InMemoryRegistrationStore();
    const observer = {
      requestReceived() {},
      requestRefused() {},
      procedureFinished() {},
      duplicateAbsorbed() {},
      protocolError() {},
      upstreamAnswered() {},
      gatewayReregistered(resynced: number, failed: number) {
        calls.push([resynced, failed]);
      },
    };
    const gw = new GatewayProcedures(
      { store, server: fake, links: [link], clock: new FakeClock(), allocator: new SequenceRegistrationIdAllocator(), authorizer: { authorize: () => ({ allowed: true }) }, logger: new RecordingLogger(), observer },
      { gatewayUeServiceId: GW },
    );
    await link.start(gw);
    await gw.registerGateway();
    link.deliver(dev(0), reg(0));
    await link.nextResponse(dev(0));
    fake.forget();
    fake.answerNext({ kind: 'FAILURE', reason: 'GATEWAY_NOT_REGISTERED', cause: 'x' }); // device 1's REG
    link.deliver(dev(1), reg(1));
    await link.nextResponse(dev(1));
    await until(() => calls.length === 1, 'the observer told');
    expect(calls).toEqual([[1, 0]]);
  });
});
