/**
 * `page()` at scale: the admin API's `GET /devices` pages 100,000 registrations without reading the
 * records before the cursor. The query plans are read from SQLite itself (EXPLAIN QUERY PLAN), so a
 * change that falls back to a full scan or a sort of every record fails here.
 */
import type { ApplicationId, LinkId, RegistrationId } from '@msgin5g/core';
import { sampleRegistration } from '@msgin5g/core/testing';
import type Database from 'better-sqlite3';
import { SqliteRegistrationStore } from '../src';

const N = 100_000;

/** The statement's plan, one detail string per step. Reaches into the adapter on purpose. */
function plan(store: SqliteRegistrationStore, statement: 'page' | 'pageByApplicationId'): string[] {
  const internals = store as unknown as { db: Database.Database; statements: Record<string, Database.Statement> };
  const sql = internals.statements[statement]!.source;
  const rows = internals.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ after: '', link: null, state: null, applicationId: 7, limit: 100 }) as Array<{ detail: string }>;
  return rows.map((r) => r.detail);
}

describe('SqliteRegistrationStore.page at 100,000 registrations', () => {
  let store: SqliteRegistrationStore;
  beforeAll(async () => {
    store = SqliteRegistrationStore.open(':memory:');
    for (let i = 1; i <= N; i++) {
      const state = i % 10 === 0 ? 'REGISTERING' : 'REGISTERED';
      await store.insert(sampleRegistration(i, { state, link: (i % 2 === 0 ? 'udp' : 'coap') as LinkId, layer2Id: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:5683` as never }));
      if (i % 5000 === 0) await store.sync();
    }
    await store.sync();
  }, 120_000);
  afterAll(async () => {
    await store.close();
  });

  it('walks the primary-key index from the cursor: no full scan, no sort', () => {
    const steps = plan(store, 'page');
    expect(steps.join(' | ')).toMatch(/SEARCH registrations USING INDEX sqlite_autoindex_registrations_1 \(registration_id>\?\)/);
    expect(steps.join(' | ')).not.toMatch(/TEMP B-TREE|^SCAN/);
  });

  it('with an Application ID, reads only that ID\'s records through its index', () => {
    expect(plan(store, 'pageByApplicationId').join(' | ')).toMatch(/SEARCH registrations USING INDEX registrations_application_id \(application_id=\?/);
  });

  it('pages all 100,000 in 100 pages of 1,000, in order, each page in well under 50 ms (median)', async () => {
    let after: RegistrationId | undefined;
    let seen = 0;
    let previous = '';
    let outOfOrder = 0;
    const times: number[] = [];
    for (let pages = 0; pages < 200; pages++) {
      const t0 = process.hrtime.bigint();
      const page = await store.page({}, after, 1000);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      for (const r of page) {
        if (r.registrationId <= previous) outOfOrder++;
        previous = r.registrationId;
      }
      seen += page.length;
      if (page.length < 1000) break;
      after = page[page.length - 1]!.registrationId;
    }
    expect(seen).toBe(N);
    expect(outOfOrder).toBe(0);
    // Generous bound for a shared CI machine; a full scan per page would read 100,000 rows each time.
    const sorted = [...times].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(50);
  });

  it('filters by state and link over the whole table in pages', async () => {
    let after: RegistrationId | undefined;
    let seen = 0;
    for (let pages = 0; pages < 100; pages++) {
      const page = await store.page({ state: 'REGISTERING', link: 'udp' as LinkId }, after, 1000);
      for (const r of page) expect(r).toMatchObject({ state: 'REGISTERING', link: 'udp' });
      seen += page.length;
      if (page.length < 1000) break;
      after = page[page.length - 1]!.registrationId;
    }
    expect(seen).toBe(N / 10); // every tenth is REGISTERING, all of them even, so udp
    await expect(store.page({ applicationId: 7 as ApplicationId }, undefined, 1000)).resolves.toHaveLength(Math.floor(N / 65536) + 1);
  });
});
