import Database from 'better-sqlite3';
import { RegistrationStoreError, type RegistrationStoreErrorReason } from '@msgin5g/core';
import { classifySqliteError } from '../src/classify-sqlite-error';

const open = { open: true };
const sqliteError = (code: string) => new Database.SqliteError(`driver says ${code}`, code);

describe('classifySqliteError', () => {
  const cases: [string, RegistrationStoreErrorReason][] = [
    ['SQLITE_CONSTRAINT_PRIMARYKEY', 'DUPLICATE'],
    ['SQLITE_CONSTRAINT_UNIQUE', 'DUPLICATE'],
    ['SQLITE_CONSTRAINT_TRIGGER', 'DUPLICATE'],
    ['SQLITE_CONSTRAINT_CHECK', 'IO'],
    ['SQLITE_CONSTRAINT_NOTNULL', 'IO'],
    ['SQLITE_BUSY', 'BUSY'],
    ['SQLITE_BUSY_SNAPSHOT', 'BUSY'],
    ['SQLITE_BUSY_RECOVERY', 'BUSY'],
    ['SQLITE_BUSY_TIMEOUT', 'BUSY'],
    ['SQLITE_LOCKED', 'BUSY'],
    ['SQLITE_LOCKED_SHAREDCACHE', 'BUSY'],
    ['SQLITE_IOERR_FSYNC', 'IO'],
    ['SQLITE_FULL', 'IO'],
    ['SQLITE_READONLY', 'IO'],
    ['SQLITE_CORRUPT', 'IO'],
    ['SQLITE_NOTADB', 'IO'],
    ['SQLITE_CANTOPEN', 'IO'],
  ];
  it.each(cases)('%s → %s, keeping the driver error as cause', (code, reason) => {
    const cause = sqliteError(code);
    const err = classifySqliteError(cause, open, 'insert');
    expect(err).toBeInstanceOf(RegistrationStoreError);
    expect(err.reason).toBe(reason);
    expect(err.cause).toBe(cause);
    expect(err.message).toMatch(/^insert: /);
    expect(err.message).toContain(code);
  });

  it('reports CLOSED for anything thrown once the connection is closed', () => {
    const err = classifySqliteError(new TypeError('The database connection is not open'), { open: false }, 'get');
    expect(err.reason).toBe('CLOSED');
  });

  it('reports IO for errors that are not SQLite errors (e.g. mkdir failing)', () => {
    const cause = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    expect(classifySqliteError(cause, open, 'open').reason).toBe('IO');
    expect(classifySqliteError('a string', open, 'open').reason).toBe('IO');
  });

  it('returns a RegistrationStoreError unchanged', () => {
    const original = new RegistrationStoreError('IO', 'corrupt row');
    expect(classifySqliteError(original, { open: false }, 'get')).toBe(original);
  });
});
