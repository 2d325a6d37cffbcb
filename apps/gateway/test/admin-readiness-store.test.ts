/**
 * What "the store is writable" means for /readyz on a real SQLite file: while another process holds
 * the write lock, the probe fails with BUSY within the busy timeout; once the lock goes (and the
 * store's write backoff is over) it passes again. The probe itself writes nothing.
 */
import { sampleRegistration } from '@msgin5g/core/testing';
import { SqliteRegistrationStore } from '@msgin5g/store-sqlite';
import { LineProcess } from '@msgin5g/test-support';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GatewayReadiness } from '../src/admin/readiness';

/** Takes the write lock (BEGIN IMMEDIATE), says so, and keeps it until its stdin closes (15 s at most). */
const LOCK_HOLDER = `
  const Database = require(process.env.BETTER_SQLITE3);
  setTimeout(() => process.exit(2), 15000).unref();
  const db = new Database(process.env.DB_FILE, { timeout: 5000 });
  db.exec('BEGIN IMMEDIATE');
  process.stdout.write('locked\\n');
  process.stdin.resume();
  process.stdin.on('end', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });
`;

describe('GatewayReadiness on a SQLite store', () => {
  let dir: string;
  let store: SqliteRegistrationStore | undefined;
  let holder: LineProcess | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-ready-'));
  });
  afterEach(async () => {
    await holder?.stop('SIGKILL');
    holder = undefined;
    await store?.close();
    store = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails the store check while another process holds the write lock, and passes again after', async () => {
    const file = join(dir, 'gw.db');
    store = SqliteRegistrationStore.open(file, { busyTimeoutMs: 50 });
    await store.insert(sampleRegistration(1, { state: 'REGISTERED' }));
    await store.sync();
    const ready = new GatewayReadiness({ procedures: { isGatewayRegistered: true }, store, runtime: { unboundLinks: [], isStopping: false } });
    await expect(ready.check()).resolves.toMatchObject({ ready: true, checks: { store: { ok: true } } });
    const writesBefore = store.stats.writes;

    const betterSqlite3 = require.resolve('better-sqlite3', { paths: [dirname(require.resolve('@msgin5g/store-sqlite'))] });
    holder = LineProcess.start(process.execPath, ['-e', LOCK_HOLDER], { name: 'lock holder', env: { ...process.env, BETTER_SQLITE3: betterSqlite3, DB_FILE: file }, stdin: 'pipe' });
    await holder.waitForLine((l) => l === 'locked', { timeoutMs: 10_000 });

    const t0 = Date.now();
    const locked = await ready.check();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(locked.ready).toBe(false);
    expect(locked.checks.store).toEqual({ ok: false, detail: expect.stringMatching(/does not take writes \(BUSY\)/) });
    expect(locked.checks.registered.ok).toBe(true);

    holder.child.stdin!.end();
    await holder.exited;
    holder = undefined;
    // The store backs off writes for up to 1 s after a BUSY (docs: C12); the probe passes once it is over.
    let again = await ready.check();
    for (let i = 0; i < 40 && !again.ready; i++) {
      await new Promise((res) => setTimeout(res, 100));
      again = await ready.check();
    }
    expect(again).toMatchObject({ ready: true, checks: { store: { ok: true } } });
    await expect(store.list()).resolves.toHaveLength(1); // the probes changed nothing
    expect(store.stats.writes).toBeGreaterThan(writesBefore);
  });
});
