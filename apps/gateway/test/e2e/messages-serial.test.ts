/**
 * Messages through the gateway over the serial link end to end (docs/wire-formats.md §3.4, §5): the
 * reference server and the gateway (SQLite file) run as processes; the gateway serves one end of a
 * socat pty pair and a UDP port. The serial device writes SLIP frames it escapes by hand (RFC 1055)
 * and reads with serialport's own SLIP decoder, an implementation independent of the gateway's;
 * Message IDs and payloads hold 0xC0 and 0xDB, so an unescaped octet breaks a frame and the test.
 * A raw UDP device is the peer of the serial one. Without socat the test is skipped, saying why.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplicationId, MessageId } from '@msgin5g/core';
import { SerialDevice } from '@msgin5g/device-sim';
import { decodeM5, encodeM5, type M5Message } from '@msgin5g/protocol';
import { runServerCli, startGateway, startServer, type JsonLineProcess } from '../../src/demo/processes';
import { RawDevice } from './raw-device';
import { asInbox, hex, nextUdpUnit } from './message-helpers';

const noSocat = (() => {
  const r = spawnSync('socat', ['-V'], { stdio: 'ignore', timeout: 5000 });
  return r.error !== undefined || r.status !== 0 ? 'socat is not installed (apt-get install socat)' : undefined;
})();
// stderr, not console: Jest drops the console output of a fully skipped suite when several suites run.
if (noSocat !== undefined) process.stderr.write(`serial message end-to-end tests skipped: ${noSocat}\n`);
const describeIfSocat = noSocat === undefined ? describe : describe.skip;

const GW = 'gw-serial-msg';

/**
 * One SLIP frame (RFC 1055) around `unit`, escaped by hand: END 0xC0 → ESC 0xDB, ESC_END 0xDC;
 * ESC 0xDB → ESC, ESC_ESC 0xDD; an END before the frame flushes line noise (§3.4).
 */
function slipFrameOf(unit: Uint8Array): Buffer {
  const out = [0xc0];
  for (const b of unit) {
    if (b === 0xc0) out.push(0xdb, 0xdc);
    else if (b === 0xdb) out.push(0xdb, 0xdd);
    else out.push(b);
  }
  out.push(0xc0);
  return Buffer.from(out);
}

async function waitFor(what: string, done: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A socat pty pair: `gw` for the gateway, `dev` for the device; `kill()` ends socat (SIGTERM removes its links). */
async function ptyPair(gw: string, dev: string): Promise<{ gw: string; dev: string; kill(): Promise<void> }> {
  const child: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${gw}`, `pty,raw,echo=0,link=${dev}`], { stdio: 'ignore' });
  await waitFor(`socat's links ${gw}, ${dev}`, () => child.exitCode !== null || (existsSync(gw) && existsSync(dev)));
  if (child.exitCode !== null) throw new Error(`socat exited ${child.exitCode}`);
  return {
    gw,
    dev,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The next frame on the line, decoded (a frame that does not decode fails the test, with its octets). */
async function nextUnit(device: SerialDevice, timeoutMs = 10_000): Promise<{ message: M5Message; bytes: Uint8Array }> {
  const frame = await device.nextMessage(timeoutMs);
  const decoded = decodeM5(frame.bytes);
  if (!decoded.ok) throw new Error(`the serial device got a frame that does not decode: ${hex(frame.bytes)} (${decoded.error.message})`);
  return { message: decoded.message, bytes: frame.bytes };
}

describeIfSocat(`messages through the gateway, serial link (processes, socat pty pair)${noSocat === undefined ? '' : ` (skipped: ${noSocat})`}`, () => {
  let dir: string;
  const procs: JsonLineProcess[] = [];
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-msg-serial-'));
  });
  afterAll(async () => {
    for (const p of procs.splice(0)) await p.stop('SIGKILL', 2000);
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a device on a pty sends to the AS (0x03 DELIVERED), gets a server send as 0x04 (resent until its 0x05, which becomes the report), and exchanges messages with reports with a UDP device', async () => {
    const pair = await ptyPair(join(dir, 'ttyM5S0'), join(dir, 'devS'));
    cleanups.push(() => pair.kill());
    const server = await startServer();
    procs.push(server.proc);
    const gw = await startGateway(['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', GW, '--serial-path', pair.gw, '--udp-host', '127.0.0.1', '--udp-port', '0', '--store', `sqlite:${join(dir, 'serial.db')}`, '--authorization', 'open', '--deadline-ms', '5000']);
    procs.push(gw.proc);
    const s = await SerialDevice.open({ path: pair.dev });
    cleanups.push(() => s.close());
    const b = await RawDevice.open();
    cleanups.push(() => b.close());
    const sAddress = `${GW}/serial:${pair.gw}/42`;

    // 1. Register Application ID 42 on the line.
    await s.sendRaw(slipFrameOf(encodeM5({ kind: 'REGISTRATION_REQUEST', applicationId: 42 as ApplicationId })));
    const reg = hex((await nextUnit(s)).bytes);
    expect(reg).toMatch(/^1100a0002a2108[0-9a-f]{16}240400015180$/);

    // 2. To the AS: the server keeps it in the AS inbox at once, so accepted and delivered (§5.2: 0x23 01 00).
    const m1 = 'c0db0000000000000000000000c0db01' as MessageId;
    await s.sendRaw(slipFrameOf(encodeM5({ kind: 'MESSAGE_SENDING_REQUEST', targetAddress: 'as-demo', messageId: m1, payload: Uint8Array.from([0xc0, 0xdb, 0x01]), applicationId: 42 as ApplicationId, deliveryStatusRequired: false, targetType: 'AS' })));
    expect(hex((await nextUnit(s)).bytes)).toBe(`03${m1}00a0002a230100`);
    expect(await asInbox(server.port)).toEqual([expect.objectContaining({ messageType: 'MSG', oriAddr: sAddress, destAddr: 'as-demo', msgId: m1, payloadHex: 'c0db01' })]);

    // 3. From the AS with a report asked: a 0x04 on the line, again 2 s later while unacknowledged; the 0x05 ends it.
    const m2 = 'dbc00000000000000000000000dbc002';
    const send = runServerCli(['send', '--server', `coap://127.0.0.1:${server.port}`, '--to', sAddress, '--payload', 'hex:dbc0dbc0', '--msg-id', m2, '--report', '--timeout-s', '25']);
    const first = await nextUnit(s);
    expect(first.message).toEqual({ kind: 'MESSAGE_RECEIVING', originatorAddress: 'as-demo', messageId: m2, payload: Uint8Array.from([0xdb, 0xc0, 0xdb, 0xc0]), applicationId: 42, deliveryStatusRequired: true, originatorType: 'AS' });
    const firstAt = Date.now();
    const resent = await nextUnit(s, 6000);
    expect(Date.now() - firstAt).toBeGreaterThan(1000);
    expect(hex(resent.bytes)).toBe(hex(first.bytes));
    await s.sendRaw(slipFrameOf(encodeM5({ kind: 'MESSAGE_RECEIVING_ACK', messageId: m2 as MessageId, applicationId: 42 as ApplicationId })));
    const sent = await send;
    expect(sent.code).toBe(0);
    expect(await asInbox(server.port)).toEqual(expect.arrayContaining([expect.objectContaining({ messageType: 'IMDN', oriAddr: sAddress, destAddr: 'as-demo', msgId: m2, delivSt: 'REPT_DELY_SUCCESS' })]));

    // 4. A UDP device sends to the serial one with a report asked: 0x04 on the line, the serial 0x05, the 0x06 DELIVERED over UDP.
    b.send(hex(encodeM5({ kind: 'REGISTRATION_REQUEST', applicationId: 43 as ApplicationId })), gw.udpPort);
    expect(await nextUdpUnit(b)).toMatchObject({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 43 });
    const bAddress = `${GW}/127.0.0.1:${b.port}/43`;
    const m3 = '000000000000000000000000c0c0db03' as MessageId;
    b.send(hex(encodeM5({ kind: 'MESSAGE_SENDING_REQUEST', targetAddress: sAddress, messageId: m3, payload: Buffer.from('over the wire'), applicationId: 43 as ApplicationId, deliveryStatusRequired: true, targetType: 'UE' })), gw.udpPort);
    expect(await nextUdpUnit(b)).toEqual({ kind: 'MESSAGE_SENDING_RESPONSE', messageId: m3, result: 'ACCEPTED', applicationId: 43, deliveryStatus: 'STORED' });
    expect((await nextUnit(s)).message).toEqual({ kind: 'MESSAGE_RECEIVING', originatorAddress: bAddress, messageId: m3, payload: new Uint8Array(Buffer.from('over the wire')), applicationId: 42, deliveryStatusRequired: true, originatorType: 'UE' });
    await s.sendRaw(slipFrameOf(encodeM5({ kind: 'MESSAGE_RECEIVING_ACK', messageId: m3, applicationId: 42 as ApplicationId })));
    expect(await nextUdpUnit(b, 15_000)).toEqual({ kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: sAddress, messageId: m3, deliveryStatus: 'DELIVERED', applicationId: 43 });

    // 5. The serial device sends to the UDP one with a report asked: 0x03 STORED then, after the UDP 0x05, the 0x06 on the line.
    const m4 = 'db00000000000000000000000000c004' as MessageId;
    await s.sendRaw(slipFrameOf(encodeM5({ kind: 'MESSAGE_SENDING_REQUEST', targetAddress: bAddress, messageId: m4, payload: Uint8Array.from([0xc0]), applicationId: 42 as ApplicationId, deliveryStatusRequired: true, targetType: 'UE' })));
    expect(hex((await nextUnit(s)).bytes)).toBe(`03${m4}00a0002a230102`);
    expect(await nextUdpUnit(b)).toEqual({ kind: 'MESSAGE_RECEIVING', originatorAddress: sAddress, messageId: m4, payload: Uint8Array.from([0xc0]), applicationId: 43, deliveryStatusRequired: true, originatorType: 'UE' });
    b.send(hex(encodeM5({ kind: 'MESSAGE_RECEIVING_ACK', messageId: m4, applicationId: 43 as ApplicationId })), gw.udpPort);
    expect((await nextUnit(s, 15_000)).message).toEqual({ kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: bAddress, messageId: m4, deliveryStatus: 'DELIVERED', applicationId: 42 });

    // Nothing more on the line: no resend of an acknowledged message, no second report.
    await expect(s.nextMessage(3000)).rejects.toMatchObject({ reason: 'TIMEOUT' });
    expect(gw.proc.child.exitCode).toBeNull();
    expect(await gw.proc.stop('SIGTERM')).toBe(0);
  });

  it('a message queued for the serial device survives kill -9 of the gateway and reaches it after the restart; a de-registration ends the next one with a failure report', async () => {
    const pair = await ptyPair(join(dir, 'ttyM5K0'), join(dir, 'devK'));
    cleanups.push(() => pair.kill());
    const server = await startServer();
    procs.push(server.proc);
    const args = ['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', GW, '--serial-path', pair.gw, '--no-udp', '--store', `sqlite:${join(dir, 'kill.db')}`, '--authorization', 'open', '--deadline-ms', '5000'];
    const gw1 = await startGateway(args);
    procs.push(gw1.proc);
    const s = await SerialDevice.open({ path: pair.dev });
    cleanups.push(() => s.close());
    const sAddress = `${GW}/serial:${pair.gw}/42`;
    await s.sendRaw(slipFrameOf(encodeM5({ kind: 'REGISTRATION_REQUEST', applicationId: 42 as ApplicationId })));
    const reg = /^1100a0002a2108([0-9a-f]{16})240400015180$/.exec(hex((await nextUnit(s)).bytes));
    expect(reg).not.toBeNull();
    const registrationId = reg![1]!;

    const m1 = 'c0c0000000000000000000000000db01';
    expect((await runServerCli(['send', '--server', `coap://127.0.0.1:${server.port}`, '--to', sAddress, '--payload', 'survive', '--msg-id', m1])).code).toBe(0);
    // The gateway took it (it answered the server after its commit): the device sees the first copy, and does not acknowledge it.
    expect((await nextUnit(s)).message).toMatchObject({ kind: 'MESSAGE_RECEIVING', messageId: m1 });
    await gw1.proc.stop('SIGKILL', 2000);
    procs.splice(procs.indexOf(gw1.proc), 1);
    // Drop whatever copy was still on its way before the kill.
    await s.nextMessage(500).catch(() => undefined);

    const gw2 = await startGateway(args);
    procs.push(gw2.proc);
    // Read back from the file and sent again on the reopened port.
    const again = await nextUnit(s, 40_000);
    expect(again.message).toEqual({ kind: 'MESSAGE_RECEIVING', originatorAddress: 'as-demo', messageId: m1, payload: new Uint8Array(Buffer.from('survive')), applicationId: 42, deliveryStatusRequired: false, originatorType: 'AS' });
    await s.sendRaw(slipFrameOf(encodeM5({ kind: 'MESSAGE_RECEIVING_ACK', messageId: m1 as MessageId, applicationId: 42 as ApplicationId })));

    // A second message, with a report, never acknowledged; the device de-registers: the report says failed.
    const m2 = 'c0c0000000000000000000000000db02';
    const pending = runServerCli(['send', '--server', `coap://127.0.0.1:${server.port}`, '--to', sAddress, '--payload', 'too late', '--msg-id', m2, '--report', '--timeout-s', '30'], 40_000);
    for (let i = 0; ; i++) {
      // Copies of m1 sent before the ack may still come first; at most a few.
      const u = await nextUnit(s, 15_000);
      if (u.message.kind === 'MESSAGE_RECEIVING' && u.message.messageId === m2) break;
      expect(u.message).toMatchObject({ kind: 'MESSAGE_RECEIVING', messageId: m1 });
      expect(i).toBeLessThan(3);
    }
    await s.sendRaw(slipFrameOf(Buffer.from(`1208${registrationId}`, 'hex')));
    for (let i = 0; ; i++) {
      const u = await nextUnit(s, 15_000);
      if (u.message.kind === 'DEREGISTRATION_RESPONSE') {
        expect(hex(u.bytes)).toBe(`1300a0002a2108${registrationId}`);
        break;
      }
      expect(u.message).toMatchObject({ kind: 'MESSAGE_RECEIVING', messageId: m2 }); // a resend crossing the request
      expect(i).toBeLessThan(3);
    }
    const ended = await pending;
    expect(ended.code).toBe(1); // a failure report, not a timeout
    expect(await asInbox(server.port)).toEqual(expect.arrayContaining([expect.objectContaining({ messageType: 'IMDN', oriAddr: sAddress, destAddr: 'as-demo', msgId: m2, delivSt: 'REPT_DELY_FAILED' })]));
    expect(await gw2.proc.stop('SIGTERM')).toBe(0);
  });
});
