/**
 * `device send` / `device listen --link coap` (docs/wire-formats.md §3.3, §5.3) against a scripted
 * gateway speaking raw CoAP on loopback. The gateway's POSTs to the device and the answers expected
 * from it are written as octets from RFC 7252 §3 (header `Ver|T|TKL`, code, Message ID, token,
 * option delta/length nibbles, 0xFF, payload), so the device's CoAP layer is checked against the
 * RFC, not against the codec it uses.
 */
import * as dgram from 'node:dgram';
import { join } from 'node:path';
import type { ApplicationId, MessageId } from '@msgin5g/core';
import { decodeCoapDeviceBody, encodeCoapGatewayDelivery, encodeCoapMessageResponse, parseCoapMessage, type CoapMessage } from '@msgin5g/protocol';
import { runProcess, type RunResult } from '@msgin5g/test-support';
import { hex, ScriptedGateway, toHex, type Received } from './scripted-gateway';

const MAIN = join(__dirname, '..', 'dist', 'main.js');
const device = (args: string[], timeoutMs = 20_000): Promise<RunResult> => runProcess(process.execPath, [MAIN, ...args], { timeoutMs });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const utf8 = (s: string) => toHex(new TextEncoder().encode(s));

const MID = '000102030405060708090a0b0c0d0e0f';
const URI_PATH_MSGIN5G = `b7${utf8('msgin5g')}`; // option 11, delta 11, length 7
const CF_JSON = '1132'; // option 12 after 11: delta 1, length 1, value 50

function lines(run: RunResult): Array<Record<string, unknown>> {
  return run.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function parsed(r: Received): CoapMessage {
  const p = parseCoapMessage(r.bytes);
  if (p.kind !== 'MESSAGE') throw new Error(`not a CoAP message: ${toHex(r.bytes)}`);
  return p.message;
}

const midHex = (m: CoapMessage) => m.messageId.toString(16).padStart(4, '0');

/** ACK (0b01 10 TKL) with `code` piggybacked for the CON `m`, Content-Format 50 and `body`. */
function piggybacked(m: CoapMessage, code: string, body: string): Uint8Array {
  return hex(`${(0x60 | m.token.length).toString(16)}${code}${midHex(m)}${toHex(m.token)}${body === '' ? '' : `c132ff${utf8(body)}`}`);
}

/** A CON POST from the gateway to the device: Message ID `mid` (4 hex), token 4 octets, Uri-Path msgin5g, CF 50, `body`. */
const gatewayPost = (mid: string, token: string, body: string) => hex(`4402${mid}${token}${URI_PATH_MSGIN5G}${CF_JSON}ff${utf8(body)}`);

/** Sends `unit` to the device every 100 ms until `done()` (at most 50 times): CoAP retransmission, shortened. */
async function resendUntil(gw: ScriptedGateway, to: { address: string; port: number }, unit: Uint8Array, done: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !done(); i++) {
    await gw.sendTo(unit, to);
    await sleep(100);
  }
  if (!done()) throw new Error('the device never answered');
}

const msgFor = (msgId: string, payload: string, report: boolean) =>
  JSON.stringify({ messageType: 'MSG', oriAddr: 'ue-1001', targetType: 'UE', msgId, appId: '42', delivStReqInd: report, payload: Buffer.from(payload).toString('base64') });

describe('device send / listen --link coap (raw CoAP gateway)', () => {
  let gw: ScriptedGateway;
  beforeEach(async () => {
    gw = await ScriptedGateway.start('127.0.0.1');
  });
  afterEach(async () => gw.close());

  it('send: one CON POST to msgin5g, Content-Format 50, the §5.3 MSG body; the piggybacked MSGRESP printed, exit 0', async () => {
    gw.setScript((r) => [piggybacked(parsed(r), '44', JSON.stringify({ messageType: 'MSGRESP', msgId: MID, status: 'DELIVERED' }))]);
    const run = await device(['send', '--link', 'coap', '--gateway', gw.address, '--local-port', '0', '--to', 'ue-77', '--payload', 'hex:010203', '--app-id', '42', '--message-id', MID]);
    expect(run.code).toBe(0);
    const m = parsed(gw.received[0]!);
    expect([m.type, m.code, m.token.length]).toEqual(['CON', 0x02, 4]);
    expect(m.options.map((o) => [o.number, toHex(o.value)])).toEqual([
      [11, utf8('msgin5g')],
      [12, '32'],
    ]);
    expect(new TextDecoder().decode(m.payload)).toBe(
      `{"messageType":"MSG","destAddr":"ue-77","targetType":"UE","msgId":"${MID}","appId":"42","delivStReqInd":false,"payload":"AQID"}`,
    );
    expect(lines(run)).toEqual([
      {
        type: 'MESSAGE_SENDING_RESPONSE',
        messageId: MID,
        result: 'ACCEPTED',
        deliveryStatus: 'DELIVERED',
        layer2Id: `127.0.0.1:${gw.received[0]!.port}`,
        coapCode: '2.04',
        json: `{"messageType":"MSGRESP","msgId":"${MID}","status":"DELIVERED"}`,
      },
    ]);
  });

  it('send --report: an empty ACK, then a separate CON response (ACKed, its retransmission too), then the IMDN POST about the msgId printed', async () => {
    let token = '';
    gw.setScript((r, n) => {
      if (n !== 0) return [];
      const m = parsed(r);
      token = toHex(m.token);
      return [hex(`6000${midHex(m)}`)]; // empty ACK: the response comes later
    });
    const run = device(['send', '--link', 'coap', '--gateway', gw.address, '--local-port', '0', '--to', 'ue-77', '--payload', 'hi', '--message-id', MID, '--timeout-ms', '1000', '--retries', '3', '--report', '--report-timeout-s', '10']);
    await gw.until(1);
    await sleep(300);
    const to = { address: '127.0.0.1', port: gw.received[0]!.port };
    const separate = hex(`44447777${token}c132ff${utf8(JSON.stringify({ messageType: 'MSGRESP', msgId: MID, status: 'DELY_STORED' }))}`);
    await gw.sendTo(separate, to);
    await gw.until(2);
    await gw.sendTo(separate, to); // a retransmission of the separate response: ACKed again, not RST
    await gw.until(3);
    expect(gw.received.slice(1, 3).map((r) => toHex(r.bytes))).toEqual(['60007777', '60007777']);
    // The report, as the gateway POSTs it to the device; the device's 2.04 is the ack.
    await gw.sendTo(gatewayPost('7778', 'feedf00d', JSON.stringify({ messageType: 'IMDN', oriAddr: 'ue-77', msgId: MID, delivSt: 'REPT_DELY_SUCCESS' })), to);
    const done = await run;
    expect(toHex(gw.received[3]!.bytes)).toBe('64447778feedf00d');
    expect(gw.received).toHaveLength(4); // the CON was not retransmitted after the empty ACK
    expect(done.code).toBe(0);
    const out = lines(done);
    expect(out[0]).toMatchObject({ result: 'ACCEPTED', deliveryStatus: 'STORED', coapCode: '2.04' });
    expect(out[1]).toMatchObject({ type: 'DELIVERY_REPORT_RECEIVING', originatorAddress: 'ue-77', messageId: MID, deliveryStatus: 'DELIVERED' });
    expect(JSON.parse(new TextDecoder().decode(parsed(gw.received[0]!).payload))).toMatchObject({ delivStReqInd: true });
  });

  it('send: DELY_FAILED prints the failure cause and exits 1; an RST is {"error":"RESET"} exit 2', async () => {
    gw.setScript((r) => [piggybacked(parsed(r), '44', JSON.stringify({ messageType: 'MSGRESP', msgId: MID, status: 'DELY_FAILED', failureCause: 'RECIPIENT_UNKNOWN' }))]);
    const failed = await device(['send', '--link', 'coap', '--gateway', gw.address, '--local-port', '0', '--to', 'ue-77', '--payload', 'hi', '--message-id', MID]);
    expect(failed.code).toBe(1);
    expect(lines(failed)[0]).toMatchObject({ type: 'MESSAGE_SENDING_RESPONSE', result: 'FAILURE', failureReason: 'RECIPIENT_UNKNOWN' });
    gw.setScript((r) => [hex(`7000${midHex(parsed(r))}`)]);
    const reset = await device(['send', '--link', 'coap', '--gateway', gw.address, '--local-port', '0', '--to', 'ue-77', '--payload', 'hi']);
    expect(reset.code).toBe(2);
    expect(lines(reset)[0]).toMatchObject({ error: 'RESET' });
  });

  it('send: an unanswered CON is retransmitted, same octets (same Message ID), until answered; none: {"error":"TIMEOUT"} exit 2', async () => {
    gw.setScript((r, n) => (n < 2 ? [] : [piggybacked(parsed(r), '44', JSON.stringify({ messageType: 'MSGRESP', msgId: MID, status: 'DELIVERED' }))]));
    const run = await device(['send', '--link', 'coap', '--gateway', gw.address, '--local-port', '0', '--to', 'ue-77', '--payload', 'hi', '--message-id', MID, '--timeout-ms', '100', '--retries', '20']);
    expect(run.code).toBe(0);
    expect(gw.received).toHaveLength(3);
    expect(new Set(gw.received.map((r) => toHex(r.bytes))).size).toBe(1);
    gw.setScript(() => []);
    const none = await device(['send', '--link', 'coap', '--gateway', gw.address, '--local-port', '0', '--to', 'ue-77', '--payload', 'hi', '--timeout-ms', '100', '--retries', '2']);
    expect(none.code).toBe(2);
    expect(lines(none)[0]).toMatchObject({ error: 'TIMEOUT' });
    expect(none.stderr).toMatch(/no answer from coap:\/\/127\.0\.0\.1:\d+ within 300 ms/);
  });

  it('send --register: REG then MSG from the same source port', async () => {
    gw.setScript((r) => {
      const m = parsed(r);
      const body = JSON.parse(new TextDecoder().decode(m.payload)) as { messageType: string; msgId?: string };
      return [
        piggybacked(
          m,
          '44',
          body.messageType === 'REG'
            ? '{"messageType":"REG","result":"SUCCESS","appId":"42","registrationId":"0011223344556677"}'
            : JSON.stringify({ messageType: 'MSGRESP', msgId: body.msgId, status: 'DELIVERED' }),
        ),
      ];
    });
    const run = await device(['send', '--register', '--app-id', '42', '--link', 'coap', '--gateway', gw.address, '--local-port', '0', '--to', 'ue-77', '--payload', 'hi']);
    expect(run.code).toBe(0);
    expect(lines(run).map((l) => l['type'])).toEqual(['REGISTRATION_RESPONSE', 'MESSAGE_SENDING_RESPONSE']);
    expect(gw.received[1]!.port).toBe(gw.received[0]!.port);
  });

  it('listen: ACKs the gateway CON POST with a piggybacked 2.04 (same Message ID and token), the same ACK for a retransmission, prints once; RFC 7252 errors', async () => {
    const port = await freePort();
    const to = { address: '127.0.0.1', port };
    const A = 'a0'.repeat(16);
    const run = device(['listen', '--link', 'coap', '--gateway', gw.address, '--local-port', String(port), '--count', '2', '--timeout-s', '15']);
    const first = gatewayPost('1234', 'deadbeef', msgFor(A, 'hello', false));
    const replies = () => gw.received.map((r) => toHex(r.bytes));
    await resendUntil(gw, to, first, () => replies().includes('64441234deadbeef'));
    const before = gw.received.length;
    await gw.sendTo(first, to); // a retransmission: the same ACK again
    await gw.until(before + 1);
    expect(replies()[before]).toBe('64441234deadbeef');
    // Errors (RFC 7252 §5.4.1, §5.8, §5.10.3, §4.2), each answered in an ACK with the request's Message ID and token:
    const probes: Array<[string, string]> = [
      [`44022001cafe0001b3${utf8('abc')}${CF_JSON}ff7b7d`, '64842001cafe0001'], // another Uri-Path: 4.04
      [`44012002cafe0002${URI_PATH_MSGIN5G}`, '64852002cafe0002'], // GET: 4.05
      [`44022003cafe0003${URI_PATH_MSGIN5G}ff${utf8('{}')}`, '648f2003cafe0003'], // no Content-Format: 4.15
      [`44022004cafe0004${URI_PATH_MSGIN5G}${CF_JSON}d10001ff${utf8('{}')}`, '64822004cafe0004'], // option 25 (critical, unknown): 4.02
      [`44022005cafe0005${URI_PATH_MSGIN5G}${CF_JSON}ff${utf8('not json')}`, '64802005cafe0005'], // 4.00
    ];
    for (const [probe, answer] of probes) {
      const n = gw.received.length;
      await gw.sendTo(hex(probe), to);
      await gw.until(n + 1);
      expect(replies()[n]!.startsWith(answer)).toBe(true);
    }
    const n = gw.received.length;
    await gw.sendTo(hex('49022006'), to); // TKL 9: a message format error in a CON: RST
    await gw.until(n + 1);
    expect(replies()[n]).toBe('70002006');
    await gw.sendTo(hex('40002007'), to); // an Empty CON (ping): RST
    await gw.until(n + 2);
    expect(replies()[n + 1]).toBe('70002007');
    const B = 'b0'.repeat(16);
    await gw.sendTo(gatewayPost('1235', 'deadbee0', msgFor(B, 'second', false)), to);
    const done = await run;
    expect(done.code).toBe(0);
    expect(lines(done).map((l) => [l['type'], l['messageId'], l['payloadText']])).toEqual([
      ['MESSAGE_RECEIVING', A, 'hello'],
      ['MESSAGE_RECEIVING', B, 'second'],
    ]);
    expect(lines(done)[0]).toMatchObject({ originatorAddress: 'ue-1001', applicationId: 42, deliveryStatusRequired: false, layer2Id: `127.0.0.1:${port}`, json: msgFor(A, 'hello', false) });
    expect(lines(done)[0]).not.toHaveProperty('hex');
  });

  it('listen --report: after the 2.04, an IMDN POST (REPT_DELY_SUCCESS) to the originator; an IMDN for the device is printed', async () => {
    const port = await freePort();
    const to = { address: '127.0.0.1', port };
    const A = 'a1'.repeat(16);
    gw.setScript((r) => {
      const m = parsed(r);
      return m.type === 'CON' ? [piggybacked(m, '44', '')] : [];
    });
    const run = device(['listen', '--link', 'coap', '--gateway', gw.address, '--local-port', String(port), '--count', '2', '--timeout-s', '15', '--report']);
    await resendUntil(gw, to, gatewayPost('4321', '01020304', msgFor(A, 'report me', true)), () => gw.received.some((r) => r.bytes[0] === 0x64));
    await gw.sendTo(gatewayPost('4322', '01020305', JSON.stringify({ messageType: 'IMDN', oriAddr: 'ue-77', msgId: MID, delivSt: 'REPT_DELY_SUCCESS' })), to);
    const done = await run;
    expect(done.code).toBe(0);
    const imdn = gw.received.map((r) => parseCoapMessage(r.bytes)).find((p) => p.kind === 'MESSAGE' && p.message.type === 'CON');
    // The Application ID of the message (42) names the reporting Application Client (docs/wire-formats.md §5.2).
    expect(imdn?.kind === 'MESSAGE' && new TextDecoder().decode(imdn.message.payload)).toBe(`{"messageType":"IMDN","destAddr":"ue-1001","msgId":"${A}","delivSt":"REPT_DELY_SUCCESS","appId":"42"}`);
    expect(lines(done).map((l) => l['type'])).toEqual(['MESSAGE_RECEIVING', 'DELIVERY_REPORT_RECEIVING']);
    expect(lines(done)[1]).toMatchObject({ originatorAddress: 'ue-77', messageId: MID, deliveryStatus: 'DELIVERED' });
  });

  // The simulator and the gateway's CoAP device link share @msgin5g/protocol's codec; these check it
  // on the wire: the octets the simulator sent, read by the link's own strict reader, and the link's
  // own writers' bodies, read by the simulator.
  it('send --report: the MSG body on the wire is what the CoAP device link reads (decodeCoapDeviceBody); the link-encoded MSGRESP and IMDN are printed', async () => {
    const msgResp = encodeCoapMessageResponse({ kind: 'MESSAGE_SENDING_RESPONSE', messageId: MID as MessageId, result: 'ACCEPTED', deliveryStatus: 'STORED', applicationId: 7 as ApplicationId });
    gw.setScript((r, n) => (n === 0 ? [piggybacked(parsed(r), '44', new TextDecoder().decode(msgResp))] : []));
    const run = device(['send', '--link', 'coap', '--gateway', gw.address, '--local-port', '0', '--to', 'as-weather', '--target-type', 'AS', '--payload', 'hex:00ff', '--app-id', '7', '--message-id', MID, '--report', '--report-timeout-s', '10']);
    await gw.until(1);
    const to = { address: '127.0.0.1', port: gw.received[0]!.port };
    await sleep(200);
    const report = encodeCoapGatewayDelivery({ kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: 'as-weather', messageId: MID as MessageId, deliveryStatus: 'FAILED', applicationId: 7 as ApplicationId, failureReason: 'NOT_DELIVERED' });
    await gw.sendTo(gatewayPost('5151', 'c0ffee01', new TextDecoder().decode(report)), to);
    const done = await run;
    expect(decodeCoapDeviceBody(parsed(gw.received[0]!).payload)).toEqual({
      ok: true,
      value: { kind: 'MESSAGE_SENDING_REQUEST', targetAddress: 'as-weather', messageId: MID, payload: Uint8Array.of(0x00, 0xff), applicationId: 7, deliveryStatusRequired: true, targetType: 'AS' },
    });
    expect(done.code).toBe(1); // a failure report
    const out = lines(done);
    expect(out[0]).toMatchObject({ type: 'MESSAGE_SENDING_RESPONSE', messageId: MID, result: 'ACCEPTED', applicationId: 7, deliveryStatus: 'STORED' });
    expect(out[1]).toMatchObject({ type: 'DELIVERY_REPORT_RECEIVING', originatorAddress: 'as-weather', messageId: MID, deliveryStatus: 'FAILED', applicationId: 7, failureReason: 'NOT_DELIVERED' });
  });

  it('listen --report: a link-encoded MSG is printed; the IMDN body on the wire is what the CoAP device link reads (decodeCoapDeviceBody)', async () => {
    const port = await freePort();
    const to = { address: '127.0.0.1', port };
    const A = 'a2'.repeat(16);
    gw.setScript((r) => {
      const m = parsed(r);
      return m.type === 'CON' ? [piggybacked(m, '44', '')] : [];
    });
    const run = device(['listen', '--link', 'coap', '--gateway', gw.address, '--local-port', String(port), '--count', '1', '--timeout-s', '15', '--report', '--app-id', '9']);
    const msg = encodeCoapGatewayDelivery({ kind: 'MESSAGE_RECEIVING', originatorAddress: 'gw-1/127.0.0.1:4000/3', messageId: A as MessageId, payload: Uint8Array.of(1, 2, 3), deliveryStatusRequired: true, originatorType: 'UE' });
    await resendUntil(gw, to, gatewayPost('6161', 'c0ffee02', new TextDecoder().decode(msg)), () => gw.received.some((r) => r.bytes[0] === 0x64));
    const done = await run;
    expect(done.code).toBe(0);
    expect(lines(done)[0]).toMatchObject({ type: 'MESSAGE_RECEIVING', originatorAddress: 'gw-1/127.0.0.1:4000/3', messageId: A, payloadHex: '010203', deliveryStatusRequired: true, originatorType: 'UE' });
    const imdn = gw.received.map((r) => parseCoapMessage(r.bytes)).find((p) => p.kind === 'MESSAGE' && p.message.type === 'CON');
    if (imdn?.kind !== 'MESSAGE') throw new Error('the device sent no IMDN');
    // No Application ID in the MSG: the device's own (--app-id 9) names the reporting Application Client.
    expect(decodeCoapDeviceBody(imdn.message.payload)).toEqual({ ok: true, value: { kind: 'DELIVERY_REPORT_SENDING_REQUEST', targetAddress: 'gw-1/127.0.0.1:4000/3', messageId: A, deliveryStatus: 'DELIVERED', applicationId: 9 } });
  });
});
