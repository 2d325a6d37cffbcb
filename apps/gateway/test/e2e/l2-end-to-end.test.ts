/**
 * L2 link end to end with real Ethernet frames: the gateway and the reference server run as
 * processes in one network namespace, 20 simulated devices (the device CLI with `--link l2`) in
 * another, joined by a veth pair this test creates and always removes. Needs root; without it the
 * test says why and is skipped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVethTestbed, vethSupport, type VethTestbed } from '../../src/demo/netns';
import { registryIn, runDevice, runGatewayCli, startGateway, startServer, type JsonLineProcess } from '../../src/demo/processes';

/** The Registration lifetime IE every REGISTRATION RESPONSE success carries: 0x24, length 4, the default 86 400 s (docs/wire-formats.md §2). */
const LIFETIME_IE = '240400015180';

const support = vethSupport();
if (!support.ok) {
  // Printed so a skipped run says why; CI runs as root, so there this suite runs.
  console.log(`L2 end-to-end tests skipped: ${support.why}`);
}
const describeIfRoot = support.ok ? describe : describe.skip;

const hex16 = (n: number) => n.toString(16).padStart(4, '0');

describeIfRoot('L2 link end to end (Ethernet frames over a veth pair between two namespaces)', () => {
  let testbed: VethTestbed;
  let dir: string;
  const procs: JsonLineProcess[] = [];

  beforeAll(() => {
    testbed = createVethTestbed(`${process.pid % 10000}e`);
    dir = mkdtempSync(join(tmpdir(), 'gw-l2-'));
  });
  afterAll(async () => {
    for (const p of procs.splice(0)) await p.stop('SIGKILL', 2000);
    testbed?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('20 devices register and de-register with their MACs as Layer-2 IDs; M5 bytes as in docs/wire-formats.md §2; store and registry empty', async () => {
    const gw = { netns: testbed.gatewayNs };
    const dev = { netns: testbed.deviceNs };
    const server = await startServer([], gw);
    procs.push(server.proc);
    const store = `sqlite:${join(dir, 'l2.db')}`;
    const gateway = await startGateway(
      ['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', 'gw-l2', '--store', store, '--authorization', 'open', '--no-udp', '--l2-interface', testbed.gatewayIf],
      gw,
    );
    procs.push(gateway.proc);

    const started = Date.now();
    const devices = Array.from({ length: 20 }, (_, i) => ({ app: 500 + i, mac: `02:00:00:00:e0:${(i + 1).toString(16).padStart(2, '0')}` }));
    const common = (mac: string) => ['--link', 'l2', '--interface', testbed.deviceIf, '--gateway-mac', testbed.gatewayMac, '--mac', mac, '--timeout-ms', '2000', '--retries', '3'];
    const regs = await Promise.all(devices.map((d) => runDevice(['register', ...common(d.mac), '--app-id', String(d.app)], 60_000, dev)));
    const rids = regs.map((r, i) => {
      expect(r.code).toBe(0);
      const m = new RegExp(`^1100a0${hex16(devices[i]!.app)}2108([0-9a-f]{16})${LIFETIME_IE}$`).exec(String(r.line.hex));
      expect(m).not.toBeNull();
      return m![1]!;
    });
    const rows = (await runGatewayCli(['devices', 'list', '--store', store, '--json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(20);
    expect(new Set(rows.map((r) => r.layer2Id))).toEqual(new Set(devices.map((d) => d.mac.replace(/:/g, ''))));
    expect(rows.every((r) => r.link === 'l2' && r.state === 'REGISTERED')).toBe(true);
    expect(await registryIn(server.port, gw)).toHaveLength(21);

    const deregs = await Promise.all(devices.map((d, i) => runDevice(['deregister', ...common(d.mac), '--registration-id', rids[i]!], 60_000, dev)));
    deregs.forEach((r, i) => {
      expect(r.code).toBe(0);
      expect(r.line.hex).toBe(`1300a0${hex16(devices[i]!.app)}2108${rids[i]}`);
    });
    const elapsed = Date.now() - started;
    console.log(`L2 e2e: 20 devices registered and de-registered over veth in ${elapsed} ms (device processes included)`);
    expect((await runGatewayCli(['devices', 'list', '--store', store, '--json'])).stdout.trim()).toBe('');
    expect(await registryIn(server.port, gw)).toEqual(['gw-l2']);

    // a device on another MAC cannot de-register someone else's registration (C08 over L2)
    const again = await runDevice(['register', ...common(devices[0]!.mac), '--app-id', String(devices[0]!.app)], 60_000, dev);
    const rid = String(again.line.registrationId);
    const thief = await runDevice(['deregister', ...common('02:00:00:00:ee:ee'), '--registration-id', rid], 60_000, dev);
    expect(thief.line).toMatchObject({ result: 'FAILURE', failureReason: 'NOT_AUTHORISED' });
    expect(thief.code).toBe(1);

    expect(await gateway.proc.stop('SIGTERM')).toBe(0);
  });
});
