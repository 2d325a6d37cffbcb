/**
 * MessageLayer with a recording transmit and fake timers: empty ACK at separateAfterMs, piggybacked /
 * separate / NON responses, retransmission back-off (RFC 7252 §4.2, §4.8), duplicates (§4.5), RST rules.
 * Requests are written from RFC 7252 §3 by hand.
 */
import type { Layer2Id } from '@msgin5g/core';
import { silentLogger } from '@msgin5g/core';
import { COAP_CODE, COAP_OPTION, uintOptionValue } from '@msgin5g/protocol';
import { MessageLayer, type MessageLayerOptions, type Reception } from '../src/message-layer';
import type { Peer } from '../src/peer';
import { EXCHANGE_LIFETIME_MS, NON_LIFETIME_MS } from '../src/transmission-parameters';

const PEER: Peer = { address: '127.0.0.1', port: 40001, layer2Id: '127.0.0.1:40001' as Layer2Id };
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** CON (0x42: Ver 1, T 0, TKL 2) or NON (0x52) POST, Message ID, token `a1b2`, Uri-Path "msgin5g", Content-Format 50, payload `{}`. */
const post = (mid: number, type: 'CON' | 'NON' = 'CON'): Uint8Array => hex(`${type === 'CON' ? '42' : '52'} 02 ${mid.toString(16).padStart(4, '0')} a1b2 b7 6d7367696e3567 11 32 ff 7b7d`);
const JSON_CF = [{ number: COAP_OPTION.CONTENT_FORMAT, value: uintOptionValue(50) }];

describe('MessageLayer', () => {
  let sent: string[];
  let layer: MessageLayer;
  const make = (over: Partial<MessageLayerOptions> = {}) =>
    new MessageLayer({
      transmit: async (_peer, bytes) => void sent.push(toHex(bytes)),
      logger: silentLogger,
      separateAfterMs: 1000,
      ackTimeoutMs: 2000,
      maxRememberedMessages: 100,
      maxAwaitingAck: 100,
      maxDatagramOctets: 1024,
      size1Octets: 4096,
      random: () => 0, // first timeout exactly ACK_TIMEOUT
      ...over,
    });
  const requestOf = (r: Reception) => {
    if (r.kind !== 'REQUEST') throw new Error(`expected a request, got ${r.kind}`);
    return r.request;
  };

  beforeEach(() => {
    jest.useFakeTimers();
    sent = [];
    layer = make();
  });
  afterEach(() => {
    layer.close();
    jest.useRealTimers();
  });

  it('a CON answered in time is piggybacked: ACK, same Message ID and token (RFC 7252 §5.2.1)', async () => {
    const r = requestOf(layer.receive(PEER, post(0x1234)));
    await layer.respond(r, COAP_CODE.CHANGED, JSON_CF, hex('7b7d'));
    expect(sent).toEqual(['6244 1234 a1b2 c132 ff 7b7d'.replace(/ /g, '')]);
    jest.advanceTimersByTime(5000);
    expect(sent).toHaveLength(1); // no empty ACK after the answer
  });

  it('a CON not answered within separateAfterMs gets an empty ACK; the answer then goes in a separate CON retransmitted at 2, 4, 8, 16 s, given up 32 s later', async () => {
    const r = requestOf(layer.receive(PEER, post(0x0001)));
    jest.advanceTimersByTime(999);
    expect(sent).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(sent).toEqual(['60000001']);
    await layer.respond(r, COAP_CODE.CHANGED, JSON_CF, hex('7b7d'));
    expect(sent).toHaveLength(2);
    const separate = sent[1] as string;
    expect(separate).toMatch(/^4244[0-9a-f]{4}a1b2c132ff7b7d$/); // CON 2.04, new Message ID, same token
    const times: number[] = [];
    for (let t = 0; t < 61_000; t += 1000) {
      const before = sent.length;
      jest.advanceTimersByTime(1000);
      if (sent.length > before) times.push(t + 1000);
    }
    expect(times).toEqual([2000, 6000, 14_000, 30_000]); // ACK_TIMEOUT doubling: 2, +4, +8, +16 s: MAX_RETRANSMIT = 4
    expect(new Set(sent.slice(1))).toEqual(new Set([separate]));
    expect(layer.awaitingAck).toBe(1);
    jest.advanceTimersByTime(1000); // 62 s = 30 + 32: the last timeout is over
    expect(layer.awaitingAck).toBe(0);
    expect(sent).toHaveLength(6);
  });

  it('an empty ACK (or RST) from the device stops the retransmission', async () => {
    const r = requestOf(layer.receive(PEER, post(0x0002)));
    jest.advanceTimersByTime(1000);
    await layer.respond(r, COAP_CODE.CHANGED, JSON_CF);
    const mid = (sent[1] as string).slice(4, 8);
    expect(layer.receive(PEER, hex(`6000${mid}`))).toEqual({ kind: 'HANDLED' });
    expect(layer.awaitingAck).toBe(0);
    jest.advanceTimersByTime(60_000);
    expect(sent).toHaveLength(2);
  });

  it('a copy of a CON in progress is acknowledged at once (not at separateAfterMs), and again on the next copy; it is never handed up twice', () => {
    const r = requestOf(layer.receive(PEER, post(0x0003)));
    jest.advanceTimersByTime(10);
    expect(layer.receive(PEER, post(0x0003))).toEqual({ kind: 'DUPLICATE' });
    expect(sent).toEqual(['60000003']);
    expect(r.acked).toBe(true);
    expect(layer.receive(PEER, post(0x0003))).toEqual({ kind: 'DUPLICATE' });
    expect(sent).toEqual(['60000003', '60000003']);
    jest.advanceTimersByTime(5000);
    expect(sent).toHaveLength(2); // the separateAfterMs timer was cancelled
  });

  it('a copy of a finished CON gets the very same bytes within EXCHANGE_LIFETIME; after it, the Message ID is new again', async () => {
    const r = requestOf(layer.receive(PEER, post(0x0004)));
    await layer.respond(r, COAP_CODE.SERVICE_UNAVAILABLE, [{ number: COAP_OPTION.MAX_AGE, value: uintOptionValue(5) }], new TextEncoder().encode('busy'));
    expect(layer.receive(PEER, post(0x0004))).toEqual({ kind: 'DUPLICATE' });
    expect(sent).toEqual(['62a30004a1b2d10105ff62757379', '62a30004a1b2d10105ff62757379']);
    jest.advanceTimersByTime(EXCHANGE_LIFETIME_MS - 1);
    expect(layer.receive(PEER, post(0x0004))).toEqual({ kind: 'DUPLICATE' });
    jest.advanceTimersByTime(1);
    expect(layer.receive(PEER, post(0x0004)).kind).toBe('REQUEST');
  });

  it('a NON: answered with a NON (new Message ID), copies ignored for NON_LIFETIME, never acknowledged', async () => {
    const r = requestOf(layer.receive(PEER, post(0x0005, 'NON')));
    jest.advanceTimersByTime(5000);
    expect(sent).toEqual([]); // no empty ACK for a NON
    await layer.respond(r, COAP_CODE.CHANGED, JSON_CF);
    expect(sent[0]).toMatch(/^5244[0-9a-f]{4}a1b2c132$/);
    expect(sent[0]?.slice(4, 8)).not.toBe('0005');
    expect(layer.receive(PEER, post(0x0005, 'NON'))).toEqual({ kind: 'DUPLICATE' });
    jest.advanceTimersByTime(NON_LIFETIME_MS);
    expect(layer.receive(PEER, post(0x0005, 'NON')).kind).toBe('REQUEST');
    expect(sent).toHaveLength(1);
  });

  it('reject: a CON gets an RST, and its copies the same RST; a NON nothing', () => {
    layer.reject(requestOf(layer.receive(PEER, post(0x0006))));
    layer.receive(PEER, post(0x0006));
    layer.reject(requestOf(layer.receive(PEER, post(0x0007, 'NON'))));
    layer.receive(PEER, post(0x0007, 'NON'));
    expect(sent).toEqual(['70000006', '70000006']);
  });

  it('message-level rules: ping → RST, format error in a CON → RST, a response code in a CON → RST, oversized CON request → 4.13 with Size1', () => {
    expect(layer.receive(PEER, hex('40000010'))).toEqual({ kind: 'HANDLED' });
    expect(layer.receive(PEER, hex('490200110102030405060708 09'))).toMatchObject({ kind: 'ERROR', answered: true });
    expect(layer.receive(PEER, hex('40450012'))).toMatchObject({ kind: 'ERROR', answered: true });
    expect(layer.receive(PEER, hex('50450013'))).toMatchObject({ kind: 'ERROR', answered: false });
    const big = new Uint8Array(1025);
    big.set(hex('41020014aa'));
    expect(layer.receive(PEER, big)).toMatchObject({ kind: 'ERROR', answered: true });
    expect(sent).toEqual(['70000010', '70000011', '70000012', '61 8d 0014 aa d2 2f 1000'.replace(/ /g, '')]);
  });

  it('an unmatched empty ACK or RST is ignored', () => {
    expect(layer.receive(PEER, hex('60000099'))).toEqual({ kind: 'HANDLED' });
    expect(layer.receive(PEER, hex('70000099'))).toEqual({ kind: 'HANDLED' });
    expect(sent).toEqual([]);
  });
});
