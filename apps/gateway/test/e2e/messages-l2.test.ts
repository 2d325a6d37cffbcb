/**
 * Messages through the gateway over the L2 link end to end (docs/wire-formats.md §3.1, §5): the
 * reference server and the gateway (SQLite file) run as processes in one network namespace; two
 * devices send and receive Ethernet frames in another, joined by a veth pair this test creates and
 * always removes. The devices' frames are built and split by hand (test/e2e/raw-l2-device.ts), so
 * every octet the gateway sends is checked: destination = the device's MAC (its Layer-2 ID), source
 * = the gateway's MAC, EtherType, length, the M5 unit, zero padding to 60 octets.
 * Needs root; without it the test says why and is skipped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplicationId, MessageId } from '@msgin5g/core';
import { decodeM5, encodeM5, type M5Message } from '@msgin5g/protocol';
import { createVethTestbed, vethSupport, type VethTestbed } from '../../src/demo/netns';
import { runProcess } from '@msgin5g/test-support';
import { ENTRY, runServerCli, startGateway, startNode, startServer, type JsonLineProcess } from '../../src/demo/processes';
import { M5_ETHERTYPE, RawL2Segment, type RawL2Device, type ReceivedL2Frame } from './raw-l2-device';
import { asInbox, hex } from './message-helpers';

const support = vethSupport();
// stderr, not console: Jest drops the console output of a fully skipped suite when several suites run.
if (!support.ok) process.stderr.write(`L2 message end-to-end tests skipped: ${support.why}\n`);
const describeIfRoot = support.ok ? describe : describe.skip;

const GW = 'gw-l2-msg';
const GATEWAY_MAC = '02:00:00:00:5a:03';

/** Checks the frame is what §3.1 says the gateway sends `device`; resolves the M5 unit in it, decoded. */
function unitOf(device: RawL2Device, f: ReceivedL2Frame): { message: M5Message; unit: string } {
  expect({ dst: f.dst, src: f.src, etherType: f.etherType }).toEqual({ dst: device.mac, src: GATEWAY_MAC.replace(/:/g, ''), etherType: M5_ETHERTYPE });
  // Untagged, zero-padded to 60 octets (FCS excluded) when shorter.
  expect(f.frame.length / 2).toBe(Math.max(60, 16 + f.unit.length / 2));
  expect(f.padding).toMatch(/^(00)*$/);
  const decoded = decodeM5(Buffer.from(f.unit, 'hex'));
  if (!decoded.ok) throw new Error(`device ${device.mac} got a unit that does not decode: ${f.unit} (${decoded.error.message})`);
  return { message: decoded.message, unit: f.unit };
}

async function nextUnit(device: RawL2Device, timeoutMs = 10_000): Promise<{ message: M5Message; unit: string }> {
  return unitOf(device, await device.next(timeoutMs));
}

describeIfRoot(`messages through the gateway, L2 link (Ethernet frames over a veth pair between two namespaces)${support.ok ? '' : ` (skipped: ${support.why})`}`, () => {
  let testbed: VethTestbed;
  let dir: string;
  const procs: JsonLineProcess[] = [];
  let segment: RawL2Segment | undefined;

  beforeAll(() => {
    testbed = createVethTestbed(`${process.pid % 10000}m`, GATEWAY_MAC);
    dir = mkdtempSync(join(tmpdir(), 'gw-msg-l2-'));
  });
  afterAll(async () => {
    await segment?.close();
    for (const p of procs.splice(0)) await p.stop('SIGKILL', 2000);
    testbed?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('device B sends to device A with a report (0x03 STORED; 0x04 to A\'s MAC, resent until its 0x05; 0x06 DELIVERED to B), A sends to the AS (DELIVERED), and a server send reaches A', async () => {
    const gwSide = { netns: testbed.gatewayNs };
    const server = await startServer([], gwSide);
    procs.push(server.proc);
    const gateway = await startGateway(['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', GW, '--no-udp', '--l2-interface', testbed.gatewayIf, '--store', `sqlite:${join(dir, 'l2.db')}`, '--authorization', 'open', '--deadline-ms', '5000'], gwSide);
    procs.push(gateway.proc);
    segment = await RawL2Segment.open(testbed.deviceNs, testbed.deviceIf);
    const a = segment.device('02:00:00:00:e1:01');
    const b = segment.device('02:00:00:00:e1:02');
    const aAddress = `${GW}/${a.mac}/42`;
    const bAddress = `${GW}/${b.mac}/43`;

    // Both register (Layer-2 ID = source MAC).
    for (const [d, app] of [
      [a, 42],
      [b, 43],
    ] as const) {
      d.send(hex(encodeM5({ kind: 'REGISTRATION_REQUEST', applicationId: app as ApplicationId })), GATEWAY_MAC);
      expect((await nextUnit(d)).unit).toMatch(new RegExp(`^1100a000${app.toString(16).padStart(2, '0')}2108[0-9a-f]{16}240400015180$`));
    }

    // B → A, report asked: accepted, stored at the server short of the device (§5.2: 0x23 01 02).
    const m1 = '000000000000000000000000000e1001' as MessageId;
    b.send(hex(encodeM5({ kind: 'MESSAGE_SENDING_REQUEST', targetAddress: aAddress, messageId: m1, payload: Buffer.from('hello over ethernet'), applicationId: 43 as ApplicationId, deliveryStatusRequired: true, targetType: 'UE' })), GATEWAY_MAC);
    expect((await nextUnit(b)).unit).toBe(`03${m1}00a0002b230102`);
    const first = await nextUnit(a);
    expect(first.message).toEqual({ kind: 'MESSAGE_RECEIVING', originatorAddress: bAddress, messageId: m1, payload: new Uint8Array(Buffer.from('hello over ethernet')), applicationId: 42, deliveryStatusRequired: true, originatorType: 'UE' });
    // Not acknowledged: the same unit again after 2 s (§5.3).
    const firstAt = Date.now();
    const again = await nextUnit(a, 6000);
    expect(Date.now() - firstAt).toBeGreaterThan(1000);
    expect(again.unit).toBe(first.unit);
    a.send(`05${m1}a0002a`, GATEWAY_MAC); // MESSAGE RECEIVING ACK, Application ID 42 (§5.2)
    expect((await nextUnit(b, 15_000)).message).toEqual({ kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: aAddress, messageId: m1, deliveryStatus: 'DELIVERED', applicationId: 43 });

    // A → the AS: the server keeps it in the AS inbox at once: accepted, delivered (0x23 01 00).
    const m2 = '000000000000000000000000000e1002' as MessageId;
    a.send(hex(encodeM5({ kind: 'MESSAGE_SENDING_REQUEST', targetAddress: 'as-demo', messageId: m2, payload: Uint8Array.from([0, 1, 2]), applicationId: 42 as ApplicationId, deliveryStatusRequired: false, targetType: 'AS' })), GATEWAY_MAC);
    expect((await nextUnit(a)).unit).toBe(`03${m2}00a0002a230100`);
    expect(await asInbox(server.port, gwSide)).toEqual([expect.objectContaining({ messageType: 'MSG', oriAddr: aAddress, destAddr: 'as-demo', msgId: m2, payloadHex: '000102' })]);

    // The AS → A with a report asked (`server send`, run in the server's namespace): A's 0x05 becomes REPT_DELY_SUCCESS.
    const m3 = '000000000000000000000000000e1003';
    const send = runServerCli(['send', '--server', `coap://127.0.0.1:${server.port}`, '--to', aAddress, '--payload', 'hex:c0ffee', '--msg-id', m3, '--report', '--timeout-s', '25'], 30_000, gwSide);
    expect((await nextUnit(a)).message).toEqual({ kind: 'MESSAGE_RECEIVING', originatorAddress: 'as-demo', messageId: m3, payload: Uint8Array.from([0xc0, 0xff, 0xee]), applicationId: 42, deliveryStatusRequired: true, originatorType: 'AS' });
    a.send(`05${m3}a0002a`, GATEWAY_MAC);
    const sent = await send;
    expect(sent.code).toBe(0);
    expect(await asInbox(server.port, gwSide)).toEqual(expect.arrayContaining([expect.objectContaining({ messageType: 'IMDN', oriAddr: aAddress, destAddr: 'as-demo', msgId: m3, delivSt: 'REPT_DELY_SUCCESS' })]));

    // Nothing more: no resend of an acknowledged message, no second report, no frame to another MAC.
    expect(await a.poll(3000)).toBeUndefined();
    expect(b.inbox).toEqual([]);
    expect(segment.unclaimed).toEqual([]);
    await segment.close();
    segment = undefined;
    expect(await gateway.proc.stop('SIGTERM')).toBe(0);
  });

  it('the largest MESSAGE RECEIVING one untagged frame carries (§3.1: 1,218 octets of Payload, a 255-octet originator) is one 1,514-octet frame; one octet more is refused PAYLOAD_TOO_LARGE', async () => {
    const gwSide = { netns: testbed.gatewayNs };
    // The pretend AS gets the longest Service ID, so its reports come back to its inbox.
    const longAs = `as-${'x'.repeat(252)}`;
    const server = await startServer(['--as-service-id', longAs], gwSide);
    procs.push(server.proc);
    const gateway = await startGateway(['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', GW, '--no-udp', '--l2-interface', testbed.gatewayIf, '--store', `sqlite:${join(dir, 'l2-big.db')}`, '--authorization', 'open', '--deadline-ms', '5000'], gwSide);
    procs.push(gateway.proc);
    segment = await RawL2Segment.open(testbed.deviceNs, testbed.deviceIf);
    const a = segment.device('02:00:00:00:e3:01');
    const aAddress = `${GW}/${a.mac}/42`;
    a.send('10002a', GATEWAY_MAC);
    expect((await nextUnit(a)).message).toMatchObject({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS' });

    const m1 = '000000000000000000000000000e3001';
    const biggest = Buffer.alloc(1218, 0xc0);
    const send = runServerCli(['send', '--server', `coap://127.0.0.1:${server.port}`, '--from', longAs, '--to', aAddress, '--payload', `hex:${biggest.toString('hex')}`, '--msg-id', m1, '--report', '--timeout-s', '20'], 30_000, gwSide);
    const frame = await a.next();
    expect(frame.frame.length / 2).toBe(14 + 1500);
    expect(unitOf(a, frame).message).toEqual({ kind: 'MESSAGE_RECEIVING', originatorAddress: longAs, messageId: m1, payload: new Uint8Array(biggest), applicationId: 42, deliveryStatusRequired: true, originatorType: 'AS' });
    a.send(`05${m1}a0002a`, GATEWAY_MAC);
    expect((await send).code).toBe(0);

    const m2 = '000000000000000000000000000e3002';
    const tooBig = await runServerCli(['send', '--server', `coap://127.0.0.1:${server.port}`, '--from', longAs, '--to', aAddress, '--payload', `hex:${'c0'.repeat(1219)}`, '--msg-id', m2, '--report', '--timeout-s', '20'], 30_000, gwSide);
    expect(tooBig.code).toBe(1);
    expect(await asInbox(server.port, gwSide)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ messageType: 'IMDN', oriAddr: aAddress, destAddr: longAs, msgId: m1, delivSt: 'REPT_DELY_SUCCESS' }),
        expect.objectContaining({ messageType: 'IMDN', oriAddr: aAddress, destAddr: longAs, msgId: m2, delivSt: 'REPT_DELY_FAILED', failureCause: 'PAYLOAD_TOO_LARGE' }),
      ]),
    );
    expect(await a.poll(1000)).toBeUndefined();
    await segment.close();
    segment = undefined;
    expect(await gateway.proc.stop('SIGTERM')).toBe(0);
  });

  it('the device simulator with --link l2 in the device namespace: listen --register gets the message of send --register --report, which gets STORED then DELIVERED', async () => {
    const gwSide = { netns: testbed.gatewayNs };
    const devSide = { netns: testbed.deviceNs };
    const server = await startServer([], gwSide);
    procs.push(server.proc);
    const gateway = await startGateway(['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', GW, '--no-udp', '--l2-interface', testbed.gatewayIf, '--store', `sqlite:${join(dir, 'l2-sim.db')}`, '--authorization', 'open', '--deadline-ms', '5000'], gwSide);
    procs.push(gateway.proc);
    const l2 = (mac: string) => ['--link', 'l2', '--interface', testbed.deviceIf, '--gateway-mac', GATEWAY_MAC, '--mac', mac, '--timeout-ms', '2000', '--retries', '3'];
    const listenerAddress = `${GW}/02000000e201/42`;

    const listener = startNode('device listen', ENTRY.device, ['listen', ...l2('02:00:00:00:e2:01'), '--register', '--app-id', '42', '--count', '1', '--timeout-s', '45'], {}, devSide);
    procs.push(listener);
    expect(await listener.waitFor((l) => l.type === 'REGISTRATION_RESPONSE', 'REGISTRATION_RESPONSE', 20_000)).toMatchObject({ result: 'SUCCESS', applicationId: 42, layer2Id: '02000000e201' });

    const messageId = '000000000000000000000000000e2001';
    const sent = await runProcess('ip', ['netns', 'exec', testbed.deviceNs, process.execPath, ENTRY.device, 'send', ...l2('02:00:00:00:e2:02'), '--register', '--app-id', '43', '--to', listenerAddress, '--payload', 'simulated', '--message-id', messageId, '--report', '--report-timeout-s', '30'], { timeoutMs: 60_000 });
    const lines = sent.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.type)).toEqual(['REGISTRATION_RESPONSE', 'MESSAGE_SENDING_RESPONSE', 'DELIVERY_REPORT_RECEIVING']);
    expect(lines[1]).toEqual({ type: 'MESSAGE_SENDING_RESPONSE', messageId, result: 'ACCEPTED', applicationId: 43, deliveryStatus: 'STORED', layer2Id: '02000000e202', hex: `03${messageId}00a0002b230102` });
    expect(lines[2]).toMatchObject({ originatorAddress: listenerAddress, messageId, deliveryStatus: 'DELIVERED', applicationId: 43 });
    expect(sent.code).toBe(0);
    expect(await listener.exited).toBe(0);
    expect(listener.lines[1]).toMatchObject({ type: 'MESSAGE_RECEIVING', originatorAddress: `${GW}/02000000e202/43`, messageId, payloadText: 'simulated', applicationId: 42, deliveryStatusRequired: true, layer2Id: '02000000e201' });
    expect(await gateway.proc.stop('SIGTERM')).toBe(0);
  });
});
