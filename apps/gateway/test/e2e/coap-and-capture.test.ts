/**
 * Third-party peers and tools against real processes on loopback:
 * - libcoap's `coap-client-notls` as a CoAP device through the gateway's CoAP device link, and
 *   against the reference server directly (the README's commands);
 * - the device simulator over `--link coap`;
 * - tshark capturing a UDP end-to-end run live: the M5 dissector (tools/wireshark) decodes every
 *   device message, and the CoAP between gateway and server dissects with no malformed packet or
 *   expert warning; the same capture over the L2 link (root: veth between namespaces).
 * Tests whose tool is missing say so and are skipped (CI installs libcoap3-bin and tshark).
 */
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { itUnless, LineProcess, runProcess, type RunResult } from '@msgin5g/test-support';
import { createVethTestbed, vethSupport } from '../../src/demo/netns';
import { freeUdpPorts, runDevice, startGateway, startServer, type JsonLineProcess, type Placement } from '../../src/demo/processes';

const has = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const libcoapMissing = has('coap-client-notls') ? undefined : 'coap-client-notls not installed (apt-get install libcoap3-bin)';
const tsharkMissing = !has('tshark') ? 'tshark not installed (apt-get install tshark)' : typeof process.getuid === 'function' && process.getuid() !== 0 ? 'not root (capturing needs root)' : undefined;
const itLibcoap = itUnless(libcoapMissing, 'libcoap interop tests');
const itTshark = itUnless(tsharkMissing, 'capture tests');
const veth = vethSupport();
const itTsharkL2 = itUnless(tsharkMissing ?? (veth.ok ? undefined : veth.why), 'L2 capture test');

const DISSECTOR = resolve(__dirname, '..', '..', '..', '..', 'tools', 'wireshark', 'msgin5g-m5.lua');

/** Runs a tool to its exit (SIGKILL after `timeoutMs`); the test inspects the exit code. */
const run = (cmd: string, args: string[], timeoutMs = 20_000): Promise<RunResult> => runProcess(cmd, args, { timeoutMs });

/** A bounded live capture; `stop()` ends it and resolves once the file is written. */
async function capture(iface: string, filter: string, file: string, placement: Placement = {}): Promise<{ stop(): Promise<void> }> {
  const args = ['-i', iface, '-f', filter, '-w', file, '-a', 'duration:90', '-q'];
  const argv = placement.netns === undefined ? ['tshark', ...args] : ['ip', 'netns', 'exec', placement.netns, 'tshark', ...args];
  const tshark = LineProcess.start(argv[0] as string, argv.slice(1), { name: 'tshark' });
  try {
    // tshark says "Capturing on 'lo'" on stderr once it listens
    await tshark.waitForLine((l) => l.includes('Capturing on'), { stream: 'stderr', timeoutMs: 15_000, what: '"Capturing on"' });
  } catch (err) {
    await tshark.stop('SIGKILL');
    throw err;
  }
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 300));
      await tshark.stop('SIGINT', 5000);
    },
  };
}

/** The M5 fields of every dissected packet, one object per packet that carries `msgin5g`. */
async function dissect(file: string, extra: string[] = []): Promise<Array<Record<string, string>>> {
  const fields = ['msgin5g.type', 'msgin5g.result', 'msgin5g.app_id', 'msgin5g.reg_id', 'msgin5g.failure_reason'];
  const r = await run('tshark', ['-n', '-X', `lua_script:${DISSECTOR}`, '-r', file, '-Y', 'msgin5g', '-T', 'fields', '-E', 'separator=\t', ...extra, ...fields.flatMap((f) => ['-e', f])]);
  expect(r.code).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => Object.fromEntries(l.split('\t').map((v, i) => [fields[i]!, v])));
}

describe('third-party peers and captures', () => {
  let dir: string;
  const procs: JsonLineProcess[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-interop-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop('SIGKILL', 2000);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  itLibcoap('coap-client-notls registers and de-registers a device through the CoAP device link, and the device simulator does too', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const [coapPort, clientPort, simPort] = await freeUdpPorts(3);
    const gw = await startGateway(['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--udp-host', '127.0.0.1', '--udp-port', '0', '--coap-device-host', '127.0.0.1', '--coap-device-port', String(coapPort), '--store', 'memory', '--authorization', 'open']);
    procs.push(gw.proc);
    const uri = `coap://127.0.0.1:${coapPort}/msgin5g`;
    const client = (body: string) => run('coap-client-notls', ['-a', '127.0.0.1', '-p', String(clientPort), '-m', 'post', '-t', '50', '-e', body, '-B', '10', uri]);

    const reg = await client('{"messageType":"REG","appId":"42"}');
    const regJson = JSON.parse(reg.stdout.trim()) as Record<string, string>;
    expect(regJson).toMatchObject({ messageType: 'REG', result: 'SUCCESS', appId: '42' });
    expect(regJson.registrationId).toMatch(/^[0-9a-f]{16}$/);
    const dereg = await client(`{"messageType":"DEREG","registrationId":"${regJson.registrationId}"}`);
    expect(JSON.parse(dereg.stdout.trim())).toEqual({ messageType: 'DEREG', result: 'SUCCESS', appId: '42', registrationId: regJson.registrationId });
    const bad = await run('coap-client-notls', ['-v', '7', '-m', 'post', '-t', '0', '-e', 'x', '-B', '5', uri]);
    expect(bad.stdout + bad.stderr).toMatch(/4\.15/);

    const simArgs = ['--link', 'coap', '--gateway', `127.0.0.1:${coapPort}`, '--local-port', String(simPort)];
    const simReg = await runDevice(['register', ...simArgs, '--app-id', '43']);
    expect(simReg.code).toBe(0);
    expect(simReg.line).toMatchObject({ type: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 43, coapCode: '2.04', layer2Id: `127.0.0.1:${simPort}` });
    const simDereg = await runDevice(['deregister', ...simArgs, '--registration-id', String(simReg.line.registrationId)]);
    expect(simDereg.line).toMatchObject({ type: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: simReg.line.registrationId });
  });

  itLibcoap('coap-client-notls talks to the reference server directly (README commands)', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const uri = `coap://127.0.0.1:${server.port}`;
    const post = (body: string) => run('coap-client-notls', ['-m', 'post', '-t', '50', '-e', body, '-B', '5', `${uri}/msgin5g`]);
    expect(JSON.parse((await post('{"messageType":"REG","ueServiceId":"ue-1"}')).stdout.trim())).toEqual({ messageType: 'REG', result: 'SUCCESS' });
    expect(JSON.parse((await run('coap-client-notls', ['-m', 'get', '-B', '5', `${uri}/registry`])).stdout.trim())).toEqual({ ueServiceIds: ['ue-1'] });
    const verbose = await run('coap-client-notls', ['-v', '7', '-m', 'post', '-t', '50', '-e', '{"messageType":"DEREG","ueServiceId":"ue-1"}', '-B', '5', `${uri}/msgin5g`]);
    expect(verbose.stdout + verbose.stderr).toMatch(/c:2\.04/);
    expect(JSON.parse((await post('{"messageType":"DEREG","ueServiceId":"ue-1"}')).stdout.trim())).toEqual({ messageType: 'DEREG', result: 'FAILURE', failureCause: 'NOT_REGISTERED' });
  });

  itTshark('a live capture of a UDP run: the M5 dissector decodes every message; the CoAP to the server dissects cleanly', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const [udpPort] = await freeUdpPorts(1);
    const file = join(dir, 'udp-run.pcapng');
    const cap = await capture('lo', `udp port ${udpPort} or udp port ${server.port}`, file);
    const gw = await startGateway(['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--udp-host', '127.0.0.1', '--udp-port', String(udpPort), '--store', 'memory', '--authorization', 'open']);
    procs.push(gw.proc);
    const dev = createSocket('udp4');
    await new Promise<void>((r) => dev.bind(0, '127.0.0.1', () => r()));
    const next = () => new Promise<Buffer>((r) => dev.once('message', (m) => r(m)));
    try {
      let answer = next();
      dev.send(Buffer.from('10002a', 'hex'), udpPort!, '127.0.0.1');
      const rid = (await answer).subarray(7).toString('hex');
      answer = next();
      dev.send(Buffer.from(`1208${rid}`, 'hex'), udpPort!, '127.0.0.1');
      await answer;
      answer = next();
      dev.send(Buffer.from('7e00', 'hex'), udpPort!, '127.0.0.1');
      await answer;
    } finally {
      dev.close();
    }
    await gw.proc.stop('SIGTERM');
    await cap.stop();
    expect(statSync(file).size).toBeGreaterThan(0);

    const m5 = await dissect(file, ['-o', `msgin5g.udp_port:${udpPort}`]);
    expect(m5.map((p) => p['msgin5g.type'])).toEqual(['0x10', '0x11', '0x12', '0x13', '0x7e', '0x1f']);
    expect(m5[1]).toMatchObject({ 'msgin5g.result': '0x00', 'msgin5g.app_id': '42' });
    expect(m5[3]!['msgin5g.reg_id']).toBe(m5[1]!['msgin5g.reg_id']);

    const expert = await run('tshark', ['-n', '-r', file, '-d', `udp.port==${server.port},coap`, '-Y', `coap && (_ws.malformed || _ws.expert.severity >= warning)`, '-T', 'fields', '-e', 'frame.number']);
    expect(expert.code).toBe(0);
    expect(expert.stdout.trim()).toBe('');
    const coapCount = await run('tshark', ['-n', '-r', file, '-d', `udp.port==${server.port},coap`, '-Y', 'coap', '-T', 'fields', '-e', 'coap.code']);
    // gateway REG, device REG, device DEREG, gateway DEREG: four requests and four answers
    expect(coapCount.stdout.trim().split('\n')).toHaveLength(8);
  });

  itTsharkL2('a live capture of an L2 run (veth between namespaces): the dissector decodes the Ethernet frames', async () => {
    const tb = createVethTestbed(`${process.pid % 10000}c`, '02:00:00:00:5a:02');
    try {
      const gwSide = { netns: tb.gatewayNs };
      const server = await startServer([], gwSide);
      procs.push(server.proc);
      const file = join(dir, 'l2-run.pcapng');
      const cap = await capture(tb.gatewayIf, 'ether proto 0x88b5', file, gwSide);
      const gw = await startGateway(['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--no-udp', '--l2-interface', tb.gatewayIf, '--store', 'memory', '--authorization', 'open'], gwSide);
      procs.push(gw.proc);
      const args = ['--link', 'l2', '--interface', tb.deviceIf, '--gateway-mac', tb.gatewayMac, '--mac', '02:00:00:00:d1:01'];
      const reg = await runDevice(['register', ...args, '--app-id', '77'], 30_000, { netns: tb.deviceNs });
      expect(reg.code).toBe(0);
      const dereg = await runDevice(['deregister', ...args, '--registration-id', String(reg.line.registrationId)], 30_000, { netns: tb.deviceNs });
      expect(dereg.code).toBe(0);
      await gw.proc.stop('SIGTERM');
      await cap.stop();
      const m5 = await dissect(file);
      expect(m5.map((p) => p['msgin5g.type'])).toEqual(['0x10', '0x11', '0x12', '0x13']);
      expect(m5[1]).toMatchObject({ 'msgin5g.app_id': '77' });
      expect(m5[1]!['msgin5g.reg_id']?.replace(/:/g, '')).toBe(String(reg.line.registrationId));
    } finally {
      for (const p of procs.splice(0)) await p.stop('SIGKILL', 2000);
      tb.remove();
    }
  });
});
