/**
 * The reference MSGin5G Server as a library, over real UDP on loopback: the coap library as a
 * well-behaved client, raw datagrams where exact bytes or retransmitted copies matter.
 */
import { generate } from 'coap-packet';
import { createReferenceServer, type ReferenceServer } from '@msgin5g/server';
import { ipv6LoopbackUnavailable, itUnless } from '@msgin5g/test-support';
import { coapRequest, msgin5gPost, RawClient, sleep } from './clients';

const reg = (ue: string): string => JSON.stringify({ messageType: 'REG', ueServiceId: ue });
const dereg = (ue: string): string => JSON.stringify({ messageType: 'DEREG', ueServiceId: ue });
const token = Buffer.from('a1b2c3d4', 'hex');

const itIpv6 = itUnless(ipv6LoopbackUnavailable(), 'IPv6 test of the reference server');

describe('reference MSGin5G Server', () => {
  let server: ReferenceServer;
  let target: { host: string; port: number };

  beforeEach(async () => {
    server = createReferenceServer({ host: '127.0.0.1', port: 0 });
    target = await server.start();
  });
  afterEach(() => server.stop());

  it('REG adds the UE Service ID (idempotently), DEREG removes it, a DEREG of an unknown one is FAILURE NOT_REGISTERED', async () => {
    await coapRequest(target, { body: reg('gw-1') });
    const first = await coapRequest(target, { body: JSON.stringify({ messageType: 'REG', ueServiceId: 'gw-1/x/42', gatewayUeServiceId: 'gw-1', appId: '42' }) });
    expect(first).toMatchObject({ code: '2.04', headers: { 'Content-Format': 'application/json' } });
    expect(JSON.parse(first.body)).toEqual({ messageType: 'REG', result: 'SUCCESS' });
    expect(JSON.parse((await coapRequest(target, { body: reg('gw-1/x/42') })).body)).toEqual({ messageType: 'REG', result: 'SUCCESS' });
    expect([...server.registry].sort()).toEqual(['gw-1', 'gw-1/x/42']);

    const gone = await coapRequest(target, { body: dereg('gw-1/x/42') });
    expect(JSON.parse(gone.body)).toEqual({ messageType: 'DEREG', result: 'SUCCESS' });
    expect([...server.registry]).toEqual(['gw-1']);
    const again = await coapRequest(target, { body: dereg('gw-1/x/42') });
    expect(again.code).toBe('2.04');
    expect(JSON.parse(again.body)).toEqual({ messageType: 'DEREG', result: 'FAILURE', failureCause: 'NOT_REGISTERED' });
  });

  it('a REG or DEREG on behalf of a gateway that is not registered → 2.04 FAILURE GATEWAY_NOT_REGISTERED, registry unchanged', async () => {
    const forDevice = (messageType: 'REG' | 'DEREG', gw: string) => JSON.stringify({ messageType, ueServiceId: `${gw}/x/42`, gatewayUeServiceId: gw, appId: '42' });
    for (const op of ['REG', 'DEREG'] as const) {
      const res = await coapRequest(target, { body: forDevice(op, 'gw-unknown') });
      expect(res.code).toBe('2.04');
      expect(JSON.parse(res.body)).toEqual({ messageType: op, result: 'FAILURE', failureCause: 'GATEWAY_NOT_REGISTERED' });
    }
    expect(server.registry.size).toBe(0);
    // Registered, the gateway acts for its devices; once it de-registers itself, it no longer can.
    await coapRequest(target, { body: reg('gw-2') });
    expect(JSON.parse((await coapRequest(target, { body: forDevice('REG', 'gw-2') })).body)).toEqual({ messageType: 'REG', result: 'SUCCESS' });
    await coapRequest(target, { body: dereg('gw-2') });
    expect(JSON.parse((await coapRequest(target, { body: forDevice('DEREG', 'gw-2') })).body)).toEqual({ messageType: 'DEREG', result: 'FAILURE', failureCause: 'GATEWAY_NOT_REGISTERED' });
    expect([...server.registry]).toEqual(['gw-2/x/42']);
  });

  it('a new server on the same port has forgotten every gateway (its registry is in memory)', async () => {
    await coapRequest(target, { body: reg('gw-3') });
    const forDevice = JSON.stringify({ messageType: 'REG', ueServiceId: 'gw-3/x/7', gatewayUeServiceId: 'gw-3', appId: '7' });
    expect(JSON.parse((await coapRequest(target, { body: forDevice })).body)).toMatchObject({ result: 'SUCCESS' });
    await server.stop();
    server = createReferenceServer({ host: '127.0.0.1', port: target.port });
    await server.start();
    expect(server.registry.size).toBe(0);
    expect(JSON.parse((await coapRequest(target, { body: forDevice })).body)).toEqual({ messageType: 'REG', result: 'FAILURE', failureCause: 'GATEWAY_NOT_REGISTERED' });
  });

  it('GET /registry → 2.05 {"ueServiceIds":[…]} (sorted)', async () => {
    await coapRequest(target, { body: reg('b') });
    await coapRequest(target, { body: reg('a') });
    const res = await coapRequest(target, { method: 'GET', path: '/registry', contentFormat: null });
    expect(res).toMatchObject({ code: '2.05', headers: { 'Content-Format': 'application/json' } });
    expect(JSON.parse(res.body)).toEqual({ ueServiceIds: ['a', 'b'] });
  });

  it.each([
    ['bad JSON', '4.00', 'not JSON', { body: '{"messageType":' }],
    ['an unknown member', '4.00', 'unknown member', { body: '{"messageType":"REG","ueServiceId":"a","extra":1}' }],
    ['a missing ueServiceId', '4.00', 'ueServiceId', { body: '{"messageType":"REG"}' }],
    ['Content-Format text/plain', '4.15', 'Content-Format must be 50', { body: reg('a'), contentFormat: 0 }],
    ['no Content-Format', '4.15', 'got none', { body: reg('a'), contentFormat: null }],
    ['an unknown path', '4.04', 'no resource /elsewhere', { path: '/elsewhere', body: reg('a') }],
    ['GET /msgin5g', '4.05', 'POST only', { method: 'GET' as const, contentFormat: null }],
    ['POST /registry', '4.05', 'GET only', { path: '/registry', body: '{}' }],
  ])('answers %s with %s and a JSON diagnostic, registry unchanged', async (_what, code, diagnostic, request) => {
    const res = await coapRequest(target, request as Parameters<typeof coapRequest>[1]);
    expect(res.code).toBe(code);
    expect(res.headers['Content-Format']).toBe('application/json');
    expect(JSON.parse(res.body).error).toContain(diagnostic);
    expect(server.registry.size).toBe(0);
  });

  it('answers FETCH itself (coap 1.5.0 would send its error to 127.0.0.1): 4.05 reaches the client', async () => {
    const res = await coapRequest(target, { method: 'FETCH', contentFormat: null });
    expect(res.code).toBe('4.05');
  });

  it('answers a CoAP ping (CON 0.00) with RST (RFC 7252 §4.3), ignores non-CoAP datagrams', async () => {
    const raw = await RawClient.open(target);
    try {
      raw.send(Buffer.from([0x01, 0x02])); // not CoAP
      raw.send(Buffer.from([0x40, 0x00, 0x12, 0x34]));
      await raw.waitForCount(1);
      expect(raw.received[0]!.bytes.toString('hex')).toBe('70001234');
      expect(server.stats.malformedDatagrams).toBe(1);
    } finally {
      await raw.close();
    }
  });

  it('answers a NON request with a NON response', async () => {
    const raw = await RawClient.open(target);
    try {
      raw.send(msgin5gPost(0x0101, token, reg('n'), false));
      await raw.waitForCount(1);
      const { packet } = raw.received[0]!;
      expect(packet).toMatchObject({ code: '2.04', confirmable: false, ack: false, reset: false });
      expect(packet.token).toEqual(token);
      expect(server.registry.has('n')).toBe(true);
    } finally {
      await raw.close();
    }
  });

  it('answers a retransmitted CON from its cache: the operation runs once', async () => {
    const raw = await RawClient.open(target);
    try {
      raw.send(msgin5gPost(0x0202, token, reg('x')));
      await raw.waitForCount(1);
      await coapRequest(target, { body: dereg('x') }); // if the copy ran REG again, x would come back
      raw.send(msgin5gPost(0x0202, token, reg('x')));
      await raw.waitForCount(2);
      expect(raw.received[1]!.bytes).toEqual(raw.received[0]!.bytes);
      expect(server.registry.has('x')).toBe(false);
      expect(server.stats).toMatchObject({ requests: 2, duplicates: 1 });
    } finally {
      await raw.close();
    }
  });

  it('refuses to share its port: a second server on the same port fails to start (no SO_REUSEADDR)', async () => {
    const second = createReferenceServer({ host: '127.0.0.1', port: target.port });
    await expect(second.start()).rejects.toThrow(/EADDRINUSE/);
    await second.stop();
    // the first one still answers
    await expect(coapRequest(target, { body: reg('still') })).resolves.toMatchObject({ code: '2.04' });
  });

  it('start() twice throws; stop() is idempotent', async () => {
    await expect(server.start()).rejects.toThrow(/already started/);
    await Promise.all([server.stop(), server.stop()]);
  });
});

describe('reference MSGin5G Server over IPv6', () => {
  itIpv6('4.15 for a wrong Content-Format reaches a client on ::1 (not 127.0.0.1, as coap 1.5.0 error replies would)', async () => {
    const server = createReferenceServer({ host: '::1', port: 0 });
    const target = await server.start();
    try {
      expect(target.host).toBe('::1');
      const res = await coapRequest(target, { body: reg('a'), contentFormat: 0 }, 2000);
      expect(res.code).toBe('4.15');
      expect(res.from.address).toBe('::1');
      const bad = await coapRequest(target, { body: '{not json' }, 2000);
      expect(bad.code).toBe('4.00');
    } finally {
      await server.stop();
    }
  });
});

describe('reference MSGin5G Server fault injection', () => {
  let server: ReferenceServer;
  let target: { host: string; port: number };
  let raw: RawClient;

  beforeEach(async () => {
    server = createReferenceServer({ port: 0 });
    target = await server.start();
    raw = await RawClient.open(target);
  });
  afterEach(async () => {
    await raw.close();
    await server.stop();
  });

  it('drop: no ACK, no response, copies ignored too; registry unchanged', async () => {
    server.faults.add('drop*1');
    raw.send(msgin5gPost(0x0301, token, reg('d')));
    await sleep(150);
    raw.send(msgin5gPost(0x0301, token, reg('d')));
    await sleep(300);
    expect(raw.received).toHaveLength(0);
    expect(server.registry.has('d')).toBe(false);
    expect(server.stats).toMatchObject({ requests: 1, duplicates: 1, faultsApplied: 1 });
    // *1: the next request is answered
    raw.send(msgin5gPost(0x0302, token, reg('d')));
    await raw.waitForCount(1);
    expect(raw.received[0]!.packet.code).toBe('2.04');
  });

  it('lost: the operation is applied but nothing is sent, copies ignored too (case C09 upstream half)', async () => {
    raw.send(msgin5gPost(0x0401, token, reg('l')));
    await raw.waitForCount(1);
    expect(server.registry.has('l')).toBe(true);
    server.faults.add('lost@DEREG*1');
    raw.send(msgin5gPost(0x0402, token, dereg('l')));
    await sleep(150);
    raw.send(msgin5gPost(0x0402, token, dereg('l')));
    await sleep(300);
    expect(raw.received).toHaveLength(1);
    expect(server.registry.has('l')).toBe(false);
  });

  it('rst: the CON gets exactly `70 00 <mid>`, and so does its copy', async () => {
    server.faults.add('rst');
    raw.send(msgin5gPost(0xbeef, token, dereg('r')));
    await raw.waitForCount(1);
    raw.send(msgin5gPost(0xbeef, token, dereg('r')));
    await raw.waitForCount(2);
    expect(raw.received.map((r) => r.bytes.toString('hex'))).toEqual(['7000beef', '7000beef']);
  });

  it('separate=MS: `60 00 <mid>` at once, then a CON 2.04 with the token after MS, retransmitted until ACKed', async () => {
    server.faults.add('separate=300');
    const sent = Date.now();
    raw.send(msgin5gPost(0x0401, token, reg('s')));
    await raw.waitForCount(1);
    expect(raw.received[0]!.bytes.toString('hex')).toBe('60000401');
    expect(raw.received[0]!.at - sent).toBeLessThan(150);
    await raw.waitForCount(2);
    const separate = raw.received[1]!;
    expect(separate.at - sent).toBeGreaterThanOrEqual(290);
    expect(separate.packet).toMatchObject({ code: '2.04', confirmable: true, ack: false });
    expect(separate.packet.token).toEqual(token);
    expect(JSON.parse(separate.packet.payload.toString())).toEqual({ messageType: 'REG', result: 'SUCCESS' });
    expect(server.registry.has('s')).toBe(true);
    // not ACKed: retransmitted with the same Message ID after ACK_TIMEOUT (2..3 s)
    await raw.waitForCount(3, 4000);
    expect(raw.received[2]!.bytes).toEqual(separate.bytes);
    raw.send(generate({ code: '0.00', ack: true, messageId: separate.packet.messageId }));
    const until = Date.now() + 1000;
    while (server.stats.separateResponsesAcked < 1 && Date.now() < until) await sleep(10);
    expect(server.stats).toMatchObject({ separateResponsesSent: 1, separateResponsesAcked: 1, emptyAcksReceived: 1 });
  });

  it('delay=MS: copies meanwhile are absorbed, the answer comes piggybacked after MS, the operation runs once', async () => {
    server.faults.add('delay=400*1');
    const sent = Date.now();
    raw.send(msgin5gPost(0x0501, token, reg('late')));
    await sleep(100);
    raw.send(msgin5gPost(0x0501, token, reg('late')));
    await raw.waitForCount(1);
    expect(raw.received[0]!.at - sent).toBeGreaterThanOrEqual(390);
    expect(raw.received[0]!.packet).toMatchObject({ code: '2.04', ack: true, messageId: 0x0501 });
    await sleep(100);
    expect(raw.received).toHaveLength(1);
    expect(server.stats).toMatchObject({ requests: 1, duplicates: 1 });
  });

  it('code=5.03: no body, Max-Age 30; registry unchanged', async () => {
    server.faults.add('code=5.03@REG');
    const res = await coapRequest(target, { body: reg('u') });
    expect(res).toMatchObject({ code: '5.03', body: '', headers: { 'Max-Age': 30 } });
    expect(server.registry.has('u')).toBe(false);
  });

  it('empty, badjson, noresult: 2.04 with no payload / `{not json` / no result, and the operation done', async () => {
    for (const f of ['empty*1', 'badjson*1', 'noresult*1']) server.faults.add(f);
    const answers = [];
    for (const ue of ['e1', 'e2', 'e3']) answers.push(await coapRequest(target, { body: reg(ue) }));
    expect(answers.map((a) => [a.code, a.body])).toEqual([
      ['2.04', ''],
      ['2.04', '{not json'],
      ['2.04', '{"messageType":"REG"}'],
    ]);
    expect([...server.registry].sort()).toEqual(['e1', 'e2', 'e3']);
  });

  it('@OP and *N scope a fault: fail=CAUSE@REG*1 hits only the next REG', async () => {
    server.faults.add('fail=QUOTA_EXCEEDED@REG*1');
    const d = await coapRequest(target, { body: dereg('q') });
    expect(JSON.parse(d.body)).toMatchObject({ result: 'FAILURE', failureCause: 'NOT_REGISTERED' });
    const r1 = await coapRequest(target, { body: reg('q') });
    expect(JSON.parse(r1.body)).toEqual({ messageType: 'REG', result: 'FAILURE', failureCause: 'QUOTA_EXCEEDED' });
    expect(server.registry.has('q')).toBe(false);
    const r2 = await coapRequest(target, { body: reg('q') });
    expect(JSON.parse(r2.body)).toEqual({ messageType: 'REG', result: 'SUCCESS' });
  });

  it('faults never apply to malformed requests or the registry resource', async () => {
    server.faults.add('drop');
    await expect(coapRequest(target, { body: '{bad' })).resolves.toMatchObject({ code: '4.00' });
    await expect(coapRequest(target, { method: 'GET', path: '/registry', contentFormat: null })).resolves.toMatchObject({ code: '2.05' });
    expect(server.stats.faultsApplied).toBe(0);
  });

  it('stop() cancels a pending delayed answer and closes the socket', async () => {
    server.faults.add('delay=5000');
    raw.send(msgin5gPost(0x0601, token, reg('never')));
    await sleep(50);
    await server.stop();
    await sleep(50);
    expect(raw.received).toHaveLength(0);
    expect(server.registry.has('never')).toBe(false);
  });
});
