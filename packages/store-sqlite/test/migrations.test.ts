import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { RegistrationStoreError } from '@msgin5g/core';
import { sampleRegistration } from '@msgin5g/core/testing';
import { LATEST_SCHEMA_VERSION, SqliteRegistrationStore } from '../src';
import { makeTempDir, type TempDir } from './temp-dir';

function userVersion(file: string): number {
  const raw = new Database(file, { readonly: true });
  try {
    return raw.pragma('user_version', { simple: true }) as number;
  } finally {
    raw.close();
  }
}

function tables(file: string): string[] {
  const raw = new Database(file, { readonly: true });
  try {
    return raw
      .prepare<[], string>("SELECT name FROM sqlite_schema WHERE type IN ('table', 'index', 'trigger') AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .pluck()
      .all();
  } finally {
    raw.close();
  }
}

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('SqliteRegistrationStore schema migrations', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => {
    dir.remove();
  });

  it('gives a fresh file schema version 1 with its tables, indexes and trigger', async () => {
    const file = dir.file('fresh.db');
    await SqliteRegistrationStore.open(file).close();
    expect(LATEST_SCHEMA_VERSION).toBe(1);
    expect(userVersion(file)).toBe(1);
    expect(tables(file)).toEqual([
      'registrations',
      'registrations_application_id',
      'registrations_not_tombstoned',
      'registrations_state',
      'tombstones',
      'tombstones_expires_at',
    ]);
  });

  it('does not migrate again on reopen and keeps the data', async () => {
    const file = dir.file('again.db');
    const first = SqliteRegistrationStore.open(file);
    await first.insert(sampleRegistration(1));
    await first.close();
    const second = SqliteRegistrationStore.open(file);
    try {
      await expect(second.count()).resolves.toBe(1);
    } finally {
      await second.close();
    }
    expect(userVersion(file)).toBe(1);
  });

  it('refuses a file written by a newer schema (user_version 99) with a clear message, and leaves it alone', () => {
    const file = dir.file('future.db');
    const raw = new Database(file);
    raw.pragma('user_version = 99');
    raw.close();
    const err = catchError(() => SqliteRegistrationStore.open(file));
    expect(err).toBeInstanceOf(RegistrationStoreError);
    expect(err).toMatchObject({ reason: 'IO' });
    expect((err as Error).message).toMatch(/schema version 99/);
    expect((err as Error).message).toMatch(/only up to version 1/);
    expect((err as Error).message).toContain(file);
    expect(userVersion(file)).toBe(99);
    expect(tables(file)).toEqual([]);
    const raw2 = new Database(file, { readonly: true });
    expect(raw2.pragma('journal_mode', { simple: true })).toBe('delete');
    raw2.close();
  });

  it('refuses a file that is not a SQLite database (IO)', () => {
    const file = dir.file('text.db');
    writeFileSync(file, 'this is not a database, just some text that is long enough to have a header'.repeat(20));
    const err = catchError(() => SqliteRegistrationStore.open(file));
    expect(err).toBeInstanceOf(RegistrationStoreError);
    expect(err).toMatchObject({ reason: 'IO' });
    expect((err as Error).message).toMatch(/SQLITE_NOTADB/);
  });

  it('rejects invalid options with RangeError', () => {
    expect(() => SqliteRegistrationStore.open(':memory:', { busyTimeoutMs: -1 })).toThrow(RangeError);
    expect(() => SqliteRegistrationStore.open(':memory:', { busyTimeoutMs: 1.5 })).toThrow(RangeError);
    expect(() => SqliteRegistrationStore.open(':memory:', { synchronous: 'OFF' as 'FULL' })).toThrow(RangeError);
  });
});

describe('SqliteRegistrationStore.open while another connection holds the write lock', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => {
    dir.remove();
  });

  it('opens an up-to-date file (no migration, no write lock needed) but cannot migrate a fresh one (BUSY)', async () => {
    const file = dir.file('locked.db');
    await SqliteRegistrationStore.open(file).close();
    const holder = new Database(file);
    holder.exec('BEGIN IMMEDIATE');
    try {
      const store = SqliteRegistrationStore.open(file, { busyTimeoutMs: 20 });
      await expect(store.count()).resolves.toBe(0);
      await expect(store.insert(sampleRegistration(1))).rejects.toMatchObject({ reason: 'BUSY' });
      await store.close();
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }

    const fresh = dir.file('fresh-locked.db');
    const holder2 = new Database(fresh);
    holder2.pragma('journal_mode = WAL');
    holder2.exec('BEGIN IMMEDIATE');
    try {
      expect(() => SqliteRegistrationStore.open(fresh, { busyTimeoutMs: 20 })).toThrow(expect.objectContaining({ reason: 'BUSY' }));
    } finally {
      holder2.exec('ROLLBACK');
      holder2.close();
    }
    await SqliteRegistrationStore.open(fresh).close();
    expect(userVersion(fresh)).toBe(1);
  });
});
