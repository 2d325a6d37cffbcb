/**
 * Safe to run as a service (issue 11 item 5), with real gateway and server processes on loopback:
 * SIGHUP drains like SIGTERM; one gateway per store file (src/store-lock.ts), its path logged absolute.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { registryIn, runGatewayCli, startGateway, startServer, type JsonLineProcess } from '../../src/demo/processes';

/** The PID of a process that has exited (a short-lived node), ms-bounded. */
function deadPid(): Promise<number> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    const timer = setTimeout(() => rej(new Error('node -e "" did not exit within 10 s')), 10_000);
    child.once('error', rej);
    child.once('exit', () => {
      clearTimeout(timer);
      res(child.pid!);
    });
  });
}

const lockOf = (file: string) => JSON.parse(readFileSync(`${file}.lock`, 'utf8')) as { pid: number; host: string; startedAt: string };

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

  /** Gateway flags for store `file` and server `port`, UDP on an ephemeral loopback port. */
  const gatewayArgs = (file: string, port: number, id: string) => [
    '--store', `sqlite:${file}`, '--authorization', 'open', '--udp-host', '127.0.0.1', '--udp-port', '0',
    '--server', `coap://127.0.0.1:${port}/msgin5g`, '--ue-service-id', id, '--drain-timeout-ms', '1000',
  ];

  it('a second gateway on the same store file exits 1 naming the first one\'s pid; admin commands still work; the path is logged absolute', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const file = join(dir, 'shared.db');
    const given = relative(process.cwd(), file); // a relative --store: logged and reported absolute
    const first = await startGateway(gatewayArgs(given, server.port, 'gw-first'));
    procs.push(first.proc);
    expect(first.proc.lines.find((l) => l.msg === 'store opened')).toMatchObject({ store: `sqlite:${file}`, lock: `${file}.lock` });
    expect(lockOf(file)).toMatchObject({ pid: first.proc.child.pid, host: hostname() });

    const second = await runGatewayCli(['start', ...gatewayArgs(given, server.port, 'gw-second')]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`msgin5g-gateway: cannot start: the store ${file} is in use by another gateway (pid ${first.proc.child.pid}, started `);
    expect(await registryIn(server.port)).toEqual(['gw-first']); // the second never registered

    const list = await runGatewayCli(['devices', 'list', '--store', `sqlite:${file}`]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/0 registration\(s\)/);

    expect(await first.proc.stop('SIGTERM')).toBe(0);
    expect(existsSync(`${file}.lock`)).toBe(false); // released at stop
  });

  it('a stale lock (a dead pid on this host) is taken over with a warn', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const file = join(dir, 'stale.db');
    const pid = await deadPid();
    writeFileSync(`${file}.lock`, JSON.stringify({ pid, host: hostname(), startedAt: '2020-01-01T00:00:00.000Z' }));
    const gw = await startGateway(gatewayArgs(file, server.port, 'gw-stale'));
    procs.push(gw.proc);
    expect(gw.proc.lines.find((l) => l.msg === 'taking over a stale store lock: its gateway is no longer running')).toMatchObject({ level: 40, holder: { pid } });
    expect(lockOf(file).pid).toBe(gw.proc.child.pid);
  });

  it('a gateway killed with SIGKILL leaves a lock that the next start takes over', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const file = join(dir, 'killed.db');
    const one = await startGateway(gatewayArgs(file, server.port, 'gw-killed'));
    procs.push(one.proc);
    await one.proc.stop('SIGKILL');
    expect(lockOf(file).pid).toBe(one.proc.child.pid);
    const two = await startGateway(gatewayArgs(file, server.port, 'gw-killed'));
    procs.push(two.proc);
    expect(two.proc.lines.find((l) => l.msg === 'taking over a stale store lock: its gateway is no longer running')).toMatchObject({ holder: { pid: one.proc.child.pid } });
    expect(lockOf(file).pid).toBe(two.proc.child.pid);
    expect(await two.proc.stop('SIGTERM')).toBe(0);
  });

  it('--store memory takes no lock', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const gw = await startGateway(['--store', 'memory', ...gatewayArgs('x', server.port, 'gw-mem').slice(2)]);
    procs.push(gw.proc);
    expect(gw.proc.lines.find((l) => String(l.msg).startsWith('store opened'))).toMatchObject({ store: 'memory' });
    expect(gw.proc.lines.some((l) => l.lock !== undefined)).toBe(false);
  });
});
