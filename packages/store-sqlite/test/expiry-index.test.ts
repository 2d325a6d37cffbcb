/**
 * The expiry scheduler's two queries (`dueExpiries`, `nextExpiry`) use the index
 * `registrations_expires_at` (state, expires_at): a range in order, never a scan of every record
 * and never a sort (docs/adr/0011-registration-lifetime.md). Timings at 100k records are printed,
 * not asserted.
 */
import Database from 'better-sqlite3';
import { sampleRegistration } from '@msgin5g/core/testing';
import { SqliteRegistrationStore } from '../src';
import { makeTempDir, type TempDir } from './temp-dir';

const T0 = 1_800_000_000_000;
const N = 100_000;

function plan(db: Database.Database, sql: string): string {
  return db
    .prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
    .all()
    .map((r) => r.detail)
    .join('; ');
}

describe('SqliteRegistrationStore expiry queries', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => {
    dir.remove();
  });

  it('use the (state, expires_at) index: no full scan, no sort', async () => {
    const file = dir.file('plan.db');
    await SqliteRegistrationStore.open(file).close();
    const db = new Database(file, { readonly: true });
    try {
      const due = plan(db, "SELECT registration_id FROM registrations WHERE state = 'REGISTERED' AND expires_at <= 5 ORDER BY expires_at, rowid LIMIT 10");
      expect(due).toMatch(/SEARCH registrations USING INDEX registrations_expires_at \(state=\? AND expires_at<\?\)/);
      expect(due).not.toMatch(/TEMP B-TREE|SCAN registrations/);
      const next = plan(db, "SELECT min(expires_at) FROM registrations WHERE state = 'REGISTERED'");
      expect(next).toMatch(/registrations_expires_at/);
      expect(next).not.toMatch(/SCAN registrations\b(?! USING)/);
    } finally {
      db.close();
    }
  });

  it(`answers over ${N.toLocaleString('en')} records (timings printed)`, async () => {
    const file = dir.file('100k.db');
    await SqliteRegistrationStore.open(file, { synchronous: 'NORMAL' }).close();
    const raw = new Database(file);
    const insert = raw.prepare('INSERT INTO registrations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)');
    raw.transaction(() => {
      for (let i = 0; i < N; i++) {
        const r = sampleRegistration(i + 1, { state: 'REGISTERED' });
        // Expiries spread over 100 s, not in insertion order.
        insert.run(r.registrationId, r.applicationId, `dev-${i}`, r.link, r.ueServiceId, r.state, r.createdAt, r.updatedAt, T0 + ((i * 7919) % N));
      }
    })();
    raw.close();
    const store = SqliteRegistrationStore.open(file);
    try {
      let t = process.hrtime.bigint();
      const next = await store.nextExpiry();
      const nextUs = Number(process.hrtime.bigint() - t) / 1000;
      t = process.hrtime.bigint();
      const due = await store.dueExpiries(T0 + 999, 256);
      const dueUs = Number(process.hrtime.bigint() - t) / 1000;
      expect(next).toBe(T0);
      expect(due).toHaveLength(256);
      for (let i = 1; i < due.length; i++) expect(due[i]!.expiresAt).toBeGreaterThanOrEqual(due[i - 1]!.expiresAt);
      expect(due[due.length - 1]!.expiresAt).toBeLessThanOrEqual(T0 + 999);
      process.stderr.write(`expiry queries over ${N} records: nextExpiry ${nextUs.toFixed(0)} µs, dueExpiries(limit 256) ${dueUs.toFixed(0)} µs\n`);
    } finally {
      await store.close();
    }
  }, 60_000);
});
