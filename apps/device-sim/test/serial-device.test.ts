/**
 * SerialDevice and the CLI's `--link serial` on a socat pty pair, against a real SerialDeviceLink
 * whose handler plays the gateway (docs/wire-formats.md §3.4). The device's SLIP is serialport's
 * (`SlipEncoder`/`SlipDecoder`), the link's its own: each checks the other. Skipped, saying why,
 * without socat.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplicationId, DeviceRequest, DeviceResponse, Layer2Id, RegistrationId } from '@msgin5g/core';
import { SerialDeviceLink } from '@msgin5g/serial-device-link';
import { runCli, SerialDevice, slipEncode, toHex } from '@msgin5g/device-sim';

const noSocat = (() => {
  const r = spawnSync('socat', ['-V'], { stdio: 'ignore', timeout: 5000 });
  return r.error !== undefined || r.status !== 0 ? 'socat is not installed (apt-get install socat)' : undefined;
})();
if (noSocat !== undefined) console.warn(`device-sim serial tests skipped: ${noSocat}`);

async function waitFor(what: string, done: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** socat pty pair: the gateway end `gw`, the device end `dev`. Ended with SIGTERM (socat removes its links). */
async function ptyPair(): Promise<{ gw: string; dev: string; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'msgin5g-sim-serial-'));
  const gw = join(dir, 'gw');
  const dev = join(dir, 'dev');
  const child: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${gw}`, `pty,raw,echo=0,link=${dev}`], { stdio: 'ignore' });
  await waitFor('socat pty links', () => child.exitCode !== null || (existsSync(gw) && existsSync(dev)));
  return {
    gw,
    dev,
    close: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const RID = '0011223344556677' as RegistrationId;
const answerFor = (r: DeviceRequest): DeviceResponse =>
  r.kind === 'REGISTRATION_REQUEST'
    ? { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: RID, applicationId: r.applicationId }
    : { kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'UNKNOWN_REGISTRATION_ID' };

const describePty = noSocat === undefined ? describe : describe.skip;

describePty(`device simulator --link serial (socat pty pair)${noSocat === undefined ? '' : ` (skipped: ${noSocat})`}`, () => {
  let pty: Awaited<ReturnType<typeof ptyPair>>;
  let link: SerialDeviceLink;
  const seen: Array<{ request: DeviceRequest; from: Layer2Id }> = [];
  let answer = true;

  beforeEach(async () => {
    pty = await ptyPair();
    seen.length = 0;
    answer = true;
    link = new SerialDeviceLink({ path: pty.gw });
    await link.start({
      onRequest: (request, from) => {
        seen.push({ request, from });
        if (answer) void link.send(from, answerFor(request));
      },
      onProtocolError: () => {},
    });
  });
  afterEach(async () => {
    await link.stop();
    await pty.close();
  });

  it('slipEncode (serialport SlipEncoder) writes END, the escaped unit, END', async () => {
    expect(toHex(await slipEncode(Uint8Array.from([0x12, 0x02, 0xc0, 0xdb])))).toBe('c01202dbdcdbddc0');
  });

  it('SerialDevice: a registration over the line, the gateway sees serial:<its path>', async () => {
    const device = await SerialDevice.open({ path: pty.dev });
    try {
      const ex = await device.exchange({ kind: 'REGISTRATION_REQUEST', applicationId: 42 as ApplicationId }, { timeoutMs: 1000, retries: 0 });
      expect(ex.message).toEqual({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: RID, applicationId: 42 });
      expect(toHex(ex.bytes)).toBe('1100a0002a21080011223344556677');
      expect(seen).toEqual([{ request: { kind: 'REGISTRATION_REQUEST', applicationId: 42 }, from: `serial:${pty.gw}` }]);
    } finally {
      await device.close();
    }
  });

  it('CLI register / deregister --link serial --serial-path: one JSON line each, layer2Id null, the device\'s port', async () => {
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: () => undefined };
    expect(await runCli(['register', '--link', 'serial', '--serial-path', pty.dev, '--app-id', '42', '--timeout-ms', '1000', '--retries', '0'], io)).toBe(0);
    expect(JSON.parse(out[0] as string)).toEqual({ type: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 42, registrationId: RID, layer2Id: null, hex: '1100a0002a21080011223344556677', port: pty.dev });
    expect(Object.keys(JSON.parse(out[0] as string))).toEqual(['type', 'result', 'applicationId', 'registrationId', 'layer2Id', 'hex', 'port']);
    expect(await runCli(['deregister', '--link', 'serial', '--serial-path', pty.dev, '--serial-baud', '9600', '--registration-id', RID, '--timeout-ms', '1000', '--retries', '0'], io)).toBe(1);
    expect(JSON.parse(out[1] as string)).toMatchObject({ type: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'UNKNOWN_REGISTRATION_ID', port: pty.dev });
    expect(seen.map((s) => s.request.kind)).toEqual(['REGISTRATION_REQUEST', 'DEREGISTRATION_REQUEST']);
  });

  it('no answer: resends the frame --retries times, then {"error":"TIMEOUT",…} and exit 2', async () => {
    answer = false;
    const out: string[] = [];
    const code = await runCli(['register', '--link', 'serial', '--serial-path', pty.dev, '--app-id', '7', '--timeout-ms', '100', '--retries', '2'], { out: (l) => out.push(l), err: () => undefined });
    expect(code).toBe(2);
    expect(JSON.parse(out[0] as string)).toEqual({ error: 'TIMEOUT', port: pty.dev, attempts: 3, timeoutMs: 100 });
    expect(seen).toHaveLength(3);
  });
});

describe('device simulator --link serial: usage', () => {
  const run = async (args: string[]) => {
    const out: string[] = [];
    let err = '';
    const code = await runCli(args, { out: (l) => out.push(l), err: (t) => (err += t) });
    return { code, out, err };
  };

  it('requires --serial-path, refuses the other links\' flags, and --serial-path elsewhere', async () => {
    expect(await run(['register', '--link', 'serial', '--app-id', '1'])).toMatchObject({ code: 2, err: expect.stringContaining("'--serial-path <path>' not specified") });
    expect(await run(['register', '--link', 'serial', '--serial-path', '/dev/ttyUSB0', '--gateway', '127.0.0.1:5690', '--app-id', '1'])).toMatchObject({ code: 2, err: expect.stringContaining('--gateway does not apply to --link serial') });
    expect(await run(['register', '--serial-path', '/dev/ttyUSB0', '--gateway', '127.0.0.1:5690', '--app-id', '1'])).toMatchObject({ code: 2, err: expect.stringContaining('--serial-path applies to --link serial only') });
    expect(await run(['register', '--link', 'serial', '--serial-path', '/dev/ttyUSB0', '--serial-baud', '0', '--app-id', '1'])).toMatchObject({ code: 2 });
  });

  it('a port that cannot be opened: {"error":"BIND",…} and exit 2', async () => {
    const r = await run(['register', '--link', 'serial', '--serial-path', '/nonexistent/ttyUSB0', '--app-id', '1']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out[0] as string)).toMatchObject({ error: 'BIND', port: '/nonexistent/ttyUSB0' });
  });
});
