/**
 * The device simulator against the real gateway, messages over the UDP link (docs/wire-formats.md
 * §3.2, §5): the reference server, the gateway and each `device` run as separate OS processes on
 * loopback, as in the walk-through `device --help` gives. `device listen --register` waits in one
 * process; `device send --register --report` runs in another; `server send` plays the AS. Each
 * process's JSON lines (the contract of apps/device-sim/src/message-json.ts) and exit code are checked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess, type RunResult } from '@msgin5g/test-support';
import { ENTRY, freeUdpPorts, runServerCli, startGateway, startNode, startServer, type JsonLineProcess } from '../../src/demo/processes';
import { asInbox, downlinkCounters } from './message-helpers';

const GW = 'gw-sim';

/** Runs `device …` to its exit; every stdout line parsed (a line that is not JSON fails the test). */
async function device(args: string[], timeoutMs = 60_000): Promise<RunResult & { lines: Array<Record<string, unknown>> }> {
  const r = await runProcess(process.execPath, [ENTRY.device, ...args], { timeoutMs });
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { ...r, lines };
}

describe('device simulator send / listen against the gateway and the reference server (UDP link, processes)', () => {
  let dir: string;
  const procs: JsonLineProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-msg-sim-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop('SIGKILL', 2000);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('listen --register gets a message from send --register --report (which gets STORED, then DELIVERED) and one from the AS; both exit 0', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const gw = await startGateway(['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', GW, '--udp-host', '127.0.0.1', '--udp-port', '0', '--store', `sqlite:${join(dir, 'sim.db')}`, '--authorization', 'open', '--deadline-ms', '5000']);
    procs.push(gw.proc);
    const [listenPort, sendPort] = await freeUdpPorts(2);
    const gateway = `127.0.0.1:${gw.udpPort}`;
    const listenerAddress = `${GW}/127.0.0.1:${listenPort}/42`;
    const senderAddress = `${GW}/127.0.0.1:${sendPort}/43`;

    // The listener: registers Application ID 42 from its port, then waits for two messages.
    const listener = startNode('device listen', ENTRY.device, ['listen', '--gateway', gateway, '--local-host', '127.0.0.1', '--local-port', String(listenPort), '--register', '--app-id', '42', '--count', '2', '--timeout-s', '45', '--timeout-ms', '2000', '--retries', '3']);
    procs.push(listener);
    const registered = await listener.waitFor((l) => l.type === 'REGISTRATION_RESPONSE', 'REGISTRATION_RESPONSE', 20_000);
    expect(registered).toMatchObject({ type: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 42, layer2Id: `127.0.0.1:${listenPort}` });
    expect(registered.registrationId).toMatch(/^[0-9a-f]{16}$/);

    // The sender: registers 43, sends to the listener with a report asked, waits for the report.
    const messageId = '5e4d000000000000000000000000a001';
    const sent = await device(['send', '--gateway', gateway, '--local-host', '127.0.0.1', '--local-port', String(sendPort), '--register', '--app-id', '43', '--to', listenerAddress, '--payload', 'hello listener', '--message-id', messageId, '--report', '--report-timeout-s', '30', '--timeout-ms', '2000', '--retries', '3']);
    expect(sent.timedOut).toBe(false);
    expect(sent.lines.map((l) => l.type)).toEqual(['REGISTRATION_RESPONSE', 'MESSAGE_SENDING_RESPONSE', 'DELIVERY_REPORT_RECEIVING']);
    expect(sent.lines[0]).toMatchObject({ result: 'SUCCESS', applicationId: 43, layer2Id: `127.0.0.1:${sendPort}` });
    // Accepted; the server holds a message for a UE short of the device: delivery status "stored" (§5.2).
    expect(sent.lines[1]).toEqual({ type: 'MESSAGE_SENDING_RESPONSE', messageId, result: 'ACCEPTED', applicationId: 43, deliveryStatus: 'STORED', layer2Id: `127.0.0.1:${sendPort}`, hex: `03${messageId}00a0002b230102` });
    // The listener's ack became the report (TS 23.554 §8.6.1 step 4a): from the listener, delivered.
    expect(sent.lines[2]).toMatchObject({ type: 'DELIVERY_REPORT_RECEIVING', originatorAddress: listenerAddress, messageId, deliveryStatus: 'DELIVERED', applicationId: 43 });
    expect(sent.code).toBe(0);

    const fromDevice = await listener.waitFor((l) => l.type === 'MESSAGE_RECEIVING', 'the MESSAGE RECEIVING from the sender', 20_000);
    expect(fromDevice).toMatchObject({ originatorAddress: senderAddress, messageId, payloadText: 'hello listener', payloadHex: Buffer.from('hello listener').toString('hex'), applicationId: 42, deliveryStatusRequired: true, originatorType: 'UE', layer2Id: `127.0.0.1:${listenPort}` });
    // Still listening: one message of two.
    expect(listener.child.exitCode).toBeNull();

    // The second message, from the AS (`server send --report`): the listener's ack ends it with a success report.
    const asMessageId = '5e4d000000000000000000000000a002';
    const fromAs = await runServerCli(['send', '--server', `coap://127.0.0.1:${server.port}`, '--to', listenerAddress, '--payload', 'hex:00c0db10', '--msg-id', asMessageId, '--report', '--timeout-s', '20']);
    expect(fromAs.code).toBe(0);
    const second = await listener.waitFor((l) => l.type === 'MESSAGE_RECEIVING' && l.messageId === asMessageId, 'the MESSAGE RECEIVING from the AS', 20_000);
    expect(second).toMatchObject({ originatorAddress: 'as-demo', payloadHex: '00c0db10', applicationId: 42, deliveryStatusRequired: true, originatorType: 'AS' });
    expect(second).not.toHaveProperty('payloadText'); // not printable
    expect(await listener.exited).toBe(0);
    expect(listener.lines.map((l) => l.type)).toEqual(['REGISTRATION_RESPONSE', 'MESSAGE_RECEIVING', 'MESSAGE_RECEIVING']);
    // Both messages ended by the listener's ack (it sent no report of its own), the sender's report made from it.
    expect(await downlinkCounters(gw.adminUrl)).toMatchObject({ 'downlink_ended_total{link="udp",end="ACKED"}': 2, 'downlink_ended_total{link="udp",end="REPORT_SENT"}': 1 });
    const inbox = await asInbox(server.port);
    expect(inbox).toEqual(expect.arrayContaining([expect.objectContaining({ messageType: 'IMDN', oriAddr: listenerAddress, destAddr: 'as-demo', msgId: asMessageId, delivSt: 'REPT_DELY_SUCCESS' })]));
  });

  it('listen --report: the listener\'s own report (0x02) reaches the sender; send to the AS is DELIVERED; failures exit 1', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const gw = await startGateway(['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', GW, '--udp-host', '127.0.0.1', '--udp-port', '0', '--store', `sqlite:${join(dir, 'sim2.db')}`, '--authorization', 'open', '--deadline-ms', '5000']);
    procs.push(gw.proc);
    const [listenPort, sendPort, strangerPort] = await freeUdpPorts(3);
    const gateway = `127.0.0.1:${gw.udpPort}`;
    const listenerAddress = `${GW}/127.0.0.1:${listenPort}/42`;
    const common = ['--gateway', gateway, '--local-host', '127.0.0.1', '--timeout-ms', '2000', '--retries', '3'];

    const listener = startNode('device listen', ENTRY.device, ['listen', ...common, '--local-port', String(listenPort), '--register', '--app-id', '42', '--report', '--count', '1', '--timeout-s', '45']);
    procs.push(listener);
    await listener.waitFor((l) => l.type === 'REGISTRATION_RESPONSE' && l.result === 'SUCCESS', 'REGISTRATION_RESPONSE SUCCESS', 20_000);

    const messageId = '5e4d000000000000000000000000b001';
    const sent = await device(['send', ...common, '--local-port', String(sendPort), '--register', '--app-id', '43', '--to', listenerAddress, '--payload', 'report it yourself', '--message-id', messageId, '--report', '--report-timeout-s', '30']);
    expect(sent.lines.map((l) => l.type)).toEqual(['REGISTRATION_RESPONSE', 'MESSAGE_SENDING_RESPONSE', 'DELIVERY_REPORT_RECEIVING']);
    expect(sent.lines[2]).toMatchObject({ originatorAddress: listenerAddress, messageId, deliveryStatus: 'DELIVERED', applicationId: 43 });
    expect(sent.code).toBe(0);
    expect(await listener.exited).toBe(0);
    expect(listener.lines[1]).toMatchObject({ type: 'MESSAGE_RECEIVING', messageId, payloadText: 'report it yourself', deliveryStatusRequired: true });

    // Relayed as the device's own report (step 4b), not made from its ack; one report, not two.
    const counted = await downlinkCounters(gw.adminUrl);
    expect(counted).toEqual({ 'downlink_ended_total{link="udp",end="REPORTED_BY_DEVICE"}': 1, 'downlink_ended_total{link="udp",end="REPORT_SENT"}': 1, 'downlink_sends_total{link="udp",kind="MESSAGE",resend="false"}': 1, 'downlink_sends_total{link="udp",kind="REPORT",resend="false"}': 1 });
    // To the AS: the server keeps it in the AS inbox at once, so the answer says delivered.
    const toAs = await device(['send', ...common, '--local-port', String(sendPort), '--app-id', '43', '--to', 'as-demo', '--target-type', 'AS', '--payload', 'hex:0102c0', '--message-id', '5e4d000000000000000000000000b002']);
    expect(toAs.lines).toEqual([expect.objectContaining({ type: 'MESSAGE_SENDING_RESPONSE', messageId: '5e4d000000000000000000000000b002', result: 'ACCEPTED', deliveryStatus: 'DELIVERED' })]);
    expect(toAs.code).toBe(0);
    expect(await asInbox(server.port)).toEqual(
      expect.arrayContaining([expect.objectContaining({ messageType: 'MSG', oriAddr: `${GW}/127.0.0.1:${sendPort}/43`, destAddr: 'as-demo', msgId: '5e4d000000000000000000000000b002', payloadHex: '0102c0', payloadOctets: 3 })]),
    );

    // A recipient the server does not know: FAILURE RECIPIENT_UNKNOWN, exit 1.
    const unknown = await device(['send', ...common, '--local-port', String(sendPort), '--app-id', '43', '--to', `${GW}/127.0.0.1:1/9`, '--payload', 'nobody']);
    expect(unknown.lines).toEqual([expect.objectContaining({ type: 'MESSAGE_SENDING_RESPONSE', result: 'FAILURE', failureReason: 'RECIPIENT_UNKNOWN' })]);
    expect(unknown.code).toBe(1);
    // A device that never registered: FAILURE DEVICE_NOT_REGISTERED, exit 1.
    const stranger = await device(['send', ...common, '--local-port', String(strangerPort), '--to', listenerAddress, '--payload', 'who am I']);
    expect(stranger.lines).toEqual([expect.objectContaining({ type: 'MESSAGE_SENDING_RESPONSE', result: 'FAILURE', failureReason: 'DEVICE_NOT_REGISTERED' })]);
    expect(stranger.code).toBe(1);
  });
});
