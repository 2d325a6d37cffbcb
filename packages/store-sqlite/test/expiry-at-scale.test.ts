/**
 * The expiry scheduler of @msgin5g/core over this store with 100,000 REGISTERED records: each
 * expiry is ended at its own millisecond (FakeClock), each firing costs two indexed queries (the due
 * batch, then the empty read), and nothing runs in between: no scan of the records. Real time per
 * firing is printed, not asserted.
 */
import Database from 'better-sqlite3';
import { GatewayProcedures, silentLogger, type UeServiceId } from '@msgin5g/core';
import { FakeClock, FakeServerLink, InMemoryDeviceLink, SequenceRegistrationIdAllocator, sampleRegistration } from '@msgin5g/core/testing';
import { SqliteRegistrationStore } from '../src';
import { makeTempDir, type TempDir } from './temp-dir';

const N = 100_000;

describe('expiry over SqliteRegistrationStore at 100k registrations', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => {
    dir.remove();
  });

  it('ends each registration at its expiresAt, two index queries per firing, none in between', async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const file = dir.file('scale.db');
    await SqliteRegistrationStore.open(file, { synchronous: 'NORMAL' }).close();
    const raw = new Database(file);
    const insert = raw.prepare('INSERT INTO registrations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)');
    raw.transaction(() => {
      for (let i = 0; i < N; i++) {
        const r = sampleRegistration(i + 1, { state: 'REGISTERED' });
        // One expiry per second from t0 + 10 s, in shuffled order.
        insert.run(r.registrationId, r.applicationId, `dev-${i}`, r.link, `gw-1/dev-${i}/${r.applicationId}`, r.state, t0, t0, t0 + 10_000 + ((i * 7919) % N) * 1000);
      }
    })();
    raw.close();

    const store = SqliteRegistrationStore.open(file, { synchronous: 'NORMAL' });
    try {
      const server = new FakeServerLink();
      const gw = new GatewayProcedures(
        { store, server, links: [new InMemoryDeviceLink('udp')], clock, allocator: new SequenceRegistrationIdAllocator(), authorizer: { authorize: () => ({ allowed: true }) }, logger: silentLogger },
        { gatewayUeServiceId: 'gw-1' as UeServiceId },
      );
      await gw.registerGateway();
      const due = jest.spyOn(store, 'dueExpiries');
      await expect(gw.startExpiry()).resolves.toBe(0);
      expect(gw.expiryStatus.armedFor).toBe(t0 + 10_000);
      const timings: number[] = [];
      for (let k = 0; k < 5; k++) {
        const at = t0 + 10_000 + k * 1000;
        const before = due.mock.calls.length;
        clock.advance(at - 1 - clock.now());
        await gw.whenIdle();
        await expect(store.count()).resolves.toBe(N - k); // not a millisecond early
        const queries = due.mock.calls.length;
        expect(queries - before).toBe(0); // nothing ran in between
        const started = process.hrtime.bigint();
        clock.advance(1);
        await gw.whenIdle();
        timings.push(Number(process.hrtime.bigint() - started) / 1e6);
        await expect(store.count()).resolves.toBe(N - k - 1);
        expect(due.mock.calls.length - queries).toBe(2);
        expect(gw.expiryStatus.armedFor).toBe(at + 1000);
      }
      expect(server.calls.filter((c) => c.operation === 'DEREG')).toHaveLength(5);
      process.stderr.write(`expiry at ${N} registrations: ms per firing (end + commit + re-arm) ${timings.map((t) => t.toFixed(1)).join(', ')}\n`);
    } finally {
      await store.close();
    }
  }, 120_000);
});
