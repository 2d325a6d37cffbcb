/**
 * Serial link end to end (docs/wire-formats.md §3.4): the reference server and the gateway run as
 * processes; the gateway serves two socat pty pairs with `--serial-path` (one matched by the
 * authorization list's `serial:…/ttyM5*` pattern, one not) and a UDP port. Devices: raw SLIP-framed
 * octets written to the other end of a pair, and the device simulator CLI (`--link serial`).
 * socat is ended and started again on the same paths: the gateway logs it, keeps serving a UDP
 * device meanwhile, and serves the serial device again once it has reopened the port.
 * Without socat the test is skipped, saying why.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialDevice } from '@msgin5g/device-sim';
import { runDevice, runGatewayCli, startGateway, startServer, type JsonLineProcess } from '../../src/demo/processes';
import { RawDevice } from './raw-device';

const noSocat = (() => {
  const r = spawnSync('socat', ['-V'], { stdio: 'ignore', timeout: 5000 });
  return r.error !== undefined || r.status !== 0 ? 'socat is not installed (apt-get install socat)' : undefined;
})();
if (noSocat !== undefined) console.log(`serial end-to-end tests skipped: ${noSocat}`);
const describeIfSocat = noSocat === undefined ? describe : describe.skip;

async function waitFor(what: string, done: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A socat pty pair: `gw` for the gateway, `dev` for the device. Ended with SIGTERM, which removes its links. */
class PtyPair {
  private child: ChildProcess | undefined;
  constructor(
    readonly gw: string,
    readonly dev: string,
  ) {}
  async start(): Promise<this> {
    const child = spawn('socat', [`pty,raw,echo=0,link=${this.gw}`, `pty,raw,echo=0,link=${this.dev}`], { stdio: 'ignore' });
    this.child = child;
    await waitFor(`socat's links ${this.gw}, ${this.dev}`, () => child.exitCode !== null || (existsSync(this.gw) && existsSync(this.dev)));
    if (child.exitCode !== null) throw new Error(`socat exited ${child.exitCode}`);
    return this;
  }
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    await waitFor('socat to remove its links', () => !existsSync(this.gw) && !existsSync(this.dev), 3000);
  }
}

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * One SLIP frame (RFC 1055) around `hex`, escaped by hand: END 0xC0 → ESC 0xDB, ESC_END 0xDC;
 * ESC 0xDB → ESC, ESC_ESC 0xDD. A Registration ID is random, so 1 in ~16 holds one of the two.
 */
function slipFrameOf(hex: string): Buffer {
  const out = [0xc0];
  for (const b of Buffer.from(hex, 'hex')) {
    if (b === 0xc0) out.push(0xdb, 0xdc);
    else if (b === 0xdb) out.push(0xdb, 0xdd);
    else out.push(b);
  }
  out.push(0xc0);
  return Buffer.from(out);
}

describeIfSocat(`serial link end to end (gateway and server as processes, socat pty pairs)${noSocat === undefined ? '' : ` (skipped: ${noSocat})`}`, () => {
  let dir: string;
  const procs: JsonLineProcess[] = [];
  const pairs: PtyPair[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-serial-'));
  });
  afterAll(async () => {
    for (const p of procs.splice(0)) await p.stop('SIGKILL', 2000);
    for (const p of pairs.splice(0)) await p.kill().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('register / deregister over SLIP (raw octets and the simulator), NOT_AUTHORISED outside the pattern, and a port that goes away and comes back', async () => {
    const a = await new PtyPair(join(dir, 'ttyM5A0'), join(dir, 'devA')).start();
    pairs.push(a);
    const b = await new PtyPair(join(dir, 'other0'), join(dir, 'devB')).start();
    pairs.push(b);
    const list = join(dir, 'authorization.yaml');
    writeFileSync(list, `devices:\n  - layer2Id: "serial:${dir}/ttyM5*"\n    applicationIds: [42, 43]\n  - layer2Id: 127.0.0.1\n    applicationIds: "*"\n`);

    const server = await startServer();
    procs.push(server.proc);
    const store = `sqlite:${join(dir, 'serial.db')}`;
    const gw = await startGateway([
      '--server', `coap://127.0.0.1:${server.port}/msgin5g`,
      '--ue-service-id', 'gw-serial',
      '--serial-path', a.gw,
      '--serial-path', b.gw,
      '--udp-host', '127.0.0.1',
      '--udp-port', '0',
      '--store', store,
      '--authorization', list,
      '--deadline-ms', '5000',
    ]);
    procs.push(gw.proc);
    const aId = `serial:${a.gw}`;
    const bId = `serial:${b.gw}`;
    expect(gw.proc.lines.filter((l) => l.msg === 'device link listening').map((l) => [l.link, l.endpoint])).toEqual(
      expect.arrayContaining([
        ['serial', `${aId} 115200 8N1`],
        ['serial-2', `${bId} 115200 8N1`],
      ]),
    );

    // 1. Raw SLIP octets on A: REGISTRATION REQUEST (Application ID 42), then DE-REGISTRATION REQUEST.
    const devA = await SerialDevice.open({ path: a.dev });
    let rid: string;
    try {
      await devA.sendRaw(slipFrameOf('10002a'));
      const reg = hexOf((await devA.nextMessage(10_000)).bytes);
      const m = /^1100a0002a2108([0-9a-f]{16})240400015180$/.exec(reg);
      expect(m).not.toBeNull();
      rid = m![1]!;
      const rows = (await runGatewayCli(['devices', 'list', '--store', store, '--json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(rows).toEqual([expect.objectContaining({ registrationId: rid, applicationId: 42, link: 'serial', layer2Id: aId, state: 'REGISTERED' })]);
      await devA.sendRaw(slipFrameOf(`1208${rid}`));
      await expect(devA.nextMessage(10_000).then((f) => hexOf(f.bytes))).resolves.toBe(`1300a0002a2108${rid}`);
    } finally {
      await devA.close();
    }

    // 2. The simulator CLI on A: register, then deregister with the Registration ID it got.
    const r1 = await runDevice(['register', '--link', 'serial', '--serial-path', a.dev, '--app-id', '43', '--timeout-ms', '2000', '--retries', '2']);
    expect(r1.code).toBe(0);
    expect(r1.line).toMatchObject({ type: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 43, layer2Id: null, port: a.dev });
    const rid2 = String(r1.line.registrationId);
    const d1 = await runDevice(['deregister', '--link', 'serial', '--serial-path', a.dev, '--registration-id', rid2, '--timeout-ms', '2000', '--retries', '2']);
    expect(d1.code).toBe(0);
    expect(d1.line).toMatchObject({ type: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 43, registrationId: rid2 });

    // 3. B is served but not authorised: its path does not match serial:…/ttyM5*.
    const devB = await SerialDevice.open({ path: b.dev });
    try {
      await devB.sendRaw(slipFrameOf('10002a'));
      await expect(devB.nextMessage(10_000).then((f) => hexOf(f.bytes))).resolves.toBe('1101a0002a220102');
    } finally {
      await devB.close();
    }

    // 4. A's line goes away: logged; a UDP device is served meanwhile; A is served after the reopen.
    await a.kill();
    await gw.proc.waitFor((l) => l.msg === 'serial port lost; reopening it with backoff (sends fail meanwhile)' && l.layer2Id === aId, 'serial port lost', 5000);
    const udp = await RawDevice.open();
    try {
      udp.send('100007', gw.udpPort);
      const ru = /^1100a000072108([0-9a-f]{16})240400015180$/.exec(await udp.next());
      expect(ru).not.toBeNull();
      udp.send(`1208${ru![1]}`, gw.udpPort);
      await expect(udp.next()).resolves.toBe(`1300a000072108${ru![1]}`);
    } finally {
      await udp.close();
    }
    expect(gw.proc.lines.some((l) => l.msg === 'serial port reopened')).toBe(false); // still down
    await a.start();
    await gw.proc.waitFor((l) => l.msg === 'serial port reopened' && l.layer2Id === aId, 'serial port reopened', 10_000);
    const r2 = await runDevice(['register', '--link', 'serial', '--serial-path', a.dev, '--app-id', '42', '--timeout-ms', '2000', '--retries', '2']);
    expect(r2.code).toBe(0);
    expect(r2.line).toMatchObject({ type: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 42 });

    expect(gw.proc.child.exitCode).toBeNull();
    expect(await gw.proc.stop('SIGTERM')).toBe(0);
    expect(gw.proc.lines.find((l) => l.msg === 'serial device link stopped' && String(l.endpoint).startsWith(aId))).toMatchObject({ portLost: 1, reopened: 1 });
  });
});
