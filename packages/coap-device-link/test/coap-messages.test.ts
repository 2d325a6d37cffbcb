/**
 * CoapDeviceLink and messages (docs/wire-formats.md §3.3 "Messages", §5.3) with raw datagrams built
 * from RFC 7252 §3 by hand: the gateway's CON POST of a `MSG` / `IMDN` and every way a device may
 * answer it (piggybacked 2.04, a duplicate of it, empty ACK then a separate CON or NON 2.04 and its
 * copy, RST, 4.04, an unknown token, no answer at all), a device's `MSG` and REG pending at once
 * (each answered by its own response), a device's `IMDN`, and the size limit.
 */
import type { ApplicationId, DeliveryReportReceiving, DeviceDeliveryMessage, Layer2Id, LinkKind, MessageId, MessageReceiving, RegistrationId } from '@msgin5g/core';
import { RecordingDeviceLinkHandler, RecordingLogger } from '@msgin5g/core/testing';
import { decodeCoapGatewayDelivery, decodeCoapMessageResponse, encodeCoapGatewayDelivery } from '@msgin5g/protocol';
import { CoapDeviceLink, type CoapDeviceLinkOptions } from '@msgin5g/coap-device-link';
import { ipv6LoopbackUnavailable, itUnless } from '@msgin5g/test-support';
import { RawCoapClient, emptyAck, handBuiltPost, headerOf, reset } from './raw-coap-client';
import { endpointPort, sleep, until } from './recorder';

const APP = 42 as ApplicationId;
const MID = '000102030405060708090a0b0c0d0e0f' as MessageId;
const receiving = (messageId: MessageId = MID): MessageReceiving => ({
  kind: 'MESSAGE_RECEIVING',
  originatorAddress: 'ue-77',
  messageId,
  payload: Uint8Array.of(1, 2, 3),
  applicationId: APP,
  deliveryStatusRequired: true,
  originatorType: 'UE',
});
const ackOf = (messageId: MessageId = MID) => ({ message: { kind: 'MESSAGE_RECEIVING_ACK', messageId, applicationId: APP }, from: expect.any(String) as unknown as Layer2Id, link: 'coap' as LinkKind });
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** A response to a request of the link, written from RFC 7252 §3: header (Ver 1, type, TKL), code, Message ID, token, optional payload. */
function response(type: 'CON' | 'NON' | 'ACK', code: number, messageId: number, token: string, payload = ''): Buffer {
  const t = { CON: 0, NON: 1, ACK: 2 }[type];
  const tokenOctets = hex(token);
  const head = Buffer.from([0x40 | (t << 4) | tokenOctets.length, code, messageId >> 8, messageId & 0xff]);
  return Buffer.concat([head, tokenOctets, payload.length > 0 ? Buffer.concat([Buffer.from([0xff]), Buffer.from(payload)]) : Buffer.alloc(0)]);
}

describe('CoapDeviceLink: messages', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const setUp = async (options: Partial<CoapDeviceLinkOptions> = {}) => {
    const logger = new RecordingLogger();
    const handler = new RecordingDeviceLinkHandler();
    const link = new CoapDeviceLink({ host: '127.0.0.1', port: 0, logger, ...options });
    await link.start(handler);
    cleanup.push(() => link.stop());
    const device = await RawCoapClient.open('127.0.0.1', { host: '127.0.0.1', port: endpointPort(link.endpoint) });
    cleanup.push(() => device.close());
    return { link, handler, device, logger };
  };

  it('MESSAGE RECEIVING is a CON POST: Uri-Path msgin5g, Content-Format 50, 4-octet token, the MSG JSON; a piggybacked 2.04 is the ack, a duplicate 2.04 is ignored', async () => {
    const { link, handler, device } = await setUp();
    await link.send(device.layer2Id, receiving());
    const post = headerOf(await device.datagram(0));
    expect({ type: post.type, code: post.code, tokenOctets: post.token.length / 2 }).toEqual({ type: 'CON', code: 0x02, tokenOctets: 4 });
    // b7 "msgin5g" (Uri-Path), 11 32 (Content-Format 50), ff, the body
    expect(post.rest).toBe(`b76d7367696e3567113 2ff`.replace(/\s/g, '') + Buffer.from(encodeCoapGatewayDelivery(receiving())).toString('hex'));
    expect(decodeCoapGatewayDelivery(hex(post.rest.slice(post.rest.indexOf('ff') + 2)))).toEqual({ ok: true, value: receiving() });
    await device.sendRaw(response('ACK', 0x44, post.messageId, post.token));
    await handler.until(() => handler.deliveries.length === 1);
    expect(handler.deliveries[0]).toEqual({ ...ackOf(), from: device.layer2Id });
    await device.sendRaw(response('ACK', 0x44, post.messageId, post.token)); // a duplicate 2.04
    await sleep(100);
    expect(handler.deliveries).toHaveLength(1);
    expect(handler.errors).toHaveLength(0);
    expect(device.received).toHaveLength(1); // nothing sent back to an ACK
  });

  it('empty ACK, then a separate CON 2.04 (new Message ID, same token): the link ACKs it, reports the ack once, and ACKs its copy again', async () => {
    const { link, handler, device } = await setUp({ ackTimeoutMs: 200 });
    await link.send(device.layer2Id, receiving());
    const post = headerOf(await device.datagram(0));
    await device.sendRaw(emptyAck(post.messageId));
    await sleep(600); // past two ACK_TIMEOUTs: no retransmission after the empty ACK
    expect(device.received).toHaveLength(1);
    await device.sendRaw(response('CON', 0x44, 0x7001, post.token));
    expect((await device.datagram(1)).toString('hex')).toBe('60007001');
    await handler.until(() => handler.deliveries.length === 1);
    expect(handler.deliveries[0]).toEqual({ ...ackOf(), from: device.layer2Id });
    await device.sendRaw(response('CON', 0x44, 0x7001, post.token)); // its copy (our ACK was lost)
    expect((await device.datagram(2)).toString('hex')).toBe('60007001');
    await sleep(100);
    expect(handler.deliveries).toHaveLength(1);
    expect(handler.errors).toHaveLength(0);
  });

  it('a separate NON 2.04 is the ack too, and nothing is sent back', async () => {
    const { link, handler, device } = await setUp();
    await link.send(device.layer2Id, receiving());
    const post = headerOf(await device.datagram(0));
    await device.sendRaw(emptyAck(post.messageId));
    await device.sendRaw(response('NON', 0x44, 0x7002, post.token));
    await handler.until(() => handler.deliveries.length === 1);
    await sleep(100);
    expect(device.received).toHaveLength(1);
  });

  it('an RST from the device ends the exchange: no ack, no more retransmissions, logged', async () => {
    const { link, handler, device, logger } = await setUp({ ackTimeoutMs: 100 });
    await link.send(device.layer2Id, receiving());
    const post = headerOf(await device.datagram(0));
    await device.sendRaw(reset(post.messageId));
    await until(() => logger.messages('info').includes('the device answered a message POST with RST: no acknowledgement'));
    await sleep(500);
    expect(device.received).toHaveLength(1);
    expect(handler.deliveries).toHaveLength(0);
  });

  it('a 4.04 from the device is no ack (logged); a piggybacked 2.04 with another token is a protocol error and the CON goes on', async () => {
    const { link, handler, device, logger } = await setUp({ ackTimeoutMs: 100 });
    await link.send(device.layer2Id, receiving());
    const first = headerOf(await device.datagram(0));
    await device.sendRaw(response('ACK', 0x44, first.messageId, 'deadbeef'));
    await handler.until(() => handler.errors.length === 1);
    expect(handler.errors[0]?.detail).toContain('token');
    const copy = headerOf(await device.datagram(1, 2000)); // retransmitted: same Message ID and token
    expect({ messageId: copy.messageId, token: copy.token }).toEqual({ messageId: first.messageId, token: first.token });
    await device.sendRaw(response('ACK', 0x84, first.messageId, first.token));
    await until(() => logger.messages('info').includes('the device refused a message POST: no acknowledgement'));
    expect(handler.deliveries).toHaveLength(0);
  });

  it('a CON 2.04 with a token the link never used gets an RST', async () => {
    const { device, handler } = await setUp();
    await device.sendRaw(response('CON', 0x44, 0x7003, '01020304'));
    expect((await device.datagram(0)).toString('hex')).toBe('70007003');
    await handler.until(() => handler.errors.length === 1);
  });

  it('no answer: the same CON again at ACK_TIMEOUT doubling, 4 times, then given up (logged); a send for a Message ID still outstanding starts no second exchange', async () => {
    const { link, handler, device, logger } = await setUp({ ackTimeoutMs: 100 });
    await link.send(device.layer2Id, receiving());
    await link.send(device.layer2Id, receiving()); // the core's own resend while the CON is outstanding
    const first = await device.datagram(0);
    await until(() => logger.messages('info').includes('no answer from the device to a message POST: no acknowledgement'), 8000);
    expect(device.received).toHaveLength(5);
    expect(new Set(device.received.map((r) => r.bytes.toString('hex')))).toEqual(new Set([first.toString('hex')]));
    const gaps = device.received.slice(1).map((r, i) => r.at - (device.received[i] as { at: number }).at);
    for (const [i, gap] of gaps.entries()) expect(gap).toBeGreaterThanOrEqual(100 * 2 ** i - 20);
    expect(handler.deliveries).toHaveLength(0);
    // after giving up, a new send is a new exchange (new Message ID and token)
    await link.send(device.layer2Id, receiving());
    const again = headerOf(await device.datagram(5));
    expect(again.messageId).not.toBe(headerOf(first).messageId);
    await device.sendRaw(response('ACK', 0x44, again.messageId, again.token));
    await handler.until(() => handler.deliveries.length === 1);
  });

  it('two MESSAGE RECEIVINGs (different Message IDs) to one device are two exchanges, each acked on its own', async () => {
    const { link, handler, device } = await setUp();
    const other = 'ffeeddccbbaa99887766554433221100' as MessageId;
    await link.send(device.layer2Id, receiving());
    await link.send(device.layer2Id, receiving(other));
    const a = headerOf(await device.datagram(0));
    const b = headerOf(await device.datagram(1));
    expect(a.token).not.toBe(b.token);
    await device.sendRaw(response('ACK', 0x44, b.messageId, b.token));
    await device.sendRaw(response('ACK', 0x44, a.messageId, a.token));
    await handler.until(() => handler.deliveries.length === 2);
    expect(handler.deliveries.map((d) => (d.message as { messageId: string }).messageId)).toEqual([other, MID]);
  });

  it('DELIVERY REPORT RECEIVING is a CON POST IMDN; its 2.04 ends it and reports nothing; STORED has no IMDN form (SEND)', async () => {
    const { link, handler, device } = await setUp();
    const report: DeliveryReportReceiving = { kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: 'ue-77', messageId: MID, deliveryStatus: 'FAILED', failureReason: 'NOT_DELIVERED' };
    await link.send(device.layer2Id, report);
    const post = headerOf(await device.datagram(0));
    expect(Buffer.from(post.rest.slice(post.rest.indexOf('ff') + 2), 'hex').toString()).toBe(`{"messageType":"IMDN","oriAddr":"ue-77","msgId":"${MID}","delivSt":"REPT_DELY_FAILED","failureCause":"NOT_DELIVERED"}`);
    await device.sendRaw(response('ACK', 0x44, post.messageId, post.token));
    await sleep(100);
    expect(handler.deliveries).toHaveLength(0);
    expect(handler.errors).toHaveLength(0);
    await expect(link.send(device.layer2Id, { ...report, deliveryStatus: 'STORED' })).rejects.toMatchObject({ name: 'DeviceLinkError', reason: 'SEND' });
  });

  it('a device MSG and a REG pending at once: each response answers its own exchange (MSG matched by Message ID)', async () => {
    const { link, handler, device } = await setUp({ separateAfterMs: 5000 });
    const msg = `{"messageType":"MSG","destAddr":"ue-77","msgId":"${MID}","appId":"42","payload":"AQID"}`;
    await device.sendRaw(handBuiltPost({ messageId: 0x0101, token: [0x0a, 0x01], body: msg }));
    await device.sendRaw(handBuiltPost({ messageId: 0x0102, token: [0x0a, 0x02], body: '{"messageType":"REG","appId":"42"}' }));
    await handler.until(() => handler.deliveries.length === 1 && handler.requests.length === 1);
    await link.send(device.layer2Id, { kind: 'MESSAGE_SENDING_RESPONSE', messageId: 'ffffffffffffffffffffffffffffffff' as MessageId, result: 'ACCEPTED' }); // no such exchange: dropped
    await link.send(device.layer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: '0a0b' as RegistrationId, applicationId: APP });
    const reg = headerOf(await device.datagram(0));
    expect({ type: reg.type, code: reg.code, messageId: reg.messageId, token: reg.token }).toEqual({ type: 'ACK', code: 0x44, messageId: 0x0102, token: '0a02' });
    await link.send(device.layer2Id, { kind: 'MESSAGE_SENDING_RESPONSE', messageId: MID, result: 'FAILURE', failureReason: 'SERVER_UNREACHABLE', applicationId: APP });
    const m = headerOf(await device.datagram(1));
    expect({ type: m.type, code: m.code, messageId: m.messageId, token: m.token }).toEqual({ type: 'ACK', code: 0x44, messageId: 0x0101, token: '0a01' });
    const body = hex(m.rest.slice(m.rest.indexOf('ff') + 2));
    expect(body.toString()).toBe(`{"messageType":"MSGRESP","msgId":"${MID}","status":"DELY_FAILED","failureCause":"SERVER_UNREACHABLE","appId":"42"}`);
    expect(decodeCoapMessageResponse(body)).toMatchObject({ ok: true, value: { result: 'FAILURE', failureReason: 'SERVER_UNREACHABLE' } });
    expect(link.pendingExchanges).toBe(0);
  });

  it("a device's IMDN is answered at once with an empty piggybacked 2.04 (60 44 <mid> <token>) and reaches onDeliveryMessage", async () => {
    const { handler, device } = await setUp();
    await device.sendRaw(handBuiltPost({ messageId: 0x0201, token: [0x0b, 0x01], body: `{"messageType":"IMDN","destAddr":"ue-77","msgId":"${MID}","delivSt":"REPT_DELY_SUCCESS"}` }));
    expect((await device.datagram(0)).toString('hex')).toBe('624402010b01');
    await handler.until(() => handler.deliveries.length === 1);
    const expected: DeviceDeliveryMessage = { kind: 'DELIVERY_REPORT_SENDING_REQUEST', targetAddress: 'ue-77', messageId: MID, deliveryStatus: 'DELIVERED' };
    expect(handler.deliveries[0]).toEqual({ message: expected, from: device.layer2Id, link: 'coap' });
  });

  it('a MSG from a device with oriAddr or a bad payload gets 4.00 and is reported, never delivered', async () => {
    const { handler, device } = await setUp();
    await device.sendRaw(handBuiltPost({ messageId: 0x0301, token: [0x0c, 0x01], body: `{"messageType":"MSG","oriAddr":"x-dev-1","destAddr":"ue-77","msgId":"${MID}","payload":"AQID"}` }));
    expect(headerOf(await device.datagram(0)).code).toBe(0x80);
    await device.sendRaw(handBuiltPost({ messageId: 0x0302, token: [0x0c, 0x02], body: `{"messageType":"MSG","destAddr":"ue-77","msgId":"${MID}","payload":"AQ"}` }));
    expect(headerOf(await device.datagram(1)).code).toBe(0x80);
    await handler.until(() => handler.errors.length === 2);
    expect(handler.deliveries).toHaveLength(0);
  });

  itUnless(ipv6LoopbackUnavailable(), 'dual-stack POST to an IPv4 device')('a link bound to :: (dual-stack) POSTs to an IPv4 device at its IPv4 Layer-2 ID, and matches its 2.04', async () => {
    const handler = new RecordingDeviceLinkHandler();
    const link = new CoapDeviceLink({ host: '::', port: 0 });
    await link.start(handler);
    cleanup.push(() => link.stop());
    const device = await RawCoapClient.open('127.0.0.1', { host: '127.0.0.1', port: endpointPort(link.endpoint) });
    cleanup.push(() => device.close());
    expect(device.layer2Id).toMatch(/^127\.0\.0\.1:\d+$/);
    await link.send(device.layer2Id, receiving());
    const post = headerOf(await device.datagram(0));
    await device.sendRaw(response('ACK', 0x44, post.messageId, post.token));
    await handler.until(() => handler.deliveries.length === 1);
    expect(handler.deliveries[0]?.from).toBe(device.layer2Id);
  });

  it('the link holds at most maxPendingExchanges POSTs of its own: beyond, send rejects SEND; an answered one frees its place', async () => {
    const { link, device } = await setUp({ maxPendingExchanges: 2 });
    await link.send(device.layer2Id, receiving('00000000000000000000000000000001' as MessageId));
    await link.send(device.layer2Id, receiving('00000000000000000000000000000002' as MessageId));
    await expect(link.send(device.layer2Id, receiving('00000000000000000000000000000003' as MessageId))).rejects.toMatchObject({ name: 'DeviceLinkError', reason: 'SEND' });
    const first = headerOf(await device.datagram(0));
    await device.sendRaw(response('ACK', 0x44, first.messageId, first.token));
    await until(() => device.received.length >= 2);
    await sleep(50);
    await link.send(device.layer2Id, receiving('00000000000000000000000000000003' as MessageId));
  });

  it('maxPayloadOctets is 1,812: that payload with the worst JSON around it is sent, three octets more are refused SEND', async () => {
    const { link, device } = await setUp();
    expect(link.maxPayloadOctets).toBe(1812);
    const worst = (n: number): MessageReceiving => ({ ...receiving(), originatorAddress: '\u0001'.repeat(255), payload: new Uint8Array(n).fill(0xff), applicationId: 65535 as ApplicationId, originatorType: 'GROUP', deliveryStatusRequired: false });
    await link.send(device.layer2Id, worst(link.maxPayloadOctets));
    const post = await device.datagram(0);
    expect(post.length).toBeGreaterThan(4090);
    await expect(link.send(device.layer2Id, { ...worst(link.maxPayloadOctets + 3), messageId: 'ffeeddccbbaa99887766554433221100' as MessageId })).rejects.toMatchObject({ name: 'DeviceLinkError', reason: 'SEND' });
  });
});
