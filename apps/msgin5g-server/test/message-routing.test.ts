/**
 * The reference server routes MSG and IMDN (docs/wire-formats.md §5.4, docs/adr/0013): fake gateways
 * register over CoAP with a `notifyUri` and stand up a small CoAP endpoint there
 * (`fake-gateway-inbox.ts`); the tests check what the server answers, what arrives at each
 * gateway, store and forward, expiry, dedup, and the pretend Application Server's inbox.
 */
import { createReferenceServer, type ReferenceServer } from '@msgin5g/server';
import { generate } from 'coap-packet';
import { MSGIN5G1_MAX_MESSAGE_PAYLOAD_OCTETS } from '@msgin5g/protocol';
import { coapRequest, RawClient } from './clients';
import { FakeGatewayInbox, type Delivery } from './fake-gateway-inbox';

const GW1 = 'gw-one';
const GW2 = 'gw-two';
const DEV1 = 'gw-one/dev/1';
const DEV2 = 'gw-two/dev/2';
const ID1 = '000102030405060708090a0b0c0d0e0f';
const ID2 = 'ffeeddccbbaa99887766554433221100';

type Body = Record<string, unknown>;

describe('reference MSGin5G Server: message routing', () => {
  let server: ReferenceServer;
  let target: { host: string; port: number };
  const inboxes: FakeGatewayInbox[] = [];

  const start = async (messages: Parameters<typeof createReferenceServer>[0] extends infer O ? (O extends { messages?: infer M } ? M : never) : never = {}): Promise<void> => {
    server = createReferenceServer({ host: '127.0.0.1', port: 0, messages: { retryInitialMs: 100, retryMaxMs: 400, deliveryTimeoutMs: 400, ...messages } });
    target = await server.start();
  };
  const post = async (body: Body): Promise<{ code: string; body: Body }> => {
    const a = await coapRequest(target, { body: JSON.stringify(body) });
    return { code: a.code, body: JSON.parse(a.body) as Body };
  };
  const inbox = async (port = 0): Promise<FakeGatewayInbox> => {
    const i = await FakeGatewayInbox.open(port);
    inboxes.push(i);
    return i;
  };
  /** Registers a gateway (with `notifyUri` when given) and one device behind it. */
  const registerGateway = async (gw: string, device: string, notifyUri?: string): Promise<void> => {
    expect((await post({ messageType: 'REG', ueServiceId: gw, ...(notifyUri === undefined ? {} : { notifyUri }) })).body).toEqual({ messageType: 'REG', result: 'SUCCESS' });
    expect((await post({ messageType: 'REG', ueServiceId: device, gatewayUeServiceId: gw, appId: '42' })).body).toEqual({ messageType: 'REG', result: 'SUCCESS' });
  };
  const msg = (o: { from?: string; to?: string; gw?: string | null; id?: string; report?: boolean; payload?: string; appId?: string; targetType?: string }): Body => ({
    messageType: 'MSG',
    oriAddr: o.from ?? DEV1,
    destAddr: o.to ?? DEV2,
    ...(o.targetType === undefined ? {} : { targetType: o.targetType }),
    msgId: o.id ?? ID1,
    ...(o.appId === undefined ? {} : { appId: o.appId }),
    delivStReqInd: o.report ?? false,
    payload: Buffer.from(o.payload ?? 'hello').toString('base64'),
    ...(o.gw === null ? {} : { gatewayUeServiceId: o.gw ?? GW1 }),
  });
  const waitUntil = async (what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> => {
    const until = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  afterEach(async () => {
    await server.stop();
    for (const i of inboxes.splice(0)) await i.close();
  });

  it('a MSG for a device behind a gateway with a notifyUri: DELY_STORED, then a CON POST to that URI with the same fields', async () => {
    await start();
    const gw1 = await inbox();
    const gw2 = await inbox();
    await registerGateway(GW1, DEV1, gw1.uri());
    await registerGateway(GW2, DEV2, gw2.uri('in/box'));
    expect(server.messages.notifyUriOf(GW2)).toBe(gw2.uri('in/box'));

    const sent = msg({ report: true, payload: 'hi there', appId: '42' });
    expect(await post(sent)).toEqual({ code: '2.04', body: { messageType: 'MSGRESP', msgId: ID1, status: 'DELY_STORED' } });
    const [d] = await gw2.waitFor(1);
    expect(d).toMatchObject({ uriPath: ['in', 'box'], contentFormat: 50, confirmable: true });
    // Same oriAddr, destAddr, targetType, msgId, delivStReqInd, payload; the sender's appId and gatewayUeServiceId are not passed on.
    expect(d!.body).toEqual({ messageType: 'MSG', oriAddr: DEV1, destAddr: DEV2, targetType: 'UE', msgId: ID1, delivStReqInd: true, payload: sent['payload'] });
    await waitUntil('the store to empty', () => server.messages.stored === 0);
    expect(gw1.deliveries).toEqual([]);
    expect(server.messages.stats.forwarded).toBe(1);
  });

  it('a MSG with the largest payload MSGin5G-1 always carries (2,355 octets) reaches the gateway in one CON POST, over coap-packet\'s 1,280-octet limit', async () => {
    await start();
    const gw1 = await inbox();
    const gw2 = await inbox();
    await registerGateway(GW1, DEV1, gw1.uri());
    await registerGateway(GW2, DEV2, gw2.uri());
    const payload = Buffer.alloc(MSGIN5G1_MAX_MESSAGE_PAYLOAD_OCTETS, 0xc0);
    const body = JSON.stringify({ ...msg({}), payload: payload.toString('base64') });
    // The test's own client would hit the same limit: the request is built with a larger one.
    const client = await RawClient.open(target);
    try {
      client.send(generate({ code: '0.02', confirmable: true, messageId: 0x4242, token: Buffer.from('big1'), options: [{ name: 'Uri-Path', value: Buffer.from('msgin5g') }, { name: 'Content-Format', value: Buffer.from([50]) }], payload: Buffer.from(body) }, 8192));
      await client.waitForCount(1);
      expect(JSON.parse(client.received[0]!.packet.payload.toString('utf8'))).toEqual({ messageType: 'MSGRESP', msgId: ID1, status: 'DELY_STORED' });
    } finally {
      await client.close();
    }
    const [d] = await gw2.waitFor(1);
    expect(d!.body).toMatchObject({ messageType: 'MSG', msgId: ID1, payload: payload.toString('base64') });
    expect(gw2.datagrams).toBe(1);
    await waitUntil('the store to empty', () => server.messages.stored === 0);
    expect(server.messages.stats.deliveryAttempts).toBe(1);
  });

  it('store and forward: a gateway whose endpoint is down gets the MSG once it is up (retried with backoff)', async () => {
    await start();
    const probe = await FakeGatewayInbox.open();
    const port = probe.port;
    await probe.close(); // nothing listens there now
    await registerGateway(GW1, DEV1);
    await registerGateway(GW2, DEV2, `coap://127.0.0.1:${port}/msgin5g`);

    expect((await post(msg({}))).body).toMatchObject({ status: 'DELY_STORED' });
    await waitUntil('two failed attempts', () => server.messages.stats.deliveryAttempts >= 2);
    expect(server.messages.stored).toBe(1);

    const gw2 = await inbox(port);
    const [d] = await gw2.waitFor(1, 8000);
    expect(d!.body).toMatchObject({ messageType: 'MSG', msgId: ID1, destAddr: DEV2 });
    await waitUntil('the store to empty', () => server.messages.stored === 0);
  });

  it('a gateway without a notifyUri: the MSG waits (DELY_STORED) and goes out at once when the gateway registers again with one', async () => {
    await start({ retryInitialMs: 60_000, retryMaxMs: 60_000 });
    await registerGateway(GW1, DEV1);
    await registerGateway(GW2, DEV2);
    expect((await post(msg({}))).body).toMatchObject({ status: 'DELY_STORED' });
    await new Promise((r) => setTimeout(r, 300));
    expect(server.messages.stored).toBe(1);
    expect(server.messages.stats.deliveryAttempts).toBe(0);

    const gw2 = await inbox();
    const before = Date.now();
    await post({ messageType: 'REG', ueServiceId: GW2, notifyUri: gw2.uri() });
    await gw2.waitFor(1);
    expect(Date.now() - before).toBeLessThan(2000); // not the 60 s backoff
    // A re-registration without notifyUri clears it.
    await post({ messageType: 'REG', ueServiceId: GW2 });
    expect(server.messages.notifyUriOf(GW2)).toBeUndefined();
  });

  it('expiry: a MSG never delivered is dropped and, when a report was asked, its originator gets IMDN REPT_DELY_FAILED NOT_DELIVERED', async () => {
    await start({ messageExpiryMs: 600 });
    const gw1 = await inbox();
    await registerGateway(GW1, DEV1, gw1.uri());
    await registerGateway(GW2, DEV2); // no notifyUri: never deliverable
    expect((await post(msg({ report: true }))).body).toMatchObject({ status: 'DELY_STORED' });
    expect((await post(msg({ id: ID2, report: false }))).body).toMatchObject({ status: 'DELY_STORED' });
    const [d] = await gw1.waitFor(1, 5000);
    expect(d!.body).toEqual({ messageType: 'IMDN', oriAddr: DEV2, destAddr: DEV1, msgId: ID1, delivSt: 'REPT_DELY_FAILED', failureCause: 'NOT_DELIVERED' });
    await waitUntil('both to expire', () => server.messages.stats.expired === 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(gw1.deliveries).toHaveLength(1); // no report for the message that asked none
    expect(server.messages.stored).toBe(0);
  });

  it('the recipient de-registers while the server holds a MSG for it: the MSG ends at once, its originator gets IMDN REPT_DELY_FAILED RECIPIENT_UNKNOWN', async () => {
    await start({ retryInitialMs: 60_000, retryMaxMs: 60_000 });
    const gw1 = await inbox();
    await registerGateway(GW1, DEV1, gw1.uri());
    await registerGateway(GW2, DEV2); // no notifyUri: held
    expect((await post(msg({ report: true }))).body).toMatchObject({ status: 'DELY_STORED' });
    expect((await post(msg({ id: ID2, report: false }))).body).toMatchObject({ status: 'DELY_STORED' });
    expect(server.messages.stored).toBe(2);
    expect((await post({ messageType: 'DEREG', ueServiceId: DEV2, gatewayUeServiceId: GW2, appId: '42' })).body).toEqual({ messageType: 'DEREG', result: 'SUCCESS' });
    const [d] = await gw1.waitFor(1, 5000);
    expect(d!.body).toEqual({ messageType: 'IMDN', oriAddr: DEV2, destAddr: DEV1, msgId: ID1, delivSt: 'REPT_DELY_FAILED', failureCause: 'RECIPIENT_UNKNOWN' });
    expect(server.messages.stored).toBe(0); // both ended; the one without a report silently, as asked
    await new Promise((r) => setTimeout(r, 300));
    expect(gw1.deliveries).toHaveLength(1);
  });

  it('an unknown recipient: DELY_FAILED RECIPIENT_UNKNOWN, nothing stored; a GROUP target likewise', async () => {
    await start();
    await registerGateway(GW1, DEV1);
    expect((await post(msg({ to: 'nobody-here' }))).body).toEqual({ messageType: 'MSGRESP', msgId: ID1, status: 'DELY_FAILED', failureCause: 'RECIPIENT_UNKNOWN' });
    expect((await post(msg({ to: GW1, targetType: 'GROUP', id: ID2 }))).body).toMatchObject({ status: 'DELY_FAILED', failureCause: 'RECIPIENT_UNKNOWN' });
    expect(server.messages.stored).toBe(0);
  });

  it('gateway not registered → DELY_FAILED GATEWAY_NOT_REGISTERED; originator not registered behind it → DEVICE_NOT_REGISTERED; a refused MSG is not remembered', async () => {
    await start();
    await registerGateway(GW2, DEV2);
    expect((await post(msg({}))).body).toEqual({ messageType: 'MSGRESP', msgId: ID1, status: 'DELY_FAILED', failureCause: 'GATEWAY_NOT_REGISTERED' });
    await post({ messageType: 'REG', ueServiceId: GW1 });
    expect((await post(msg({}))).body).toMatchObject({ status: 'DELY_FAILED', failureCause: 'DEVICE_NOT_REGISTERED' });
    // DEV2 is registered, but behind GW2, not GW1.
    expect((await post(msg({ from: DEV2, to: DEV2 }))).body).toMatchObject({ status: 'DELY_FAILED', failureCause: 'DEVICE_NOT_REGISTERED' });
    await post({ messageType: 'REG', ueServiceId: DEV1, gatewayUeServiceId: GW1, appId: '42' });
    expect((await post(msg({}))).body).toMatchObject({ status: 'DELY_STORED' });
  });

  it('dedup: the same (oriAddr, msgId) in a new exchange gets the same answer and reaches the gateway once', async () => {
    await start();
    const gw2 = await inbox();
    await registerGateway(GW1, DEV1);
    await registerGateway(GW2, DEV2, gw2.uri());
    const first = await post(msg({ payload: 'once' }));
    await gw2.waitFor(1);
    const again = await post(msg({ payload: 'once' }));
    expect(again).toEqual(first);
    // Another sender may use the same Message ID: that is another message.
    await post({ messageType: 'REG', ueServiceId: 'gw-one/dev/3', gatewayUeServiceId: GW1, appId: '43' });
    expect((await post(msg({ from: 'gw-one/dev/3' }))).body).toMatchObject({ status: 'DELY_STORED' });
    await gw2.waitFor(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(gw2.deliveries.map((d) => d.body['oriAddr'])).toEqual([DEV1, 'gw-one/dev/3']);
    expect(server.messages.stats.duplicates).toBe(1);
  });

  it('IMDN from a gateway is routed to the gateway of the originator; answer SUCCESS; unknown destination → FAILURE RECIPIENT_UNKNOWN', async () => {
    await start();
    const gw1 = await inbox();
    await registerGateway(GW1, DEV1, gw1.uri());
    await registerGateway(GW2, DEV2);
    const report = { messageType: 'IMDN', oriAddr: DEV2, destAddr: DEV1, msgId: ID1, delivSt: 'REPT_DELY_SUCCESS', gatewayUeServiceId: GW2 };
    expect(await post(report)).toEqual({ code: '2.04', body: { messageType: 'IMDN', result: 'SUCCESS' } });
    const [d] = await gw1.waitFor(1);
    expect(d!.body).toEqual({ messageType: 'IMDN', oriAddr: DEV2, destAddr: DEV1, msgId: ID1, delivSt: 'REPT_DELY_SUCCESS' });
    expect((await post({ ...report, destAddr: 'nobody-here' })).body).toEqual({ messageType: 'IMDN', result: 'FAILURE', failureCause: 'RECIPIENT_UNKNOWN' });
    expect((await post({ ...report, gatewayUeServiceId: 'gw-gone' })).body).toEqual({ messageType: 'IMDN', result: 'FAILURE', failureCause: 'GATEWAY_NOT_REGISTERED' });
    // A repeat is answered SUCCESS again and forwarded once.
    expect((await post(report)).body).toEqual({ messageType: 'IMDN', result: 'SUCCESS' });
    await new Promise((r) => setTimeout(r, 300));
    expect(gw1.deliveries).toHaveLength(1);
  });

  it('the gateway answers DELY_FAILED RECIPIENT_UNKNOWN: the MSG fails and the originator gets IMDN REPT_DELY_FAILED with that cause', async () => {
    await start();
    const gw1 = await inbox();
    const gw2 = await inbox();
    gw2.answer = (d: Delivery) => ({ code: '2.04', body: { messageType: 'MSGRESP', msgId: d.body['msgId'], status: 'DELY_FAILED', failureCause: 'RECIPIENT_UNKNOWN' } });
    await registerGateway(GW1, DEV1, gw1.uri());
    await registerGateway(GW2, DEV2, gw2.uri());
    expect((await post(msg({ report: true }))).body).toMatchObject({ status: 'DELY_STORED' });
    const [d] = await gw1.waitFor(1);
    expect(d!.body).toEqual({ messageType: 'IMDN', oriAddr: DEV2, destAddr: DEV1, msgId: ID1, delivSt: 'REPT_DELY_FAILED', failureCause: 'RECIPIENT_UNKNOWN' });
    expect(gw2.deliveries).toHaveLength(1);
    expect(server.messages.stats.failed).toBe(1);
  });

  it('CONGESTION, 5.03 and silence from the gateway are retried until it takes the MSG', async () => {
    await start();
    const gw2 = await inbox();
    const answers: Array<ReturnType<FakeGatewayInbox['answer']>> = [
      { code: '2.04', body: { messageType: 'MSGRESP', msgId: ID1, status: 'DELY_FAILED', failureCause: 'CONGESTION' } },
      { code: '5.03', maxAge: 0 },
      'silent',
    ];
    gw2.answer = (d) => answers.shift() ?? { code: '2.04', body: { messageType: 'MSGRESP', msgId: d.body['msgId'], status: 'DELY_STORED' } };
    await registerGateway(GW1, DEV1);
    await registerGateway(GW2, DEV2, gw2.uri());
    expect((await post(msg({}))).body).toMatchObject({ status: 'DELY_STORED' });
    await gw2.waitFor(4, 10_000);
    await waitUntil('the store to empty', () => server.messages.stored === 0);
    expect(server.messages.stats.forwarded).toBe(1);
    expect(server.messages.stats.failed).toBe(0);
  });

  it('the pretend AS: a MSG to as-demo is kept in its inbox, answered DELIVERED, and a report asked for comes back at once as REPT_DELY_SUCCESS', async () => {
    await start();
    const gw1 = await inbox();
    await registerGateway(GW1, DEV1, gw1.uri());
    expect((await post(msg({ to: 'as-demo', report: true, payload: 'temp=21' }))).body).toEqual({ messageType: 'MSGRESP', msgId: ID1, status: 'DELIVERED' });
    expect(server.messages.inbox()).toEqual([
      expect.objectContaining({ seq: 1, messageType: 'MSG', oriAddr: DEV1, destAddr: 'as-demo', msgId: ID1, payloadText: 'temp=21', payloadHex: Buffer.from('temp=21').toString('hex'), payloadOctets: 7, delivStReqInd: true }),
    ]);
    const [d] = await gw1.waitFor(1);
    expect(d!.body).toEqual({ messageType: 'IMDN', oriAddr: 'as-demo', destAddr: DEV1, msgId: ID1, delivSt: 'REPT_DELY_SUCCESS' });
    // targetType AS reaches the inbox under any AS Service ID.
    expect((await post(msg({ to: 'as-other', targetType: 'AS', id: ID2 }))).body).toMatchObject({ status: 'DELIVERED' });
    expect(server.messages.inbox()).toHaveLength(2);
  });

  it('an AS sends to a device (no gatewayUeServiceId): appId goes along; the device report comes back into the AS inbox', async () => {
    await start({ asServiceId: 'as-meter' });
    const gw2 = await inbox();
    await registerGateway(GW2, DEV2, gw2.uri());
    expect((await post(msg({ from: 'as-meter', to: DEV2, gw: null, report: true, appId: '42' }))).body).toMatchObject({ status: 'DELY_STORED' });
    const [d] = await gw2.waitFor(1);
    expect(d!.body).toMatchObject({ oriAddr: 'as-meter', destAddr: DEV2, appId: '42', delivStReqInd: true });
    expect((await post({ messageType: 'IMDN', oriAddr: DEV2, destAddr: 'as-meter', msgId: ID1, delivSt: 'REPT_DELY_SUCCESS', gatewayUeServiceId: GW2 })).body).toEqual({ messageType: 'IMDN', result: 'SUCCESS' });
    expect(server.messages.inbox()).toEqual([expect.objectContaining({ seq: 1, messageType: 'IMDN', oriAddr: DEV2, destAddr: 'as-meter', msgId: ID1, delivSt: 'REPT_DELY_SUCCESS' })]);
    // A sender the server saw without a gateway counts as an AS for reports too.
    expect((await post(msg({ from: 'cli-sender', to: DEV2, gw: null, id: ID2 }))).body).toMatchObject({ status: 'DELY_STORED' });
    expect((await post({ messageType: 'IMDN', oriAddr: DEV2, destAddr: 'cli-sender', msgId: ID2, delivSt: 'REPT_DELY_FAILED', failureCause: 'NOT_DELIVERED' })).body).toMatchObject({ result: 'SUCCESS' });
    expect(server.messages.inbox()[1]).toMatchObject({ destAddr: 'cli-sender', delivSt: 'REPT_DELY_FAILED', failureCause: 'NOT_DELIVERED' });
  });

  it('a full store answers DELY_FAILED CONGESTION', async () => {
    await start({ maxStoredMessages: 1 });
    await registerGateway(GW1, DEV1);
    await registerGateway(GW2, DEV2);
    expect((await post(msg({}))).body).toMatchObject({ status: 'DELY_STORED' });
    expect((await post(msg({ id: ID2 }))).body).toEqual({ messageType: 'MSGRESP', msgId: ID2, status: 'DELY_FAILED', failureCause: 'CONGESTION' });
  });

  it('faults named @MSG / @IMDN apply to them (nothing routed on 5.03 or fail); a bare fault leaves them alone', async () => {
    await start();
    const gw2 = await inbox();
    await registerGateway(GW1, DEV1);
    await registerGateway(GW2, DEV2, gw2.uri());
    server.faults.add('drop').add('code=5.03@MSG*1').add('fail=QUOTA_EXCEEDED@IMDN*1');
    const refused = await coapRequest(target, { body: JSON.stringify(msg({})) });
    expect(refused).toMatchObject({ code: '5.03', headers: { 'Max-Age': 30 } });
    expect(server.messages.stats.msgReceived).toBe(0);
    expect((await post(msg({}))).body).toMatchObject({ status: 'DELY_STORED' });
    const report = { messageType: 'IMDN', oriAddr: DEV1, destAddr: DEV2, msgId: ID1, delivSt: 'REPT_DELY_SUCCESS', gatewayUeServiceId: GW1 };
    expect((await post(report)).body).toEqual({ messageType: 'IMDN', result: 'FAILURE', failureCause: 'QUOTA_EXCEEDED' });
    expect((await post(report)).body).toEqual({ messageType: 'IMDN', result: 'SUCCESS' });
    await gw2.waitFor(2);
    expect(gw2.deliveries.map((d) => d.body['messageType'])).toEqual(['MSG', 'IMDN']);
  });

  it('messages for one device go out one at a time in the order taken, even when the first needs retries', async () => {
    await start();
    const gw2 = await inbox();
    let refusals = 2;
    gw2.answer = (d) =>
      d.body['msgId'] === ID1 && refusals-- > 0
        ? { code: '2.04', body: { messageType: 'MSGRESP', msgId: ID1, status: 'DELY_FAILED', failureCause: 'CONGESTION' } }
        : { code: '2.04', body: { messageType: 'MSGRESP', msgId: d.body['msgId'], status: 'DELY_STORED' } };
    await registerGateway(GW1, DEV1);
    await registerGateway(GW2, DEV2, gw2.uri());
    const ids = [ID1, ID2, 'a'.repeat(32)];
    for (const id of ids) expect((await post(msg({ id }))).body).toMatchObject({ status: 'DELY_STORED' });
    await gw2.waitFor(5, 8000);
    expect(gw2.deliveries.map((d) => d.body['msgId'])).toEqual([ID1, ID1, ID1, ID2, 'a'.repeat(32)]);
  });

  it('an IMDN that cannot be delivered expires with a warn line and no report about the report', async () => {
    await start({ messageExpiryMs: 300 });
    const gw2 = await inbox();
    await registerGateway(GW1, DEV1); // no notifyUri
    await registerGateway(GW2, DEV2, gw2.uri());
    expect((await post({ messageType: 'IMDN', oriAddr: DEV2, destAddr: DEV1, msgId: ID1, delivSt: 'REPT_DELY_FAILED', failureCause: 'NOT_DELIVERED', gatewayUeServiceId: GW2 })).body).toEqual({ messageType: 'IMDN', result: 'SUCCESS' });
    await waitUntil('the report to expire', () => server.messages.stats.expired === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(server.messages.stored).toBe(0);
    expect(gw2.deliveries).toEqual([]);
  });

  it('a device that registers again behind another gateway gets what waits for it there', async () => {
    await start({ retryInitialMs: 60_000, retryMaxMs: 60_000 });
    const gw3 = await inbox();
    await registerGateway(GW1, DEV1);
    await registerGateway(GW2, DEV2); // no notifyUri: the MSG waits
    expect((await post(msg({}))).body).toMatchObject({ status: 'DELY_STORED' });
    await post({ messageType: 'REG', ueServiceId: 'gw-three', notifyUri: gw3.uri() });
    await post({ messageType: 'REG', ueServiceId: DEV2, gatewayUeServiceId: 'gw-three', appId: '42' });
    const [d] = await gw3.waitFor(1, 2000);
    expect(d!.body).toMatchObject({ messageType: 'MSG', destAddr: DEV2, msgId: ID1 });
  });

  it('notifyUri: only in a gateway\'s own REG, and only a coap:// URI (4.00 otherwise, registry unchanged)', async () => {
    await start();
    await post({ messageType: 'REG', ueServiceId: GW1 });
    for (const [body, text] of [
      [{ messageType: 'REG', ueServiceId: DEV1, gatewayUeServiceId: GW1, appId: '42', notifyUri: 'coap://127.0.0.1:5700/x' }, "only in the gateway's own REG"],
      [{ messageType: 'DEREG', ueServiceId: GW1, notifyUri: 'coap://127.0.0.1:5700/x' }, "only in the gateway's own REG"],
      [{ messageType: 'REG', ueServiceId: GW2, notifyUri: 'http://127.0.0.1/x' }, 'coap://'],
      [{ messageType: 'REG', ueServiceId: GW2, notifyUri: 42 }, 'must be a string'],
    ] as const) {
      const a = await post(body);
      expect(a.code).toBe('4.00');
      expect(String(a.body['error'])).toContain(text);
    }
    expect([...server.registry]).toEqual([GW1]);
  });
});
