/**
 * `CoapServerInbox` (docs/adr/0013, docs/wire-formats.md §5.4) driven with raw RFC 7252 datagrams
 * built byte by byte: every rule of the message layer and the resource, duplicate detection, the
 * handler's verdicts (fast, slow, failing), the bounds, and the `notifyUri` rule.
 */
import type { RemoteInfo } from 'node:dgram';
import { createSocket } from 'node:dgram';
import type { MessageId, ServerDelivery, ServerDeliveryVerdict, ServerInboxHandler } from '@msgin5g/core';
import { ServerInboxError } from '@msgin5g/core';
import { CoapServerInbox, CoapServerLink, type CoapServerInboxOptions } from '@msgin5g/coap-server-link';
import { checkNotifyUri, COAP_OPTION, encodeCoapMessage, type CoapOption, type CoapType } from '@msgin5g/protocol';
import { ACK, NON, RawCoapPeer, RST, type RawMessage } from './raw-coap-peer';
import { RecordingLogger } from './recording-logger';

const MID = '000102030405060708090a0b0c0d0e0f' as MessageId;
const DEVICE = 'gw-1/127.0.0.1:40001/42';
const TOKEN = Buffer.from('a1b2c3d4', 'hex');
const POST = 0x02;
const GET = 0x01;

const msgBody = (extra: Record<string, unknown> = {}): Buffer =>
  Buffer.from(JSON.stringify({ messageType: 'MSG', oriAddr: 'as-weather', destAddr: DEVICE, targetType: 'UE', msgId: MID, appId: '42', delivStReqInd: true, payload: 'AQID', ...extra }));
const imdnBody = (extra: Record<string, unknown> = {}): Buffer => Buffer.from(JSON.stringify({ messageType: 'IMDN', oriAddr: 'ue-77', destAddr: DEVICE, msgId: MID, delivSt: 'REPT_DELY_SUCCESS', ...extra }));

const uriPath = (s = 'msgin5g'): CoapOption => ({ number: COAP_OPTION.URI_PATH, value: Buffer.from(s) });
const contentFormat = (n = 50): CoapOption => ({ number: COAP_OPTION.CONTENT_FORMAT, value: n === 0 ? new Uint8Array(0) : Uint8Array.of(n) });

/** A request datagram (RFC 7252 §3), POST /msgin5g with Content-Format 50 unless told otherwise. */
function request(o: { type?: CoapType; code?: number; messageId: number; token?: Uint8Array; options?: CoapOption[]; payload?: Uint8Array }): Buffer {
  return Buffer.from(
    encodeCoapMessage({ type: o.type ?? 'CON', code: o.code ?? POST, messageId: o.messageId, token: o.token ?? TOKEN, options: o.options ?? [uriPath(), contentFormat()], payload: o.payload ?? msgBody() }),
  );
}

/** A handler that records deliveries and answers with `verdict` (default STORED at once). */
class ScriptedHandler implements ServerInboxHandler {
  readonly deliveries: ServerDelivery[] = [];
  verdict: (d: ServerDelivery) => Promise<ServerDeliveryVerdict> = async () => ({ kind: 'STORED' });
  onServerDelivery(d: ServerDelivery): Promise<ServerDeliveryVerdict> {
    this.deliveries.push(d);
    return this.verdict(d);
  }
}

const json = (m: RawMessage): unknown => JSON.parse(m.payload.toString('utf8'));
const option = (m: RawMessage, n: number): Buffer | undefined => m.options.find((o) => o.number === n)?.value;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('CoapServerInbox with raw RFC 7252 datagrams', () => {
  let inbox: CoapServerInbox;
  let handler: ScriptedHandler;
  let client: RawCoapPeer;
  let logger: RecordingLogger;
  let to: RemoteInfo;

  async function open(options: Partial<CoapServerInboxOptions> = {}): Promise<void> {
    await inbox?.stop();
    inbox = new CoapServerInbox({ host: '127.0.0.1', port: 0, logger, ...options });
    await inbox.start(handler);
    to = { address: '127.0.0.1', port: Number(new URL(inbox.notifyUri).port), family: 'IPv4', size: 0 };
  }
  /** Sends `bytes` and waits for `n` more datagrams back (or, with `n` 0, a quiet 150 ms). */
  async function exchange(bytes: Buffer, n = 1): Promise<RawMessage[]> {
    const before = client.received.length;
    client.send(bytes, to);
    if (n === 0) {
      await sleep(150);
    } else {
      await client.waitFor((r) => r.length >= before + n);
    }
    return client.received.slice(before);
  }

  beforeEach(async () => {
    handler = new ScriptedHandler();
    logger = new RecordingLogger();
    client = await RawCoapPeer.start();
    await open();
  });
  afterEach(async () => {
    await inbox.stop();
    await client.close();
  });

  describe('RFC 7252 §5.2.1: a CON POST of a MSG is answered piggybacked once the handler resolves', () => {
    it('STORED → ACK 2.04, same Message ID and token, Content-Format 50, MSGRESP DELY_STORED; the delivery mapped per §5.4', async () => {
      const [answer] = await exchange(request({ messageId: 0x1001 }));
      expect(answer).toMatchObject({ type: ACK, code: '2.04', messageId: 0x1001 });
      expect(answer!.token).toEqual(TOKEN);
      expect(option(answer!, COAP_OPTION.CONTENT_FORMAT)).toEqual(Buffer.from([50]));
      expect(answer!.payload.toString('utf8')).toBe(`{"messageType":"MSGRESP","msgId":"${MID}","status":"DELY_STORED"}`);
      expect(handler.deliveries).toEqual([
        { kind: 'MSG', originatorAddress: 'as-weather', originatorType: 'UE', targetAddress: DEVICE, messageId: MID, applicationId: 42, deliveryStatusRequired: true, payload: new Uint8Array([1, 2, 3]) },
      ]);
    });

    it('oriType AS gives originatorType AS; no appId gives none', async () => {
      await exchange(request({ messageId: 0x1002, payload: msgBody({ oriType: 'AS', appId: undefined }) }));
      expect(handler.deliveries[0]).toMatchObject({ originatorType: 'AS' });
      expect('applicationId' in handler.deliveries[0]!).toBe(false);
    });

    it('FAILURE → 2.04 MSGRESP DELY_FAILED with failureCause the reason', async () => {
      handler.verdict = async () => ({ kind: 'FAILURE', reason: 'RECIPIENT_UNKNOWN', detail: 'no such device' });
      const [answer] = await exchange(request({ messageId: 0x1003 }));
      expect(answer).toMatchObject({ type: ACK, code: '2.04' });
      expect(json(answer!)).toEqual({ messageType: 'MSGRESP', msgId: MID, status: 'DELY_FAILED', failureCause: 'RECIPIENT_UNKNOWN' });
    });

    it('an IMDN → the IMDN answer: SUCCESS when STORED, FAILURE with the reason otherwise', async () => {
      const [ok] = await exchange(request({ messageId: 0x1004, payload: imdnBody() }));
      expect(json(ok!)).toEqual({ messageType: 'IMDN', result: 'SUCCESS' });
      expect(handler.deliveries[0]).toEqual({ kind: 'IMDN', originatorAddress: 'ue-77', targetAddress: DEVICE, messageId: MID, deliveryStatus: 'DELIVERED' });
      handler.verdict = async () => ({ kind: 'FAILURE', reason: 'CONGESTION', detail: 'queue full' });
      const [refused] = await exchange(request({ messageId: 0x1005, payload: imdnBody({ delivSt: 'REPT_DELY_FAILED', failureCause: 'NOT_DELIVERED' }) }));
      expect(json(refused!)).toEqual({ messageType: 'IMDN', result: 'FAILURE', failureCause: 'CONGESTION' });
      expect(handler.deliveries[1]).toMatchObject({ deliveryStatus: 'FAILED', failureReason: 'NOT_DELIVERED' });
    });
  });

  it('RFC 7252 §5.2.3: a NON POST is answered with a NON 2.04 carrying the token (new Message ID)', async () => {
    const [answer] = await exchange(request({ type: 'NON', messageId: 0x2001 }));
    expect(answer).toMatchObject({ type: NON, code: '2.04' });
    expect(answer!.token).toEqual(TOKEN);
    expect(json(answer!)).toMatchObject({ status: 'DELY_STORED' });
    expect(handler.deliveries).toHaveLength(1);
  });

  describe('RFC 7252 §4.5: duplicates', () => {
    it('a slow handler: copies of the pending CON are absorbed, the answer is piggybacked once, a later copy gets the same bytes', async () => {
      let release: (v: ServerDeliveryVerdict) => void = () => undefined;
      handler.verdict = () => new Promise((resolve) => (release = resolve));
      const req = request({ messageId: 0x3001 });
      await exchange(req, 0);
      await exchange(req, 0); // the server's retransmission while the handler runs
      await exchange(req, 0);
      expect(client.received).toHaveLength(0);
      expect(inbox.pendingExchanges).toBe(1);
      release({ kind: 'STORED' });
      await client.waitFor((r) => r.length >= 1);
      const [first] = client.received;
      expect(first).toMatchObject({ type: ACK, code: '2.04', messageId: 0x3001 });
      const [again] = await exchange(req);
      expect(again!.bytes).toEqual(first!.bytes);
      expect(handler.deliveries).toHaveLength(1);
      expect(inbox.counters).toMatchObject({ deliveries: 1, duplicates: 3 });
    });

    it('a copy of a NON is processed once and answered once', async () => {
      const req = request({ type: 'NON', messageId: 0x3002 });
      await exchange(req);
      await exchange(req, 0);
      expect(client.received).toHaveLength(1);
      expect(handler.deliveries).toHaveLength(1);
    });

    it('the same Message ID from another source endpoint is another message', async () => {
      const other = await RawCoapPeer.start();
      try {
        await exchange(request({ messageId: 0x3003 }));
        other.send(request({ messageId: 0x3003 }), to);
        await other.waitFor((r) => r.length >= 1);
        expect(handler.deliveries).toHaveLength(2);
      } finally {
        await other.close();
      }
    });

    it('a copy of an exchange answered with an error gets the same error again, the handler never called', async () => {
      const req = request({ messageId: 0x3004, payload: Buffer.from('{"messageType":"MSG"}') });
      const [first] = await exchange(req);
      const [again] = await exchange(req);
      expect(first).toMatchObject({ code: '4.00' });
      expect(again!.bytes).toEqual(first!.bytes);
      expect(handler.deliveries).toHaveLength(0);
    });
  });

  describe('RFC 7252 §5.4.1: options', () => {
    it.each([
      ['9 (OSCORE)', 9],
      ['13 (unassigned, critical)', 13],
      ['27 (Block1: not acted on here)', 27],
      ['1 (If-Match: not acted on here)', 1],
      ['65001', 65001],
    ])('an unrecognised critical option %s in a CON → 4.02; in a NON → silence', async (_name, number) => {
      const options = [uriPath(), contentFormat(), { number, value: Uint8Array.of(1) }];
      const [answer] = await exchange(request({ messageId: 0x4001, options }));
      expect(answer).toMatchObject({ type: ACK, code: '4.02', messageId: 0x4001 });
      expect(answer!.token).toEqual(TOKEN);
      expect(await exchange(request({ type: 'NON', messageId: 0x4002, options }), 0)).toEqual([]);
      expect(handler.deliveries).toHaveLength(0);
    });

    it('a repeated non-repeatable critical option (two Uri-Host, §5.4.5) → 4.02', async () => {
      const host = { number: COAP_OPTION.URI_HOST, value: Buffer.from('gw') };
      const [answer] = await exchange(request({ messageId: 0x4003, options: [host, host, uriPath(), contentFormat()] }));
      expect(answer).toMatchObject({ code: '4.02' });
    });

    it('an unknown elective option (2048) is ignored: the request is served', async () => {
      const [answer] = await exchange(request({ messageId: 0x4004, options: [uriPath(), contentFormat(), { number: 2048, value: Uint8Array.of(7) }] }));
      expect(answer).toMatchObject({ code: '2.04' });
      expect(handler.deliveries).toHaveLength(1);
    });

    it('Proxy-Uri → 5.05 (§5.7.2); Accept 0 → 4.06 (§5.10.4)', async () => {
      const [proxy] = await exchange(request({ messageId: 0x4005, options: [uriPath(), contentFormat(), { number: COAP_OPTION.PROXY_URI, value: Buffer.from('coap://x/y') }] }));
      expect(proxy).toMatchObject({ code: '5.05' });
      const [accept] = await exchange(request({ messageId: 0x4006, options: [uriPath(), contentFormat(), { number: COAP_OPTION.ACCEPT, value: new Uint8Array(0) }] }));
      expect(accept).toMatchObject({ code: '4.06' });
    });
  });

  describe('RFC 7252 §3, §4.2, §4.3: message format errors and messages without context', () => {
    it.each([
      ['token length 9', Buffer.concat([Buffer.from([0x49, 0x02, 0x50, 0x01]), Buffer.alloc(9)])],
      ['a payload marker with no payload', Buffer.from([0x40, 0x02, 0x50, 0x01, 0xb7, ...Buffer.from('msgin5g'), 0xff])],
      ['an option running past the end', Buffer.from([0x40, 0x02, 0x50, 0x01, 0xb7, 0x6d, 0x73])],
      ['option delta nibble 15', Buffer.from([0x40, 0x02, 0x50, 0x01, 0xf1, 0x00])],
    ])('%s: CON → RST `70 00 <mid>`; NON → silence', async (_name, bytes) => {
      const [rst] = await exchange(bytes);
      expect(rst!.bytes.toString('hex')).toBe('70005001');
      const non = Buffer.from(bytes);
      non[0] = (non[0]! & 0xcf) | 0x10;
      expect(await exchange(non, 0)).toEqual([]);
    });

    it('a CoAP ping (CON 0.00, §4.3) → RST; a NON 0.00 → silence; an Empty ACK or RST → silence', async () => {
      const [rst] = await exchange(Buffer.from([0x40, 0x00, 0x12, 0x34]));
      expect(rst!.bytes.toString('hex')).toBe('70001234');
      expect(await exchange(Buffer.from([0x50, 0x00, 0x12, 0x35]), 0)).toEqual([]);
      expect(await exchange(Buffer.from([0x60, 0x00, 0x12, 0x36]), 0)).toEqual([]);
      expect(await exchange(Buffer.from([0x70, 0x00, 0x12, 0x37]), 0)).toEqual([]);
    });

    it('a CON carrying a response code (2.04) → RST; not CoAP (version 2) → silence', async () => {
      const [rst] = await exchange(Buffer.from(encodeCoapMessage({ type: 'CON', code: 0x44, messageId: 0x0777, token: TOKEN })));
      expect(rst).toMatchObject({ type: RST, messageId: 0x0777 });
      expect(await exchange(Buffer.from([0x80, 0x02, 0x00, 0x01]), 0)).toEqual([]);
    });
  });

  describe('the resource (RFC 7252 §5.8, §5.9): JSON diagnostics, Content-Format 50', () => {
    it.each([
      ['another Uri-Path → 4.04', { options: [uriPath('other'), contentFormat()] }, '4.04', 'no resource /other'],
      ['GET → 4.05', { code: GET }, '4.05', 'accepts POST only'],
      ['no Content-Format → 4.15', { options: [uriPath()] }, '4.15', 'got none'],
      ['Content-Format 0 (text/plain) → 4.15', { options: [uriPath(), contentFormat(0)] }, '4.15', 'got 0'],
      ['a body that is not JSON → 4.00', { payload: Buffer.from('{not json') }, '4.00', 'not JSON'],
      ['a REG body → 4.00', { payload: Buffer.from('{"messageType":"REG","ueServiceId":"gw-1"}') }, '4.00', 'messageType'],
      ['a MSG with an unknown member → 4.00', { payload: msgBody({ extra: 1 }) }, '4.00', 'unknown member "extra"'],
      ['a MSG whose targetType is AS → 4.00', { payload: msgBody({ targetType: 'AS' }) }, '4.00', '"targetType" must be "UE"'],
      ['a destAddr with a control character → 4.00', { payload: msgBody({ destAddr: 'ue-7\u0001x' }) }, '4.00', 'member "destAddr"'],
    ])('%s', async (_name, o, code, diagnostic) => {
      const [answer] = await exchange(request({ messageId: 0x5001, ...o }));
      expect(answer).toMatchObject({ type: ACK, code, messageId: 0x5001 });
      expect(option(answer!, COAP_OPTION.CONTENT_FORMAT)).toEqual(Buffer.from([50]));
      expect((json(answer!) as { error: string }).error).toContain(diagnostic);
      expect(handler.deliveries).toHaveLength(0);
    });

    it('a body over 4,096 octets → 4.13 with Size1 4096 (§5.9.2.9, §5.10.9)', async () => {
      const [answer] = await exchange(request({ messageId: 0x5002, payload: Buffer.alloc(4097, 0x20) }));
      expect(answer).toMatchObject({ type: ACK, code: '4.13' });
      expect(option(answer!, COAP_OPTION.SIZE1)).toEqual(Buffer.from([0x10, 0x00]));
      // 4,096 octets exactly pass the size check (and then fail as JSON).
      const [fits] = await exchange(request({ messageId: 0x5003, payload: Buffer.alloc(4096, 0x20) }));
      expect(fits).toMatchObject({ code: '4.00' });
    });
  });

  describe('a failing handler: 5.00, logged, never a crash', () => {
    it.each([
      ['throws', () => { throw new Error('boom'); }],
      ['rejects', () => Promise.reject(new Error('store down'))],
      ['resolves no verdict', () => Promise.resolve({ kind: 'MAYBE' } as unknown as ServerDeliveryVerdict)],
      ['resolves a failure reason the port does not know', () => Promise.resolve({ kind: 'FAILURE', reason: 'NOPE', detail: '' } as unknown as ServerDeliveryVerdict)],
    ])('the handler %s', async (_name, verdict) => {
      handler.verdict = verdict as ScriptedHandler['verdict'];
      const [answer] = await exchange(request({ messageId: 0x6001 }));
      expect(answer).toMatchObject({ type: ACK, code: '5.00', messageId: 0x6001 });
      expect(logger.has('server inbox: delivery answered 5.00')).toBe(true);
      expect(inbox.counters.handlerFailures).toBe(1);
      handler.verdict = async () => ({ kind: 'STORED' });
      const [next] = await exchange(request({ messageId: 0x6002 }));
      expect(next).toMatchObject({ code: '2.04' });
    });
  });

  describe('bounds', () => {
    it('over maxPendingExchanges a new delivery gets 5.03 with Max-Age; the pending ones are answered later', async () => {
      await open({ maxPendingExchanges: 2, refusalMaxAgeS: 7 });
      const releases: Array<() => void> = [];
      handler.verdict = () => new Promise((resolve) => releases.push(() => resolve({ kind: 'STORED' })));
      await exchange(request({ messageId: 0x7001 }), 0);
      await exchange(request({ messageId: 0x7002 }), 0);
      const [busy] = await exchange(request({ messageId: 0x7003 }));
      expect(busy).toMatchObject({ type: ACK, code: '5.03', messageId: 0x7003 });
      expect(option(busy!, COAP_OPTION.MAX_AGE)).toEqual(Buffer.from([7]));
      expect(inbox.counters.refused).toBe(1);
      for (const r of releases) r();
      await client.waitFor((r) => r.filter((m) => m.code === '2.04').length === 2);
      handler.verdict = async () => ({ kind: 'STORED' });
      const [served] = await exchange(request({ messageId: 0x7004 }));
      expect(served).toMatchObject({ code: '2.04' });
      expect(handler.deliveries).toHaveLength(3);
    });

    it('a handler that never resolves: 5.03 with Max-Age after pendingLifetimeMs; its late verdict is dropped', async () => {
      await open({ pendingLifetimeMs: 300 });
      let release: (v: ServerDeliveryVerdict) => void = () => undefined;
      handler.verdict = () => new Promise((resolve) => (release = resolve));
      const started = Date.now();
      const [late] = await exchange(request({ messageId: 0x7101 }));
      expect(Date.now() - started).toBeGreaterThanOrEqual(280);
      expect(late).toMatchObject({ type: ACK, code: '5.03' });
      expect(option(late!, COAP_OPTION.MAX_AGE)).toEqual(Buffer.from([5]));
      release({ kind: 'STORED' });
      await sleep(50);
      expect(client.received).toHaveLength(1);
      expect(logger.has('server inbox: verdict after the exchange was answered or the inbox stopped: dropped')).toBe(true);
      expect(inbox.counters.expired).toBe(1);
    });

    it('the duplicate cache keeps at most maxRememberedMessages: beyond it the oldest is forgotten', async () => {
      await open({ maxRememberedMessages: 2 });
      for (const id of [0x7201, 0x7202, 0x7203]) await exchange(request({ messageId: id }));
      await exchange(request({ messageId: 0x7203 })); // remembered: replayed
      expect(handler.deliveries).toHaveLength(3);
      await exchange(request({ messageId: 0x7201 })); // forgotten: a new message to the inbox
      expect(handler.deliveries).toHaveLength(4);
    });
  });

  describe('lifecycle', () => {
    it('stop(): deliveries at the handler are not answered; stop is idempotent; start after stop rejects CLOSED', async () => {
      let release: (v: ServerDeliveryVerdict) => void = () => undefined;
      handler.verdict = () => new Promise((resolve) => (release = resolve));
      await exchange(request({ messageId: 0x7301 }), 0);
      await inbox.stop();
      await inbox.stop();
      release({ kind: 'STORED' });
      await sleep(50);
      expect(client.received).toHaveLength(0);
      await expect(inbox.start(handler)).rejects.toMatchObject({ name: 'ServerInboxError', reason: 'CLOSED' });
    });

    it('a port in use → ServerInboxError BIND; start() may be tried again once the port is free', async () => {
      const taken = createSocket('udp4');
      await new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', () => resolve()));
      const port = taken.address().port;
      const other = new CoapServerInbox({ host: '127.0.0.1', port });
      try {
        const err = await other.start(handler).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ServerInboxError);
        expect(err).toMatchObject({ reason: 'BIND', message: expect.stringMatching(new RegExp(`UDP port ${port} is in use`)) });
        await new Promise<void>((resolve) => taken.close(() => resolve()));
        await other.start(handler);
        expect(other.notifyUri).toBe(`coap://127.0.0.1:${port}/msgin5g`);
      } finally {
        await other.stop();
      }
    });
  });

  it("CoapServerLink.sendMessage answered by the inbox: the link reads the inbox's MSGRESP as ACCEPTED STORED", async () => {
    const link = new CoapServerLink({ uri: inbox.notifyUri, deadlineMs: 2000 });
    try {
      const outcome = await link.sendMessage({
        originatorAddress: 'as-weather' as never,
        gatewayUeServiceId: 'gw-0' as never,
        targetAddress: DEVICE,
        targetType: 'UE',
        messageId: MID,
        applicationId: 42 as never,
        deliveryStatusRequired: false,
        payload: new Uint8Array(2000).fill(7),
      });
      expect(outcome).toEqual({ kind: 'ACCEPTED', deliveryStatus: 'STORED' });
      expect(handler.deliveries[0]).toMatchObject({ kind: 'MSG', targetAddress: DEVICE, payload: new Uint8Array(2000).fill(7) });
    } finally {
      await link.close();
    }
  });
});

describe('CoapServerInbox notifyUri (docs/adr/0013)', () => {
  const handler = new ScriptedHandler();

  it('bound to a specific address: that address and the bound port; read before start() with port 0 it throws', async () => {
    const inbox = new CoapServerInbox({ host: '127.0.0.1', port: 0 });
    expect(() => inbox.notifyUri).toThrow(ServerInboxError);
    await inbox.start(handler);
    try {
      expect(inbox.notifyUri).toMatch(/^coap:\/\/127\.0\.0\.1:\d+\/msgin5g$/);
      expect(inbox.notifyUri).not.toMatch(/:0\//);
      expect(checkNotifyUri(inbox.notifyUri)).toBeUndefined();
    } finally {
      await inbox.stop();
    }
  });

  it('the configured port before start(); IPv6 bracketed; advertisedHost and advertisedPort win; path segments percent-encoded', () => {
    expect(new CoapServerInbox({ host: '10.0.0.7', port: 5700 }).notifyUri).toBe('coap://10.0.0.7:5700/msgin5g');
    expect(new CoapServerInbox({ host: '::1', port: 5700 }).notifyUri).toBe('coap://[::1]:5700/msgin5g');
    expect(new CoapServerInbox({ host: '0.0.0.0', advertisedHost: 'gw-1.example.net' }).notifyUri).toBe('coap://gw-1.example.net:5700/msgin5g');
    expect(new CoapServerInbox({ host: '::', advertisedHost: '2001:DB8::7', advertisedPort: 15700 }).notifyUri).toBe('coap://[2001:db8::7]:15700/msgin5g');
    expect(new CoapServerInbox({ host: '127.0.0.1', port: 5700, path: '/gw/in box/' }).notifyUri).toBe('coap://127.0.0.1:5700/gw/in%20box');
  });

  it.each([
    [{ host: '0.0.0.0' }, 'needs advertisedHost'],
    [{ host: '::' }, 'needs advertisedHost'],
    [{ host: '0.0.0.0', advertisedHost: '0.0.0.0' }, 'is unspecified'],
    [{ host: '127.0.0.1', advertisedHost: 'not a host' }, 'IP address literal or a DNS name'],
    [{ host: 'localhost' }, 'host must be an IP address literal'],
    [{ host: '127.0.0.1', port: 70000 }, 'port must be an integer 0..65535'],
    [{ host: '127.0.0.1', path: '//' }, 'path must be non-empty segments'],
    [{ host: '127.0.0.1', advertisedPort: 0 }, 'advertisedPort must be an integer 1..65535'],
  ])('refuses %j (TypeError: %s)', (options, message) => {
    expect(() => new CoapServerInbox(options as CoapServerInboxOptions)).toThrow(new RegExp(message));
  });
});
