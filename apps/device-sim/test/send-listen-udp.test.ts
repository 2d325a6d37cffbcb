/**
 * `device send` and `device listen` over the UDP link (docs/wire-formats.md §3.2, §5): the built CLI
 * spawned with `node` against a scripted UDP gateway on loopback that answers 0x01 with 0x03, sends
 * 0x04 and 0x06, and checks the 0x05 and 0x02 the device sends back. Request bytes are compared with
 * hex written from §5.2, not with the codec's output.
 */
import * as dgram from 'node:dgram';
import { join } from 'node:path';
import type { ApplicationId, MessageId } from '@msgin5g/core';
import { decodeM5, encodeM5 } from '@msgin5g/protocol';
import { runProcess, type RunResult } from '@msgin5g/test-support';
import { hex, ScriptedGateway, toHex, type Received } from './scripted-gateway';

const MAIN = join(__dirname, '..', 'dist', 'main.js');
const device = (args: string[], timeoutMs = 20_000): Promise<RunResult> => runProcess(process.execPath, [MAIN, ...args], { timeoutMs });

const MID = '000102030405060708090a0b0c0d0e0f';
/** §5.2 example: Application ID 42 sends 01 02 03 to "ue-77", report wanted. */
const EXAMPLE_REQUEST = `0105${'75652d3737'}${MID}0003010203a0002ab1`;
const ACCEPTED = `03${MID}00a0002a`;

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A MESSAGE RECEIVING for application 42 from `from`. */
function messageReceiving(messageId: string, payload: string, deliveryStatusRequired: boolean, from = 'ue-1001'): Uint8Array {
  return encodeM5({
    kind: 'MESSAGE_RECEIVING',
    originatorAddress: from,
    messageId: messageId as MessageId,
    payload: new TextEncoder().encode(payload),
    applicationId: 42 as ApplicationId,
    deliveryStatusRequired,
    originatorType: 'UE',
  });
}

/** The 0x05 units the gateway got for `messageId`. */
const acksFor = (gw: ScriptedGateway, messageId: string): Received[] => gw.received.filter((r) => toHex(r.bytes) === `05${messageId}a0002a`);

/** Sends `unit` to the device every 100 ms until `done()` (at most 50 times): the gateway's resends. */
async function resendUntil(gw: ScriptedGateway, to: { address: string; port: number }, unit: Uint8Array, done: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !done(); i++) {
    await gw.sendTo(unit, to);
    await sleep(100);
  }
  if (!done()) throw new Error('the device never acknowledged');
}

describe('device send / listen --link udp', () => {
  let gw: ScriptedGateway;
  beforeEach(async () => {
    gw = await ScriptedGateway.start('127.0.0.1');
  });
  afterEach(async () => gw.close());

  it('send: the §5.2 example bytes, the MESSAGE SENDING RESPONSE printed as one line, exit 0 on ACCEPTED', async () => {
    gw.setScript((r) => (r.bytes[0] === 0x01 ? [hex(ACCEPTED)] : []));
    const run = await device(['send', '--gateway', gw.address, '--local-port', '0', '--to', 'ue-77', '--payload', 'hex:010203', '--app-id', '42', '--message-id', MID.toUpperCase(), '--report', '--report-timeout-s', '1']);
    expect(toHex(gw.received[0]!.bytes)).toBe(EXAMPLE_REQUEST);
    const [response] = lines(run);
    expect(response).toEqual({ type: 'MESSAGE_SENDING_RESPONSE', messageId: MID, result: 'ACCEPTED', applicationId: 42, layer2Id: `127.0.0.1:${gw.received[0]!.port}`, hex: ACCEPTED });
    // --report waited for a report that never came: said so, exit 2.
    expect(lines(run)[1]).toEqual({ error: 'REPORT_TIMEOUT', messageId: MID, reportTimeoutS: 1 });
    expect(run.stderr).toMatch(/no DELIVERY REPORT RECEIVING for Message ID 000102/);
    expect(run.code).toBe(2);
  });

  it('send --report: prints the DELIVERY REPORT RECEIVING about its Message ID (not another one), exit 0', async () => {
    const report = (messageId: string) =>
      encodeM5({ kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: 'ue-77', messageId: messageId as MessageId, deliveryStatus: 'DELIVERED', applicationId: 42 as ApplicationId });
    // A report about another message first (ignored), then the response, then the report.
    gw.setScript((r) => (r.bytes[0] === 0x01 ? [report('ff'.repeat(16)), hex(ACCEPTED), report(MID)] : []));
    const run = await device(['send', '--gateway', gw.address, '--local-port', '0', '--to', 'ue-77', '--payload', 'hex:010203', '--app-id', '42', '--message-id', MID, '--report', '--report-timeout-s', '5']);
    expect(run.code).toBe(0);
    const out = lines(run);
    expect(out.map((l) => l['type'])).toEqual(['MESSAGE_SENDING_RESPONSE', 'DELIVERY_REPORT_RECEIVING']);
    expect(out[1]).toMatchObject({ originatorAddress: 'ue-77', messageId: MID, deliveryStatus: 'DELIVERED' });
    expect(run.stderr).toMatch(/not taken.*ffffffff/);
  });

  it('send: a FAILURE response prints its Failure reason and exits 1; a random Message ID is 32 hex', async () => {
    gw.setScript((r) => (r.bytes[0] === 0x01 ? [Uint8Array.from([0x03, ...r.bytes.subarray(7, 23), 0x01, 0x22, 0x01, 0x0a])] : []));
    const run = await device(['send', '--gateway', gw.address, '--local-port', '0', '--to', 'ue-77', '--payload', 'hello']);
    expect(run.code).toBe(1);
    const [line] = lines(run);
    expect(line).toMatchObject({ type: 'MESSAGE_SENDING_RESPONSE', result: 'FAILURE', failureReason: 'DEVICE_NOT_REGISTERED' });
    expect(line!['messageId']).toMatch(/^[0-9a-f]{32}$/);
    expect(toHex(gw.received[0]!.bytes.subarray(7, 23))).toBe(line!['messageId']);
    // Text payload as UTF-8, no Application ID, no report wanted, target type UE (absent).
    expect(toHex(gw.received[0]!.bytes)).toBe(`0105${toHex(new TextEncoder().encode('ue-77'))}${line!['messageId'] as string}0005${toHex(new TextEncoder().encode('hello'))}`);
  });

  it('send: resends the same Message ID after --timeout-ms until answered; a response to another Message ID does not count', async () => {
    const idOf = (b: Uint8Array) => b.subarray(2 + b[1]!, 18 + b[1]!);
    gw.setScript((r, n) => (n < 2 ? [] : n === 2 ? [hex(`03${'ee'.repeat(16)}00`)] : [Uint8Array.from([0x03, ...idOf(r.bytes), 0x00])]));
    const run = await device(['send', '--gateway', gw.address, '--local-port', '0', '--to', 'as-service-1', '--target-type', 'AS', '--payload', 'x', '--timeout-ms', '150', '--retries', '5']);
    expect(run.code).toBe(0);
    expect(gw.received.length).toBe(4);
    expect(new Set(gw.received.map((r) => toHex(r.bytes))).size).toBe(1);
    expect(toHex(gw.received[0]!.bytes).endsWith('d1')).toBe(true); // Target type AS
    expect(lines(run)).toHaveLength(1);
  });

  it('send to a gateway that does not relay messages yet (STATUS 1F 09 01): the STATUS printed, exit 1', async () => {
    gw.setScript(() => [hex('1f0901')]);
    const run = await device(['send', '--gateway', gw.address, '--local-port', '0', '--to', 'ue-77', '--payload', 'x']);
    expect(run.code).toBe(1);
    expect(lines(run)).toEqual([expect.objectContaining({ type: 'STATUS', failureReason: 'MESSAGE_TYPE_NOT_SUPPORTED', offendingMessageType: 1, hex: '1f0901' })]);
    expect(gw.received).toHaveLength(1);
  });

  it('send: no answer: {"error":"TIMEOUT",…} after --retries resends, exit 2', async () => {
    const run = await device(['send', '--gateway', gw.address, '--local-port', '0', '--to', 'ue-77', '--payload', 'x', '--timeout-ms', '100', '--retries', '2']);
    expect(run.code).toBe(2);
    expect(lines(run)).toEqual([expect.objectContaining({ error: 'TIMEOUT', attempts: 3, timeoutMs: 100 })]);
    expect(gw.received).toHaveLength(3);
    expect(run.stderr).toMatch(/no answer from/);
  });

  it('send --register: registers from the same source port first, prints both responses', async () => {
    gw.setScript((r) => (r.bytes[0] === 0x10 ? [hex('1100a0002a21080011223344556677')] : r.bytes[0] === 0x01 ? [Uint8Array.from([0x03, ...r.bytes.subarray(7, 23), 0x00, 0xa0, 0x00, 0x2a])] : []));
    const run = await device(['send', '--register', '--app-id', '42', '--gateway', gw.address, '--local-port', '0', '--to', 'ue-77', '--payload', 'hi']);
    expect(run.code).toBe(0);
    expect(lines(run).map((l) => [l['type'], l['result']])).toEqual([
      ['REGISTRATION_RESPONSE', 'SUCCESS'],
      ['MESSAGE_SENDING_RESPONSE', 'ACCEPTED'],
    ]);
    expect(toHex(gw.received[0]!.bytes)).toBe('10002a');
    expect(gw.received[1]!.port).toBe(gw.received[0]!.port);
  });

  it('send --register: a refused registration sends no message, exit 1', async () => {
    gw.setScript((r) => (r.bytes[0] === 0x10 ? [hex('1101a0002a220102')] : []));
    const run = await device(['send', '--register', '--app-id', '42', '--gateway', gw.address, '--local-port', '0', '--to', 'ue-77', '--payload', 'hi']);
    expect(run.code).toBe(1);
    expect(gw.received.map((r) => r.bytes[0])).toEqual([0x10]);
    expect(run.stderr).toMatch(/registration refused \(NOT_AUTHORISED\)/);
  });

  it('listen: prints each message once, acknowledges every copy with 0x05, exits 0 after --count', async () => {
    const port = await freePort();
    const A = 'a0'.repeat(16);
    const B = 'b0'.repeat(16);
    const run = device(['listen', '--gateway', gw.address, '--local-port', String(port), '--count', '2', '--timeout-s', '15']);
    const to = { address: '127.0.0.1', port };
    await resendUntil(gw, to, messageReceiving(A, 'hello', false), () => acksFor(gw, A).length > 0);
    await gw.sendTo(messageReceiving(A, 'hello', false), to); // a copy after the ack: acked again, not printed
    await gw.until(gw.received.length + 1);
    await gw.sendTo(hex('1f0910'), to); // not for listen: ignored
    const binary = encodeM5({ kind: 'MESSAGE_RECEIVING', originatorAddress: 'as-service-1', messageId: B as MessageId, payload: Uint8Array.of(0x00, 0xff), deliveryStatusRequired: true, originatorType: 'AS' });
    await resendUntil(gw, to, binary, () => gw.received.some((r) => toHex(r.bytes) === `05${B}`));
    const done = await run;
    expect(done.code).toBe(0);
    const out = lines(done);
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual({
      type: 'MESSAGE_RECEIVING',
      originatorAddress: 'ue-1001',
      messageId: A,
      payloadText: 'hello',
      payloadHex: '68656c6c6f',
      applicationId: 42,
      deliveryStatusRequired: false,
      originatorType: 'UE',
      layer2Id: `127.0.0.1:${port}`,
      hex: toHex(messageReceiving(A, 'hello', false)),
      ackHex: `05${A}a0002a`, // the 0x05 it sent: Message ID, Application ID 42 from the 0x04
    });
    expect(acksFor(gw, A).map((r) => toHex(r.bytes))).toContain(out[0]!['ackHex']);
    // Not printable: hex only. No Application ID in the 0x04 and none given: the ack has none.
    expect(out[1]).toMatchObject({ messageId: B, payloadHex: '00ff', deliveryStatusRequired: true, originatorType: 'AS', ackHex: `05${B}` });
    expect(out[1]).not.toHaveProperty('payloadText');
    expect(acksFor(gw, A).length).toBeGreaterThanOrEqual(2);
    expect(gw.received.every((r) => r.port === port)).toBe(true);
    expect(gw.received.some((r) => r.bytes[0] === 0x02)).toBe(false); // no --report: no 0x02
    expect(done.stderr).toMatch(/another copy of MESSAGE_RECEIVING a0a0/);
  });

  it('listen --report: a DELIVERY REPORT SENDING REQUEST (delivered) to the originator before the first ack; DELIVERY REPORT RECEIVING printed too', async () => {
    const port = await freePort();
    const A = 'a1'.repeat(16);
    const run = device(['listen', '--gateway', gw.address, '--local-port', String(port), '--count', '2', '--timeout-s', '15', '--report', '--app-id', '7']);
    const to = { address: '127.0.0.1', port };
    await resendUntil(gw, to, messageReceiving(A, 'report me', true), () => acksFor(gw, A).length > 0);
    const report = encodeM5({ kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: 'ue-77', messageId: 'c0'.repeat(16) as MessageId, deliveryStatus: 'FAILED', failureReason: 'NOT_DELIVERED' });
    await gw.sendTo(report, to);
    const done = await run;
    expect(done.code).toBe(0);
    const types = gw.received.map((r) => r.bytes[0]);
    expect(types.indexOf(0x02)).toBeGreaterThanOrEqual(0);
    expect(types.indexOf(0x02)).toBeLessThan(types.indexOf(0x05));
    const sent = decodeM5(gw.received[types.indexOf(0x02)]!.bytes);
    expect(sent).toEqual({ ok: true, message: { kind: 'DELIVERY_REPORT_SENDING_REQUEST', targetAddress: 'ue-1001', messageId: A, deliveryStatus: 'DELIVERED', applicationId: 42 } });
    expect(lines(done).map((l) => l['type'])).toEqual(['MESSAGE_RECEIVING', 'DELIVERY_REPORT_RECEIVING']);
    expect(lines(done)[1]).toMatchObject({ deliveryStatus: 'FAILED', failureReason: 'NOT_DELIVERED' });
    expect(types.filter((t) => t === 0x05)).toHaveLength(acksFor(gw, A).length); // no ack for a 0x06
  });

  it('listen: fewer than --count before --timeout-s: says so on stderr, exit 1', async () => {
    const run = await device(['listen', '--gateway', gw.address, '--local-port', '0', '--count', '1', '--timeout-s', '1']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/0 of 1 message\(s\) arrived within 1 s/);
    expect(run.stderr).toMatch(/messages reach only a device registered from this Layer-2 ID/);
  });

  it('listen --register: registers, then takes the message on the same port', async () => {
    const port = await freePort();
    gw.setScript((r) => (r.bytes[0] === 0x10 ? [hex('1100a0002a21080011223344556677')] : []));
    const run = device(['listen', '--register', '--app-id', '42', '--gateway', gw.address, '--local-port', String(port), '--timeout-s', '10']);
    await gw.until(1, 5000);
    const A = 'a2'.repeat(16);
    await resendUntil(gw, { address: '127.0.0.1', port }, messageReceiving(A, 'after registration', false), () => acksFor(gw, A).length > 0);
    const done = await run;
    expect(done.code).toBe(0);
    expect(lines(done).map((l) => l['type'])).toEqual(['REGISTRATION_RESPONSE', 'MESSAGE_RECEIVING']);
  });

  it.each([
    ['a short --to', ['send', '--to', 'ue', '--payload', 'x'], /--to must be/],
    ['an odd hex payload', ['send', '--to', 'ue-77', '--payload', 'hex:abc'], /even number of hex digits/],
    ['an empty payload', ['send', '--to', 'ue-77', '--payload', ''], /--payload must be 1\.\.65535 octets/],
    ['a bad --message-id', ['send', '--to', 'ue-77', '--payload', 'x', '--message-id', '1234'], /--message-id/],
    ['a bad --target-type', ['send', '--to', 'ue-77', '--payload', 'x', '--target-type', 'HOST'], /--target-type/],
    ['send --register without --app-id', ['send', '--to', 'ue-77', '--payload', 'x', '--register'], /--register needs --app-id/],
    ['no --to', ['send', '--payload', 'x'], /--to/],
    ['listen --count 0', ['listen', '--count', '0'], /--count must be/],
    ['listen --register without --app-id', ['listen', '--register'], /--register needs --app-id/],
  ])('bad arguments (%s): message on stderr, nothing sent, exit 2', async (_what, args, message) => {
    const run = await device([...args, '--gateway', gw.address, '--local-port', '0']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(gw.received).toHaveLength(0);
  });

  it('--help of send and listen documents the options and the two ways to register', async () => {
    const send = await device(['send', '--help']);
    expect(send.code).toBe(0);
    const s = send.stdout.replace(/\s+/g, ' ');
    for (const flag of ['--to <address>', '--payload <text|hex:HEX>', '--report', '--report-timeout-s', '--message-id', '--target-type', '--register', '(default: 60)']) expect(s).toContain(flag);
    const listen = await device(['listen', '--help']);
    const l = listen.stdout.replace(/\s+/g, ' ');
    for (const flag of ['--count <n>', '--timeout-s <s>', '--report', '--app-id', '--register']) expect(l).toContain(flag);
    const top = (await device(['--help'])).stdout.replace(/\s+/g, ' ');
    expect(top).toContain('device listen --register --app-id 42');
    expect(top).toContain('the same --local-port (udp, coap), --mac (l2) or --serial-path (serial)');
  });
});
