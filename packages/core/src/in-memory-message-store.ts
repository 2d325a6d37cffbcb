/**
 * `MessageStore` in process memory, for `--store memory` and as the message-store double of core
 * tests (docs/wire-formats.md §5.3). Lost on exit.
 */
import type { MessageId, MessageSendingResponse } from './delivery-messages';
import type { RegistrationId } from './ids';
import type {
  DownlinkBounds,
  DownlinkItem,
  EnqueueResult,
  MessageStore,
  NewDownlinkItem,
  NewOutboxReport,
  OutboxReport,
  UplinkRecord,
} from './ports/message-store';
import { RegistrationStoreError } from './ports/registration-store';

const uplinkKey = (sender: RegistrationId, messageId: MessageId) => `${sender}|${messageId}`;
const downlinkKey = (item: NewDownlinkItem) => `${item.recipient}|${item.content.kind}|${item.content.originatorAddress}|${item.content.messageId}`;

/**
 * `MessageStore` in process memory. Every call is applied at once and atomically (no await inside
 * a call), so it is as durable as the `InMemoryRegistrationStore` it is used with: their `sync()`
 * resolves at once. `close()` makes later calls reject `CLOSED`, as the port wants after the
 * registration store closes.
 *
 * Indexes: uplinks by (sender, Message ID); downlink items by `seq`, per recipient in `seq` order
 * (appended, so each queue stays sorted), and by the duplicate key (recipient, kind, originator,
 * Message ID); outbox reports by `seq` (a Map keeps insertion order, which is `seq` order). Due
 * reports are found by a scan: fine for tests and demos, not an index.
 */
export class InMemoryMessageStore implements MessageStore {
  private readonly uplinks = new Map<string, UplinkRecord>();
  private readonly items = new Map<number, DownlinkItem>();
  private readonly queues = new Map<RegistrationId, number[]>();
  private readonly duplicates = new Map<string, number>();
  private readonly outbox = new Map<number, OutboxReport>();
  private nextSeq = 1;
  private nextReportSeq = 1;
  private closed = false;

  private check(): void {
    if (this.closed) throw new RegistrationStoreError('CLOSED', 'message store is closed');
  }

  /** Later calls reject `CLOSED`. */
  async close(): Promise<void> {
    this.closed = true;
  }

  async beginUplink(record: UplinkRecord, now: number): Promise<{ readonly created: true } | { readonly created: false; readonly existing: UplinkRecord }> {
    this.check();
    const key = uplinkKey(record.sender, record.messageId);
    const existing = this.uplinks.get(key);
    if (existing !== undefined && existing.expiresAt > now) return { created: false, existing };
    const { response: _ignored, ...fresh } = record;
    this.uplinks.set(key, fresh);
    return { created: true };
  }

  async finishUplink(sender: RegistrationId, messageId: MessageId, response: MessageSendingResponse, expiresAt: number): Promise<UplinkRecord | undefined> {
    this.check();
    const key = uplinkKey(sender, messageId);
    const existing = this.uplinks.get(key);
    if (existing === undefined) return undefined;
    const next: UplinkRecord = { ...existing, response, expiresAt };
    this.uplinks.set(key, next);
    return next;
  }

  async dropUplink(sender: RegistrationId, messageId: MessageId): Promise<void> {
    this.check();
    this.uplinks.delete(uplinkKey(sender, messageId));
  }

  async unfinishedUplinks(): Promise<UplinkRecord[]> {
    this.check();
    return [...this.uplinks.values()].filter((r) => r.response === undefined);
  }

  async purgeUplinks(now: number): Promise<number> {
    this.check();
    let n = 0;
    for (const [key, r] of this.uplinks) {
      if (r.expiresAt <= now) {
        this.uplinks.delete(key);
        n++;
      }
    }
    return n;
  }

  async enqueueDownlink(item: NewDownlinkItem, bounds: DownlinkBounds): Promise<EnqueueResult> {
    this.check();
    const dupSeq = this.duplicates.get(downlinkKey(item));
    const dup = dupSeq === undefined ? undefined : this.items.get(dupSeq);
    if (dup !== undefined) return { kind: 'DUPLICATE', item: dup };
    const queue = this.queues.get(item.recipient) ?? [];
    if (queue.length >= bounds.perDevice) return { kind: 'DEVICE_QUEUE_FULL' };
    if (this.items.size >= bounds.total) return { kind: 'QUEUE_FULL' };
    // Keep a copy of the payload: the caller's buffer may be reused after this resolves.
    const content = item.content.kind === 'MESSAGE' ? { ...item.content, payload: Uint8Array.from(item.content.payload) } : item.content;
    const stored: DownlinkItem = { ...item, content, seq: this.nextSeq++ };
    this.items.set(stored.seq, stored);
    queue.push(stored.seq);
    this.queues.set(item.recipient, queue);
    this.duplicates.set(downlinkKey(item), stored.seq);
    return { kind: 'QUEUED', item: stored };
  }

  async downlinkHead(recipient: RegistrationId): Promise<DownlinkItem | undefined> {
    this.check();
    const first = this.queues.get(recipient)?.[0];
    return first === undefined ? undefined : this.items.get(first);
  }

  async findDownlinkMessage(recipient: RegistrationId, messageId: MessageId): Promise<DownlinkItem | undefined> {
    this.check();
    for (const seq of this.queues.get(recipient) ?? []) {
      const item = this.items.get(seq);
      if (item?.content.kind === 'MESSAGE' && item.content.messageId === messageId) return item;
    }
    return undefined;
  }

  async recordAttempt(seq: number, attempts: number, nextAttemptAt: number): Promise<DownlinkItem | undefined> {
    this.check();
    const item = this.items.get(seq);
    if (item === undefined) return undefined;
    const next: DownlinkItem = { ...item, attempts, nextAttemptAt };
    this.items.set(seq, next);
    return next;
  }

  async completeDownlink(seq: number, report?: NewOutboxReport): Promise<DownlinkItem | undefined> {
    this.check();
    const item = this.removeItem(seq);
    if (item !== undefined && report !== undefined) this.putReport(report);
    return item;
  }

  async failDownlinks(recipient: RegistrationId, reportFor: (item: DownlinkItem) => NewOutboxReport | undefined): Promise<DownlinkItem[]> {
    this.check();
    const items = (this.queues.get(recipient) ?? []).map((seq) => this.items.get(seq)).filter((i): i is DownlinkItem => i !== undefined);
    // Build every report before changing anything: a `reportFor` that throws leaves the store as it was.
    const reports = items.map((i) => reportFor(i));
    for (const i of items) this.removeItem(i.seq);
    for (const r of reports) if (r !== undefined) this.putReport(r);
    return items;
  }

  async downlinkRecipients(): Promise<RegistrationId[]> {
    this.check();
    return [...this.queues.keys()];
  }

  async downlinkDepth(recipient?: RegistrationId): Promise<number> {
    this.check();
    return recipient === undefined ? this.items.size : (this.queues.get(recipient)?.length ?? 0);
  }

  async addReport(report: NewOutboxReport): Promise<OutboxReport> {
    this.check();
    return this.putReport(report);
  }

  async dueReports(now: number, limit: number): Promise<OutboxReport[]> {
    this.check();
    const due: OutboxReport[] = [];
    for (const r of this.outbox.values()) {
      if (due.length >= Math.max(1, limit)) break;
      if (r.nextAttemptAt <= now) due.push(r);
    }
    return due;
  }

  async nextReportAt(): Promise<number | undefined> {
    this.check();
    let next: number | undefined;
    for (const r of this.outbox.values()) if (next === undefined || r.nextAttemptAt < next) next = r.nextAttemptAt;
    return next;
  }

  async rescheduleReport(seq: number, attempts: number, nextAttemptAt: number): Promise<OutboxReport | undefined> {
    this.check();
    const r = this.outbox.get(seq);
    if (r === undefined) return undefined;
    const next: OutboxReport = { ...r, attempts, nextAttemptAt };
    this.outbox.set(seq, next);
    return next;
  }

  async removeReport(seq: number): Promise<OutboxReport | undefined> {
    this.check();
    const r = this.outbox.get(seq);
    this.outbox.delete(seq);
    return r;
  }

  async outboxDepth(): Promise<number> {
    this.check();
    return this.outbox.size;
  }

  private putReport(report: NewOutboxReport): OutboxReport {
    const stored: OutboxReport = { ...report, seq: this.nextReportSeq++ };
    this.outbox.set(stored.seq, stored);
    return stored;
  }

  private removeItem(seq: number): DownlinkItem | undefined {
    const item = this.items.get(seq);
    if (item === undefined) return undefined;
    this.items.delete(seq);
    this.duplicates.delete(downlinkKey(item));
    const queue = this.queues.get(item.recipient) ?? [];
    const i = queue.indexOf(seq);
    if (i >= 0) queue.splice(i, 1);
    if (queue.length === 0) this.queues.delete(item.recipient);
    return item;
  }
}
