/**
 * Schema of the SQLite registration store, as an ordered list of migrations.
 *
 * The applied version is SQLite's own `PRAGMA user_version` (an integer in the database header,
 * written in the same transaction as the migration), not a `schema_migrations` table: one integer
 * is all a forward-only list needs, and it cannot disagree with the tables it describes. A
 * `schema_migrations` table with names and timestamps was rejected as bookkeeping nobody reads.
 *
 * Rules: never edit a released migration; append a new one with the next version.
 */
import type Database from 'better-sqlite3';
import { RegistrationStoreError } from '@msgin5g/core';

/**
 * Lifetime given at the upgrade to version 3 to records that had none, ms: 86 400 000 (one day,
 * `DEFAULT_REGISTRATION_LIFETIME_S` of @msgin5g/core). The migration cannot see the gateway's
 * configured lifetime; one day from the upgrade gives every device a day to refresh (REG again)
 * before the gateway de-registers it. NULL (never expires) was rejected: stale records from before
 * the upgrade would then stay forever, the complaint lifetimes answer (docs/adr/0011).
 */
export const UPGRADE_LIFETIME_MS = 86_400_000;

/** SQL form of `LINK_NAME_PATTERN` (@msgin5g/core): 1..32 characters, a-z first, then a-z, 0-9, "-". */
const LINK_ID_CHECK = "length(link) BETWEEN 1 AND 32 AND link GLOB '[a-z]*' AND link NOT GLOB '*[^a-z0-9-]*'";

/**
 * A Registration ID is never allocated twice: a tombstoned one cannot come back as a live record.
 * RAISE(ABORT) surfaces as SQLITE_CONSTRAINT_TRIGGER, classified DUPLICATE. Created by version 1 and
 * again by every migration that rebuilds `registrations` (dropping a table drops its triggers);
 * never edit it: files already migrated keep the text they were created with.
 */
const NOT_TOMBSTONED_TRIGGER = `CREATE TRIGGER registrations_not_tombstoned
        BEFORE INSERT ON registrations
        WHEN EXISTS (SELECT 1 FROM tombstones WHERE registration_id = NEW.registration_id)
      BEGIN
        SELECT RAISE(ABORT, 'Registration ID has a tombstone');
      END;`;

/** One step of the schema. `sql` runs inside the migration transaction. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'registrations and tombstones',
    sql: `
      CREATE TABLE registrations (
        registration_id TEXT    NOT NULL PRIMARY KEY,
        application_id  INTEGER NOT NULL CHECK (application_id BETWEEN 0 AND 65535),
        layer2_id       TEXT    NOT NULL,
        link            TEXT    NOT NULL CHECK (link IN ('udp', 'l2', 'coap')),
        ue_service_id   TEXT    NOT NULL,
        state           TEXT    NOT NULL CHECK (state IN ('REGISTERING', 'REGISTERED', 'DEREGISTERING')),
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        UNIQUE (link, layer2_id, application_id)
      );
      CREATE INDEX registrations_application_id ON registrations (application_id);
      CREATE INDEX registrations_state ON registrations (state, created_at);

      CREATE TABLE tombstones (
        registration_id TEXT    NOT NULL PRIMARY KEY,
        application_id  INTEGER NOT NULL,
        layer2_id       TEXT    NOT NULL,
        link            TEXT    NOT NULL CHECK (link IN ('udp', 'l2', 'coap')),
        response        TEXT    NOT NULL CHECK (json_valid(response)),
        expires_at      INTEGER NOT NULL
      );
      CREATE INDEX tombstones_expires_at ON tombstones (expires_at);

      -- A Registration ID is never allocated twice: a tombstoned one cannot come back as a live record.
      -- RAISE(ABORT) surfaces as SQLITE_CONSTRAINT_TRIGGER, classified DUPLICATE.
      ${NOT_TOMBSTONED_TRIGGER}
    `,
  },
  {
    version: 2,
    description: 'open link seam: `link` holds any link instance id, not one of udp/l2/coap',
    // SQLite cannot alter a CHECK constraint, so both tables are rebuilt (the procedure of
    // https://www.sqlite.org/lang_altertable.html §7: create new, copy, drop old, rename, then the
    // indexes and the trigger again). Version-1 values (udp, l2, coap) are valid instance ids.
    // The new CHECK keeps the syntax of LINK_NAME_PATTERN in @msgin5g/core: a lower-case letter,
    // then up to 31 of a-z, 0-9, "-".
    sql: `
      CREATE TABLE registrations_v2 (
        registration_id TEXT    NOT NULL PRIMARY KEY,
        application_id  INTEGER NOT NULL CHECK (application_id BETWEEN 0 AND 65535),
        layer2_id       TEXT    NOT NULL,
        link            TEXT    NOT NULL CHECK (${LINK_ID_CHECK}),
        ue_service_id   TEXT    NOT NULL,
        state           TEXT    NOT NULL CHECK (state IN ('REGISTERING', 'REGISTERED', 'DEREGISTERING')),
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        UNIQUE (link, layer2_id, application_id)
      );
      INSERT INTO registrations_v2 SELECT registration_id, application_id, layer2_id, link, ue_service_id, state, created_at, updated_at FROM registrations;
      DROP TABLE registrations;
      ALTER TABLE registrations_v2 RENAME TO registrations;
      CREATE INDEX registrations_application_id ON registrations (application_id);
      CREATE INDEX registrations_state ON registrations (state, created_at);

      CREATE TABLE tombstones_v2 (
        registration_id TEXT    NOT NULL PRIMARY KEY,
        application_id  INTEGER NOT NULL,
        layer2_id       TEXT    NOT NULL,
        link            TEXT    NOT NULL CHECK (${LINK_ID_CHECK}),
        response        TEXT    NOT NULL CHECK (json_valid(response)),
        expires_at      INTEGER NOT NULL
      );
      INSERT INTO tombstones_v2 SELECT registration_id, application_id, layer2_id, link, response, expires_at FROM tombstones;
      DROP TABLE tombstones;
      ALTER TABLE tombstones_v2 RENAME TO tombstones;
      CREATE INDEX tombstones_expires_at ON tombstones (expires_at);

      ${NOT_TOMBSTONED_TRIGGER}
    `,
  },
  {
    version: 3,
    description: 'registration lifetime (`expires_at`, indexed) and who started a de-registration (`deregistration_cause`)',
    // Rebuilt as version 2 was, so that `expires_at` is NOT NULL without a default and the cause has
    // its CHECK. Existing records get UPGRADE_LIFETIME_MS from the upgrade; a record DEREGISTERING at
    // the upgrade was started by its device (the only kind before version 3), so its cause is NULL.
    // The cause may be set only on a DEREGISTERING record: KICKED or EXPIRED (GatewayDeregistrationCause).
    // `registrations_expires_at` serves the expiry scheduler: the earliest expiries of REGISTERED
    // records, one index range in expiry order, never a full scan. `state` leads it because only
    // REGISTERED records expire; on `expires_at` alone SQLite's planner picks `registrations_state`
    // and sorts every REGISTERED record (seen with EXPLAIN QUERY PLAN).
    sql: `
      CREATE TABLE registrations_v3 (
        registration_id      TEXT    NOT NULL PRIMARY KEY,
        application_id       INTEGER NOT NULL CHECK (application_id BETWEEN 0 AND 65535),
        layer2_id            TEXT    NOT NULL,
        link                 TEXT    NOT NULL CHECK (${LINK_ID_CHECK}),
        ue_service_id        TEXT    NOT NULL,
        state                TEXT    NOT NULL CHECK (state IN ('REGISTERING', 'REGISTERED', 'DEREGISTERING')),
        created_at           INTEGER NOT NULL,
        updated_at           INTEGER NOT NULL,
        expires_at           INTEGER NOT NULL,
        deregistration_cause TEXT    CHECK (deregistration_cause IS NULL OR (state = 'DEREGISTERING' AND deregistration_cause IN ('KICKED', 'EXPIRED'))),
        UNIQUE (link, layer2_id, application_id)
      );
      INSERT INTO registrations_v3
        SELECT registration_id, application_id, layer2_id, link, ue_service_id, state, created_at, updated_at,
               CAST(strftime('%s', 'now') AS INTEGER) * 1000 + ${UPGRADE_LIFETIME_MS}, NULL
        FROM registrations;
      DROP TABLE registrations;
      ALTER TABLE registrations_v3 RENAME TO registrations;
      CREATE INDEX registrations_application_id ON registrations (application_id);
      CREATE INDEX registrations_state ON registrations (state, created_at);
      CREATE INDEX registrations_expires_at ON registrations (state, expires_at);

      ${NOT_TOMBSTONED_TRIGGER}
    `,
  },
  {
    version: 4,
    description: 'messages (issue 12): uplink records, the downlink queue, the report outbox; registrations found by UE Service ID',
    // Only new tables and one new index: nothing existing is rebuilt, every row is kept, and the
    // registration columns every read returns are unchanged (READABLE_FROM_SCHEMA_VERSION stays 3).
    //
    // - `uplink_messages`: one row per (sender, Message ID) (docs/wire-formats.md §5.3); `response`
    //   NULL while the MSG POST is under way, else the MessageSendingResponse as JSON (absent fields
    //   stay absent, as in `tombstones.response`). No foreign key to `registrations`: a record outlives
    //   its sender's de-registration for its 247 s, and the message store is a port of its own.
    // - `downlink_queue`: `seq` is AUTOINCREMENT, so a seq is never handed out twice, not even after
    //   the highest row was deleted or the file reopened (sqlite_sequence keeps the high-water mark;
    //   a plain INTEGER PRIMARY KEY would reuse max(rowid) + 1). The UNIQUE key is the port's
    //   duplicate rule; (recipient, seq) serves the head of a device's queue and its depth. The
    //   content columns of the kind that does not use them must be NULL (CHECK).
    // - `report_outbox`: AUTOINCREMENT for the same reason; `next_attempt_at` indexed for the
    //   earliest due report.
    // - `message_counts`: the number of rows of the queue and the outbox, kept by triggers in the
    //   same statement as the insert or delete, so the gateway-wide bound of enqueueDownlink is one
    //   row read instead of a count(*) over the whole queue; an admin tool editing the file keeps it
    //   right too. Rejected: a counter in the process, which a rolled-back batch would leave wrong.
    // - `registrations_ue_service_id`: the recipient of a message from the server is one index probe.
    sql: `
      CREATE TABLE uplink_messages (
        sender      TEXT    NOT NULL,
        message_id  TEXT    NOT NULL CHECK (length(message_id) = 32 AND message_id NOT GLOB '*[^0-9a-f]*'),
        response    TEXT    CHECK (response IS NULL OR json_valid(response)),
        expires_at  INTEGER NOT NULL,
        PRIMARY KEY (sender, message_id)
      ) WITHOUT ROWID;
      CREATE INDEX uplink_messages_expires_at ON uplink_messages (expires_at);

      CREATE TABLE downlink_queue (
        seq                      INTEGER PRIMARY KEY AUTOINCREMENT,
        recipient                TEXT    NOT NULL,
        kind                     TEXT    NOT NULL CHECK (kind IN ('MESSAGE', 'REPORT')),
        originator_address       TEXT    NOT NULL,
        message_id               TEXT    NOT NULL CHECK (length(message_id) = 32 AND message_id NOT GLOB '*[^0-9a-f]*'),
        originator_type          TEXT    CHECK (originator_type IN ('UE', 'AS', 'GROUP')),
        payload                  BLOB,
        delivery_status_required INTEGER CHECK (delivery_status_required IN (0, 1)),
        delivery_status          TEXT    CHECK (delivery_status IN ('DELIVERED', 'FAILED', 'STORED')),
        failure_reason           TEXT,
        accepted_at              INTEGER NOT NULL,
        attempts                 INTEGER NOT NULL CHECK (attempts >= 0),
        next_attempt_at          INTEGER NOT NULL,
        UNIQUE (recipient, kind, originator_address, message_id),
        CHECK (
          (kind = 'MESSAGE' AND originator_type IS NOT NULL AND typeof(payload) = 'blob' AND delivery_status_required IS NOT NULL
             AND delivery_status IS NULL AND failure_reason IS NULL)
          OR
          (kind = 'REPORT' AND originator_type IS NULL AND payload IS NULL AND delivery_status_required IS NULL
             AND delivery_status IS NOT NULL)
        )
      );
      CREATE INDEX downlink_queue_recipient ON downlink_queue (recipient, seq);

      CREATE TABLE report_outbox (
        seq                INTEGER PRIMARY KEY AUTOINCREMENT,
        originator_address TEXT    NOT NULL,
        target_address     TEXT    NOT NULL,
        message_id         TEXT    NOT NULL CHECK (length(message_id) = 32 AND message_id NOT GLOB '*[^0-9a-f]*'),
        delivery_status    TEXT    NOT NULL CHECK (delivery_status IN ('DELIVERED', 'FAILED', 'STORED')),
        failure_reason     TEXT,
        created_at         INTEGER NOT NULL,
        attempts           INTEGER NOT NULL CHECK (attempts >= 0),
        next_attempt_at    INTEGER NOT NULL
      );
      CREATE INDEX report_outbox_next_attempt_at ON report_outbox (next_attempt_at);

      CREATE TABLE message_counts (
        name  TEXT    NOT NULL PRIMARY KEY CHECK (name IN ('downlink_queue', 'report_outbox')),
        value INTEGER NOT NULL CHECK (value >= 0)
      ) WITHOUT ROWID;
      INSERT INTO message_counts (name, value) VALUES ('downlink_queue', 0), ('report_outbox', 0);
      CREATE TRIGGER downlink_queue_counted_in AFTER INSERT ON downlink_queue
      BEGIN
        UPDATE message_counts SET value = value + 1 WHERE name = 'downlink_queue';
      END;
      CREATE TRIGGER downlink_queue_counted_out AFTER DELETE ON downlink_queue
      BEGIN
        UPDATE message_counts SET value = value - 1 WHERE name = 'downlink_queue';
      END;
      CREATE TRIGGER report_outbox_counted_in AFTER INSERT ON report_outbox
      BEGIN
        UPDATE message_counts SET value = value + 1 WHERE name = 'report_outbox';
      END;
      CREATE TRIGGER report_outbox_counted_out AFTER DELETE ON report_outbox
      BEGIN
        UPDATE message_counts SET value = value - 1 WHERE name = 'report_outbox';
      END;

      CREATE INDEX registrations_ue_service_id ON registrations (ue_service_id);
    `,
  },
];

/** Highest schema version this code knows. */
export const LATEST_SCHEMA_VERSION: number = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/**
 * Oldest schema version the read-only admin view can read without migrating: version 3 added
 * columns every read returns (`expires_at`, `deregistration_cause`). Version 4 added only tables the
 * admin view does not read (the message store's) and an index, so a version-3 file stays readable.
 */
export const READABLE_FROM_SCHEMA_VERSION = 3;

/** Reads `PRAGMA user_version`. */
export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Refuses a database written by newer code: its schema may carry meaning this code would break.
 * @throws RegistrationStoreError `IO` naming both versions.
 */
export function assertKnownVersion(version: number, name: string): void {
  if (version > LATEST_SCHEMA_VERSION) {
    throw new RegistrationStoreError(
      'IO',
      `registration store ${name} has schema version ${version}, but this gateway knows only up to version ${LATEST_SCHEMA_VERSION}; ` +
        'it was written by a newer gateway. Upgrade the gateway or point it at another file.',
    );
  }
}

/**
 * Brings the schema to {@link LATEST_SCHEMA_VERSION} in one `BEGIN IMMEDIATE` transaction (so two
 * processes opening a fresh file at once cannot both migrate it; the version is read again inside
 * it). Returns the version found before.
 * @throws RegistrationStoreError `IO` when the file is newer than this code; driver errors are left
 *   to the caller's classify.
 */
export function migrate(db: Database.Database, name: string): number {
  // Up to date: take no write lock, so a gateway can start while an admin tool writes the file.
  const current = schemaVersion(db);
  assertKnownVersion(current, name);
  if (current === LATEST_SCHEMA_VERSION) return current;
  const run = db.transaction(() => {
    const found = schemaVersion(db);
    assertKnownVersion(found, name);
    for (const m of MIGRATIONS) {
      if (m.version <= found) continue;
      db.exec(m.sql);
      // PRAGMA takes no bound parameters; `version` is an integer literal from this file.
      db.pragma(`user_version = ${m.version}`);
    }
    return found;
  });
  return run.immediate();
}
