/**
 * Registration lifetime and expiry end to end (docs/adr/0011-registration-lifetime.md): the
 * reference MSGin5G Server and the gateway as processes on loopback, a SQLite file, devices as raw
 * UDP sockets. Lifetimes of seconds, so the expiry is seen at the server (its registry) and in the
 * store (`gateway devices list`), and across a `kill -9`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchRegistry } from '@msgin5g/server';
import { freeUdpPorts, startGateway, startServer, type JsonLineProcess } from '../../src/demo/processes';
import { RawDevice } from './raw-device';
import { storeRows } from './store-rows';

const hex32 = (n: number) => n.toString(16).padStart(8, '0');
/** A REGISTRATION RESPONSE success for app 42 granting `lifetimeS`: the Registration ID is group 1. */
const granted = (lifetimeS: number, app = '002a') => new RegExp(`^1100a0${app}2108([0-9a-f]{16})2404${hex32(lifetimeS)}$`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls (every 100 ms, at most `timeoutMs`) until `done()` holds; resolves the ms it took. */
async function until(done: () => Promise<boolean>, what: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await done()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(100);
  }
}

describe('registration lifetime and expiry (gateway and server as processes, SQLite file)', () => {
  let dir: string;
  const procs: JsonLineProcess[] = [];
  const devices: RawDevice[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-lifetime-'));
  });
  afterEach(async () => {
    for (const d of devices.splice(0)) await d.close();
    for (const p of procs.splice(0)) await p.stop('SIGKILL', 2000);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('grants min(asked, --registration-lifetime-s), refreshes on a repeated REG, and de-registers each device at the server when its lifetime ends', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const srv = { host: '127.0.0.1', port: server.port };
    const store = `sqlite:${join(dir, 'lifetime.db')}`;
    const gw = await startGateway(['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', 'gw-life', '--udp-host', '127.0.0.1', '--udp-port', '0', '--store', store, '--authorization', 'open', '--registration-lifetime-s', '3']);
    procs.push(gw.proc);
    const [a, b, c] = await Promise.all([RawDevice.open(), RawDevice.open(), RawDevice.open()]);
    devices.push(a!, b!, c!);
    // One Application ID each (one per device: APPLICATION_ID_IN_USE otherwise).
    const apps = new Map<RawDevice, number>([
      [a!, 42],
      [b!, 43],
      [c!, 44],
    ]);
    const id = (d: RawDevice) => `gw-life/127.0.0.1:${d.port}/${apps.get(d)}`;

    const t0 = Date.now();
    a!.send('10002a', gw.udpPort); // asks none: 3 s
    b!.send('10002b2404' + hex32(1), gw.udpPort); // asks 1 s: 1 s
    c!.send('10002c2404' + hex32(100), gw.udpPort); // asks 100 s: at most 3 s
    const ridA = granted(3).exec(await a!.next())?.[1];
    const ridB = granted(1, '002b').exec(await b!.next())?.[1];
    const ridC = granted(3, '002c').exec(await c!.next())?.[1];
    expect([ridA, ridB, ridC].every((r) => r !== undefined)).toBe(true);
    expect(await fetchRegistry(srv)).toEqual(expect.arrayContaining([id(a!), id(b!), id(c!)]));

    // B goes first, at ~1 s, at the server and in the store; A and C stay.
    await until(async () => !(await fetchRegistry(srv)).includes(id(b!)), 'B de-registered at the server', 5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect((await storeRows(store)).map((r) => r.registrationId).sort()).toEqual([ridA, ridC].sort());

    // A refreshes at ~1.5 s (a repeated REG: same Registration ID, 3 s from now).
    await sleep(Math.max(0, 1500 - (Date.now() - t0)));
    a!.send('10002a', gw.udpPort);
    expect(granted(3).exec(await a!.next())?.[1]).toBe(ridA);
    const refreshedAt = Date.now();

    // C goes at ~3 s; A, refreshed, stays until ~4.5 s.
    await until(async () => !(await fetchRegistry(srv)).includes(id(c!)), 'C de-registered at the server', 6000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3000);
    expect(await fetchRegistry(srv)).toContain(id(a!));
    await until(async () => !(await fetchRegistry(srv)).includes(id(a!)), 'A de-registered at the server', 6000);
    expect(Date.now() - refreshedAt).toBeGreaterThanOrEqual(3000);
    await expect(storeRows(store)).resolves.toEqual([]);
    await expect(fetchRegistry(srv)).resolves.toEqual(['gw-life']);

    // Nothing was sent to the devices when they expired; a late DEREG gets the tombstone's success.
    expect([a!.inbox.length, b!.inbox.length, c!.inbox.length]).toEqual([0, 0, 0]);
    b!.send(`1208${ridB}`, gw.udpPort);
    await expect(b!.next()).resolves.toBe(`1300a0002b2108${ridB}`);
    const ended = gw.proc.lines.filter((l) => l.msg === 'registration ended by the gateway: de-registered at the server, mapping removed');
    expect(ended.map((l) => l.cause)).toEqual(['EXPIRED', 'EXPIRED', 'EXPIRED']);
  }, 60_000);

  it('across kill -9: what expired while the gateway was down is de-registered at start', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const srv = { host: '127.0.0.1', port: server.port };
    const store = `sqlite:${join(dir, 'kill9.db')}`;
    const [udpPort] = await freeUdpPorts(1);
    const args = ['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', 'gw-k9', '--udp-host', '127.0.0.1', '--udp-port', String(udpPort), '--store', store, '--authorization', 'open', '--registration-lifetime-s', '2'];
    const gw1 = await startGateway(args);
    procs.push(gw1.proc);
    const a = await RawDevice.open();
    devices.push(a);
    const id = `gw-k9/127.0.0.1:${a.port}/42`;
    a.send('10002a', udpPort!);
    const rid = granted(2).exec(await a.next())?.[1];
    expect(rid).toBeDefined();
    expect(await fetchRegistry(srv)).toContain(id);

    gw1.proc.child.kill('SIGKILL');
    await gw1.proc.exited;
    await sleep(3000); // past the lifetime, with no gateway running
    expect(await fetchRegistry(srv)).toContain(id); // nobody de-registered it
    await expect(storeRows(store)).resolves.toMatchObject([{ registrationId: rid, state: 'REGISTERED' }]);

    const gw2 = await startGateway(args);
    procs.push(gw2.proc);
    await gw2.proc.waitFor((l) => l.msg === 'registrations that expired while the gateway was down were de-registered', 'the expiry at start', 10_000);
    expect(gw2.proc.lines.find((l) => l.msg === 'registrations that expired while the gateway was down were de-registered')?.expired).toBe(1);
    await expect(fetchRegistry(srv)).resolves.toEqual(['gw-k9']);
    await expect(storeRows(store)).resolves.toEqual([]);
    expect(a.inbox).toHaveLength(0);
  }, 60_000);
});
