/// <reference types="jest" />
/**
 * Contract suite of the `MessageStore` port (src/ports/message-store.ts): every adapter and every
 * double runs it. A message store is durable through the registration store it was built with, so
 * the factory gives the store together with that store's `sync()` and `close()`:
 *
 * ```ts
 * messageStoreContract('SqliteMessageStore(file)', () => {
 *   const file = nextFile();
 *   const registrations = SqliteRegistrationStore.open(file);
 *   return { store: registrations.messages, sync: () => registrations.sync(), close: () => registrations.close(), file };
 * }, (closed) => { const r = SqliteRegistrationStore.open(closed.file); return { ...closed, store: r.messages, sync: () => r.sync(), close: () => r.close() }; });
 * ```
 *
 * `reopen` (optional) opens the storage of a closed harness again; the persistence tests need it and
 * are skipped (visibly) for an adapter that keeps nothing across a close.
 */
import type { MessageId, MessageSendingResponse } from '../delivery-messages';
import type { ApplicationId, RegistrationId, UeServiceId } from '../ids';
import type {
  DownlinkBounds,
  DownlinkItem,
  MessageStore,
  NewDownlinkItem,
  NewOutboxReport,
  OutboxReport,
  UplinkRecord,
} from '../ports/message-store';
import { UPLINK_DEDUP_MS } from '../ports/message-store';
import { RegistrationStoreError } from '../ports/registration-store';

/** A message store with the durability calls of the registration store it belongs to. */
export interface MessageStoreHarness {
  readonly store: MessageStore;
  /** The owning registration store's `sync()`. */
  sync(): Promise<void>;
  /** The owning registration store's `close()`; the suite calls it once after each test. */
  close(): Promise<void>;
}

const T0 = 1_800_000_000_000;
const ROOMY: DownlinkBounds = { perDevice: 1000, total: 10_000 };

/** A Message ID for tests: `n` as 32 hex characters. */
export function sampleMessageId(n: number): MessageId {
  return n.toString(16).padStart(32, '0') as MessageId;
}

/** A recipient / sender Registration ID for tests (the form of `sampleRegistration(n)`). */
function registrationId(n: number): RegistrationId {
  return n.toString(16).padStart(16, '0') as RegistrationId;
}

/** A queued MESSAGE for tests; fields override the defaults. */
export function sampleDownlinkMessage(recipient: RegistrationId, n: number, overrides: Partial<NewDownlinkItem> = {}): NewDownlinkItem {
  return {
    recipient,
    content: {
      kind: 'MESSAGE',
      originatorAddress: 'as-service-1',
      originatorType: 'AS',
      messageId: sampleMessageId(n),
      payload: Uint8Array.of(n & 0xff, 1, 2, 3),
      deliveryStatusRequired: true,
    },
    acceptedAt: T0 + n,
    attempts: 0,
    nextAttemptAt: T0 + n,
    ...overrides,
  };
}

function sampleDownlinkReport(recipient: RegistrationId, n: number): NewDownlinkItem {
  return {
    recipient,
    content: { kind: 'REPORT', originatorAddress: 'ue-77', messageId: sampleMessageId(n), deliveryStatus: 'FAILED', failureReason: 'NOT_DELIVERED' },
    acceptedAt: T0 + n,
    attempts: 0,
    nextAttemptAt: T0 + n,
  };
}

/** An outbox report for tests; fields override the defaults. */
export function sampleOutboxReport(n: number, overrides: Partial<NewOutboxReport> = {}): NewOutboxReport {
  return {
    originatorAddress: `gw-1/127.0.0.1:40001/${n}` as UeServiceId,
    targetAddress: 'as-service-1',
    messageId: sampleMessageId(n),
    deliveryStatus: 'DELIVERED',
    createdAt: T0 + n,
    attempts: 0,
    nextAttemptAt: T0 + n,
    ...overrides,
  };
}

function accepted(n: number): MessageSendingResponse {
  return { kind: 'MESSAGE_SENDING_RESPONSE', messageId: sampleMessageId(n), result: 'ACCEPTED', deliveryStatus: 'STORED' };
}

async function expectStoreError(p: Promise<unknown>, reason: RegistrationStoreError['reason']): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(RegistrationStoreError);
  await expect(p).rejects.toMatchObject({ reason });
}

/** The item `enqueueDownlink` queued; fails the test on any other result. */
async function queue(store: MessageStore, item: NewDownlinkItem, bounds: DownlinkBounds = ROOMY): Promise<DownlinkItem> {
  const result = await store.enqueueDownlink(item, bounds);
  if (result.kind !== 'QUEUED') throw new Error(`expected QUEUED, got ${result.kind}`);
  return result.item;
}

/** Octet-by-octet comparison that names the first difference (a 65,535-octet toEqual diff is unreadable). */
function expectSameOctets(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) throw new Error(`payload differs at octet ${i}: ${actual[i]} instead of ${expected[i]}`);
  }
}

function payloadOf(item: DownlinkItem | undefined): Uint8Array {
  if (item?.content.kind !== 'MESSAGE') throw new Error('expected a queued MESSAGE');
  return item.content.payload;
}

export function messageStoreContract<H extends MessageStoreHarness>(
  name: string,
  create: () => Promise<H> | H,
  reopen?: (closed: H) => Promise<H> | H,
): void {
  describe(`MessageStore contract: ${name}`, () => {
    let h: H;
    let store: MessageStore;
    let closed = false;
    beforeEach(async () => {
      h = await create();
      store = h.store;
      closed = false;
    });
    afterEach(async () => {
      if (!closed) await h.close();
    });

    /** Closes the harness and opens its storage again (persistence tests only). */
    async function closeAndReopen(): Promise<void> {
      if (reopen === undefined) throw new Error('no reopen factory');
      await h.sync();
      await h.close();
      closed = true;
      h = await reopen(h);
      store = h.store;
      closed = false;
    }
    const persistent = reopen === undefined ? it.skip : it;

    describe('uplink records (docs/wire-formats.md §5.3: a repeat within 247 s is answered with the same octets)', () => {
      const alice = registrationId(1);
      const bob = registrationId(2);

      it('beginUplink creates a record once; a repeat before it expires gets the existing record', async () => {
        const record: UplinkRecord = { sender: alice, messageId: sampleMessageId(1), expiresAt: T0 + UPLINK_DEDUP_MS };
        await expect(store.beginUplink(record, T0)).resolves.toEqual({ created: true });
        await expect(store.beginUplink({ ...record, expiresAt: T0 + 2 * UPLINK_DEDUP_MS }, T0 + 1000)).resolves.toEqual({ created: false, existing: record });
        // Keyed by (sender, Message ID): another sender, or another Message ID, is another record.
        await expect(store.beginUplink({ ...record, sender: bob }, T0)).resolves.toEqual({ created: true });
        await expect(store.beginUplink({ ...record, messageId: sampleMessageId(2) }, T0)).resolves.toEqual({ created: true });
      });

      it('beginUplink replaces a record expired at now (expiresAt <= now), answer and all', async () => {
        const record: UplinkRecord = { sender: alice, messageId: sampleMessageId(3), expiresAt: T0 + 100 };
        await store.beginUplink(record, T0);
        await store.finishUplink(alice, record.messageId, accepted(3), T0 + 100);
        await expect(store.beginUplink({ ...record, expiresAt: T0 + 500 }, T0 + 99)).resolves.toMatchObject({ created: false });
        const fresh: UplinkRecord = { sender: alice, messageId: record.messageId, expiresAt: T0 + 100 + UPLINK_DEDUP_MS };
        await expect(store.beginUplink(fresh, T0 + 100)).resolves.toEqual({ created: true });
        // The replacement has no answer yet: it is unfinished, and a repeat sees it as it now is.
        await expect(store.unfinishedUplinks()).resolves.toEqual([fresh]);
        await expect(store.beginUplink(fresh, T0 + 200)).resolves.toEqual({ created: false, existing: fresh });
      });

      it('finishUplink stores the answer and the new expiresAt; a repeat gets the identical response object', async () => {
        const record: UplinkRecord = { sender: alice, messageId: sampleMessageId(4), expiresAt: T0 + 30_000 };
        await store.beginUplink(record, T0);
        const response: MessageSendingResponse = { kind: 'MESSAGE_SENDING_RESPONSE', messageId: sampleMessageId(4), result: 'ACCEPTED', applicationId: 42 as ApplicationId, deliveryStatus: 'DELIVERED' };
        const finished = await store.finishUplink(alice, record.messageId, response, T0 + UPLINK_DEDUP_MS);
        expect(finished).toStrictEqual({ sender: alice, messageId: record.messageId, response, expiresAt: T0 + UPLINK_DEDUP_MS });
        const again = await store.beginUplink(record, T0 + 1);
        expect(again).toStrictEqual({ created: false, existing: finished });
        await expect(store.unfinishedUplinks()).resolves.toEqual([]);
        await expect(store.finishUplink(bob, record.messageId, response, T0)).resolves.toBeUndefined();
        await expect(store.beginUplink({ ...record, sender: bob }, T0)).resolves.toEqual({ created: true });
      });

      it('keeps every shape of MessageSendingResponse exactly, absent fields absent', async () => {
        const shapes: MessageSendingResponse[] = [
          { kind: 'MESSAGE_SENDING_RESPONSE', messageId: sampleMessageId(10), result: 'ACCEPTED' },
          { kind: 'MESSAGE_SENDING_RESPONSE', messageId: sampleMessageId(11), result: 'ACCEPTED', deliveryStatus: 'STORED' },
          { kind: 'MESSAGE_SENDING_RESPONSE', messageId: sampleMessageId(12), result: 'ACCEPTED', applicationId: 0 as ApplicationId, deliveryStatus: 'DELIVERED' },
          { kind: 'MESSAGE_SENDING_RESPONSE', messageId: sampleMessageId(13), result: 'FAILURE', failureReason: 'RECIPIENT_UNKNOWN' },
          { kind: 'MESSAGE_SENDING_RESPONSE', messageId: sampleMessageId(14), result: 'FAILURE', failureReason: 'SERVER_UNREACHABLE', applicationId: 65535 as ApplicationId },
        ];
        for (const response of shapes) {
          await store.beginUplink({ sender: alice, messageId: response.messageId, expiresAt: T0 + 10 }, T0);
          await store.finishUplink(alice, response.messageId, response, T0 + UPLINK_DEDUP_MS);
        }
        await h.sync();
        for (const response of shapes) {
          const got = await store.beginUplink({ sender: alice, messageId: response.messageId, expiresAt: T0 + 10 }, T0 + 1);
          expect(got).toStrictEqual({ created: false, existing: { sender: alice, messageId: response.messageId, response, expiresAt: T0 + UPLINK_DEDUP_MS } });
        }
      });

      it('dropUplink deletes a record (a later begin creates it again); dropping a missing one is no error', async () => {
        const record: UplinkRecord = { sender: alice, messageId: sampleMessageId(5), expiresAt: T0 + UPLINK_DEDUP_MS };
        await store.beginUplink(record, T0);
        await expect(store.dropUplink(alice, record.messageId)).resolves.toBeUndefined();
        await expect(store.unfinishedUplinks()).resolves.toEqual([]);
        await expect(store.dropUplink(alice, record.messageId)).resolves.toBeUndefined();
        await expect(store.beginUplink(record, T0 + 1)).resolves.toEqual({ created: true });
      });

      it('unfinishedUplinks lists exactly the records without a response, expired or not', async () => {
        const a: UplinkRecord = { sender: alice, messageId: sampleMessageId(6), expiresAt: T0 + 10 };
        const b: UplinkRecord = { sender: bob, messageId: sampleMessageId(6), expiresAt: T0 + UPLINK_DEDUP_MS };
        const c: UplinkRecord = { sender: alice, messageId: sampleMessageId(7), expiresAt: T0 + UPLINK_DEDUP_MS };
        for (const r of [a, b, c]) await store.beginUplink(r, T0);
        await store.finishUplink(alice, c.messageId, accepted(7), T0 + UPLINK_DEDUP_MS);
        const unfinished = await store.unfinishedUplinks();
        const key = (r: UplinkRecord) => `${r.sender}/${r.messageId}`;
        expect([...unfinished].sort((x, y) => key(x).localeCompare(key(y)))).toEqual([a, b].sort((x, y) => key(x).localeCompare(key(y))));
        for (const r of unfinished) expect(r).not.toHaveProperty('response');
      });

      it('purgeUplinks deletes the records expired at now and resolves how many', async () => {
        const early: UplinkRecord = { sender: alice, messageId: sampleMessageId(8), expiresAt: T0 + 100 };
        const edge: UplinkRecord = { sender: bob, messageId: sampleMessageId(8), expiresAt: T0 + 200 };
        const late: UplinkRecord = { sender: alice, messageId: sampleMessageId(9), expiresAt: T0 + 300 };
        for (const r of [early, edge, late]) await store.beginUplink(r, T0);
        await store.finishUplink(alice, early.messageId, accepted(8), T0 + 100);
        await expect(store.purgeUplinks(T0 + 99)).resolves.toBe(0);
        await expect(store.purgeUplinks(T0 + 200)).resolves.toBe(2);
        await expect(store.purgeUplinks(T0 + 200)).resolves.toBe(0);
        await expect(store.unfinishedUplinks()).resolves.toEqual([late]);
        await expect(store.beginUplink(early, T0)).resolves.toEqual({ created: true });
      });
    });

    describe('downlink queue', () => {
      const a = registrationId(0xa);
      const b = registrationId(0xb);

      it('enqueueDownlink allocates seq strictly increasing in call order, across recipients, and returns the item', async () => {
        const inputs = [sampleDownlinkMessage(a, 1), sampleDownlinkMessage(b, 2), sampleDownlinkReport(a, 3), sampleDownlinkMessage(b, 4), sampleDownlinkMessage(a, 5)];
        const items: DownlinkItem[] = [];
        for (const input of inputs) {
          const result = await store.enqueueDownlink(input, ROOMY);
          expect(result.kind).toBe('QUEUED');
          if (result.kind !== 'QUEUED') return;
          expect(result.item).toEqual({ ...input, seq: result.item.seq });
          items.push(result.item);
        }
        for (let i = 1; i < items.length; i++) expect(items[i]!.seq).toBeGreaterThan(items[i - 1]!.seq);
        for (const item of items) expect(Number.isSafeInteger(item.seq)).toBe(true);
      });

      it('never reuses a seq after its item is removed', async () => {
        const first = await queue(store, sampleDownlinkMessage(a, 1));
        const second = await queue(store, sampleDownlinkMessage(a, 2));
        await store.completeDownlink(second.seq);
        await store.completeDownlink(first.seq);
        await expect(store.downlinkDepth()).resolves.toBe(0);
        const third = await queue(store, sampleDownlinkMessage(a, 3));
        expect(third.seq).toBeGreaterThan(second.seq);
        await store.failDownlinks(a, () => undefined);
        const fourth = await queue(store, sampleDownlinkMessage(b, 4));
        expect(fourth.seq).toBeGreaterThan(third.seq);
      });

      it('downlinkHead is the lowest seq of that recipient; findDownlinkMessage finds a MESSAGE by Message ID', async () => {
        await expect(store.downlinkHead(a)).resolves.toBeUndefined();
        const a1 = await queue(store, sampleDownlinkMessage(a, 1));
        const b1 = await queue(store, sampleDownlinkMessage(b, 2));
        const a2 = await queue(store, sampleDownlinkReport(a, 3));
        const a3 = await queue(store, sampleDownlinkMessage(a, 4));
        await expect(store.downlinkHead(a)).resolves.toEqual(a1);
        await expect(store.downlinkHead(b)).resolves.toEqual(b1);
        await expect(store.findDownlinkMessage(a, sampleMessageId(4))).resolves.toEqual(a3);
        // Only that recipient's, and only a MESSAGE (a REPORT with that Message ID is not acked by 0x05).
        await expect(store.findDownlinkMessage(b, sampleMessageId(4))).resolves.toBeUndefined();
        await expect(store.findDownlinkMessage(a, sampleMessageId(3))).resolves.toBeUndefined();
        await store.completeDownlink(a1.seq);
        await expect(store.downlinkHead(a)).resolves.toEqual(a2);
        await expect(store.findDownlinkMessage(a, sampleMessageId(1))).resolves.toBeUndefined();
      });

      it('refuses a full device queue (DEVICE_QUEUE_FULL) and a full gateway (QUEUE_FULL), writing nothing', async () => {
        const bounds: DownlinkBounds = { perDevice: 2, total: 3 };
        const a1 = await queue(store, sampleDownlinkMessage(a, 1), bounds);
        await queue(store, sampleDownlinkMessage(a, 2), bounds);
        await expect(store.enqueueDownlink(sampleDownlinkMessage(a, 3), bounds)).resolves.toEqual({ kind: 'DEVICE_QUEUE_FULL' });
        await queue(store, sampleDownlinkMessage(b, 4), bounds);
        await expect(store.enqueueDownlink(sampleDownlinkMessage(b, 5), bounds)).resolves.toEqual({ kind: 'QUEUE_FULL' });
        await expect(store.downlinkDepth()).resolves.toBe(3);
        await expect(store.downlinkDepth(a)).resolves.toBe(2);
        await expect(store.downlinkDepth(b)).resolves.toBe(1);
        await expect(store.findDownlinkMessage(a, sampleMessageId(3))).resolves.toBeUndefined();
        await expect(store.findDownlinkMessage(b, sampleMessageId(5))).resolves.toBeUndefined();
        // Room again once an item leaves; the refused ones left no trace (no DUPLICATE now).
        await store.completeDownlink(a1.seq);
        await expect(store.enqueueDownlink(sampleDownlinkMessage(a, 3), bounds)).resolves.toMatchObject({ kind: 'QUEUED' });
        await expect(store.enqueueDownlink(sampleDownlinkMessage(b, 5), bounds)).resolves.toEqual({ kind: 'QUEUE_FULL' });
      });

      it('answers DUPLICATE with the queued item for the same recipient, kind, originator and Message ID, and writes nothing', async () => {
        const first = await queue(store, sampleDownlinkMessage(a, 1));
        const repeat = sampleDownlinkMessage(a, 1, { acceptedAt: T0 + 999, nextAttemptAt: T0 + 999 });
        await expect(store.enqueueDownlink(repeat, ROOMY)).resolves.toEqual({ kind: 'DUPLICATE', item: first });
        await expect(store.downlinkDepth(a)).resolves.toBe(1);
        // Any one of the four differing makes another item.
        const other = sampleDownlinkMessage(a, 1);
        if (other.content.kind !== 'MESSAGE') throw new Error('sample is a MESSAGE');
        await queue(store, { ...other, recipient: b });
        await queue(store, { ...other, content: { ...other.content, originatorAddress: 'as-service-2' } });
        await queue(store, { ...other, content: { ...other.content, messageId: sampleMessageId(2) } });
        await queue(store, { ...sampleDownlinkReport(a, 1), content: { kind: 'REPORT', originatorAddress: 'as-service-1', messageId: sampleMessageId(1), deliveryStatus: 'DELIVERED' } });
        await expect(store.downlinkDepth()).resolves.toBe(5);
        // A repeat is recognised even when the queue is full: it is stored already.
        await expect(store.enqueueDownlink(repeat, { perDevice: 1, total: 1 })).resolves.toEqual({ kind: 'DUPLICATE', item: first });
      });

      it('recordAttempt sets attempts and nextAttemptAt and resolves the updated item; undefined once it is gone', async () => {
        const item = await queue(store, sampleDownlinkMessage(a, 1));
        const sent = await store.recordAttempt(item.seq, 1, T0 + 2000);
        expect(sent).toEqual({ ...item, attempts: 1, nextAttemptAt: T0 + 2000 });
        await expect(store.downlinkHead(a)).resolves.toEqual(sent);
        await store.completeDownlink(item.seq);
        await expect(store.recordAttempt(item.seq, 2, T0 + 6000)).resolves.toBeUndefined();
        await expect(store.downlinkDepth()).resolves.toBe(0);
      });

      it('completeDownlink removes the item and adds its report in one step; a second complete resolves undefined and adds nothing', async () => {
        const item = await queue(store, sampleDownlinkMessage(a, 1));
        const report = sampleOutboxReport(1);
        await expect(store.completeDownlink(item.seq, report)).resolves.toEqual(item);
        await expect(store.downlinkDepth(a)).resolves.toBe(0);
        await expect(store.outboxDepth()).resolves.toBe(1);
        const due = await store.dueReports(T0 + 10_000, 10);
        expect(due).toEqual([{ ...report, seq: due[0]!.seq }]);
        await expect(store.completeDownlink(item.seq, sampleOutboxReport(2))).resolves.toBeUndefined();
        await expect(store.outboxDepth()).resolves.toBe(1);
        // Without a report: removed, nothing added.
        const other = await queue(store, sampleDownlinkMessage(a, 3));
        await expect(store.completeDownlink(other.seq)).resolves.toEqual(other);
        await expect(store.outboxDepth()).resolves.toBe(1);
        await expect(store.completeDownlink(987_654_321)).resolves.toBeUndefined();
      });

      it('failDownlinks removes every item of the recipient, oldest first, with the reports reportFor returns, in that order', async () => {
        const a1 = await queue(store, sampleDownlinkMessage(a, 1));
        const b1 = await queue(store, sampleDownlinkMessage(b, 2));
        const a2 = await queue(store, sampleDownlinkReport(a, 3));
        const a3 = await queue(store, sampleDownlinkMessage(a, 4));
        const asked: number[] = [];
        const removed = await store.failDownlinks(a, (item) => {
          asked.push(item.seq);
          // A report for each MESSAGE, none for the REPORT.
          return item.content.kind === 'MESSAGE' ? sampleOutboxReport(item.seq, { deliveryStatus: 'FAILED', failureReason: 'NOT_DELIVERED' }) : undefined;
        });
        expect(removed).toEqual([a1, a2, a3]);
        expect(asked).toEqual([a1.seq, a2.seq, a3.seq]);
        await expect(store.downlinkDepth(a)).resolves.toBe(0);
        await expect(store.downlinkHead(a)).resolves.toBeUndefined();
        await expect(store.downlinkHead(b)).resolves.toEqual(b1);
        const reports = await store.dueReports(T0 + 10_000, 10);
        expect(reports.map((r) => r.messageId)).toEqual([sampleMessageId(a1.seq), sampleMessageId(a3.seq)]);
        expect(reports[1]!.seq).toBeGreaterThan(reports[0]!.seq);
        expect(reports[0]).toEqual({ ...sampleOutboxReport(a1.seq, { deliveryStatus: 'FAILED', failureReason: 'NOT_DELIVERED' }), seq: reports[0]!.seq });
        await expect(store.failDownlinks(a, () => sampleOutboxReport(99))).resolves.toEqual([]);
        await expect(store.outboxDepth()).resolves.toBe(2);
      });

      it('downlinkRecipients lists each registration with a queued item once; downlinkDepth counts in total and per recipient', async () => {
        await expect(store.downlinkRecipients()).resolves.toEqual([]);
        await expect(store.downlinkDepth()).resolves.toBe(0);
        await expect(store.downlinkDepth(a)).resolves.toBe(0);
        const a1 = await queue(store, sampleDownlinkMessage(a, 1));
        await queue(store, sampleDownlinkMessage(b, 2));
        await queue(store, sampleDownlinkMessage(a, 3));
        await expect(store.downlinkRecipients().then((r) => [...r].sort())).resolves.toEqual([a, b].sort());
        await expect(store.downlinkDepth()).resolves.toBe(3);
        await expect(store.downlinkDepth(a)).resolves.toBe(2);
        await expect(store.downlinkDepth(b)).resolves.toBe(1);
        await store.failDownlinks(b, () => undefined);
        await expect(store.downlinkRecipients()).resolves.toEqual([a]);
        await store.completeDownlink(a1.seq);
        await expect(store.downlinkDepth()).resolves.toBe(1);
      });

      it('keeps payload octets exactly: every value 0x00..0xFF, and 65,535 octets', async () => {
        const all = new Uint8Array(256).map((_, i) => i);
        const largest = new Uint8Array(65_535).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
        const one = Uint8Array.of(0);
        const items: DownlinkItem[] = [];
        for (const [n, payload] of [all, largest, one].entries()) {
          const input = sampleDownlinkMessage(a, n + 1);
          if (input.content.kind !== 'MESSAGE') throw new Error('sample is a MESSAGE');
          items.push(await queue(store, { ...input, content: { ...input.content, payload } }));
        }
        await h.sync();
        expectSameOctets(payloadOf(await store.findDownlinkMessage(a, sampleMessageId(1))), all);
        expectSameOctets(payloadOf(await store.findDownlinkMessage(a, sampleMessageId(2))), largest);
        expectSameOctets(payloadOf(await store.downlinkHead(a)), all);
        const removed = await store.failDownlinks(a, () => undefined);
        expectSameOctets(payloadOf(removed[1]), largest);
        expectSameOctets(payloadOf(removed[2]), one);
      });

      it('keeps the octets it was given, not a view of the caller’s buffer', async () => {
        const payload = Uint8Array.of(1, 2, 3);
        const input = sampleDownlinkMessage(a, 1);
        if (input.content.kind !== 'MESSAGE') throw new Error('sample is a MESSAGE');
        await queue(store, { ...input, content: { ...input.content, payload } });
        payload[0] = 0xff;
        expectSameOctets(payloadOf(await store.downlinkHead(a)), Uint8Array.of(1, 2, 3));
      });

      it('keeps both kinds of content as given: optional fields present or absent, originator types, flags', async () => {
        const inputs: NewDownlinkItem[] = [
          sampleDownlinkMessage(a, 1, { content: { kind: 'MESSAGE', originatorAddress: 'ue-with-ünïcödé', originatorType: 'UE', messageId: sampleMessageId(1), payload: Uint8Array.of(9), deliveryStatusRequired: false } }),
          sampleDownlinkMessage(a, 2, { content: { kind: 'MESSAGE', originatorAddress: 'group-5', originatorType: 'GROUP', messageId: sampleMessageId(2), payload: Uint8Array.of(9), deliveryStatusRequired: true } }),
          { ...sampleDownlinkReport(a, 3), content: { kind: 'REPORT', originatorAddress: 'ue-77', messageId: sampleMessageId(3), deliveryStatus: 'STORED' } },
          sampleDownlinkReport(a, 4),
        ];
        for (const input of inputs) await queue(store, { ...input, attempts: 2, nextAttemptAt: T0 + 4000 });
        await h.sync();
        const removed = await store.failDownlinks(a, () => undefined);
        expect(removed.map(({ seq: _seq, ...rest }) => rest)).toEqual(inputs.map((input) => ({ ...input, attempts: 2, nextAttemptAt: T0 + 4000 })));
        expect(removed[2]!.content).not.toHaveProperty('failureReason');
        expect(removed[3]!.content).toHaveProperty('failureReason', 'NOT_DELIVERED');
      });
    });

    describe('report outbox', () => {
      it('addReport allocates seq strictly increasing and resolves the report', async () => {
        const first = await store.addReport(sampleOutboxReport(1));
        const second = await store.addReport(sampleOutboxReport(2, { deliveryStatus: 'FAILED', failureReason: 'NOT_DELIVERED', attempts: 3 }));
        expect(first).toEqual({ ...sampleOutboxReport(1), seq: first.seq });
        expect(first).not.toHaveProperty('failureReason');
        expect(second).toEqual({ ...sampleOutboxReport(2, { deliveryStatus: 'FAILED', failureReason: 'NOT_DELIVERED', attempts: 3 }), seq: second.seq });
        expect(second.seq).toBeGreaterThan(first.seq);
        await expect(store.outboxDepth()).resolves.toBe(2);
      });

      it('dueReports gives reports due at now, lowest seq first (not soonest first), at most limit', async () => {
        await expect(store.dueReports(T0, 10)).resolves.toEqual([]);
        const r1 = await store.addReport(sampleOutboxReport(1, { nextAttemptAt: T0 + 50 }));
        const r2 = await store.addReport(sampleOutboxReport(2, { nextAttemptAt: T0 + 10 }));
        const r3 = await store.addReport(sampleOutboxReport(3, { nextAttemptAt: T0 + 30 }));
        const r4 = await store.addReport(sampleOutboxReport(4, { nextAttemptAt: T0 + 1000 }));
        await expect(store.dueReports(T0 + 9, 10)).resolves.toEqual([]);
        await expect(store.dueReports(T0 + 10, 10)).resolves.toEqual([r2]);
        await expect(store.dueReports(T0 + 50, 10)).resolves.toEqual([r1, r2, r3]);
        await expect(store.dueReports(T0 + 50, 2)).resolves.toEqual([r1, r2]);
        await expect(store.dueReports(T0 + 5000, 1)).resolves.toEqual([r1]);
        await expect(store.dueReports(T0 + 5000, 10)).resolves.toEqual([r1, r2, r3, r4]);
      });

      it('nextReportAt is the earliest nextAttemptAt, undefined when the outbox is empty', async () => {
        await expect(store.nextReportAt()).resolves.toBeUndefined();
        const r1 = await store.addReport(sampleOutboxReport(1, { nextAttemptAt: T0 + 50 }));
        const r2 = await store.addReport(sampleOutboxReport(2, { nextAttemptAt: T0 + 10 }));
        await expect(store.nextReportAt()).resolves.toBe(T0 + 10);
        await store.rescheduleReport(r2.seq, 1, T0 + 100);
        await expect(store.nextReportAt()).resolves.toBe(T0 + 50);
        await store.removeReport(r1.seq);
        await store.removeReport(r2.seq);
        await expect(store.nextReportAt()).resolves.toBeUndefined();
      });

      it('rescheduleReport records an attempt and resolves the updated report; undefined once it is gone', async () => {
        const r = await store.addReport(sampleOutboxReport(1));
        const again = await store.rescheduleReport(r.seq, 1, T0 + 2000);
        expect(again).toEqual({ ...r, attempts: 1, nextAttemptAt: T0 + 2000 });
        await expect(store.dueReports(T0 + 1999, 10)).resolves.toEqual([]);
        await expect(store.dueReports(T0 + 2000, 10)).resolves.toEqual([again]);
        await store.removeReport(r.seq);
        await expect(store.rescheduleReport(r.seq, 2, T0 + 4000)).resolves.toBeUndefined();
        await expect(store.outboxDepth()).resolves.toBe(0);
      });

      it('removeReport resolves the removed report, undefined the second time; outboxDepth follows', async () => {
        const r1 = await store.addReport(sampleOutboxReport(1));
        const r2 = await store.addReport(sampleOutboxReport(2));
        await expect(store.removeReport(r1.seq)).resolves.toEqual(r1);
        await expect(store.removeReport(r1.seq)).resolves.toBeUndefined();
        await expect(store.outboxDepth()).resolves.toBe(1);
        await expect(store.dueReports(T0 + 10_000, 10)).resolves.toEqual([r2]);
        // Report seqs are never reused either.
        await store.removeReport(r2.seq);
        const r3 = await store.addReport(sampleOutboxReport(3));
        expect(r3.seq).toBeGreaterThan(r2.seq);
      });
    });

    describe('durability and errors', () => {
      it('writes are applied before sync(): every later call sees them, and sync() then resolves', async () => {
        const a = registrationId(0xa);
        await store.beginUplink({ sender: a, messageId: sampleMessageId(1), expiresAt: T0 + UPLINK_DEDUP_MS }, T0);
        const item = await queue(store, sampleDownlinkMessage(a, 2));
        const report = await store.addReport(sampleOutboxReport(3));
        await expect(store.unfinishedUplinks()).resolves.toHaveLength(1);
        await expect(store.downlinkHead(a)).resolves.toEqual(item);
        await expect(store.dueReports(T0 + 10_000, 5)).resolves.toEqual([report]);
        await expect(h.sync()).resolves.toBeUndefined();
        await expect(h.sync()).resolves.toBeUndefined();
        await expect(store.downlinkDepth()).resolves.toBe(1);
      });

      it('rejects every call after close() with RegistrationStoreError CLOSED', async () => {
        const a = registrationId(0xa);
        await h.close();
        closed = true;
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['beginUplink', () => store.beginUplink({ sender: a, messageId: sampleMessageId(1), expiresAt: T0 }, T0)],
          ['finishUplink', () => store.finishUplink(a, sampleMessageId(1), accepted(1), T0)],
          ['dropUplink', () => store.dropUplink(a, sampleMessageId(1))],
          ['unfinishedUplinks', () => store.unfinishedUplinks()],
          ['purgeUplinks', () => store.purgeUplinks(T0)],
          ['enqueueDownlink', () => store.enqueueDownlink(sampleDownlinkMessage(a, 1), ROOMY)],
          ['downlinkHead', () => store.downlinkHead(a)],
          ['findDownlinkMessage', () => store.findDownlinkMessage(a, sampleMessageId(1))],
          ['recordAttempt', () => store.recordAttempt(1, 1, T0)],
          ['completeDownlink', () => store.completeDownlink(1, sampleOutboxReport(1))],
          ['failDownlinks', () => store.failDownlinks(a, () => undefined)],
          ['downlinkRecipients', () => store.downlinkRecipients()],
          ['downlinkDepth', () => store.downlinkDepth()],
          ['downlinkDepth(recipient)', () => store.downlinkDepth(a)],
          ['addReport', () => store.addReport(sampleOutboxReport(1))],
          ['dueReports', () => store.dueReports(T0, 1)],
          ['nextReportAt', () => store.nextReportAt()],
          ['rescheduleReport', () => store.rescheduleReport(1, 1, T0)],
          ['removeReport', () => store.removeReport(1)],
          ['outboxDepth', () => store.outboxDepth()],
        ];
        for (const [what, call] of calls) {
          const err = await call().then(
            () => new Error(`${what} resolved after close()`),
            (e: unknown) => e,
          );
          expect([what, err]).toEqual([what, expect.any(RegistrationStoreError)]);
          expect([what, (err as RegistrationStoreError).reason]).toEqual([what, 'CLOSED']);
        }
        await expectStoreError(h.sync(), 'CLOSED');
      });

      persistent('keeps uplink records, the queue and the outbox across close and reopen', async () => {
        const a = registrationId(0xa);
        const b = registrationId(0xb);
        const unfinished: UplinkRecord = { sender: a, messageId: sampleMessageId(1), expiresAt: T0 + UPLINK_DEDUP_MS };
        await store.beginUplink(unfinished, T0);
        await store.beginUplink({ sender: b, messageId: sampleMessageId(1), expiresAt: T0 + 10 }, T0);
        const finished = await store.finishUplink(b, sampleMessageId(1), accepted(1), T0 + UPLINK_DEDUP_MS);
        const large = new Uint8Array(65_535).map((_, i) => (i * 31) & 0xff);
        const base = sampleDownlinkMessage(a, 2);
        if (base.content.kind !== 'MESSAGE') throw new Error('sample is a MESSAGE');
        const a1 = await queue(store, { ...base, content: { ...base.content, payload: large } });
        const b1 = await queue(store, sampleDownlinkReport(b, 3));
        const a2 = await store.recordAttempt((await queue(store, sampleDownlinkMessage(a, 4))).seq, 2, T0 + 6000);
        const report = await store.addReport(sampleOutboxReport(5, { deliveryStatus: 'FAILED', failureReason: 'NOT_DELIVERED' }));
        await closeAndReopen();
        await expect(store.unfinishedUplinks()).resolves.toEqual([unfinished]);
        await expect(store.beginUplink({ ...unfinished, sender: b }, T0 + 1)).resolves.toStrictEqual({ created: false, existing: finished });
        await expect(store.downlinkDepth()).resolves.toBe(3);
        const head = await store.downlinkHead(a);
        expect(head).toEqual({ ...a1, content: { ...a1.content, payload: expect.any(Uint8Array) } });
        expectSameOctets(payloadOf(head), large);
        await expect(store.downlinkHead(b)).resolves.toEqual(b1);
        await expect(store.findDownlinkMessage(a, sampleMessageId(4))).resolves.toEqual(a2);
        await expect(store.dueReports(T0 + 10_000, 10)).resolves.toEqual([report]);
        await expect(store.nextReportAt()).resolves.toBe(report.nextAttemptAt);
        // DUPLICATE is still recognised after the restart.
        await expect(store.enqueueDownlink(sampleDownlinkReport(b, 3), ROOMY)).resolves.toEqual({ kind: 'DUPLICATE', item: b1 });
      });

      persistent('never reuses a downlink or outbox seq, even after every item was removed and the store reopened', async () => {
        const a = registrationId(0xa);
        const items = [await queue(store, sampleDownlinkMessage(a, 1)), await queue(store, sampleDownlinkMessage(a, 2))];
        const reports = [await store.addReport(sampleOutboxReport(1)), await store.addReport(sampleOutboxReport(2))];
        await store.failDownlinks(a, () => undefined);
        for (const r of reports) await store.removeReport(r.seq);
        await closeAndReopen();
        await expect(store.downlinkDepth()).resolves.toBe(0);
        await expect(store.outboxDepth()).resolves.toBe(0);
        const next = await queue(store, sampleDownlinkMessage(a, 3));
        expect(next.seq).toBeGreaterThan(items[1]!.seq);
        const nextReport: OutboxReport = await store.addReport(sampleOutboxReport(3));
        expect(nextReport.seq).toBeGreaterThan(reports[1]!.seq);
      });
    });
  });
}
