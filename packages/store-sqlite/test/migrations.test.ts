import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { RegistrationStoreError, type ApplicationId, type Layer2Id, type LinkId, type RegistrationId, type UeServiceId } from '@msgin5g/core';
import { sampleDownlinkMessage, sampleRegistration } from '@msgin5g/core/testing';
import { LATEST_SCHEMA_VERSION, SqliteRegistrationStore } from '../src';
import { MIGRATIONS, UPGRADE_LIFETIME_MS } from '../src/migrations';
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

/** Tables, indexes and triggers of the latest schema (version 4), SQLite's own left out. */
const LATEST_SCHEMA_OBJECTS = [
  'downlink_queue',
  'downlink_queue_counted_in',
  'downlink_queue_counted_out',
  'downlink_queue_recipient',
  'message_counts',
  'registrations',
  'registrations_application_id',
  'registrations_expires_at',
  'registrations_not_tombstoned',
  'registrations_state',
  'registrations_ue_service_id',
  'report_outbox',
  'report_outbox_counted_in',
  'report_outbox_counted_out',
  'report_outbox_next_attempt_at',
  'tombstones',
  'tombstones_expires_at',
  'uplink_messages',
  'uplink_messages_expires_at',
];

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

  it('gives a fresh file the latest schema version (4) with its tables, indexes and triggers', async () => {
    const file = dir.file('fresh.db');
    await SqliteRegistrationStore.open(file).close();
    expect(LATEST_SCHEMA_VERSION).toBe(4);
    expect(userVersion(file)).toBe(4);
    expect(tables(file)).toEqual(LATEST_SCHEMA_OBJECTS);
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
    expect(userVersion(file)).toBe(4);
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
    expect((err as Error).message).toMatch(/only up to version 4/);
    expect((err as Error).message).toContain(file);
    expect(userVersion(file)).toBe(99);
    expect(tables(file)).toEqual([]);
    const raw2 = new Database(file, { readonly: true });
    expect(raw2.pragma('journal_mode', { simple: true })).toBe('delete');
    raw2.close();
  });

  it('upgrades a file made by schema version 1 in place: rows, tombstones and the trigger kept; any link instance id accepted', async () => {
    // A file exactly as the version-1 gateway wrote it: version 1's SQL, then its rows.
    const file = dir.file('v1.db');
    const raw = new Database(file);
    raw.pragma('journal_mode = WAL');
    raw.exec(MIGRATIONS[0]!.sql);
    raw.pragma('user_version = 1');
    const insert = raw.prepare(
      'INSERT INTO registrations (registration_id, application_id, layer2_id, link, ue_service_id, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    insert.run('00000000000000a1', 42, '127.0.0.1:40001', 'udp', 'gw-1/a', 'REGISTERED', 1, 2);
    insert.run('00000000000000a2', 43, '0200000000aa', 'l2', 'gw-1/b', 'DEREGISTERING', 3, 4);
    raw
      .prepare('INSERT INTO tombstones (registration_id, application_id, layer2_id, link, response, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run('00000000000000a3', 44, '127.0.0.1:40003', 'coap', JSON.stringify({ kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: '00000000000000a3', applicationId: 44 }), 9e12);
    // What the version-1 schema refused: a link kind outside udp/l2/coap.
    expect(() => insert.run('00000000000000a4', 45, 'serial:/dev/ttyS0', 'serial', 'gw-1/c', 'REGISTERED', 5, 6)).toThrow(/CHECK constraint failed/);
    raw.close();

    const store = SqliteRegistrationStore.open(file);
    try {
      expect(userVersion(file)).toBe(4);
      await expect(store.get('00000000000000a1' as RegistrationId)).resolves.toMatchObject({ link: 'udp', applicationId: 42, state: 'REGISTERED', createdAt: 1, updatedAt: 2 });
      await expect(store.findByDevice('l2' as LinkId, '0200000000aa' as Layer2Id, 43 as ApplicationId)).resolves.toMatchObject({ state: 'DEREGISTERING' });
      await expect(store.getTombstone('00000000000000a3' as RegistrationId, 0)).resolves.toMatchObject({ link: 'coap', applicationId: 44 });
      // Now open: a serial link instance, and a second UDP instance.
      const serial = sampleRegistration(5, { link: 'serial' as LinkId, layer2Id: 'serial:/dev/ttyS0' as Layer2Id });
      await expect(store.insert(serial)).resolves.toEqual(serial);
      await expect(store.insert(sampleRegistration(6, { link: 'udp-2' as LinkId }))).resolves.toMatchObject({ link: 'udp-2' });
      // The trigger survived the rebuild: a tombstoned Registration ID cannot come back.
      await expect(store.insert(sampleRegistration(7, { registrationId: '00000000000000a3' as RegistrationId }))).rejects.toMatchObject({ reason: 'DUPLICATE' });
      await store.sync();
    } finally {
      await store.close();
    }
    expect(tables(file)).toEqual(LATEST_SCHEMA_OBJECTS);
    // The column still refuses what is not a link instance id.
    const check = new Database(file);
    try {
      expect(() =>
        check
          .prepare("INSERT INTO registrations VALUES ('00000000000000b1', 1, 'x', 'Bad Link', 'u', 'REGISTERED', 1, 1, 1, NULL)")
          .run(),
      ).toThrow(/CHECK constraint failed/);
      expect(() => check.prepare("INSERT INTO registrations VALUES ('00000000000000b2', 1, 'x', '', 'u', 'REGISTERED', 1, 1, 1, NULL)").run()).toThrow(/CHECK constraint failed/);
    } finally {
      check.close();
    }
  });

  it('upgrades a file made by schema version 2 to 3 (and on to 4): rows kept, each given one day from the upgrade, DEREGISTERING ones as the device started them; expires_at indexed', async () => {
    // A file exactly as the version-2 gateway wrote it: versions 1 and 2, then its rows.
    const file = dir.file('v2.db');
    const raw = new Database(file);
    raw.pragma('journal_mode = WAL');
    raw.exec(MIGRATIONS[0]!.sql);
    raw.exec(MIGRATIONS[1]!.sql);
    raw.pragma('user_version = 2');
    const insert = raw.prepare('INSERT INTO registrations VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    insert.run('00000000000000c1', 42, '127.0.0.1:40001', 'udp', 'gw-1/a', 'REGISTERED', 1, 2);
    insert.run('00000000000000c2', 43, 'serial:/dev/ttyS0', 'serial-2', 'gw-1/b', 'DEREGISTERING', 3, 4);
    raw
      .prepare('INSERT INTO tombstones VALUES (?, ?, ?, ?, ?, ?)')
      .run('00000000000000c3', 44, '127.0.0.1:40003', 'coap', JSON.stringify({ kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: '00000000000000c3', applicationId: 44 }), 9e12);
    raw.close();

    const before = Date.now();
    const store = SqliteRegistrationStore.open(file);
    const after = Date.now();
    try {
      expect(userVersion(file)).toBe(4);
      const a = await store.get('00000000000000c1' as RegistrationId);
      expect(a).toMatchObject({ link: 'udp', applicationId: 42, state: 'REGISTERED', createdAt: 1, updatedAt: 2 });
      // strftime('%s') has whole seconds: the upgrade time is within [before - 1 s, after].
      expect(a?.expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + UPGRADE_LIFETIME_MS);
      expect(a?.expiresAt).toBeLessThanOrEqual(after + UPGRADE_LIFETIME_MS);
      const b = await store.get('00000000000000c2' as RegistrationId);
      expect(b).toMatchObject({ link: 'serial-2', state: 'DEREGISTERING' });
      expect(b).not.toHaveProperty('deregistrationCause');
      await expect(store.getTombstone('00000000000000c3' as RegistrationId, 0)).resolves.toMatchObject({ link: 'coap' });
      await expect(store.insert(sampleRegistration(7, { registrationId: '00000000000000c3' as RegistrationId }))).rejects.toMatchObject({ reason: 'DUPLICATE' });
      await store.sync();
    } finally {
      await store.close();
    }
    const check = new Database(file);
    try {
      // A cause only on a DEREGISTERING record, and only KICKED or EXPIRED.
      expect(() => check.prepare("UPDATE registrations SET deregistration_cause = 'KICKED' WHERE registration_id = '00000000000000c1'").run()).toThrow(/CHECK constraint failed/);
      expect(() => check.prepare("UPDATE registrations SET deregistration_cause = 'BORED' WHERE registration_id = '00000000000000c2'").run()).toThrow(/CHECK constraint failed/);
      check.prepare("UPDATE registrations SET deregistration_cause = 'EXPIRED' WHERE registration_id = '00000000000000c2'").run();
      expect(() => check.prepare("INSERT INTO registrations (registration_id, application_id, layer2_id, link, ue_service_id, state, created_at, updated_at) VALUES ('00000000000000c9', 1, 'x', 'udp', 'u', 'REGISTERED', 1, 1)").run()).toThrow(/NOT NULL constraint failed: registrations.expires_at/);
      const plan = check
        .prepare<[], { detail: string }>("EXPLAIN QUERY PLAN SELECT registration_id FROM registrations WHERE expires_at <= 5 AND state = 'REGISTERED' ORDER BY expires_at LIMIT 10")
        .all()
        .map((r) => r.detail)
        .join('; ');
      expect(plan).toMatch(/USING INDEX registrations_expires_at/);
    } finally {
      check.close();
    }
  });

  it('upgrades a file made by schema version 3 to 4: every row kept, the message tables empty and usable, UE Service IDs indexed', async () => {
    // A file exactly as the version-3 gateway wrote it: versions 1 to 3, then its rows.
    const file = dir.file('v3.db');
    const raw = new Database(file);
    raw.pragma('journal_mode = WAL');
    for (const m of MIGRATIONS.filter((x) => x.version <= 3)) raw.exec(m.sql);
    raw.pragma('user_version = 3');
    const insert = raw.prepare('INSERT INTO registrations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    insert.run('00000000000000d1', 42, '127.0.0.1:40001', 'udp', 'gw-1/127.0.0.1:40001/42', 'REGISTERED', 1, 2, 9e12, null);
    insert.run('00000000000000d2', 43, '127.0.0.1:40001', 'udp', 'gw-1/127.0.0.1:40001/43', 'DEREGISTERING', 3, 4, 9e12, 'KICKED');
    raw
      .prepare('INSERT INTO tombstones VALUES (?, ?, ?, ?, ?, ?)')
      .run('00000000000000d3', 44, '127.0.0.1:40003', 'coap', JSON.stringify({ kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: '00000000000000d3', applicationId: 44 }), 9e12);
    raw.close();
    // The admin view reads a version-3 file without migrating it.
    const before = SqliteRegistrationStore.openReadOnly(file);
    try {
      await expect(before.count()).resolves.toBe(2);
    } finally {
      await before.close();
    }
    expect(userVersion(file)).toBe(3);

    const store = SqliteRegistrationStore.open(file);
    try {
      expect(userVersion(file)).toBe(4);
      await expect(store.get('00000000000000d1' as RegistrationId)).resolves.toMatchObject({ state: 'REGISTERED', expiresAt: 9e12, createdAt: 1 });
      await expect(store.get('00000000000000d2' as RegistrationId)).resolves.toMatchObject({ state: 'DEREGISTERING', deregistrationCause: 'KICKED' });
      await expect(store.getTombstone('00000000000000d3' as RegistrationId, 0)).resolves.toMatchObject({ link: 'coap' });
      await expect(store.findByUeServiceId('gw-1/127.0.0.1:40001/43' as UeServiceId)).resolves.toMatchObject({ registrationId: '00000000000000d2' });
      await expect(store.findByLayer2Id('udp' as LinkId, '127.0.0.1:40001' as Layer2Id)).resolves.toHaveLength(2);
      await expect(store.messages.downlinkDepth()).resolves.toBe(0);
      await expect(store.messages.outboxDepth()).resolves.toBe(0);
      const queued = await store.messages.enqueueDownlink(sampleDownlinkMessage('00000000000000d1' as RegistrationId, 1), { perDevice: 10, total: 10 });
      expect(queued).toMatchObject({ kind: 'QUEUED', item: { seq: 1 } });
      await store.sync();
    } finally {
      await store.close();
    }
    expect(tables(file)).toEqual(LATEST_SCHEMA_OBJECTS);
    // And the admin view reads the version-4 file.
    const after = SqliteRegistrationStore.openReadOnly(file);
    try {
      await expect(after.count()).resolves.toBe(2);
    } finally {
      await after.close();
    }
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
    expect(userVersion(fresh)).toBe(4);
  });
});
