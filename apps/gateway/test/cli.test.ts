import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  must,
  parseApplicationId,
  parseRegistrationId,
  parseUeServiceId,
  type Layer2Id,
  type LinkId,
} from '@msgin5g/core';
import { createReferenceServer, type ReferenceServer } from '@msgin5g/server';
import { SqliteRegistrationStore } from '@msgin5g/store-sqlite';
import '@msgin5g/test-support/close-coap-global-agents';
import { runProcess } from '@msgin5g/test-support';
import { ENTRY, runGatewayCli, startNode, startServer, type JsonLineProcess } from '../src/demo/processes';

describe('msgin5g-gateway CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--help lists the commands', async () => {
    const r = await runGatewayCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/start/);
    expect(r.stdout).toMatch(/devices/);
    const start = await runGatewayCli(['start', '--help']);
    expect(start.stdout).toMatch(/--authorization <open\|file>/);
    expect(start.stdout).toMatch(/MSGIN5G_SERVER/);
  });

  it('--version prints the package version; --help into a closed pipe (| head -1) exits 0 quietly', async () => {
    const version = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
    await expect(runGatewayCli(['--version'])).resolves.toMatchObject({ code: 0, stdout: `${version}\n` });
    for (const args of [['--help'], ['start', '--help']]) {
      const r = await runProcess(process.execPath, [ENTRY.gateway, ...args], { closeStdout: true });
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    }
  });

  it('refuses to start without an authorization setting and says how to configure it (exit 2)', async () => {
    const r = await runGatewayCli(['start', '--store', 'memory']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/authorization: is required/);
    expect(r.stderr).toMatch(/--authorization open/);
  });

  it('reports each bad flag on its own line (exit 2)', async () => {
    const r = await runGatewayCli(['start', '--authorization', 'open', '--udp-port', '70000', '--server', 'http://x', '--store', 'foo']);
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('  - '));
    expect(lines).toHaveLength(3);
    expect(r.stderr).toMatch(/udp\.port: must be 0\.\.65535 \(got "70000" from flag --udp-port\)/);
  });

  it('reports a missing authorization list file clearly (exit 2)', async () => {
    const r = await runGatewayCli(['start', '--store', 'memory', '--authorization', join(dir, 'nope.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/authorization: .*nope\.yaml: cannot read the file \(ENOENT\)/);
  });

  it('says so when the UDP port is taken (exit 1), instead of crashing', async () => {
    const s = createSocket('udp4');
    await new Promise<void>((res) => s.bind(0, '127.0.0.1', () => res()));
    try {
      const r = await runGatewayCli(['start', '--store', 'memory', '--authorization', 'open', '--udp-host', '127.0.0.1', '--udp-port', String(s.address().port), '--server', 'coap://127.0.0.1:9/msgin5g']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cannot start: .*in use/);
    } finally {
      s.close();
    }
  });

  it('devices list / show read a store; show finds a tombstone after de-registration', async () => {
    const path = join(dir, 'admin.db');
    const store = SqliteRegistrationStore.open(path);
    const rid = must(parseRegistrationId('00112233445566aa'));
    const reg = {
      registrationId: rid,
      applicationId: must(parseApplicationId(42)),
      layer2Id: '127.0.0.1:40001' as Layer2Id,
      link: 'udp' as LinkId,
      ueServiceId: must(parseUeServiceId('gw/127.0.0.1:40001/42')),
      state: 'REGISTERED' as const,
      createdAt: 1_800_000_000_000,
      updatedAt: 1_800_000_000_000,
      expiresAt: 1_800_086_400_000,
    };
    const onL2 = { ...reg, registrationId: must(parseRegistrationId('00112233445566bb')), layer2Id: '0200000000bb' as Layer2Id, link: 'l2-lab' as LinkId };
    await store.insert(reg);
    await store.insert(onL2);
    await store.close();

    const table = await runGatewayCli(['devices', 'list', '--store', `sqlite:${path}`]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/00112233445566aa\s+42\s+udp\s+127\.0\.0\.1:40001\s+REGISTERED/);
    // Printed as its link kind prints it: an L2 instance's MAC with colons.
    expect(table.stdout).toMatch(/00112233445566bb\s+42\s+l2-lab\s+02:00:00:00:00:bb\s+REGISTERED/);
    expect(table.stdout).toMatch(/2 registration\(s\)/);
    const json = await runGatewayCli(['devices', 'list', '--store', `sqlite:${path}`, '--json']);
    expect(json.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([reg, onL2]);
    const show = await runGatewayCli(['devices', 'show', '00112233445566AA', '--store', `sqlite:${path}`]);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toEqual(reg);

    const again = SqliteRegistrationStore.open(path);
    await again.remove(rid, { registrationId: rid, applicationId: reg.applicationId, layer2Id: reg.layer2Id, link: 'udp', response: { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: rid, applicationId: reg.applicationId }, expiresAt: Date.now() + 60_000 });
    await again.close();
    const gone = await runGatewayCli(['devices', 'show', '00112233445566aa', '--store', `sqlite:${path}`]);
    expect(gone.code).toBe(0);
    expect(JSON.parse(gone.stdout)).toMatchObject({ deregistered: true, tombstone: { registrationId: rid } });
  });

  it('devices show: a bad id exits 2, an unknown one exits 1; a missing store is named', async () => {
    const path = join(dir, 'empty.db');
    await SqliteRegistrationStore.open(path).close();
    expect((await runGatewayCli(['devices', 'show', 'xyz', '--store', `sqlite:${path}`])).code).toBe(2);
    const unknown = await runGatewayCli(['devices', 'show', 'abcd', '--store', `sqlite:${path}`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no registration abcd/);
    const missing = await runGatewayCli(['devices', 'list', '--store', `sqlite:${join(dir, 'nothing.db')}`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no store at sqlite:.*nothing\.db/);
  });

  it('a second SIGTERM while draining is logged and ignored: the gateway still de-registers itself and exits 0', async () => {
    const procs: JsonLineProcess[] = [];
    try {
      // The gateway's own REG and then the device's REG are each held 3 s by the server.
      const server = await startServer(['--fault', 'delay=3000@REG*2']);
      procs.push(server.proc);
      const gwProc = startNode('gw', ENTRY.gateway, [
        'start', '--store', 'memory', '--authorization', 'open', '--udp-host', '127.0.0.1', '--udp-port', '0', '--admin-port', '0',
        '--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--drain-timeout-ms', '1000', '--log-level', 'debug',
      ]);
      procs.push(gwProc);
      const listening = await gwProc.waitFor((l) => l.msg === 'device link listening', 'listening');
      const udpPort = Number(/:(\d+)$/.exec(String(listening.endpoint))![1]);
      await gwProc.waitFor((l) => l.msg === 'gateway ready', 'gateway ready', 15_000);
      const dev = createSocket('udp4');
      await new Promise<void>((res) => dev.bind(0, '127.0.0.1', () => res()));
      dev.send(Buffer.from('10002a', 'hex'), udpPort, '127.0.0.1');
      await gwProc.waitFor((l) => l.msg === 'POST to the MSGin5G Server' && l.operation === 'REG', 'the device REG sent upstream', 5_000);
      gwProc.child.kill('SIGTERM');
      const draining = await gwProc.waitFor((l) => l.msg === 'stopping: draining in-flight procedures', 'draining');
      expect(draining.inFlight).toBe(1);
      const code = await gwProc.stop('SIGTERM');
      dev.close();
      expect(code).toBe(0);
      expect(gwProc.lines.some((l) => l.msg === 'already stopping; the drain is bounded by drainTimeoutMs (SIGKILL stops at once)')).toBe(true);
      expect(gwProc.lines.some((l) => l.msg === 'Gateway UE de-registered')).toBe(true);
      expect(gwProc.lines.some((l) => l.msg === 'stopped')).toBe(true);
    } finally {
      for (const p of procs) await p.stop('SIGKILL');
    }
  });

  it('keeps answering GATEWAY_NOT_REGISTERED while the server is down, then registers itself when it comes up', async () => {
    const procs: JsonLineProcess[] = [];
    // The server port is held from the start by a socket that never answers (the server is down),
    // and handed to the reference server (in this process) right after that socket is closed, so
    // no other process can take it in between.
    const placeholder = createSocket('udp4');
    let server: ReferenceServer | undefined;
    try {
      await new Promise<void>((res, rej) => {
        placeholder.once('error', rej);
        placeholder.bind(0, '127.0.0.1', () => res());
      });
      const { port } = placeholder.address();
      const gwProc = startNode('gw', ENTRY.gateway, [
        'start', '--store', 'memory', '--authorization', 'open', '--udp-host', '127.0.0.1', '--udp-port', '0', '--admin-port', '0',
        '--server', `coap://127.0.0.1:${port}/msgin5g`, '--deadline-ms', '500',
      ]);
      procs.push(gwProc);
      const listening = await gwProc.waitFor((l) => l.msg === 'device link listening', 'listening');
      const udpPort = Number(/:(\d+)$/.exec(String(listening.endpoint))![1]);
      const dev = createSocket('udp4');
      const answer = new Promise<string>((res) => dev.once('message', (m) => res(m.toString('hex'))));
      await new Promise<void>((res) => dev.bind(0, '127.0.0.1', () => res()));
      dev.send(Buffer.from('10002a', 'hex'), udpPort, '127.0.0.1');
      await expect(answer).resolves.toBe('1101a0002a220106');
      dev.close();
      expect(gwProc.lines.some((l) => l.msg === 'gateway ready')).toBe(false);
      await new Promise<void>((res) => placeholder.close(() => res()));
      server = createReferenceServer({ host: '127.0.0.1', port });
      await server.start();
      await gwProc.waitFor((l) => l.msg === 'gateway ready', 'gateway ready', 15_000);
      expect(server.registry.size).toBe(1);
      expect(await gwProc.stop('SIGTERM')).toBe(0);
    } finally {
      for (const p of procs) await p.stop('SIGKILL', 2000);
      await server?.stop();
      try {
        placeholder.close();
      } catch {
        // already closed
      }
    }
  });

  it('SIGTERM stops within the drain budget even when the server has gone away (exit 0)', async () => {
    const procs: JsonLineProcess[] = [];
    try {
      const server = await startServer();
      procs.push(server.proc);
      const gw = startNode('gw', ENTRY.gateway, [
        'start', '--store', 'memory', '--authorization', 'open', '--udp-host', '127.0.0.1', '--udp-port', '0', '--admin-port', '0',
        '--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--deadline-ms', '8000', '--drain-timeout-ms', '1000',
      ]);
      procs.push(gw);
      await gw.waitFor((l) => l.msg === 'gateway ready', 'gateway ready');
      await server.proc.stop('SIGKILL');
      const started = Date.now();
      expect(await gw.stop('SIGTERM')).toBe(0);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(gw.lines.some((l) => l.msg === 'gateway de-registration unanswered; stopping anyway')).toBe(true);
    } finally {
      for (const p of procs) await p.stop('SIGKILL', 2000);
    }
  });
});

describe('devices list --store memory', () => {
  it('explains that a memory store lives inside the running gateway (exit 2)', async () => {
    const r = await runGatewayCli(['devices', 'list', '--store', 'memory']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/memory store lives only inside the running gateway/);
  });
});
