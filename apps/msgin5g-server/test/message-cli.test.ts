/**
 * `msgin5g-server send` and `msgin5g-server messages` as real processes (`node dist/main.js`)
 * against a server started here (in-process, or as the CLI for its new flags), with a fake gateway
 * (`fake-gateway-inbox.ts`) standing for the device's gateway; and `GET /messages` read directly.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createReferenceServer, MESSAGES_PAGE_MAX_OCTETS, type ReferenceServer } from '@msgin5g/server';
import { MSGIN5G1_MAX_MESSAGE_PAYLOAD_OCTETS } from '@msgin5g/protocol';
import { LineProcess, runProcess } from '@msgin5g/test-support';
import { coapRequest } from './clients';
import { FakeGatewayInbox } from './fake-gateway-inbox';

const MAIN = join(__dirname, '..', 'dist', 'main.js');
const GW = 'gw-cli-1';
const DEV = 'gw-cli-1/dev/7';

function cli(args: string[], timeoutMs = 20_000) {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx tsc -b)`);
  return runProcess(process.execPath, [MAIN, ...args], { timeoutMs });
}
const lines = (out: string): Array<Record<string, unknown>> =>
  out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('msgin5g-server send / messages', () => {
  let server: ReferenceServer;
  let uri: string;
  let target: { host: string; port: number };
  let gateway: FakeGatewayInbox;

  const post = async (body: unknown): Promise<Record<string, unknown>> => JSON.parse((await coapRequest(target, { body: JSON.stringify(body) })).body) as Record<string, unknown>;

  beforeEach(async () => {
    server = createReferenceServer({ host: '127.0.0.1', port: 0, messages: { retryInitialMs: 100, deliveryTimeoutMs: 500 } });
    target = await server.start();
    uri = `coap://127.0.0.1:${target.port}`;
    gateway = await FakeGatewayInbox.open();
    await post({ messageType: 'REG', ueServiceId: GW, notifyUri: gateway.uri() });
    await post({ messageType: 'REG', ueServiceId: DEV, gatewayUeServiceId: GW, appId: '7' });
  });
  afterEach(async () => {
    await server.stop();
    await gateway.close();
  });

  it('send --report: prints MSGRESP DELY_STORED, the gateway gets the MSG, and the device report (IMDN) is printed when it comes; exit 0', async () => {
    const running = cli(['send', '--to', DEV, '--payload', 'hex:01020304', '--report', '--server', uri, '--timeout-s', '15', '--app-id', '7']);
    const [d] = await gateway.waitFor(1, 10_000);
    expect(d!.body).toMatchObject({ messageType: 'MSG', oriAddr: 'as-demo', destAddr: DEV, appId: '7', delivStReqInd: true, payload: Buffer.from([1, 2, 3, 4]).toString('base64') });
    const msgId = d!.body['msgId'] as string;
    // The device's report, through its gateway.
    expect(await post({ messageType: 'IMDN', oriAddr: DEV, destAddr: 'as-demo', msgId, delivSt: 'REPT_DELY_SUCCESS', gatewayUeServiceId: GW })).toEqual({ messageType: 'IMDN', result: 'SUCCESS' });
    const r = await running;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out).toEqual([
      { messageType: 'MSGRESP', msgId, status: 'DELY_STORED' },
      expect.objectContaining({ messageType: 'IMDN', oriAddr: DEV, destAddr: 'as-demo', msgId, delivSt: 'REPT_DELY_SUCCESS' }),
    ]);
  });

  it('send with the largest payload MSGin5G-1 always carries (2,355 octets): one datagram each way (over coap-packet\'s 1,280-octet limit), exit 0', async () => {
    const payload = Buffer.alloc(MSGIN5G1_MAX_MESSAGE_PAYLOAD_OCTETS, 0xdb);
    const r = await cli(['send', '--to', DEV, '--payload', `hex:${payload.toString('hex')}`, '--server', uri]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([expect.objectContaining({ messageType: 'MSGRESP', status: 'DELY_STORED' })]);
    const [d] = await gateway.waitFor(1, 10_000);
    expect(d!.body).toMatchObject({ messageType: 'MSG', oriAddr: 'as-demo', destAddr: DEV, payload: payload.toString('base64') });
    expect(gateway.datagrams).toBe(1);
  });

  it('send --report with a failure report exits 1; with no report in time exits 1 saying so', async () => {
    const running = cli(['send', '--to', DEV, '--payload', 'x', '--report', '--server', uri, '--timeout-s', '15', '--from', 'as-other']);
    const [d] = await gateway.waitFor(1, 10_000);
    const msgId = d!.body['msgId'] as string;
    await post({ messageType: 'IMDN', oriAddr: DEV, destAddr: 'as-other', msgId, delivSt: 'REPT_DELY_FAILED', failureCause: 'NOT_DELIVERED', gatewayUeServiceId: GW });
    const failed = await running;
    expect(failed.code).toBe(1);
    expect(lines(failed.stdout)[1]).toMatchObject({ delivSt: 'REPT_DELY_FAILED', failureCause: 'NOT_DELIVERED' });

    const silent = await cli(['send', '--to', DEV, '--payload', 'y', '--report', '--server', uri, '--timeout-s', '1']);
    expect(silent.code).toBe(1);
    expect(lines(silent.stdout)).toEqual([expect.objectContaining({ status: 'DELY_STORED' })]);
    expect(silent.stderr).toMatch(/no delivery report for [0-9a-f]{32} within 1 s/);
  });

  it('send to an unknown UE Service ID prints DELY_FAILED RECIPIENT_UNKNOWN and exits 1; bad usage exits 2 with one line', async () => {
    const r = await cli(['send', '--to', 'nobody-here', '--payload', 'x', '--server', uri, '--msg-id', '00'.repeat(16)]);
    expect(r.code).toBe(1);
    expect(lines(r.stdout)).toEqual([{ messageType: 'MSGRESP', msgId: '00'.repeat(16), status: 'DELY_FAILED', failureCause: 'RECIPIENT_UNKNOWN' }]);
    for (const [args, text] of [
      [['--to', 'abc', '--payload', 'x'], 'destAddr'],
      [['--to', DEV, '--payload', 'hex:123'], 'even number of hex digits'],
      [['--to', DEV, '--payload', 'x', '--server', 'http://x'], 'coap://'],
      [['--payload', 'x'], "required option '--to"],
    ] as const) {
      const bad = await cli(['send', ...args]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(text);
      expect(bad.stdout).toBe('');
    }
  });

  it('messages prints what reached the pretend AS, oldest first; --since skips; --follow prints new entries as they come', async () => {
    await post({ messageType: 'MSG', oriAddr: DEV, destAddr: 'as-demo', msgId: 'a'.repeat(32), delivStReqInd: false, payload: Buffer.from('one').toString('base64'), gatewayUeServiceId: GW });
    await post({ messageType: 'MSG', oriAddr: DEV, destAddr: 'as-demo', msgId: 'b'.repeat(32), delivStReqInd: false, payload: Buffer.from([0xff, 0x00]).toString('base64'), gatewayUeServiceId: GW });
    const all = await cli(['messages', '--server', uri]);
    expect(all.code).toBe(0);
    expect(lines(all.stdout)).toEqual([
      expect.objectContaining({ seq: 1, oriAddr: DEV, destAddr: 'as-demo', msgId: 'a'.repeat(32), payloadText: 'one', payloadHex: '6f6e65' }),
      expect.objectContaining({ seq: 2, msgId: 'b'.repeat(32), payloadText: null, payloadHex: 'ff00' }),
    ]);
    expect(lines((await cli(['messages', '--server', uri, '--since', '1'])).stdout).map((e) => e['seq'])).toEqual([2]);

    const follow = LineProcess.start(process.execPath, [MAIN, 'messages', '--server', uri, '--follow', '--interval-ms', '100'], { name: 'messages --follow' });
    try {
      await follow.waitForLine((l) => l.includes('"seq":2'), { timeoutMs: 10_000 });
      await post({ messageType: 'MSG', oriAddr: DEV, destAddr: 'as-demo', msgId: 'c'.repeat(32), delivStReqInd: false, payload: Buffer.from('three').toString('base64'), gatewayUeServiceId: GW });
      await follow.waitForLine((l) => l.includes('"seq":3') && l.includes('three'), { timeoutMs: 10_000 });
      await expect(follow.stop('SIGINT')).resolves.toEqual({ code: 0, signal: null });
    } finally {
      await follow.stop('SIGKILL');
    }
  });

  it('many entries: every page stays under the Block2 threshold and `messages` still prints them all', async () => {
    for (let i = 0; i < 12; i++) {
      const msgId = i.toString(16).padStart(32, '0');
      await post({ messageType: 'MSG', oriAddr: DEV, destAddr: 'as-demo', msgId, delivStReqInd: false, payload: Buffer.alloc(200, 0x41 + i).toString('base64'), gatewayUeServiceId: GW });
    }
    const newest = await coapRequest(target, { method: 'GET', path: '/messages', contentFormat: null });
    expect(newest.code).toBe('2.05');
    expect(Buffer.byteLength(newest.body)).toBeLessThanOrEqual(MESSAGES_PAGE_MAX_OCTETS);
    const page = JSON.parse(newest.body) as { lastSeq: number; more: boolean; messages: Array<Record<string, unknown>> };
    expect(page.lastSeq).toBe(12);
    expect(page.more).toBe(true);
    expect(page.messages.at(-1)).toMatchObject({ seq: 12, payloadOctets: 200, payloadTruncated: true, payloadText: 'L'.repeat(64) });
    const all = lines((await cli(['messages', '--server', uri])).stdout);
    expect(all.map((e) => e['seq'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('GET /messages: since=N, a bad query → 4.00, another method → 4.05', async () => {
    await post({ messageType: 'MSG', oriAddr: 'as-demo', destAddr: 'as-demo', msgId: 'd'.repeat(32), delivStReqInd: true, payload: Buffer.from('self').toString('base64') });
    const after1 = JSON.parse((await coapRequest(target, { method: 'GET', path: '/messages', query: 'since=1', contentFormat: null })).body) as { messages: Array<Record<string, unknown>> };
    expect(after1.messages).toEqual([expect.objectContaining({ seq: 2, messageType: 'IMDN', delivSt: 'REPT_DELY_SUCCESS' })]);
    const bad = await coapRequest(target, { method: 'GET', path: '/messages', query: 'from=1', contentFormat: null });
    expect(bad.code).toBe('4.00');
    expect(JSON.parse(bad.body)).toEqual({ error: expect.stringContaining('since=<seq>') });
    expect((await coapRequest(target, { method: 'POST', path: '/messages', body: '{}' })).code).toBe('4.05');
  });
});

describe('msgin5g-server with the message flags', () => {
  it('--as-service-id names the pretend AS; --help lists send, messages and the new flags', async () => {
    const r = LineProcess.start(process.execPath, [MAIN, '--port', '0', '--as-service-id', 'as-cli-test', '--message-expiry-s', '5', '--max-stored-messages', '3', '--inbox-size', '10'], { name: 'msgin5g-server' });
    try {
      const ready = await r.waitForJson((l) => l['msg'] === 'MSGin5G Server listening', 5000, 'the readiness line');
      expect(ready['asServiceId']).toBe('as-cli-test');
      const uri = `coap://127.0.0.1:${ready['port'] as number}`;
      const sent = await cli(['send', '--to', 'as-cli-test', '--payload', 'hi', '--server', uri, '--report', '--from', 'as-cli-test']);
      expect(sent.code).toBe(0);
      expect(lines(sent.stdout).map((l) => l['status'] ?? l['delivSt'])).toEqual(['DELIVERED', 'REPT_DELY_SUCCESS']);
      await expect(r.stop('SIGTERM')).resolves.toEqual({ code: 0, signal: null });
      expect(r.jsonLines().find((l) => l['msg'] === 'MSGin5G Server stopping')).toMatchObject({ messages: { msgReceived: 1, toInbox: 2, waiting: 0 } });
    } finally {
      await r.stop('SIGKILL');
    }
    const help = await cli(['--help']);
    for (const s of ['send --to UE_SERVICE_ID --payload TEXT|hex:HEX', 'messages [--server', '--as-service-id', '--message-expiry-s', '--max-stored-messages', '--inbox-size']) expect(help.stdout).toContain(s);
    const sendHelp = await cli(['send', '--help']);
    expect(sendHelp.code).toBe(0);
    expect(sendHelp.stdout).toContain('--report');
  });

  it('a bad --message-expiry-s or --as-service-id exits 2', async () => {
    expect((await cli(['--port', '0', '--message-expiry-s', '0'])).code).toBe(2);
    expect((await cli(['--port', '0', '--as-service-id', 'as'])).stderr).toContain('5..255 octets');
  });
});
