/**
 * End to end over loopback with separate OS processes: the reference MSGin5G Server and the gateway
 * (temp SQLite file) run as their CLIs; devices are raw UDP sockets in this process so every byte
 * they receive is checked against docs/wire-formats.md §2.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchRegistry } from '@msgin5g/server';
import { freeUdpPorts, startGateway, startServer, type JsonLineProcess } from '../../src/demo/processes';
import { RawDevice } from './raw-device';
import { storeRows } from './store-rows';

/** The Registration lifetime IE every REGISTRATION RESPONSE success carries: 0x24, length 4, the default 86 400 s (docs/wire-formats.md §2). */
const LIFETIME_IE = '240400015180';

const hex16 = (n: number) => n.toString(16).padStart(4, '0');


describe('UDP link end to end (gateway and server as processes, SQLite file)', () => {
  let dir: string;
  const procs: JsonLineProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-e2e-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop('SIGKILL', 2000);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('20 devices register and de-register; every response byte as in docs/wire-formats.md §2; store and server registry empty at the end', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const store = `sqlite:${join(dir, 'twenty.db')}`;
    const gw = await startGateway(['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', 'gw-e2e', '--udp-host', '127.0.0.1', '--udp-port', '0', '--store', store, '--authorization', 'open', '--deadline-ms', '5000']);
    procs.push(gw.proc);
    const srv = { host: '127.0.0.1', port: server.port };

    const devices = await Promise.all(Array.from({ length: 20 }, () => RawDevice.open()));
    try {
      const apps = devices.map((_, i) => 300 + i);
      devices.forEach((d, i) => d.send(`10${hex16(apps[i]!)}`, gw.udpPort));
      const rids: string[] = [];
      for (const [i, d] of devices.entries()) {
        const res = await d.next();
        // REGISTRATION RESPONSE: 11, Result 00, A0 <app>, 21 08 <Registration ID>
        const m = new RegExp(`^1100a0${hex16(apps[i]!)}2108([0-9a-f]{16})${LIFETIME_IE}$`).exec(res);
        expect(m).not.toBeNull();
        rids.push(m![1]!);
      }
      expect(new Set(rids).size).toBe(20);
      const rows = await storeRows(store);
      expect(rows).toHaveLength(20);
      expect(rows.every((r) => r.state === 'REGISTERED')).toBe(true);
      expect(await fetchRegistry(srv)).toHaveLength(21);

      devices.forEach((d, i) => d.send(`1208${rids[i]}`, gw.udpPort));
      for (const [i, d] of devices.entries()) {
        // DE-REGISTRATION RESPONSE success (seed CR b.1): 13 00 A0 <app> 21 08 <the Registration ID received>
        await expect(d.next()).resolves.toBe(`1300a0${hex16(apps[i]!)}2108${rids[i]}`);
      }
      await expect(storeRows(store)).resolves.toEqual([]);
      await expect(fetchRegistry(srv)).resolves.toEqual(['gw-e2e']);

      // a repeated request within EXCHANGE_LIFETIME gets the identical bytes from the tombstone
      devices[0]!.send(`1208${rids[0]}`, gw.udpPort);
      await expect(devices[0]!.next()).resolves.toBe(`1300a0${hex16(apps[0]!)}2108${rids[0]}`);
      // an unknown Registration ID: failure UNKNOWN_REGISTRATION_ID without an Application ID
      devices[1]!.send('12080011223344556677', gw.udpPort);
      await expect(devices[1]!.next()).resolves.toBe('1301220101');

      expect(await gw.proc.stop('SIGTERM')).toBe(0);
      await expect(fetchRegistry(srv)).resolves.toEqual([]);
    } finally {
      await Promise.all(devices.map((d) => d.close()));
    }
  });

  it('C04: the server never answers → SERVER_UNREACHABLE within the deadline (+1 s), mapping kept in REGISTERED', async () => {
    const server = await startServer(['--fault', 'drop@DEREG*1']);
    procs.push(server.proc);
    const store = `sqlite:${join(dir, 'c04.db')}`;
    const gw = await startGateway(['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--udp-host', '127.0.0.1', '--udp-port', '0', '--store', store, '--authorization', 'open', '--deadline-ms', '1500']);
    procs.push(gw.proc);
    const a = await RawDevice.open();
    try {
      a.send('10002a', gw.udpPort);
      const rid = /2108([0-9a-f]{16})240400015180$/.exec(await a.next())![1]!;
      const started = Date.now();
      a.send(`1208${rid}`, gw.udpPort);
      await expect(a.next()).resolves.toBe('1301a0002a220104');
      expect(Date.now() - started).toBeLessThan(2500);
      await expect(storeRows(store)).resolves.toMatchObject([{ registrationId: rid, state: 'REGISTERED' }]);
      // the device retries and succeeds: the mapping was kept
      a.send(`1208${rid}`, gw.udpPort);
      await expect(a.next()).resolves.toBe(`1300a0002a2108${rid}`);
      expect(gw.proc.child.exitCode).toBeNull(); // no unhandled error event killed it
    } finally {
      await a.close();
    }
  });

  it('C09: kill -9 after the server de-registered A but before A got the response; restart; A gets success and store and server agree A is gone', async () => {
    // `lost`: the server performs the DEREG but its 2.04 never arrives — the gateway's state is the
    // one it would have had if it died right after the answer arrived: DEREGISTERING, server done.
    const server = await startServer(['--fault', 'lost@DEREG*1']);
    procs.push(server.proc);
    const srv = { host: '127.0.0.1', port: server.port };
    const store = `sqlite:${join(dir, 'c09.db')}`;
    const [udpPort] = await freeUdpPorts(1);
    const args = ['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', 'gw-c09', '--udp-host', '127.0.0.1', '--udp-port', String(udpPort), '--store', store, '--authorization', 'open', '--deadline-ms', '20000'];
    const gw1 = await startGateway(args);
    procs.push(gw1.proc);
    const a = await RawDevice.open();
    const deviceId = `gw-c09/127.0.0.1:${a.port}/42`;
    try {
      a.send('10002a', udpPort!);
      const rid = /2108([0-9a-f]{16})240400015180$/.exec(await a.next())![1]!;
      expect(await fetchRegistry(srv)).toContain(deviceId);

      a.send(`1208${rid}`, udpPort!);
      const deadline = Date.now() + 5000;
      while ((await fetchRegistry(srv)).includes(deviceId)) {
        if (Date.now() > deadline) throw new Error('the server never de-registered A');
        await new Promise((r) => setTimeout(r, 50));
      }
      await expect(storeRows(store)).resolves.toMatchObject([{ registrationId: rid, state: 'DEREGISTERING' }]);
      gw1.proc.child.kill('SIGKILL');
      await gw1.proc.exited;
      expect(a.inbox).toHaveLength(0); // A never got an answer from the first process

      const gw2 = await startGateway(args);
      procs.push(gw2.proc);
      // the restarted gateway finishes the DEREG (the server answers NOT_REGISTERED: success) and
      // answers A at its stored Layer-2 ID
      await expect(a.next()).resolves.toBe(`1300a0002a2108${rid}`);
      // A retries: the identical bytes again, from the tombstone
      a.send(`1208${rid}`, udpPort!);
      await expect(a.next()).resolves.toBe(`1300a0002a2108${rid}`);
      await expect(storeRows(store)).resolves.toEqual([]);
      expect(await fetchRegistry(srv)).not.toContain(deviceId);
    } finally {
      await a.close();
    }
  });
});
