/**
 * Messages through the gateway end to end (docs/wire-formats.md §5, docs/adr/0013), over loopback
 * with separate OS processes: the reference MSGin5G Server and the gateway (SQLite file, its
 * MSGin5G-1 inbox on a free port) run as their CLIs; devices are raw UDP sockets in this process,
 * so every unit they get is decoded here with `@msgin5g/protocol` and checked field by field.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplicationId, MessageId } from '@msgin5g/core';
import { decodeM5, encodeM5, type M5Message } from '@msgin5g/protocol';
import { freeUdpPorts, runServerCli, startGateway, startServer, type JsonLineProcess } from '../../src/demo/processes';
import { RawDevice } from './raw-device';
import { asInbox, hex } from './message-helpers';

const GW = 'gw-msg';
const messageId = (n: number): MessageId => n.toString(16).padStart(32, '0') as MessageId;

/** The next unit a device gets, decoded (the test fails on anything that does not decode). */
async function nextUnit(device: RawDevice, timeoutMs = 10_000): Promise<M5Message> {
  const bytes = Buffer.from(await device.next(timeoutMs), 'hex');
  const decoded = decodeM5(bytes);
  if (!decoded.ok) throw new Error(`device ${device.port} got a unit that does not decode: ${bytes.toString('hex')} (${decoded.error.message})`);
  return decoded.message;
}

/** Registers `app` from `device`; resolves its Registration ID and UE Service ID (the gateway's default form, §1). */
async function register(device: RawDevice, app: number, gatewayPort: number): Promise<{ registrationId: string; ueServiceId: string }> {
  device.send(hex(encodeM5({ kind: 'REGISTRATION_REQUEST', applicationId: app as ApplicationId })), gatewayPort);
  const answer = await nextUnit(device);
  if (answer.kind !== 'REGISTRATION_RESPONSE' || answer.result !== 'SUCCESS') throw new Error(`registration of ${app} failed: ${JSON.stringify(answer)}`);
  return { registrationId: answer.registrationId, ueServiceId: `${GW}/127.0.0.1:${device.port}/${app}` };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('messages through the gateway, UDP link (processes, SQLite file)', () => {
  let dir: string;
  const procs: JsonLineProcess[] = [];
  const devices: RawDevice[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-msg-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop('SIGKILL', 2000);
    await Promise.all(devices.splice(0).map((d) => d.close()));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function open(): Promise<RawDevice> {
    const d = await RawDevice.open();
    devices.push(d);
    return d;
  }

  it('device B sends to device A with a report: 0x03 STORED, A gets 0x04 (resent until its 0x05), B gets 0x06 DELIVERED; a repeat gets the same octets', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const gw = await startGateway(['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', GW, '--udp-host', '127.0.0.1', '--udp-port', '0', '--store', `sqlite:${join(dir, 'ab.db')}`, '--authorization', 'open', '--deadline-ms', '5000']);
    procs.push(gw.proc);
    const a = await open();
    const b = await open();
    const ra = await register(a, 42, gw.udpPort);
    const rb = await register(b, 43, gw.udpPort);

    const request = encodeM5({ kind: 'MESSAGE_SENDING_REQUEST', targetAddress: ra.ueServiceId, messageId: messageId(1), payload: Buffer.from('hello A'), applicationId: 43 as ApplicationId, deliveryStatusRequired: true, targetType: 'UE' });
    b.send(hex(request), gw.udpPort);
    const response = await b.next();
    // The server holds a message for a UE short of the device: accepted, delivery status "stored" (§5.2).
    expect(decodeM5(Buffer.from(response, 'hex'))).toEqual({ ok: true, message: { kind: 'MESSAGE_SENDING_RESPONSE', messageId: messageId(1), result: 'ACCEPTED', applicationId: 43, deliveryStatus: 'STORED' } });

    const first = await nextUnit(a);
    expect(first).toEqual({ kind: 'MESSAGE_RECEIVING', originatorAddress: rb.ueServiceId, messageId: messageId(1), payload: new Uint8Array(Buffer.from('hello A')), applicationId: 42, deliveryStatusRequired: true, originatorType: 'UE' });
    // Not acknowledged: the gateway sends it again after 2 s (§5.3), the same unit.
    const sentAt = Date.now();
    await expect(nextUnit(a, 5000)).resolves.toEqual(first);
    expect(Date.now() - sentAt).toBeGreaterThan(1000);
    a.send(hex(encodeM5({ kind: 'MESSAGE_RECEIVING_ACK', messageId: messageId(1), applicationId: 42 as ApplicationId })), gw.udpPort);

    // The ack is the link-level proof the gateway turns into a report (TS 23.554 §8.6.1 step 4a).
    await expect(nextUnit(b, 15_000)).resolves.toEqual({ kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: ra.ueServiceId, messageId: messageId(1), deliveryStatus: 'DELIVERED', applicationId: 43 });
    // No more copies after the ack (the next resend would have come 4 s after the second).
    await expect(a.poll(5000)).resolves.toBeUndefined();

    // A repeat of the same Message ID within 247 s: the same octets, no second message for A.
    b.send(hex(request), gw.udpPort);
    await expect(b.next()).resolves.toBe(response);
    await expect(a.poll(3000)).resolves.toBeUndefined();
  });

  it('a message from the server (server send --report) reaches the device; its ack becomes REPT_DELY_SUCCESS in the AS inbox; an unregistered recipient is refused', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const gw = await startGateway(['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', GW, '--udp-host', '127.0.0.1', '--udp-port', '0', '--store', `sqlite:${join(dir, 'as.db')}`, '--authorization', 'open', '--deadline-ms', '5000']);
    procs.push(gw.proc);
    const a = await open();
    const ra = await register(a, 7, gw.udpPort);

    const send = runServerCli(['send', '--server', `coap://127.0.0.1:${server.port}`, '--to', ra.ueServiceId, '--payload', 'hex:00ff10', '--report', '--timeout-s', '20']);
    const unit = await nextUnit(a);
    expect(unit).toMatchObject({ kind: 'MESSAGE_RECEIVING', originatorAddress: 'as-demo', payload: new Uint8Array([0x00, 0xff, 0x10]), applicationId: 7, deliveryStatusRequired: true, originatorType: 'AS' });
    if (unit.kind !== 'MESSAGE_RECEIVING') throw new Error('unreachable');
    a.send(hex(encodeM5({ kind: 'MESSAGE_RECEIVING_ACK', messageId: unit.messageId, applicationId: 7 as ApplicationId })), gw.udpPort);
    const sent = await send;
    expect(sent.code).toBe(0);
    const inbox = await asInbox(server.port);
    expect(inbox).toEqual(expect.arrayContaining([expect.objectContaining({ messageType: 'IMDN', oriAddr: ra.ueServiceId, destAddr: 'as-demo', msgId: unit.messageId, delivSt: 'REPT_DELY_SUCCESS' })]));

    const refused = await runServerCli(['send', '--server', `coap://127.0.0.1:${server.port}`, '--to', `${GW}/127.0.0.1:1/9`, '--payload', 'nobody']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('RECIPIENT_UNKNOWN');
  });

  it('the largest payload a MSGin5G-1 body carries (2,355 octets) goes device → device and AS → device whole; one more octet is PAYLOAD_TOO_LARGE', async () => {
    // Bodies over 1,280 octets pass coap-packet's limit on every hop (gateway → server, server → gateway inbox, server send).
    const server = await startServer();
    procs.push(server.proc);
    const gw = await startGateway(['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', GW, '--udp-host', '127.0.0.1', '--udp-port', '0', '--store', `sqlite:${join(dir, 'big.db')}`, '--authorization', 'open', '--deadline-ms', '5000']);
    procs.push(gw.proc);
    const a = await open();
    const b = await open();
    const ra = await register(a, 42, gw.udpPort);
    await register(b, 43, gw.udpPort);
    const big = Buffer.alloc(2355, 0xc3);
    b.send(hex(encodeM5({ kind: 'MESSAGE_SENDING_REQUEST', targetAddress: ra.ueServiceId, messageId: messageId(5), payload: big, applicationId: 43 as ApplicationId, deliveryStatusRequired: false, targetType: 'UE' })), gw.udpPort);
    await expect(nextUnit(b)).resolves.toMatchObject({ kind: 'MESSAGE_SENDING_RESPONSE', result: 'ACCEPTED' });
    await expect(nextUnit(a)).resolves.toMatchObject({ kind: 'MESSAGE_RECEIVING', messageId: messageId(5), payload: new Uint8Array(big) });
    a.send(hex(encodeM5({ kind: 'MESSAGE_RECEIVING_ACK', messageId: messageId(5), applicationId: 42 as ApplicationId })), gw.udpPort);

    const sent = await runServerCli(['send', '--server', `coap://127.0.0.1:${server.port}`, '--to', ra.ueServiceId, '--payload', `hex:${'5a'.repeat(2355)}`, '--msg-id', messageId(6)]);
    expect(sent.code).toBe(0);
    await expect(nextUnit(a)).resolves.toMatchObject({ kind: 'MESSAGE_RECEIVING', messageId: messageId(6), payload: new Uint8Array(Buffer.alloc(2355, 0x5a)) });
    a.send(hex(encodeM5({ kind: 'MESSAGE_RECEIVING_ACK', messageId: messageId(6), applicationId: 42 as ApplicationId })), gw.udpPort);

    b.send(hex(encodeM5({ kind: 'MESSAGE_SENDING_REQUEST', targetAddress: ra.ueServiceId, messageId: messageId(7), payload: Buffer.alloc(2356, 1), applicationId: 43 as ApplicationId, deliveryStatusRequired: false, targetType: 'UE' })), gw.udpPort);
    await expect(nextUnit(b)).resolves.toMatchObject({ kind: 'MESSAGE_SENDING_RESPONSE', messageId: messageId(7), result: 'FAILURE', failureReason: 'PAYLOAD_TOO_LARGE' });
  });

  it('a stored message survives kill -9 of the gateway and reaches the device after the restart; a de-registration ends the next one with a failure report', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const store = `sqlite:${join(dir, 'kill.db')}`;
    const [udpPort] = await freeUdpPorts(1);
    const args = ['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', GW, '--udp-host', '127.0.0.1', '--udp-port', String(udpPort), '--store', store, '--authorization', 'open', '--deadline-ms', '5000'];
    const gw1 = await startGateway(args);
    procs.push(gw1.proc);
    const a = await open();
    const ra = await register(a, 9, udpPort!);

    const sent = await runServerCli(['send', '--server', `coap://127.0.0.1:${server.port}`, '--to', ra.ueServiceId, '--payload', 'survive', '--msg-id', messageId(77)]);
    expect(sent.code).toBe(0);
    // The gateway took it (it answered the server only after its commit): the device sees the first copy.
    await expect(nextUnit(a)).resolves.toMatchObject({ kind: 'MESSAGE_RECEIVING', messageId: messageId(77) });
    await gw1.proc.stop('SIGKILL', 2000);
    procs.splice(procs.indexOf(gw1.proc), 1);
    a.inbox.length = 0;

    const gw2 = await startGateway(args);
    procs.push(gw2.proc);
    // The queue is read back from the file: the device gets the message again, and acknowledges it.
    const again = await nextUnit(a, 40_000);
    expect(again).toMatchObject({ kind: 'MESSAGE_RECEIVING', messageId: messageId(77), payload: new Uint8Array(Buffer.from('survive')) });
    a.send(hex(encodeM5({ kind: 'MESSAGE_RECEIVING_ACK', messageId: messageId(77), applicationId: 9 as ApplicationId })), udpPort!);

    // A second message, with a report, is never acknowledged; the device leaves: the report says failed.
    const pending = runServerCli(['send', '--server', `coap://127.0.0.1:${server.port}`, '--to', ra.ueServiceId, '--payload', 'too late', '--msg-id', messageId(78), '--report', '--timeout-s', '30'], 40_000);
    await until('the second message at the device', async () => {
      for (;;) {
        const u = await a.poll(100);
        if (u === undefined) return undefined;
        const d = decodeM5(Buffer.from(u, 'hex'));
        if (d.ok && d.message.kind === 'MESSAGE_RECEIVING' && d.message.messageId === messageId(78)) return true;
      }
    });
    a.send(hex(encodeM5({ kind: 'DEREGISTRATION_REQUEST', registrationId: ra.registrationId as never })), udpPort!);
    const ended = await pending;
    expect(ended.code).toBe(1); // a failure report, not a timeout
    const report = await until('the failure report in the AS inbox', async () => (await asInbox(server.port)).find((e) => e.messageType === 'IMDN' && e.msgId === messageId(78)));
    expect(report).toMatchObject({ oriAddr: ra.ueServiceId, destAddr: 'as-demo', delivSt: 'REPT_DELY_FAILED' });
  });
});
