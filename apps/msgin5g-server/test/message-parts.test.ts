/**
 * Pure parts of the message routing: how a gateway's answer is read (`gateway-notifier.ts`), the
 * `notifyUri` reading (`notify-uri.ts`), and the AS
 * inbox ring and its pages (`as-inbox.ts`).
 */
import { readAnswer, parseNotifyUri, MESSAGES_PAGE_MAX_OCTETS, PAYLOAD_PREVIEW_OCTETS } from '@msgin5g/server';
import type { MessageId } from '@msgin5g/core';
import { AsInbox } from '../src/as-inbox';

const ID = '0123456789abcdef0123456789abcdef';
const json = (code: string, body: unknown, headers: Record<string, unknown> = {}) => ({ code, payload: Buffer.from(JSON.stringify(body)), headers });

describe('readAnswer: what a gateway answer to a delivery means', () => {
  it.each([
    ['MSGRESP DELY_STORED', 'MSG', json('2.04', { messageType: 'MSGRESP', msgId: ID, status: 'DELY_STORED' }), { kind: 'ACCEPTED' }],
    ['MSGRESP DELIVERED', 'MSG', json('2.04', { messageType: 'MSGRESP', msgId: ID, status: 'DELIVERED' }), { kind: 'ACCEPTED' }],
    ['MSGRESP DELY_FAILED RECIPIENT_UNKNOWN', 'MSG', json('2.04', { messageType: 'MSGRESP', msgId: ID, status: 'DELY_FAILED', failureCause: 'RECIPIENT_UNKNOWN' }), { kind: 'REJECTED', cause: 'RECIPIENT_UNKNOWN' }],
    ['MSGRESP DELY_FAILED CONGESTION', 'MSG', json('2.04', { messageType: 'MSGRESP', msgId: ID, status: 'DELY_FAILED', failureCause: 'CONGESTION' }), { kind: 'RETRY' }],
    ['MSGRESP DELY_FAILED without a cause', 'MSG', json('2.04', { messageType: 'MSGRESP', msgId: ID, status: 'DELY_FAILED' }), { kind: 'REJECTED', cause: 'UNSPECIFIED' }],
    ['MSGRESP for another msgId', 'MSG', json('2.04', { messageType: 'MSGRESP', msgId: 'f'.repeat(32), status: 'DELY_STORED' }), { kind: 'RETRY' }],
    ['2.04 without a body', 'MSG', { code: '2.04', payload: Buffer.alloc(0), headers: {} }, { kind: 'RETRY' }],
    ['IMDN SUCCESS', 'IMDN', json('2.04', { messageType: 'IMDN', result: 'SUCCESS' }), { kind: 'ACCEPTED' }],
    ['IMDN FAILURE CONGESTION', 'IMDN', json('2.04', { messageType: 'IMDN', result: 'FAILURE', failureCause: 'CONGESTION' }), { kind: 'RETRY' }],
    ['IMDN FAILURE RECIPIENT_UNKNOWN', 'IMDN', json('2.04', { messageType: 'IMDN', result: 'FAILURE', failureCause: 'RECIPIENT_UNKNOWN' }), { kind: 'REJECTED', cause: 'RECIPIENT_UNKNOWN' }],
    ['a MSGRESP to an IMDN', 'IMDN', json('2.04', { messageType: 'MSGRESP', msgId: ID, status: 'DELY_STORED' }), { kind: 'RETRY' }],
    ['5.03 with Max-Age 7', 'MSG', { code: '5.03', payload: Buffer.alloc(0), headers: { 'Max-Age': 7 } }, { kind: 'RETRY', retryAfterMs: 7000 }],
    ['5.03 without Max-Age (60 s, RFC 7252 §5.10.5)', 'MSG', { code: '5.03', payload: Buffer.alloc(0), headers: {} }, { kind: 'RETRY', retryAfterMs: 60_000 }],
    ['5.00', 'MSG', { code: '5.00', payload: Buffer.alloc(0), headers: {} }, { kind: 'RETRY' }],
    ['4.13', 'MSG', { code: '4.13', payload: Buffer.alloc(0), headers: {} }, { kind: 'REJECTED', cause: 'PAYLOAD_TOO_LARGE' }],
    ['4.00', 'IMDN', { code: '4.00', payload: Buffer.from('bad'), headers: {} }, { kind: 'REJECTED', cause: 'UNSPECIFIED' }],
    ['0.00', 'MSG', { code: '0.00', payload: Buffer.alloc(0), headers: {} }, { kind: 'RETRY' }],
  ] as const)('%s → %j', (_name, type, res, outcome) => {
    expect(readAnswer(res, type, ID)).toMatchObject(outcome);
  });
});

describe('notifyUri', () => {
  it('reads coap://host[:port]/path, IPv6 too; refuses other schemes, queries, user info, port 0', () => {
    expect(parseNotifyUri('coap://127.0.0.1:5700/msgin5g')).toEqual({ ok: true, value: { host: '127.0.0.1', port: 5700, pathSegments: ['msgin5g'] } });
    expect(parseNotifyUri('coap://[::1]/a/b%20c')).toEqual({ ok: true, value: { host: '::1', port: 5683, pathSegments: ['a', 'b c'] } });
    for (const bad of ['http://127.0.0.1/x', 'coap://127.0.0.1/x?y=1', 'coap://u@127.0.0.1/x', 'coap://127.0.0.1:0/x', 'not a uri', `coap://h/${'x'.repeat(300)}`]) {
      expect(parseNotifyUri(bad).ok).toBe(false);
    }
  });
});

describe('AsInbox', () => {
  const msg = (n: number, payload: Uint8Array) => ({
    messageType: 'MSG' as const,
    originatorAddress: 'dev-0001',
    targetAddress: 'as-demo',
    targetType: 'AS' as const,
    messageId: n.toString(16).padStart(32, '0') as MessageId,
    deliveryStatusRequired: false,
    payload,
  });

  it('keeps the newest `capacity` entries with numbers that never repeat', () => {
    const inbox = new AsInbox(3);
    for (let i = 1; i <= 5; i++) inbox.addMessage(msg(i, Buffer.from(`m${i}`)), 0);
    expect(inbox.entries().map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(inbox.page(0)).toMatchObject({ lastSeq: 5, more: false });
    expect(inbox.page(0).messages.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(inbox.page(4).messages.map((e) => e.seq)).toEqual([5]);
    expect(inbox.page(5).messages).toEqual([]);
  });

  it('pages fit MESSAGES_PAGE_MAX_OCTETS: with since the oldest that fit, without the newest; payload previews are cut', () => {
    const inbox = new AsInbox(100);
    for (let i = 1; i <= 20; i++) inbox.addMessage(msg(i, Buffer.alloc(300, 0x61)), 0);
    const first = inbox.page(0);
    const newest = inbox.page();
    for (const p of [first, newest]) expect(Buffer.byteLength(JSON.stringify(p))).toBeLessThanOrEqual(MESSAGES_PAGE_MAX_OCTETS);
    expect(first.more).toBe(true);
    expect(first.messages[0]!.seq).toBe(1);
    expect(newest.messages.at(-1)!.seq).toBe(20);
    expect(newest.messages[0]).toMatchObject({ payloadOctets: 300, payloadTruncated: true, payloadHex: '61'.repeat(PAYLOAD_PREVIEW_OCTETS) });
  });

  it('an entry too large alone is sent without its preview; invalid UTF-8 shows payloadText null', () => {
    const inbox = new AsInbox(10);
    const long = { ...msg(1, Buffer.from([0xff, 0xfe])), originatorAddress: '\u0001'.repeat(255), targetAddress: '\u0002'.repeat(255) };
    inbox.addMessage(long, 0);
    const page = inbox.page();
    expect(page.messages).toHaveLength(1);
    expect(page.messages[0]).not.toHaveProperty('payloadHex');
    expect(page.messages[0]).toMatchObject({ payloadTruncated: true, payloadOctets: 2 });
    inbox.addMessage(msg(2, Buffer.from([0xff, 0xfe])), 0);
    expect(inbox.page(1).messages[0]).toMatchObject({ payloadText: null, payloadHex: 'fffe' });
  });
});
