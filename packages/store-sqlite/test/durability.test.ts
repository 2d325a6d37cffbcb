import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EXCHANGE_LIFETIME_MS, type RegistrationId, type Tombstone } from '@msgin5g/core';
import { sampleRegistration } from '@msgin5g/core/testing';
import { LineProcess } from '@msgin5g/test-support';
import { SqliteRegistrationStore } from '../src';
import { makeTempDir, type TempDir } from './temp-dir';

const T0 = 1_800_000_000_000;

function tombstoneOf(n: number, expiresAt: number): Tombstone {
  const r = sampleRegistration(n);
  return {
    registrationId: r.registrationId,
    applicationId: r.applicationId,
    layer2Id: r.layer2Id,
    link: r.link,
    response: { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: r.registrationId, applicationId: r.applicationId },
    expiresAt,
  };
}

describe('SqliteRegistrationStore durability', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => {
    dir.remove();
  });

  it('keeps records, states and tombstones across close and reopen', async () => {
    const file = dir.file('gateway.db');
    const first = SqliteRegistrationStore.open(file);
    for (let i = 1; i <= 5; i++) await first.insert(sampleRegistration(i));
    const registered = await first.transition(sampleRegistration(2).registrationId, 'REGISTERING', 'REGISTERED', T0 + 50);
    const t = tombstoneOf(3, T0 + EXCHANGE_LIFETIME_MS);
    await first.remove(sampleRegistration(3).registrationId, t);
    await first.close();

    const second = SqliteRegistrationStore.open(file);
    try {
      await expect(second.count()).resolves.toBe(4);
      await expect(second.get(sampleRegistration(1).registrationId)).resolves.toEqual(sampleRegistration(1));
      await expect(second.get(sampleRegistration(2).registrationId)).resolves.toEqual(registered);
      await expect(second.get(sampleRegistration(3).registrationId)).resolves.toBeUndefined();
      await expect(second.getTombstone(t.registrationId, T0)).resolves.toEqual(t);
      // The tombstone still guards the Registration ID after the restart.
      await expect(second.insert(sampleRegistration(3))).rejects.toMatchObject({ reason: 'DUPLICATE' });
    } finally {
      await second.close();
    }
  });

  it('refuses a parent directory that cannot be created with IO, at once (no endless mkdir under /proc)', () => {
    const started = Date.now();
    expect(() => SqliteRegistrationStore.open('/proc/msgin5g-nope/x/gateway.db')).toThrow(expect.objectContaining({ name: 'RegistrationStoreError', reason: 'IO' }));
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('creates missing parent directories and uses WAL for files', async () => {
    const file = join(dir.path, 'a', 'b', 'c', 'gateway.db');
    const store = SqliteRegistrationStore.open(file);
    await store.insert(sampleRegistration(1));
    await store.close();
    expect(existsSync(file)).toBe(true);
    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
  });

  it('keeps a write once sync() resolved when the process is killed right after (SIGKILL); an applied write not yet synced may be lost', async () => {
    const file = dir.file('crash.db');
    const dist = join(__dirname, '..', 'dist', 'index.js');
    if (!existsSync(dist)) throw new Error(`${dist} is missing: build the package (npx tsc -b) before running its tests`);
    // The child inserts and syncs, reports it, then waits to be killed: no close, no checkpoint.
    // Then it applies one more insert and kills itself before the turn ends (before its commit).
    const script = `
      const { SqliteRegistrationStore } = require(${JSON.stringify(dist)});
      const store = SqliteRegistrationStore.open(${JSON.stringify(file)});
      const r = ${JSON.stringify(sampleRegistration(77))};
      const unsynced = ${JSON.stringify(sampleRegistration(78))};
      store.insert(r).then(() => store.sync()).then(() => process.stdout.write('committed\\n'));
      process.on('SIGUSR2', () => store.insert(unsynced).then(() => process.kill(process.pid, 'SIGKILL')));
      setTimeout(() => process.exit(3), 10000);
    `;
    const child = LineProcess.start(process.execPath, ['-e', script], { name: 'store child' });
    try {
      await child.waitForLine((l) => l === 'committed', { what: '"committed"' });
      // SIGUSR2 makes it apply one more insert and SIGKILL itself (else it exits 3 within 10 s).
      child.child.kill('SIGUSR2');
      await expect(child.exited).resolves.toEqual({ code: null, signal: 'SIGKILL' });
    } finally {
      await child.stop('SIGKILL');
    }
    const store = SqliteRegistrationStore.open(file);
    try {
      await expect(store.get(sampleRegistration(77).registrationId)).resolves.toEqual(sampleRegistration(77));
      // Killed between applying and committing: the write is gone, never half-written.
      await expect(store.get(sampleRegistration(78).registrationId)).resolves.toBeUndefined();
      await expect(store.count()).resolves.toBe(1);
    } finally {
      await store.close();
    }
  });

  it('reads rows written by hand defensively: a corrupt row rejects with IO', async () => {
    const file = dir.file('corrupt.db');
    await SqliteRegistrationStore.open(file).close();
    const raw = new Database(file);
    raw
      .prepare('INSERT INTO registrations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run('not-hex', 1, '127.0.0.1:1', 'udp', 'gw/x', 'REGISTERED', T0, T0, T0, null);
    raw.close();
    const store = SqliteRegistrationStore.open(file);
    try {
      await expect(store.get('not-hex' as RegistrationId)).rejects.toMatchObject({ name: 'RegistrationStoreError', reason: 'IO' });
      await expect(store.list()).rejects.toMatchObject({ reason: 'IO', message: expect.stringContaining('registration_id') });
    } finally {
      await store.close();
    }
  });
});
