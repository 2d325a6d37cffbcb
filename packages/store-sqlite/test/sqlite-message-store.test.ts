/**
 * What the contract suite (message-contract.test.ts) cannot see of the SQLite message store: it
 * shares the registration store's batch and commit (one sync() for both; a failed commit undoes
 * both), its queries are index lookups, a process killed after sync() keeps what was synced, the
 * counts kept by triggers stay right, and rows written by hand are checked.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { RegistrationStoreError, type MessageId, type RegistrationId } from '@msgin5g/core';
import { sampleDownlinkMessage, sampleMessageId, sampleOutboxReport, sampleRegistration } from '@msgin5g/core/testing';
import { LineProcess } from '@msgin5g/test-support';
import { SqliteRegistrationStore } from '../src';
import { MIGRATIONS } from '../src/migrations';
import { makeTempDir, type TempDir } from './temp-dir';

const T0 = 1_800_000_000_000;
const ROOMY = { perDevice: 1000, total: 100_000 };

function dbOf(store: SqliteRegistrationStore): Database.Database {
  return (store as unknown as { db: Database.Database }).db;
}

/** The prepared statements of the store and of its message store, by name (their SQL is what runs). */
async function statementSources(store: SqliteRegistrationStore): Promise<Record<string, string>> {
  await store.messages.outboxDepth(); // prepares the message statements
  const registrations = (store as unknown as { statements: Record<string, Database.Statement> }).statements;
  const messages = (store.messages as unknown as { prepared: Record<string, Database.Statement> }).prepared;
  const sources: Record<string, string> = {};
  for (const [name, s] of Object.entries(registrations)) sources[`registrations.${name}`] = s.source;
  for (const [name, s] of Object.entries(messages)) sources[`messages.${name}`] = s.source;
  return sources;
}

function plan(db: Database.Database, sql: string, params: unknown[]): string {
  return db
    .prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .all(...params)
    .map((r) => (r as { detail: string }).detail)
    .join('; ');
}

function rawCount(db: Database.Database, table: string): number {
  return db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
}

describe('SqliteMessageStore (the messages of a SqliteRegistrationStore)', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => {
    dir.remove();
  });

  describe('query plans (EXPLAIN QUERY PLAN of the statements the store prepared)', () => {
    let store: SqliteRegistrationStore;
    let db: Database.Database;
    let sql: Record<string, string>;
    beforeAll(async () => {
      store = SqliteRegistrationStore.open(':memory:');
      db = dbOf(store);
      sql = await statementSources(store);
    });
    afterAll(async () => {
      await store.close();
    });

    it('findByUeServiceId is one probe of registrations_ue_service_id; findByLayer2Id a range of the (link, layer2_id, application_id) key', () => {
      expect(plan(db, sql['registrations.findByUeServiceId']!, ['x'])).toBe('SEARCH registrations USING INDEX registrations_ue_service_id (ue_service_id=?)');
      const byLayer2 = plan(db, sql['registrations.findByLayer2Id']!, ['udp', 'x']);
      // The unique key's index (its name is SQLite's); the few rows of one device are then sorted by createdAt.
      expect(byLayer2).toMatch(/^SEARCH registrations USING INDEX sqlite_autoindex_registrations_\d \(link=\? AND layer2_id=\?\)/);
      expect(byLayer2).not.toMatch(/SCAN registrations/);
    });

    it('the downlink queue: head, depth, duplicate key and Message ID by recipient; by seq through the primary key; recipients by skip-scan', () => {
      const r = ['0000000000000001'];
      expect(plan(db, sql['messages.downlinkHead']!, r)).toBe('SEARCH downlink_queue USING INDEX downlink_queue_recipient (recipient=?)');
      expect(plan(db, sql['messages.downlinkOf']!, r)).toBe('SEARCH downlink_queue USING INDEX downlink_queue_recipient (recipient=?)');
      expect(plan(db, sql['messages.downlinkDepthOf']!, r)).toBe('SEARCH downlink_queue USING COVERING INDEX downlink_queue_recipient (recipient=?)');
      expect(plan(db, sql['messages.downlinkFindMessage']!, [...r, sampleMessageId(1)])).toBe('SEARCH downlink_queue USING INDEX downlink_queue_recipient (recipient=?)');
      expect(plan(db, sql['messages.downlinkFindKey']!, [...r, 'MESSAGE', 'a', sampleMessageId(1)])).toMatch(
        /^SEARCH downlink_queue USING INDEX sqlite_autoindex_downlink_queue_1 \(recipient=\? AND kind=\? AND originator_address=\? AND message_id=\?\)$/,
      );
      const bySeq: Array<[string, unknown]> = [
        ['downlinkDelete', 1],
        ['outboxDelete', 1],
        ['downlinkRecordAttempt', { seq: 1, attempts: 1, nextAttemptAt: 1 }],
        ['outboxReschedule', { seq: 1, attempts: 1, nextAttemptAt: 1 }],
      ];
      for (const [name, params] of bySeq) {
        expect([name, plan(db, sql[`messages.${name}`]!, [params])]).toEqual([
          name,
          expect.stringMatching(/^SEARCH (downlink_queue|report_outbox) USING INTEGER PRIMARY KEY \(rowid=\?\)$/),
        ]);
      }
      const recipients = plan(db, sql['messages.downlinkRecipients']!, []);
      expect(recipients).toMatch(/SEARCH downlink_queue USING COVERING INDEX downlink_queue_recipient \(recipient>\?\)/);
      expect(recipients).not.toMatch(/SCAN downlink_queue/);
      expect(plan(db, sql['messages.count']!, ['downlink_queue'])).toBe('SEARCH message_counts USING PRIMARY KEY (name=?)');
    });

    it('the outbox: due reports from report_outbox_next_attempt_at (covering), the next one by one probe; uplink records by key and expiry', () => {
      const due = plan(db, sql['messages.outboxDue']!, [T0, 10]);
      expect(due).toMatch(/SEARCH report_outbox USING COVERING INDEX report_outbox_next_attempt_at \(next_attempt_at<\?\)/);
      expect(due).not.toMatch(/SCAN report_outbox/);
      expect(plan(db, sql['messages.outboxNext']!, [])).toBe('SEARCH report_outbox USING COVERING INDEX report_outbox_next_attempt_at');
      expect(plan(db, sql['messages.uplinkGet']!, ['a', 'b'])).toBe('SEARCH uplink_messages USING PRIMARY KEY (sender=? AND message_id=?)');
      expect(plan(db, sql['messages.uplinkPurge']!, [T0])).toBe('SEARCH uplink_messages USING INDEX uplink_messages_expires_at (expires_at<?)');
    });
  });

  it('shares the registration store’s batch: registration and message writes of one turn are one commit, seen by other connections only after it', async () => {
    const file = dir.file('shared.db');
    const store = SqliteRegistrationStore.open(file);
    const reader = new Database(file, { readonly: true });
    try {
      const r = sampleRegistration(1, { state: 'REGISTERED' });
      await Promise.all([
        store.insert(r),
        store.messages.enqueueDownlink(sampleDownlinkMessage(r.registrationId, 1), ROOMY),
        store.messages.addReport(sampleOutboxReport(2)),
        store.messages.beginUplink({ sender: r.registrationId, messageId: sampleMessageId(3), expiresAt: T0 }, T0 - 1),
      ]);
      expect(rawCount(reader, 'downlink_queue')).toBe(0);
      expect(rawCount(reader, 'registrations')).toBe(0);
      await store.sync();
      expect(store.stats).toEqual({ writes: 4, commits: 1, rollbacks: 0 });
      expect(rawCount(reader, 'registrations')).toBe(1);
      expect(rawCount(reader, 'downlink_queue')).toBe(1);
      expect(rawCount(reader, 'report_outbox')).toBe(1);
      expect(rawCount(reader, 'uplink_messages')).toBe(1);
    } finally {
      reader.close();
      await store.close();
    }
  });

  it('a failed COMMIT undoes the message writes of the batch with the registration writes; sync() rejects; the counts stay right', async () => {
    const file = dir.file('fk.db');
    // A deferred foreign key is checked only at COMMIT (as in group-commit.test.ts).
    const raw = new Database(file);
    raw.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)');
    raw.close();
    const store = SqliteRegistrationStore.open(file);
    const m = store.messages;
    try {
      const r = sampleRegistration(1);
      const kept = (await m.enqueueDownlink(sampleDownlinkMessage(r.registrationId, 1), ROOMY)) as { kind: 'QUEUED'; item: { seq: number } };
      await store.sync();
      // The batch that will fail: a registration, a queued item, an item completed with its report, an uplink record.
      await store.insert(r);
      await m.enqueueDownlink(sampleDownlinkMessage(r.registrationId, 2), ROOMY);
      await m.completeDownlink(kept.item.seq, sampleOutboxReport(3));
      await m.beginUplink({ sender: r.registrationId, messageId: sampleMessageId(4), expiresAt: T0 }, T0 - 1);
      dbOf(store).prepare('INSERT INTO child (pid) VALUES (42)').run();
      await expect(store.sync()).rejects.toBeInstanceOf(RegistrationStoreError);
      expect(store.stats.rollbacks).toBe(1);
      // The state of the last successful sync(): only the first item.
      await expect(store.count()).resolves.toBe(0);
      await expect(m.downlinkDepth()).resolves.toBe(1);
      await expect(m.downlinkHead(r.registrationId)).resolves.toMatchObject({ seq: kept.item.seq });
      await expect(m.outboxDepth()).resolves.toBe(0);
      await expect(m.unfinishedUplinks()).resolves.toEqual([]);
      expect(rawCount(dbOf(store), 'downlink_queue')).toBe(1);
      // The store goes on working.
      await m.enqueueDownlink(sampleDownlinkMessage(r.registrationId, 5), ROOMY);
      await store.sync();
      await expect(m.downlinkDepth(r.registrationId)).resolves.toBe(2);
    } finally {
      await store.close();
    }
  });

  it('after a failed fsync (off the loop) message writes are refused like registration writes; reads still work', async () => {
    const file = dir.file('eio.db');
    const pending: Array<(err: NodeJS.ErrnoException | null) => void> = [];
    const store = SqliteRegistrationStore.open(file, { fsyncFile: (_fd, done) => void pending.push(done) });
    const m = store.messages;
    const r = sampleRegistration(1).registrationId;
    await m.enqueueDownlink(sampleDownlinkMessage(r, 1), ROOMY);
    const synced = store.sync();
    for (let i = 0; i < 5 && pending.length === 0; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(pending).toHaveLength(1);
    pending.splice(0)[0]!(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    await expect(synced).rejects.toMatchObject({ reason: 'IO' });
    await expect(m.enqueueDownlink(sampleDownlinkMessage(r, 2), ROOMY)).rejects.toMatchObject({ name: 'RegistrationStoreError', reason: 'IO' });
    await expect(m.addReport(sampleOutboxReport(1))).rejects.toMatchObject({ reason: 'IO' });
    await expect(m.downlinkDepth()).resolves.toBe(1);
    await expect(store.close()).rejects.toMatchObject({ reason: 'IO' });
  });

  it('a write refused BUSY (another connection holds the write lock) changes nothing', async () => {
    const file = dir.file('busy.db');
    await SqliteRegistrationStore.open(file).close();
    const store = SqliteRegistrationStore.open(file, { busyTimeoutMs: 20 });
    const holder = new Database(file);
    try {
      holder.exec('BEGIN IMMEDIATE');
      const r = sampleRegistration(1).registrationId;
      await expect(store.messages.enqueueDownlink(sampleDownlinkMessage(r, 1), ROOMY)).rejects.toMatchObject({ name: 'RegistrationStoreError', reason: 'BUSY' });
      holder.exec('ROLLBACK');
      await expect(store.messages.downlinkDepth()).resolves.toBe(0);
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
      await store.close();
    }
  });

  it('failDownlinks: a reportFor that throws changes nothing and its own exception comes out', async () => {
    const store = SqliteRegistrationStore.open(':memory:');
    const m = store.messages;
    try {
      const r = sampleRegistration(1).registrationId;
      await m.enqueueDownlink(sampleDownlinkMessage(r, 1), ROOMY);
      await m.enqueueDownlink(sampleDownlinkMessage(r, 2), ROOMY);
      const bug = new TypeError('caller bug');
      let calls = 0;
      await expect(
        m.failDownlinks(r, () => {
          if (++calls === 2) throw bug;
          return sampleOutboxReport(1);
        }),
      ).rejects.toBe(bug);
      await expect(m.downlinkDepth(r)).resolves.toBe(2);
      await expect(m.downlinkDepth()).resolves.toBe(2);
      await expect(m.outboxDepth()).resolves.toBe(0);
      await store.sync();
    } finally {
      await store.close();
    }
  });

  it('completeDownlink and failDownlinks are one write each: a report that cannot be stored leaves every item queued', async () => {
    const store = SqliteRegistrationStore.open(':memory:');
    const m = store.messages;
    try {
      const r = sampleRegistration(1).registrationId;
      const first = await m.enqueueDownlink(sampleDownlinkMessage(r, 1), ROOMY);
      await m.enqueueDownlink(sampleDownlinkMessage(r, 2), ROOMY);
      if (first.kind !== 'QUEUED') throw new Error('expected QUEUED');
      // A report the schema refuses (a caller bug the types would catch): its INSERT fails after the DELETE ran.
      const bad = sampleOutboxReport(1, { deliveryStatus: 'BOGUS' as 'FAILED' });
      await expect(m.completeDownlink(first.item.seq, bad)).rejects.toMatchObject({ name: 'RegistrationStoreError', reason: 'IO', message: expect.stringContaining('CHECK') });
      await expect(m.downlinkHead(r)).resolves.toEqual(first.item);
      let n = 0;
      await expect(m.failDownlinks(r, () => (++n === 2 ? bad : sampleOutboxReport(n)))).rejects.toMatchObject({ reason: 'IO' });
      await expect(m.downlinkDepth(r)).resolves.toBe(2);
      await expect(m.downlinkDepth()).resolves.toBe(2);
      await expect(m.outboxDepth()).resolves.toBe(0);
      await store.sync();
      await expect(m.downlinkDepth()).resolves.toBe(2);
    } finally {
      await store.close();
    }
  });

  it('a read-only store over a version-3 file opens; its message store, which the read-only type does not offer, rejects with IO', async () => {
    const file = dir.file('v3-read-only.db');
    const raw = new Database(file);
    for (const m of MIGRATIONS.filter((x) => x.version <= 3)) raw.exec(m.sql);
    raw.pragma('user_version = 3');
    raw.close();
    const reader = SqliteRegistrationStore.openReadOnly(file);
    try {
      await expect(reader.count()).resolves.toBe(0);
      await expect((reader as unknown as SqliteRegistrationStore).messages.downlinkDepth()).rejects.toMatchObject({ name: 'RegistrationStoreError', reason: 'IO' });
    } finally {
      await reader.close();
    }
  });

  it('dueReports refuses a limit that is not an integer >= 1 (RangeError)', async () => {
    const store = SqliteRegistrationStore.open(':memory:');
    try {
      await expect(store.messages.dueReports(T0, 0)).rejects.toBeInstanceOf(RangeError);
      await expect(store.messages.dueReports(T0, 1.5)).rejects.toBeInstanceOf(RangeError);
    } finally {
      await store.close();
    }
  });

  it('the counts kept by triggers follow inserts and deletes made outside the store too', async () => {
    const file = dir.file('counts.db');
    const store = SqliteRegistrationStore.open(file);
    const m = store.messages;
    const r = sampleRegistration(1).registrationId;
    for (let i = 1; i <= 5; i++) await m.enqueueDownlink(sampleDownlinkMessage(r, i), ROOMY);
    for (let i = 1; i <= 3; i++) await m.addReport(sampleOutboxReport(i));
    await store.close();
    // An admin tool deletes rows behind the gateway's back.
    const raw = new Database(file);
    raw.prepare('DELETE FROM downlink_queue WHERE seq <= 2').run();
    raw.prepare('DELETE FROM report_outbox WHERE seq = 3').run();
    raw.close();
    const again = SqliteRegistrationStore.open(file);
    try {
      await expect(again.messages.downlinkDepth()).resolves.toBe(3);
      await expect(again.messages.outboxDepth()).resolves.toBe(2);
      // Bounds use the kept count: two more fit under a total of 5.
      await expect(again.messages.enqueueDownlink(sampleDownlinkMessage(r, 6), { perDevice: 10, total: 5 })).resolves.toMatchObject({ kind: 'QUEUED' });
      await expect(again.messages.enqueueDownlink(sampleDownlinkMessage(r, 7), { perDevice: 10, total: 5 })).resolves.toMatchObject({ kind: 'QUEUED' });
      await expect(again.messages.enqueueDownlink(sampleDownlinkMessage(r, 8), { perDevice: 10, total: 5 })).resolves.toEqual({ kind: 'QUEUE_FULL' });
    } finally {
      await again.close();
    }
  });

  it('reads message rows written by hand defensively: a corrupt row rejects with IO naming the column', async () => {
    const file = dir.file('corrupt.db');
    await SqliteRegistrationStore.open(file).close();
    const raw = new Database(file);
    raw
      .prepare("INSERT INTO report_outbox (originator_address, target_address, message_id, delivery_status, failure_reason, created_at, attempts, next_attempt_at) VALUES ('u', 't', ?, 'FAILED', 'BOGUS', 1, 0, 1)")
      .run(sampleMessageId(1));
    raw.prepare("INSERT INTO uplink_messages VALUES ('0000000000000001', ?, '{\"kind\":\"other\"}', 1)").run(sampleMessageId(1));
    raw.close();
    const store = SqliteRegistrationStore.open(file);
    try {
      await expect(store.messages.dueReports(T0, 10)).rejects.toMatchObject({ name: 'RegistrationStoreError', reason: 'IO', message: expect.stringContaining('failure_reason') });
      await expect(store.messages.beginUplink({ sender: '0000000000000001' as RegistrationId, messageId: sampleMessageId(1), expiresAt: 9 }, 0)).rejects.toMatchObject({
        reason: 'IO',
        message: expect.stringContaining('response'),
      });
    } finally {
      await store.close();
    }
  });

  it('the schema refuses content columns of the wrong kind and a Message ID that is not 32 lower-case hex characters', async () => {
    const file = dir.file('checks.db');
    await SqliteRegistrationStore.open(file).close();
    const raw = new Database(file);
    try {
      const insert = raw.prepare(
        'INSERT INTO downlink_queue (recipient, kind, originator_address, message_id, originator_type, payload, delivery_status_required, delivery_status, failure_reason, accepted_at, attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 0, 1)',
      );
      const id = sampleMessageId(0xabcdef);
      insert.run('r', 'MESSAGE', 'o', id, 'AS', Buffer.of(1), 1, null, null); // valid
      expect(() => insert.run('r', 'MESSAGE', 'o2', id, 'AS', null, 1, null, null)).toThrow(/CHECK constraint failed/);
      expect(() => insert.run('r', 'MESSAGE', 'o3', id, 'AS', Buffer.of(1), 1, 'DELIVERED', null)).toThrow(/CHECK constraint failed/);
      expect(() => insert.run('r', 'REPORT', 'o4', id, null, Buffer.of(1), null, 'DELIVERED', null)).toThrow(/CHECK constraint failed/);
      expect(() => insert.run('r', 'REPORT', 'o5', id.toUpperCase(), null, null, null, 'DELIVERED', null)).toThrow(/CHECK constraint failed/);
      expect(() => insert.run('r', 'MESSAGE', 'o', id, 'AS', Buffer.of(2), 0, null, null)).toThrow(/UNIQUE constraint failed/);
    } finally {
      raw.close();
    }
  });

  it('keeps every item synced before a SIGKILL, in order; an item applied but not yet committed is gone whole', async () => {
    const file = dir.file('crash.db');
    const dist = join(__dirname, '..', 'dist', 'index.js');
    if (!existsSync(dist)) throw new Error(`${dist} is missing: build the package (npx tsc -b) before running its tests`);
    const N = 300;
    const recipients = [1, 2, 3].map((n) => sampleRegistration(n).registrationId);
    // The child enqueues N items over three recipients (some in the same turn, some across turns),
    // completes every tenth with a report, syncs and reports it, then waits to be killed: no close,
    // no checkpoint. On SIGUSR2 it enqueues one more and kills itself before that turn's commit.
    const script = `
      const { SqliteRegistrationStore } = require(${JSON.stringify(dist)});
      const store = SqliteRegistrationStore.open(${JSON.stringify(file)});
      const m = store.messages;
      const recipients = ${JSON.stringify(recipients)};
      const item = (i) => ({
        recipient: recipients[i % 3],
        content: { kind: 'MESSAGE', originatorAddress: 'as-service-1', originatorType: 'AS', messageId: i.toString(16).padStart(32, '0'),
                   payload: Uint8Array.from({ length: 1 + (i % 300) }, (_, k) => (i + k) & 255), deliveryStatusRequired: true },
        acceptedAt: ${T0} + i, attempts: 0, nextAttemptAt: ${T0} + i,
      });
      const bounds = { perDevice: 1000, total: 1000 };
      (async () => {
        for (let i = 0; i < ${N}; i += 10) {
          const batch = [];
          for (let j = i; j < i + 10; j++) batch.push(m.enqueueDownlink(item(j), bounds));
          const results = await Promise.all(batch);
          await m.completeDownlink(results[0].item.seq, { originatorAddress: 'ue', targetAddress: 'as-service-1', messageId: item(i).content.messageId,
            deliveryStatus: 'DELIVERED', createdAt: ${T0}, attempts: 0, nextAttemptAt: ${T0} });
          if (i % 50 === 0) await new Promise((r) => setImmediate(r));
        }
        await store.sync();
        process.stdout.write('synced\\n');
      })().catch((err) => { console.error(err); process.exit(2); });
      process.on('SIGUSR2', () => m.enqueueDownlink(item(${N}), bounds).then(() => process.kill(process.pid, 'SIGKILL')));
      setTimeout(() => process.exit(3), 20000);
    `;
    const child = LineProcess.start(process.execPath, ['-e', script], { name: 'message store child' });
    try {
      await child.waitForLine((l) => l === 'synced', { what: '"synced"' });
      child.child.kill('SIGUSR2');
      await expect(child.exited).resolves.toEqual({ code: null, signal: 'SIGKILL' });
    } finally {
      await child.stop('SIGKILL');
    }
    const store = SqliteRegistrationStore.open(file);
    try {
      const m = store.messages;
      const expected = Array.from({ length: N }, (_, i) => i).filter((i) => i % 10 !== 0);
      await expect(m.downlinkDepth()).resolves.toBe(expected.length);
      await expect(m.outboxDepth()).resolves.toBe(N / 10);
      await expect(m.findDownlinkMessage(recipients[N % 3]!, sampleMessageId(N))).resolves.toBeUndefined();
      const all = [];
      for (const r of recipients) {
        const items = await m.failDownlinks(r, () => undefined);
        for (let k = 1; k < items.length; k++) expect(items[k]!.seq).toBeGreaterThan(items[k - 1]!.seq);
        all.push(...items);
      }
      all.sort((x, y) => x.seq - y.seq);
      // Queue order is enqueue order, across recipients, and every payload is intact.
      expect(all.map((x) => x.content.messageId)).toEqual(expected.map((i) => sampleMessageId(i)));
      for (const x of all) {
        const i = parseInt(x.content.messageId, 16);
        expect(x.recipient).toBe(recipients[i % 3]);
        if (x.content.kind !== 'MESSAGE') throw new Error('expected a MESSAGE');
        expect(Buffer.from(x.content.payload).equals(Buffer.from(Uint8Array.from({ length: 1 + (i % 300) }, (_, k) => (i + k) & 255)))).toBe(true);
      }
      const reports = await m.dueReports(T0, 1000);
      expect(reports.map((r) => r.messageId)).toEqual(Array.from({ length: N / 10 }, (_, k) => sampleMessageId(k * 10)));
    } finally {
      await store.close();
    }
  }, 30_000);
});

describe('SqliteMessageStore at scale (timings printed, not asserted)', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => {
    dir.remove();
  });

  it('answers over 100,000 queued items and 100,000 reports', async () => {
    const file = dir.file('100k.db');
    const N = 100_000;
    await SqliteRegistrationStore.open(file, { synchronous: 'NORMAL' }).close();
    // 1,000 devices with 100 items each; reports due in the future except every 1,000th. Written
    // straight into the file (the store's own writes are timed in bench/messages.ts).
    const raw = new Database(file);
    const queue = raw.prepare(
      "INSERT INTO downlink_queue (recipient, kind, originator_address, message_id, originator_type, payload, delivery_status_required, accepted_at, attempts, next_attempt_at) VALUES (?, 'MESSAGE', 'as-service-1', ?, 'AS', ?, 1, ?, 0, ?)",
    );
    const outbox = raw.prepare(
      "INSERT INTO report_outbox (originator_address, target_address, message_id, delivery_status, created_at, attempts, next_attempt_at) VALUES (?, 'as-service-1', ?, 'DELIVERED', ?, 0, ?)",
    );
    raw.transaction(() => {
      for (let i = 0; i < N; i++) {
        queue.run(sampleRegistration(1 + (i % 1000)).registrationId, sampleMessageId(i), Buffer.of(i & 255, 1, 2, 3), T0 + i, T0 + i);
        outbox.run(`ue-${i}`, sampleMessageId(i), T0 + i, i % 1000 === 999 ? T0 : T0 + 1_000_000);
      }
    })();
    raw.close();
    const store = SqliteRegistrationStore.open(file, { synchronous: 'NORMAL' });
    const m = store.messages;
    const time = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
      const t = process.hrtime.bigint();
      const result = await f();
      return [result, Number(process.hrtime.bigint() - t) / 1000];
    };
    try {
      await m.outboxDepth(); // prepares the statements (on first use), outside the timings
      const [depth, depthUs] = await time(() => m.downlinkDepth());
      const [recipients, recipientsUs] = await time(() => m.downlinkRecipients());
      const [due, dueUs] = await time(() => m.dueReports(T0, 256));
      const [next, nextUs] = await time(() => m.nextReportAt());
      const [result, enqueueUs] = await time(() => m.enqueueDownlink(sampleDownlinkMessage(sampleRegistration(5000).registrationId, 1), { perDevice: 100, total: N + 1 }));
      const [head, headUs] = await time(() => m.downlinkHead(sampleRegistration(500).registrationId));
      expect(depth).toBe(N);
      expect(recipients).toHaveLength(1000);
      expect(due).toHaveLength(100);
      expect(due.map((r) => r.seq)).toEqual([...due.map((r) => r.seq)].sort((a, b) => a - b));
      expect(next).toBe(T0);
      expect(result.kind).toBe('QUEUED');
      expect(head?.content.messageId).toBe(sampleMessageId(499) as MessageId);
      process.stderr.write(
        `message store over ${N} items and ${N} reports: downlinkDepth ${depthUs.toFixed(0)} µs, downlinkRecipients (1,000) ${recipientsUs.toFixed(0)} µs, ` +
          `dueReports (100 due) ${dueUs.toFixed(0)} µs, nextReportAt ${nextUs.toFixed(0)} µs, enqueueDownlink ${enqueueUs.toFixed(0)} µs, downlinkHead ${headUs.toFixed(0)} µs\n`,
      );
    } finally {
      await store.close();
    }
  }, 120_000);
});
