/**
 * `device send` / `device listen --link serial` on a socat pty pair (docs/wire-formats.md §3.4, §5),
 * the gateway a raw serialport on the other end with its own few lines of SLIP (RFC 1055), so the
 * device's (serialport's `SlipEncoder`/`SlipDecoder`) is checked by another implementation.
 * Skipped, saying why, without socat.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import type { ApplicationId, MessageId } from '@msgin5g/core';
import { encodeM5 } from '@msgin5g/protocol';
import { runCli, toHex } from '@msgin5g/device-sim';

const noSocat = (() => {
  const r = spawnSync('socat', ['-V'], { stdio: 'ignore', timeout: 5000 });
  return r.error !== undefined || r.status !== 0 ? 'socat is not installed (apt-get install socat)' : undefined;
})();
if (noSocat !== undefined) console.warn(`device-sim send/listen serial tests skipped: ${noSocat}`);

const MID = '000102030405060708090a0b0c0d0e0f';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, done: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** RFC 1055 framing: END, the unit with END and ESC escaped, END. */
function slip(unit: Uint8Array): Buffer {
  const out = [0xc0];
  for (const b of unit) out.push(...(b === 0xc0 ? [0xdb, 0xdc] : b === 0xdb ? [0xdb, 0xdd] : [b]));
  out.push(0xc0);
  return Buffer.from(out);
}

/** The gateway's end: collects the frames the device sends, answers with `answer(unit)`. */
async function gatewayEnd(path: string, answer: (unit: Uint8Array) => Uint8Array[] = () => []) {
  const port = new SerialPort({ path, baudRate: 115_200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const units: Uint8Array[] = [];
  let frame: number[] = [];
  let escaped = false;
  port.on('data', (chunk: Buffer) => {
    for (const b of chunk) {
      if (b === 0xc0) {
        if (frame.length > 0) {
          const unit = Uint8Array.from(frame);
          units.push(unit);
          for (const a of answer(unit)) port.write(slip(a));
        }
        frame = [];
      } else if (escaped) {
        frame.push(b === 0xdc ? 0xc0 : b === 0xdd ? 0xdb : b);
        escaped = false;
      } else if (b === 0xdb) escaped = true;
      else frame.push(b);
    }
  });
  return {
    units,
    send: (unit: Uint8Array) => new Promise<void>((resolve, reject) => port.write(slip(unit), (err) => (err ? reject(err) : resolve()))),
    close: () => new Promise<void>((resolve) => port.close(() => resolve())),
  };
}

async function ptyPair(): Promise<{ gw: string; dev: string; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'msgin5g-sim-msg-'));
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

const describePty = noSocat === undefined ? describe : describe.skip;

describePty(`device send / listen --link serial (socat pty pair)${noSocat === undefined ? '' : ` (skipped: ${noSocat})`}`, () => {
  let pty: Awaited<ReturnType<typeof ptyPair>>;
  beforeEach(async () => {
    pty = await ptyPair();
  });
  afterEach(async () => pty.close());

  it('send: the request in a SLIP frame (a 0xC0 in the Message ID escaped), the response printed with the device port, exit 0', async () => {
    const id = `c0db${MID.slice(4)}`;
    const gw = await gatewayEnd(pty.gw, (u) => (u[0] === 0x01 ? [Uint8Array.from([0x03, ...u.subarray(7, 23), 0x00])] : []));
    try {
      const out: string[] = [];
      const code = await runCli(['send', '--link', 'serial', '--serial-path', pty.dev, '--to', 'ue-77', '--payload', 'hi', '--message-id', id, '--timeout-ms', '1000', '--retries', '1'], { out: (l) => out.push(l), err: () => undefined });
      expect(code).toBe(0);
      expect(gw.units.map(toHex)).toEqual([`0105${'75652d3737'}${id}00026869`]);
      expect(JSON.parse(out[0]!)).toEqual({ type: 'MESSAGE_SENDING_RESPONSE', messageId: id, result: 'ACCEPTED', layer2Id: null, hex: `03${id}00`, port: pty.dev });
    } finally {
      await gw.close();
    }
  });

  it('listen: prints the message once, acks each copy with 0x05 (the Application ID of the 0x04), exit 0', async () => {
    const gw = await gatewayEnd(pty.gw);
    try {
      const out: string[] = [];
      let err = '';
      const done = runCli(['listen', '--link', 'serial', '--serial-path', pty.dev, '--count', '2', '--timeout-s', '5'], { out: (l) => out.push(l), err: (t) => (err += t) });
      const unit = encodeM5({ kind: 'MESSAGE_RECEIVING', originatorAddress: 'ue-1001', messageId: MID as MessageId, payload: Uint8Array.of(0xc0, 0xdb), applicationId: 42 as ApplicationId, deliveryStatusRequired: false, originatorType: 'UE' });
      for (let i = 0; i < 30 && gw.units.length === 0; i++) {
        await gw.send(unit);
        await sleep(100);
      }
      await gw.send(unit);
      await waitFor('two acks', () => gw.units.length >= 2);
      await gw.send(encodeM5({ kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: 'ue-77', messageId: 'ee'.repeat(16) as MessageId, deliveryStatus: 'DELIVERED' }));
      expect(await done).toBe(0);
      expect(out.map((l) => (JSON.parse(l) as Record<string, unknown>)['type'])).toEqual(['MESSAGE_RECEIVING', 'DELIVERY_REPORT_RECEIVING']);
      expect(JSON.parse(out[0]!)).toMatchObject({ messageId: MID, payloadHex: 'c0db', layer2Id: null, port: pty.dev });
      expect(new Set(gw.units.map(toHex))).toEqual(new Set([`05${MID}a0002a`]));
      expect(err).toMatch(/another copy/);
    } finally {
      await gw.close();
    }
  });
});
