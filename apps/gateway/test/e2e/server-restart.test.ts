/**
 * The reference MSGin5G Server restarted in the middle of a run (issue 11 item 4, docs/adr/0012):
 * server and gateway as processes (SQLite file), devices as raw UDP sockets. The new server on the
 * same port has forgotten everything; the next device request makes the gateway register itself
 * again, resync its REGISTERED devices, and finish that request with a true answer. After every
 * SUCCESS a device hears, the new server's registry (`GET /registry`) is checked to hold what the
 * answer says.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchRegistry } from '@msgin5g/server';
import { ENTRY, startGateway, startNode, startServer, type JsonLineProcess } from '../../src/demo/processes';
import { RawDevice } from './raw-device';
import { storeRows } from './store-rows';

const hex16 = (n: number) => n.toString(16).padStart(4, '0');
const GW = 'gw-restart';
const REREGISTERED = 'Gateway UE registered again with the MSGin5G Server; REGISTERED devices resynced';
const FORGOTTEN = 'the MSGin5G Server does not know the Gateway UE (it may have restarted); registering it again, devices get GATEWAY_NOT_REGISTERED meanwhile';

/** A new reference server on `port` (the one the gateway is configured with). */
async function serverOnPort(port: number): Promise<JsonLineProcess> {
  const proc = startNode('msgin5g-server', ENTRY.server, ['--host', '127.0.0.1', '--port', String(port)]);
  await proc.waitFor((l) => l.msg === 'MSGin5G Server listening', 'MSGin5G Server listening');
  return proc;
}

describe('the reference server restarted mid-run (gateway and servers as processes, SQLite file)', () => {
  let dir: string;
  const procs: JsonLineProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-restart-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop('SIGKILL', 2000);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('C13: kill -9 and a new server on the same port: the gateway registers itself again, resyncs its devices, and devices hear only true answers (REG, then DEREG after a second restart)', async () => {
    const first = await startServer();
    procs.push(first.proc);
    const port = first.port;
    const srv = { host: '127.0.0.1', port };
    const store = `sqlite:${join(dir, 'restart.db')}`;
    const gw = await startGateway(['--server', `coap://127.0.0.1:${port}/msgin5g`, '--ue-service-id', GW, '--udp-host', '127.0.0.1', '--udp-port', '0', '--store', store, '--authorization', 'open', '--deadline-ms', '3000']);
    procs.push(gw.proc);

    const devices = await Promise.all(Array.from({ length: 4 }, () => RawDevice.open()));
    const apps = devices.map((_, i) => 500 + i);
    const ue = (i: number) => `${GW}/127.0.0.1:${devices[i]!.port}/${apps[i]}`;
    const rids: string[] = [];
    try {
      // Three devices registered with the first server.
      for (let i = 0; i < 3; i++) {
        devices[i]!.send(`10${hex16(apps[i]!)}`, gw.udpPort);
        const m = new RegExp(`^1100a0${hex16(apps[i]!)}2108([0-9a-f]{16})240400015180$`).exec(await devices[i]!.next());
        expect(m).not.toBeNull();
        rids.push(m![1]!);
      }
      expect((await fetchRegistry(srv)).sort()).toEqual([GW, ue(0), ue(1), ue(2)].sort());

      // The server dies and a new one takes its port: it holds nothing.
      expect(await first.proc.stop('SIGKILL')).toBeNull();
      const second = await serverOnPort(port);
      procs.push(second);
      await expect(fetchRegistry(srv)).resolves.toEqual([]);

      // A new device registers: its POST is answered GATEWAY_NOT_REGISTERED, the gateway registers
      // itself again and POSTs it again; the device hears SUCCESS only once the server holds it.
      devices[3]!.send(`10${hex16(apps[3]!)}`, gw.udpPort);
      const m3 = new RegExp(`^1100a0${hex16(apps[3]!)}2108([0-9a-f]{16})240400015180$`).exec(await devices[3]!.next(15_000));
      expect(m3).not.toBeNull();
      rids.push(m3![1]!);
      const heldAfterSuccess = await fetchRegistry(srv);
      expect(heldAfterSuccess).toEqual(expect.arrayContaining([GW, ue(3)]));
      // Nothing else reached the device: one answer.
      expect(await devices[3]!.poll(300)).toBeUndefined();

      // The earlier devices are registered again at the new server, and the store did not change.
      const done = await gw.proc.waitFor((l) => l.msg === REREGISTERED, REREGISTERED, 20_000);
      expect(done).toMatchObject({ level: 30, resynced: 3, failed: 0, resumed: 1 });
      expect(gw.proc.lines.filter((l) => l.msg === FORGOTTEN)).toHaveLength(1);
      expect(gw.proc.lines.find((l) => l.msg === FORGOTTEN)).toMatchObject({ level: 40 });
      expect((await fetchRegistry(srv)).sort()).toEqual([GW, ue(0), ue(1), ue(2), ue(3)].sort());
      const rows = await storeRows(store);
      expect(rows.map((r) => r.state)).toEqual(['REGISTERED', 'REGISTERED', 'REGISTERED', 'REGISTERED']);

      // A second restart (SIGTERM this time), then a DEREG: answered SUCCESS, and the server does not hold it.
      expect(await second.stop('SIGTERM')).toBe(0);
      const third = await serverOnPort(port);
      procs.push(third);
      devices[0]!.send(`1208${rids[0]}`, gw.udpPort);
      await expect(devices[0]!.next(15_000)).resolves.toBe(`1300a0${hex16(apps[0]!)}2108${rids[0]}`);
      expect(await fetchRegistry(srv)).not.toContain(ue(0));
      await gw.proc.waitFor((l) => l.msg === REREGISTERED && gw.proc.lines.filter((o) => o.msg === REREGISTERED).length >= 2, 'a second re-registration', 20_000);
      expect(gw.proc.lines.filter((l) => l.msg === REREGISTERED).at(-1)).toMatchObject({ resynced: 3, failed: 0, resumed: 1 });
      expect((await fetchRegistry(srv)).sort()).toEqual([GW, ue(1), ue(2), ue(3)].sort());
      expect((await storeRows(store)).map((r) => r.registrationId).sort()).toEqual([rids[1], rids[2], rids[3]].sort());
      // Never a false success, never a stray answer: each device heard exactly what was checked above.
      for (const d of devices) expect(await d.poll(100)).toBeUndefined();
      expect(gw.proc.lines.filter((l) => l.msg === FORGOTTEN)).toHaveLength(2);
    } finally {
      await Promise.all(devices.map((d) => d.close()));
    }
  }, 90_000);
});
