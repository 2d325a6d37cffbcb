#!/usr/bin/env node
/**
 * `pnpm demo [--link udp|l2]`: the reference MSGin5G Server, the gateway (SQLite in a temp folder)
 * and simulated constrained devices, all separate processes. Each device registers through the
 * gateway; two of them exchange a message with a delivery report, and the server's pretend
 * Application Server sends one to a device (`message-phase.ts`, docs/wire-formats.md §5); then each
 * de-registers (seed CR steps a–d). The transcript shows the Registration IDs, the bytes, the JSON,
 * the results, and the gateway store and server registry after each phase.
 *
 * `--link udp` (default): everything on loopback, devices send M5 binary to the gateway's UDP port.
 * `--link l2` (Linux, root): the gateway and the server run in one network namespace, the devices
 * in another, joined by a veth pair; devices send Ethernet frames (EtherType 0x88B5) to the
 * gateway's specified MAC address. The namespaces are removed at the end.
 *
 * Exits 0, or 1 with the reason. `DEMO_SERVER_FAULT` (a `msgin5g-server --fault` spec, e.g.
 * `fail=RECIPIENT_UNKNOWN@MSG*1`) starts the server with that fault, to watch the demo fail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMessagePhase, type MessagingDevice } from './message-phase';
import { createVethTestbed, vethSupport, type VethTestbed } from './netns';
import { freeUdpPorts, registryIn, runDevice, runGatewayCli, startGateway, startServer, type JsonLineProcess, type Placement } from './processes';

const DEVICES = Math.max(5, Math.min(50, Number(process.env.DEMO_DEVICES ?? 5) || 5));
const out = (s = '') => process.stdout.write(`${s}\n`);

type LinkChoice = 'udp' | 'l2';

function linkFromArgs(argv: string[]): LinkChoice {
  const i = argv.indexOf('--link');
  const v = i >= 0 ? argv[i + 1] : (argv.find((a) => a.startsWith('--link='))?.slice(7) ?? 'udp');
  if (v !== 'udp' && v !== 'l2') throw new Error(`--link must be udp or l2, got ${JSON.stringify(v)}`);
  return v;
}

async function storeRows(storeSpec: string): Promise<Array<Record<string, unknown>>> {
  const r = await runGatewayCli(['devices', 'list', '--store', storeSpec, '--json']);
  if (r.code !== 0) throw new Error(`devices list failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** One simulated device: how it is named in the transcript and the CLI arguments that make it. */
interface DemoDevice {
  readonly appId: number;
  readonly label: string;
  readonly args: string[];
  registrationId: string;
}

async function main(): Promise<void> {
  const link = linkFromArgs(process.argv.slice(2));
  let testbed: VethTestbed | undefined;
  if (link === 'l2') {
    const support = vethSupport();
    if (!support.ok) throw new Error(`the L2 demo cannot run here: ${support.why}. Run it as root on Linux, or use the UDP demo (pnpm demo).`);
    testbed = createVethTestbed();
  }
  const gwSide: Placement = testbed === undefined ? {} : { netns: testbed.gatewayNs };
  const deviceSide: Placement = testbed === undefined ? {} : { netns: testbed.deviceNs };
  const dir = mkdtempSync(join(tmpdir(), 'msgin5g-demo-'));
  const storeSpec = `sqlite:${join(dir, 'gateway.db')}`;
  const procs: JsonLineProcess[] = [];
  const deadline = setTimeout(() => {
    process.stderr.write('demo: did not finish within 180 s\n');
    for (const p of procs) p.child.kill('SIGKILL');
    testbed?.remove();
    process.exit(1);
  }, 180_000);
  try {
    out(`MSGin5G Gateway UE demo (${link === 'udp' ? 'UDP link, loopback' : 'L2 link, Ethernet frames over a veth pair'}) — constrained devices register, exchange messages and de-register through the gateway`);
    out('='.repeat(110));
    if (testbed !== undefined) {
      out(`testbed  namespaces ${testbed.gatewayNs} (gateway, server) and ${testbed.deviceNs} (devices), veth ${testbed.gatewayIf} ↔ ${testbed.deviceIf}`);
    }
    const fault = process.env.DEMO_SERVER_FAULT;
    const server = await startServer(fault === undefined || fault === '' ? [] : ['--fault', fault], gwSide);
    procs.push(server.proc);
    out(`server   reference MSGin5G Server   coap://127.0.0.1:${server.port}/msgin5g   (pid ${server.proc.child.pid})`);
    const linkArgs = testbed === undefined ? ['--udp-host', '127.0.0.1', '--udp-port', '0'] : ['--no-udp', '--l2-interface', testbed.gatewayIf];
    const gateway = await startGateway(
      ['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', 'demo-gateway', '--store', storeSpec, '--authorization', 'open', '--deadline-ms', '5000', ...linkArgs],
      gwSide,
    );
    procs.push(gateway.proc);
    const where = testbed === undefined ? `udp://127.0.0.1:${gateway.udpPort} (M5 binary)` : `MAC ${testbed.gatewayMac} on ${testbed.gatewayIf}, EtherType 0x88b5`;
    out(`gateway  Gateway UE "demo-gateway"  ${where}   store ${storeSpec}   (pid ${gateway.proc.child.pid})`);
    out('         registered itself with the server (MSGin5G-1 REG)');

    let devices: DemoDevice[];
    if (testbed === undefined) {
      const ports = await freeUdpPorts(DEVICES);
      devices = ports.map((port, i) => ({
        appId: 101 + i,
        label: `127.0.0.1:${port}`,
        args: ['--gateway', `127.0.0.1:${gateway.udpPort}`, '--local-port', String(port)],
        registrationId: '',
      }));
    } else {
      const tb = testbed;
      devices = Array.from({ length: DEVICES }, (_, i) => {
        const mac = `02:00:00:00:d0:${(i + 1).toString(16).padStart(2, '0')}`;
        return { appId: 101 + i, label: mac, args: ['--link', 'l2', '--interface', tb.deviceIf, '--gateway-mac', tb.gatewayMac, '--mac', mac], registrationId: '' };
      });
    }
    const registry = () => registryIn(server.port, gwSide);

    out('');
    out(`1. Registration: ${DEVICES} device processes send REGISTRATION REQUEST (0x10) to the gateway`);
    const regs = await Promise.all(devices.map((d) => runDevice(['register', ...d.args, '--app-id', String(d.appId)], 60_000, deviceSide)));
    regs.forEach((r, i) => {
      const d = devices[i]!;
      d.registrationId = String(r.line.registrationId ?? '');
      out(`   device ${d.label.padEnd(17)}  Application ID ${d.appId}  →  ${r.line.result ?? r.line.error}  Registration ID ${d.registrationId || '-'}   [${String(r.line.hex ?? '')}]`);
      if (r.code !== 0 || r.line.result !== 'SUCCESS') throw new Error(`device ${d.appId} was not registered: ${JSON.stringify(r.line)} ${r.stderr}`);
    });

    const afterReg = await storeRows(storeSpec);
    out('');
    out(`   gateway store: ${afterReg.length} mapping(s) Application ID ↔ Layer-2 ID`);
    for (const row of afterReg) out(`     ${row.registrationId}  app ${String(row.applicationId).padEnd(5)} ${String(row.link).padEnd(4)} ${String(row.layer2Id).padEnd(18)} ${row.state}   server identity ${row.ueServiceId}`);
    if (afterReg.length !== DEVICES || afterReg.some((r) => r.state !== 'REGISTERED')) throw new Error('the store does not hold one REGISTERED mapping per device');
    const regAtServer = await registry();
    out(`   server registry: ${regAtServer.length} UE Service ID(s) — the gateway itself and ${regAtServer.length - 1} device(s)`);
    if (regAtServer.length !== DEVICES + 1) throw new Error(`the server registry holds ${regAtServer.length} entries, expected ${DEVICES + 1}`);

    out('');
    out('2. Messages (docs/wire-formats.md §5): MESSAGE SENDING REQUEST (0x01) up, MESSAGE RECEIVING (0x04) down, acknowledged (0x05), reports (0x06, IMDN)');
    const byApp = new Map(afterReg.map((r) => [Number(r.applicationId), String(r.ueServiceId)]));
    const messaging = (d: DemoDevice): MessagingDevice => {
      const ueServiceId = byApp.get(d.appId);
      if (ueServiceId === undefined) throw new Error(`the store holds no UE Service ID for Application ID ${d.appId}`);
      return { label: d.label, appId: d.appId, args: d.args, ueServiceId };
    };
    await runMessagePhase({ a: messaging(devices[0]!), b: messaging(devices[1]!), serverPort: server.port, deviceSide, serverSide: gwSide, track: (p) => procs.push(p), out });

    out('');
    out('3. De-registration (TS 24.538 6.3.2.1.2): each device sends DE-REGISTRATION REQUEST (0x12) with its Registration ID;');
    out('   the gateway POSTs DEREG to the server, and on 2.04 answers the stored Layer-2 ID, then removes the mapping');
    const deregs = await Promise.all(devices.map((d) => runDevice(['deregister', ...d.args, '--registration-id', d.registrationId], 60_000, deviceSide)));
    deregs.forEach((r, i) => {
      const d = devices[i]!;
      out(`   device ${d.label.padEnd(17)}  Registration ID ${d.registrationId}  →  ${r.line.result ?? r.line.error}  (Registration ID echoed: ${r.line.registrationId === d.registrationId ? 'yes' : 'NO'})   [${String(r.line.hex ?? '')}]`);
      if (r.code !== 0 || r.line.result !== 'SUCCESS' || r.line.registrationId !== d.registrationId) {
        throw new Error(`device ${d.appId} was not de-registered: ${JSON.stringify(r.line)} ${r.stderr}`);
      }
    });

    const afterDereg = await storeRows(storeSpec);
    out('');
    out(`   gateway store: ${afterDereg.length} mapping(s) — ${afterDereg.length === 0 ? 'emptied' : 'NOT EMPTY'}`);
    if (afterDereg.length !== 0) throw new Error('mappings left in the store after de-registration');
    const deregAtServer = await registry();
    out(`   server registry: ${deregAtServer.join(', ') || '(empty)'} — the devices are gone`);
    if (deregAtServer.length !== 1) throw new Error(`the server registry still holds ${deregAtServer.join(', ')}`);

    out('');
    out('4. Shutdown: SIGTERM → the gateway drains, de-registers itself (MSGin5G-1 DEREG) and exits');
    const gwCode = await gateway.proc.stop('SIGTERM');
    const selfDereg = gateway.proc.lines.some((l) => l.msg === 'Gateway UE de-registered');
    out(`   gateway exited with code ${gwCode}; de-registered itself: ${selfDereg ? 'yes' : 'no'}`);
    const finalRegistry = await registry();
    out(`   server registry: ${finalRegistry.length === 0 ? '(empty)' : finalRegistry.join(', ')}`);
    const srvCode = await server.proc.stop('SIGTERM');
    out(`   server exited with code ${srvCode}`);
    if (gwCode !== 0 || !selfDereg || finalRegistry.length !== 0) throw new Error('the gateway did not stop cleanly');
    out('');
    out(`Demo passed: ${DEVICES} devices registered and de-registered through the Gateway UE over the ${link === 'udp' ? 'UDP' : 'L2'} link; between, device B's message reached device A and B got its delivery report, and the AS's message reached A and the AS got its report; store empty.`);
  } finally {
    clearTimeout(deadline);
    for (const p of procs) await p.stop('SIGKILL', 2000);
    rmSync(dir, { recursive: true, force: true });
    testbed?.remove();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`\ndemo FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
