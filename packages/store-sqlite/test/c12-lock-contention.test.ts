/**
 * Case C12 (docs/failure-cases.md): another process holds a write lock on the SQLite file during a burst
 * of requests. Expected: no crash; each request answered (BUSY → CONGESTION upstream) or delayed
 * within a bounded time; the event loop is not frozen for seconds; no mapping half-written.
 */
import { performance } from 'node:perf_hooks';
import { EXCHANGE_LIFETIME_MS, RegistrationStoreError, type Registration, type Tombstone } from '@msgin5g/core';
import { sampleRegistration } from '@msgin5g/core/testing';
import { MAX_WRITE_BACKOFF_MS, SqliteRegistrationStore } from '../src';
import { LineProcess } from '@msgin5g/test-support';
import { makeTempDir, type TempDir } from './temp-dir';

const HOLD_MS = 2000;
const BUSY_TIMEOUT_MS = 100;
const BURST = 50;
/** What "the event loop is never frozen for seconds" means here. */
const FREEZE_LIMIT_MS = 1000;

/**
 * Script of the lock holder: a second process with its own connection that takes the write lock
 * (BEGIN IMMEDIATE), writes one record, holds the lock for HOLD_MS, then commits. It exits on its
 * own after 15 s whatever happens, and the test kills it in teardown anyway.
 */
const LOCK_HOLDER = `
  const Database = require(process.env.BETTER_SQLITE3);
  setTimeout(() => process.exit(2), 15000).unref();
  const db = new Database(process.env.DB_FILE, { timeout: 5000 });
  db.exec('BEGIN IMMEDIATE');
  db.prepare('INSERT INTO registrations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(JSON.parse(process.env.ROW));
  process.stdout.write('locked\\n');
  setTimeout(() => {
    db.exec('COMMIT');
    db.close();
    process.stdout.write('released\\n');
    process.exit(0);
  }, Number(process.env.HOLD_MS));
`;

describe('SqliteRegistrationStore under lock contention', () => {
  let dir: TempDir;
  let store: SqliteRegistrationStore | undefined;
  let child: LineProcess | undefined;
  let lagTimer: NodeJS.Timeout | undefined;

  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(async () => {
    if (lagTimer) clearInterval(lagTimer);
    await child?.stop('SIGKILL');
    child = undefined;
    await store?.close();
    store = undefined;
    dir.remove();
  });

  it('C12: during a burst of 50 inserts while another process holds BEGIN IMMEDIATE for ~2 s, each insert succeeds or rejects BUSY in < 1 s, the event loop never freezes, and nothing is half-written', async () => {
    const file = dir.file('gateway.db');
    store = SqliteRegistrationStore.open(file, { busyTimeoutMs: BUSY_TIMEOUT_MS });
    const existing = sampleRegistration(1, { state: 'DEREGISTERING' });
    await store.insert(existing);

    const holderRecord = sampleRegistration(2);
    const row = [
      holderRecord.registrationId,
      holderRecord.applicationId,
      holderRecord.layer2Id,
      holderRecord.link,
      holderRecord.ueServiceId,
      holderRecord.state,
      holderRecord.createdAt,
      holderRecord.updatedAt,
      holderRecord.expiresAt,
      null,
    ];
    const holder = LineProcess.start(process.execPath, ['-e', LOCK_HOLDER], {
      name: 'lock holder',
      env: { ...process.env, BETTER_SQLITE3: require.resolve('better-sqlite3'), DB_FILE: file, HOLD_MS: String(HOLD_MS), ROW: JSON.stringify(row) },
    });
    child = holder;
    await holder.waitForLine((l) => l === 'locked', { timeoutMs: 10_000, what: '"locked"' });

    // Reads are not blocked by the writer (WAL) and do not see its uncommitted record.
    await expect(store.count()).resolves.toBe(1);
    await expect(store.get(holderRecord.registrationId)).resolves.toBeUndefined();

    // A removal is one IMMEDIATE transaction: it cannot start, so neither half happens.
    const tombstone: Tombstone = {
      registrationId: existing.registrationId,
      applicationId: existing.applicationId,
      layer2Id: existing.layer2Id,
      link: existing.link,
      response: { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: existing.registrationId, applicationId: existing.applicationId },
      expiresAt: existing.createdAt + EXCHANGE_LIFETIME_MS,
    };
    await expect(store.remove(existing.registrationId, tombstone)).rejects.toMatchObject({ name: 'RegistrationStoreError', reason: 'BUSY' });

    // Event-loop lag monitor: the largest gap between 10 ms ticks during the burst.
    let lastTick = performance.now();
    let maxGap = 0;
    lagTimer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - lastTick);
      lastTick = now;
    }, 10);

    const outcomes: { record: Registration; ok: boolean; ms: number }[] = [];
    for (let i = 0; i < BURST; i++) {
      const record = sampleRegistration(100 + i);
      const started = performance.now();
      let ok: boolean;
      try {
        await store.insert(record);
        ok = true;
      } catch (err) {
        expect(err).toBeInstanceOf(RegistrationStoreError);
        expect(err).toMatchObject({ reason: 'BUSY' });
        ok = false;
      }
      outcomes.push({ record, ok, ms: performance.now() - started });
      // Requests arrive spread out, so the burst outlasts the lock and sees both outcomes.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    clearInterval(lagTimer);
    lagTimer = undefined;

    await holder.waitForLine((l) => l === 'released', { timeoutMs: HOLD_MS + 10_000, what: '"released"' });
    await expect(holder.exited).resolves.toEqual({ code: 0, signal: null }); // it exits by itself (within 15 s whatever happens)

    const succeeded = outcomes.filter((o) => o.ok);
    const longest = Math.max(...outcomes.map((o) => o.ms));
    expect(outcomes.length).toBe(BURST);
    expect(outcomes.length - succeeded.length).toBeGreaterThan(0); // the lock really was contended
    expect(longest).toBeLessThan(FREEZE_LIMIT_MS);
    expect(maxGap).toBeLessThan(FREEZE_LIMIT_MS);
    // The write backoff: only a few writes waited out the busy timeout; the rest failed fast.
    const waited = outcomes.filter((o) => !o.ok && o.ms >= BUSY_TIMEOUT_MS * 0.8).length;
    expect(waited).toBeLessThanOrEqual(8);
    // Once the lock is gone and the backoff window has passed, writes work again.
    await new Promise((resolve) => setTimeout(resolve, MAX_WRITE_BACKOFF_MS + 50));
    const late = sampleRegistration(999);
    await expect(store.insert(late)).resolves.toEqual(late);
    succeeded.push({ record: late, ok: true, ms: 0 });

    // Every record is either whole or absent, and the count adds up.
    for (const o of outcomes) {
      if (o.ok) await expect(store.get(o.record.registrationId)).resolves.toEqual(o.record);
      else await expect(store.get(o.record.registrationId)).resolves.toBeUndefined();
    }
    await expect(store.get(existing.registrationId)).resolves.toEqual(existing);
    await expect(store.getTombstone(existing.registrationId, existing.createdAt)).resolves.toBeUndefined();
    await expect(store.get(holderRecord.registrationId)).resolves.toEqual(holderRecord);
    await expect(store.count()).resolves.toBe(succeeded.length + 2);

    // After the lock is gone the failed requests can simply be retried.
    const retry = outcomes.find((o) => !o.ok);
    if (retry) await expect(store.insert(retry.record)).resolves.toEqual(retry.record);
  });
});
