/**
 * The reference server as a strict RFC 7252 peer, ETSI CoAP#1 plugtest style: raw datagrams built
 * by hand from the RFC's layout (§3: `Ver|T|TKL`, code, Message ID, token, options as delta/length
 * nibbles, 0xFF, payload), the exact answer bytes checked, or silence within a bounded wait
 * followed by a CoAP ping that proves the socket still answers. Every case also checks that the
 * registry did not change. Named after the RFC section each case applies.
 */
import { createSocket, type Socket } from 'node:dgram';
import { spawnSync } from 'node:child_process';
import { createReferenceServer, fetchRegistry, type ReferenceServer } from '@msgin5g/server';
import { runProcess } from '@msgin5g/test-support';

/** Message types, field T (RFC 7252 §3). */
const CON = 0;
const NON = 1;
const ACK = 2;
const RST = 3;

/** Header: Ver 1, type, TKL, code, Message ID (RFC 7252 §3). TKL is written as given, even when reserved. */
function header(type: number, tkl: number, code: number, messageId: number): Buffer {
  return Buffer.from([0x40 | (type << 4) | tkl, code, messageId >> 8, messageId & 0xff]);
}

/** One option by delta and value, with 1- or 2-octet extensions (RFC 7252 §3.1). */
function option(delta: number, value: Buffer | string = Buffer.alloc(0)): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const nib = (n: number): [number, number[]] => (n < 13 ? [n, []] : n < 269 ? [13, [n - 13]] : [14, [(n - 269) >> 8, (n - 269) & 0xff]]);
  const [d, dx] = nib(delta);
  const [l, lx] = nib(v.length);
  return Buffer.concat([Buffer.from([(d << 4) | l, ...dx, ...lx]), v]);
}

const TOKEN = Buffer.from([0xa1, 0xb2]);
const URI_PATH_MSGIN5G = option(11, 'msgin5g'); // option 11 after 0
const reg = (ue: string): Buffer => Buffer.from(JSON.stringify({ messageType: 'REG', ueServiceId: ue }));

/**
 * POST /msgin5g, Content-Format 50, with `before` (options below 11, deltas from 0), `after`
 * (options above 12, deltas from 12) and `body`.
 */
function post(type: number, messageId: number, body: Buffer, extra: { before?: Buffer[]; beforeLast?: number; after?: Buffer[] } = {}): Buffer {
  const before = extra.before ?? [];
  const pathDelta = 11 - (extra.beforeLast ?? 0);
  return Buffer.concat([
    header(type, TOKEN.length, 0x02, messageId),
    TOKEN,
    ...before,
    option(pathDelta, 'msgin5g'),
    option(1, Buffer.from([50])), // Content-Format 12
    ...(extra.after ?? []),
    Buffer.from([0xff]),
    body,
  ]);
}

/** `ACK <code> <mid> <token>` and what follows, as hex, for a piggybacked answer to a request with TOKEN. */
const ackHead = (code: number, messageId: number): string => header(ACK, TOKEN.length, code, messageId).toString('hex') + TOKEN.toString('hex');

class Peer {
  readonly received: Buffer[] = [];
  private constructor(private readonly socket: Socket, private readonly port: number) {}

  static async open(port: number): Promise<Peer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const p = new Peer(socket, port);
    socket.on('message', (m) => p.received.push(m));
    return p;
  }

  send(bytes: Buffer): void {
    this.socket.send(bytes, this.port, '127.0.0.1');
  }

  /** The next datagram, within `ms`. */
  async next(ms = 2000): Promise<Buffer> {
    const until = Date.now() + ms;
    while (this.received.length === 0) {
      if (Date.now() > until) throw new Error(`no datagram within ${ms} ms`);
      await sleep(5);
    }
    return this.received.shift() as Buffer;
  }

  /** Asserts nothing arrives within `ms`, then that a CoAP ping still gets its RST (so the silence is the server's choice). */
  async expectSilence(ms = 300): Promise<void> {
    await sleep(ms);
    expect(this.received.map((b) => b.toString('hex'))).toEqual([]);
    this.send(header(CON, 0, 0x00, 0x7777));
    expect((await this.next()).toString('hex')).toBe('70007777');
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('reference MSGin5G Server: RFC 7252 message layer (raw datagrams)', () => {
  let server: ReferenceServer;
  let port: number;
  let peer: Peer;

  beforeEach(async () => {
    server = createReferenceServer({ host: '127.0.0.1', port: 0 });
    port = (await server.start()).port;
    peer = await Peer.open(port);
  });
  afterEach(async () => {
    await peer.close();
    await server.stop();
  });

  const registry = (): string[] => [...server.registry].sort();

  it('baseline: the hand-built CON POST is carried out (2.04 piggybacked), so the cases below can fail', async () => {
    peer.send(post(CON, 0x1000, reg('ok')));
    const a = await peer.next();
    expect(a.subarray(0, 6).toString('hex')).toBe(ackHead(0x44, 0x1000));
    expect(registry()).toEqual(['ok']);
  });

  describe('§5.4.1 unrecognised critical options', () => {
    it.each([
      ['13', { after: [option(1)] }, 'unrecognised critical option 13'],
      ['65001', { after: [option(65001 - 12)] }, 'unrecognised critical option 65001'],
      ['9 (OSCORE)', { before: [option(9, Buffer.from([0x09]))], beforeLast: 9 }, 'unrecognised critical option 9'],
    ])('CON with option %s → 4.02 with a diagnostic payload, no Content-Format; registry unchanged', async (_name, extra, diagnostic) => {
      peer.send(post(CON, 0x1101, reg('x'), extra));
      const a = await peer.next();
      expect(a.toString('hex')).toBe(ackHead(0x82, 0x1101) + 'ff' + Buffer.from(`bad option: ${diagnostic}`).toString('hex'));
      expect(registry()).toEqual([]);
    });

    it('NON with option 13 → rejected silently (§4.3); registry unchanged', async () => {
      peer.send(post(NON, 0x1102, reg('x'), { after: [option(1)] }));
      await peer.expectSilence();
      expect(registry()).toEqual([]);
    });

    it('an unrecognised elective option (2: even, so elective) is ignored: the REG is carried out', async () => {
      peer.send(post(CON, 0x1103, reg('e'), { before: [option(2, 'x')], beforeLast: 2 }));
      expect((await peer.next()).subarray(0, 6).toString('hex')).toBe(ackHead(0x44, 0x1103));
      expect(registry()).toEqual(['e']);
    });

    it('copies of a CON answered 4.02 get the same bytes (§4.5), the registry still unchanged', async () => {
      const req = post(CON, 0x1104, reg('x'), { after: [option(1)] });
      peer.send(req);
      const first = await peer.next();
      peer.send(req);
      expect((await peer.next()).equals(first)).toBe(true);
      expect(server.stats.duplicates).toBe(1);
      expect(registry()).toEqual([]);
    });
  });

  describe('§5.4.5 repeated non-repeatable critical option (Uri-Host)', () => {
    const twoHosts = { before: [option(3, 'a.example'), option(0, 'b.example')], beforeLast: 3 };

    it('CON → 4.02 Bad Option; registry unchanged', async () => {
      peer.send(post(CON, 0x1201, reg('x'), twoHosts));
      const a = await peer.next();
      expect(a.toString('hex')).toBe(ackHead(0x82, 0x1201) + 'ff' + Buffer.from('bad option: critical option 3 repeated').toString('hex'));
      expect(registry()).toEqual([]);
    });

    it('NON → rejected silently (§5.4.1, §4.3); registry unchanged', async () => {
      peer.send(post(NON, 0x1202, reg('x'), twoHosts));
      await peer.expectSilence();
      expect(registry()).toEqual([]);
    });

    it('one Uri-Host is understood and ignored: carried out', async () => {
      peer.send(post(CON, 0x1203, reg('h'), { before: [option(3, 'a.example')], beforeLast: 3 }));
      expect((await peer.next()).subarray(0, 6).toString('hex')).toBe(ackHead(0x44, 0x1203));
      expect(registry()).toEqual(['h']);
    });
  });

  describe('§5.10.8 preconditions (the resources have no ETag)', () => {
    it('§5.10.8.1 If-Match with a value cannot match → 4.12 Precondition Failed (not 4.02: the option is recognised); registry unchanged', async () => {
      peer.send(post(CON, 0x1301, reg('x'), { before: [option(1, Buffer.from([0x01, 0x02]))], beforeLast: 1 }));
      const a = await peer.next();
      expect(a.toString('hex')).toBe(ackHead(0x8c, 0x1301) + 'ff' + Buffer.from('precondition failed: If-Match').toString('hex'));
      expect(registry()).toEqual([]);
    });

    it('§5.10.8.1 an empty If-Match matches an existing resource: carried out', async () => {
      peer.send(post(CON, 0x1302, reg('m'), { before: [option(1)], beforeLast: 1 }));
      expect((await peer.next()).subarray(0, 6).toString('hex')).toBe(ackHead(0x44, 0x1302));
      expect(registry()).toEqual(['m']);
    });

    it('§5.10.8.1 an If-Match value longer than 8 octets is out of range (§5.4.3) → 4.02', async () => {
      peer.send(post(CON, 0x1303, reg('x'), { before: [option(1, Buffer.alloc(9, 1))], beforeLast: 1 }));
      expect((await peer.next()).subarray(0, 6).toString('hex')).toBe(ackHead(0x82, 0x1303));
      expect(registry()).toEqual([]);
    });

    it('§5.10.8.2 If-None-Match on the existing /msgin5g → 4.12; registry unchanged', async () => {
      peer.send(post(CON, 0x1304, reg('x'), { before: [option(5)], beforeLast: 5 }));
      expect((await peer.next()).subarray(0, 6).toString('hex')).toBe(ackHead(0x8c, 0x1304));
      expect(registry()).toEqual([]);
    });
  });

  describe('§5.10.4 Accept', () => {
    it('Accept: 0 (text/plain) → 4.06 Not Acceptable; registry unchanged', async () => {
      // Accept 17 after Content-Format 12: delta 5, zero-length value (uint 0, §3.2).
      peer.send(post(CON, 0x1401, reg('x'), { after: [option(5)] }));
      const a = await peer.next();
      expect(a.toString('hex')).toBe(ackHead(0x86, 0x1401) + 'ff' + Buffer.from('Accept 50 only').toString('hex'));
      expect(registry()).toEqual([]);
    });

    it('Accept: 0 on GET /registry → 4.06 as well', async () => {
      peer.send(Buffer.concat([header(CON, 0, 0x01, 0x1402), option(11, 'registry'), option(6)]));
      expect((await peer.next()).subarray(0, 4).toString('hex')).toBe(header(ACK, 0, 0x86, 0x1402).toString('hex'));
    });

    it('Accept: 50 → carried out', async () => {
      peer.send(post(CON, 0x1403, reg('a'), { after: [option(5, Buffer.from([50]))] }));
      expect((await peer.next()).subarray(0, 6).toString('hex')).toBe(ackHead(0x44, 0x1403));
      expect(registry()).toEqual(['a']);
    });
  });

  describe('§5.10.2 Proxy-Uri and Proxy-Scheme (§5.7.2)', () => {
    it('CON with Proxy-Uri → 5.05 Proxying Not Supported; registry unchanged', async () => {
      // Proxy-Uri 35 after Content-Format 12: delta 23.
      peer.send(post(CON, 0x1501, reg('x'), { after: [option(23, 'coap://elsewhere.example/msgin5g')] }));
      const a = await peer.next();
      expect(a.toString('hex')).toBe(ackHead(0xa5, 0x1501) + 'ff' + Buffer.from('not a proxy').toString('hex'));
      expect(registry()).toEqual([]);
    });

    it('NON with Proxy-Scheme → NON 5.05 with a new Message ID and the token; registry unchanged', async () => {
      peer.send(post(NON, 0x1502, reg('x'), { after: [option(27, 'coap')] }));
      const a = await peer.next();
      expect(a[0]).toBe(0x40 | (NON << 4) | TOKEN.length);
      expect(a[1]).toBe(0xa5);
      expect(a.subarray(4, 6).equals(TOKEN)).toBe(true);
      expect(registry()).toEqual([]);
    });
  });

  describe('§4.2, §4.3 ACK and RST are never answered', () => {
    it('an RST, an empty ACK matching nothing, an RST and an ACK that are not Empty: no answer at all', async () => {
      peer.send(header(RST, 0, 0x00, 0x1601));
      peer.send(header(ACK, 0, 0x00, 0x1602));
      peer.send(Buffer.concat([header(RST, 2, 0x00, 0x1603), TOKEN])); // malformed Empty (§4.1)
      peer.send(Buffer.concat([header(ACK, 2, 0x44, 0x1604), TOKEN, Buffer.from([0xff, 0x7b, 0x7d])])); // a response to nothing
      peer.send(Buffer.concat([header(RST, 2, 0x02, 0x1605), TOKEN, URI_PATH_MSGIN5G])); // RST carrying a request code
      await peer.expectSilence();
      expect(server.stats.resetsReceived).toBe(1);
      expect(server.stats.emptyAcksReceived).toBe(1);
      expect(registry()).toEqual([]);
    });
  });

  describe('§4.3 Empty messages', () => {
    it('CON Empty (CoAP ping) → RST `70 00 <mid>`; NON Empty → silence', async () => {
      peer.send(header(CON, 0, 0x00, 0x1701));
      expect((await peer.next()).toString('hex')).toBe('70001701');
      peer.send(header(NON, 0, 0x00, 0x1702));
      await peer.expectSilence();
    });
  });

  describe('§4.2 a CON carrying a response code: no context → RST; a NON → silence', () => {
    it('CON 2.04 → RST; NON 2.04 → silence', async () => {
      peer.send(Buffer.concat([header(CON, 2, 0x44, 0x1801), TOKEN]));
      expect((await peer.next()).toString('hex')).toBe('70001801');
      peer.send(Buffer.concat([header(NON, 2, 0x44, 0x1802), TOKEN]));
      await peer.expectSilence();
    });
  });

  describe('§3 message format errors: RST for a CON, silence for a NON, registry unchanged', () => {
    const body = reg('x');
    const cases: Array<[string, (type: number, mid: number) => Buffer]> = [
      ...[9, 10, 11, 12, 13, 14, 15].map((tkl): [string, (type: number, mid: number) => Buffer] => [
        `TKL ${tkl} (reserved)`,
        (type, mid) => Buffer.concat([header(type, tkl, 0x02, mid), Buffer.alloc(tkl, 0x5a), URI_PATH_MSGIN5G, option(1, Buffer.from([50])), Buffer.from([0xff]), body]),
      ]),
      ['a token shorter than TKL', (type, mid) => Buffer.concat([header(type, 8, 0x02, mid), Buffer.from([1, 2, 3])])],
      ['an option running past the end', (type, mid) => Buffer.concat([header(type, 2, 0x02, mid), TOKEN, Buffer.from([0xb7]), Buffer.from('msg')])],
      ['an option delta extension running past the end', (type, mid) => Buffer.concat([header(type, 2, 0x02, mid), TOKEN, Buffer.from([0xe0, 0x01])])],
      ['option delta nibble 15 that is not the payload marker', (type, mid) => Buffer.concat([header(type, 2, 0x02, mid), TOKEN, Buffer.from([0xf1, 0x00])])],
      ['option length nibble 15', (type, mid) => Buffer.concat([header(type, 2, 0x02, mid), TOKEN, URI_PATH_MSGIN5G, Buffer.from([0x1f, 0x32])])],
      ['a payload marker with nothing after it', (type, mid) => Buffer.concat([header(type, 2, 0x02, mid), TOKEN, URI_PATH_MSGIN5G, option(1, Buffer.from([50])), Buffer.from([0xff])])],
    ];

    it.each(cases)('CON with %s → RST `70 00 <mid>`', async (_name, build) => {
      peer.send(build(CON, 0x1901));
      expect((await peer.next()).toString('hex')).toBe('70001901');
      await sleep(50);
      expect(peer.received).toEqual([]);
      expect(registry()).toEqual([]);
      expect(server.stats.malformedDatagrams).toBe(1);
    });

    it.each(cases)('NON with %s → silence', async (_name, build) => {
      peer.send(build(NON, 0x1902));
      await peer.expectSilence();
      expect(registry()).toEqual([]);
      expect(server.stats.malformedDatagrams).toBe(1);
    });
  });

  describe('§5.9.2.9, §5.10.9 request body over the 4,096-octet limit', () => {
    it('CON with a 4,097-octet body → 4.13 with Size1 4096; registry unchanged', async () => {
      const big = Buffer.concat([reg('x'), Buffer.alloc(4097 - reg('x').length, 0x20)]);
      peer.send(post(CON, 0x1a01, big));
      const a = await peer.next();
      // Size1 = 60: delta 60 → nibble 13 + (60 − 13 = 0x2f); value 4096 = 0x10 0x00, length 2.
      expect(a.toString('hex')).toBe(ackHead(0x8d, 0x1a01) + 'd22f1000' + 'ff' + Buffer.from('body over 4096 octets').toString('hex'));
      expect(registry()).toEqual([]);
    });

    it('NON with a 4,097-octet body → NON 4.13 with Size1', async () => {
      peer.send(post(NON, 0x1a02, Buffer.alloc(4097, 0x20)));
      const a = await peer.next();
      expect(a[0]).toBe(0x40 | (NON << 4) | TOKEN.length);
      expect(a[1]).toBe(0x8d);
      expect(a.subarray(6, 10).toString('hex')).toBe('d22f1000');
    });

    it('a body of exactly 4,096 octets is read (carried out), not refused as too large', async () => {
      const exact = Buffer.concat([reg('big'), Buffer.alloc(4096 - reg('big').length, 0x20)]); // JSON allows trailing white space
      peer.send(post(CON, 0x1a03, exact));
      expect((await peer.next()).subarray(0, 6).toString('hex')).toBe(ackHead(0x44, 0x1a03));
      expect(registry()).toEqual(['big']);
    });
  });

  describe('the message resources: GET /messages and MSG/IMDN on /msgin5g', () => {
    /** GET /messages (CON unless told), with `extra` options after Uri-Path 11 (deltas from 11). */
    const getMessages = (type: number, messageId: number, extra: Buffer[] = []): Buffer => Buffer.concat([header(type, TOKEN.length, 0x01, messageId), TOKEN, option(11, 'messages'), ...extra]);
    const msgBody = (msgId: string): Buffer =>
      Buffer.from(JSON.stringify({ messageType: 'MSG', oriAddr: 'as-demo', destAddr: 'as-demo', msgId, delivStReqInd: false, payload: Buffer.from('raw').toString('base64') }));

    it('baseline: CON GET /messages → ACK 2.05, Content-Format 50, the page as JSON', async () => {
      peer.send(getMessages(CON, 0x1c01));
      const a = await peer.next();
      // ACK 2.05, then Content-Format 12 (delta 12, length 1, 50), payload marker.
      expect(a.subarray(0, 9).toString('hex')).toBe(ackHead(0x45, 0x1c01) + 'c132' + 'ff');
      expect(JSON.parse(a.subarray(9).toString('utf8'))).toEqual({ lastSeq: 0, more: false, messages: [] });
    });

    it('§5.4.1 CON GET /messages with critical option 13 → 4.02 with a diagnostic; a NON → silence', async () => {
      peer.send(getMessages(CON, 0x1c02, [option(2)]));
      expect((await peer.next()).toString('hex')).toBe(ackHead(0x82, 0x1c02) + 'ff' + Buffer.from('bad option: unrecognised critical option 13').toString('hex'));
      peer.send(getMessages(NON, 0x1c03, [option(2)]));
      await peer.expectSilence();
    });

    it('POST /messages → 4.05 Method Not Allowed (piggybacked, JSON diagnostic); If-None-Match on it → 4.12', async () => {
      peer.send(Buffer.concat([header(CON, TOKEN.length, 0x02, 0x1c04), TOKEN, option(11, 'messages'), option(1, Buffer.from([50])), Buffer.from([0xff]), Buffer.from('{}')]));
      const a = await peer.next();
      expect(a.subarray(0, 6).toString('hex')).toBe(ackHead(0x85, 0x1c04));
      expect(a.toString('utf8')).toContain('/messages accepts GET only');
      // If-None-Match 5 before Uri-Path 11 (delta 6).
      peer.send(Buffer.concat([header(CON, TOKEN.length, 0x01, 0x1c05), TOKEN, option(5), option(6, 'messages')]));
      expect((await peer.next()).subarray(0, 6).toString('hex')).toBe(ackHead(0x8c, 0x1c05));
    });

    it('a Uri-Query other than since=<seq> → 4.00', async () => {
      // Uri-Query 15 after Uri-Path 11: delta 4.
      peer.send(getMessages(CON, 0x1c06, [option(4, 'since=x')]));
      expect((await peer.next()).subarray(0, 6).toString('hex')).toBe(ackHead(0x80, 0x1c06));
    });

    it('a CON MSG is answered piggybacked 2.04 MSGRESP; its copy gets the same bytes and is routed once', async () => {
      const req = post(CON, 0x1c07, msgBody('0'.repeat(31) + '1'));
      peer.send(req);
      const first = await peer.next();
      expect(first.subarray(0, 6).toString('hex')).toBe(ackHead(0x44, 0x1c07));
      expect(JSON.parse(first.subarray(first.indexOf(0xff) + 1).toString('utf8'))).toEqual({ messageType: 'MSGRESP', msgId: '0'.repeat(31) + '1', status: 'DELIVERED' });
      peer.send(req);
      expect((await peer.next()).equals(first)).toBe(true);
      expect(server.messages.stats.msgReceived).toBe(1);
      expect(server.messages.inbox()).toHaveLength(1);
    });

    it('§5.4.1 a MSG with critical option 13 → 4.02, nothing routed', async () => {
      peer.send(post(CON, 0x1c08, msgBody('0'.repeat(31) + '2'), { after: [option(1)] }));
      expect((await peer.next()).subarray(0, 6).toString('hex')).toBe(ackHead(0x82, 0x1c08));
      expect(server.messages.stats.msgReceived).toBe(0);
      expect(server.messages.inbox()).toEqual([]);
    });
  });

  it('GET /registry still answers 2.05 after all of the above', async () => {
    peer.send(post(CON, 0x1b01, reg('r')));
    await peer.next();
    peer.send(post(CON, 0x1b02, reg('y'), { after: [option(1)] }));
    await peer.next();
    expect(await fetchRegistry({ host: '127.0.0.1', port })).toEqual(['r']);
  });
});

const CLIENT = 'coap-client-notls';
const missing = spawnSync('sh', ['-c', `command -v ${CLIENT}`]).status === 0 ? undefined : `${CLIENT} is not installed (Debian package libcoap3-bin)`;
const describeLibcoap = missing === undefined ? describe : describe.skip;
if (missing !== undefined) process.stderr.write(`libcoap interop test of the reference server skipped: ${missing}\n`);

describeLibcoap(`libcoap coap-client-notls against the reference server${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  let server: ReferenceServer;
  let uri: string;
  beforeEach(async () => {
    server = createReferenceServer({ host: '127.0.0.1', port: 0 });
    uri = `coap://127.0.0.1:${(await server.start()).port}/msgin5g`;
  });
  afterEach(() => server.stop());

  // `-v 7` prints each message: `v:1 t:ACK c:2.04 i:… {token} [ … ] :: 'payload'`.
  const client = (args: string[]) => runProcess(CLIENT, ['-v', '7', '-B', '5', ...args], { timeoutMs: 20_000 });

  it('a POST is carried out (ACK 2.04); with critical option 13 it gets ACK 4.02 and the registry is unchanged', async () => {
    const ok = await client(['-m', 'post', '-t', '50', '-e', JSON.stringify({ messageType: 'REG', ueServiceId: 'lib' }), uri]);
    expect(ok.stdout + ok.stderr).toMatch(/t:ACK c:2\.04/);
    expect([...server.registry]).toEqual(['lib']);

    const bad = await client(['-m', 'post', '-t', '50', '-O', '13,x', '-e', JSON.stringify({ messageType: 'REG', ueServiceId: 'lib2' }), uri]);
    expect(bad.stdout + bad.stderr).toMatch(/t:ACK c:4\.02/);
    expect([...server.registry]).toEqual(['lib']);
  });

  it('a MSG to the pretend AS is answered MSGRESP DELIVERED; GET /messages?since=1 then shows its report; POST /messages gets 4.05', async () => {
    const msg = { messageType: 'MSG', oriAddr: 'as-demo', destAddr: 'as-demo', msgId: '0'.repeat(31) + '9', delivStReqInd: true, payload: Buffer.from('hi').toString('base64') };
    const sent = await client(['-m', 'post', '-t', '50', '-e', JSON.stringify(msg), uri]);
    expect(sent.stdout + sent.stderr).toMatch(/t:ACK c:2\.04/);
    expect(sent.stdout).toContain('"status":"DELIVERED"');
    const page = await client(['-m', 'get', uri.replace(/msgin5g$/, 'messages?since=1')]);
    expect(page.stdout + page.stderr).toMatch(/t:ACK c:2\.05/);
    expect(page.stdout).toMatch(/"seq":2,[^}]*"delivSt":"REPT_DELY_SUCCESS"/);
    const refused = await client(['-m', 'post', uri.replace(/msgin5g$/, 'messages')]);
    expect(refused.stdout + refused.stderr).toMatch(/t:ACK c:4\.05/);
  });
});
