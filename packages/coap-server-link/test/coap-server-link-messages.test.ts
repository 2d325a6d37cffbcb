/**
 * `CoapServerLink.sendMessage` / `sendReport` (docs/wire-formats.md §5.4) against a raw CoAP peer
 * that answers with exact bytes: the request on the wire, and one test per row of the answer table
 * (`interpretMessageAnswer` / `interpretReportAnswer`), plus the gateway's own REG with `notifyUri`.
 */
import type { ApplicationId, MessageId, ServerMessageRequest, ServerReportRequest, UeServiceId } from '@msgin5g/core';
import { CoapServerLink } from '@msgin5g/coap-server-link';
import { createReferenceServer } from '@msgin5g/server';
import { MSGIN5G1_MAX_MESSAGE_PAYLOAD_OCTETS } from '@msgin5g/protocol';
import { CON, CONTENT_FORMAT, MAX_AGE, piggybacked, RawCoapPeer, RST, type RawMessage } from './raw-coap-peer';
import { RecordingLogger } from './recording-logger';

const gw = 'gw-1' as UeServiceId;
const dev = 'gw-1/127.0.0.1:40001/42' as UeServiceId;
const MID = '000102030405060708090a0b0c0d0e0f' as MessageId;
const DEADLINE_MS = 1500;

const msg: ServerMessageRequest = {
  originatorAddress: dev,
  gatewayUeServiceId: gw,
  targetAddress: 'ue-77',
  targetType: 'UE',
  messageId: MID,
  applicationId: 42 as ApplicationId,
  deliveryStatusRequired: true,
  payload: new Uint8Array([1, 2, 3]),
};
const report: ServerReportRequest = {
  originatorAddress: dev,
  gatewayUeServiceId: gw,
  targetAddress: 'as-weather',
  messageId: MID,
  deliveryStatus: 'FAILED',
  failureReason: 'NOT_DELIVERED',
};

const msgresp = (status: string, failureCause?: string): string => JSON.stringify({ messageType: 'MSGRESP', msgId: MID, status, ...(failureCause === undefined ? {} : { failureCause }) });
const imdnAnswer = (result: string, failureCause?: string): string => JSON.stringify({ messageType: 'IMDN', result, ...(failureCause === undefined ? {} : { failureCause }) });
const body = (m: RawMessage): Record<string, unknown> => JSON.parse(m.payload.toString('utf8')) as Record<string, unknown>;

describe('CoapServerLink MSG / IMDN against a raw CoAP peer (exact bytes)', () => {
  let peer: RawCoapPeer;
  let link: CoapServerLink;
  let logger: RecordingLogger;
  /** What the peer answers each CON request with; `undefined`: silence. */
  let answer: (m: RawMessage) => Buffer | undefined;

  beforeEach(async () => {
    peer = await RawCoapPeer.start();
    logger = new RecordingLogger();
    link = new CoapServerLink({ uri: peer.uri, deadlineMs: DEADLINE_MS, logger });
    answer = () => undefined;
    peer.onMessage((m, p) => {
      if (m.type !== CON || m.code !== '0.02') return;
      const bytes = answer(m);
      if (bytes !== undefined) p.send(bytes, m.from);
    });
  });
  afterEach(async () => {
    await link.close();
    await peer.close();
  });

  it('sends a MSG as one CON POST to Uri-Path msgin5g, Content-Format 50, with the §5.4 body (gatewayUeServiceId included)', async () => {
    answer = (m) => piggybacked(m, '2.04', msgresp('DELIVERED'));
    await expect(link.sendMessage(msg)).resolves.toEqual({ kind: 'ACCEPTED', deliveryStatus: 'DELIVERED' });
    const [req] = peer.requests;
    expect(req).toMatchObject({ type: CON, code: '0.02' });
    expect(req!.token.length).toBe(8);
    expect(req!.options).toEqual([
      { number: 11, value: Buffer.from('msgin5g') },
      { number: CONTENT_FORMAT, value: Buffer.from([50]) },
    ]);
    expect(req!.payload.toString('utf8')).toBe(
      `{"messageType":"MSG","oriAddr":"${dev}","destAddr":"ue-77","targetType":"UE","msgId":"${MID}","appId":"42","delivStReqInd":true,"payload":"AQID","gatewayUeServiceId":"gw-1"}`,
    );
    expect(link.maxMessagePayloadOctets).toBe(MSGIN5G1_MAX_MESSAGE_PAYLOAD_OCTETS);
  });

  it.each([
    ['2.04 MSGRESP DELIVERED', (m: RawMessage) => piggybacked(m, '2.04', msgresp('DELIVERED')), { kind: 'ACCEPTED', deliveryStatus: 'DELIVERED' }],
    ['2.04 MSGRESP DELY_STORED', (m: RawMessage) => piggybacked(m, '2.04', msgresp('DELY_STORED')), { kind: 'ACCEPTED', deliveryStatus: 'STORED' }],
    ['2.04 DELY_FAILED RECIPIENT_UNKNOWN', (m: RawMessage) => piggybacked(m, '2.04', msgresp('DELY_FAILED', 'RECIPIENT_UNKNOWN')), { kind: 'FAILURE', reason: 'RECIPIENT_UNKNOWN', cause: 'DELY_FAILED RECIPIENT_UNKNOWN' }],
    ['2.04 DELY_FAILED PAYLOAD_TOO_LARGE', (m: RawMessage) => piggybacked(m, '2.04', msgresp('DELY_FAILED', 'PAYLOAD_TOO_LARGE')), { kind: 'FAILURE', reason: 'PAYLOAD_TOO_LARGE', cause: 'DELY_FAILED PAYLOAD_TOO_LARGE' }],
    ['2.04 DELY_FAILED GATEWAY_NOT_REGISTERED', (m: RawMessage) => piggybacked(m, '2.04', msgresp('DELY_FAILED', 'GATEWAY_NOT_REGISTERED')), { kind: 'FAILURE', reason: 'GATEWAY_NOT_REGISTERED', cause: 'DELY_FAILED GATEWAY_NOT_REGISTERED' }],
    ['2.04 DELY_FAILED QUOTA (another cause, kept)', (m: RawMessage) => piggybacked(m, '2.04', msgresp('DELY_FAILED', 'QUOTA')), { kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: 'DELY_FAILED QUOTA' }],
    ['4.13 with Size1', (m: RawMessage) => piggybacked(m, '4.13', undefined, [{ number: 60, value: Buffer.from([0x10, 0x00]) }]), { kind: 'FAILURE', reason: 'PAYLOAD_TOO_LARGE', cause: '4.13 Request Entity Too Large' }],
    ['4.00', (m: RawMessage) => piggybacked(m, '4.00'), { kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: '4.00 Bad Request' }],
    ['5.03 Max-Age 30', (m: RawMessage) => piggybacked(m, '5.03', undefined, [{ number: MAX_AGE, value: Buffer.from([30]) }]), { kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: '5.03 Service Unavailable' }],
    ['2.04 {not json', (m: RawMessage) => piggybacked(m, '2.04', '{not json'), expect.objectContaining({ kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: expect.stringContaining('unusable MSGRESP') })],
    ['2.04 with the REG answer shape', (m: RawMessage) => piggybacked(m, '2.04', '{"messageType":"MSG","result":"SUCCESS"}'), expect.objectContaining({ kind: 'FAILURE', reason: 'SERVER_REJECTED' })],
    ['RST `70 00 <mid>`', (m: RawMessage) => Buffer.from([0x70, 0x00, m.messageId >> 8, m.messageId & 0xff]), expect.objectContaining({ kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: expect.stringMatching(/RST/) })],
  ])('MSG answered %s', async (_name, reply, outcome) => {
    answer = reply;
    await expect(link.sendMessage(msg)).resolves.toEqual(outcome);
  });

  it('MSG without an answer → SERVER_UNREACHABLE at the deadline', async () => {
    const started = Date.now();
    await expect(link.sendMessage(msg)).resolves.toEqual({ kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: 'no answer within the deadline' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
  });

  it('sends the largest MSG it announces (a datagram over coap-packet\'s 1,280 octets) in one piece, and retransmits the same bytes', async () => {
    await link.close();
    link = new CoapServerLink({ uri: peer.uri, deadlineMs: 5000, logger });
    const big: ServerMessageRequest = {
      ...msg,
      originatorAddress: 'o'.repeat(255) as UeServiceId,
      targetAddress: 't'.repeat(255),
      targetType: 'GROUP',
      applicationId: 65535 as ApplicationId,
      gatewayUeServiceId: 'g'.repeat(256) as UeServiceId,
      payload: Uint8Array.from({ length: MSGIN5G1_MAX_MESSAGE_PAYLOAD_OCTETS }, (_, i) => i & 0xff),
    };
    let copies = 0;
    answer = (m) => (copies++ === 0 ? undefined : piggybacked(m, '2.04', msgresp('DELY_STORED'))); // the first copy is "lost"
    await expect(link.sendMessage(big)).resolves.toEqual({ kind: 'ACCEPTED', deliveryStatus: 'STORED' });
    const [first, second] = peer.requests;
    expect(first!.bytes.length).toBeGreaterThan(4000);
    expect(first!.payload.length).toBeLessThanOrEqual(4096);
    expect(Buffer.from(body(first!)['payload'] as string, 'base64')).toEqual(Buffer.from(big.payload));
    expect(second!.bytes).toEqual(first!.bytes);
    expect(link.exchangeStats()).toEqual({ exchanges: [{ operation: 'MSG', end: 'ACCEPTED', count: 1 }], retransmissions: 1 });
  });

  it('a MSG whose body would pass 4,096 octets (addresses JSON must escape) → PAYLOAD_TOO_LARGE, nothing sent', async () => {
    const escaped: ServerMessageRequest = { ...msg, originatorAddress: '"'.repeat(255) as UeServiceId, targetAddress: '\\'.repeat(255), payload: new Uint8Array(MSGIN5G1_MAX_MESSAGE_PAYLOAD_OCTETS) };
    await expect(link.sendMessage(escaped)).resolves.toEqual({ kind: 'FAILURE', reason: 'PAYLOAD_TOO_LARGE', cause: '4.13 Request Entity Too Large' });
    await new Promise((r) => setTimeout(r, 100));
    expect(peer.received).toHaveLength(0);
    expect(link.exchangeStats().exchanges).toEqual([{ operation: 'MSG', end: 'PAYLOAD_TOO_LARGE', count: 1 }]);
  });

  it('sends an IMDN with the §5.4 body', async () => {
    answer = (m) => piggybacked(m, '2.04', imdnAnswer('SUCCESS'));
    await expect(link.sendReport(report)).resolves.toEqual({ kind: 'SUCCESS' });
    expect(peer.requests[0]!.payload.toString('utf8')).toBe(
      `{"messageType":"IMDN","oriAddr":"${dev}","destAddr":"as-weather","msgId":"${MID}","delivSt":"REPT_DELY_FAILED","failureCause":"NOT_DELIVERED","gatewayUeServiceId":"gw-1"}`,
    );
    const { failureReason: _none, ...delivered } = report;
    answer = (m) => piggybacked(m, '2.04', imdnAnswer('SUCCESS'));
    await expect(link.sendReport({ ...delivered, deliveryStatus: 'DELIVERED' })).resolves.toEqual({ kind: 'SUCCESS' });
    expect(body(peer.requests[1]!)).toEqual({ messageType: 'IMDN', oriAddr: dev, destAddr: 'as-weather', msgId: MID, delivSt: 'REPT_DELY_SUCCESS', gatewayUeServiceId: 'gw-1' });
  });

  it.each([
    ['2.04 FAILURE GATEWAY_NOT_REGISTERED', (m: RawMessage) => piggybacked(m, '2.04', imdnAnswer('FAILURE', 'GATEWAY_NOT_REGISTERED')), { kind: 'FAILURE', reason: 'GATEWAY_NOT_REGISTERED', cause: 'FAILURE GATEWAY_NOT_REGISTERED' }],
    ['2.04 FAILURE UNKNOWN_MESSAGE', (m: RawMessage) => piggybacked(m, '2.04', imdnAnswer('FAILURE', 'UNKNOWN_MESSAGE')), { kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: 'FAILURE UNKNOWN_MESSAGE' }],
    ['2.04 empty', (m: RawMessage) => piggybacked(m, '2.04'), { kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: '2.04 with an empty body' }],
    ['4.04', (m: RawMessage) => piggybacked(m, '4.04'), { kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: '4.04 Not Found' }],
    ['5.00', (m: RawMessage) => piggybacked(m, '5.00'), { kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: '5.00 Internal Server Error' }],
  ])('IMDN answered %s', async (_name, reply, outcome) => {
    answer = reply;
    await expect(link.sendReport(report)).resolves.toEqual(outcome);
  });

  it("the gateway's own REG carries notifyUri; a DEREG or a device's REG never does", async () => {
    answer = (m) => piggybacked(m, '2.04', JSON.stringify({ messageType: body(m)['messageType'], result: 'SUCCESS' }));
    const notifyUri = 'coap://127.0.0.1:5700/msgin5g';
    await expect(link.register({ ueServiceId: gw, notifyUri })).resolves.toEqual({ kind: 'SUCCESS' });
    await expect(link.deregister({ ueServiceId: gw, notifyUri })).resolves.toEqual({ kind: 'SUCCESS' });
    await expect(link.register({ ueServiceId: dev, gatewayUeServiceId: gw, applicationId: 42 as ApplicationId, notifyUri })).resolves.toEqual({ kind: 'SUCCESS' });
    expect(peer.requests.map((r) => r.payload.toString('utf8'))).toEqual([
      '{"messageType":"REG","ueServiceId":"gw-1","notifyUri":"coap://127.0.0.1:5700/msgin5g"}',
      '{"messageType":"DEREG","ueServiceId":"gw-1"}',
      `{"messageType":"REG","ueServiceId":"${dev}","gatewayUeServiceId":"gw-1","appId":"42"}`,
    ]);
  });

  it('exchangeStats() counts MSG and IMDN by end, CLOSED included', async () => {
    const replies = [msgresp('DELIVERED'), msgresp('DELY_FAILED', 'RECIPIENT_UNKNOWN'), imdnAnswer('SUCCESS')];
    answer = (m) => piggybacked(m, '2.04', replies.shift());
    await link.sendMessage(msg);
    await link.sendMessage(msg);
    await link.sendReport(report);
    answer = () => undefined;
    const cut = link.sendMessage(msg);
    await peer.waitFor((r) => r.length >= 4);
    await link.close();
    await expect(cut).rejects.toMatchObject({ reason: 'CLOSED' });
    await expect(link.sendReport(report)).rejects.toMatchObject({ reason: 'CLOSED' });
    expect(link.exchangeStats()).toEqual({
      exchanges: [
        { operation: 'MSG', end: 'ACCEPTED', count: 1 },
        { operation: 'MSG', end: 'RECIPIENT_UNKNOWN', count: 1 },
        { operation: 'MSG', end: 'CLOSED', count: 1 },
        { operation: 'IMDN', end: 'SUCCESS', count: 1 },
      ],
      retransmissions: 0,
    });
    expect(peer.received.some((m) => m.type === RST)).toBe(false);
  });
});

describe("the gateway's own REG with notifyUri against the reference MSGin5G Server", () => {
  it('is read by its strict decoder and registers the gateway', async () => {
    const server = createReferenceServer({ host: '127.0.0.1', port: 0 });
    const { port } = await server.start();
    const link = new CoapServerLink({ uri: `coap://127.0.0.1:${port}/msgin5g`, deadlineMs: DEADLINE_MS });
    try {
      await expect(link.register({ ueServiceId: gw, notifyUri: 'coap://127.0.0.1:5700/msgin5g' })).resolves.toEqual({ kind: 'SUCCESS' });
      expect(server.registry.has(gw)).toBe(true);
    } finally {
      await link.close();
      await server.stop();
    }
  });
});
