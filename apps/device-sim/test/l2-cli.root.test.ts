/**
 * The built `device` CLI over real frames (root only): one network namespace holds the device end
 * of a veth pair, the root namespace holds the other end, where this Jest process runs an
 * L2DeviceLink over AfPacketFrameSocket playing the gateway. The CLI runs inside the namespace
 * (`ip netns exec`). The namespace (and with it the veth pair) is always removed in afterAll.
 * Without root the suite prints why and skips; the missing-interface case needs no privilege.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { ApplicationId, DeviceRequest, Layer2Id, RegistrationId } from '@msgin5g/core';
import { L2DeviceLink } from '@msgin5g/l2-device-link';
import { AfPacketFrameSocket } from '@msgin5g/raw-ethernet';
import { dropNetRawUnavailable, itUnless, runProcess, withoutNetRaw, type RunResult } from '@msgin5g/test-support';

const MAIN = join(__dirname, '..', 'dist', 'main.js');
const GW_MAC = '02:00:00:00:00:01';
const DEV_MAC = '02:00:00:00:aa:01';

/** Runs `argv` to its exit (SIGKILL after 15 s). */
const run = (argv: string[]): Promise<RunResult> => runProcess(argv[0] as string, argv.slice(1), { timeoutMs: 15_000 });

function jsonLine(r: RunResult): Record<string, unknown> {
  const lines = r.stdout.split('\n').filter((l) => l.length > 0);
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] as string) as Record<string, unknown>;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
}

/** Deletes `m5dev-<pid>` namespaces of test runs that were killed (their pid is gone). */
function removeStaleNamespaces(): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const pid = Number(/^m5dev-(\d+)$/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as { code?: string }).code === 'ESRCH') spawnSync('ip', ['netns', 'del', name], { timeout: 5000 });
    }
  }
}

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: AF_PACKET sockets and network namespaces need root';
  const r = spawnSync('ip', ['-V']);
  if (r.error !== undefined || r.status !== 0) return 'iproute2 `ip` is not available';
  return undefined;
}

const why = unavailable();
if (why !== undefined) console.log(`device CLI real-frame tests skipped: ${why}`);
const describeRoot = why === undefined ? describe : describe.skip;
if (why !== undefined) {
  // The reason also names a skipped test, so it shows in every report, not only in console output.
  describe('device CLI --link l2 over real frames (root)', () => {
    it.skip(`skipped: ${why}`, () => {});
  });
}

it('--link l2 on a missing interface prints {"error":"BIND",…,"code":"ENODEV"} and exits 2 (no privilege needed)', async () => {
  const r = await run([process.execPath, MAIN, 'register', '--link', 'l2', '--interface', 'm5-nodev0', '--gateway-mac', GW_MAC, '--app-id', '1']);
  expect(r.code).toBe(2);
  expect(jsonLine(r)).toMatchObject({ error: 'BIND', interface: 'm5-nodev0', gatewayMac: GW_MAC, code: 'ENODEV', message: expect.stringContaining('no network interface named "m5-nodev0"') });
});

describeRoot('device CLI --link l2 over a veth pair into a network namespace (root)', () => {
  const ns = `m5dev-${process.pid}`;
  const gwIf = `m5g${process.pid}`.slice(0, 15);
  let link: L2DeviceLink | undefined;
  const requests: Array<{ request: DeviceRequest; from: Layer2Id }> = [];

  beforeAll(async () => {
    removeStaleNamespaces();
    ip(['netns', 'add', ns]);
    ip(['link', 'add', gwIf, 'address', GW_MAC, 'type', 'veth', 'peer', 'name', 'vdev', 'netns', ns, 'address', DEV_MAC]);
    ip(['link', 'set', gwIf, 'up']);
    ip(['-n', ns, 'link', 'set', 'vdev', 'up']);
    const l = new L2DeviceLink({ socket: new AfPacketFrameSocket({ interfaceName: gwIf, etherType: 0x88b5 }) });
    link = l;
    await l.start({
      onRequest: (request, from) => {
        requests.push({ request, from });
        void l.send(
          from,
          request.kind === 'REGISTRATION_REQUEST'
            ? { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: '0011223344556677' as RegistrationId, applicationId: request.applicationId }
            : { kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'UNKNOWN_REGISTRATION_ID' },
        );
      },
      onProtocolError: () => {},
    });
  }, 15_000);

  afterAll(async () => {
    try {
      await link?.stop();
    } finally {
      // Deleting the namespace deletes vdev and with it its peer in the root namespace.
      spawnSync('ip', ['netns', 'del', ns], { timeout: 5000 });
      spawnSync('ip', ['link', 'del', gwIf], { timeout: 5000 }); // already gone; harmless
    }
    expect(spawnSync('ip', ['link', 'show', gwIf]).status).not.toBe(0);
  });

  const device = (args: string[]) => run(['ip', 'netns', 'exec', ns, process.execPath, MAIN, ...args]);

  it('register prints the REGISTRATION RESPONSE with the interface MAC as Layer-2 ID and exits 0', async () => {
    const r = await device(['register', '--link', 'l2', '--interface', 'vdev', '--gateway-mac', GW_MAC, '--app-id', '42']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(jsonLine(r)).toEqual({
      type: 'REGISTRATION_RESPONSE',
      result: 'SUCCESS',
      applicationId: 42,
      registrationId: '0011223344556677',
      layer2Id: '02000000aa01',
      hex: '1100a0002a21080011223344556677',
    });
    expect(requests).toEqual([{ request: { kind: 'REGISTRATION_REQUEST', applicationId: 42 as ApplicationId }, from: '02000000aa01' }]);
  });

  it('deregister from --mac (added to the interface filter) gets its FAILURE answer and exits 1', async () => {
    const r = await device(['deregister', '--link', 'l2', '--interface', 'vdev', '--gateway-mac', GW_MAC, '--mac', '02:00:00:00:aa:99', '--registration-id', '0011223344556677']);
    expect(r.code).toBe(1);
    expect(jsonLine(r)).toEqual({ type: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'UNKNOWN_REGISTRATION_ID', layer2Id: '02000000aa99', hex: '1301220101' });
    expect(requests[requests.length - 1]?.from).toBe('02000000aa99');
  });

  // Still root, so it reads the checkout wherever it is (a clone in a 0700 folder too), but
  // without CAP_NET_RAW, so the AF_PACKET socket is refused.
  const itDropNetRaw = itUnless(why === undefined ? dropNetRawUnavailable() : undefined, 'EPERM case of the device CLI');
  itDropNetRaw('without privilege (CAP_NET_RAW dropped with setpriv) prints {"error":"BIND",…,"code":"EPERM"} and exits 2', async () => {
    const r = await run(['ip', 'netns', 'exec', ns, ...withoutNetRaw([process.execPath, MAIN, 'register', '--link', 'l2', '--interface', 'vdev', '--gateway-mac', GW_MAC, '--app-id', '1'])]);
    expect(r.code).toBe(2);
    expect(jsonLine(r)).toMatchObject({ error: 'BIND', interface: 'vdev', code: 'EPERM', message: expect.stringContaining('AF_PACKET needs root or CAP_NET_RAW') });
  });
});
