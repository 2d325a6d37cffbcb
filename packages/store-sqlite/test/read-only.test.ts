import Database from 'better-sqlite3';
import type { RegistrationStore } from '@msgin5g/core';
import { sampleRegistration } from '@msgin5g/core/testing';
import { SqliteRegistrationStore } from '../src';
import { makeTempDir, type TempDir } from './temp-dir';

describe('SqliteRegistrationStore.openReadOnly', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => {
    dir.remove();
  });

  it('reads what a running writer has committed, and later commits too', async () => {
    const file = dir.file('gateway.db');
    const writer = SqliteRegistrationStore.open(file);
    const reader = SqliteRegistrationStore.openReadOnly(file);
    try {
      await writer.insert(sampleRegistration(1));
      // Applied, not yet committed: another connection does not see it before sync().
      await expect(reader.count()).resolves.toBe(0);
      await writer.sync();
      await expect(reader.get(sampleRegistration(1).registrationId)).resolves.toEqual(sampleRegistration(1));
      await writer.insert(sampleRegistration(2, { state: 'REGISTERED' }));
      await writer.sync();
      await expect(reader.count()).resolves.toBe(2);
      await expect(reader.list(['REGISTERED'])).resolves.toEqual([sampleRegistration(2, { state: 'REGISTERED' })]);
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it('opens a closed store file and refuses to write to it (IO)', async () => {
    const file = dir.file('closed.db');
    const writer = SqliteRegistrationStore.open(file);
    await writer.insert(sampleRegistration(1));
    await writer.close();
    const reader = SqliteRegistrationStore.openReadOnly(file);
    try {
      await expect(reader.count()).resolves.toBe(1);
      // The type has no insert; a cast proves the connection itself is read-only.
      await expect((reader as unknown as RegistrationStore).insert(sampleRegistration(2))).rejects.toMatchObject({
        reason: 'IO',
        message: expect.stringContaining('SQLITE_READONLY'),
      });
    } finally {
      await reader.close();
    }
    await expect(reader.count()).rejects.toMatchObject({ reason: 'CLOSED' });
  });

  it('refuses a file of schema version 2 (columns missing) and says to migrate it with the gateway', () => {
    const old = dir.file('v2.db');
    const raw = new Database(old);
    raw.pragma('user_version = 2');
    raw.close();
    expect(() => SqliteRegistrationStore.openReadOnly(old)).toThrow(/schema version 2, older than 3; open it with the gateway once to migrate it/);
  });

  it('refuses a missing file and a file that was never migrated (IO), creating nothing', () => {
    expect(() => SqliteRegistrationStore.openReadOnly(dir.file('missing.db'))).toThrow(expect.objectContaining({ reason: 'IO' }));
    const empty = dir.file('empty.db');
    new Database(empty).close();
    expect(() => SqliteRegistrationStore.openReadOnly(empty)).toThrow(/schema version 0, older than 3;/);
  });
});
