/**
 * Graceful shutdown under load (issue 6 item 2): SIGTERM drains in-flight procedures for up to
 * `--drain-timeout-ms`, leaves what is still pending persisted, de-registers the gateway itself and
 * exits; the next start finishes what was pending. No acknowledged operation is lost across it.
 *
 * The gateway is a real process (`startGateway`); the reference server runs in this process so
 * that its faults can be armed after the devices registered: from then on the next device REGs and
 * DEREGs are held by the server (`delay`) — some for less than the drain timeout (answered during
 * the drain), some for much longer (still pending when the drain gives up). Devices are
 * `UdpDevice`s that retry with back-off until a definitive answer, as real devices do: CONGESTION
 * (the draining gateway refuses new work), GATEWAY_NOT_REGISTERED (the restarted gateway before its
 * own registration) and silence (no gateway) mean "later".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@msgin5g/test-support/close-coap-global-agents';
import type { ApplicationId, DeviceRequest, DeviceResponse, FailureReason, RegistrationId } from '@msgin5g/core';
import { UdpDevice, UdpDeviceError } from '@msgin5g/device-sim';
import { createReferenceServer, type ReferenceServer } from '@msgin5g/server';
import { SqliteRegistrationStore } from '@msgin5g/store-sqlite';
import { freeUdpPorts, startGateway, type JsonLineProcess } from '../../src/demo/processes';

const DRAIN_TIMEOUT_MS = 1500;
/** Server hold for the procedures that must outlast the drain, and for those answered within it, ms. */
const LONG_DELAY_MS = 8000;
const SHORT_DELAY_MS = 500;
/** What the SIGTERM exit may take beyond the drain timeout: the self-de-registration (≥ 1 s budget) and closing, with slack for a loaded machine. */
const EXIT_BOUND_MS = 5000;
const GATEWAY_ID = 'gw-drain';
const PER_KIND = 4; // long-held and short-held procedures of each kind (REG, DEREG)
const RETRYABLE = new Set<FailureReason>(['CONGESTION', 'GATEWAY_NOT_REGISTERED', 'SERVER_UNREACHABLE']);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Told {
  readonly response: DeviceResponse;
  /** Date.now() when the device took it. */
  readonly at: number;
}

function isDefinitive(m: DeviceResponse): boolean {
  return m.result === 'SUCCESS' || !RETRYABLE.has(m.failureReason);
}

/**
 * Sends `request` until a definitive answer (or one arrives unasked, from the restarted gateway
 * answering the stored Layer-2 ID). Rejects after `limitMs`.
 */
async function untilDefinitive(device: UdpDevice, request: DeviceRequest, limitMs = 40_000): Promise<Told> {
  const wanted = request.kind === 'REGISTRATION_REQUEST' ? 'REGISTRATION_RESPONSE' : 'DEREGISTRATION_RESPONSE';
  const end = Date.now() + limitMs;
  for (let attempt = 0; Date.now() < end; attempt++) {
    for (;;) {
      const queued = await device.nextMessage(1).catch(() => undefined);
      if (queued === undefined) break;
      if (queued.decoded.ok && queued.decoded.message.kind === wanted && isDefinitive(queued.decoded.message)) return { response: queued.decoded.message, at: Date.now() };
    }
    try {
      const m = await device.request(request, { timeoutMs: 400, retries: 0 });
      if (m.kind === 'STATUS') throw new Error(`STATUS ${m.failureReason} for ${request.kind}`);
      if (isDefinitive(m)) return { response: m, at: Date.now() };
    } catch (err) {
      if (!(err instanceof UdpDeviceError && err.reason === 'TIMEOUT')) throw err;
    }
    await sleep(Math.min(800, 100 * 2 ** attempt));
  }
  throw new Error(`${device.layer2Id}: no definitive answer to ${request.kind} within ${limitMs} ms`);
}

async function storeRecords(path: string) {
  const store = SqliteRegistrationStore.openReadOnly(path);
  try {
    return await store.list();
  } finally {
    await store.close();
  }
}

describe('graceful shutdown under load (SIGTERM with procedures in flight, then restart)', () => {
  let dir: string;
  let server: ReferenceServer | undefined;
  const procs: JsonLineProcess[] = [];
  const devices: UdpDevice[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-drain-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop('SIGKILL', 2000);
    await Promise.all(devices.splice(0).map((d) => d.close()));
    await server?.stop();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('drains up to --drain-timeout-ms, persists what is pending, de-registers itself; the next start finishes it; nothing acknowledged is lost', async () => {
    server = createReferenceServer({ host: '127.0.0.1', port: 0 });
    const { port: serverPort } = await server.start();
    const [udpPort] = await freeUdpPorts(1);
    const dbPath = join(dir, 'drain.db');
    const args = [
      '--server', `coap://127.0.0.1:${serverPort}/msgin5g`,
      '--ue-service-id', GATEWAY_ID,
      '--udp-host', '127.0.0.1',
      '--udp-port', String(udpPort),
      '--store', `sqlite:${dbPath}`,
      '--authorization', 'open',
      '--deadline-ms', '30000',
      '--drain-timeout-ms', String(DRAIN_TIMEOUT_MS),
    ];
    const gw1 = await startGateway(args);
    procs.push(gw1.proc);
    expect(server.registry.has(GATEWAY_ID)).toBe(true);

    // Phase A: 2·PER_KIND devices register with a healthy server (they will de-register under load).
    const leavers = await Promise.all(Array.from({ length: 2 * PER_KIND }, () => UdpDevice.open({ gateway: `127.0.0.1:${udpPort}`, localHost: '127.0.0.1' })));
    devices.push(...leavers);
    const leaverIds = await Promise.all(
      leavers.map(async (d, i) => {
        const told = await untilDefinitive(d, { kind: 'REGISTRATION_REQUEST', applicationId: (500 + i) as ApplicationId });
        expect(told.response).toMatchObject({ result: 'SUCCESS', applicationId: 500 + i });
        return (told.response as DeviceResponse & { result: 'SUCCESS' }).registrationId;
      }),
    );

    // Phase B: the server now holds the next REGs and DEREGs, half of each kind past the drain timeout.
    server.faults.add(`delay=${LONG_DELAY_MS}@REG*${PER_KIND}`).add(`delay=${SHORT_DELAY_MS}@REG*${PER_KIND}`);
    server.faults.add(`delay=${LONG_DELAY_MS}@DEREG*${PER_KIND}`).add(`delay=${SHORT_DELAY_MS}@DEREG*${PER_KIND}`);
    const requestsBefore = server.stats.requests;
    const joiners = await Promise.all(Array.from({ length: 2 * PER_KIND }, () => UdpDevice.open({ gateway: `127.0.0.1:${udpPort}`, localHost: '127.0.0.1' })));
    devices.push(...joiners);
    const sentAt = Date.now();
    const leaving = leavers.map((d, i) => untilDefinitive(d, { kind: 'DEREGISTRATION_REQUEST', registrationId: leaverIds[i]! }));
    const joining = joiners.map((d, i) => untilDefinitive(d, { kind: 'REGISTRATION_REQUEST', applicationId: (600 + i) as ApplicationId }));
    const outcomes = Promise.allSettled([...leaving, ...joining]);
    // Every procedure reached the server (and is held there) before the SIGTERM.
    for (const end = Date.now() + 15_000; server.stats.requests < requestsBefore + 4 * PER_KIND; ) {
      if (Date.now() > end) throw new Error(`only ${server.stats.requests - requestsBefore} of ${4 * PER_KIND} procedures reached the server`);
      await sleep(20);
    }
    expect(server.faults.list()).toEqual([]); // every held request took its fault

    const termAt = Date.now();
    gw1.proc.child.kill('SIGTERM');
    const code1 = await gw1.proc.exited;
    const exitedAt = Date.now();
    expect(code1).toBe(0);
    // Within the drain timeout plus a bound; so (LONG_DELAY_MS > DRAIN_TIMEOUT_MS + EXIT_BOUND_MS)
    // it is gone before the long-held answers come back, and only the next start can finish those.
    expect(exitedAt - termAt).toBeLessThan(DRAIN_TIMEOUT_MS + EXIT_BOUND_MS);

    const lines = gw1.proc.lines;
    const stopping = lines.findIndex((l) => l.msg === 'stopping: draining in-flight procedures');
    const drainTimedOut = lines.findIndex((l) => l.msg === 'drain timed out; pending procedures stay persisted and are finished by the next start');
    const selfDereg = lines.findIndex((l) => l.msg === 'Gateway UE de-registered');
    expect(stopping).toBeGreaterThanOrEqual(0);
    expect(lines[stopping]).toMatchObject({ reason: 'SIGTERM' });
    expect(Number(lines[stopping]!.inFlight)).toBeGreaterThanOrEqual(2 * PER_KIND); // at least the long-held ones
    expect(drainTimedOut).toBeGreaterThan(stopping);
    expect(lines[drainTimedOut]).toMatchObject({ drainTimeoutMs: DRAIN_TIMEOUT_MS });
    expect(selfDereg).toBeGreaterThan(drainTimedOut);
    expect(lines[selfDereg]).toMatchObject({ ueServiceId: GATEWAY_ID });
    expect(lines.findIndex((l) => l.msg === 'stopped')).toBeGreaterThan(selfDereg);
    expect(server.registry.has(GATEWAY_ID)).toBe(false);

    // What was still in flight is persisted, not lost: REGISTERING / DEREGISTERING records.
    const afterStop = await storeRecords(dbPath);
    const pendingReg = afterStop.filter((r) => r.state === 'REGISTERING');
    const pendingDereg = afterStop.filter((r) => r.state === 'DEREGISTERING');
    // No cut exchange may be concluded as a failure at the stop (a REG removed, a DEREG put back to
    // REGISTERED): the server may still carry it out, and the store would then disagree with it.
    const concludedAtStop = lines.slice(drainTimedOut).filter((l) => l.msg === 'device REG failed' || l.msg === 'device DEREG failed').map((l) => `${String(l.operation)} ${String(l.registrationId)} → ${String(l.state)} (${String(l.failureReason)}: ${String(l.cause)})`);
    expect({ concludedAtStop, someRegistering: pendingReg.length >= 1, someDeregistering: pendingDereg.length >= 1 }).toEqual({ concludedAtStop: [], someRegistering: true, someDeregistering: true });
    expect(pendingReg.length + pendingDereg.length).toBeLessThanOrEqual(4 * PER_KIND);

    // The next start (same store, same port) finishes them; the devices, still retrying, get their answers.
    const gw2 = await startGateway(args);
    procs.push(gw2.proc);
    const settled = await outcomes;
    const told = settled.map((s, i) => {
      if (s.status === 'rejected') throw new Error(`device ${i}: ${String(s.reason)}`);
      return s.value;
    });
    const ready = gw2.proc.lines.find((l) => l.msg === 'gateway ready');
    const resumedByDevice = gw2.proc.lines.filter((l) => l.msg === 'resuming a pending procedure that had no exchange in flight').length;
    expect(Number(ready?.resumed) + resumedByDevice).toBeGreaterThanOrEqual(pendingReg.length + pendingDereg.length);

    // Every device got a success answer, before or after the restart; some only after it.
    const leaverTold = told.slice(0, 2 * PER_KIND);
    const joinerTold = told.slice(2 * PER_KIND);
    leaverTold.forEach((t, i) => expect(t.response).toEqual({ kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: leaverIds[i], applicationId: 500 + i }));
    joinerTold.forEach((t, i) => expect(t.response).toMatchObject({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 600 + i }));
    expect(told.filter((t) => t.at > exitedAt).length).toBeGreaterThanOrEqual(1);
    const joinerIds = joinerTold.map((t) => (t.response as DeviceResponse & { result: 'SUCCESS' }).registrationId as RegistrationId);
    expect(new Set([...leaverIds, ...joinerIds]).size).toBe(4 * PER_KIND); // no Registration ID given twice

    // Let the server's long-held copies of the first run's requests play out (idempotent re-REGs,
    // NOT_REGISTERED re-DEREGs) before comparing, then stop the second gateway.
    await sleep(Math.max(0, sentAt + LONG_DELAY_MS + 300 - Date.now()));
    expect(await gw2.proc.stop('SIGTERM')).toBe(0);
    expect(gw2.proc.lines.some((l) => l.msg === 'Gateway UE de-registered')).toBe(true);

    // Store and server agree with what every device was told; nothing left pending.
    const finalRecords = await storeRecords(dbPath);
    expect(finalRecords.filter((r) => r.state !== 'REGISTERED')).toEqual([]);
    expect(finalRecords.map((r) => r.registrationId).sort()).toEqual([...joinerIds].sort());
    joiners.forEach((d, i) => {
      expect(finalRecords.find((r) => r.registrationId === joinerIds[i])).toMatchObject({ layer2Id: d.layer2Id, applicationId: 600 + i, state: 'REGISTERED' });
    });
    expect([...server.registry].sort()).toEqual(joiners.map((d, i) => `${GATEWAY_ID}/${d.layer2Id}/${600 + i}`).sort());
    for (const [i, d] of leavers.entries()) expect(server.registry.has(`${GATEWAY_ID}/${d.layer2Id}/${500 + i}`)).toBe(false);
  }, 120_000);
});
