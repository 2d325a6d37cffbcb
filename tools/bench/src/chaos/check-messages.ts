/**
 * The end-state check of the message chaos run (`pnpm chaos --messages`): given what every device
 * was told about its uplink messages, what the server answered to every downlink message the
 * pretend Application Server sent, what reached each device, and the server's AS inbox (`GET
 * /messages`, read while the gateway still runs), lists every inconsistency. Pure, so a test can
 * feed it a fabricated inconsistent state and see each violation caught.
 *
 * The properties (docs/wire-formats.md §5.3, docs/architecture.md §2.4):
 * - uplink: a message the gateway ACCEPTED (0x03) is in the AS inbox, exactly once (the server
 *   drops a repeat by (oriAddr, Message ID)); a message told a definitive failure is not there; the
 *   inbox holds no device message nobody sent;
 * - downlink: a message the server answered DELY_STORED reaches its device (a 0x04 with its Message
 *   ID) or is reported failed (IMDN REPT_DELY_FAILED to the AS), none vanishes; as every one asked
 *   for a report, each ends with a final report; a REPT_DELY_SUCCESS only for a message its device
 *   got, a REPT_DELY_FAILED never for one it got, never both; no copy at another device, none with a
 *   Message ID the AS never sent.
 *
 * Rejected alternative: checking the gateway's SQLite queues — what the AS and the devices were
 * told is the contract; the store is how the gateway keeps it.
 */

/** What a device was last told about one uplink message it sent (0x01). */
export type UplinkTold =
  | { readonly kind: 'accepted'; readonly deliveryStatus?: string }
  /** A definitive failure (a Failure reason that is not "try again later"). */
  | { readonly kind: 'failed'; readonly reason: string }
  /** No definitive answer before the device's deadline: the message may or may not be at the AS. */
  | { readonly kind: 'gave-up' };

export interface UplinkRecord {
  readonly device: number;
  /** The device's UE Service ID (the `oriAddr` the server records). */
  readonly originator: string;
  readonly messageId: string;
  told: UplinkTold;
}

/** The server's answer to one `MSG` from the pretend AS, after the injector's retries. */
export interface DownlinkRecord {
  readonly messageId: string;
  /** Index of the device it is for. */
  readonly device: number;
  /** That device's UE Service ID (`destAddr`). */
  readonly recipient: string;
  readonly reportAsked: boolean;
  /** `DELY_STORED` (the server took it), `DELIVERED`, `DELY_FAILED`, `NO_ANSWER`, `CODE`. */
  answer: string;
  failureCause?: string;
}

/** One Message ID as received by one device: how many copies of 0x04, from whom. */
export interface Arrival {
  readonly device: number;
  readonly messageId: string;
  readonly originator: string;
  readonly copies: number;
}

/** The members of a `GET /messages` entry the check reads (apps/msgin5g-server/src/as-inbox.ts). */
export interface InboxItem {
  readonly messageType: 'MSG' | 'IMDN';
  readonly oriAddr: string;
  readonly destAddr: string;
  readonly msgId: string;
  readonly delivSt?: string;
  readonly failureCause?: string;
}

export type MessageViolationKind =
  | 'UPLINK_ACCEPTED_NOT_AT_AS'
  | 'UPLINK_DUPLICATED_AT_AS'
  | 'UPLINK_FAILED_BUT_AT_AS'
  | 'UNKNOWN_MESSAGE_AT_AS'
  | 'DOWNLINK_VANISHED'
  | 'DOWNLINK_NO_REPORT'
  | 'REPORTED_DELIVERED_NOT_RECEIVED'
  | 'REPORTED_FAILED_BUT_RECEIVED'
  | 'CONFLICTING_REPORTS'
  | 'DOWNLINK_MISROUTED'
  | 'UNKNOWN_REPORT';

export interface MessageViolation {
  readonly kind: MessageViolationKind;
  readonly detail: string;
}

export interface MessageCheckInput {
  readonly uplinks: readonly UplinkRecord[];
  readonly downlinks: readonly DownlinkRecord[];
  readonly arrivals: readonly Arrival[];
  readonly inbox: readonly InboxItem[];
  /** The pretend AS: the downlink originator, and where the reports go. */
  readonly asServiceId: string;
}

export interface MessageCheck {
  readonly violations: MessageViolation[];
  readonly uplink: {
    readonly sent: number;
    readonly accepted: number;
    readonly failed: Record<string, number>;
    readonly gaveUp: number;
    /** Of those that gave up, how many the AS holds anyway. */
    readonly gaveUpButAtAs: number;
    /** Distinct device messages in the AS inbox. */
    readonly atAs: number;
    /** Inbox entries beyond the first for one (oriAddr, Message ID). */
    readonly duplicatesAtAs: number;
  };
  readonly downlink: {
    readonly injected: number;
    /** Answered DELY_STORED. */
    readonly stored: number;
    /** Other answers (status or cause → count). */
    readonly notTaken: Record<string, number>;
    /** Stored, and a 0x04 reached the device. */
    readonly delivered: number;
    readonly duplicateCopies: number;
    readonly messagesWithDuplicates: number;
    readonly reportedDelivered: number;
    /** REPT_DELY_FAILED by cause. */
    readonly reportedFailed: Record<string, number>;
    readonly vanished: number;
  };
}

const LIST_MAX = 1000;

/** Checks the end state (see the module doc); never throws. */
export function checkMessages(input: MessageCheckInput): MessageCheck {
  const violations: MessageViolation[] = [];
  const add = (kind: MessageViolationKind, detail: string) => {
    if (violations.length < LIST_MAX * 20) violations.push({ kind, detail });
  };
  const key = (a: string, b: string) => `${a}\u0000${b}`;

  // ---- uplink: device messages at the AS, by (oriAddr, Message ID).
  const atAs = new Map<string, number>();
  const reports = new Map<string, InboxItem[]>();
  for (const e of input.inbox) {
    if (e.messageType === 'MSG') atAs.set(key(e.oriAddr, e.msgId), (atAs.get(key(e.oriAddr, e.msgId)) ?? 0) + 1);
    else if (e.destAddr === input.asServiceId) reports.set(e.msgId, [...(reports.get(e.msgId) ?? []), e]);
  }
  const sent = new Set<string>();
  let accepted = 0;
  let gaveUp = 0;
  let gaveUpButAtAs = 0;
  const failed: Record<string, number> = {};
  for (const u of input.uplinks) {
    const k = key(u.originator, u.messageId);
    sent.add(k);
    const n = atAs.get(k) ?? 0;
    const who = `device ${u.device} (${u.originator}), message ${u.messageId}`;
    switch (u.told.kind) {
      case 'accepted':
        accepted += 1;
        if (n === 0) add('UPLINK_ACCEPTED_NOT_AT_AS', `${who} was ACCEPTED (0x03) but the AS inbox does not hold it`);
        break;
      case 'failed':
        failed[u.told.reason] = (failed[u.told.reason] ?? 0) + 1;
        if (n > 0) add('UPLINK_FAILED_BUT_AT_AS', `${who} was told ${u.told.reason} but the AS inbox holds it`);
        break;
      case 'gave-up':
        gaveUp += 1;
        if (n > 0) gaveUpButAtAs += 1;
        break;
    }
  }
  let duplicatesAtAs = 0;
  for (const [k, n] of atAs) {
    const [ori, id] = k.split('\u0000') as [string, string];
    if (!sent.has(k)) add('UNKNOWN_MESSAGE_AT_AS', `the AS inbox holds a MSG from ${ori}, Message ID ${id}, that no device of this run sent`);
    if (n > 1) {
      duplicatesAtAs += n - 1;
      add('UPLINK_DUPLICATED_AT_AS', `the AS inbox holds the MSG from ${ori}, Message ID ${id}, ${n} times`);
    }
  }

  // ---- downlink: what reached the devices, and the reports.
  const byId = new Map<string, DownlinkRecord>();
  for (const d of input.downlinks) byId.set(d.messageId, d);
  const received = new Map<string, number>(); // Message ID → copies at its own device
  for (const a of input.arrivals) {
    const d = byId.get(a.messageId);
    if (d === undefined) {
      add('DOWNLINK_MISROUTED', `device ${a.device} got ${a.copies} cop${a.copies === 1 ? 'y' : 'ies'} of Message ID ${a.messageId} from ${a.originator}, which the AS never sent`);
      continue;
    }
    if (d.device !== a.device || a.originator !== input.asServiceId) {
      add('DOWNLINK_MISROUTED', `device ${a.device} got Message ID ${a.messageId} from ${a.originator}, sent by ${input.asServiceId} to device ${d.device} (${d.recipient})`);
      continue;
    }
    received.set(a.messageId, (received.get(a.messageId) ?? 0) + a.copies);
  }
  let stored = 0;
  let delivered = 0;
  let duplicateCopies = 0;
  let messagesWithDuplicates = 0;
  let reportedDelivered = 0;
  let vanished = 0;
  const reportedFailed: Record<string, number> = {};
  const notTaken: Record<string, number> = {};
  for (const d of input.downlinks) {
    const rs = reports.get(d.messageId) ?? [];
    for (const r of rs) {
      if (r.oriAddr !== d.recipient) add('UNKNOWN_REPORT', `a report on Message ID ${d.messageId} comes from ${r.oriAddr}, not its recipient ${d.recipient}`);
    }
    if (d.answer !== 'DELY_STORED') {
      const k = `${d.answer}${d.failureCause === undefined ? '' : ` ${d.failureCause}`}`;
      notTaken[k] = (notTaken[k] ?? 0) + 1;
      continue;
    }
    stored += 1;
    const copies = received.get(d.messageId) ?? 0;
    const success = rs.some((r) => r.delivSt === 'REPT_DELY_SUCCESS');
    const failure = rs.find((r) => r.delivSt === 'REPT_DELY_FAILED');
    const what = `Message ID ${d.messageId} for device ${d.device} (${d.recipient})`;
    if (copies > 0) {
      delivered += 1;
      if (copies > 1) {
        duplicateCopies += copies - 1;
        messagesWithDuplicates += 1;
      }
    }
    if (success) reportedDelivered += 1;
    if (failure !== undefined) reportedFailed[failure.failureCause ?? '(no cause)'] = (reportedFailed[failure.failureCause ?? '(no cause)'] ?? 0) + 1;
    if (copies === 0 && failure === undefined) {
      vanished += 1;
      add('DOWNLINK_VANISHED', `${what} was stored (DELY_STORED) but never reached the device and was not reported failed`);
    }
    if (d.reportAsked && !success && failure === undefined) add('DOWNLINK_NO_REPORT', `${what} asked for a report but the AS has none`);
    if (success && copies === 0) add('REPORTED_DELIVERED_NOT_RECEIVED', `${what} was reported delivered but the device never got it`);
    if (failure !== undefined && copies > 0) add('REPORTED_FAILED_BUT_RECEIVED', `${what} was reported failed (${failure.failureCause ?? 'no cause'}) but the device got it (${copies} cop${copies === 1 ? 'y' : 'ies'})`);
    if (success && failure !== undefined) add('CONFLICTING_REPORTS', `${what} was reported both delivered and failed`);
  }
  for (const [id, rs] of reports) {
    if (!byId.has(id)) add('UNKNOWN_REPORT', `the AS holds a report (${rs[0]?.delivSt}) on Message ID ${id} from ${rs[0]?.oriAddr}, which it never sent`);
  }

  return {
    violations,
    uplink: { sent: input.uplinks.length, accepted, failed, gaveUp, gaveUpButAtAs, atAs: atAs.size, duplicatesAtAs },
    downlink: { injected: input.downlinks.length, stored, notTaken, delivered, duplicateCopies, messagesWithDuplicates, reportedDelivered, reportedFailed, vanished },
  };
}
