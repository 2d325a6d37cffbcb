/**
 * `@msgin5g/store-sqlite`: the `RegistrationStore` port over SQLite (better-sqlite3), with the
 * `MessageStore` port over the same connection (`SqliteRegistrationStore.messages`).
 */
export {
  SqliteRegistrationStore,
  DEFAULT_BUSY_TIMEOUT_MS,
  MAX_WRITE_BACKOFF_MS,
  DEFAULT_SYNCHRONOUS,
  type SqliteCommit,
  type SqliteRegistrationStoreOptions,
  type SqliteSynchronous,
} from './sqlite-registration-store';
export type { ReadOnlyRegistrationStore } from './read-only-registration-store';
export type { SqliteMessageStore } from './sqlite-message-store';
export { LATEST_SCHEMA_VERSION } from './migrations';
