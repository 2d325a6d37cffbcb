/**
 * Failure cases C03, C05, C11 and C12 (docs/failure-cases.md) end to end: the reference MSGin5G Server and
 * the gateway (SQLite file) run as separate processes on loopback; devices are raw UDP sockets in
 * this process, so every byte they receive is checked against docs/wire-formats.md §2. The unit and
 * adapter-level versions live in packages/core, packages/coap-server-link and packages/store-sqlite.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fetchRegistry } from '@msgin5g/server';
import { SqliteRegistrationStore } from '@msgin5g/store-sqlite';
import type { Registration } from '@msgin5g/core';
import { JsonLineProcess, startGateway, startServer } from '../../src/demo/processes';
import { RawDevice } from './raw-device';

/** The Registration lifetime IE every REGISTRATION RESPONSE success carries: 0x24, length 4, the default 86 400 s (docs/wire-formats.md §2). */
const LIFETIME_IE = '240400015180';

const hex16 = (n: number) => n.toString(16).padStart(4, '0');
const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));
/** A de-registration response carrying a Registration ID (success), docs/wire-formats.md §2. */
const DEREG_SUCCESS = (app: number, rid: string) => `1300a0${hex16(app)}2108${rid}`;
const REG_SUCCESS = /^1100a0([0-9a-f]{4})2108([0-9a-f]{16})240400015180$/;
/** DE-REGISTRATION RESPONSE failure UNKNOWN_REGISTRATION_ID, no Application ID (the ID is not known). */
const DEREG_UNKNOWN_ID = '1301220101';

/** The store's rows, read in this process through a read-only connection (WAL: the gateway keeps writing). */
async function storeRows(file: string): Promise<Registration[]> {
  const store = SqliteRegistrationStore.openReadOnly(file);
  try {
    return await store.list();
  } finally {
    await store.close();
  }
}

/** Polls `probe` every `everyMs` until it returns a value; throws after `timeoutMs`. */
async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

describe('failure cases end to end (server and gateway as processes, SQLite file)', () => {
  let dir: string;
  const procs: JsonLineProcess[] = [];
  const devices: RawDevice[] = [];

  const device = async (): Promise<RawDevice> => {
    const d = await RawDevice.open();
    devices.push(d);
    return d;
  };

  /** Starts the server with `faults`, then a gateway on a fresh SQLite file in front of it. */
  async function startPair(name: string, faults: string[], gatewayArgs: string[] = []) {
    const server = await startServer(faults.flatMap((f) => ['--fault', f]));
    procs.push(server.proc);
    const file = join(dir, `${name}.db`);
    const gw = await startGateway([
      '--server',
      `coap://127.0.0.1:${server.port}/msgin5g`,
      '--ue-service-id',
      `gw-${name}`,
      '--udp-host',
      '127.0.0.1',
      '--udp-port',
      '0',
      '--store',
      `sqlite:${file}`,
      '--authorization',
      'open',
      ...gatewayArgs,
    ]);
    procs.push(gw.proc);
    return { server, gw, file, srv: { host: '127.0.0.1', port: server.port }, deviceId: (d: RawDevice, app: number) => `gw-${name}/127.0.0.1:${d.port}/${app}` };
  }

  /** Registers `d` with Application ID `app` (no fault on the way); resolves its Registration ID. */
  async function register(d: RawDevice, app: number, gatewayPort: number): Promise<string> {
    d.send(`10${hex16(app)}`, gatewayPort);
    const m = REG_SUCCESS.exec(await d.next());
    expect(m?.[1]).toBe(hex16(app));
    return m![2]!;
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-failure-cases-'));
  });
  afterEach(async () => {
    await Promise.all(devices.splice(0).map((d) => d.close()));
    for (const p of procs.splice(0).reverse()) await p.stop('SIGKILL', 2000);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('C03: empty ACK then a separate CON 2.04 ~3 s later → the device gets the same bytes as from a piggybacked answer, and the gateway ACKs the separate response', async () => {
    const { server, gw, file, srv, deviceId } = await startPair('c03', ['separate=3000@DEREG*1'], ['--deadline-ms', '10000']);
    const a = await device();
    const b = await device();
    const ridA = await register(a, 42, gw.udpPort);
    const ridB = await register(b, 43, gw.udpPort);

    // A: the server sends an empty ACK at once and the 2.04 as a separate CON 3 s later.
    const started = Date.now();
    a.send(`1208${ridA}`, gw.udpPort);
    await expect(a.next()).resolves.toBe(DEREG_SUCCESS(42, ridA));
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900); // the answer really was the separate one
    // B, the control: the same server answers piggybacked; the same form of bytes.
    b.send(`1208${ridB}`, gw.udpPort);
    await expect(b.next()).resolves.toBe(DEREG_SUCCESS(43, ridB));
    expect(a.inbox).toHaveLength(0); // exactly one answer each
    expect(b.inbox).toHaveLength(0);

    await expect(storeRows(file)).resolves.toEqual([]);
    const registry = await fetchRegistry(srv);
    expect(registry).not.toContain(deviceId(a, 42));
    expect(registry).not.toContain(deviceId(b, 43));

    // The server's own account: one answer was separate, one piggybacked, and its CON was ACKed
    // (an unACKed CON would be retransmitted and counted as unacked after MAX_RETRANSMIT).
    const answers = server.proc.lines.filter((l) => l.msg === 'request' && l.messageType === 'DEREG').map((l) => [l.ueServiceId, l.answer]);
    expect(answers).toEqual([
      [deviceId(a, 42), '2.04 (separate)'],
      [deviceId(b, 43), '2.04'],
    ]);
    await sleep(300); // the gateway's ACK left before the device's answer; let the server read it
    expect(await gw.proc.stop('SIGTERM')).toBe(0);
    expect(await server.proc.stop('SIGTERM')).toBe(0);
    const stopping = server.proc.lines.find((l) => l.msg === 'MSGin5G Server stopping');
    expect(stopping?.stats).toMatchObject({ separateResponsesSent: 1, separateResponsesAcked: 1, separateResponsesUnacked: 0 });
  });

  it('C05: the server answers RST → SERVER_UNREACHABLE at once, well before the deadline; mapping kept REGISTERED; a 0.00 is never read as success', async () => {
    const config = join(dir, 'c05.json');
    writeFileSync(config, JSON.stringify({ registerRetryMs: 300 }));
    // The first REG is the gateway's own registration: an RST to it must not count as registered.
    const { gw, file, srv, deviceId } = await startPair('c05', ['rst@REG*1', 'rst@DEREG*1'], ['--config', config, '--deadline-ms', '20000']);
    const refused = gw.proc.lines.filter((l) => l.msg === 'MSGin5G Server did not accept the gateway registration; retrying');
    expect(refused).toHaveLength(1); // one warn per failed attempt
    expect(refused[0]).toMatchObject({ level: 40, attempt: 1, failureReason: 'SERVER_UNREACHABLE' });
    expect(gw.proc.lines.filter((l) => l.msg === 'Gateway UE registered with the MSGin5G Server')).toHaveLength(1);

    const a = await device();
    const rid = await register(a, 42, gw.udpPort);
    const started = Date.now();
    a.send(`1208${rid}`, gw.udpPort);
    // DE-REGISTRATION RESPONSE failure: Result 1, Application ID 42, Failure reason SERVER_UNREACHABLE (0x04)
    await expect(a.next(15_000)).resolves.toBe('1301a0002a220104');
    expect(Date.now() - started).toBeLessThan(10_000); // the deadline is 20 s: the RST ended the exchange
    const failed = await gw.proc.waitFor((l) => l.msg === 'device DEREG failed', 'device DEREG failed');
    expect(failed).toMatchObject({ failureReason: 'SERVER_UNREACHABLE', cause: expect.stringMatching(/RST/) });
    // Nothing was de-registered anywhere.
    await expect(storeRows(file)).resolves.toMatchObject([{ registrationId: rid, state: 'REGISTERED' }]);
    expect(await fetchRegistry(srv)).toContain(deviceId(a, 42));

    // The device retries; the mapping was kept, so it succeeds.
    a.send(`1208${rid}`, gw.udpPort);
    await expect(a.next()).resolves.toBe(DEREG_SUCCESS(42, rid));
    await expect(storeRows(file)).resolves.toEqual([]);
    expect(await fetchRegistry(srv)).not.toContain(deviceId(a, 42));
    expect(gw.proc.child.exitCode).toBeNull();
  });

  it('C11: DEREG (expected RID, unknown RID, another device) while the REG is pending is refused, the REG completes, one live registration, store and server agree', async () => {
    // delay applies to the first two REGs: the gateway's own (start-up) and the device's.
    // At debug: the check below that no DEREG finished reads the per-procedure line, logged at debug.
    const { gw, file, srv, deviceId } = await startPair('c11', ['delay=3000@REG*2'], ['--deadline-ms', '10000', '--log-level', 'debug']);
    const a = await device();
    const b = await device();
    a.send('10002a', gw.udpPort);
    // The REGISTERING record is committed before the POST; its Registration ID is the one A will get.
    const pending = await until(async () => (await storeRows(file)).find((r) => r.state === 'REGISTERING'), 'a REGISTERING record', 2500);
    const rid = pending.registrationId;

    a.send(`1208${rid}`, gw.udpPort); // the RID A expects: not given out yet
    await expect(a.next(2000)).resolves.toBe(DEREG_UNKNOWN_ID);
    a.send('1208ffffffffffffffff', gw.udpPort); // an unknown RID
    await expect(a.next(2000)).resolves.toBe(DEREG_UNKNOWN_ID);
    b.send(`1208${rid}`, gw.udpPort); // another device naming A's pending RID
    await expect(b.next(2000)).resolves.toBe('1301220102');
    await expect(storeRows(file)).resolves.toMatchObject([{ registrationId: rid, state: 'REGISTERING' }]);

    // The REG completes with the RID that was pending.
    await expect(a.next()).resolves.toBe(`1100a0002a2108${rid}${LIFETIME_IE}`);
    await expect(storeRows(file)).resolves.toMatchObject([{ registrationId: rid, state: 'REGISTERED' }]);
    expect((await fetchRegistry(srv)).sort()).toEqual([deviceId(a, 42), 'gw-c11'].sort());
    // No DEREG reached the server while the REG was pending.
    await gw.proc.waitFor((l) => l.msg === 'device registered', 'device registered (logged at debug)', 5000); // such lines are logged at this level
    expect(gw.proc.lines.some((l) => l.msg === 'device de-registered; mapping removed')).toBe(false);

    // Never two live registrations: a second REG is answered with the same RID, nothing new.
    a.send('10002a', gw.udpPort);
    await expect(a.next()).resolves.toBe(`1100a0002a2108${rid}${LIFETIME_IE}`);
    await expect(storeRows(file)).resolves.toHaveLength(1);
    // The registration is usable and leaves nothing behind anywhere.
    a.send(`1208${rid}`, gw.udpPort);
    await expect(a.next()).resolves.toBe(DEREG_SUCCESS(42, rid));
    await expect(storeRows(file)).resolves.toEqual([]);
    await expect(fetchRegistry(srv)).resolves.toEqual(['gw-c11']);
  });

  it('C12: another process holds the write lock on the SQLite file during a burst → no crash, answers are CONGESTION or success, the gateway keeps answering (< 1.5 s), and everything ends consistent', async () => {
    const HOLD_MS = 2000;
    // Every REG takes 1 s at the server, so REGs sent before the lock get their answer while it is held.
    const { gw, file, srv, deviceId } = await startPair('c12', ['delay=1000@REG'], ['--deadline-ms', '8000']);

    // The lock holder: its own connection to the gateway's file; BEGIN IMMEDIATE on "lock", held HOLD_MS.
    const sqliteDriver = require.resolve('better-sqlite3', { paths: [dirname(require.resolve('@msgin5g/store-sqlite'))] });
    const script = `
      const Database = require(process.env.DRIVER);
      setTimeout(() => process.exit(2), 20000).unref();
      const db = new Database(process.env.DB_FILE, { timeout: 5000 });
      process.stdout.write('ready\\n');
      process.stdin.once('data', () => {
        db.exec('BEGIN IMMEDIATE');
        process.stdout.write('locked\\n');
        setTimeout(() => { db.exec('COMMIT'); db.close(); process.stdout.write('released\\n'); process.exit(0); }, ${HOLD_MS});
      });`;
    const holder = new JsonLineProcess('lock holder', spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, DRIVER: sqliteDriver, DB_FILE: file } }));
    procs.push(holder);
    await holder.waitFor((l) => l.msg === 'ready', 'ready');

    const early = await Promise.all(Array.from({ length: 4 }, () => device()));
    const late = await Promise.all(Array.from({ length: 6 }, () => device()));
    const probe = await device();
    const apps = new Map<RawDevice, number>([...early, ...late].map((d, i) => [d, 500 + i]));
    const outcomes: Array<{ app: number; answers: string[]; unanswered: number; rid?: string; tookMs: number }> = [];

    /** A device as the simulator behaves: send REG, resend after 2.5 s without an answer, retry CONGESTION after 150 ms. */
    const registerWithRetries = async (d: RawDevice) => {
      const app = apps.get(d)!;
      const outcome: (typeof outcomes)[number] = { app, answers: [], unanswered: 0, tookMs: 0 };
      outcomes.push(outcome);
      const started = Date.now();
      for (let attempt = 0; attempt < 60 && Date.now() - started < 20_000; attempt++) {
        d.send(`10${hex16(app)}`, gw.udpPort);
        const answer = await d.poll(2500);
        if (answer === undefined) {
          outcome.unanswered++;
          continue;
        }
        outcome.answers.push(answer);
        const m = REG_SUCCESS.exec(answer);
        if (m !== null) {
          outcome.rid = m[2];
          break;
        }
        await sleep(150);
      }
      outcome.tookMs = Date.now() - started;
    };

    // Early REGs: committed REGISTERING, POSTed; their answers arrive while the file is locked.
    const earlyDone = early.map(registerWithRetries);
    await until(async () => ((await storeRows(file)).length === early.length ? true : undefined), 'the early REGISTERING records', 5000);
    holder.child.stdin!.write('lock\n');
    await holder.waitFor((l) => l.msg === 'locked', 'locked');
    const lockedAt = Date.now();

    // The probe: a DEREG of an unknown RID every 100 ms (reads only), timed, until the lock is gone.
    const probeLatencies: number[] = [];
    const probing = (async () => {
      while (Date.now() - lockedAt < HOLD_MS + 1500) {
        const t0 = Date.now();
        probe.send('1208ffffffffffffffff', gw.udpPort);
        const answer = await probe.poll(3000);
        probeLatencies.push(Date.now() - t0);
        expect(answer).toBe(DEREG_UNKNOWN_ID);
        await sleep(100);
      }
    })();
    // The burst during the lock.
    const lateDone = late.map(registerWithRetries);
    await Promise.all([...earlyDone, ...lateDone, probing]);
    await holder.waitFor((l) => l.msg === 'released', 'released');
    expect(await holder.exited).toBe(0);

    // No crash; the gateway kept answering.
    expect(gw.proc.child.exitCode).toBeNull();
    expect(probeLatencies.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...probeLatencies)).toBeLessThan(1500);
    // The lock was really contended: the gateway met BUSY and answered CONGESTION to some.
    expect(gw.proc.lines.some((l) => l.msg === 'registration store error' && l.reason === 'BUSY')).toBe(true);
    const congestion = (app: number) => `1101a0${hex16(app)}220107`;
    expect(outcomes.some((o) => o.answers.includes(congestion(o.app)))).toBe(true);
    // Each answer is CONGESTION or success; every device ends registered within a bounded time.
    for (const o of outcomes) {
      for (const answer of o.answers) expect([congestion(o.app), `1100a0${hex16(o.app)}2108${o.rid}${LIFETIME_IE}`]).toContain(answer);
      expect(o.rid).toMatch(/^[0-9a-f]{16}$/);
      expect(o.tookMs).toBeLessThan(15_000);
    }
    // No request ever went unanswered except one whose server answer arrived while the file was locked.
    expect(outcomes.filter((o) => late.some((d) => apps.get(d) === o.app)).every((o) => o.unanswered === 0)).toBe(true);

    // Nothing half-written: one REGISTERED row per device with the RID it was given; the server agrees.
    const rows = await storeRows(file);
    expect(rows.map((r) => [r.applicationId, r.registrationId, r.state]).sort()).toEqual(outcomes.map((o) => [o.app, o.rid, 'REGISTERED']).sort());
    const expected = [...apps.entries()].map(([d, app]) => deviceId(d, app));
    expect((await fetchRegistry(srv)).sort()).toEqual([...expected, 'gw-c12'].sort());

    // After the lock, every device de-registers; store and server end empty.
    await Promise.all(
      outcomes.map(async (o) => {
        const d = [...apps.entries()].find(([, app]) => app === o.app)![0];
        d.send(`1208${o.rid}`, gw.udpPort);
        await expect(d.next()).resolves.toBe(DEREG_SUCCESS(o.app, o.rid!));
      }),
    );
    await expect(storeRows(file)).resolves.toEqual([]);
    await expect(fetchRegistry(srv)).resolves.toEqual(['gw-c12']);
    expect(await gw.proc.stop('SIGTERM')).toBe(0);
  });
});
