/**
 * The message chaos run's end-state check must not be vacuous: fed a consistent end state it finds
 * nothing and counts what it saw, and fed each kind of inconsistency (fabricated) it names it.
 */
import { checkMessages, type Arrival, type DownlinkRecord, type InboxItem, type MessageCheckInput, type MessageViolationKind, type UplinkRecord } from '../src/chaos/check-messages';

const AS = 'as-chaos';
const ue = (i: number) => `msgin5g-gateway-1/127.0.0.1:${40000 + i}/${1000 + i}`;
const mid = (i: number) => i.toString(16).padStart(32, '0');

/**
 * Uplink: 0 accepted (at the AS), 1 failed (not there), 2 gave up (not there).
 * Downlink: 10 stored, delivered, reported delivered; 11 stored, never delivered, reported failed;
 * 12 refused by the server (nothing expected); 13 stored, delivered twice, reported delivered.
 */
function consistent(): { uplinks: UplinkRecord[]; downlinks: DownlinkRecord[]; arrivals: Arrival[]; inbox: InboxItem[] } {
  const uplinks: UplinkRecord[] = [
    { device: 0, originator: ue(0), messageId: mid(1), told: { kind: 'accepted', deliveryStatus: 'DELIVERED' } },
    { device: 1, originator: ue(1), messageId: mid(2), told: { kind: 'failed', reason: 'SERVER_REJECTED' } },
    { device: 2, originator: ue(2), messageId: mid(3), told: { kind: 'gave-up' } },
  ];
  const downlinks: DownlinkRecord[] = [
    { messageId: mid(10), device: 0, recipient: ue(0), reportAsked: true, answer: 'DELY_STORED' },
    { messageId: mid(11), device: 1, recipient: ue(1), reportAsked: true, answer: 'DELY_STORED' },
    { messageId: mid(12), device: 2, recipient: ue(2), reportAsked: true, answer: 'DELY_FAILED', failureCause: 'CONGESTION' },
    { messageId: mid(13), device: 2, recipient: ue(2), reportAsked: true, answer: 'DELY_STORED' },
  ];
  const arrivals: Arrival[] = [
    { device: 0, messageId: mid(10), originator: AS, copies: 1 },
    { device: 2, messageId: mid(13), originator: AS, copies: 2 },
  ];
  const inbox: InboxItem[] = [
    { messageType: 'MSG', oriAddr: ue(0), destAddr: AS, msgId: mid(1) },
    { messageType: 'IMDN', oriAddr: ue(0), destAddr: AS, msgId: mid(10), delivSt: 'REPT_DELY_SUCCESS' },
    { messageType: 'IMDN', oriAddr: ue(1), destAddr: AS, msgId: mid(11), delivSt: 'REPT_DELY_FAILED', failureCause: 'NOT_DELIVERED' },
    { messageType: 'IMDN', oriAddr: ue(2), destAddr: AS, msgId: mid(13), delivSt: 'REPT_DELY_SUCCESS' },
  ];
  return { uplinks, downlinks, arrivals, inbox };
}

const kinds = (input: MessageCheckInput) => [...new Set(checkMessages(input).violations.map((v) => v.kind))].sort();

describe('message chaos end-state check', () => {
  it('finds nothing in a consistent end state, and counts what it saw', () => {
    const r = checkMessages({ ...consistent(), asServiceId: AS });
    expect(r.violations).toEqual([]);
    expect(r.uplink).toEqual({ sent: 3, accepted: 1, failed: { SERVER_REJECTED: 1 }, gaveUp: 1, gaveUpButAtAs: 0, atAs: 1, duplicatesAtAs: 0 });
    expect(r.downlink).toEqual({
      injected: 4,
      stored: 3,
      notTaken: { 'DELY_FAILED CONGESTION': 1 },
      delivered: 2,
      duplicateCopies: 1,
      messagesWithDuplicates: 1,
      reportedDelivered: 2,
      reportedFailed: { NOT_DELIVERED: 1 },
      vanished: 0,
    });
  });

  it('counts a message that gave up but reached the AS, without a violation', () => {
    const c = consistent();
    c.inbox.push({ messageType: 'MSG', oriAddr: ue(2), destAddr: AS, msgId: mid(3) });
    const r = checkMessages({ ...c, asServiceId: AS });
    expect(r.violations).toEqual([]);
    expect(r.uplink.gaveUpButAtAs).toBe(1);
  });

  type C = ReturnType<typeof consistent>;
  const cases: Array<[string, (c: C) => void, MessageViolationKind[]]> = [
    ['an accepted uplink message missing at the AS', (c) => c.inbox.splice(0, 1), ['UPLINK_ACCEPTED_NOT_AT_AS']],
    ['an accepted uplink message twice at the AS', (c) => c.inbox.push({ messageType: 'MSG', oriAddr: ue(0), destAddr: AS, msgId: mid(1) }), ['UPLINK_DUPLICATED_AT_AS']],
    ['an uplink message told failed but at the AS', (c) => c.inbox.push({ messageType: 'MSG', oriAddr: ue(1), destAddr: AS, msgId: mid(2) }), ['UPLINK_FAILED_BUT_AT_AS']],
    ['a device message at the AS that nobody sent', (c) => c.inbox.push({ messageType: 'MSG', oriAddr: ue(5), destAddr: AS, msgId: mid(99) }), ['UNKNOWN_MESSAGE_AT_AS']],
    ['the same Message ID from another device counts as unknown, not as the sent one', (c) => c.inbox.push({ messageType: 'MSG', oriAddr: ue(1), destAddr: AS, msgId: mid(1) }), ['UNKNOWN_MESSAGE_AT_AS']],
    ['a stored downlink message neither delivered nor reported failed', (c) => {
      c.arrivals.splice(0, 1);
      c.inbox.splice(1, 1);
    }, ['DOWNLINK_NO_REPORT', 'DOWNLINK_VANISHED']],
    ['a delivered downlink message without its report', (c) => c.inbox.splice(1, 1), ['DOWNLINK_NO_REPORT']],
    ['a report "delivered" for a message the device never got', (c) => c.arrivals.splice(0, 1), ['DOWNLINK_VANISHED', 'REPORTED_DELIVERED_NOT_RECEIVED']],
    ['a report "failed" for a message the device got', (c) => c.arrivals.push({ device: 1, messageId: mid(11), originator: AS, copies: 1 }), ['REPORTED_FAILED_BUT_RECEIVED']],
    ['both reports for one message', (c) => c.inbox.push({ messageType: 'IMDN', oriAddr: ue(0), destAddr: AS, msgId: mid(10), delivSt: 'REPT_DELY_FAILED', failureCause: 'NOT_DELIVERED' }), ['CONFLICTING_REPORTS', 'REPORTED_FAILED_BUT_RECEIVED']],
    ['a copy at another device', (c) => c.arrivals.push({ device: 1, messageId: mid(10), originator: AS, copies: 1 }), ['DOWNLINK_MISROUTED']],
    ['a copy from another originator', (c) => c.arrivals.push({ device: 0, messageId: mid(10), originator: 'as-other', copies: 1 }), ['DOWNLINK_MISROUTED']],
    ['a copy of a message never sent', (c) => c.arrivals.push({ device: 0, messageId: mid(77), originator: AS, copies: 1 }), ['DOWNLINK_MISROUTED']],
    ['a report on a message never sent', (c) => c.inbox.push({ messageType: 'IMDN', oriAddr: ue(0), destAddr: AS, msgId: mid(78), delivSt: 'REPT_DELY_SUCCESS' }), ['UNKNOWN_REPORT']],
    ['a report from a device that was not the recipient', (c) => {
      c.inbox[1] = { messageType: 'IMDN', oriAddr: ue(1), destAddr: AS, msgId: mid(10), delivSt: 'REPT_DELY_SUCCESS' };
    }, ['UNKNOWN_REPORT']],
  ];

  it.each(cases)('catches %s', (_title, mutate, expected) => {
    const c = consistent();
    mutate(c);
    expect(kinds({ ...c, asServiceId: AS })).toEqual([...expected].sort());
  });

  it('counts duplicates at the AS and vanished messages, and names them in the details', () => {
    const c = consistent();
    c.inbox.push({ messageType: 'MSG', oriAddr: ue(0), destAddr: AS, msgId: mid(1) }, { messageType: 'MSG', oriAddr: ue(0), destAddr: AS, msgId: mid(1) });
    c.arrivals.splice(0, 1);
    c.inbox.splice(1, 1);
    const r = checkMessages({ ...c, asServiceId: AS });
    expect(r.uplink.duplicatesAtAs).toBe(2);
    expect(r.downlink.vanished).toBe(1);
    expect(r.violations.find((v) => v.kind === 'UPLINK_DUPLICATED_AT_AS')?.detail).toBe(`the AS inbox holds the MSG from ${ue(0)}, Message ID ${mid(1)}, 3 times`);
    expect(r.violations.find((v) => v.kind === 'DOWNLINK_VANISHED')?.detail).toBe(`Message ID ${mid(10)} for device 0 (${ue(0)}) was stored (DELY_STORED) but never reached the device and was not reported failed`);
  });
});
