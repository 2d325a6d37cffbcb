/**
 * Port `MessageStore`: what the gateway keeps durably for message delivery (docs/wire-formats.md
 * §5.3, docs/adr/0013): the answers to devices' uplink messages (to answer a repeat with the same
 * octets and POST it once, 247 s), the per-device downlink queue (MESSAGE RECEIVING / DELIVERY
 * REPORT RECEIVING waiting for the device), and the outbox of delivery status reports waiting to
 * go upstream as `IMDN`.
 *
 * Contract (as `RegistrationStore`, of which an adapter's message store shares the durability):
 * - Every write is atomic; it is *applied* when its promise resolves and *durable* once a `sync()`
 *   of the registration store it was built with, called after it, resolves ("persist, then act": a
 *   2.04 to the server, an answer to a device, a report leave only after that `sync()`).
 * - A write that rejects changes nothing. Failures reject with `RegistrationStoreError` (`BUSY`,
 *   `IO`, `CLOSED`), never anything else.
 * - Downlink order: `seq` is allocated by the store, strictly increasing in the order of
 *   `enqueueDownlink` calls, and never reused; the head of a device's queue is its lowest `seq`.
 */
import type { AddressType, DeliveryStatus, MessageId, MessageSendingResponse, ServiceAddress } from '../delivery-messages';
import type { RegistrationId, UeServiceId } from '../ids';
import type { FailureReason } from '../messages';

/** How long a device's uplink Message ID is remembered, ms (docs/wire-formats.md §5.3: 247 s). */
export const UPLINK_DEDUP_MS = 247_000;

/**
 * One uplink message of a device (0x01), keyed by (`sender`, `messageId`). `response` absent: the
 * `MSG` POST is under way (a repeat then waits for it, and a restart POSTs again: the server drops
 * the repeat by Message ID); present: the exact answer, replayed to a repeat until `expiresAt`.
 */
export interface UplinkRecord {
  /** The sending registration. */
  readonly sender: RegistrationId;
  readonly messageId: MessageId;
  readonly response?: MessageSendingResponse;
  /** ms since the Unix epoch; the record is forgotten after it. */
  readonly expiresAt: number;
}

/** What waits in a device's downlink queue (docs/wire-formats.md §5.3). */
export type DownlinkContent =
  | {
      /** 0x04 MESSAGE RECEIVING, resent until 0x05. */
      readonly kind: 'MESSAGE';
      readonly originatorAddress: ServiceAddress;
      readonly originatorType: AddressType;
      readonly messageId: MessageId;
      readonly payload: Uint8Array;
      readonly deliveryStatusRequired: boolean;
    }
  | {
      /** 0x06 DELIVERY REPORT RECEIVING, sent once in its turn (no ack exists for it). */
      readonly kind: 'REPORT';
      readonly originatorAddress: ServiceAddress;
      readonly messageId: MessageId;
      readonly deliveryStatus: DeliveryStatus;
      readonly failureReason?: FailureReason;
    };

/** One queued downlink unit. */
export interface DownlinkItem {
  /** Store-allocated, strictly increasing: the queue order. */
  readonly seq: number;
  /** The recipient registration (its link, Layer-2 ID, Application ID). */
  readonly recipient: RegistrationId;
  readonly content: DownlinkContent;
  /** ms since the Unix epoch. */
  readonly acceptedAt: number;
  /** Sends so far (0 = never sent). */
  readonly attempts: number;
  /** When the next send (or, after the last, the NOT_DELIVERED verdict) is due, ms since the epoch. */
  readonly nextAttemptAt: number;
}

/** A delivery status report waiting to go upstream as `IMDN` (docs/wire-formats.md §5.4). */
export interface OutboxReport {
  /** Store-allocated, strictly increasing. */
  readonly seq: number;
  /** [oriAddr] The reporting device's UE Service ID. */
  readonly originatorAddress: UeServiceId;
  /** [destAddr] The originator of the message reported on. */
  readonly targetAddress: ServiceAddress;
  readonly messageId: MessageId;
  readonly deliveryStatus: DeliveryStatus;
  readonly failureReason?: FailureReason;
  /** ms since the Unix epoch. */
  readonly createdAt: number;
  readonly attempts: number;
  readonly nextAttemptAt: number;
}

/** An outbox report before the store gives it its `seq`. */
export type NewOutboxReport = Omit<OutboxReport, 'seq'>;
/** A downlink item before the store gives it its `seq`. */
export type NewDownlinkItem = Omit<DownlinkItem, 'seq'>;

/** Queue bounds checked atomically by `enqueueDownlink`. */
export interface DownlinkBounds {
  /** Most items one registration may have queued. */
  readonly perDevice: number;
  /** Most items all registrations together may have queued. */
  readonly total: number;
}

/** What `enqueueDownlink` did. `DUPLICATE`: an item with the same recipient, kind, originator and Message ID is queued already (`item` is that one). */
export type EnqueueResult =
  | { readonly kind: 'QUEUED'; readonly item: DownlinkItem }
  | { readonly kind: 'DUPLICATE'; readonly item: DownlinkItem }
  | { readonly kind: 'DEVICE_QUEUE_FULL' | 'QUEUE_FULL' };

export interface MessageStore {
  /**
   * Starts an uplink record (no `response`) unless one for (`sender`, `messageId`) exists that has
   * not expired at `now`; resolves `{ created: true }` or the existing record. An expired one is
   * replaced.
   */
  beginUplink(record: UplinkRecord, now: number): Promise<{ readonly created: true } | { readonly created: false; readonly existing: UplinkRecord }>;
  /** Stores the answer of an uplink record and its new `expiresAt`; resolves the record, `undefined` when there is none. */
  finishUplink(sender: RegistrationId, messageId: MessageId, response: MessageSendingResponse, expiresAt: number): Promise<UplinkRecord | undefined>;
  /** Deletes an uplink record (its POST ended without an answer worth replaying). */
  dropUplink(sender: RegistrationId, messageId: MessageId): Promise<void>;
  /** Uplink records without a response (POSTs under way at a crash), for start-up. */
  unfinishedUplinks(): Promise<UplinkRecord[]>;
  /** Deletes uplink records expired at `now` (ms); resolves how many. */
  purgeUplinks(now: number): Promise<number>;

  /** Queues a downlink unit after checking `bounds` and duplicates, in one transaction. */
  enqueueDownlink(item: NewDownlinkItem, bounds: DownlinkBounds): Promise<EnqueueResult>;
  /** The head of a registration's queue (lowest `seq`), `undefined` when it is empty. */
  downlinkHead(recipient: RegistrationId): Promise<DownlinkItem | undefined>;
  /** The queued item of a registration whose MESSAGE has this Message ID, for a 0x05. */
  findDownlinkMessage(recipient: RegistrationId, messageId: MessageId): Promise<DownlinkItem | undefined>;
  /** Records a send: `attempts` and `nextAttemptAt`. Resolves the updated item, `undefined` when it is gone. */
  recordAttempt(seq: number, attempts: number, nextAttemptAt: number): Promise<DownlinkItem | undefined>;
  /**
   * Removes a downlink item and, in the same transaction, adds `report` to the outbox when given
   * (the delivery status report the item's end produces). Resolves the removed item, `undefined`
   * (and nothing added) when it was gone already.
   */
  completeDownlink(seq: number, report?: NewOutboxReport): Promise<DownlinkItem | undefined>;
  /**
   * Removes every queued item of a registration and adds, in the same transaction, the report
   * `reportFor(item)` returns for each (none when it returns `undefined`): a de-registration ends
   * the device's pending messages (§5.3). Resolves the removed items, oldest first.
   */
  failDownlinks(recipient: RegistrationId, reportFor: (item: DownlinkItem) => NewOutboxReport | undefined): Promise<DownlinkItem[]>;
  /** Registrations with at least one queued item, for start-up and for timers. */
  downlinkRecipients(): Promise<RegistrationId[]>;
  /** Items queued, in total and for one registration. */
  downlinkDepth(recipient?: RegistrationId): Promise<number>;

  /** Adds a report to the outbox. */
  addReport(report: NewOutboxReport): Promise<OutboxReport>;
  /** Outbox reports whose `nextAttemptAt` ≤ `now`, lowest `seq` first, at most `limit` (≥ 1). */
  dueReports(now: number, limit: number): Promise<OutboxReport[]>;
  /** The earliest `nextAttemptAt` in the outbox, `undefined` when it is empty. */
  nextReportAt(): Promise<number | undefined>;
  /** Records a failed upstream attempt. Resolves the updated report, `undefined` when it is gone. */
  rescheduleReport(seq: number, attempts: number, nextAttemptAt: number): Promise<OutboxReport | undefined>;
  /** Removes a report (the server took it, or it was given up). */
  removeReport(seq: number): Promise<OutboxReport | undefined>;
  /** Reports in the outbox. */
  outboxDepth(): Promise<number>;
}
