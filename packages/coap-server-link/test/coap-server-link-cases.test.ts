/**
 * Failure scenarios C03–C06 (docs/failure-cases.md) for the CoAP ServerLink, each twice where it
 * matters: against the reference MSGin5G Server's fault injection (real CoAP end to end) and
 * against a raw peer that sends the exact bytes of the scenario.
 */
import { createSocket } from 'node:dgram';
import type { ApplicationId, ServerOutcome, UeServiceId } from '@msgin5g/core';
import { createReferenceServer, type ReferenceServer } from '@msgin5g/server';
import { CoapServerLink } from '@msgin5g/coap-server-link';
import { ACK, CON, encodeRaw, JSON_FORMAT, MAX_AGE, CONTENT_FORMAT, piggybacked, RawCoapPeer, RST } from './raw-coap-peer';
import { RecordingLogger } from './recording-logger';

const gw = 'gw-1' as UeServiceId;
const dev = 'gw-1/127.0.0.1:40001/42' as UeServiceId;
const forDevice = { ueServiceId: dev, gatewayUeServiceId: gw, applicationId: 42 as ApplicationId };
const DEADLINE_MS = 1500;

const unreachable = expect.objectContaining({ kind: 'FAILURE', reason: 'SERVER_UNREACHABLE' });
const rejected = expect.objectContaining({ kind: 'FAILURE', reason: 'SERVER_REJECTED' });

async function timed(p: Promise<ServerOutcome>): Promise<{ outcome: ServerOutcome; ms: number }> {
  const started = Date.now();
  const outcome = await p;
  return { outcome, ms: Date.now() - started };
}

describe('CoapServerLink against the reference MSGin5G Server', () => {
  let server: ReferenceServer;
  let link: CoapServerLink;
  let logger: RecordingLogger;

  beforeEach(async () => {
    server = createReferenceServer({ port: 0 });
    const { port } = await server.start();
    logger = new RecordingLogger();
    link = new CoapServerLink({ uri: `coap://127.0.0.1:${port}/msgin5g`, deadlineMs: DEADLINE_MS, logger });
    // The server acts for a gateway only once it is registered (otherwise GATEWAY_NOT_REGISTERED).
    await link.register({ ueServiceId: gw });
  });
  afterEach(async () => {
    await link.close();
    await server.stop();
  });

  it('C04: server never answers (drop) → SERVER_UNREACHABLE within the deadline (+1 s), no unhandled error', async () => {
    await link.register(forDevice);
    server.faults.add('drop@DEREG');
    const { outcome, ms } = await timed(link.deregister(forDevice));
    expect(outcome).toEqual(unreachable);
    expect(outcome.kind === 'FAILURE' && outcome.cause).toContain('deadline');
    expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(ms).toBeLessThan(DEADLINE_MS + 1000);
    expect(server.registry.has(dev)).toBe(true); // the server never did it
  });

  it('C05: server answers RST → SERVER_UNREACHABLE at once', async () => {
    server.faults.add('rst*1');
    const { outcome, ms } = await timed(link.deregister(forDevice));
    expect(outcome).toEqual(unreachable);
    expect(outcome.kind === 'FAILURE' && outcome.cause).toMatch(/RST/);
    expect(ms).toBeLessThan(500);
    // the link is still usable afterwards
    await expect(link.register(forDevice)).resolves.toEqual({ kind: 'SUCCESS' });
  });

  it('C06: 4.04; 5.03 Max-Age 30; 2.04 empty; 2.04 {not json; 2.04 without result; FAILURE NOT_REGISTERED to DEREG → REJECTED, UNREACHABLE, REJECTED, REJECTED, REJECTED, success', async () => {
    for (const spec of ['code=4.04*1', 'code=5.03*1', 'empty*1', 'badjson*1', 'noresult*1']) server.faults.add(spec);
    const outcomes: ServerOutcome[] = [];
    for (let i = 0; i < 6; i++) outcomes.push(await link.deregister(forDevice));
    expect(outcomes).toEqual([rejected, unreachable, rejected, rejected, rejected, expect.objectContaining({ kind: 'SUCCESS' })]);
    expect(outcomes.map((o) => (o.kind === 'FAILURE' ? o.cause : o.note))).toEqual([
      '4.04 Not Found',
      '5.03 Service Unavailable',
      '2.04 with an empty body',
      expect.stringContaining('2.04 with an unusable body'),
      '2.04 without result',
      expect.stringContaining('NOT_REGISTERED'),
    ]);
    expect(server.stats.faultsApplied).toBe(5);
  });

  it('C03: empty ACK, then a separate CON 2.04 after ~1 s → the same outcome as piggybacked, and the separate response is ACKed', async () => {
    await link.register(forDevice);
    const piggy = await link.deregister(forDevice); // piggybacked: registered → SUCCESS
    await link.register(forDevice);
    server.faults.add('separate=1000*1');
    const { outcome, ms } = await timed(link.deregister(forDevice));
    expect(outcome).toEqual(piggy);
    expect(outcome).toEqual({ kind: 'SUCCESS' });
    expect(ms).toBeGreaterThanOrEqual(950);
    expect(ms).toBeLessThan(DEADLINE_MS);
    expect(server.stats.separateResponsesSent).toBe(1);
    const until = Date.now() + 1000;
    while (server.stats.separateResponsesAcked < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(server.stats.separateResponsesAcked).toBe(1);
    expect(server.stats.duplicates).toBe(0); // the empty ACK stopped the link's retransmission
  });

  it('a separate response later than the deadline is logged as dropped, and still ACKed', async () => {
    server.faults.add('separate=1800*1');
    const { outcome } = await timed(link.register(forDevice));
    expect(outcome).toEqual(unreachable);
    const until = Date.now() + 1500;
    while (!logger.has('MSGin5G-1 late answer dropped') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(logger.lines.find((l) => l.message === 'MSGin5G-1 late answer dropped')?.fields).toMatchObject({ code: '2.04', operation: 'REG' });
    while (server.stats.separateResponsesAcked < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(server.stats.separateResponsesAcked).toBe(1);
  });
});

describe('CoapServerLink against a raw CoAP peer (exact bytes)', () => {
  let peer: RawCoapPeer;
  let link: CoapServerLink;
  let logger: RecordingLogger;

  beforeEach(async () => {
    peer = await RawCoapPeer.start();
    logger = new RecordingLogger();
    link = new CoapServerLink({ uri: peer.uri, deadlineMs: DEADLINE_MS, logger });
  });
  afterEach(async () => {
    await link.close();
    await peer.close();
  });

  it('sends one CON POST to Uri-Path msgin5g, Content-Format 50, with the MSGin5G-1 JSON body, from one stable source port', async () => {
    peer.onMessage((m, p) => {
      if (m.type === CON) p.send(piggybacked(m, '2.04', '{"messageType":"REG","result":"SUCCESS"}'), m.from);
    });
    await expect(link.register(forDevice)).resolves.toEqual({ kind: 'SUCCESS' });
    await expect(link.register({ ueServiceId: gw })).resolves.toEqual({ kind: 'SUCCESS' });
    const [first, second] = peer.requests;
    expect(first).toMatchObject({ type: CON, code: '0.02' });
    // 8 random octets per exchange (RFC 7252 §5.3.1), different every time.
    expect(first!.token.length).toBe(8);
    expect(second!.token.length).toBe(8);
    expect(Buffer.compare(first!.token, second!.token)).not.toBe(0);
    expect(first!.options).toEqual([
      { number: 11, value: Buffer.from('msgin5g') },
      { number: CONTENT_FORMAT, value: Buffer.from([50]) },
    ]);
    expect(JSON.parse(first!.payload.toString('utf8'))).toEqual({ messageType: 'REG', ueServiceId: dev, gatewayUeServiceId: gw, appId: '42' });
    expect(JSON.parse(second!.payload.toString('utf8'))).toEqual({ messageType: 'REG', ueServiceId: gw });
    expect(second!.from.port).toBe(first!.from.port);
    expect(second!.messageId).not.toBe(first!.messageId);
  });

  it('C05: RST `70 00 <mid>` → SERVER_UNREACHABLE at once; a 0.00 is never success', async () => {
    peer.onMessage((m, p) => {
      if (m.type === CON) p.send(Buffer.from([0x70, 0x00, m.messageId >> 8, m.messageId & 0xff]), m.from);
    });
    const { outcome, ms } = await timed(link.deregister(forDevice));
    expect(outcome).toEqual(unreachable);
    expect(outcome.kind === 'FAILURE' && outcome.cause).toMatch(/RST/);
    expect(ms).toBeLessThan(500);
  });

  it('C06 with exact bytes: 4.04; 5.03 Max-Age 30; 2.04 empty; 2.04 {not json; 2.04 without result; FAILURE NOT_REGISTERED', async () => {
    const answers = [
      (m: Parameters<typeof piggybacked>[0]) => piggybacked(m, '4.04'),
      (m: Parameters<typeof piggybacked>[0]) => piggybacked(m, '5.03', undefined, [{ number: MAX_AGE, value: Buffer.from([30]) }]),
      (m: Parameters<typeof piggybacked>[0]) => piggybacked(m, '2.04'),
      (m: Parameters<typeof piggybacked>[0]) => piggybacked(m, '2.04', '{not json'),
      (m: Parameters<typeof piggybacked>[0]) => piggybacked(m, '2.04', '{"messageType":"DEREG"}'),
      (m: Parameters<typeof piggybacked>[0]) => piggybacked(m, '2.04', '{"messageType":"DEREG","result":"FAILURE","failureCause":"NOT_REGISTERED"}'),
    ];
    let i = 0;
    peer.onMessage((m, p) => {
      if (m.type === CON) p.send(answers[i++]!(m), m.from);
    });
    const outcomes: ServerOutcome[] = [];
    for (let k = 0; k < answers.length; k++) outcomes.push(await link.deregister(forDevice));
    expect(outcomes).toEqual([rejected, unreachable, rejected, rejected, rejected, expect.objectContaining({ kind: 'SUCCESS' })]);
  });

  it('C03 with exact bytes: `60 00 <mid>`, then CON 2.04 after 1 s → success, and the link ACKs it with `60 00 <its mid>`', async () => {
    peer.onMessage((m, p) => {
      if (m.type !== CON || m.code !== '0.02') return;
      p.send(Buffer.from([0x60, 0x00, m.messageId >> 8, m.messageId & 0xff]), m.from);
      setTimeout(() => {
        const separate = encodeRaw({ type: CON, code: '2.04', messageId: 0x1234, token: m.token, options: JSON_FORMAT, payload: Buffer.from('{"messageType":"DEREG","result":"SUCCESS"}') });
        p.send(separate, m.from);
      }, 1000);
    });
    const { outcome, ms } = await timed(link.deregister(forDevice));
    expect(outcome).toEqual({ kind: 'SUCCESS' });
    expect(ms).toBeGreaterThanOrEqual(950);
    await peer.waitFor((r) => r.some((m) => m.type === ACK));
    const ack = peer.received.find((m) => m.type === ACK)!;
    expect(ack.bytes.toString('hex')).toBe('60001234');
    expect(peer.requests).toHaveLength(1); // the empty ACK stopped retransmission
  });

  it('C03: a separate response with another token is not taken as the answer', async () => {
    peer.onMessage((m, p) => {
      if (m.type !== CON || m.code !== '0.02') return;
      p.send(Buffer.from([0x60, 0x00, m.messageId >> 8, m.messageId & 0xff]), m.from);
      const wrongToken = Buffer.from(m.token.map((b) => b ^ 0xff));
      p.send(encodeRaw({ type: CON, code: '2.04', messageId: 0x4321, token: wrongToken, options: JSON_FORMAT, payload: Buffer.from('{"messageType":"DEREG","result":"SUCCESS"}') }), m.from);
    });
    await expect(link.deregister(forDevice)).resolves.toEqual(unreachable);
  });

  it('C04: retransmits the CON inside the deadline (same Message ID), then gives up with SERVER_UNREACHABLE', async () => {
    await link.close();
    link = new CoapServerLink({ uri: peer.uri, deadlineMs: 3500, logger });
    const { outcome, ms } = await timed(link.deregister(forDevice));
    expect(outcome).toEqual(unreachable);
    expect(ms).toBeLessThan(3500 + 1000);
    const copies = peer.requests;
    expect(copies.length).toBeGreaterThanOrEqual(2); // first retransmission after 2..3 s (RFC 7252 §4.2)
    expect(new Set(copies.map((c) => c.messageId)).size).toBe(1);
    expect(new Set(copies.map((c) => c.bytes.toString('hex'))).size).toBe(1);
  });

  it('exchangeStats(): counts each ended exchange by operation and end, and each retransmission of a CON the peer did not acknowledge', async () => {
    await link.close();
    link = new CoapServerLink({ uri: peer.uri, deadlineMs: 10_000, logger });
    let copies = 0;
    peer.onMessage((m, p) => {
      if (m.type !== CON || m.code !== '0.02') return;
      const body = JSON.parse(m.payload.toString('utf8')) as { messageType: string };
      // The first copy of the first REG goes unanswered: coap retransmits it after ACK_TIMEOUT (2..3 s).
      if (body.messageType === 'REG' && copies++ === 0) return;
      if (body.messageType === 'REG') p.send(piggybacked(m, '2.04', '{"messageType":"REG","result":"SUCCESS"}'), m.from);
      else p.send(piggybacked(m, '4.04'), m.from);
    });
    expect(link.exchangeStats()).toEqual({ exchanges: [], retransmissions: 0 });
    await expect(link.register(forDevice)).resolves.toEqual({ kind: 'SUCCESS' });
    await expect(link.register({ ueServiceId: gw })).resolves.toEqual({ kind: 'SUCCESS' });
    await expect(link.deregister(forDevice)).resolves.toEqual(rejected);
    expect(peer.requests).toHaveLength(4); // 2 copies of the first REG, then one each
    expect(link.exchangeStats()).toEqual({
      exchanges: [
        { operation: 'REG', end: 'SUCCESS', count: 2 },
        { operation: 'DEREG', end: 'SERVER_REJECTED', count: 1 },
      ],
      retransmissions: 1,
    });
    // An exchange cut by close() is counted as CLOSED.
    peer.onMessage(() => undefined);
    const cut = link.deregister(forDevice);
    await peer.waitFor((r) => r.length >= 5);
    await link.close();
    await expect(cut).rejects.toMatchObject({ reason: 'CLOSED' });
    expect(link.exchangeStats().exchanges).toContainEqual({ operation: 'DEREG', end: 'CLOSED', count: 1 });
  });

  it('a late piggybacked answer after the deadline is logged as dropped and never changes the outcome', async () => {
    peer.onMessage((m, p) => {
      if (m.type === CON && m.code === '0.02') setTimeout(() => p.send(piggybacked(m, '2.04', '{"messageType":"REG","result":"SUCCESS"}'), m.from), DEADLINE_MS + 300);
    });
    const outcome = await link.register(forDevice);
    expect(outcome).toEqual(unreachable);
    const until = Date.now() + 2000;
    while (!logger.has('MSGin5G-1 late answer dropped') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(logger.has('MSGin5G-1 late answer dropped')).toBe(true);
    expect(outcome).toEqual(unreachable);
  });

  it('answers with RST to a CON response arriving after the late window (the request is forgotten)', async () => {
    await link.close();
    link = new CoapServerLink({ uri: peer.uri, deadlineMs: 300, lateWindowMs: 100, logger });
    let request: Parameters<typeof piggybacked>[0] | undefined;
    peer.onMessage((m) => {
      if (m.type === CON && m.code === '0.02') request = m;
    });
    await expect(link.register(forDevice)).resolves.toEqual(unreachable);
    await new Promise((r) => setTimeout(r, 250));
    peer.send(encodeRaw({ type: CON, code: '2.04', messageId: 0x0777, token: request!.token, options: JSON_FORMAT, payload: Buffer.from('{"messageType":"REG","result":"SUCCESS"}') }), request!.from);
    await peer.waitFor((r) => r.some((m) => m.type === RST));
    expect(peer.received.find((m) => m.type === RST)!.bytes.toString('hex')).toBe('70000777');
    expect(logger.has('MSGin5G-1 late answer dropped')).toBe(false);
  });
});

describe('C04: server port closed (no process behind it)', () => {
  it('→ SERVER_UNREACHABLE within the deadline (+1 s); a closed UDP port is silent, so only the deadline ends it', async () => {
    const probe = createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', () => resolve()));
    const port = probe.address().port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const link = new CoapServerLink({ uri: `coap://127.0.0.1:${port}/msgin5g`, deadlineMs: DEADLINE_MS });
    try {
      const { outcome, ms } = await timed(link.deregister(forDevice));
      expect(outcome).toEqual(unreachable);
      expect(ms).toBeLessThan(DEADLINE_MS + 1000);
    } finally {
      await link.close();
    }
  });

  it('a send error (broadcast address without SO_BROADCAST) → SERVER_UNREACHABLE at once with the error in the cause', async () => {
    const link = new CoapServerLink({ uri: 'coap://255.255.255.255:5683/msgin5g', deadlineMs: DEADLINE_MS });
    try {
      const { outcome, ms } = await timed(link.register(forDevice));
      expect(outcome).toEqual(unreachable);
      expect(outcome.kind === 'FAILURE' && outcome.cause).toMatch(/network error: .*EACCES/);
      expect(ms).toBeLessThan(500);
    } finally {
      await link.close();
    }
  });
});
