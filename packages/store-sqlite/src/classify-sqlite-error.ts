/**
 * The one place where better-sqlite3's errors become the port's {@link RegistrationStoreError}.
 *
 * SQLite reports extended result codes as strings on `SqliteError.code` (`SQLITE_CONSTRAINT_UNIQUE`,
 * `SQLITE_BUSY_SNAPSHOT`, …); the primary code is the prefix before the second underscore.
 * We classify by primary code so a new extended code from a newer SQLite lands in the right bucket.
 *
 * @see https://www.sqlite.org/rescode.html
 */
import { RegistrationStoreError } from '@msgin5g/core';

/**
 * Extended constraint codes that mean "this key is taken": the Registration ID primary key, the
 * (link, Layer-2 ID, Application ID) unique key, and the trigger refusing a tombstoned Registration ID.
 * Other constraint failures (CHECK, NOT NULL) mean a malformed record reached the database: that is
 * not a duplicate, so they are reported as `IO` with the driver's message.
 */
const DUPLICATE_CODES: ReadonlySet<string> = new Set(['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_TRIGGER']);

/** What `classify` needs to know about the connection, so it can tell "closed" from a driver failure. */
export interface ConnectionState {
  readonly open: boolean;
}

/**
 * Maps anything thrown by better-sqlite3 to a {@link RegistrationStoreError}:
 * - connection closed → `CLOSED` (better-sqlite3 throws a `TypeError` then, not a `SqliteError`);
 * - `SQLITE_CONSTRAINT_PRIMARYKEY` / `_UNIQUE` / `_TRIGGER` → `DUPLICATE`;
 * - `SQLITE_BUSY*`, `SQLITE_LOCKED*` → `BUSY` (another connection holds the lock past `busy_timeout`);
 * - everything else → `IO`.
 * A value that is already a `RegistrationStoreError` is returned unchanged. The original error is
 * kept as `cause`.
 */
export function classifySqliteError(err: unknown, connection: ConnectionState, operation: string): RegistrationStoreError {
  if (err instanceof RegistrationStoreError) return err;
  if (!connection.open) return new RegistrationStoreError('CLOSED', `${operation}: store is closed`, { cause: err });
  const code = sqliteCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === undefined) return new RegistrationStoreError('IO', `${operation}: ${message}`, { cause: err });
  if (DUPLICATE_CODES.has(code)) return new RegistrationStoreError('DUPLICATE', `${operation}: ${message} (${code})`, { cause: err });
  const primary = primaryCode(code);
  if (primary === 'SQLITE_BUSY' || primary === 'SQLITE_LOCKED') {
    return new RegistrationStoreError('BUSY', `${operation}: database is locked by another connection (${code})`, { cause: err });
  }
  return new RegistrationStoreError('IO', `${operation}: ${message} (${code})`, { cause: err });
}

/** The `code` of a better-sqlite3 `SqliteError` (duck-typed: the class is per native binding). */
function sqliteCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** `SQLITE_BUSY_SNAPSHOT` → `SQLITE_BUSY`; `SQLITE_BUSY` → `SQLITE_BUSY`. */
function primaryCode(code: string): string {
  const second = code.indexOf('_', 'SQLITE_'.length);
  return second === -1 ? code : code.slice(0, second);
}
