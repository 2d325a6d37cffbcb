/**
 * `RegistrationStore` over SQLite through better-sqlite3: the gateway's default store
 * (docs/architecture.md §4, file `./data/gateway.db`).
 *
 * Choices:
 * - **better-sqlite3 is synchronous.** Each method does its work synchronously inside the returned
 *   promise. A statement waiting for another process's lock blocks the event loop for up to
 *   `busy_timeout`, so that timeout is short (default 100 ms) and running out of it rejects with
 *   `BUSY`, which the gateway answers as CONGESTION (case C12). The asynchronous `sqlite3` binding was
 *   rejected: its thread-pool queue hides contention behind unbounded latency and it has no
 *   synchronous transactions, which "persist, then act" relies on.
 * - **WAL journal** for files: readers (admin commands) never block the writer and vice versa.
 * - **Group commit.** A write runs at once inside an open `BEGIN IMMEDIATE` transaction (in its own
 *   savepoint when it has several statements, so a failing write undoes only itself) and is visible to every later call; the
 *   transaction is committed once per event-loop turn (`setImmediate`), and `sync()` resolves when
 *   the commit that covers the caller's writes is done. The gateway sends nothing before `sync()`
 *   (the port contract), so every decision taken in one turn shares one commit, i.e. one fsync.
 *   The write lock is held only from the first write of a turn to its commit. A failed COMMIT rolls
 *   the batch back and `sync()` rejects. Rejected: one autocommit per write, which made the commits
 *   ~75% of gateway CPU under load (issue 5's profile; docs/benchmarks.md).
 * - **`synchronous = FULL` by default.** The gateway acknowledges nothing to a device before the
 *   write commits, so a commit must survive power loss, not only a process crash (NORMAL in WAL
 *   mode may lose the last commits on power loss). Measured with `bench/insert.ts` (2-core VM,
 *   ext4): 10,000 inserts, one commit each, take ~3.0 s with FULL (~0.3 ms per commit, up to
 *   ~0.6 ms on a cold run) against ~1.1 s with NORMAL (~0.11 ms); with group commit the cost is
 *   paid once per batch, not per write. NORMAL stays available as an option.
 * - **The fsync off the event loop** (docs/adr/0008, update). With FULL the fsync a commit needs
 *   does not run inside COMMIT (which would block the event loop for it: ~19 % of the gateway's time
 *   under load): SQLite commits with `synchronous = NORMAL` (the WAL frames are written, not
 *   synced) and the store then fsyncs the WAL file on libuv's thread pool; the batch's `sync()`
 *   resolves only after that fsync, so nothing is acknowledged before its commit is on disk, as
 *   with SQLite's own FULL ("the WAL file is synchronized after each transaction commit").
 *   Checkpoints still sync the WAL before and the database file after copying (NORMAL does).
 *   A failed fsync cannot be undone (the transaction is committed in SQLite's view): the store then
 *   refuses every later write and sync with `IO`, and the gateway must be restarted (PostgreSQL's lesson from
 *   its fsync errors: never retry an fsync). Option `fsync: 'in-commit'` keeps SQLite's own FULL.
 * - **Invariants in the schema**: both uniqueness keys are constraints and a trigger refuses a
 *   tombstoned Registration ID, so an admin tool writing the file cannot break them either.
 * - **Messages in the same file and transaction.** `messages` is the `MessageStore` of issue 12
 *   (src/sqlite-message-store.ts) over this connection: its writes join the same batch and commit,
 *   so this store's `sync()` makes registrations and messages durable together.
 */
import { closeSync, existsSync, fsync as fsyncFile, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import {
  RegistrationStoreError,
  checkPageLimit,
  type ApplicationId,
  type GatewayDeregistrationCause,
  type Layer2Id,
  type LinkId,
  type MessageStore,
  type Registration,
  type RegistrationFilter,
  type RegistrationId,
  type RegistrationState,
  type RegistrationStore,
  type StateLinkCount,
  type Tombstone,
  type UeServiceId,
} from '@msgin5g/core';
import { classifySqliteError } from './classify-sqlite-error';
import { READABLE_FROM_SCHEMA_VERSION, assertKnownVersion, migrate, schemaVersion } from './migrations';
import type { ReadOnlyRegistrationStore } from './read-only-registration-store';
import { SqliteMessageStore } from './sqlite-message-store';
import {
  registrationParams,
  rowToRegistration,
  rowToTombstone,
  tombstoneParams,
  type RegistrationParams,
  type RegistrationRow,
  type TombstoneParams,
  type TombstoneRow,
} from './rows';

/** SQLite `PRAGMA synchronous` levels offered. NORMAL (WAL): survives a process crash. FULL: also power loss. */
export type SqliteSynchronous = 'NORMAL' | 'FULL';
const SYNCHRONOUS_LEVELS: readonly SqliteSynchronous[] = ['NORMAL', 'FULL'];

/** Options of {@link SqliteRegistrationStore.open}. */
export interface SqliteRegistrationStoreOptions {
  /**
   * How long one statement waits for a lock held by another connection before rejecting with
   * `BUSY`, in ms (integer 0..10000, default 100). The event loop is blocked for that long.
   */
  readonly busyTimeoutMs?: number;
  /** Durability of each commit (default `FULL`). Ignored for `:memory:`. */
  readonly synchronous?: SqliteSynchronous;
  /**
   * With `synchronous` FULL, where the fsync of a commit runs: `off-loop` (default) on libuv's thread
   * pool after the COMMIT, `sync()` resolving once it is done; `in-commit` inside the COMMIT
   * statement (SQLite's own `synchronous = FULL`), blocking the event loop for it. Same durability.
   */
  readonly fsync?: SqliteFsync;
  /**
   * The fsync used by `fsync: 'off-loop'` (default `node:fs` `fsync`, run on the thread pool); a
   * test seam to hold or fail it.
   */
  readonly fsyncFile?: (fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => void;
  /**
   * Told of every group commit, for metrics (the gateway turns it into histograms): synchronous,
   * must be cheap and must not throw (a throw is swallowed). Default: none.
   */
  readonly onCommit?: (commit: SqliteCommit) => void;
}

/** Where a FULL store's fsync runs (see {@link SqliteRegistrationStoreOptions.fsync}). */
export type SqliteFsync = 'off-loop' | 'in-commit';
const FSYNC_PLACES: readonly SqliteFsync[] = ['off-loop', 'in-commit'];

/** One group commit, as {@link SqliteRegistrationStoreOptions.onCommit} reports it. */
export interface SqliteCommit {
  /** Wall time from the COMMIT statement to the commit being durable (its fsync, in or off the loop), seconds. */
  readonly seconds: number;
  /** Writes in the batch (store calls that wrote, the message store's included: insert, transition, remove, purge, enqueueDownlink, …), ≥ 1. */
  readonly writes: number;
  /** false when the COMMIT failed and the batch was rolled back. */
  readonly committed: boolean;
}

/** Default `busyTimeoutMs`. */
export const DEFAULT_BUSY_TIMEOUT_MS = 100;
/** Longest window in which writes fail fast after a BUSY write, ms (see the write backoff). */
export const MAX_WRITE_BACKOFF_MS = 1000;
/** Default `synchronous`. */
export const DEFAULT_SYNCHRONOUS: SqliteSynchronous = 'FULL';
const MAX_BUSY_TIMEOUT_MS = 10_000;

const MEMORY = ':memory:';
const REGISTRATION_COLUMNS = 'registration_id, application_id, layer2_id, link, ue_service_id, state, created_at, updated_at, expires_at, deregistration_cause';
const TOMBSTONE_COLUMNS = 'registration_id, application_id, layer2_id, link, response, expires_at';

/** Parameters of the page statements; `null` = no filter on that column, `after` '' = from the first. */
interface PageParams {
  readonly after: string;
  readonly link: string | null;
  readonly state: string | null;
  readonly applicationId: number | null;
  readonly limit: number;
}

/** Every statement the store runs, prepared once at open. */
interface Statements {
  readonly insert: Database.Statement<[RegistrationParams]>;
  readonly get: Database.Statement<[string], RegistrationRow>;
  readonly findByDevice: Database.Statement<[string, string, number], RegistrationRow>;
  readonly findByApplicationId: Database.Statement<[number], RegistrationRow>;
  readonly findByLayer2Id: Database.Statement<[string, string], RegistrationRow>;
  readonly findByUeServiceId: Database.Statement<[string], RegistrationRow>;
  readonly transition: Database.Statement<[{ id: string; from: string; to: string; now: number; cause: string | null }], RegistrationRow>;
  readonly delete: Database.Statement<[string], RegistrationRow>;
  readonly insertTombstone: Database.Statement<[TombstoneParams]>;
  readonly getTombstone: Database.Statement<[string, number], TombstoneRow>;
  readonly purgeTombstones: Database.Statement<[number]>;
  readonly listAll: Database.Statement<[], RegistrationRow>;
  readonly listStates: Database.Statement<[string], RegistrationRow>;
  readonly page: Database.Statement<[PageParams], RegistrationRow>;
  readonly pageByApplicationId: Database.Statement<[PageParams], RegistrationRow>;
  readonly count: Database.Statement<[], number>;
  readonly countByStateAndLink: Database.Statement<[], { state: string; link: string; count: number }>;
  readonly refreshExpiry: Database.Statement<[{ id: string; expiresAt: number; now: number }], RegistrationRow>;
  readonly dueExpiries: Database.Statement<[number, number], RegistrationRow>;
  readonly nextExpiry: Database.Statement<[], number | null>;
  readonly begin: Database.Statement<[]>;
  readonly commit: Database.Statement<[]>;
}

function prepareStatements(db: Database.Database): Statements {
  return {
    insert: db.prepare<[RegistrationParams]>(
      `INSERT INTO registrations (${REGISTRATION_COLUMNS})
       VALUES (@registration_id, @application_id, @layer2_id, @link, @ue_service_id, @state, @created_at, @updated_at, @expires_at, @deregistration_cause)`,
    ),
    get: db.prepare<[string], RegistrationRow>(`SELECT ${REGISTRATION_COLUMNS} FROM registrations WHERE registration_id = ?`),
    findByDevice: db.prepare<[string, string, number], RegistrationRow>(
      `SELECT ${REGISTRATION_COLUMNS} FROM registrations WHERE link = ? AND layer2_id = ? AND application_id = ?`,
    ),
    findByApplicationId: db.prepare<[number], RegistrationRow>(
      `SELECT ${REGISTRATION_COLUMNS} FROM registrations WHERE application_id = ? ORDER BY created_at, rowid`,
    ),
    findByLayer2Id: db.prepare<[string, string], RegistrationRow>(
      `SELECT ${REGISTRATION_COLUMNS} FROM registrations WHERE link = ? AND layer2_id = ? ORDER BY created_at, rowid`,
    ),
    findByUeServiceId: db.prepare<[string], RegistrationRow>(`SELECT ${REGISTRATION_COLUMNS} FROM registrations WHERE ue_service_id = ? LIMIT 1`),
    transition: db.prepare<[{ id: string; from: string; to: string; now: number; cause: string | null }], RegistrationRow>(
      `UPDATE registrations SET state = @to, updated_at = @now, deregistration_cause = CASE WHEN @to = 'DEREGISTERING' THEN @cause ELSE NULL END
       WHERE registration_id = @id AND state = @from
       RETURNING ${REGISTRATION_COLUMNS}`,
    ),
    delete: db.prepare<[string], RegistrationRow>(`DELETE FROM registrations WHERE registration_id = ? RETURNING ${REGISTRATION_COLUMNS}`),
    insertTombstone: db.prepare<[TombstoneParams]>(
      `INSERT INTO tombstones (${TOMBSTONE_COLUMNS})
       VALUES (@registration_id, @application_id, @layer2_id, @link, @response, @expires_at)`,
    ),
    getTombstone: db.prepare<[string, number], TombstoneRow>(
      `SELECT ${TOMBSTONE_COLUMNS} FROM tombstones WHERE registration_id = ? AND expires_at > ?`,
    ),
    purgeTombstones: db.prepare<[number]>('DELETE FROM tombstones WHERE expires_at <= ?'),
    listAll: db.prepare<[], RegistrationRow>(`SELECT ${REGISTRATION_COLUMNS} FROM registrations ORDER BY created_at, rowid`),
    // One statement for any set of states: the states travel as a JSON array.
    listStates: db.prepare<[string], RegistrationRow>(
      `SELECT ${REGISTRATION_COLUMNS} FROM registrations
       WHERE state IN (SELECT value FROM json_each(?)) ORDER BY created_at, rowid`,
    ),
    // A page walks the primary-key index from the cursor and stops after `limit` matches; it never
    // reads the records before the cursor nor sorts. Unset filters are NULL. With an Application ID
    // the index on application_id finds the few records of that ID instead (then sorted).
    page: db.prepare<[PageParams], RegistrationRow>(
      `SELECT ${REGISTRATION_COLUMNS} FROM registrations
       WHERE registration_id > @after
         AND (@link IS NULL OR link = @link) AND (@state IS NULL OR state = @state)
       ORDER BY registration_id LIMIT @limit`,
    ),
    pageByApplicationId: db.prepare<[PageParams], RegistrationRow>(
      `SELECT ${REGISTRATION_COLUMNS} FROM registrations INDEXED BY registrations_application_id
       WHERE application_id = @applicationId AND registration_id > @after
         AND (@link IS NULL OR link = @link) AND (@state IS NULL OR state = @state)
       ORDER BY registration_id LIMIT @limit`,
    ),
    count: db.prepare<[], number>('SELECT count(*) FROM registrations').pluck(),
    countByStateAndLink: db.prepare<[], { state: string; link: string; count: number }>('SELECT state, link, count(*) AS count FROM registrations GROUP BY state, link'),
    refreshExpiry: db.prepare<[{ id: string; expiresAt: number; now: number }], RegistrationRow>(
      `UPDATE registrations SET expires_at = @expiresAt, updated_at = @now
       WHERE registration_id = @id AND state = 'REGISTERED'
       RETURNING ${REGISTRATION_COLUMNS}`,
    ),
    // Both on the index registrations_expires_at (state, expires_at): a range read in order, no sort.
    dueExpiries: db.prepare<[number, number], RegistrationRow>(
      `SELECT ${REGISTRATION_COLUMNS} FROM registrations
       WHERE state = 'REGISTERED' AND expires_at <= ? ORDER BY expires_at, rowid LIMIT ?`,
    ),
    nextExpiry: db.prepare<[], number | null>("SELECT min(expires_at) FROM registrations WHERE state = 'REGISTERED'").pluck(),
    // IMMEDIATE: take the write lock at BEGIN, where the busy timeout applies, never half-way through.
    begin: db.prepare<[]>('BEGIN IMMEDIATE'),
    commit: db.prepare<[]>('COMMIT'),
  };
}

/**
 * `RegistrationStore` on one SQLite file (or `:memory:`). Build with {@link SqliteRegistrationStore.open}.
 * Every method rejects with {@link RegistrationStoreError}: `DUPLICATE` (either uniqueness key, or a
 * tombstoned Registration ID), `BUSY` (another connection held the write lock for `busyTimeoutMs`),
 * `IO` (any other storage failure, or a corrupt row), `CLOSED` (after {@link close}).
 */
export class SqliteRegistrationStore implements RegistrationStore {
  private readonly statements: Statements;
  /**
   * Write backoff (case C12). better-sqlite3 is synchronous: a write that meets another process's
   * lock blocks the event loop for the whole busy timeout. After one BUSY write, further writes
   * fail fast with BUSY for a backoff window (doubling from the busy timeout up to
   * MAX_WRITE_BACKOFF_MS), so a burst of requests against a locked file costs one busy timeout per
   * window instead of one per request. Reads go on (WAL readers are not blocked by a writer).
   */
  private writeBlockedUntil = 0;
  private writeBackoffMs = 0;
  /** The open batch: writes applied since the last commit, and the promise `sync()` hands out. */
  private batch: Batch | undefined;
  private commitTimer: NodeJS.Immediate | undefined;
  /** Runs a function inside a savepoint of the open transaction (better-sqlite3 nests with SAVEPOINT). */
  private readonly inSavepoint: <T>(work: () => T) => T;
  /** Counters since open: writes applied, commits done, batches rolled back. For metrics and tests. */
  readonly stats = { writes: 0, commits: 0, rollbacks: 0 };
  /**
   * The message store (docs/wire-formats.md §5.3) over this connection, in this store's batches:
   * durable once this store's `sync()` resolves; `CLOSED` once this store is closed. Opened with
   * the store (schema version 4); on a store from {@link openReadOnly} it is not for use.
   */
  readonly messages: MessageStore;

  /** With the fsync off the loop: the WAL file's path, its descriptor once opened, and the fsync to run. */
  private readonly wal?: { readonly path: string; fd?: number; readonly fsync: NonNullable<SqliteRegistrationStoreOptions['fsyncFile']> };
  /** Settles when the latest commit is durable (its off-loop fsync done); rejects if that failed. */
  private lastDurable: Promise<void> = Promise.resolve();
  /** Set by a failed off-loop fsync: the store refuses every later call with it. */
  private durabilityLost?: RegistrationStoreError;

  private constructor(
    private readonly db: Database.Database,
    private readonly busyTimeoutMs: number = DEFAULT_BUSY_TIMEOUT_MS,
    private readonly onCommit?: (commit: SqliteCommit) => void,
    wal?: { readonly path: string; readonly fsync: NonNullable<SqliteRegistrationStoreOptions['fsyncFile']> },
  ) {
    if (wal !== undefined) this.wal = { ...wal };
    this.statements = prepareStatements(db);
    const savepoint = db.transaction((work: () => unknown) => work());
    this.inSavepoint = <T>(work: () => T): T => savepoint(work) as T;
    this.messages = new SqliteMessageStore({
      db,
      run: (operation, work) => this.run(operation, work),
      runWrite: (operation, work, multiStatement) => this.runWrite(operation, work, multiStatement),
    });
  }

  /**
   * Opens (creating if needed) the store at `path`, or an in-memory one for `':memory:'`.
   * For a file: creates missing parent directories, switches to WAL, and migrates the schema to the
   * latest version in one transaction.
   *
   * @param path file path, relative to the working directory, or `':memory:'`.
   * @throws RegistrationStoreError `IO` if the file cannot be opened or created, is not a SQLite
   *   database, or has a schema version newer than this code knows; `BUSY` if another process holds
   *   the write lock while a migration is needed.
   * @throws RangeError on an invalid option.
   * Synchronous (better-sqlite3 opens synchronously): it throws rather than rejects.
   */
  static open(path: string, options: SqliteRegistrationStoreOptions = {}): SqliteRegistrationStore {
    const busyTimeoutMs = checkBusyTimeout(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
    const synchronous = options.synchronous ?? DEFAULT_SYNCHRONOUS;
    if (!SYNCHRONOUS_LEVELS.includes(synchronous)) {
      throw new RangeError(`synchronous must be one of ${SYNCHRONOUS_LEVELS.join(', ')}, got ${String(synchronous)}`);
    }
    const fsyncPlace = options.fsync ?? 'off-loop';
    if (!FSYNC_PLACES.includes(fsyncPlace)) throw new RangeError(`fsync must be one of ${FSYNC_PLACES.join(', ')}, got ${String(fsyncPlace)}`);
    const memory = path === MEMORY;
    const offLoop = !memory && synchronous === 'FULL' && fsyncPlace === 'off-loop';
    return withDatabase(path, 'open', () => {
      if (!memory) makeParentDirectories(dirname(resolve(path)));
      return new Database(path, { timeout: busyTimeoutMs });
    }, (db) => {
      // Refuse a newer file before touching it (switching to WAL rewrites its header).
      assertKnownVersion(schemaVersion(db), path);
      if (!memory) {
        const mode = db.pragma('journal_mode = WAL', { simple: true });
        if (mode !== 'wal') throw new RegistrationStoreError('IO', `open ${path}: cannot switch to WAL journal mode (got ${String(mode)})`);
        // Off the loop: SQLite writes the WAL frames (NORMAL) and the store syncs them (see above).
        db.pragma(`synchronous = ${offLoop ? 'NORMAL' : synchronous}`);
      }
      db.pragma('foreign_keys = ON');
      migrate(db, path);
      const wal = offLoop ? { path: `${resolve(path)}-wal`, fsync: options.fsyncFile ?? fsyncFile } : undefined;
      return new SqliteRegistrationStore(db, busyTimeoutMs, options.onCommit, wal);
    });
  }

  /**
   * Opens an existing store file for reading only (admin commands), even while a gateway writes it.
   * Nothing is created or migrated.
   *
   * @throws RegistrationStoreError `IO` if the file does not exist, is not a store, or its schema
   *   version is newer than this code or older than {@link READABLE_FROM_SCHEMA_VERSION} (start the
   *   gateway once to migrate it). Versions before 3 lack columns every read returns.
   */
  static openReadOnly(path: string, options: Pick<SqliteRegistrationStoreOptions, 'busyTimeoutMs'> = {}): ReadOnlyRegistrationStore {
    const busyTimeoutMs = checkBusyTimeout(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
    return withDatabase(path, 'open read-only', () => new Database(path, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs }), (db) => {
      const version = schemaVersion(db);
      assertKnownVersion(version, path);
      if (version < READABLE_FROM_SCHEMA_VERSION) {
        throw new RegistrationStoreError(
          'IO',
          `registration store ${path} has schema version ${version}, older than ${READABLE_FROM_SCHEMA_VERSION}; open it with the gateway once to migrate it`,
        );
      }
      return new SqliteRegistrationStore(db);
    });
  }

  /** @throws RegistrationStoreError `DUPLICATE`, `BUSY`, `IO`, `CLOSED`. */
  async insert(registration: Registration): Promise<Registration> {
    return this.runWrite('insert', () => {
      // One statement; the tombstone check is a trigger inside it.
      this.statements.insert.run(registrationParams(registration));
      return registration;
    });
  }

  async get(registrationId: RegistrationId): Promise<Registration | undefined> {
    return this.run('get', () => optional(this.statements.get.get(registrationId), rowToRegistration));
  }

  async findByDevice(link: LinkId, layer2Id: Layer2Id, applicationId: ApplicationId): Promise<Registration | undefined> {
    return this.run('findByDevice', () => optional(this.statements.findByDevice.get(link, layer2Id, applicationId), rowToRegistration));
  }

  async findByApplicationId(applicationId: ApplicationId): Promise<Registration[]> {
    return this.run('findByApplicationId', () => this.statements.findByApplicationId.all(applicationId).map(rowToRegistration));
  }

  async findByLayer2Id(link: LinkId, layer2Id: Layer2Id): Promise<Registration[]> {
    return this.run('findByLayer2Id', () => this.statements.findByLayer2Id.all(link, layer2Id).map(rowToRegistration));
  }

  async findByUeServiceId(ueServiceId: UeServiceId): Promise<Registration | undefined> {
    return this.run('findByUeServiceId', () => optional(this.statements.findByUeServiceId.get(ueServiceId), rowToRegistration));
  }

  /** Compare-and-set in one `UPDATE … WHERE state = from RETURNING`; `now` in ms since the epoch. */
  async transition(registrationId: RegistrationId, from: RegistrationState, to: RegistrationState, now: number, cause?: GatewayDeregistrationCause): Promise<Registration | undefined> {
    return this.runWrite('transition', () =>
      optional(this.statements.transition.get({ id: registrationId, from, to, now, cause: cause ?? null }), rowToRegistration),
    );
  }

  /**
   * Deletes the record and, when given, writes `tombstone`, as one write (one savepoint).
   * Nothing is written when the record does not exist.
   * @throws TypeError if `tombstone` names another Registration ID (a caller bug).
   */
  async remove(registrationId: RegistrationId, tombstone?: Tombstone): Promise<Registration | undefined> {
    if (tombstone !== undefined && tombstone.registrationId !== registrationId) {
      throw new TypeError(`tombstone is for ${tombstone.registrationId}, not ${registrationId}`);
    }
    return this.runWrite('remove', () => {
      const row = this.statements.delete.get(registrationId);
      if (row !== undefined && tombstone !== undefined) this.statements.insertTombstone.run(tombstoneParams(tombstone));
      return optional(row, rowToRegistration);
    }, true);
  }

  async getTombstone(registrationId: RegistrationId, now: number): Promise<Tombstone | undefined> {
    return this.run('getTombstone', () => optional(this.statements.getTombstone.get(registrationId, now), rowToTombstone));
  }

  async purgeTombstones(now: number): Promise<number> {
    return this.runWrite('purgeTombstones', () => this.statements.purgeTombstones.run(now).changes);
  }

  async list(states?: readonly RegistrationState[]): Promise<Registration[]> {
    return this.run('list', () => {
      const rows = states === undefined ? this.statements.listAll.all() : this.statements.listStates.all(JSON.stringify(states));
      return rows.map(rowToRegistration);
    });
  }

  /**
   * One page by Registration ID (the port's contract): an index range scan from `after`.
   * @throws RangeError on a bad `limit`; RegistrationStoreError `IO`, `CLOSED`.
   */
  async page(filter: RegistrationFilter, after: RegistrationId | undefined, limit: number): Promise<Registration[]> {
    checkPageLimit(limit);
    const params: PageParams = { after: after ?? '', link: filter.link ?? null, state: filter.state ?? null, applicationId: filter.applicationId ?? null, limit };
    return this.run('page', () => (filter.applicationId === undefined ? this.statements.page : this.statements.pageByApplicationId).all(params).map(rowToRegistration));
  }

  async count(): Promise<number> {
    return this.run('count', () => this.statements.count.get() ?? 0);
  }

  /** Records per (state, link instance): one GROUP BY over the table. @throws RegistrationStoreError `IO`, `CLOSED`. */
  async countByStateAndLink(): Promise<StateLinkCount[]> {
    return this.run('countByStateAndLink', () =>
      this.statements.countByStateAndLink.all().map((row) => ({ state: row.state as RegistrationState, link: row.link as LinkId, count: row.count })),
    );
  }

  /** One `UPDATE … WHERE state = 'REGISTERED' RETURNING`. @throws RegistrationStoreError `BUSY`, `IO`, `CLOSED`. */
  async refreshExpiry(registrationId: RegistrationId, expiresAt: number, now: number): Promise<Registration | undefined> {
    return this.runWrite('refreshExpiry', () => optional(this.statements.refreshExpiry.get({ id: registrationId, expiresAt, now }), rowToRegistration));
  }

  /** A range of the index `registrations_expires_at`, in order. @throws RangeError when `limit` < 1; RegistrationStoreError `IO`, `CLOSED`. */
  async dueExpiries(now: number, limit: number): Promise<Registration[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    return this.run('dueExpiries', () => this.statements.dueExpiries.all(now, limit).map(rowToRegistration));
  }

  /** `min(expires_at)` of REGISTERED records: one probe of the index `registrations_expires_at`. */
  async nextExpiry(): Promise<number | undefined> {
    return this.run('nextExpiry', () => this.statements.nextExpiry.get() ?? undefined);
  }

  /**
   * Resolves when every write applied before the call is committed (the commit runs at the end of
   * the current event-loop turn, shared by every write of that turn).
   * @throws RegistrationStoreError `BUSY`/`IO` if the COMMIT failed (the batch is rolled back), `CLOSED`.
   */
  async sync(): Promise<void> {
    if (!this.db.open) throw new RegistrationStoreError('CLOSED', 'sync: store is closed');
    if (this.durabilityLost !== undefined) throw this.durabilityLost;
    // The open batch settles after its own fsync; without one, the latest commit's fsync may still run.
    await (this.batch !== undefined ? this.batch.done : this.lastDurable);
  }

  /** Commits pending writes, then closes the connection (checkpointing the WAL). Idempotent; later calls reject with `CLOSED`. */
  async close(): Promise<void> {
    if (!this.db.open) return;
    const lastCommitError = this.commitBatch();
    let durabilityError: unknown;
    try {
      await this.lastDurable;
    } catch (err) {
      durabilityError = err;
    }
    if (!this.db.open) return; // closed by a concurrent close() while the fsync ran
    try {
      this.db.close();
    } catch (err) {
      throw classifySqliteError(err, { open: true }, 'close');
    } finally {
      if (this.wal?.fd !== undefined) closeSync(this.wal.fd);
    }
    // As sync() would: pending writes that could not be made durable are reported, not hidden.
    if (lastCommitError !== undefined) throw lastCommitError;
    if (durabilityError !== undefined) throw durabilityError;
  }

  /**
   * Like {@link run} for a write: opens the batch's transaction if none is open (with the write
   * backoff after BUSY), then applies `work`. A write of one statement needs nothing more (a failing
   * statement undoes itself and leaves the transaction open); a write of several statements passes
   * `multiStatement` and runs in its own savepoint, so it is undone whole.
   */
  private runWrite<T>(operation: string, work: () => T, multiStatement = false): T {
    if (this.durabilityLost !== undefined) throw this.durabilityLost;
    if (this.db.open && !this.db.inTransaction && Date.now() < this.writeBlockedUntil) {
      throw new RegistrationStoreError('BUSY', `${operation}: the store file is locked by another connection; backing off for ${this.writeBackoffMs} ms`);
    }
    try {
      const result = this.run(operation, () => {
        if (this.batch === undefined || !this.db.inTransaction) this.beginBatch();
        return multiStatement ? this.inSavepoint(work) : work();
      });
      this.writeBackoffMs = 0;
      this.stats.writes++;
      if (this.batch !== undefined) this.batch.writes++;
      return result;
    } catch (err) {
      if (err instanceof RegistrationStoreError && err.reason === 'BUSY') {
        this.writeBackoffMs = Math.min(MAX_WRITE_BACKOFF_MS, Math.max(this.busyTimeoutMs, 50, this.writeBackoffMs * 2));
        this.writeBlockedUntil = Date.now() + this.writeBackoffMs;
      }
      throw err;
    }
  }

  /** Opens the write transaction of a new batch and schedules its commit for the end of this turn. */
  private beginBatch(): void {
    if (this.batch === undefined && this.db.inTransaction) {
      // A transaction no batch owns: a COMMIT failed and so did its ROLLBACK. Never write into it
      // (nothing would commit it, and sync() would see no batch): roll it back now or refuse.
      this.db.exec('ROLLBACK');
    }
    if (this.batch !== undefined) {
      // A batch is pending but no transaction is open: SQLite rolled it back on its own after an
      // error (SQLITE_FULL, SQLITE_IOERR, …). Its writes are gone; whoever syncs on it must hear so.
      if (this.commitTimer !== undefined) clearImmediate(this.commitTimer);
      this.commitTimer = undefined;
      this.stats.rollbacks++;
      this.batch.reject(new RegistrationStoreError('IO', 'the batch was rolled back by SQLite after an error; its writes are undone'));
      this.batch = undefined;
    }
    this.statements.begin.run();
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Nobody may be waiting on this batch; its failure is still reported to whoever syncs.
    done.catch(() => undefined);
    this.batch = { done, resolve, reject, writes: 0 };
    this.commitTimer = setImmediate(() => this.commitBatch());
  }

  /**
   * Commits the open batch (synchronously) and settles its `sync()` promise. Never throws; returns
   * the error the batch was rejected with, if it was.
   */
  private commitBatch(): RegistrationStoreError | undefined {
    if (this.commitTimer !== undefined) clearImmediate(this.commitTimer);
    this.commitTimer = undefined;
    const batch = this.batch;
    this.batch = undefined;
    if (batch === undefined) return undefined;
    if (!this.db.open || !this.db.inTransaction) {
      const lost = new RegistrationStoreError('IO', 'commit: the batch transaction is no longer open');
      batch.reject(lost);
      return lost;
    }
    const startedAt = this.onCommit === undefined ? 0 : performance.now();
    try {
      this.statements.commit.run();
      this.stats.commits++;
      if (this.wal === undefined) {
        this.reportCommit(startedAt, batch.writes, true);
        batch.resolve();
        return undefined;
      }
      // Committed and written; durable once the WAL file's fsync (thread pool) is done.
      const durable = this.syncWal(this.wal);
      this.lastDurable = durable;
      durable.then(
        () => {
          this.reportCommit(startedAt, batch.writes, true);
          batch.resolve();
        },
        (err: unknown) => {
          this.reportCommit(startedAt, batch.writes, false);
          batch.reject(err);
        },
      );
      return undefined;
    } catch (err) {
      this.stats.rollbacks++;
      this.reportCommit(startedAt, batch.writes, false);
      try {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
      } catch {
        // Left open; the next write rolls it back before it begins a batch (beginBatch).
      }
      const failed = classifySqliteError(err, this.db, 'commit');
      batch.reject(failed);
      return failed;
    }
  }

  /**
   * fsyncs the WAL file on the thread pool (opening it, and syncing its directory, the first time).
   * Resolves when done; a failure rejects with `IO` and leaves the store refusing every later write and sync
   * (a committed transaction cannot be undone, and an fsync must not be retried).
   */
  private syncWal(wal: NonNullable<SqliteRegistrationStore['wal']>): Promise<void> {
    if (this.durabilityLost !== undefined) return Promise.reject(this.durabilityLost);
    const lost = (what: string, err: unknown): RegistrationStoreError => {
      const code = (err as NodeJS.ErrnoException | null)?.code ?? String(err);
      this.durabilityLost ??= new RegistrationStoreError('IO', `${what} failed (${code}): the last commits may not be on disk; the store takes no more writes, restart the gateway`, { cause: err });
      return this.durabilityLost;
    };
    try {
      if (wal.fd === undefined) {
        wal.fd = openSync(wal.path, 'r');
        // The WAL file was created by this connection: make its directory entry durable too.
        const dir = openSync(dirname(wal.path), 'r');
        try {
          fsyncSync(dir);
        } finally {
          closeSync(dir);
        }
      }
    } catch (err) {
      return Promise.reject(lost(`opening the WAL file ${wal.path}`, err));
    }
    const fd = wal.fd;
    const done = new Promise<void>((resolvePromise, rejectPromise) => {
      wal.fsync(fd, (err) => (err === null || err === undefined ? resolvePromise() : rejectPromise(lost(`fsync of the WAL file ${wal.path}`, err))));
    });
    done.catch(() => undefined); // reported through the batch and sync(); never unhandled
    return done;
  }

  /** Tells `onCommit` (if any) of a commit that began at `startedAt` (`performance.now()`, ms). */
  private reportCommit(startedAt: number, writes: number, committed: boolean): void {
    if (this.onCommit === undefined) return;
    try {
      this.onCommit({ seconds: (performance.now() - startedAt) / 1000, writes, committed });
    } catch {
      // A metrics bug must not fail a commit.
    }
  }

  /** Runs `work` synchronously, classifying whatever it throws. */
  private run<T>(operation: string, work: () => T): T {
    if (!this.db.open) throw new RegistrationStoreError('CLOSED', `${operation}: store is closed`);
    try {
      return work();
    } catch (err) {
      throw classifySqliteError(err, this.db, operation);
    }
  }
}

interface Batch {
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  /** Writes applied in this batch. */
  writes: number;
}

function optional<R, T>(row: R | undefined, convert: (row: R) => T): T | undefined {
  return row === undefined ? undefined : convert(row);
}

/**
 * `mkdir -p`, one level at a time. Not `mkdirSync(…, { recursive: true })`: under a pseudo file
 * system that refuses mkdir with ENOENT (`/proc/x/y`), Node 20's recursive mkdir loops forever at
 * 100% CPU; here the first refused level throws (classified `IO` by the caller).
 */
function makeParentDirectories(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; missing.length < 256 && !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) mkdirSync(d);
}

function checkBusyTimeout(ms: number): number {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_BUSY_TIMEOUT_MS) {
    throw new RangeError(`busyTimeoutMs must be an integer 0..${MAX_BUSY_TIMEOUT_MS}, got ${ms}`);
  }
  return ms;
}

/**
 * Opens a connection with `connect`, then runs `setUp` on it; if anything fails the connection is
 * closed and the error classified (as a failure to open, never as `CLOSED`).
 */
function withDatabase<T>(path: string, operation: string, connect: () => Database.Database, setUp: (db: Database.Database) => T): T {
  let db: Database.Database | undefined;
  try {
    db = connect();
    return setUp(db);
  } catch (err) {
    if (db?.open) db.close();
    throw classifySqliteError(err, { open: true }, `${operation} ${path}`);
  }
}
