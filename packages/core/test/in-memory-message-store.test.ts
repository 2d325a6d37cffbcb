// InMemoryMessageStore: the MessageStore port's semantics (packages/core/src/ports/message-store.ts)
// as core tests rely on them. The full contract suite comes with the SQLite message store.
import { InMemoryMessageStore, RegistrationStoreError, UPLINK_DEDUP_MS, type MessageId, type NewDownlinkItem, type NewOutboxReport, type RegistrationId, type UeServiceId } from '@msgin5g/core';
import { messageStoreContract } from '@msgin5g/core/testing';

const R1 = '0000000000000001' as RegistrationId;
const R2 = '0000000000000002' as RegistrationId;
const mid = (n: number) => n.toString(16).padStart(32, '0') as MessageId;
const msg = (recipient: RegistrationId, n: number, originatorAddress = 'as-sender'): NewDownlinkItem => ({
  recipient,
  content: { kind: 'MESSAGE', originatorAddress, originatorType: 'AS', messageId: mid(n), payload: new Uint8Array([n]), deliveryStatusRequired: true },
  acceptedAt: 1000,
  attempts: 0,
  nextAttemptAt: 1000,
});
const report = (n: number, nextAttemptAt = 0): NewOutboxReport => ({
  originatorAddress: 'ue-1' as UeServiceId,
  targetAddress: 'as-sender',
  messageId: mid(n),
  deliveryStatus: 'DELIVERED',
  createdAt: 0,
  attempts: 0,
  nextAttemptAt,
});
const BIG = { perDevice: 10, total: 100 };

describe('InMemoryMessageStore', () => {
  it('uplink: begin once, an unexpired repeat sees the record, finish stores the answer, an expired one is replaced', async () => {
    const s = new InMemoryMessageStore();
    expect(await s.beginUplink({ sender: R1, messageId: mid(1), expiresAt: 10_000 }, 0)).toEqual({ created: true });
    const again = await s.beginUplink({ sender: R1, messageId: mid(1), expiresAt: 20_000 }, 5000);
    expect(again).toEqual({ created: false, existing: { sender: R1, messageId: mid(1), expiresAt: 10_000 } });
    expect(await s.unfinishedUplinks()).toHaveLength(1);
    const response = { kind: 'MESSAGE_SENDING_RESPONSE' as const, messageId: mid(1), result: 'ACCEPTED' as const, deliveryStatus: 'DELIVERED' as const };
    expect((await s.finishUplink(R1, mid(1), response, UPLINK_DEDUP_MS))?.response).toBe(response);
    expect(await s.unfinishedUplinks()).toHaveLength(0);
    expect(await s.finishUplink(R2, mid(1), response, 1)).toBeUndefined();
    expect(await s.beginUplink({ sender: R1, messageId: mid(1), expiresAt: 2 * UPLINK_DEDUP_MS }, UPLINK_DEDUP_MS)).toEqual({ created: true });
    expect(await s.purgeUplinks(2 * UPLINK_DEDUP_MS)).toBe(1);
    await s.beginUplink({ sender: R2, messageId: mid(2), expiresAt: 10 }, 0);
    await s.dropUplink(R2, mid(2));
    expect(await s.unfinishedUplinks()).toEqual([]);
  });

  it('downlink: seq strictly increasing across recipients, head is the lowest, duplicates by (recipient, kind, originator, Message ID)', async () => {
    const s = new InMemoryMessageStore();
    const a = await s.enqueueDownlink(msg(R1, 1), BIG);
    const b = await s.enqueueDownlink(msg(R2, 1), BIG);
    const c = await s.enqueueDownlink(msg(R1, 2), BIG);
    if (a.kind !== 'QUEUED' || b.kind !== 'QUEUED' || c.kind !== 'QUEUED') throw new Error('not queued');
    expect(a.item.seq).toBeLessThan(b.item.seq);
    expect(b.item.seq).toBeLessThan(c.item.seq);
    expect(await s.enqueueDownlink(msg(R1, 1), BIG)).toEqual({ kind: 'DUPLICATE', item: a.item });
    // Another originator, or a REPORT with the same Message ID, is not a duplicate.
    expect((await s.enqueueDownlink(msg(R1, 1, 'as-other'), BIG)).kind).toBe('QUEUED');
    expect((await s.enqueueDownlink({ ...msg(R1, 1), content: { kind: 'REPORT', originatorAddress: 'as-sender', messageId: mid(1), deliveryStatus: 'DELIVERED' } }, BIG)).kind).toBe('QUEUED');
    expect((await s.downlinkHead(R1))?.seq).toBe(a.item.seq);
    expect(await s.downlinkDepth(R1)).toBe(4);
    expect(await s.downlinkDepth()).toBe(5);
    expect((await s.findDownlinkMessage(R1, mid(2)))?.seq).toBe(c.item.seq);
    expect(await s.completeDownlink(a.item.seq, report(1))).toEqual(a.item);
    expect(await s.completeDownlink(a.item.seq, report(9))).toBeUndefined();
    expect(await s.outboxDepth()).toBe(1);
    expect((await s.downlinkHead(R1))?.seq).toBe(c.item.seq);
    // Its duplicate key is free again once completed.
    const again = await s.enqueueDownlink(msg(R1, 1), BIG);
    expect(again.kind === 'QUEUED' && again.item.seq).toBeGreaterThan(c.item.seq);
    expect((await s.recordAttempt(c.item.seq, 1, 3000))?.attempts).toBe(1);
    expect(await s.recordAttempt(a.item.seq, 1, 3000)).toBeUndefined();
  });

  it('bounds: per device, then total', async () => {
    const s = new InMemoryMessageStore();
    const bounds = { perDevice: 2, total: 3 };
    await s.enqueueDownlink(msg(R1, 1), bounds);
    await s.enqueueDownlink(msg(R1, 2), bounds);
    expect(await s.enqueueDownlink(msg(R1, 3), bounds)).toEqual({ kind: 'DEVICE_QUEUE_FULL' });
    await s.enqueueDownlink(msg(R2, 1), bounds);
    expect(await s.enqueueDownlink(msg(R2, 2), bounds)).toEqual({ kind: 'QUEUE_FULL' });
    expect(await s.downlinkDepth()).toBe(3);
  });

  it('failDownlinks removes every item oldest first and adds the reports asked for in one step', async () => {
    const s = new InMemoryMessageStore();
    await s.enqueueDownlink(msg(R1, 1), BIG);
    await s.enqueueDownlink(msg(R2, 5), BIG);
    await s.enqueueDownlink({ ...msg(R1, 2), content: { ...msg(R1, 2).content, deliveryStatusRequired: false } as NewDownlinkItem['content'] }, BIG);
    const failed = await s.failDownlinks(R1, (i) => (i.content.kind === 'MESSAGE' && i.content.deliveryStatusRequired ? report(1) : undefined));
    expect(failed.map((i) => i.content.messageId)).toEqual([mid(1), mid(2)]);
    expect(await s.downlinkRecipients()).toEqual([R2]);
    expect(await s.outboxDepth()).toBe(1);
    // A reportFor that throws changes nothing.
    await expect(s.failDownlinks(R2, () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await s.downlinkDepth(R2)).toBe(1);
  });

  it('outbox: due reports lowest seq first within the limit, next time, reschedule, remove', async () => {
    const s = new InMemoryMessageStore();
    const a = await s.addReport(report(1, 500));
    const b = await s.addReport(report(2, 100));
    await s.addReport(report(3, 100));
    expect(b.seq).toBeGreaterThan(a.seq);
    expect((await s.dueReports(100, 1)).map((r) => r.seq)).toEqual([b.seq]);
    expect((await s.dueReports(1000, 10)).map((r) => r.seq)).toEqual([a.seq, b.seq, b.seq + 1]);
    expect(await s.nextReportAt()).toBe(100);
    expect((await s.rescheduleReport(b.seq, 1, 2000))?.nextAttemptAt).toBe(2000);
    expect(await s.removeReport(a.seq)).toEqual(a);
    expect(await s.removeReport(a.seq)).toBeUndefined();
    expect(await s.rescheduleReport(a.seq, 1, 1)).toBeUndefined();
    expect(await s.outboxDepth()).toBe(2);
  });

  it('rejects CLOSED after close()', async () => {
    const s = new InMemoryMessageStore();
    await s.close();
    await expect(s.outboxDepth()).rejects.toThrow(RegistrationStoreError);
    await expect(s.downlinkDepth()).rejects.toMatchObject({ reason: 'CLOSED' });
  });
});

// The port's full contract (packages/core/src/testing/message-store-contract.ts), as the SQLite store runs it.
messageStoreContract('InMemoryMessageStore', () => {
  const store = new InMemoryMessageStore();
  let closed = false;
  return {
    store,
    // The in-memory store is as durable as it gets at once; after close its owner's sync rejects, as a real one does.
    sync: async () => {
      if (closed) throw new RegistrationStoreError('CLOSED', 'registration store is closed');
    },
    close: async () => {
      closed = true;
      await store.close();
    },
  };
});
