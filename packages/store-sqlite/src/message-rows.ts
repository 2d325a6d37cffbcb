/**
 * Conversion between SQLite rows and the message store's domain values (`UplinkRecord`,
 * `DownlinkItem`, `OutboxReport`), the tables of schema version 4 (src/migrations.ts). As in
 * rows.ts, rows are checked, not trusted: a row that does not describe a valid value raises
 * `RegistrationStoreError('IO')` naming the column.
 */
import {
  ADDRESS_TYPES,
  DELIVERY_STATUSES,
  FAILURE_REASONS,
  RegistrationStoreError,
  assertNever,
  parseMessageId,
  parseRegistrationId,
  type AddressType,
  type DeliveryStatus,
  type DownlinkContent,
  type DownlinkItem,
  type FailureReason,
  type MessageId,
  type MessageSendingResponse,
  type NewDownlinkItem,
  type NewOutboxReport,
  type OutboxReport,
  type RegistrationId,
  type UeServiceId,
  type UplinkRecord,
} from '@msgin5g/core';

/** A row of `uplink_messages` as better-sqlite3 returns it. */
export interface UplinkRow {
  sender: unknown;
  message_id: unknown;
  response: unknown;
  expires_at: unknown;
}

/** A row of `downlink_queue` as better-sqlite3 returns it. */
export interface DownlinkRow {
  seq: unknown;
  recipient: unknown;
  kind: unknown;
  originator_address: unknown;
  message_id: unknown;
  originator_type: unknown;
  payload: unknown;
  delivery_status_required: unknown;
  delivery_status: unknown;
  failure_reason: unknown;
  accepted_at: unknown;
  attempts: unknown;
  next_attempt_at: unknown;
}

/** A row of `report_outbox` as better-sqlite3 returns it. */
export interface OutboxRow {
  seq: unknown;
  originator_address: unknown;
  target_address: unknown;
  message_id: unknown;
  delivery_status: unknown;
  failure_reason: unknown;
  created_at: unknown;
  attempts: unknown;
  next_attempt_at: unknown;
}

export interface UplinkParams {
  sender: string;
  message_id: string;
  response: string | null;
  expires_at: number;
}

/** Named parameters of the downlink insert (`seq` is the store's). */
export interface DownlinkParams {
  recipient: string;
  kind: string;
  originator_address: string;
  message_id: string;
  originator_type: string | null;
  payload: Buffer | null;
  delivery_status_required: number | null;
  delivery_status: string | null;
  failure_reason: string | null;
  accepted_at: number;
  attempts: number;
  next_attempt_at: number;
}

/** Named parameters of the outbox insert (`seq` is the store's). */
export interface OutboxParams {
  originator_address: string;
  target_address: string;
  message_id: string;
  delivery_status: string;
  failure_reason: string | null;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
}

export function uplinkParams(r: UplinkRecord): UplinkParams {
  return { sender: r.sender, message_id: r.messageId, response: r.response === undefined ? null : responseText(r.response), expires_at: r.expiresAt };
}

/** JSON keeps absent optional fields absent, so the replayed response equals the original. */
export function responseText(response: MessageSendingResponse): string {
  return JSON.stringify(response);
}

export function downlinkParams(item: NewDownlinkItem): DownlinkParams {
  const common = { recipient: item.recipient, accepted_at: item.acceptedAt, attempts: item.attempts, next_attempt_at: item.nextAttemptAt };
  const c = item.content;
  switch (c.kind) {
    case 'MESSAGE':
      return {
        ...common,
        kind: c.kind,
        originator_address: c.originatorAddress,
        message_id: c.messageId,
        originator_type: c.originatorType,
        // A view of the caller's octets, no copy: SQLite copies them while the statement binds.
        payload: Buffer.from(c.payload.buffer, c.payload.byteOffset, c.payload.byteLength),
        delivery_status_required: c.deliveryStatusRequired ? 1 : 0,
        delivery_status: null,
        failure_reason: null,
      };
    case 'REPORT':
      return {
        ...common,
        kind: c.kind,
        originator_address: c.originatorAddress,
        message_id: c.messageId,
        originator_type: null,
        payload: null,
        delivery_status_required: null,
        delivery_status: c.deliveryStatus,
        failure_reason: c.failureReason ?? null,
      };
    default:
      return assertNever(c, 'downlink content');
  }
}

export function outboxParams(r: NewOutboxReport): OutboxParams {
  return {
    originator_address: r.originatorAddress,
    target_address: r.targetAddress,
    message_id: r.messageId,
    delivery_status: r.deliveryStatus,
    failure_reason: r.failureReason ?? null,
    created_at: r.createdAt,
    attempts: r.attempts,
    next_attempt_at: r.nextAttemptAt,
  };
}

export function rowToUplink(row: UplinkRow): UplinkRecord {
  const record = { sender: registrationIdOf(row.sender, 'sender'), messageId: messageIdOf(row.message_id), expiresAt: integerOf(row.expires_at, 'expires_at') };
  return row.response === null ? record : { ...record, response: responseOf(row.response) };
}

export function rowToDownlink(row: DownlinkRow): DownlinkItem {
  const kind = row.kind;
  let content: DownlinkContent;
  if (kind === 'MESSAGE') {
    if (!(row.payload instanceof Uint8Array)) throw corrupt('payload', typeof row.payload, 'expected a BLOB');
    content = {
      kind,
      originatorAddress: stringOf(row.originator_address, 'originator_address'),
      originatorType: oneOf(row.originator_type, 'originator_type', ADDRESS_TYPES) as AddressType,
      messageId: messageIdOf(row.message_id),
      // A plain Uint8Array of its own (not the driver's Buffer), as the caller gave it.
      payload: new Uint8Array(row.payload),
      deliveryStatusRequired: flagOf(row.delivery_status_required, 'delivery_status_required'),
    };
  } else if (kind === 'REPORT') {
    const report = {
      kind,
      originatorAddress: stringOf(row.originator_address, 'originator_address'),
      messageId: messageIdOf(row.message_id),
      deliveryStatus: oneOf(row.delivery_status, 'delivery_status', DELIVERY_STATUSES) as DeliveryStatus,
    } as const;
    const reason = failureReasonOf(row.failure_reason);
    content = reason === undefined ? report : { ...report, failureReason: reason };
  } else {
    throw corrupt('kind', kind, 'expected MESSAGE or REPORT');
  }
  return {
    seq: integerOf(row.seq, 'seq'),
    recipient: registrationIdOf(row.recipient, 'recipient'),
    content,
    acceptedAt: integerOf(row.accepted_at, 'accepted_at'),
    attempts: integerOf(row.attempts, 'attempts'),
    nextAttemptAt: integerOf(row.next_attempt_at, 'next_attempt_at'),
  };
}

export function rowToOutbox(row: OutboxRow): OutboxReport {
  const report: OutboxReport = {
    seq: integerOf(row.seq, 'seq'),
    originatorAddress: stringOf(row.originator_address, 'originator_address') as UeServiceId,
    targetAddress: stringOf(row.target_address, 'target_address'),
    messageId: messageIdOf(row.message_id),
    deliveryStatus: oneOf(row.delivery_status, 'delivery_status', DELIVERY_STATUSES) as DeliveryStatus,
    createdAt: integerOf(row.created_at, 'created_at'),
    attempts: integerOf(row.attempts, 'attempts'),
    nextAttemptAt: integerOf(row.next_attempt_at, 'next_attempt_at'),
  };
  const reason = failureReasonOf(row.failure_reason);
  return reason === undefined ? report : { ...report, failureReason: reason };
}

function corrupt(column: string, value: unknown, why: string): RegistrationStoreError {
  return new RegistrationStoreError('IO', `corrupt row: column ${column} = ${JSON.stringify(value)}: ${why}`);
}

function stringOf(value: unknown, column: string): string {
  if (typeof value !== 'string') throw corrupt(column, value, 'expected text');
  return value;
}

function integerOf(value: unknown, column: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw corrupt(column, value, 'expected an integer');
  return value;
}

function flagOf(value: unknown, column: string): boolean {
  if (value !== 0 && value !== 1) throw corrupt(column, value, 'expected 0 or 1');
  return value === 1;
}

function oneOf(value: unknown, column: string, allowed: readonly string[]): string {
  if (typeof value !== 'string' || !allowed.includes(value)) throw corrupt(column, value, `expected one of ${allowed.join(', ')}`);
  return value;
}

function registrationIdOf(value: unknown, column: string): RegistrationId {
  const s = stringOf(value, column);
  const parsed = parseRegistrationId(s);
  if (!parsed.ok) throw corrupt(column, value, parsed.error);
  // Kept exactly as stored, as rows.ts does.
  return s as RegistrationId;
}

function messageIdOf(value: unknown): MessageId {
  const parsed = parseMessageId(stringOf(value, 'message_id'));
  if (!parsed.ok) throw corrupt('message_id', value, parsed.error);
  return parsed.value;
}

function failureReasonOf(value: unknown): FailureReason | undefined {
  if (value === null) return undefined;
  return oneOf(value, 'failure_reason', FAILURE_REASONS) as FailureReason;
}

function responseOf(value: unknown): MessageSendingResponse {
  const text = stringOf(value, 'response');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw corrupt('response', value, 'expected JSON');
  }
  const r = parsed as { kind?: unknown; result?: unknown; messageId?: unknown; failureReason?: unknown } | null;
  if (
    typeof r !== 'object' ||
    r === null ||
    r.kind !== 'MESSAGE_SENDING_RESPONSE' ||
    typeof r.messageId !== 'string' ||
    !parseMessageId(r.messageId).ok ||
    !(r.result === 'ACCEPTED' || (r.result === 'FAILURE' && FAILURE_REASONS.includes(r.failureReason as FailureReason)))
  ) {
    throw corrupt('response', value, 'expected a MessageSendingResponse object with kind, messageId and result');
  }
  // The shape checked above; the rest was written by uplinkParams from a typed value.
  return parsed as MessageSendingResponse;
}
