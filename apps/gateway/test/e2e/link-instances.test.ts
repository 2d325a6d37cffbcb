/**
 * Two instances of one link kind (docs/architecture.md §4.1), end to end with real processes: a
 * gateway with two UDP ports from the config file's `links:`; a device's answers leave through the
 * port its request came in on, the store records that instance, and after a `kill -9` the restarted
 * gateway finishes a pending registration through the same instance.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPorts, startGateway, startServer, type JsonLineProcess } from '../../src/demo/processes';
import { RawDevice } from './raw-device';
import { storeRows } from './store-rows';


describe('two UDP link instances from links: (gateway and server as processes)', () => {
  let dir: string;
  const procs: JsonLineProcess[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-instances-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0).reverse()) await p.stop('SIGKILL', 2000);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers through the instance a request came in on, records it, and keeps to it across kill -9', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const [portA, portB] = (await freeUdpPorts(2)) as [number, number];
    const config = join(dir, 'gw.yaml');
    writeFileSync(
      config,
      [
        'authorization: open',
        'links:',
        `  - { type: udp, host: 127.0.0.1, port: ${portA}, name: udp-a }`,
        `  - { type: udp, host: 127.0.0.1, port: ${portB}, name: udp-b }`,
        '',
      ].join('\n'),
    );
    const store = `sqlite:${join(dir, 'gw.db')}`;
    const args = ['--config', config, '--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', 'gw-instances', '--store', store, '--deadline-ms', '20000'];
    const first = await startGateway(args);
    procs.push(first.proc);
    expect(first.proc.lines.filter((l) => l.msg === 'device link listening').map((l) => [l.link, l.endpoint])).toEqual([
      ['udp-a', `udp://127.0.0.1:${portA}`],
      ['udp-b', `udp://127.0.0.1:${portB}`],
    ]);

    const dev = await RawDevice.open();
    const other = await RawDevice.open();
    try {
      // The server goes away; a REG of app 42 into port B stays pending; the gateway is killed.
      await server.proc.stop('SIGKILL', 2000);
      dev.send('10002a', portB);
      let pending: Array<Record<string, unknown>> = [];
      for (let i = 0; i < 50 && pending.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        pending = await storeRows(store);
      }
      expect(pending).toEqual([expect.objectContaining({ link: 'udp-b', state: 'REGISTERING', applicationId: 42 })]);
      await first.proc.stop('SIGKILL', 2000);
      const back = await startServer(['--port', String(server.port)]);
      procs.push(back.proc);

      // Restart on the same file: recovery re-sends the REG and answers through udp-b (port B).
      const second = await startGateway(args);
      procs.push(second.proc);
      const answer = await dev.next(15_000);
      expect(answer).toMatch(/^1100a0002a2108[0-9a-f]{16}240400015180$/);
      expect(dev.sourcePorts.at(-1)).toBe(portB);
      const rid = answer.slice(14, 30); // after 11 00 A0 <app> 21 08; the lifetime IE follows
      await expect(storeRows(store)).resolves.toEqual([expect.objectContaining({ registrationId: rid, link: 'udp-b', state: 'REGISTERED' })]);

      // The same Layer-2 ID on the other instance is another device: its DEREG is refused there.
      dev.send(`1208${rid}`, portA);
      await expect(dev.next()).resolves.toBe('1301220102');
      expect(dev.sourcePorts.at(-1)).toBe(portA);
      // Through its own instance it succeeds.
      dev.send(`1208${rid}`, portB);
      await expect(dev.next()).resolves.toBe(`1300a0002a2108${rid}`);
      expect(dev.sourcePorts.at(-1)).toBe(portB);

      // Another device on port A registers on udp-a.
      other.send('10002b', portA);
      await expect(other.next()).resolves.toMatch(/^1100a0002b2108[0-9a-f]{16}240400015180$/);
      expect(other.sourcePorts.at(-1)).toBe(portA);
      await expect(storeRows(store)).resolves.toEqual([expect.objectContaining({ link: 'udp-a', applicationId: 43 })]);
    } finally {
      await dev.close();
      await other.close();
    }
  });
});
