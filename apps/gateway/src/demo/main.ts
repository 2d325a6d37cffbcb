#!/usr/bin/env node
/**
 * `pnpm demo`: the reference MSGin5G Server, the gateway (SQLite in a temp folder) and simulated
 * constrained devices, all separate processes on loopback. Each device registers through the
 * gateway's UDP link, then de-registers (seed CR steps a–d); the transcript shows the Registration
 * IDs, the results and the store after each phase. Exits 0, or 1 with the reason.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchRegistry } from '@msgin5g/server';
import { freeUdpPorts, runDevice, runGatewayCli, startGateway, startServer, type JsonLineProcess } from './processes';

const DEVICES = Math.max(5, Math.min(50, Number(process.env.DEMO_DEVICES ?? 5) || 5));
const out = (s = '') => process.stdout.write(`${s}\n`);

async function storeRows(storeSpec: string): Promise<Array<Record<string, unknown>>> {
  const r = await runGatewayCli(['devices', 'list', '--store', storeSpec, '--json']);
  if (r.code !== 0) throw new Error(`devices list failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'msgin5g-demo-'));
  const storeSpec = `sqlite:${join(dir, 'gateway.db')}`;
  const procs: JsonLineProcess[] = [];
  const deadline = setTimeout(() => {
    process.stderr.write('demo: did not finish within 120 s\n');
    for (const p of procs) p.child.kill('SIGKILL');
    process.exit(1);
  }, 120_000);
  try {
    out('MSGin5G Gateway UE demo — constrained devices register and de-register through the gateway');
    out('='.repeat(96));
    const server = await startServer();
    procs.push(server.proc);
    out(`server   reference MSGin5G Server   coap://127.0.0.1:${server.port}/msgin5g   (pid ${server.proc.child.pid})`);
    const gateway = await startGateway([
      '--server', `coap://127.0.0.1:${server.port}/msgin5g`,
      '--ue-service-id', 'demo-gateway',
      '--udp-host', '127.0.0.1',
      '--udp-port', '0',
      '--store', storeSpec,
      '--authorization', 'open',
      '--deadline-ms', '5000',
    ]);
    procs.push(gateway.proc);
    out(`gateway  Gateway UE "demo-gateway"  udp://127.0.0.1:${gateway.udpPort} (M5 binary)   store ${storeSpec}   (pid ${gateway.proc.child.pid})`);
    out('         registered itself with the server (MSGin5G-1 REG)');

    const ports = await freeUdpPorts(DEVICES);
    const devices = ports.map((port, i) => ({ appId: 101 + i, port, registrationId: '' }));

    out('');
    out(`1. Registration: ${DEVICES} device processes send REGISTRATION REQUEST (0x10) to the gateway`);
    const regs = await Promise.all(
      devices.map((d) => runDevice(['register', '--gateway', `127.0.0.1:${gateway.udpPort}`, '--app-id', String(d.appId), '--local-port', String(d.port)])),
    );
    regs.forEach((r, i) => {
      const d = devices[i]!;
      d.registrationId = String(r.line.registrationId ?? '');
      out(`   device 127.0.0.1:${d.port}  Application ID ${d.appId}  →  ${r.line.result ?? r.line.error}  Registration ID ${d.registrationId || '-'}   [${String(r.line.hex ?? '')}]`);
      if (r.code !== 0 || r.line.result !== 'SUCCESS') throw new Error(`device ${d.appId} was not registered: ${JSON.stringify(r.line)} ${r.stderr}`);
    });

    const afterReg = await storeRows(storeSpec);
    out('');
    out(`   gateway store: ${afterReg.length} mapping(s) Application ID ↔ Layer-2 ID`);
    for (const row of afterReg) out(`     ${row.registrationId}  app ${String(row.applicationId).padEnd(5)} ${String(row.layer2Id).padEnd(18)} ${row.state}   server identity ${row.ueServiceId}`);
    if (afterReg.length !== DEVICES || afterReg.some((r) => r.state !== 'REGISTERED')) throw new Error('the store does not hold one REGISTERED mapping per device');
    const srv = { host: '127.0.0.1', port: server.port };
    const regAtServer = await fetchRegistry(srv);
    out(`   server registry: ${regAtServer.length} UE Service ID(s) — the gateway itself and ${regAtServer.length - 1} device(s)`);
    if (regAtServer.length !== DEVICES + 1) throw new Error(`the server registry holds ${regAtServer.length} entries, expected ${DEVICES + 1}`);

    out('');
    out('2. De-registration (TS 24.538 6.3.2.1.2): each device sends DE-REGISTRATION REQUEST (0x12) with its Registration ID;');
    out('   the gateway POSTs DEREG to the server, and on 2.04 answers the stored Layer-2 ID, then removes the mapping');
    const deregs = await Promise.all(
      devices.map((d) => runDevice(['deregister', '--gateway', `127.0.0.1:${gateway.udpPort}`, '--registration-id', d.registrationId, '--local-port', String(d.port)])),
    );
    deregs.forEach((r, i) => {
      const d = devices[i]!;
      out(`   device 127.0.0.1:${d.port}  Registration ID ${d.registrationId}  →  ${r.line.result ?? r.line.error}  (Registration ID echoed: ${r.line.registrationId === d.registrationId ? 'yes' : 'NO'})   [${String(r.line.hex ?? '')}]`);
      if (r.code !== 0 || r.line.result !== 'SUCCESS' || r.line.registrationId !== d.registrationId) {
        throw new Error(`device ${d.appId} was not de-registered: ${JSON.stringify(r.line)} ${r.stderr}`);
      }
    });

    const afterDereg = await storeRows(storeSpec);
    out('');
    out(`   gateway store: ${afterDereg.length} mapping(s) — ${afterDereg.length === 0 ? 'emptied' : 'NOT EMPTY'}`);
    if (afterDereg.length !== 0) throw new Error('mappings left in the store after de-registration');
    const deregAtServer = await fetchRegistry(srv);
    out(`   server registry: ${deregAtServer.join(', ') || '(empty)'} — the devices are gone`);
    if (deregAtServer.length !== 1) throw new Error(`the server registry still holds ${deregAtServer.join(', ')}`);

    out('');
    out('3. Shutdown: SIGTERM → the gateway drains, de-registers itself (MSGin5G-1 DEREG) and exits');
    const gwCode = await gateway.proc.stop('SIGTERM');
    const selfDereg = gateway.proc.lines.some((l) => l.msg === 'Gateway UE de-registered');
    out(`   gateway exited with code ${gwCode}; de-registered itself: ${selfDereg ? 'yes' : 'no'}`);
    const finalRegistry = await fetchRegistry(srv);
    out(`   server registry: ${finalRegistry.length === 0 ? '(empty)' : finalRegistry.join(', ')}`);
    const srvCode = await server.proc.stop('SIGTERM');
    out(`   server exited with code ${srvCode}`);
    if (gwCode !== 0 || !selfDereg || finalRegistry.length !== 0) throw new Error('the gateway did not stop cleanly');
    out('');
    out(`Demo passed: ${DEVICES} devices registered and de-registered through the Gateway UE; store empty.`);
  } finally {
    clearTimeout(deadline);
    for (const p of procs) await p.stop('SIGKILL', 2000);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`\ndemo FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
