/**
 * The message relay through GatewayProcedures (docs/wire-formats.md §5.2, §5.3; docs/adr/0013):
 * uplink MSG with dedup, downlink queues with resends and reports, the IMDN outbox, de-registration,
 * restart. The devices are an InMemoryDeviceLink, the server a FakeServerLink, time a FakeClock.
 */
import {
  GatewayProcedures,
  InMemoryMessageStore,
  RegistrationStoreError,
  UPLINK_DEDUP_MS,
  silentLogger,
  type ApplicationId,
  type DeliveryReportSendingRequest,
  type GatewayObserver,
  type Layer2Id,
  type LinkId,
  type MessageId,
  type MessageReceivingAck,
  type MessageRelayOptions,
  type MessageSendingRequest,
  type Registration,
  type ServerDelivery,
  type UeServiceId,
} from '@msgin5g/core';
import { FakeClock, FakeServerLink, InMemoryDeviceLink, InMemoryRegistrationStore, SequenceRegistrationIdAllocator } from '@msgin5g/core/testing';
import { A, B, APP, GW, reg, dereg } from './fixtures';

const AS = 'as-origin-1';
const NOTIFY = 'coap://127.0.0.1:5700/msgin5g';
const mid = (n: number) => n.toString(16).padStart(32, '0') as MessageId;
const turns = async (n = 10) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

/** The in-memory store whose `sync()` can be held (one pending commit) and made to fail. */
class GatedStore extends InMemoryRegistrationStore {
  private held: Array<() => void> | undefined;
  failNext = false;
  hold(): void {
    this.held ??= [];
  }
  release(): void {
    const waiting = this.held ?? [];
    this.held = undefined;
    for (const w of waiting) w();
  }
  override async sync(): Promise<void> {
    if (this.held !== undefined) await new Promise<void>((resolve) => this.held?.push(resolve));
    if (this.failNext) {
      this.failNext = false;
      throw new RegistrationStoreError('IO', 'commit failed (test)');
    }
    return super.sync();
  }
}

interface World {
  store: InMemoryRegistrationStore;
  messages: InMemoryMessageStore;
  server: FakeServerLink;
  link: InMemoryDeviceLink;
  clock: FakeClock;
  gw: GatewayProcedures;
}

interface WorldOptions {
  store?: InMemoryRegistrationStore;
  messages?: InMemoryMessageStore;
  server?: FakeServerLink;
  clock?: FakeClock;
  relay?: MessageRelayOptions;
  maxInFlight?: number;
  burstPerDevice?: number;
  observer?: GatewayObserver;
  /** Do not register the gateway nor recover (a test does it). */
  cold?: boolean;
}

async function world(o: WorldOptions = {}): Promise<World> {
  const store = o.store ?? new InMemoryRegistrationStore();
  const messages = o.messages ?? new InMemoryMessageStore();
  const server = o.server ?? new FakeServerLink();
  const clock = o.clock ?? new FakeClock();
  const link = new InMemoryDeviceLink('udp');
  const gw = new GatewayProcedures(
    { store, messages, server, links: [link], clock, allocator: new SequenceRegistrationIdAllocator(), authorizer: { authorize: () => ({ allowed: true }) }, logger: silentLogger, ...(o.observer === undefined ? {} : { observer: o.observer }) },
    { gatewayUeServiceId: GW, notifyUri: NOTIFY, messages: o.relay, ...(o.maxInFlight === undefined ? {} : { maxInFlight: o.maxInFlight }), ...(o.burstPerDevice === undefined ? {} : { burstPerDevice: o.burstPerDevice, requestsPerSecondPerDevice: 1 }) },
  );
  await link.start(gw);
  if (o.cold !== true) {
    await gw.registerGateway();
    await gw.recover();
  }
  return { store, messages, server, link, clock, gw };
}

/** Registers (from, app) and resolves its record. */
async function registered(w: World, from: Layer2Id = A, app: ApplicationId = APP): Promise<Registration> {
  w.link.deliver(from, reg(app));
  const r = await w.link.nextResponse(from);
  if (r.result !== 'SUCCESS') throw new Error(`registration failed: ${JSON.stringify(r)}`);
  const record = await w.store.get(r.registrationId);
  if (record === undefined) throw new Error('no record');
  return record;
}

const sending = (n: number, extra: Partial<MessageSendingRequest> = {}): MessageSendingRequest => ({
  kind: 'MESSAGE_SENDING_REQUEST',
  targetAddress: 'ue-77',
  messageId: mid(n),
  payload: new Uint8Array([1, 2, 3]),
  applicationId: APP,
  deliveryStatusRequired: true,
  targetType: 'UE',
  ...extra,
});
const serverMsg = (to: UeServiceId, n: number, extra: Partial<Extract<ServerDelivery, { kind: 'MSG' }>> = {}): ServerDelivery => ({
  kind: 'MSG',
  originatorAddress: AS,
  originatorType: 'AS',
  targetAddress: to,
  messageId: mid(n),
  deliveryStatusRequired: true,
  payload: new Uint8Array([n & 0xff]),
  ...extra,
});
const ack = (n: number, applicationId: ApplicationId | undefined = APP): MessageReceivingAck => ({ kind: 'MESSAGE_RECEIVING_ACK', messageId: mid(n), ...(applicationId === undefined ? {} : { applicationId }) });
const deviceReport = (n: number, extra: Partial<DeliveryReportSendingRequest> = {}): DeliveryReportSendingRequest => ({
  kind: 'DELIVERY_REPORT_SENDING_REQUEST',
  targetAddress: AS,
  messageId: mid(n),
  deliveryStatus: 'DELIVERED',
  applicationId: APP,
  ...extra,
});

/** Moves the fake clock in steps of `stepMs` up to `totalMs`, letting the relay run after each; resolves the fake-time offsets (from the start) at which `count()` grew. */
async function walk(w: World, totalMs: number, count: () => number, stepMs = 1000): Promise<number[]> {
  const start = w.clock.now();
  const at: number[] = [];
  let seen = count();
  await turns();
  for (let i = 0; i <= totalMs / stepMs; i++) {
    if (i > 0) w.clock.advance(stepMs);
    await turns();
    const now = count();
    for (; seen < now; seen++) at.push(w.clock.now() - start);
  }
  return at;
}

describe('uplink: MESSAGE SENDING REQUEST (docs/wire-formats.md §5.2)', () => {
  it("POSTs MSG on the sender's behalf and answers ACCEPTED with the server's delivery status and the registration's Application ID", async () => {
    const w = await world();
    const r = await registered(w);
    w.link.deliverMessage(A, sending(1, { applicationId: undefined }));
    await expect(w.link.nextUnit(A)).resolves.toStrictEqual({ kind: 'MESSAGE_SENDING_RESPONSE', messageId: mid(1), result: 'ACCEPTED', applicationId: APP, deliveryStatus: 'DELIVERED' });
    expect(w.server.messages).toStrictEqual([
      { originatorAddress: r.ueServiceId, gatewayUeServiceId: GW, targetAddress: 'ue-77', targetType: 'UE', messageId: mid(1), applicationId: APP, deliveryStatusRequired: true, payload: new Uint8Array([1, 2, 3]) },
    ]);
  });

  it('matches the sender by Application ID among several registrations of one Layer-2 ID; without one: APPLICATION_ID_REQUIRED, no POST', async () => {
    const w = await world();
    const r42 = await registered(w, A, APP);
    const r7 = await registered(w, A, 7 as ApplicationId);
    w.link.deliverMessage(A, sending(1, { applicationId: undefined }));
    await expect(w.link.nextUnit(A)).resolves.toStrictEqual({ kind: 'MESSAGE_SENDING_RESPONSE', messageId: mid(1), result: 'FAILURE', failureReason: 'APPLICATION_ID_REQUIRED' });
    expect(w.server.messages).toHaveLength(0);
    w.link.deliverMessage(A, sending(2, { applicationId: 7 as ApplicationId }));
    await expect(w.link.nextUnit(A)).resolves.toMatchObject({ result: 'ACCEPTED', applicationId: 7 });
    expect(w.server.messages.map((m) => m.originatorAddress)).toEqual([r7.ueServiceId]);
    expect(r42.ueServiceId).not.toBe(r7.ueServiceId);
  });

  it('DEVICE_NOT_REGISTERED: no registration, another Application ID, another link Layer-2 ID, or a registration not REGISTERED', async () => {
    const w = await world();
    w.link.deliverMessage(A, sending(1));
    await expect(w.link.nextUnit(A)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'DEVICE_NOT_REGISTERED', applicationId: APP });
    const r = await registered(w);
    w.link.deliverMessage(A, sending(2, { applicationId: 9 as ApplicationId }));
    await expect(w.link.nextUnit(A)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'DEVICE_NOT_REGISTERED' });
    w.link.deliverMessage(B, sending(3));
    await expect(w.link.nextUnit(B)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'DEVICE_NOT_REGISTERED' });
    // DEREGISTERING (its DEREG is held at the server): not a sender any more.
    w.server.hold('DEREG');
    w.link.deliver(A, dereg(r.registrationId));
    await turns();
    await expect(w.store.get(r.registrationId)).resolves.toMatchObject({ state: 'DEREGISTERING' });
    w.link.deliverMessage(A, sending(4, { applicationId: undefined }));
    await expect(w.link.nextUnit(A)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'DEVICE_NOT_REGISTERED' });
    expect(w.server.messages).toHaveLength(0);
    w.server.release();
  });

  it("PAYLOAD_TOO_LARGE beyond the server's limit, without a POST; at the limit it goes", async () => {
    const w = await world();
    await registered(w);
    w.server.maxMessagePayloadOctets = 10;
    w.link.deliverMessage(A, sending(1, { payload: new Uint8Array(11) }));
    await expect(w.link.nextUnit(A)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'PAYLOAD_TOO_LARGE', messageId: mid(1) });
    expect(w.server.messages).toHaveLength(0);
    w.link.deliverMessage(A, sending(2, { payload: new Uint8Array(10) }));
    await expect(w.link.nextUnit(A)).resolves.toMatchObject({ result: 'ACCEPTED' });
  });

  it.each([
    [{ kind: 'ACCEPTED', deliveryStatus: 'STORED' } as const, { result: 'ACCEPTED', deliveryStatus: 'STORED' }],
    [{ kind: 'ACCEPTED', deliveryStatus: 'DELIVERED' } as const, { result: 'ACCEPTED', deliveryStatus: 'DELIVERED' }],
    [{ kind: 'FAILURE', reason: 'RECIPIENT_UNKNOWN', cause: 'x' } as const, { result: 'FAILURE', failureReason: 'RECIPIENT_UNKNOWN' }],
    [{ kind: 'FAILURE', reason: 'PAYLOAD_TOO_LARGE', cause: 'x' } as const, { result: 'FAILURE', failureReason: 'PAYLOAD_TOO_LARGE' }],
    [{ kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: 'x' } as const, { result: 'FAILURE', failureReason: 'SERVER_REJECTED' }],
  ])('maps the outcome %j to %j, and a repeat gets the same answer without a second POST', async (outcome, answer) => {
    const w = await world();
    await registered(w);
    w.server.answerNextMessage(outcome);
    w.link.deliverMessage(A, sending(1));
    const first = await w.link.nextUnit(A);
    expect(first).toMatchObject({ ...answer, messageId: mid(1), applicationId: APP });
    w.link.deliverMessage(A, sending(1));
    await expect(w.link.nextUnit(A)).resolves.toStrictEqual(first);
    expect(w.server.messages).toHaveLength(1);
    expect(w.gw.messageCounters.uplinkReplays).toBe(1);
  });

  it('SERVER_UNREACHABLE is answered, not remembered: a repeat POSTs again', async () => {
    const w = await world();
    await registered(w);
    w.server.answerNextMessage({ kind: 'NEVER' });
    w.link.deliverMessage(A, sending(1));
    await expect(w.link.nextUnit(A)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'SERVER_UNREACHABLE' });
    w.link.deliverMessage(A, sending(1));
    await expect(w.link.nextUnit(A)).resolves.toMatchObject({ result: 'ACCEPTED' });
    expect(w.server.messages).toHaveLength(2);
  });

  it('a repeat while the POST is under way gets the same answer when it comes; one POST', async () => {
    const w = await world();
    await registered(w);
    w.server.hold('MSG');
    w.link.deliverMessage(A, sending(1));
    await turns();
    w.link.deliverMessage(A, sending(1));
    await turns();
    expect(w.link.unitsTo(A)).toHaveLength(0);
    w.server.release();
    const [one, two] = [await w.link.nextUnit(A), await w.link.nextUnit(A)];
    expect(two).toStrictEqual(one);
    expect(w.server.messages).toHaveLength(1);
  });

  it('dedup holds across a restart (new GatewayProcedures, same stores) and ends after 247 s', async () => {
    const w1 = await world();
    await registered(w1);
    w1.server.answerNextMessage({ kind: 'ACCEPTED', deliveryStatus: 'STORED' });
    w1.link.deliverMessage(A, sending(1));
    const first = await w1.link.nextUnit(A);
    w1.gw.stopAccepting();
    await w1.gw.whenIdle();
    await w1.link.stop();
    const server2 = new FakeServerLink();
    server2.registry.add(GW);
    const w2 = await world({ store: w1.store, messages: w1.messages, clock: w1.clock, server: server2 });
    w2.link.deliverMessage(A, sending(1));
    await expect(w2.link.nextUnit(A)).resolves.toStrictEqual(first);
    expect(server2.messages).toHaveLength(0);
    w2.clock.advance(UPLINK_DEDUP_MS);
    w2.link.deliverMessage(A, sending(1));
    await expect(w2.link.nextUnit(A)).resolves.toMatchObject({ result: 'ACCEPTED', deliveryStatus: 'DELIVERED' });
    expect(server2.messages).toHaveLength(1);
  });

  it('GATEWAY_NOT_REGISTERED: answered, the one re-registration starts (its REG carries notifyUri), and the repeat POSTs again', async () => {
    const w = await world();
    await registered(w);
    const gatewayRegs = () => w.server.calls.filter((c) => c.operation === 'REG' && c.request.gatewayUeServiceId === undefined);
    expect(gatewayRegs().map((c) => c.request)).toStrictEqual([{ ueServiceId: GW, notifyUri: NOTIFY }]);
    w.server.forget();
    w.link.deliverMessage(A, sending(1));
    await expect(w.link.nextUnit(A)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'GATEWAY_NOT_REGISTERED' });
    for (let i = 0; i < 100 && !w.gw.isGatewayRegistered; i++) await turns(1);
    expect(w.gw.isGatewayRegistered).toBe(true);
    expect(gatewayRegs().map((c) => c.request)).toStrictEqual([
      { ueServiceId: GW, notifyUri: NOTIFY },
      { ueServiceId: GW, notifyUri: NOTIFY },
    ]);
    await w.gw.whenIdle();
    w.link.deliverMessage(A, sending(1));
    await expect(w.link.nextUnit(A)).resolves.toMatchObject({ result: 'ACCEPTED' });
    expect(w.server.messages).toHaveLength(2);
  });

  it('uplinks in flight share maxInFlight: beyond it CONGESTION, nothing POSTed', async () => {
    const w = await world({ maxInFlight: 2 });
    const devices = [A, B, '127.0.0.1:40003' as Layer2Id];
    for (const [i, d] of devices.entries()) await registered(w, d, (50 + i) as ApplicationId);
    await w.gw.whenIdle(); // the REG exchanges have left their in-flight slots
    w.server.hold('MSG');
    devices.forEach((d, i) => w.link.deliverMessage(d, sending(i, { applicationId: (50 + i) as ApplicationId })));
    await expect(w.link.nextUnit(devices[2] as Layer2Id)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'CONGESTION' });
    await turns();
    expect(w.server.messages.map((m) => m.applicationId)).toEqual([50, 51]);
    w.server.release();
    await expect(w.link.nextUnit(A)).resolves.toMatchObject({ result: 'ACCEPTED' });
  });

  it("a device over its rate (the bucket REG/DEREG use) gets CONGESTION without a POST", async () => {
    const w = await world({ burstPerDevice: 3 });
    await registered(w); // one token
    for (const n of [1, 2, 3]) w.link.deliverMessage(A, sending(n));
    await turns();
    const answers = [await w.link.nextUnit(A), await w.link.nextUnit(A), await w.link.nextUnit(A)].sort((a, b) => (a.messageId < b.messageId ? -1 : 1));
    expect(answers.map((a) => (a.kind === 'MESSAGE_SENDING_RESPONSE' && a.result === 'FAILURE' ? a.failureReason : 'ACCEPTED'))).toEqual(['ACCEPTED', 'ACCEPTED', 'CONGESTION']);
    expect(w.server.messages).toHaveLength(2);
  });

  it("persist, then act: the device's answer waits for the commit after the server's answer", async () => {
    const store = new GatedStore();
    const w = await world({ store });
    await registered(w);
    w.server.hold('MSG');
    w.link.deliverMessage(A, sending(1));
    await turns();
    store.hold();
    w.server.release();
    await turns(20);
    expect(w.server.messages).toHaveLength(1);
    expect(w.link.unitsTo(A)).toHaveLength(0);
    store.release();
    await expect(w.link.nextUnit(A)).resolves.toMatchObject({ result: 'ACCEPTED' });
  });

  it('GATEWAY_NOT_REGISTERED before any POST while the gateway is not registered', async () => {
    const w = await world({ cold: true });
    w.link.deliverMessage(A, sending(1));
    await expect(w.link.nextUnit(A)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'GATEWAY_NOT_REGISTERED' });
    expect(w.server.messages).toHaveLength(0);
  });
});

describe('downlink: deliveries from the server (docs/adr/0013) and MESSAGE RECEIVING (§5.3)', () => {
  it('STORED, then MESSAGE RECEIVING to the stored Layer-2 ID with the Application ID of the recipient', async () => {
    const w = await world();
    const r = await registered(w);
    await expect(w.gw.onServerDelivery(serverMsg(r.ueServiceId, 1))).resolves.toStrictEqual({ kind: 'STORED' });
    await expect(w.link.nextUnit(A)).resolves.toStrictEqual({
      kind: 'MESSAGE_RECEIVING',
      originatorAddress: AS,
      messageId: mid(1),
      payload: new Uint8Array([1]),
      applicationId: APP,
      deliveryStatusRequired: true,
      originatorType: 'AS',
    });
  });

  it('RECIPIENT_UNKNOWN: no such UE Service ID, a registration not REGISTERED, or another Application ID named', async () => {
    const w = await world();
    await expect(w.gw.onServerDelivery(serverMsg('nobody-1' as UeServiceId, 1))).resolves.toMatchObject({ kind: 'FAILURE', reason: 'RECIPIENT_UNKNOWN' });
    const r = await registered(w);
    await expect(w.gw.onServerDelivery(serverMsg(r.ueServiceId, 1, { applicationId: 9 as ApplicationId }))).resolves.toMatchObject({ kind: 'FAILURE', reason: 'RECIPIENT_UNKNOWN' });
    w.server.hold('DEREG');
    w.link.deliver(A, dereg(r.registrationId));
    await turns();
    await expect(w.gw.onServerDelivery(serverMsg(r.ueServiceId, 2))).resolves.toMatchObject({ kind: 'FAILURE', reason: 'RECIPIENT_UNKNOWN' });
    await expect(w.messages.downlinkDepth()).resolves.toBe(0);
    w.server.release();
  });

  it("PAYLOAD_TOO_LARGE beyond the recipient link's maxPayloadOctets; 65 535 when the link says none", async () => {
    const w = await world();
    const r = await registered(w);
    await expect(w.gw.onServerDelivery(serverMsg(r.ueServiceId, 1, { payload: new Uint8Array(65_535) }))).resolves.toStrictEqual({ kind: 'STORED' });
    w.link.maxPayloadOctets = 8;
    await expect(w.gw.onServerDelivery(serverMsg(r.ueServiceId, 2, { payload: new Uint8Array(9) }))).resolves.toMatchObject({ kind: 'FAILURE', reason: 'PAYLOAD_TOO_LARGE' });
    await expect(w.gw.onServerDelivery(serverMsg(r.ueServiceId, 3, { payload: new Uint8Array(8) }))).resolves.toStrictEqual({ kind: 'STORED' });
    await expect(w.messages.downlinkDepth()).resolves.toBe(2);
  });

  it('bounds: CONGESTION per device and in total; a repeat is STORED again and queues nothing', async () => {
    const w = await world({ relay: { queuePerDevice: 2, queueTotal: 3 } });
    const a = await registered(w, A);
    const b = await registered(w, B, 7 as ApplicationId);
    await expect(w.gw.onServerDelivery(serverMsg(a.ueServiceId, 1))).resolves.toStrictEqual({ kind: 'STORED' });
    await expect(w.gw.onServerDelivery(serverMsg(a.ueServiceId, 2))).resolves.toStrictEqual({ kind: 'STORED' });
    await expect(w.gw.onServerDelivery(serverMsg(a.ueServiceId, 2))).resolves.toStrictEqual({ kind: 'STORED' });
    await expect(w.gw.onServerDelivery(serverMsg(a.ueServiceId, 3))).resolves.toMatchObject({ kind: 'FAILURE', reason: 'CONGESTION' });
    await expect(w.gw.onServerDelivery(serverMsg(b.ueServiceId, 1))).resolves.toStrictEqual({ kind: 'STORED' });
    await expect(w.gw.onServerDelivery(serverMsg(b.ueServiceId, 2))).resolves.toMatchObject({ kind: 'FAILURE', reason: 'CONGESTION' });
    await expect(w.messages.downlinkDepth()).resolves.toBe(3);
    expect(w.gw.messageCounters).toMatchObject({ deliveriesStored: 3, deliveriesRepeated: 1, deliveriesRefused: 2 });
  });

  it('persist, then act: no STORED and no MESSAGE RECEIVING before the commit; a failed commit is not STORED', async () => {
    const store = new GatedStore();
    const w = await world({ store });
    const r = await registered(w);
    store.hold();
    let verdict: unknown;
    void w.gw.onServerDelivery(serverMsg(r.ueServiceId, 1)).then((v) => (verdict = v));
    await turns(20);
    expect(verdict).toBeUndefined();
    expect(w.link.unitsTo(A)).toHaveLength(0);
    store.release();
    await turns();
    expect(verdict).toStrictEqual({ kind: 'STORED' });
    expect(w.link.unitsTo(A)).toHaveLength(1);
    store.failNext = true;
    await expect(w.gw.onServerDelivery(serverMsg(r.ueServiceId, 2))).resolves.toMatchObject({ kind: 'FAILURE', reason: 'UNSPECIFIED' });
  });

  it('order per device: three queued messages go one at a time, each after the ack of the one before', async () => {
    const w = await world();
    const r = await registered(w);
    for (const n of [1, 2, 3]) await w.gw.onServerDelivery(serverMsg(r.ueServiceId, n));
    await turns();
    expect(w.link.unitsTo(A).map((u) => u.messageId)).toEqual([mid(1)]);
    w.link.deliverMessage(A, ack(1));
    await turns();
    expect(w.link.unitsTo(A).map((u) => u.messageId)).toEqual([mid(1), mid(2)]);
    w.link.deliverMessage(A, ack(2, undefined)); // the only registration of A: no Application ID needed
    await turns();
    expect(w.link.unitsTo(A).map((u) => u.messageId)).toEqual([mid(1), mid(2), mid(3)]);
    w.link.deliverMessage(A, ack(3));
    await turns();
    await expect(w.messages.downlinkDepth()).resolves.toBe(0);
  });

  it('resend schedule: sends at 0, 2, 6, 14, 30 s, then NOT_DELIVERED at 62 s with a FAILED report sent as IMDN', async () => {
    const w = await world();
    const r = await registered(w);
    await w.gw.onServerDelivery(serverMsg(r.ueServiceId, 1));
    const reportsAt: number[] = [];
    const start = w.clock.now();
    const sends = await walk(w, 70_000, () => {
      if (w.server.reports.length > reportsAt.length) reportsAt.push(w.clock.now() - start);
      return w.link.unitsTo(A).length;
    });
    expect(sends).toEqual([0, 2000, 6000, 14_000, 30_000]);
    expect(reportsAt).toEqual([62_000]);
    expect(w.server.reports).toStrictEqual([{ originatorAddress: r.ueServiceId, gatewayUeServiceId: GW, targetAddress: AS, messageId: mid(1), deliveryStatus: 'FAILED', failureReason: 'NOT_DELIVERED' }]);
    await expect(w.messages.downlinkDepth()).resolves.toBe(0);
    await expect(w.messages.outboxDepth()).resolves.toBe(0);
    expect(w.gw.messageCounters.notDelivered).toBe(1);
  });

  it('a configured schedule: first resend after 100 ms, 1 resend', async () => {
    const w = await world({ relay: { firstResendMs: 100, resends: 1 } });
    const r = await registered(w);
    await w.gw.onServerDelivery(serverMsg(r.ueServiceId, 1, { deliveryStatusRequired: false }));
    const sends = await walk(w, 1000, () => w.link.unitsTo(A).length, 50);
    expect(sends).toEqual([0, 100]);
    await expect(w.messages.downlinkDepth()).resolves.toBe(0);
    expect(w.server.reports).toHaveLength(0); // no report asked for
  });

  it('ack → DELIVERED report → outbox → IMDN; no report when none was asked for; an ack for nothing is ignored', async () => {
    const w = await world();
    const r = await registered(w);
    await w.gw.onServerDelivery(serverMsg(r.ueServiceId, 1));
    await w.gw.onServerDelivery(serverMsg(r.ueServiceId, 2, { deliveryStatusRequired: false }));
    await turns();
    w.link.deliverMessage(A, ack(1));
    await turns();
    expect(w.server.reports).toStrictEqual([{ originatorAddress: r.ueServiceId, gatewayUeServiceId: GW, targetAddress: AS, messageId: mid(1), deliveryStatus: 'DELIVERED' }]);
    w.link.deliverMessage(A, ack(2));
    await turns();
    expect(w.server.reports).toHaveLength(1);
    w.link.deliverMessage(A, ack(1));
    w.link.deliverMessage(A, ack(99));
    await turns();
    expect(w.server.reports).toHaveLength(1);
    expect(w.gw.messageCounters).toMatchObject({ acked: 2, acksIgnored: 2 });
    expect(w.gw.nextDownlinkAttempt(r.registrationId)).toBeUndefined();
    // No resend after the ack.
    const later = await walk(w, 40_000, () => w.link.unitsTo(A).length);
    expect(later).toEqual([]);
  });

  it("the device's own 0x02 ends the queued message and is relayed instead of a built report; never two reports", async () => {
    const w = await world();
    const r = await registered(w);
    await w.gw.onServerDelivery(serverMsg(r.ueServiceId, 1));
    await w.gw.onServerDelivery(serverMsg(r.ueServiceId, 2));
    await turns();
    w.link.deliverMessage(A, deviceReport(1, { deliveryStatus: 'FAILED', failureReason: 'UNSPECIFIED' }));
    await turns();
    expect(w.server.reports).toStrictEqual([{ originatorAddress: r.ueServiceId, gatewayUeServiceId: GW, targetAddress: AS, messageId: mid(1), deliveryStatus: 'FAILED', failureReason: 'UNSPECIFIED' }]);
    // The next message went out; the late ack of message 1 and a repeated 0x02 add nothing.
    expect(w.link.unitsTo(A).map((u) => u.messageId)).toEqual([mid(1), mid(2)]);
    w.link.deliverMessage(A, ack(1));
    w.link.deliverMessage(A, deviceReport(1));
    await turns();
    // Message 2: acked (gateway-built DELIVERED), then the device's 0x02 about it is dropped.
    w.link.deliverMessage(A, ack(2));
    await turns();
    w.link.deliverMessage(A, deviceReport(2));
    await turns();
    expect(w.server.reports.map((x) => [x.messageId, x.deliveryStatus])).toEqual([
      [mid(1), 'FAILED'],
      [mid(2), 'DELIVERED'],
    ]);
    expect(w.gw.messageCounters).toMatchObject({ deviceReports: 1, deviceReportsDropped: 2 });
  });

  it("a 0x02 about a message not queued goes to the outbox as the device's report", async () => {
    const w = await world();
    const r = await registered(w);
    w.link.deliverMessage(A, deviceReport(5, { targetAddress: 'ue-somebody' }));
    await turns();
    expect(w.server.reports).toStrictEqual([{ originatorAddress: r.ueServiceId, gatewayUeServiceId: GW, targetAddress: 'ue-somebody', messageId: mid(5), deliveryStatus: 'DELIVERED' }]);
  });

  it('an IMDN from the server for a device goes out once as DELIVERY REPORT RECEIVING in its turn', async () => {
    const w = await world();
    const r = await registered(w);
    await w.gw.onServerDelivery(serverMsg(r.ueServiceId, 1));
    await expect(w.gw.onServerDelivery({ kind: 'IMDN', originatorAddress: 'ue-77', targetAddress: r.ueServiceId, messageId: mid(9), deliveryStatus: 'FAILED', failureReason: 'RECIPIENT_UNKNOWN' })).resolves.toStrictEqual({ kind: 'STORED' });
    await turns();
    expect(w.link.unitsTo(A).map((u) => u.kind)).toEqual(['MESSAGE_RECEIVING']);
    w.link.deliverMessage(A, ack(1));
    await turns();
    expect(w.link.unitsTo(A)[1]).toStrictEqual({ kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: 'ue-77', messageId: mid(9), deliveryStatus: 'FAILED', applicationId: APP, failureReason: 'RECIPIENT_UNKNOWN' });
    await expect(w.messages.downlinkDepth()).resolves.toBe(0);
    expect(await walk(w, 40_000, () => w.link.unitsTo(A).length)).toEqual([]);
  });

  it.each(['SEND', 'BAD_ADDRESS', 'CLOSED'] as const)('a link send error %s counts as an attempt not made: tried again on the schedule, all 5 sends still made', async (reason) => {
    const w = await world();
    const r = await registered(w);
    w.link.failNextSends(2, reason);
    await w.gw.onServerDelivery(serverMsg(r.ueServiceId, 1));
    const sends = await walk(w, 80_000, () => w.link.unitsTo(A).length);
    // Failed at 0 and 2 s (gaps of a first send), reached the device at 4 s, then 2, 4, 8, 16 s gaps.
    expect(sends).toEqual([4000, 6000, 10_000, 18_000, 34_000]);
    expect(w.gw.messageCounters.downlinkSendFailures).toBe(2);
    expect(w.server.reports.map((x) => x.failureReason)).toEqual(['NOT_DELIVERED']);
  });
});

describe('de-registration ends pending downlink messages (§5.3: nothing is dropped silently)', () => {
  const cases: Array<[string, (w: World, r: Registration) => Promise<unknown>]> = [
    ['the device de-registers', async (w, r) => {
      w.link.deliver(A, dereg(r.registrationId));
      await expect(w.link.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS' });
    }],
    ['an operator kicks it', (w, r) => w.gw.endRegistration(r.registrationId, 'KICKED')],
    ['its lifetime ends', async (w, r) => {
      w.clock.advance(r.expiresAt - w.clock.now());
      await expect(w.gw.endRegistration(r.registrationId, 'EXPIRED')).resolves.toMatchObject({ kind: 'DEREGISTERED' });
    }],
  ];
  it.each(cases)('%s: each MESSAGE that asked for one gets a FAILED DEVICE_NOT_REGISTERED report; no more sends', async (_name, end) => {
    const w = await world();
    const r = await registered(w);
    await w.gw.onServerDelivery(serverMsg(r.ueServiceId, 1));
    await w.gw.onServerDelivery(serverMsg(r.ueServiceId, 2, { deliveryStatusRequired: false }));
    await w.gw.onServerDelivery(serverMsg(r.ueServiceId, 3));
    await w.gw.onServerDelivery({ kind: 'IMDN', originatorAddress: 'ue-77', targetAddress: r.ueServiceId, messageId: mid(4), deliveryStatus: 'DELIVERED' });
    await turns();
    await end(w, r);
    await turns();
    await expect(w.messages.downlinkDepth()).resolves.toBe(0);
    expect(w.server.reports).toStrictEqual([mid(1), mid(3)].map((messageId) => ({ originatorAddress: r.ueServiceId, gatewayUeServiceId: GW, targetAddress: AS, messageId, deliveryStatus: 'FAILED', failureReason: 'DEVICE_NOT_REGISTERED' })));
    expect(w.gw.messageCounters.endedByDeregistration).toBe(4);
    expect(await walk(w, 70_000, () => w.link.unitsTo(A).length)).toEqual([]);
    expect(w.gw.nextDownlinkAttempt(r.registrationId)).toBeUndefined();
  });

  it('a failed de-registration (server refuses) keeps the queue', async () => {
    const w = await world();
    const r = await registered(w);
    await w.gw.onServerDelivery(serverMsg(r.ueServiceId, 1));
    w.server.answerNext({ kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: 'no' });
    await expect(w.gw.endRegistration(r.registrationId, 'KICKED')).resolves.toMatchObject({ kind: 'FAILED' });
    await expect(w.messages.downlinkDepth()).resolves.toBe(1);
    expect(w.server.reports).toHaveLength(0);
  });
});

describe('the report outbox', () => {
  it("an IMDN the server does not take is tried again after 1, 2, 4 s (doubling), and removed once taken", async () => {
    const w = await world();
    await registered(w);
    w.server.answerNextReport({ kind: 'NEVER' }, { kind: 'NEVER' }, { kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: 'x' });
    w.link.deliverMessage(A, deviceReport(1));
    const tries = await walk(w, 20_000, () => w.server.reports.length, 500);
    expect(tries).toEqual([0, 1000, 3000, 7000]);
    await expect(w.messages.outboxDepth()).resolves.toBe(0);
    expect(w.gw.messageCounters).toMatchObject({ reportsForwarded: 1, reportAttemptsFailed: 3 });
  });

  it("a device's 0x02 is dropped when the outbox holds outboxMax reports", async () => {
    const w = await world({ relay: { outboxMax: 2 } });
    await registered(w);
    w.server.hold('IMDN');
    for (const n of [1, 2, 3]) w.link.deliverMessage(A, deviceReport(n));
    await turns();
    await expect(w.messages.outboxDepth()).resolves.toBe(2);
    expect(w.gw.messageCounters.deviceReportsDropped).toBe(1);
    w.server.release();
  });

  it('the wait is bounded by reportRetryMaxMs, and a report is given up after reportGiveUpMs', async () => {
    const w = await world({ relay: { reportRetryMs: 1000, reportRetryMaxMs: 1500, reportGiveUpMs: 4000 } });
    await registered(w);
    w.server.answerNextReport(...Array.from({ length: 10 }, () => ({ kind: 'NEVER' as const })));
    w.link.deliverMessage(A, deviceReport(1));
    const tries = await walk(w, 20_000, () => w.server.reports.length, 500);
    expect(tries).toEqual([0, 1000, 2500, 4000]);
    await expect(w.messages.outboxDepth()).resolves.toBe(0);
    expect(w.gw.messageCounters.reportsGivenUp).toBe(1);
  });

  it('while the gateway is not registered nothing is POSTed; its re-registration sends what is due', async () => {
    const w = await world();
    const r = await registered(w);
    w.server.forget();
    w.link.deliverMessage(A, deviceReport(1));
    await turns(30);
    // The IMDN got GATEWAY_NOT_REGISTERED, which started the re-registration; then it went again.
    await walk(w, 3000, () => w.server.reports.length, 500);
    expect(w.server.reports.length).toBeGreaterThanOrEqual(2);
    await expect(w.messages.outboxDepth()).resolves.toBe(0);
    expect(w.server.calls.filter((c) => c.operation === 'REG' && c.request.ueServiceId === GW).map((c) => c.request.notifyUri)).toEqual([NOTIFY, NOTIFY]);
    void r;
  });
});

describe('restart (recover)', () => {
  it('a queue resumes at its stored attempts and next attempt time; the outbox is sent by the new run', async () => {
    const clock = new FakeClock();
    const w1 = await world({ clock });
    const r = await registered(w1);
    w1.server.answerNextReport(...Array.from({ length: 5 }, () => ({ kind: 'NEVER' as const })));
    w1.link.deliverMessage(A, deviceReport(7, { targetAddress: 'ue-88' }));
    await w1.gw.onServerDelivery(serverMsg(r.ueServiceId, 1));
    await walk(w1, 2000, () => w1.link.unitsTo(A).length); // sends at 0 and 2 s
    expect(w1.link.unitsTo(A)).toHaveLength(2);
    await expect(w1.messages.outboxDepth()).resolves.toBe(1);
    w1.gw.stopAccepting();
    await w1.gw.whenIdle();
    await w1.link.stop();
    clock.advance(1000); // down for a second: the next send is due 3 s from now
    const server2 = new FakeServerLink();
    server2.registry.add(GW);
    const w2 = await world({ store: w1.store, messages: w1.messages, clock, server: server2 });
    const sends = await walk(w2, 60_000, () => w2.link.unitsTo(A).length);
    expect(sends).toEqual([3000, 11_000, 27_000]);
    expect(server2.reports.map((x) => [x.messageId, x.deliveryStatus, x.failureReason])).toEqual([
      [mid(7), 'DELIVERED', undefined],
      [mid(1), 'FAILED', 'NOT_DELIVERED'],
    ]);
  });

  it('drops uplinks left unanswered, and ends the queue of a registration removed before its items failed (crash between the two)', async () => {
    const store = new InMemoryRegistrationStore();
    const messages = new InMemoryMessageStore();
    const clock = new FakeClock();
    const ghost = '00000000000000ff' as Registration['registrationId'];
    await messages.beginUplink({ sender: ghost, messageId: mid(1), expiresAt: clock.now() + UPLINK_DEDUP_MS }, clock.now());
    await messages.enqueueDownlink({ recipient: ghost, content: { kind: 'MESSAGE', originatorAddress: AS, originatorType: 'AS', messageId: mid(2), payload: new Uint8Array([1]), deliveryStatusRequired: true }, acceptedAt: 0, attempts: 1, nextAttemptAt: 0 }, { perDevice: 10, total: 10 });
    const w = await world({ store, messages, clock });
    await turns();
    await expect(messages.unfinishedUplinks()).resolves.toEqual([]);
    await expect(messages.downlinkDepth()).resolves.toBe(0);
    // The device's UE Service ID is gone with its record: the gateway reports as itself.
    expect(w.server.reports).toStrictEqual([{ originatorAddress: GW, gatewayUeServiceId: GW, targetAddress: AS, messageId: mid(2), deliveryStatus: 'FAILED', failureReason: 'DEVICE_NOT_REGISTERED' }]);
  });

  it('stopAccepting stops every timer: no send after it; the queue stays for the next start', async () => {
    const w = await world();
    const r = await registered(w);
    await w.gw.onServerDelivery(serverMsg(r.ueServiceId, 1));
    await turns();
    w.gw.stopAccepting();
    await w.gw.whenIdle();
    expect(await walk(w, 70_000, () => w.link.unitsTo(A).length)).toEqual([]);
    await expect(w.messages.downlinkDepth()).resolves.toBe(1);
    await expect(w.gw.onServerDelivery(serverMsg(r.ueServiceId, 2))).resolves.toMatchObject({ kind: 'FAILURE', reason: 'CONGESTION' });
  });
});

describe('observer (optional message methods)', () => {
  it('reports messages sent, downlink sends and ends, deliveries stored and refused, reports forwarded', async () => {
    const seen: string[] = [];
    const observer: GatewayObserver = {
      requestReceived() {},
      requestRefused() {},
      procedureFinished() {},
      duplicateAbsorbed() {},
      protocolError() {},
      upstreamAnswered() {},
      gatewayReregistered() {},
      registrationEnded() {},
      messageSent: (outcome, link) => seen.push(`messageSent ${outcome} ${link}`),
      downlinkSent: (kind, resend, link) => seen.push(`downlinkSent ${kind} ${resend} ${link}`),
      downlinkEnded: (end, link) => seen.push(`downlinkEnded ${end} ${link}`),
      serverDeliveryStored: (kind) => seen.push(`stored ${kind}`),
      serverDeliveryRefused: (reason) => seen.push(`refused ${reason}`),
      reportForwarded: (outcome) => seen.push(`reportForwarded ${outcome}`),
    };
    const w = await world({ observer });
    const r = await registered(w);
    w.link.deliverMessage(A, sending(1));
    await w.link.nextUnit(A);
    await w.gw.onServerDelivery(serverMsg(r.ueServiceId, 1));
    await w.gw.onServerDelivery(serverMsg('nobody-1' as UeServiceId, 1));
    await turns();
    w.link.deliverMessage(A, ack(1));
    await turns();
    expect(seen).toEqual(['messageSent ACCEPTED udp', 'stored MSG', 'downlinkSent MESSAGE false udp', 'refused RECIPIENT_UNKNOWN', 'downlinkEnded ACKED udp', 'reportForwarded SUCCESS']);
  });
});

describe('link instances (handlerFor)', () => {
  it('a message is tagged with the instance it came in on: its answer and the downlink leave through that instance', async () => {
    const store = new InMemoryRegistrationStore();
    const server = new FakeServerLink();
    const clock = new FakeClock();
    const first = new InMemoryDeviceLink('udp');
    const second = new InMemoryDeviceLink('udp');
    const gw = new GatewayProcedures(
      { store, server, links: [{ id: 'udp' as LinkId, link: first }, { id: 'udp-2' as LinkId, link: second }], clock, allocator: new SequenceRegistrationIdAllocator(), authorizer: { authorize: () => ({ allowed: true }) }, logger: silentLogger },
      { gatewayUeServiceId: GW },
    );
    await first.start(gw.handlerFor('udp' as LinkId));
    await second.start(gw.handlerFor('udp-2' as LinkId));
    await gw.registerGateway();
    await gw.recover();
    second.deliver(A, reg());
    await expect(second.nextResponse(A)).resolves.toMatchObject({ result: 'SUCCESS' });
    // The same Layer-2 ID on the other instance is another device: not registered there.
    first.deliverMessage(A, sending(1));
    await expect(first.nextUnit(A)).resolves.toMatchObject({ result: 'FAILURE', failureReason: 'DEVICE_NOT_REGISTERED' });
    second.deliverMessage(A, sending(2));
    await expect(second.nextUnit(A)).resolves.toMatchObject({ result: 'ACCEPTED' });
    const [r] = await store.list();
    await expect(gw.onServerDelivery(serverMsg((r as Registration).ueServiceId, 3))).resolves.toStrictEqual({ kind: 'STORED' });
    await expect(second.nextUnit(A)).resolves.toMatchObject({ kind: 'MESSAGE_RECEIVING', messageId: mid(3) });
    second.deliverMessage(A, ack(3));
    await turns();
    expect(first.units.map((u) => u.unit.kind)).toEqual(['MESSAGE_SENDING_RESPONSE']);
    expect(server.reports.map((x) => x.deliveryStatus)).toEqual(['DELIVERED']);
  });
});

describe('notifyUri', () => {
  it("a function is read at each of the gateway's REGs (the inbox knows its URI only once started)", async () => {
    const server = new FakeServerLink();
    const inbox: { notifyUri?: string } = {};
    const link = new InMemoryDeviceLink('udp');
    const gw = new GatewayProcedures(
      { store: new InMemoryRegistrationStore(), server, links: [link], clock: new FakeClock(), allocator: new SequenceRegistrationIdAllocator(), authorizer: { authorize: () => ({ allowed: true }) }, logger: silentLogger },
      { gatewayUeServiceId: GW, notifyUri: () => inbox.notifyUri },
    );
    await gw.registerGateway();
    inbox.notifyUri = 'coap://127.0.0.1:5701/msgin5g';
    await gw.registerGateway();
    expect(server.calls.map((c) => c.request)).toStrictEqual([{ ueServiceId: GW }, { ueServiceId: GW, notifyUri: 'coap://127.0.0.1:5701/msgin5g' }]);
  });
});

describe('persist, then act: reports', () => {
  it("a device's report is not POSTed as IMDN before the commit that stores it", async () => {
    const store = new GatedStore();
    const w = await world({ store });
    await registered(w);
    store.hold();
    w.link.deliverMessage(A, deviceReport(1));
    await turns(20);
    expect(w.server.reports).toHaveLength(0);
    store.release();
    await turns(20);
    expect(w.server.reports).toHaveLength(1);
  });
});
