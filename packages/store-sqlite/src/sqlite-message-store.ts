/**
 * `MessageStore` over SQLite: the message store of a {@link SqliteRegistrationStore}, reached as its
 * `messages` property (src/sqlite-registration-store.ts), never opened on its own.
 *
 * It shares the registration store's connection, its batch transaction and its group commit: every
 * write here runs through the registration store's write path (a savepoint inside the open
 * `BEGIN IMMEDIATE` batch when it has several statements, the write backoff after `BUSY`, the
 * fsync off the event loop, the store refusing writes after a failed fsync), so one `sync()` of the
 * registration store makes registrations and messages durable together, in one commit, and a batch
 * that cannot be committed undoes both (docs/adr/0008). Errors are classified by the same
 * classify function into `RegistrationStoreError`.
 *
 * Rejected: a second connection (or a second file) for messages. Its commits would be separate
 * fsyncs and separate failures, and "a 2.04 to the server only after the message is stored, a
 * de-registration ending the device's queue in the same transaction" would need two-phase commit.
 *
 * Tables: schema version 4 (src/migrations.ts). Reads and bound checks run inside the write
 * transaction of the write that needs them, so no other connection can change the queue between the
 * check and the insert. A `seq` is never handed out twice by committed writes (AUTOINCREMENT); one
 * given to a write whose batch was then rolled back (its `sync()` rejected) may be given again,
 * since that write never happened and nothing was allowed to act on it ("persist, then act").
 */
import type Database from 'better-sqlite3';
import type {
  DownlinkBounds,
  DownlinkItem,
  EnqueueResult,
  MessageId,
  MessageSendingResponse,
  MessageStore,
  NewDownlinkItem,
  NewOutboxReport,
  OutboxReport,
  RegistrationId,
  UplinkRecord,
} from '@msgin5g/core';
import {
  downlinkParams,
  outboxParams,
  responseText,
  rowToDownlink,
  rowToOutbox,
  rowToUplink,
  uplinkParams,
  type DownlinkParams,
  type DownlinkRow,
  type OutboxParams,
  type OutboxRow,
  type UplinkParams,
  type UplinkRow,
} from './message-rows';

/**
 * The registration store's way of running work on its connection (package-internal): `run` for a
 * read, `runWrite` for a write (inside the batch; `multiStatement` = in its own savepoint). Both run
 * `work` synchronously and throw `RegistrationStoreError` (`CLOSED` once the connection is closed).
 */
export interface SqliteConnectionAccess {
  readonly db: Database.Database;
  run<T>(operation: string, work: () => T): T;
  runWrite<T>(operation: string, work: () => T, multiStatement?: boolean): T;
}

const UPLINK_COLUMNS = 'sender, message_id, response, expires_at';
const DOWNLINK_COLUMNS =
  'seq, recipient, kind, originator_address, message_id, originator_type, payload, delivery_status_required, delivery_status, failure_reason, accepted_at, attempts, next_attempt_at';
const OUTBOX_COLUMNS = 'seq, originator_address, target_address, message_id, delivery_status, failure_reason, created_at, attempts, next_attempt_at';

interface Statements {
  readonly uplinkGet: Database.Statement<[string, string], UplinkRow>;
  readonly uplinkPut: Database.Statement<[UplinkParams]>;
  readonly uplinkFinish: Database.Statement<[{ sender: string; messageId: string; response: string; expiresAt: number }], UplinkRow>;
  readonly uplinkDrop: Database.Statement<[string, string]>;
  readonly uplinkUnfinished: Database.Statement<[], UplinkRow>;
  readonly uplinkPurge: Database.Statement<[number]>;
  readonly downlinkInsert: Database.Statement<[DownlinkParams], number>;
  readonly downlinkFindKey: Database.Statement<[string, string, string, string], DownlinkRow>;
  readonly downlinkHead: Database.Statement<[string], DownlinkRow>;
  readonly downlinkFindMessage: Database.Statement<[string, string], DownlinkRow>;
  readonly downlinkRecordAttempt: Database.Statement<[{ seq: number; attempts: number; nextAttemptAt: number }], DownlinkRow>;
  readonly downlinkDelete: Database.Statement<[number], DownlinkRow>;
  readonly downlinkOf: Database.Statement<[string], DownlinkRow>;
  readonly downlinkDeleteOf: Database.Statement<[string]>;
  readonly downlinkRecipients: Database.Statement<[], string>;
  readonly downlinkDepthOf: Database.Statement<[string], number>;
  readonly outboxInsert: Database.Statement<[OutboxParams], number>;
  readonly outboxDue: Database.Statement<[number, number], OutboxRow>;
  readonly outboxNext: Database.Statement<[], number | null>;
  readonly outboxReschedule: Database.Statement<[{ seq: number; attempts: number; nextAttemptAt: number }], OutboxRow>;
  readonly outboxDelete: Database.Statement<[number], OutboxRow>;
  readonly count: Database.Statement<[string], number>;
}

function prepareStatements(db: Database.Database): Statements {
  return {
    uplinkGet: db.prepare<[string, string], UplinkRow>(`SELECT ${UPLINK_COLUMNS} FROM uplink_messages WHERE sender = ? AND message_id = ?`),
    uplinkPut: db.prepare<[UplinkParams]>(
      `INSERT INTO uplink_messages (${UPLINK_COLUMNS}) VALUES (@sender, @message_id, @response, @expires_at)
       ON CONFLICT (sender, message_id) DO UPDATE SET response = excluded.response, expires_at = excluded.expires_at`,
    ),
    uplinkFinish: db.prepare<[{ sender: string; messageId: string; response: string; expiresAt: number }], UplinkRow>(
      `UPDATE uplink_messages SET response = @response, expires_at = @expiresAt WHERE sender = @sender AND message_id = @messageId RETURNING ${UPLINK_COLUMNS}`,
    ),
    uplinkDrop: db.prepare<[string, string]>('DELETE FROM uplink_messages WHERE sender = ? AND message_id = ?'),
    uplinkUnfinished: db.prepare<[], UplinkRow>(`SELECT ${UPLINK_COLUMNS} FROM uplink_messages WHERE response IS NULL ORDER BY expires_at, sender, message_id`),
    uplinkPurge: db.prepare<[number]>('DELETE FROM uplink_messages WHERE expires_at <= ?'),
    downlinkInsert: db
      .prepare<[DownlinkParams], number>(
        `INSERT INTO downlink_queue (recipient, kind, originator_address, message_id, originator_type, payload, delivery_status_required, delivery_status, failure_reason, accepted_at, attempts, next_attempt_at)
         VALUES (@recipient, @kind, @originator_address, @message_id, @originator_type, @payload, @delivery_status_required, @delivery_status, @failure_reason, @accepted_at, @attempts, @next_attempt_at)
         RETURNING seq`,
      )
      .pluck(),
    // The UNIQUE key's own index.
    downlinkFindKey: db.prepare<[string, string, string, string], DownlinkRow>(
      `SELECT ${DOWNLINK_COLUMNS} FROM downlink_queue WHERE recipient = ? AND kind = ? AND originator_address = ? AND message_id = ?`,
    ),
    // Both on downlink_queue_recipient (recipient, seq): the first entry of the range, no sort.
    downlinkHead: db.prepare<[string], DownlinkRow>(`SELECT ${DOWNLINK_COLUMNS} FROM downlink_queue WHERE recipient = ? ORDER BY seq LIMIT 1`),
    downlinkOf: db.prepare<[string], DownlinkRow>(`SELECT ${DOWNLINK_COLUMNS} FROM downlink_queue WHERE recipient = ? ORDER BY seq`),
    // A range of one device's queue (bounded by the per-device bound).
    downlinkFindMessage: db.prepare<[string, string], DownlinkRow>(
      `SELECT ${DOWNLINK_COLUMNS} FROM downlink_queue WHERE recipient = ? AND kind = 'MESSAGE' AND message_id = ? ORDER BY seq LIMIT 1`,
    ),
    downlinkRecordAttempt: db.prepare<[{ seq: number; attempts: number; nextAttemptAt: number }], DownlinkRow>(
      `UPDATE downlink_queue SET attempts = @attempts, next_attempt_at = @nextAttemptAt WHERE seq = @seq RETURNING ${DOWNLINK_COLUMNS}`,
    ),
    downlinkDelete: db.prepare<[number], DownlinkRow>(`DELETE FROM downlink_queue WHERE seq = ? RETURNING ${DOWNLINK_COLUMNS}`),
    downlinkDeleteOf: db.prepare<[string]>('DELETE FROM downlink_queue WHERE recipient = ?'),
    // A skip-scan of downlink_queue_recipient: one index probe per recipient, not one read per item
    // (SELECT DISTINCT walks every entry of the index).
    downlinkRecipients: db
      .prepare<[], string>(
        `WITH RECURSIVE recipients (recipient) AS (
           SELECT min(recipient) FROM downlink_queue
           UNION ALL
           SELECT (SELECT min(recipient) FROM downlink_queue WHERE recipient > recipients.recipient) FROM recipients WHERE recipient IS NOT NULL
         )
         SELECT recipient FROM recipients WHERE recipient IS NOT NULL`,
      )
      .pluck(),
    downlinkDepthOf: db.prepare<[string], number>('SELECT count(*) FROM downlink_queue WHERE recipient = ?').pluck(),
    outboxInsert: db
      .prepare<[OutboxParams], number>(
        `INSERT INTO report_outbox (originator_address, target_address, message_id, delivery_status, failure_reason, created_at, attempts, next_attempt_at)
         VALUES (@originator_address, @target_address, @message_id, @delivery_status, @failure_reason, @created_at, @attempts, @next_attempt_at)
         RETURNING seq`,
      )
      .pluck(),
    // The due seqs come from the index report_outbox_next_attempt_at alone (it holds the rowid, i.e.
    // seq): a range of the due entries, the lowest `limit` seqs kept, then those rows read. Rejected:
    // SQLite's own plan for the plain query, a walk of the table in seq order, which reads every
    // report not yet due (the whole outbox while the server is unreachable) to find the few that are.
    outboxDue: db.prepare<[number, number], OutboxRow>(
      `SELECT ${OUTBOX_COLUMNS} FROM report_outbox
       WHERE seq IN (SELECT seq FROM report_outbox INDEXED BY report_outbox_next_attempt_at WHERE next_attempt_at <= ? ORDER BY seq LIMIT ?)
       ORDER BY seq`,
    ),
    outboxNext: db.prepare<[], number | null>('SELECT min(next_attempt_at) FROM report_outbox').pluck(),
    outboxReschedule: db.prepare<[{ seq: number; attempts: number; nextAttemptAt: number }], OutboxRow>(
      `UPDATE report_outbox SET attempts = @attempts, next_attempt_at = @nextAttemptAt WHERE seq = @seq RETURNING ${OUTBOX_COLUMNS}`,
    ),
    outboxDelete: db.prepare<[number], OutboxRow>(`DELETE FROM report_outbox WHERE seq = ? RETURNING ${OUTBOX_COLUMNS}`),
    // Kept by triggers (schema version 4): one row read, not a count(*) over the table.
    count: db.prepare<[string], number>('SELECT value FROM message_counts WHERE name = ?').pluck(),
  };
}

/** Thrown inside a transaction to carry a caller's exception out of the classify step unchanged. */
class CallerError {
  constructor(readonly error: unknown) {}
}

export class SqliteMessageStore implements MessageStore {
  /** Prepared on first use: a read-only store over a version-3 file has no message tables. */
  private prepared?: Statements;

  /** Package-internal: built by `SqliteRegistrationStore` over its own connection. */
  constructor(private readonly connection: SqliteConnectionAccess) {}

  private get statements(): Statements {
    this.prepared ??= prepareStatements(this.connection.db);
    return this.prepared;
  }

  /** Reads the record, then (inside the same write transaction) inserts or replaces an expired one. @throws RegistrationStoreError `BUSY`, `IO`, `CLOSED`. */
  async beginUplink(record: UplinkRecord, now: number): Promise<{ readonly created: true } | { readonly created: false; readonly existing: UplinkRecord }> {
    return this.connection.runWrite('beginUplink', () => {
      const row = this.statements.uplinkGet.get(record.sender, record.messageId);
      if (row !== undefined) {
        const existing = rowToUplink(row);
        if (existing.expiresAt > now) return { created: false, existing } as const;
      }
      this.statements.uplinkPut.run(uplinkParams(record));
      return { created: true } as const;
    });
  }

  async finishUplink(sender: RegistrationId, messageId: MessageId, response: MessageSendingResponse, expiresAt: number): Promise<UplinkRecord | undefined> {
    return this.connection.runWrite('finishUplink', () =>
      optional(this.statements.uplinkFinish.get({ sender, messageId, response: responseText(response), expiresAt }), rowToUplink),
    );
  }

  async dropUplink(sender: RegistrationId, messageId: MessageId): Promise<void> {
    this.connection.runWrite('dropUplink', () => this.statements.uplinkDrop.run(sender, messageId));
  }

  /** Ordered by `expiresAt`. A scan of `uplink_messages` (start-up only). */
  async unfinishedUplinks(): Promise<UplinkRecord[]> {
    return this.connection.run('unfinishedUplinks', () => this.statements.uplinkUnfinished.all().map(rowToUplink));
  }

  async purgeUplinks(now: number): Promise<number> {
    return this.connection.runWrite('purgeUplinks', () => this.statements.uplinkPurge.run(now).changes);
  }

  /**
   * In one write, inside the batch transaction: a duplicate (answered even when the queue is full:
   * the item is stored already), then the per-device bound, then the total, then the insert.
   * @throws RegistrationStoreError `BUSY`, `IO`, `CLOSED`.
   */
  async enqueueDownlink(item: NewDownlinkItem, bounds: DownlinkBounds): Promise<EnqueueResult> {
    const params = downlinkParams(item);
    return this.connection.runWrite('enqueueDownlink', (): EnqueueResult => {
      const s = this.statements;
      const existing = s.downlinkFindKey.get(params.recipient, params.kind, params.originator_address, params.message_id);
      if (existing !== undefined) return { kind: 'DUPLICATE', item: rowToDownlink(existing) };
      if ((s.downlinkDepthOf.get(params.recipient) ?? 0) >= bounds.perDevice) return { kind: 'DEVICE_QUEUE_FULL' };
      if ((s.count.get('downlink_queue') ?? 0) >= bounds.total) return { kind: 'QUEUE_FULL' };
      const seq = s.downlinkInsert.get(params);
      if (seq === undefined) throw new Error('INSERT … RETURNING seq returned no row');
      return { kind: 'QUEUED', item: { ...item, seq } };
    });
  }

  async downlinkHead(recipient: RegistrationId): Promise<DownlinkItem | undefined> {
    return this.connection.run('downlinkHead', () => optional(this.statements.downlinkHead.get(recipient), rowToDownlink));
  }

  async findDownlinkMessage(recipient: RegistrationId, messageId: MessageId): Promise<DownlinkItem | undefined> {
    return this.connection.run('findDownlinkMessage', () => optional(this.statements.downlinkFindMessage.get(recipient, messageId), rowToDownlink));
  }

  async recordAttempt(seq: number, attempts: number, nextAttemptAt: number): Promise<DownlinkItem | undefined> {
    return this.connection.runWrite('recordAttempt', () => optional(this.statements.downlinkRecordAttempt.get({ seq, attempts, nextAttemptAt }), rowToDownlink));
  }

  /** DELETE … RETURNING, then the report's INSERT when a row went: one savepoint. */
  async completeDownlink(seq: number, report?: NewOutboxReport): Promise<DownlinkItem | undefined> {
    const reportParams = report === undefined ? undefined : outboxParams(report);
    return this.connection.runWrite(
      'completeDownlink',
      () => {
        const row = this.statements.downlinkDelete.get(seq);
        if (row !== undefined && reportParams !== undefined) this.statements.outboxInsert.get(reportParams);
        return optional(row, rowToDownlink);
      },
      true,
    );
  }

  /**
   * Reads the recipient's items in `seq` order, asks `reportFor` for each, deletes them and inserts
   * the reports, in one savepoint. If `reportFor` throws, nothing changes and its exception is
   * rethrown as it was (a caller bug, not a store failure).
   */
  async failDownlinks(recipient: RegistrationId, reportFor: (item: DownlinkItem) => NewOutboxReport | undefined): Promise<DownlinkItem[]> {
    try {
      return this.connection.runWrite(
        'failDownlinks',
        () => {
          const s = this.statements;
          const items = s.downlinkOf.all(recipient).map(rowToDownlink);
          if (items.length === 0) return items;
          const reports: NewOutboxReport[] = [];
          for (const item of items) {
            let report: NewOutboxReport | undefined;
            try {
              report = reportFor(item);
            } catch (err) {
              throw new CallerError(err);
            }
            if (report !== undefined) reports.push(report);
          }
          s.downlinkDeleteOf.run(recipient);
          for (const report of reports) s.outboxInsert.get(outboxParams(report));
          return items;
        },
        true,
      );
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof CallerError) throw cause.error;
      throw err;
    }
  }

  /** Ordered by Registration ID. One probe of the index `downlink_queue_recipient` per recipient. */
  async downlinkRecipients(): Promise<RegistrationId[]> {
    return this.connection.run('downlinkRecipients', () => this.statements.downlinkRecipients.all() as RegistrationId[]);
  }

  /** Total: one row of `message_counts`; one recipient: a range of `downlink_queue_recipient`. */
  async downlinkDepth(recipient?: RegistrationId): Promise<number> {
    return this.connection.run('downlinkDepth', () =>
      recipient === undefined ? this.statements.count.get('downlink_queue') ?? 0 : this.statements.downlinkDepthOf.get(recipient) ?? 0,
    );
  }

  async addReport(report: NewOutboxReport): Promise<OutboxReport> {
    const params = outboxParams(report);
    return this.connection.runWrite('addReport', () => {
      const seq = this.statements.outboxInsert.get(params);
      if (seq === undefined) throw new Error('INSERT … RETURNING seq returned no row');
      return { ...report, seq };
    });
  }

  /** @throws RangeError unless `limit` is an integer ≥ 1; RegistrationStoreError `IO`, `CLOSED`. */
  async dueReports(now: number, limit: number): Promise<OutboxReport[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    return this.connection.run('dueReports', () => this.statements.outboxDue.all(now, limit).map(rowToOutbox));
  }

  /** `min(next_attempt_at)`: one probe of the index `report_outbox_next_attempt_at`. */
  async nextReportAt(): Promise<number | undefined> {
    return this.connection.run('nextReportAt', () => this.statements.outboxNext.get() ?? undefined);
  }

  async rescheduleReport(seq: number, attempts: number, nextAttemptAt: number): Promise<OutboxReport | undefined> {
    return this.connection.runWrite('rescheduleReport', () => optional(this.statements.outboxReschedule.get({ seq, attempts, nextAttemptAt }), rowToOutbox));
  }

  async removeReport(seq: number): Promise<OutboxReport | undefined> {
    return this.connection.runWrite('removeReport', () => optional(this.statements.outboxDelete.get(seq), rowToOutbox));
  }

  async outboxDepth(): Promise<number> {
    return this.connection.run('outboxDepth', () => this.statements.count.get('report_outbox') ?? 0);
  }
}

function optional<R, T>(row: R | undefined, convert: (row: R) => T): T | undefined {
  return row === undefined ? undefined : convert(row);
}
