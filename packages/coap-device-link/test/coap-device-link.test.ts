/**
 * CoapDeviceLink beyond the contract: life cycle and configuration, piggybacked / separate / NON
 * responses, duplicate detection, several exchanges for one procedure, bounds, error answers that
 * must reach the client itself (not 127.0.0.1), dual-stack.
 */
import * as dgram from 'node:dgram';
import { DeviceLinkError, type ApplicationId, type DeviceLinkHandler, type DeviceResponse, type Layer2Id, type RegistrationId } from '@msgin5g/core';
import { decodeCoapDeviceResponse, encodeCoapDeviceRequest } from '@msgin5g/protocol';
import { CoapDeviceLink, type CoapDeviceLinkOptions } from '@msgin5g/coap-device-link';
import { ipv6LoopbackUnavailable, itUnless } from '@msgin5g/test-support';
import '@msgin5g/test-support/close-coap-global-agents';
import { CoapAgentDevice } from './coap-agent-device';
import { parse } from 'coap-packet';
import { RawCoapClient, contentFormatOf, emptyAck, maxAgeOf, request, reset, typeOf } from './raw-coap-client';
import { Recorder, RecordingLogger, endpointPort, sleep, until } from './recorder';

const APP = 42 as ApplicationId;
const RID = '0011223344556677' as RegistrationId;
const REG = '{"messageType":"REG","appId":"42"}';
const regOk = (registrationId = RID, applicationId = APP): DeviceResponse => ({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId, applicationId });
const nullHandler: DeviceLinkHandler = { onRequest() {}, onProtocolError() {} };

const itIpv6 = itUnless(ipv6LoopbackUnavailable(), 'IPv6 tests of CoapDeviceLink');

describe('CoapDeviceLink', () => {
  const links: CoapDeviceLink[] = [];
  const closers: Array<{ close(): Promise<void> }> = [];
  const started = async (options: Partial<CoapDeviceLinkOptions> = {}, handler: DeviceLinkHandler = nullHandler) => {
    const link = new CoapDeviceLink({ host: '127.0.0.1', port: 0, ...options });
    links.push(link);
    await link.start(handler);
    return link;
  };
  const rawClient = async (link: CoapDeviceLink, localHost = '127.0.0.1', targetHost = '127.0.0.1') => {
    const c = await RawCoapClient.open(localHost, { host: targetHost, port: endpointPort(link.endpoint) });
    closers.push(c);
    return c;
  };
  const agentDevice = async (link: CoapDeviceLink, localHost = '127.0.0.1', targetHost = localHost) => {
    const d = await CoapAgentDevice.open(localHost, { host: targetHost, port: endpointPort(link.endpoint) });
    closers.push(d);
    return d;
  };
  afterEach(async () => {
    for (const c of closers.splice(0)) await c.close();
    for (const l of links.splice(0)) await l.stop();
  });

  describe('start and configuration', () => {
    it('rejects with DeviceLinkError BIND and "UDP port N is in use" when the port is taken', async () => {
      const busy = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => busy.bind(0, '127.0.0.1', () => resolve()));
      const port = busy.address().port;
      try {
        const link = new CoapDeviceLink({ host: '127.0.0.1', port });
        const p = link.start(nullHandler);
        await expect(p).rejects.toBeInstanceOf(DeviceLinkError);
        await expect(p).rejects.toMatchObject({ reason: 'BIND', message: expect.stringContaining(`UDP port ${port} is in use`) });
        await expect(p).rejects.toHaveProperty('cause.code', 'EADDRINUSE');
        await link.stop();
        await link.stop();
      } finally {
        await new Promise<void>((resolve) => busy.close(() => resolve()));
      }
    });

    it('rejects with BIND when the address is not on this host', async () => {
      const link = new CoapDeviceLink({ host: '192.0.2.1', port: 0 });
      await expect(link.start(nullHandler)).rejects.toMatchObject({ reason: 'BIND', message: expect.stringContaining('not configured on this host') });
    });

    it('rejects a second start while running, and can start again after stop', async () => {
      const link = await started();
      await expect(link.start(nullHandler)).rejects.toMatchObject({ reason: 'BIND' });
      await link.stop();
      await link.start(nullHandler);
      expect(link.endpoint).toMatch(/^coap:\/\/127\.0\.0\.1:\d+\/msgin5g$/);
    });

    it('stop() during start() wins: start rejects with CLOSED', async () => {
      const link = new CoapDeviceLink({ host: '127.0.0.1', port: 0 });
      const starting = link.start(nullHandler);
      await link.stop();
      await expect(starting).rejects.toMatchObject({ reason: 'CLOSED' });
    });

    it.each<[string, CoapDeviceLinkOptions]>([
      ['a host name', { host: 'localhost' }],
      ['port 70000', { host: '127.0.0.1', port: 70000 }],
      ['an empty uriPath', { host: '127.0.0.1', uriPath: '/' }],
      ['an empty path segment', { host: '127.0.0.1', uriPath: 'a//b' }],
      ['separateAfterMs -1', { host: '127.0.0.1', separateAfterMs: -1 }],
      ['maxPendingExchanges 0', { host: '127.0.0.1', maxPendingExchanges: 0 }],
      ['ackTimeoutMs 1.5', { host: '127.0.0.1', ackTimeoutMs: 1.5 }],
    ])('throws TypeError on %s', (_what, options) => {
      expect(() => new CoapDeviceLink(options)).toThrow(TypeError);
    });

    it('names its endpoint with the configured path; the bound port once started', async () => {
      expect(new CoapDeviceLink({ host: '0.0.0.0' }).endpoint).toBe('coap://0.0.0.0:5683/msgin5g');
      expect(new CoapDeviceLink({ host: '::', port: 5684, uriPath: '/a/b/' }).endpoint).toBe('coap://[::]:5684/a/b');
      const link = await started();
      expect(link.kind).toBe('coap');
      expect(endpointPort(link.endpoint)).toBeGreaterThan(0);
    });

    it('serves a configured multi-segment path and answers 4.04 on the default one', async () => {
      const h = new Recorder();
      const link = await started({ uriPath: 'gw/m5' }, h);
      const d = await agentDevice(link);
      await expect(d.post(Buffer.from(REG), { pathname: '/msgin5g' })).resolves.toMatchObject({ code: '4.04' });
      const answered = d.post(Buffer.from(REG), { pathname: '/gw/m5' });
      await h.until(() => h.requests.length === 1);
      await link.send(d.layer2Id, regOk());
      await expect(answered).resolves.toMatchObject({ code: '2.04' });
    });
  });

  describe('send', () => {
    const response = regOk();
    it('rejects with CLOSED before start and after stop', async () => {
      const link = new CoapDeviceLink({ host: '127.0.0.1', port: 0 });
      await expect(link.send('127.0.0.1:40000' as Layer2Id, response)).rejects.toMatchObject({ reason: 'CLOSED' });
    });

    it.each([
      ['a MAC Layer-2 ID', '02000000aa01'],
      ['a host name', 'localhost:40000'],
      ['port 0', '127.0.0.1:0'],
    ])('rejects %s with BAD_ADDRESS', async (_what, to) => {
      const link = await started();
      await expect(link.send(to as Layer2Id, response)).rejects.toMatchObject({ name: 'DeviceLinkError', reason: 'BAD_ADDRESS' });
    });

    it('drops (and logs) a response for which no exchange is pending, sending nothing', async () => {
      const logger = new RecordingLogger();
      const link = await started({ logger });
      const c = await rawClient(link);
      await expect(link.send(c.layer2Id, response)).resolves.toBeUndefined();
      expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'info', message: expect.stringContaining('no CoAP exchange pending'), fields: expect.objectContaining({ layer2Id: c.layer2Id }) }));
      await sleep(200);
      expect(c.received).toHaveLength(0);
    });
  });

  describe('responses (RFC 7252 §5.2)', () => {
    it('answers a CON piggybacked in the ACK: 2.04, same Message ID and token, Content-Format 50, the JSON result', async () => {
      const h = new Recorder();
      const link = await started({}, h);
      const c = await rawClient(link);
      h.onEach = (_r, from) => void link.send(from, regOk());
      await c.sendRaw(request({ messageId: 0x1234, token: Buffer.from('c0ffee', 'hex'), payload: REG }));
      const m = await c.message(0);
      expect({ type: typeOf(m), code: m.code, messageId: m.messageId, token: m.token.toString('hex'), cf: contentFormatOf(m) }).toEqual({
        type: 'ACK',
        code: '2.04',
        messageId: 0x1234,
        token: 'c0ffee',
        cf: 50,
      });
      expect(JSON.parse(m.payload.toString('utf8'))).toEqual({ messageType: 'REG', result: 'SUCCESS', appId: '42', registrationId: RID });
      expect(h.requests).toEqual([{ request: { kind: 'REGISTRATION_REQUEST', applicationId: 42 }, from: c.layer2Id, link: 'coap' }]);
    });

    it('a slow core: empty ACK at separateAfterMs, then a separate CON 2.04 (new Message ID, same token) that stops once ACKed', async () => {
      const h = new Recorder();
      const logger = new RecordingLogger();
      const link = await started({ separateAfterMs: 300, ackTimeoutMs: 200, logger }, h);
      const c = await rawClient(link);
      const sentAt = Date.now();
      await c.sendRaw(request({ messageId: 0x0100, token: Buffer.from('0102', 'hex'), payload: REG }));
      const ack = await c.message(0);
      expect({ type: typeOf(ack), code: ack.code, messageId: ack.messageId, token: ack.token.length }).toEqual({ type: 'ACK', code: '0.00', messageId: 0x0100, token: 0 });
      expect((c.received[0]?.at ?? 0) - sentAt).toBeGreaterThanOrEqual(250);
      await link.send(c.layer2Id, regOk());
      const con = await c.message(1);
      expect({ type: typeOf(con), code: con.code, token: con.token.toString('hex'), cf: contentFormatOf(con) }).toEqual({ type: 'CON', code: '2.04', token: '0102', cf: 50 });
      expect(con.messageId).not.toBe(0x0100);
      expect(decodeCoapDeviceResponse(con.payload)).toEqual({ ok: true, value: regOk() });
      await c.sendRaw(emptyAck(con.messageId));
      await until(() => logger.messages('debug').includes('separate response acknowledged'));
      await sleep(700); // several ACK timeouts: no retransmission after the ACK
      expect(c.received).toHaveLength(2);
    });

    it('retransmits an unacknowledged separate response with the same bytes, MAX_RETRANSMIT = 4 times, then gives up', async () => {
      const logger = new RecordingLogger();
      const h = new Recorder();
      const link = await started({ separateAfterMs: 0, ackTimeoutMs: 20, logger }, h);
      const c = await rawClient(link);
      await c.sendRaw(request({ messageId: 7, payload: REG }));
      await c.datagram(0); // empty ACK
      await link.send(c.layer2Id, regOk());
      await until(() => logger.messages('warn').includes('separate response never acknowledged by the device'), 5000);
      const copies = c.received.slice(1).map((r) => r.bytes.toString('hex'));
      expect(copies).toHaveLength(5);
      expect(new Set(copies).size).toBe(1);
    });

    it('stops retransmitting when the device answers the separate response with RST, and logs it', async () => {
      const logger = new RecordingLogger();
      const link = await started({ separateAfterMs: 0, ackTimeoutMs: 100, logger }, new Recorder());
      const c = await rawClient(link);
      await c.sendRaw(request({ messageId: 8, payload: REG }));
      await c.datagram(0);
      await link.send(c.layer2Id, regOk());
      const con = await c.message(1);
      await c.sendRaw(reset(con.messageId));
      await until(() => logger.messages('info').includes('the device rejected a separate response with RST'));
      await sleep(500);
      expect(c.received).toHaveLength(2);
    });

    it('with npm coap as the device: the core answers after 1.5 s, the agent gets the empty ACK, then the CON 2.04, and ACKs it', async () => {
      const h = new Recorder();
      const logger = new RecordingLogger();
      const link = await started({ logger }, h); // default separateAfterMs (1 s)
      const d = await agentDevice(link);
      h.onEach = (_r, from) => void sleep(1500).then(() => link.send(from, regOk()));
      const started_ = Date.now();
      const answer = await d.post(Buffer.from(REG));
      expect(Date.now() - started_).toBeGreaterThanOrEqual(1400);
      expect(answer.code).toBe('2.04');
      expect(decodeCoapDeviceResponse(answer.payload)).toEqual({ ok: true, value: regOk() });
      expect(logger.messages('debug')).toEqual(expect.arrayContaining(['empty ACK sent; the response will be separate', 'separate response']));
      await until(() => logger.messages('debug').includes('separate response acknowledged'));
      expect(h.requests).toHaveLength(1); // the agent did not retransmit after the empty ACK
    });

    it('answers a NON request with a NON response (new Message ID, same token)', async () => {
      const h = new Recorder();
      const link = await started({}, h);
      const c = await rawClient(link);
      h.onEach = (_r, from) => void link.send(from, regOk());
      await c.sendRaw(request({ messageId: 0x4242, confirmable: false, token: Buffer.from('aa', 'hex'), payload: REG }));
      const m = await c.message(0);
      expect({ type: typeOf(m), code: m.code, token: m.token.toString('hex'), cf: contentFormatOf(m) }).toEqual({ type: 'NON', code: '2.04', token: 'aa', cf: 50 });
      expect(m.messageId).not.toBe(0x4242);
      // A slow core changes nothing for a NON: no empty ACK is ever sent.
      await sleep(100);
      expect(c.received).toHaveLength(1);
    });

    it('with npm coap as the device: a NON request gets its answer', async () => {
      const h = new Recorder();
      const link = await started({}, h);
      const d = await agentDevice(link);
      h.onEach = (_r, from) => void link.send(from, regOk());
      await expect(d.post(Buffer.from(REG), { confirmable: false })).resolves.toMatchObject({ code: '2.04' });
      await expect(d.nextResponse()).resolves.toEqual(regOk());
    });
  });

  describe('duplicates (RFC 7252 §4.5)', () => {
    it('copies of a CON reach the core once; a copy while pending gets the empty ACK at once, then again; the same response after the answer', async () => {
      const h = new Recorder();
      const link = await started({ separateAfterMs: 5000 }, h);
      const c = await rawClient(link);
      const req = request({ messageId: 0x0a0a, payload: REG });
      await c.sendRaw(req);
      await h.until(() => h.requests.length === 1);
      await sleep(50);
      expect(c.received).toHaveLength(0); // pending, well before separateAfterMs
      const sentAt = Date.now();
      await c.sendRaw(req); // the device timed out once: it is acknowledged now, not at separateAfterMs
      const ack = await c.datagram(0);
      expect(ack.toString('hex')).toBe('60000a0a');
      expect((c.received[0]?.at ?? 0) - sentAt).toBeLessThan(1000);
      await c.sendRaw(req);
      expect((await c.datagram(1)).toString('hex')).toBe('60000a0a'); // the empty ACK again
      await link.send(c.layer2Id, regOk());
      expect(typeOf(await c.message(2))).toBe('CON'); // separate response
      expect(h.requests).toHaveLength(1);

      // Piggybacked: a late copy gets the very same ACK bytes.
      const req2 = request({ messageId: 0x0b0b, payload: '{"messageType":"DEREG","registrationId":"0011223344556677"}' });
      h.onEach = (_r, from) => void link.send(from, { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: RID, applicationId: APP });
      await c.sendRaw(req2);
      const first = await c.datagram(3);
      await c.sendRaw(req2);
      expect((await c.datagram(4)).toString('hex')).toBe(first.toString('hex'));
      expect(h.requests).toHaveLength(2);
      // Three copies absorbed by the message layer: counted and told to the handler (the core counts them).
      expect(link.counters.duplicatesAbsorbed).toBe(3);
      expect(h.duplicates).toEqual([c.layer2Id, c.layer2Id, c.layer2Id]);
    });

    it('a copy of a NON is ignored, also after the answer', async () => {
      const h = new Recorder();
      const link = await started({}, h);
      const c = await rawClient(link);
      const req = request({ messageId: 0x0c0c, confirmable: false, payload: REG });
      await c.sendRaw(req);
      await c.sendRaw(req);
      await h.until(() => h.requests.length === 1);
      await link.send(c.layer2Id, regOk());
      await c.datagram(0);
      await c.sendRaw(req);
      await sleep(150);
      expect(h.requests).toHaveLength(1);
      expect(c.received).toHaveLength(1);
    });

    it('a copy of a request answered with an error gets the same error answer, without a second report', async () => {
      const h = new Recorder();
      const link = await started({}, h);
      const c = await rawClient(link);
      const req = request({ messageId: 0x0d0d, payload: 'not json' });
      await c.sendRaw(req);
      const first = await c.datagram(0);
      await c.sendRaw(req);
      expect((await c.datagram(1)).toString('hex')).toBe(first.toString('hex'));
      expect(h.errors).toHaveLength(1);
    });
  });

  describe('several exchanges for one procedure', () => {
    it('a device that re-sent with a new Message ID gets the one answer on both exchanges (npm coap device)', async () => {
      const h = new Recorder();
      const link = await started({}, h);
      const d = await agentDevice(link);
      const first = d.post(encodeCoapDeviceRequest({ kind: 'REGISTRATION_REQUEST', applicationId: APP }));
      const second = d.post(encodeCoapDeviceRequest({ kind: 'REGISTRATION_REQUEST', applicationId: APP }));
      await h.until(() => h.requests.length === 2);
      await link.send(d.layer2Id, regOk());
      const [a, b] = await Promise.all([first, second]);
      expect([a.code, b.code]).toEqual(['2.04', '2.04']);
      expect(decodeCoapDeviceResponse(a.payload)).toEqual({ ok: true, value: regOk() });
      expect(b.payload.toString()).toBe(a.payload.toString());
      expect(link.pendingExchanges).toBe(0);
    });

    it('answers only the procedure a response names: REG app 1 and REG app 2 pending from one device', async () => {
      const h = new Recorder();
      const link = await started({}, h);
      const d = await agentDevice(link);
      const app1 = d.post(encodeCoapDeviceRequest({ kind: 'REGISTRATION_REQUEST', applicationId: 1 as ApplicationId }));
      const app2 = d.post(encodeCoapDeviceRequest({ kind: 'REGISTRATION_REQUEST', applicationId: 2 as ApplicationId }));
      await h.until(() => h.requests.length === 2);
      await link.send(d.layer2Id, regOk('0b' as RegistrationId, 2 as ApplicationId));
      await expect(app2).resolves.toMatchObject({ code: '2.04' });
      expect(link.pendingExchanges).toBe(1);
      await link.send(d.layer2Id, regOk('0a' as RegistrationId, 1 as ApplicationId));
      const a1 = await app1;
      expect(decodeCoapDeviceResponse(a1.payload)).toEqual({ ok: true, value: regOk('0a' as RegistrationId, 1 as ApplicationId) });
    });

    it('a response that names no procedure (DEREG failure) answers the oldest pending procedure of its kind', async () => {
      const h = new Recorder();
      const link = await started({}, h);
      const c = await rawClient(link);
      await c.sendRaw(request({ messageId: 1, payload: '{"messageType":"DEREG","registrationId":"aa"}' }));
      await c.sendRaw(request({ messageId: 2, payload: '{"messageType":"DEREG","registrationId":"bb"}' }));
      await h.until(() => h.requests.length === 2);
      await link.send(c.layer2Id, { kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'UNKNOWN_REGISTRATION_ID' });
      const m = await c.message(0);
      expect(m.messageId).toBe(1);
      await sleep(100);
      expect(c.received).toHaveLength(1);
      expect(link.pendingExchanges).toBe(1);
    });

    it('a REG response does not answer a pending DEREG from the same device', async () => {
      const h = new Recorder();
      const link = await started({}, h);
      const c = await rawClient(link);
      await c.sendRaw(request({ messageId: 3, payload: '{"messageType":"DEREG","registrationId":"aa"}' }));
      await h.until(() => h.requests.length === 1);
      await link.send(c.layer2Id, regOk());
      await sleep(100);
      expect(c.received).toHaveLength(0);
      expect(link.pendingExchanges).toBe(1);
    });
  });

  describe('bounds', () => {
    it('at maxExchangesPerDevice pending, the NEW request is refused at once with 5.03 and Max-Age; the pending ones are kept and answered', async () => {
      const h = new Recorder();
      const logger = new RecordingLogger();
      const link = await started({ maxExchangesPerDevice: 2, logger }, h);
      const c = await rawClient(link);
      for (const mid of [1, 2, 3]) await c.sendRaw(request({ messageId: mid, payload: REG }));
      const refused = await c.message(0);
      expect({ type: typeOf(refused), code: refused.code, messageId: refused.messageId, maxAge: maxAgeOf(refused), text: refused.payload.toString() }).toEqual({
        type: 'ACK',
        code: '5.03',
        messageId: 3,
        maxAge: 5,
        text: '2 requests of this device pending',
      });
      expect(h.requests).toHaveLength(2);
      expect(link.pendingExchanges).toBe(2);
      expect(link.counters).toEqual({ refusedDeviceLimit: 1, refusedLinkLimit: 0, expired: 0, duplicatesAbsorbed: 0 });
      expect(logger.messages('warn')).toContain('a device at its pending-exchange limit: new request answered 5.03');
      await link.send(c.layer2Id, regOk());
      const answered = await Promise.all([c.message(1), c.message(2)]);
      expect(answered.map((m) => [m.messageId, m.code]).sort()).toEqual([
        [1, '2.04'],
        [2, '2.04'],
      ]);
      await sleep(100);
      expect(c.received).toHaveLength(3);
    });

    it('at maxPendingExchanges in all, a new request from another device gets 5.03 with Max-Age and does not reach the core', async () => {
      const h = new Recorder();
      const logger = new RecordingLogger();
      const link = await started({ maxPendingExchanges: 2, refusalMaxAgeS: 30, logger }, h);
      const c = await rawClient(link);
      const other = await rawClient(link);
      await c.sendRaw(request({ messageId: 1, payload: REG }));
      await c.sendRaw(request({ messageId: 2, payload: '{"messageType":"REG","appId":"43"}' }));
      await h.until(() => h.requests.length === 2);
      await other.sendRaw(request({ messageId: 3, payload: '{"messageType":"REG","appId":"44"}' }));
      const m = await other.message(0);
      expect({ type: typeOf(m), code: m.code, messageId: m.messageId, maxAge: maxAgeOf(m), text: m.payload.toString() }).toEqual({ type: 'ACK', code: '5.03', messageId: 3, maxAge: 30, text: 'gateway busy' });
      expect(h.requests).toHaveLength(2);
      expect(link.counters).toEqual({ refusedDeviceLimit: 0, refusedLinkLimit: 1, expired: 0, duplicatesAbsorbed: 0 });
      expect(logger.messages('warn')).toContain('CoAP device link at its pending-exchange limit: new request answered 5.03');
    });

    it('a NON over the cap is refused with a NON 5.03 (same token, new Message ID)', async () => {
      const h = new Recorder();
      const link = await started({ maxExchangesPerDevice: 1 }, h);
      const c = await rawClient(link);
      await c.sendRaw(request({ messageId: 1, confirmable: false, payload: REG }));
      await h.until(() => h.requests.length === 1);
      await c.sendRaw(request({ messageId: 2, confirmable: false, token: Buffer.from('beef', 'hex'), payload: '{"messageType":"REG","appId":"43"}' }));
      const m = await c.message(0);
      expect({ type: typeOf(m), code: m.code, token: m.token.toString('hex'), maxAge: maxAgeOf(m) }).toEqual({ type: 'NON', code: '5.03', token: 'beef', maxAge: 5 });
      expect(m.messageId).not.toBe(2);
    });

    it('a pending exchange the core has not answered within pendingLifetimeMs gets 5.03 with Max-Age; a later response finds nothing to answer', async () => {
      const h = new Recorder();
      const logger = new RecordingLogger();
      const link = await started({ pendingLifetimeMs: 100, separateAfterMs: 5000, logger }, h);
      const c = await rawClient(link);
      await c.sendRaw(request({ messageId: 1, payload: REG }));
      await h.until(() => h.requests.length === 1);
      const m = await c.message(0);
      expect({ type: typeOf(m), code: m.code, messageId: m.messageId, maxAge: maxAgeOf(m) }).toEqual({ type: 'ACK', code: '5.03', messageId: 1, maxAge: 5 });
      expect(link.pendingExchanges).toBe(0);
      expect(link.counters.expired).toBe(1);
      expect(logger.messages('warn')).toContain('pending exchange expired unanswered by the core: answered 5.03');
      await link.send(c.layer2Id, regOk());
      expect(logger.messages('info')).toContainEqual(expect.stringContaining('no CoAP exchange pending'));
      await sleep(100);
      expect(c.received).toHaveLength(1);
    });

    it('an acknowledged exchange that expires gets its 5.03 as a separate CON, retransmitted until ACKed', async () => {
      const h = new Recorder();
      const link = await started({ pendingLifetimeMs: 150, separateAfterMs: 0, ackTimeoutMs: 50 }, h);
      const c = await rawClient(link);
      await c.sendRaw(request({ messageId: 9, token: Buffer.from('0909', 'hex'), payload: REG }));
      expect((await c.datagram(0)).toString('hex')).toBe('60000009');
      const m = await c.message(1);
      expect({ type: typeOf(m), code: m.code, token: m.token.toString('hex'), maxAge: maxAgeOf(m) }).toEqual({ type: 'CON', code: '5.03', token: '0909', maxAge: 5 });
      const again = await c.datagram(2);
      expect(again.toString('hex')).toBe(c.received[1]?.bytes.toString('hex'));
      await c.sendRaw(emptyAck(m.messageId));
      await sleep(300);
      const copies = c.received.length;
      await sleep(300);
      expect(c.received).toHaveLength(copies);
    });

    it('remembers at most maxRememberedMessages Message IDs: a copy of a forgotten one is a new request', async () => {
      const h = new Recorder();
      const link = await started({ maxRememberedMessages: 2 }, h);
      const c = await rawClient(link);
      h.onEach = (_r, from) => void link.send(from, regOk());
      for (const mid of [1, 2, 3]) await c.sendRaw(request({ messageId: mid, payload: REG }));
      await h.until(() => h.requests.length === 3);
      await c.sendRaw(request({ messageId: 3, payload: REG })); // remembered: replayed, not delivered
      await c.sendRaw(request({ messageId: 1, payload: REG })); // forgotten: delivered again
      await h.until(() => h.requests.length === 4);
      await c.datagram(4);
      await sleep(100);
      expect(h.requests).toHaveLength(4);
    });

    it('stop() answers pending exchanges 5.03 once, then cancels retransmissions', async () => {
      const h = new Recorder();
      const link = await started({ separateAfterMs: 0, ackTimeoutMs: 50 }, h);
      const c = await rawClient(link);
      await c.sendRaw(request({ messageId: 1, payload: REG }));
      await c.sendRaw(request({ messageId: 2, payload: '{"messageType":"REG","appId":"43"}' }));
      await h.until(() => h.requests.length === 2);
      await c.datagram(1);
      await link.send(c.layer2Id, regOk());
      await c.datagram(2); // the separate response, to be retransmitted every ~50..75 ms until ACKed
      expect(link.pendingExchanges).toBe(1);
      await link.stop();
      expect(link.pendingExchanges).toBe(0);
      await sleep(50);
      const n = c.received.length;
      const stopAnswers = c.received.map((r) => parse(r.bytes)).filter((m) => m.code === '5.03');
      expect(stopAnswers.map((m) => [typeOf(m), m.payload.toString(), maxAgeOf(m)])).toEqual([['CON', 'gateway stopping', 5]]);
      await sleep(300);
      expect(c.received).toHaveLength(n);
    });
  });

  describe('error answers reach the client itself (coap 1.5.0 would send them to 127.0.0.1)', () => {
    it('4.15 and 4.00 reach an npm coap device on 127.0.0.2', async () => {
      const h = new Recorder();
      const link = await started({ host: '0.0.0.0' }, h);
      const d = await agentDevice(link, '127.0.0.2', '127.0.0.2');
      expect(d.layer2Id).toMatch(/^127\.0\.0\.2:\d+$/);
      const noFormat = await d.post(Buffer.from(REG), { contentFormat: null });
      expect(noFormat.code).toBe('4.15');
      const text = await d.post(Buffer.from(REG), { contentFormat: 0 });
      expect(text.code).toBe('4.15');
      const bad = await d.post(Buffer.from('{"messageType":"REG"}'));
      expect(bad.code).toBe('4.00');
      expect(bad.contentFormat).toBe('application/json');
      expect(JSON.parse(bad.payload.toString())).toEqual({ error: 'member "appId" is missing' });
      expect(h.errors.map((e) => ({ from: e.from, answered: e.answered }))).toEqual([
        { from: d.layer2Id, answered: true },
        { from: d.layer2Id, answered: true },
        { from: d.layer2Id, answered: true },
      ]);
      expect(h.requests).toHaveLength(0);
    });

    itIpv6('4.15 and 4.00 reach an npm coap device on ::1', async () => {
      const h = new Recorder();
      const link = await started({ host: '::1' }, h);
      const d = await agentDevice(link, '::1');
      await expect(d.post(Buffer.from(REG), { contentFormat: 40 })).resolves.toMatchObject({ code: '4.15' });
      await expect(d.post(Buffer.from('[]'))).resolves.toMatchObject({ code: '4.00' });
      expect(h.errors).toHaveLength(2);
    });

    it('other methods get 4.05 and other paths 4.04, as NON answers to NON requests too', async () => {
      const h = new Recorder();
      const link = await started({}, h);
      const d = await agentDevice(link);
      await expect(d.post(Buffer.alloc(0), { method: 'GET', contentFormat: null })).resolves.toMatchObject({ code: '4.05' });
      await expect(d.post(Buffer.from(REG), { method: 'PUT' })).resolves.toMatchObject({ code: '4.05' });
      await expect(d.post(Buffer.from(REG), { pathname: '/other' })).resolves.toMatchObject({ code: '4.04' });
      await expect(d.post(Buffer.from(REG), { pathname: '/other', confirmable: false })).resolves.toMatchObject({ code: '4.04' });
      expect(h.errors).toHaveLength(4);
      expect(h.requests).toHaveLength(0);
    });
  });

  describe('dual-stack ::', () => {
    itIpv6('gives an IPv4 device its plain IPv4 Layer-2 ID and answers it; an IPv6 device on the same socket too', async () => {
      const h = new Recorder();
      const link = await started({ host: '::' }, h);
      h.onEach = (_r, from) => void link.send(from, regOk());
      const d4 = await agentDevice(link, '127.0.0.1');
      await expect(d4.post(Buffer.from(REG))).resolves.toMatchObject({ code: '2.04' });
      expect(h.requests[0]?.from).toBe(d4.layer2Id);
      expect(d4.layer2Id).toMatch(/^127\.0\.0\.1:\d+$/);
      const d6 = await agentDevice(link, '::1');
      await expect(d6.post(Buffer.from(REG))).resolves.toMatchObject({ code: '2.04' });
      expect(h.requests[1]?.from).toMatch(/^\[::1\]:\d+$/);
    });
  });

  describe('handler faults and logging', () => {
    it('a handler that throws does not stop the link (logged)', async () => {
      const logger = new RecordingLogger();
      const link = await started(
        { logger },
        {
          onRequest: () => {
            throw new Error('handler bug');
          },
          onProtocolError: () => {
            throw new Error('handler bug');
          },
        },
      );
      const c = await rawClient(link);
      await c.sendRaw(request({ messageId: 1, payload: 'x' }));
      await c.sendRaw(request({ messageId: 2, payload: REG }));
      await until(() => logger.messages('error').length === 2);
      expect(logger.messages('error')).toEqual(['device link handler threw in onProtocolError; the link goes on', 'device link handler threw in onRequest; the link goes on']);
      await link.send(c.layer2Id, regOk());
      await c.datagram(1);
    });

    it('logs the listening endpoint at debug and never warns in normal operation', async () => {
      const logger = new RecordingLogger();
      const h = new Recorder();
      const link = await started({ logger }, h);
      const d = await agentDevice(link);
      h.onEach = (_r, from) => void link.send(from, regOk());
      await d.post(Buffer.from(REG));
      expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'debug', message: 'CoAP device link listening', fields: expect.objectContaining({ endpoint: link.endpoint }) }));
      expect(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
    });
  });
});
