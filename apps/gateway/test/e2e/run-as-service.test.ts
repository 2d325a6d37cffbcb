/**
 * Safe to run as a service (issue 11 item 5), with real gateway and server processes on loopback:
 * SIGHUP drains like SIGTERM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registryIn, startGateway, startServer, type JsonLineProcess } from '../../src/demo/processes';

describe('running as a service', () => {
  let dir: string;
  const procs: JsonLineProcess[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-service-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop('SIGKILL');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('SIGHUP drains like SIGTERM: the gateway de-registers itself at the server and exits 0', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const gw = await startGateway([
      '--store', `sqlite:${join(dir, 'hup.db')}`, '--authorization', 'open', '--udp-host', '127.0.0.1', '--udp-port', '0',
      '--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', 'gw-hup', '--drain-timeout-ms', '1000',
    ]);
    procs.push(gw.proc);
    expect(await registryIn(server.port)).toContain('gw-hup');
    expect(await gw.proc.stop('SIGHUP', 10_000)).toBe(0);
    expect(gw.proc.lines.find((l) => l.msg === 'stopping: draining in-flight procedures')).toMatchObject({ reason: 'SIGHUP' });
    expect(gw.proc.lines.some((l) => l.msg === 'Gateway UE de-registered')).toBe(true);
    expect(await registryIn(server.port)).toEqual([]);
  });
});
