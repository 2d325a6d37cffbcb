// The fsync off the event loop (src/sqlite-registration-store.ts, docs/adr/0008 update): with
// synchronous FULL, SQLite commits with NORMAL and the store fsyncs the WAL file on the thread pool;
// sync() must not resolve before that fsync is done, a failed fsync must stop the store, and
// `fsync: 'in-commit'` keeps SQLite's own FULL.
import Database from 'better-sqlite3';
import { fsync, statSync } from 'node:fs';
import { RegistrationStoreError } from '@msgin5g/core';
import { sampleRegistration } from '@msgin5g/core/testing';
import { SqliteRegistrationStore, type SqliteCommit } from '../src';
import { makeTempDir, type TempDir } from './temp-dir';

type Callback = (err: NodeJS.ErrnoException | null) => void;

/** An fsync the test releases by hand (or fails), recording the descriptors it was given. */
function heldFsync() {
  const pending: Array<{ fd: number; done: Callback }> = [];
  return {
    pending,
    fsyncFile: (fd: number, done: Callback) => void pending.push({ fd, done }),
    releaseAll(err: NodeJS.ErrnoException | null = null) {
      for (const p of pending.splice(0)) p.done(err);
    },
  };
}

/** Whether `p` settles within a few event-loop turns. */
async function settlesSoon(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return settled;
}

describe('SqliteRegistrationStore: the WAL fsync off the event loop (synchronous FULL)', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => {
    dir.remove();
  });

  it('sync() resolves only after the WAL file was fsynced; the commit itself is already written', async () => {
    const file = dir.file('held.db');
    const held = heldFsync();
    const commits: SqliteCommit[] = [];
    const store = SqliteRegistrationStore.open(file, { fsyncFile: held.fsyncFile, onCommit: (c) => commits.push(c) });
    const reader = SqliteRegistrationStore.openReadOnly(file);
    try {
      await store.insert(sampleRegistration(1));
      const synced = store.sync();
      expect(await settlesSoon(synced)).toBe(false);
      // Committed (another connection sees it) but not acknowledged: the fsync is still held.
      await expect(reader.count()).resolves.toBe(1);
      expect(held.pending).toHaveLength(1);
      expect(statSync(`${file}-wal`).ino).toBeGreaterThan(0);
      expect(commits).toEqual([]);
      // A later sync() with no open batch waits for that same fsync.
      const again = store.sync();
      expect(await settlesSoon(again)).toBe(false);
      held.releaseAll();
      await expect(synced).resolves.toBeUndefined();
      await expect(again).resolves.toBeUndefined();
      expect(commits).toEqual([{ seconds: expect.any(Number), writes: 1, committed: true }]);
    } finally {
      held.releaseAll();
      await reader.close();
      await store.close();
    }
  });

  it('fsyncs the file SQLite writes its WAL to (the descriptor names <file>-wal), with the real fsync by default', async () => {
    const file = dir.file('real.db');
    const seen: number[] = [];
    const store = SqliteRegistrationStore.open(file, { fsyncFile: (fd, done) => (seen.push(fd), fsync(fd, done)) });
    try {
      await store.insert(sampleRegistration(1));
      await store.sync();
      await store.insert(sampleRegistration(2));
      await store.sync();
      expect(seen).toHaveLength(2);
      expect(seen[0]).toBe(seen[1]); // opened once
      // The descriptor is the WAL file's (same inode).
      const { ino } = statSync(`${file}-wal`);
      const { readlinkSync } = await import('node:fs');
      expect(readlinkSync(`/proc/self/fd/${seen[0]}`)).toBe(`${file}-wal`);
      expect(ino).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
    // Reopened: the records are there (and the default store, with the real fsync, works).
    const again = SqliteRegistrationStore.open(file);
    try {
      await expect(again.count()).resolves.toBe(2);
      await again.insert(sampleRegistration(3));
      await again.sync();
    } finally {
      await again.close();
    }
  });

  it('a failed fsync rejects the batch with IO and stops the store: later writes and syncs are refused, reads still work', async () => {
    const file = dir.file('eio.db');
    const held = heldFsync();
    const store = SqliteRegistrationStore.open(file, { fsyncFile: held.fsyncFile });
    await store.insert(sampleRegistration(1));
    const synced = store.sync();
    expect(await settlesSoon(synced)).toBe(false);
    held.releaseAll(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    await expect(synced).rejects.toMatchObject({ name: 'RegistrationStoreError', reason: 'IO', message: expect.stringMatching(/fsync of the WAL file .* failed \(EIO\)/) });
    await expect(store.insert(sampleRegistration(2))).rejects.toBeInstanceOf(RegistrationStoreError);
    await expect(store.sync()).rejects.toMatchObject({ reason: 'IO' });
    await expect(store.count()).resolves.toBe(1);
    await expect(store.close()).rejects.toMatchObject({ reason: 'IO' });
  });

  it('close() waits for a pending fsync before closing', async () => {
    const file = dir.file('close.db');
    const held = heldFsync();
    const store = SqliteRegistrationStore.open(file, { fsyncFile: held.fsyncFile });
    await store.insert(sampleRegistration(1));
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    const closed = store.close();
    expect(await settlesSoon(closed)).toBe(false);
    held.releaseAll();
    await expect(closed).resolves.toBeUndefined();
  });

  it('runs SQLite at NORMAL off the loop, at FULL with fsync in-commit, and refuses another place', async () => {
    const off = SqliteRegistrationStore.open(dir.file('off.db'));
    const inCommit = SqliteRegistrationStore.open(dir.file('in.db'), { fsync: 'in-commit' });
    try {
      const pragma = (s: SqliteRegistrationStore) => (s as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true });
      expect(pragma(off)).toBe(1); // NORMAL: the store syncs the WAL itself
      expect(pragma(inCommit)).toBe(2); // FULL
    } finally {
      await off.close();
      await inCommit.close();
    }
    expect(() => SqliteRegistrationStore.open(dir.file('bad.db'), { fsync: 'never' as 'off-loop' })).toThrow(RangeError);
  });
});
