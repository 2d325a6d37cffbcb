/**
 * Messages through the gateway over the CoAP device link end to end (docs/wire-formats.md §3.3
 * "Messages on the CoAP device link", §5), with the reference server and the gateway (SQLite file)
 * as processes on loopback:
 * - libcoap as the device: `coap-client-notls` POSTs REG and MSG from one pinned source port (`-p`:
 *   the device's Layer-2 ID is its source ip:port), then `coap-server-notls` listens on that same
 *   port and takes the gateway's CON POSTs (`IMDN`, `MSG`); with `-d` libcoap creates the resource on
 *   a PUT and answers a POST to it 2.04, the device's acknowledgement. `-v 7` makes both print every
 *   PDU they send and get, which the test reads (code, options, body);
 * - the device simulator over `--link coap` (`listen --register`, `send --register --report`).
 * A raw UDP device is the peer where one is needed. Without libcoap the libcoap test is skipped, saying why.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplicationId, MessageId } from '@msgin5g/core';
import { encodeM5 } from '@msgin5g/protocol';
import { itUnless, LineProcess, runProcess, type RunResult } from '@msgin5g/test-support';
import { ENTRY, freeUdpPorts, runServerCli, startGateway, startNode, startServer, type JsonLineProcess } from '../../src/demo/processes';
import { RawDevice } from './raw-device';
import { asInbox, downlinkCounters, hex, nextUdpUnit } from './message-helpers';

const CLIENT = 'coap-client-notls';
const SERVER = 'coap-server-notls';
const missing = [CLIENT, SERVER].find((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
const itLibcoap = itUnless(missing === undefined ? undefined : `${missing} is not installed (apt-get install libcoap3-bin)`, 'libcoap message tests');

const GW = 'gw-coap-msg';

/**
 * One PDU as libcoap's `-v 7` shows it (coap_show_pdu): `v:1 t:CON c:POST i:1a2b {0a0b0c0d} [ Uri-Path:msgin5g, … ] :: 'body'`.
 */
interface ShownPdu {
  readonly type: string;
  readonly code: string;
  readonly token: string;
  readonly options: string;
  readonly body: string | undefined;
}
const PDU_LINE = /^v:1 t:(CON|NON|ACK|RST) c:(\S+) i:[0-9a-f]{4} \{([0-9a-f]*)\} \[ ?(.*?) ?\](?: :: '(.*)')?$/;
function shownPdu(line: string): ShownPdu | undefined {
  const m = PDU_LINE.exec(line);
  return m === null ? undefined : { type: m[1]!, code: m[2]!, token: m[3]!, options: m[4]!, body: m[5] };
}

/**
 * POSTs `body` (Content-Format 50, CON) with `coap-client-notls` from 127.0.0.1:`localPort` to the
 * gateway's CoAP device link; resolves the response the client got (piggybacked or separate): its
 * code and its body read as JSON.
 */
async function coapPost(coapPort: number, localPort: number, body: string): Promise<{ code: string; json: unknown; run: RunResult }> {
  const run = await runProcess(CLIENT, ['-v', '7', '-a', '127.0.0.1', '-p', String(localPort), '-m', 'post', '-t', '50', '-e', body, '-B', '15', `coap://127.0.0.1:${coapPort}/msgin5g`], { timeoutMs: 25_000 });
  // The response: a PDU with a response code (c:2.04 …), not the request (c:POST) nor an empty ACK (c:0.00).
  const answers = run.stdout
    .split('\n')
    .map(shownPdu)
    .filter((p): p is ShownPdu => p !== undefined && /^[245]\.\d\d$/.test(p.code));
  const answer = answers[answers.length - 1];
  if (answer === undefined) throw new Error(`coap-client got no response (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  return { code: answer.code, json: answer.body === undefined ? undefined : JSON.parse(answer.body), run };
}

describe('messages through the gateway, CoAP device link (processes)', () => {
  let dir: string;
  const procs: JsonLineProcess[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-msg-coap-'));
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    for (const p of procs.splice(0)) await p.stop('SIGKILL', 2000);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function startBoth(db: string, serverArgs: string[] = []): Promise<{ serverPort: number; coapPort: number; udpPort: number; adminUrl: string }> {
    const server = await startServer(serverArgs);
    procs.push(server.proc);
    const [coapPort] = await freeUdpPorts(1);
    const gw = await startGateway(['--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', GW, '--udp-host', '127.0.0.1', '--udp-port', '0', '--coap-device-host', '127.0.0.1', '--coap-device-port', String(coapPort), '--store', `sqlite:${join(dir, db)}`, '--authorization', 'open', '--deadline-ms', '5000']);
    procs.push(gw.proc);
    return { serverPort: server.port, coapPort: coapPort!, udpPort: gw.udpPort, adminUrl: gw.adminUrl };
  }

  itLibcoap('libcoap device: MSG to the AS answered 2.04 MSGRESP DELIVERED, to a UE DELY_STORED; its report and a server send reach it as CON POSTs that its 2.04 acknowledges', async () => {
    const { serverPort, coapPort, udpPort, adminUrl } = await startBoth('libcoap.db');
    const [devicePort] = await freeUdpPorts(1);
    const cAddress = `${GW}/127.0.0.1:${devicePort}/42`;
    const u = await RawDevice.open();
    cleanups.push(() => u.close());
    u.send(hex(encodeM5({ kind: 'REGISTRATION_REQUEST', applicationId: 7 as ApplicationId })), udpPort);
    expect(await nextUdpUnit(u)).toMatchObject({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 7 });
    const uAddress = `${GW}/127.0.0.1:${u.port}/7`;

    // 1. REG from the pinned port.
    const reg = await coapPost(coapPort, devicePort!, '{"messageType":"REG","appId":"42"}');
    expect(reg.code).toBe('2.04');
    expect(reg.json).toEqual({ messageType: 'REG', result: 'SUCCESS', appId: '42', registrationId: expect.stringMatching(/^[0-9a-f]{16}$/), lifetime: 86400 });

    // 2. To the AS: the server keeps it in the AS inbox at once: DELIVERED.
    const m1 = 'c0a9000000000000000000000000c001';
    const toAs = await coapPost(coapPort, devicePort!, JSON.stringify({ messageType: 'MSG', destAddr: 'as-demo', targetType: 'AS', msgId: m1, appId: '42', payload: 'AQID' }));
    expect(toAs.code).toBe('2.04');
    expect(toAs.json).toEqual({ messageType: 'MSGRESP', msgId: m1, status: 'DELIVERED', appId: '42' });
    expect(await asInbox(serverPort)).toEqual([expect.objectContaining({ messageType: 'MSG', oriAddr: cAddress, destAddr: 'as-demo', msgId: m1, payloadHex: '010203' })]);

    // 3. To the UDP device with a report asked: held by the server short of the device: DELY_STORED.
    const m2 = 'c0a9000000000000000000000000c002';
    const toUe = await coapPost(coapPort, devicePort!, JSON.stringify({ messageType: 'MSG', destAddr: uAddress, msgId: m2, appId: 42, delivStReqInd: true, payload: Buffer.from('from libcoap').toString('base64') }));
    expect(toUe.code).toBe('2.04');
    expect(toUe.json).toEqual({ messageType: 'MSGRESP', msgId: m2, status: 'DELY_STORED', appId: '42' });
    expect(await nextUdpUnit(u)).toEqual({ kind: 'MESSAGE_RECEIVING', originatorAddress: cAddress, messageId: m2, payload: new Uint8Array(Buffer.from('from libcoap')), applicationId: 7, deliveryStatusRequired: true, originatorType: 'UE' });

    // 4. The device now listens on the port it registered from, with the resource msgin5g created by a PUT.
    const libcoapDevice = LineProcess.start(SERVER, ['-A', '127.0.0.1', '-p', String(devicePort), '-d', '4', '-v', '7'], { name: 'coap-server-notls' });
    cleanups.push(() => libcoapDevice.stop('SIGTERM', 3000));
    await libcoapDevice.waitForLine((l) => l.includes(`created UDP  endpoint 127.0.0.1:${devicePort}`) || l.includes(`created UDP endpoint 127.0.0.1:${devicePort}`), { timeoutMs: 5000, what: 'the UDP endpoint' });
    const put = await runProcess(CLIENT, ['-m', 'put', '-e', 'x', '-B', '5', `coap://127.0.0.1:${devicePort}/msgin5g`], { timeoutMs: 10_000 });
    expect(put.code).toBe(0);
    const postsTaken = () =>
      libcoapDevice.stdout
        .map(shownPdu)
        .filter((p): p is ShownPdu => p !== undefined && p.code === 'POST')
        .map((p) => ({ ...p, json: JSON.parse(p.body ?? 'null') as Record<string, unknown> }));

    // 5. The UDP device acknowledges: the report goes to the libcoap device as a CON POST IMDN.
    u.send(hex(encodeM5({ kind: 'MESSAGE_RECEIVING_ACK', messageId: m2 as MessageId, applicationId: 7 as ApplicationId })), udpPort);
    await libcoapDevice.waitForLine((l) => shownPdu(l)?.code === 'POST' && l.includes('"IMDN"'), { timeoutMs: 15_000, what: 'the IMDN POST' });
    const [imdn] = postsTaken();
    expect(imdn).toMatchObject({ type: 'CON', token: expect.stringMatching(/^[0-9a-f]{8}$/), options: 'Uri-Path:msgin5g, Content-Format:application/json' });
    expect(imdn!.json).toEqual({ messageType: 'IMDN', oriAddr: uAddress, msgId: m2, delivSt: 'REPT_DELY_SUCCESS', appId: '42' });

    // 6. From the AS with a report asked: a CON POST MSG; libcoap's 2.04 is the ack, which becomes REPT_DELY_SUCCESS.
    const m3 = 'c0a9000000000000000000000000c003';
    const sent = await runServerCli(['send', '--server', `coap://127.0.0.1:${serverPort}`, '--to', cAddress, '--payload', 'hex:c0ffee', '--msg-id', m3, '--report', '--timeout-s', '25']);
    expect(sent.code).toBe(0);
    await libcoapDevice.waitForLine((l) => shownPdu(l)?.code === 'POST' && l.includes('"MSG"'), { timeoutMs: 5000, what: 'the MSG POST' });
    const msg = postsTaken().find((p) => p.json.messageType === 'MSG');
    expect(msg).toMatchObject({ type: 'CON', options: 'Uri-Path:msgin5g, Content-Format:application/json' });
    expect(msg!.json).toEqual({ messageType: 'MSG', oriAddr: 'as-demo', targetType: 'AS', msgId: m3, appId: '42', delivStReqInd: true, payload: Buffer.from([0xc0, 0xff, 0xee]).toString('base64') });
    expect(await asInbox(serverPort)).toEqual(expect.arrayContaining([expect.objectContaining({ messageType: 'IMDN', oriAddr: cAddress, destAddr: 'as-demo', msgId: m3, delivSt: 'REPT_DELY_SUCCESS' })]));
    // Each POST taken once (acknowledged at the first try): one IMDN, one MSG; both ended by the device.
    expect(postsTaken().map((p) => p.json.messageType)).toEqual(['IMDN', 'MSG']);
    expect(await downlinkCounters(adminUrl)).toMatchObject({ 'downlink_ended_total{link="coap",end="REPORT_SENT"}': 1, 'downlink_ended_total{link="coap",end="ACKED"}': 1 });
  });

  it('device simulator over --link coap: listen --register gets a message from send --register --report (STORED, then DELIVERED) and one from the AS', async () => {
    const { serverPort, coapPort } = await startBoth('sim.db');
    const [listenPort, sendPort] = await freeUdpPorts(2);
    const gateway = `127.0.0.1:${coapPort}`;
    const listenerAddress = `${GW}/127.0.0.1:${listenPort}/42`;
    const common = ['--link', 'coap', '--gateway', gateway, '--local-host', '127.0.0.1', '--timeout-ms', '2000', '--retries', '3'];

    const listener = startNode('device listen', ENTRY.device, ['listen', ...common, '--local-port', String(listenPort), '--register', '--app-id', '42', '--count', '2', '--timeout-s', '45']);
    procs.push(listener);
    expect(await listener.waitFor((l) => l.type === 'REGISTRATION_RESPONSE', 'REGISTRATION_RESPONSE', 20_000)).toMatchObject({ result: 'SUCCESS', applicationId: 42 });

    const messageId = '5e4d00000000000000000000000c0a01';
    const send = await runProcess(process.execPath, [ENTRY.device, 'send', ...common, '--local-port', String(sendPort), '--register', '--app-id', '43', '--to', listenerAddress, '--payload', 'over coap', '--message-id', messageId, '--report', '--report-timeout-s', '30'], { timeoutMs: 60_000 });
    const lines = send.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.type)).toEqual(['REGISTRATION_RESPONSE', 'MESSAGE_SENDING_RESPONSE', 'DELIVERY_REPORT_RECEIVING']);
    expect(lines[1]).toMatchObject({ messageId, result: 'ACCEPTED', deliveryStatus: 'STORED' });
    expect(lines[2]).toMatchObject({ originatorAddress: listenerAddress, messageId, deliveryStatus: 'DELIVERED' });
    expect(send.code).toBe(0);
    expect(await listener.waitFor((l) => l.type === 'MESSAGE_RECEIVING', 'the MESSAGE RECEIVING from the sender', 20_000)).toMatchObject({
      originatorAddress: `${GW}/127.0.0.1:${sendPort}/43`,
      messageId,
      payloadText: 'over coap',
      applicationId: 42,
      deliveryStatusRequired: true,
      originatorType: 'UE',
    });

    const asMessageId = '5e4d00000000000000000000000c0a02';
    const fromAs = await runServerCli(['send', '--server', `coap://127.0.0.1:${serverPort}`, '--to', listenerAddress, '--payload', 'from the AS', '--msg-id', asMessageId, '--report', '--timeout-s', '20']);
    expect(fromAs.code).toBe(0);
    expect(await listener.exited).toBe(0);
    expect(listener.lines.map((l) => l.type)).toEqual(['REGISTRATION_RESPONSE', 'MESSAGE_RECEIVING', 'MESSAGE_RECEIVING']);
    expect(listener.lines[2]).toMatchObject({ originatorAddress: 'as-demo', messageId: asMessageId, payloadText: 'from the AS', originatorType: 'AS' });
    expect(await asInbox(serverPort)).toEqual(expect.arrayContaining([expect.objectContaining({ messageType: 'IMDN', oriAddr: listenerAddress, msgId: asMessageId, delivSt: 'REPT_DELY_SUCCESS' })]));
  });

  it('the largest MESSAGE RECEIVING the CoAP device link carries (1,812 octets of Payload, §3.3) reaches the simulator; one octet more is refused PAYLOAD_TOO_LARGE', async () => {
    // The pretend AS gets a long Service ID (255 octets), so its reports come back to its inbox.
    const longAs = `as-${'x'.repeat(252)}`;
    const { serverPort, coapPort } = await startBoth('big.db', ['--as-service-id', longAs]);
    const [listenPort] = await freeUdpPorts(1);
    const listenerAddress = `${GW}/127.0.0.1:${listenPort}/42`;
    const listener = startNode('device listen', ENTRY.device, ['listen', '--link', 'coap', '--gateway', `127.0.0.1:${coapPort}`, '--local-host', '127.0.0.1', '--local-port', String(listenPort), '--register', '--app-id', '42', '--count', '1', '--timeout-s', '45', '--timeout-ms', '2000', '--retries', '3']);
    procs.push(listener);
    await listener.waitFor((l) => l.type === 'REGISTRATION_RESPONSE' && l.result === 'SUCCESS', 'REGISTRATION_RESPONSE SUCCESS', 20_000);

    const m1 = '5e4d00000000000000000000000c0b01';
    const biggest = Buffer.alloc(1812, 0xdb);
    const sent = await runServerCli(['send', '--server', `coap://127.0.0.1:${serverPort}`, '--from', longAs, '--to', listenerAddress, '--payload', `hex:${biggest.toString('hex')}`, '--msg-id', m1, '--report', '--timeout-s', '20']);
    expect(sent.code).toBe(0);
    expect(await listener.exited).toBe(0);
    expect(listener.lines[1]).toMatchObject({ type: 'MESSAGE_RECEIVING', originatorAddress: longAs, messageId: m1, payloadHex: biggest.toString('hex'), originatorType: 'AS' });

    const m2 = '5e4d00000000000000000000000c0b02';
    const tooBig = await runServerCli(['send', '--server', `coap://127.0.0.1:${serverPort}`, '--from', longAs, '--to', listenerAddress, '--payload', `hex:${'db'.repeat(1813)}`, '--msg-id', m2, '--report', '--timeout-s', '20']);
    expect(tooBig.code).toBe(1);
    expect(await asInbox(serverPort)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ messageType: 'IMDN', oriAddr: listenerAddress, destAddr: longAs, msgId: m1, delivSt: 'REPT_DELY_SUCCESS' }),
        expect.objectContaining({ messageType: 'IMDN', oriAddr: listenerAddress, destAddr: longAs, msgId: m2, delivSt: 'REPT_DELY_FAILED', failureCause: 'PAYLOAD_TOO_LARGE' }),
      ]),
    );
  });

  itLibcoap('libcoap device that never answers the gateway\'s POST: its DEREG (from the same port) ends the pending message with REPT_DELY_FAILED to the AS', async () => {
    const { serverPort, coapPort, adminUrl } = await startBoth('dereg.db');
    const [devicePort] = await freeUdpPorts(1);
    const cAddress = `${GW}/127.0.0.1:${devicePort}/42`;
    const reg = await coapPost(coapPort, devicePort!, '{"messageType":"REG","appId":"42"}');
    expect(reg.json).toMatchObject({ messageType: 'REG', result: 'SUCCESS' });
    const registrationId = (reg.json as { registrationId: string }).registrationId;

    // Nothing listens on the device's port now: the gateway's CON POST goes unanswered.
    const m1 = 'c0a9000000000000000000000000d001';
    const pending = runServerCli(['send', '--server', `coap://127.0.0.1:${serverPort}`, '--to', cAddress, '--payload', 'nobody home', '--msg-id', m1, '--report', '--timeout-s', '30'], 40_000);
    const end = Date.now() + 15_000;
    while ((await downlinkCounters(adminUrl))['downlink_sends_total{link="coap",kind="MESSAGE",resend="false"}'] !== 1) {
      if (Date.now() > end) throw new Error('the gateway never sent the MSG POST');
      await new Promise((r) => setTimeout(r, 200));
    }
    const dereg = await coapPost(coapPort, devicePort!, `{"messageType":"DEREG","registrationId":"${registrationId}"}`);
    expect(dereg.code).toBe('2.04');
    expect(dereg.json).toEqual({ messageType: 'DEREG', result: 'SUCCESS', appId: '42', registrationId });
    const ended = await pending;
    expect(ended.code).toBe(1); // a failure report, not a timeout
    expect(await asInbox(serverPort)).toEqual(expect.arrayContaining([expect.objectContaining({ messageType: 'IMDN', oriAddr: cAddress, destAddr: 'as-demo', msgId: m1, delivSt: 'REPT_DELY_FAILED' })]));
    expect(await downlinkCounters(adminUrl)).toMatchObject({ 'downlink_ended_total{link="coap",end="DEREGISTERED"}': 1 });
  });
});
