import Database from 'better-sqlite3';
import { RegistrationStoreError } from '@msgin5g/core';
import { sampleRegistration } from '@msgin5g/core/testing';
import { SqliteRegistrationStore, type SqliteCommit } from '../src';
import { makeTempDir, type TempDir } from './temp-dir';

const T0 = 1_800_000_000_000;

describe('SqliteRegistrationStore group commit', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => {
    dir.remove();
  });

  it('commits every write applied in one event-loop turn with one COMMIT, and sync() waits for it', async () => {
    const file = dir.file('batch.db');
    const store = SqliteRegistrationStore.open(file);
    const reader = SqliteRegistrationStore.openReadOnly(file);
    try {
      const writes: Promise<unknown>[] = [];
      for (let i = 1; i <= 200; i++) writes.push(store.insert(sampleRegistration(i)));
      for (let i = 1; i <= 200; i += 2) writes.push(store.transition(sampleRegistration(i).registrationId, 'REGISTERING', 'REGISTERED', T0 + 5));
      await Promise.all(writes);
      // Applied: this connection sees them; the reader does not until the commit.
      await expect(store.count()).resolves.toBe(200);
      await expect(reader.count()).resolves.toBe(0);
      expect(store.stats.commits).toBe(0);
      await store.sync();
      expect(store.stats).toEqual({ writes: 300, commits: 1, rollbacks: 0 });
      await expect(reader.count()).resolves.toBe(200);
      await expect(reader.list(['REGISTERED'])).resolves.toHaveLength(100);
      // Nothing pending: sync() resolves without another commit.
      await store.sync();
      expect(store.stats.commits).toBe(1);
    } finally {
      await reader.close();
      await store.close();
    }
  });

  it('commits by itself at the end of the turn, without anyone calling sync()', async () => {
    const file = dir.file('auto.db');
    const store = SqliteRegistrationStore.open(file);
    const reader = SqliteRegistrationStore.openReadOnly(file);
    try {
      await store.insert(sampleRegistration(1));
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(store.stats.commits).toBe(1);
      await expect(reader.count()).resolves.toBe(1);
    } finally {
      await reader.close();
      await store.close();
    }
  });

  it('writes of successive turns go into successive batches', async () => {
    const store = SqliteRegistrationStore.open(dir.file('turns.db'));
    try {
      for (let i = 1; i <= 5; i++) {
        await store.insert(sampleRegistration(i));
        await store.sync();
      }
      expect(store.stats.commits).toBe(5);
    } finally {
      await store.close();
    }
  });

  it('close() commits what is pending', async () => {
    const file = dir.file('close.db');
    const store = SqliteRegistrationStore.open(file);
    await store.insert(sampleRegistration(1));
    await store.close();
    const again = SqliteRegistrationStore.open(file);
    try {
      await expect(again.count()).resolves.toBe(1);
    } finally {
      await again.close();
    }
  });

  it('a removal whose tombstone cannot be written is undone whole inside the batch; the other writes stay', async () => {
    const store = SqliteRegistrationStore.open(dir.file('partial.db'));
    try {
      const victim = sampleRegistration(1, { state: 'DEREGISTERING' });
      await store.insert(victim);
      await store.insert(sampleRegistration(2));
      // A tombstone already stands for this ID (written behind the store's back): the second
      // statement of remove() fails after its DELETE ran.
      const db = (store as unknown as { db: Database.Database }).db;
      db.prepare("INSERT INTO tombstones (registration_id, application_id, layer2_id, link, response, expires_at) VALUES (?, 1, 'x', 'udp', '{}', ?)").run(victim.registrationId, T0 + 1e6);
      const tombstone = { registrationId: victim.registrationId, applicationId: victim.applicationId, layer2Id: victim.layer2Id, link: victim.link, response: { kind: 'DEREGISTRATION_RESPONSE' as const, result: 'SUCCESS' as const, registrationId: victim.registrationId, applicationId: victim.applicationId }, expiresAt: T0 + 1e6 };
      await expect(store.remove(victim.registrationId, tombstone)).rejects.toMatchObject({ reason: 'DUPLICATE' });
      await store.sync();
      await expect(store.get(victim.registrationId)).resolves.toEqual(victim);
      await expect(store.count()).resolves.toBe(2);
    } finally {
      await store.close();
    }
  });

  it('a batch SQLite rolled back on its own (e.g. disk full) is never reported durable, even if new writes follow in the same turn', async () => {
    const store = SqliteRegistrationStore.open(dir.file('lost.db'));
    try {
      await store.insert(sampleRegistration(1));
      const firstSync = store.sync();
      firstSync.catch(() => undefined);
      // What SQLite does after SQLITE_FULL / SQLITE_IOERR in a statement: the transaction is gone.
      (store as unknown as { db: Database.Database }).db.exec('ROLLBACK');
      await store.insert(sampleRegistration(2));
      await expect(firstSync).rejects.toMatchObject({ name: 'RegistrationStoreError', reason: 'IO' });
      await store.sync();
      await expect(store.get(sampleRegistration(1).registrationId)).resolves.toBeUndefined();
      await expect(store.get(sampleRegistration(2).registrationId)).resolves.toEqual(sampleRegistration(2));
      expect(store.stats.rollbacks).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('a transaction no batch owns (a COMMIT and its ROLLBACK both failed) is rolled back before the next write, never written into', async () => {
    const store = SqliteRegistrationStore.open(dir.file('dangling.db'));
    try {
      const db = (store as unknown as { db: Database.Database }).db;
      db.exec('BEGIN IMMEDIATE');
      db.prepare("INSERT INTO registrations VALUES ('00000000000000ff', 9, '127.0.0.1:9', 'udp', 'gw/x', 'REGISTERED', 1, 1, 1, NULL)").run();
      await store.insert(sampleRegistration(2));
      await store.sync();
      expect(store.stats.commits).toBe(1);
      expect(db.inTransaction).toBe(false);
      await expect(store.get(sampleRegistration(2).registrationId)).resolves.toEqual(sampleRegistration(2));
      await expect(store.count()).resolves.toBe(1); // the stray row went with the stray transaction
    } finally {
      await store.close();
    }
  });

  it('close() reports a final commit that failed, instead of hiding it', async () => {
    const file = dir.file('close-fail.db');
    const raw = new Database(file);
    raw.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)');
    raw.close();
    const store = SqliteRegistrationStore.open(file);
    await store.insert(sampleRegistration(1));
    (store as unknown as { db: Database.Database }).db.prepare('INSERT INTO child (pid) VALUES (42)').run();
    await expect(store.close()).rejects.toBeInstanceOf(RegistrationStoreError);
    const again = SqliteRegistrationStore.open(file);
    try {
      await expect(again.count()).resolves.toBe(0);
    } finally {
      await again.close();
    }
  });

  it('a failed COMMIT rolls the whole batch back and sync() rejects with a RegistrationStoreError', async () => {
    const file = dir.file('fk.db');
    // A deferred foreign key is checked only at COMMIT: the one way to make a COMMIT fail on demand.
    const raw = new Database(file);
    raw.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)');
    raw.close();
    const store = SqliteRegistrationStore.open(file);
    try {
      await store.insert(sampleRegistration(1));
      // Reach into the same connection to add a write that breaks the deferred constraint.
      const db = (store as unknown as { db: Database.Database }).db;
      db.prepare('INSERT INTO child (pid) VALUES (42)').run();
      const synced = store.sync();
      await expect(synced).rejects.toBeInstanceOf(RegistrationStoreError);
      expect(store.stats.rollbacks).toBe(1);
      // Undone: the state before the batch, and the store keeps working.
      await expect(store.count()).resolves.toBe(0);
      await store.insert(sampleRegistration(2));
      await store.sync();
      await expect(store.count()).resolves.toBe(1);
    } finally {
      await store.close();
    }
  });
  it('tells onCommit of each group commit: its writes, its COMMIT time in seconds, and whether it committed', async () => {
    const file = dir.file('observed.db');
    const raw = new Database(file);
    raw.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)');
    raw.close();
    const commits: SqliteCommit[] = [];
    const store = SqliteRegistrationStore.open(file, { onCommit: (c) => commits.push(c) });
    try {
      // Turn 1: 3 inserts and 2 transitions in one batch.
      const writes: Promise<unknown>[] = [];
      for (let i = 1; i <= 3; i++) writes.push(store.insert(sampleRegistration(i)));
      for (let i = 1; i <= 2; i++) writes.push(store.transition(sampleRegistration(i).registrationId, 'REGISTERING', 'REGISTERED', T0 + 1));
      await Promise.all(writes);
      await store.sync();
      // A failed write (duplicate) is not counted in the batch.
      await store.insert(sampleRegistration(9));
      await expect(store.insert(sampleRegistration(9))).rejects.toBeInstanceOf(RegistrationStoreError);
      await store.sync();
      // A COMMIT that fails (deferred foreign key) is reported too, as not committed.
      await store.insert(sampleRegistration(10));
      (store as unknown as { db: Database.Database }).db.prepare('INSERT INTO child (pid) VALUES (42)').run();
      await expect(store.sync()).rejects.toBeInstanceOf(RegistrationStoreError);
      expect(commits.map((c) => [c.writes, c.committed])).toEqual([
        [5, true],
        [1, true],
        [1, false],
      ]);
      for (const c of commits) {
        expect(c.seconds).toBeGreaterThanOrEqual(0);
        expect(c.seconds).toBeLessThan(5);
      }
      expect(store.stats.commits).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('a throwing onCommit does not fail the commit', async () => {
    const store = SqliteRegistrationStore.open(dir.file('throwing.db'), {
      onCommit: () => {
        throw new Error('metrics bug');
      },
    });
    try {
      await store.insert(sampleRegistration(1));
      await expect(store.sync()).resolves.toBeUndefined();
      expect(store.stats.commits).toBe(1);
    } finally {
      await store.close();
    }
  });
});
