/// <reference types="jest" />
/**
 * Contract suite of the `RegistrationStore` port. Every adapter and every double runs it, with a
 * factory that opens a fresh, empty store per test (the suite closes it after each test):
 * `registrationStoreContract('SqliteRegistrationStore(:memory:)', () => SqliteRegistrationStore.open(':memory:'))`
 * (the constructor is private; `open(path, options)` creates, migrates and opens the store), or
 * `registrationStoreContract('InMemoryRegistrationStore', () => new InMemoryRegistrationStore())`.
 */
import type { ApplicationId, Layer2Id, LinkId, RegistrationId, UeServiceId } from '../ids';
import { RegistrationStoreError, type RegistrationStore } from '../ports/registration-store';
import type { Registration, Tombstone } from '../registration';
import { EXCHANGE_LIFETIME_MS } from '../state-machine';

const T0 = 1_800_000_000_000;

/** A registration record for tests; fields override the defaults. */
export function sampleRegistration(n: number, overrides: Partial<Registration> = {}): Registration {
  return {
    registrationId: n.toString(16).padStart(16, '0') as RegistrationId,
    applicationId: (n % 65536) as ApplicationId,
    layer2Id: `127.0.0.1:${40000 + (n % 20000)}` as Layer2Id,
    link: 'udp' as LinkId,
    ueServiceId: `gw-1/127.0.0.1:${40000 + (n % 20000)}/${n}` as UeServiceId,
    state: 'REGISTERING',
    createdAt: T0 + n,
    updatedAt: T0 + n,
    expiresAt: T0 + 86_400_000 + n,
    ...overrides,
  };
}

function tombstoneOf(r: Registration, expiresAt: number): Tombstone {
  return {
    registrationId: r.registrationId,
    applicationId: r.applicationId,
    layer2Id: r.layer2Id,
    link: r.link,
    response: { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: r.registrationId, applicationId: r.applicationId },
    expiresAt,
  };
}

async function expectStoreError(p: Promise<unknown>, reason: RegistrationStoreError['reason']): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(RegistrationStoreError);
  await expect(p).rejects.toMatchObject({ reason });
}

export function registrationStoreContract(name: string, create: () => Promise<RegistrationStore> | RegistrationStore): void {
  describe(`RegistrationStore contract: ${name}`, () => {
    let store: RegistrationStore;
    beforeEach(async () => {
      store = await create();
    });
    afterEach(async () => {
      await store.close();
    });

    it('keeps any valid link instance id, not only the built-in kinds (an open link seam)', async () => {
      const serial = sampleRegistration(7, { link: 'serial-2' as LinkId, layer2Id: 'serial:/dev/ttyUSB0' as Layer2Id });
      const udp2 = sampleRegistration(8, { link: 'udp-2' as LinkId, layer2Id: serial.layer2Id, applicationId: serial.applicationId });
      await expect(store.insert(serial)).resolves.toEqual(serial);
      // The same device on another link instance is another registration.
      await expect(store.insert(udp2)).resolves.toEqual(udp2);
      await expect(store.findByDevice('serial-2' as LinkId, serial.layer2Id, serial.applicationId)).resolves.toEqual(serial);
      await expect(store.findByDevice('udp-2' as LinkId, serial.layer2Id, serial.applicationId)).resolves.toEqual(udp2);
      await expect(store.findByDevice('udp' as LinkId, serial.layer2Id, serial.applicationId)).resolves.toBeUndefined();
      const t = tombstoneOf(serial, T0 + 1000);
      await store.remove(serial.registrationId, t);
      await expect(store.getTombstone(serial.registrationId, T0)).resolves.toEqual(t);
    });

    it('inserts and reads back a registration by Registration ID and by device', async () => {
      const r = sampleRegistration(1);
      await expect(store.insert(r)).resolves.toEqual(r);
      await expect(store.get(r.registrationId)).resolves.toEqual(r);
      await expect(store.findByDevice(r.link, r.layer2Id, r.applicationId)).resolves.toEqual(r);
      await expect(store.findByApplicationId(r.applicationId)).resolves.toEqual([r]);
      await expect(store.count()).resolves.toBe(1);
    });

    it('rejects a second record with the same Registration ID (DUPLICATE) and keeps the first', async () => {
      const r = sampleRegistration(1);
      await store.insert(r);
      await expectStoreError(store.insert(sampleRegistration(1, { applicationId: 7 as ApplicationId, layer2Id: 'x:1' as Layer2Id })), 'DUPLICATE');
      await expect(store.get(r.registrationId)).resolves.toEqual(r);
      await expect(store.count()).resolves.toBe(1);
    });

    it('rejects a second record for the same (link, Layer-2 ID, Application ID) (DUPLICATE)', async () => {
      const r = sampleRegistration(1);
      await store.insert(r);
      await expectStoreError(store.insert(sampleRegistration(2, { layer2Id: r.layer2Id, applicationId: r.applicationId })), 'DUPLICATE');
      await expect(store.count()).resolves.toBe(1);
    });

    it('counts records per (state, link instance), leaving out empty pairs', async () => {
      await expect(store.countByStateAndLink()).resolves.toEqual([]);
      await store.insert(sampleRegistration(1, { state: 'REGISTERED' }));
      await store.insert(sampleRegistration(2, { state: 'REGISTERED' }));
      await store.insert(sampleRegistration(3, { link: 'coap' as LinkId }));
      await store.insert(sampleRegistration(4));
      await store.sync();
      const rows = [...(await store.countByStateAndLink())].sort((a, b) => `${a.state}${a.link}`.localeCompare(`${b.state}${b.link}`));
      expect(rows).toEqual([
        { state: 'REGISTERED', link: 'udp', count: 2 },
        { state: 'REGISTERING', link: 'coap', count: 1 },
        { state: 'REGISTERING', link: 'udp', count: 1 },
      ]);
    });

    it('allows the same Layer-2 ID and Application ID on another link', async () => {
      const r = sampleRegistration(1);
      await store.insert(r);
      await store.insert(sampleRegistration(2, { layer2Id: r.layer2Id, applicationId: r.applicationId, link: 'coap' as LinkId }));
      await expect(store.count()).resolves.toBe(2);
    });

    it('returns undefined for unknown ids', async () => {
      await expect(store.get('ffffffffffffffff' as RegistrationId)).resolves.toBeUndefined();
      await expect(store.findByDevice('udp' as LinkId, '1.2.3.4:5' as Layer2Id, 1 as ApplicationId)).resolves.toBeUndefined();
      await expect(store.remove('ffffffffffffffff' as RegistrationId)).resolves.toBeUndefined();
    });

    it('transitions state only from the expected state and returns the new record', async () => {
      const r = sampleRegistration(3);
      await store.insert(r);
      const next = await store.transition(r.registrationId, 'REGISTERING', 'REGISTERED', T0 + 100);
      expect(next).toEqual({ ...r, state: 'REGISTERED', updatedAt: T0 + 100 });
      await expect(store.transition(r.registrationId, 'REGISTERING', 'DEREGISTERING', T0 + 200)).resolves.toBeUndefined();
      await expect(store.get(r.registrationId)).resolves.toEqual(next);
    });

    it('records who started a de-registration (the gateway, with its cause) and clears it on the next transition', async () => {
      const r = sampleRegistration(5, { state: 'REGISTERED' });
      await store.insert(r);
      const kicked = await store.transition(r.registrationId, 'REGISTERED', 'DEREGISTERING', T0 + 100, 'KICKED');
      expect(kicked).toEqual({ ...r, state: 'DEREGISTERING', updatedAt: T0 + 100, deregistrationCause: 'KICKED' });
      await expect(store.get(r.registrationId)).resolves.toEqual(kicked);
      const back = await store.transition(r.registrationId, 'DEREGISTERING', 'REGISTERED', T0 + 200);
      expect(back).toEqual({ ...r, state: 'REGISTERED', updatedAt: T0 + 200 });
      expect(back).not.toHaveProperty('deregistrationCause');
      // The device's own de-registration: no cause.
      const own = await store.transition(r.registrationId, 'REGISTERED', 'DEREGISTERING', T0 + 300);
      expect(own).not.toHaveProperty('deregistrationCause');
      // A cause on a transition to any other state is not recorded.
      const s2 = sampleRegistration(6);
      await store.insert(s2);
      const registered = await store.transition(s2.registrationId, 'REGISTERING', 'REGISTERED', T0 + 400, 'EXPIRED');
      expect(registered).not.toHaveProperty('deregistrationCause');
    });

    it('refreshExpiry sets expiresAt of a REGISTERED record only, and returns it', async () => {
      const r = sampleRegistration(10, { state: 'REGISTERED' });
      const pending = sampleRegistration(11, { state: 'REGISTERING' });
      await store.insert(r);
      await store.insert(pending);
      const refreshed = await store.refreshExpiry(r.registrationId, T0 + 5000, T0 + 100);
      expect(refreshed).toEqual({ ...r, expiresAt: T0 + 5000, updatedAt: T0 + 100 });
      await expect(store.get(r.registrationId)).resolves.toEqual(refreshed);
      await expect(store.refreshExpiry(pending.registrationId, T0 + 5000, T0 + 100)).resolves.toBeUndefined();
      await expect(store.get(pending.registrationId)).resolves.toEqual(pending);
      await expect(store.refreshExpiry('ffffffffffffffff' as RegistrationId, T0, T0)).resolves.toBeUndefined();
    });

    it('dueExpiries lists REGISTERED records due at now, earliest first, at most limit; nextExpiry gives the earliest', async () => {
      await expect(store.nextExpiry()).resolves.toBeUndefined();
      await expect(store.dueExpiries(T0, 10)).resolves.toEqual([]);
      const late = sampleRegistration(20, { state: 'REGISTERED', expiresAt: T0 + 300 });
      const early = sampleRegistration(21, { state: 'REGISTERED', expiresAt: T0 + 100 });
      const middle = sampleRegistration(22, { state: 'REGISTERED', expiresAt: T0 + 200 });
      const future = sampleRegistration(23, { state: 'REGISTERED', expiresAt: T0 + 10_000 });
      // Not REGISTERED: never due, not the next expiry, whatever expiresAt says.
      const registering = sampleRegistration(24, { state: 'REGISTERING', expiresAt: T0 });
      const deregistering = sampleRegistration(25, { state: 'DEREGISTERING', expiresAt: T0 });
      for (const r of [late, early, middle, future, registering, deregistering]) await store.insert(r);
      await expect(store.nextExpiry()).resolves.toBe(T0 + 100);
      await expect(store.dueExpiries(T0 + 99, 10)).resolves.toEqual([]);
      await expect(store.dueExpiries(T0 + 100, 10)).resolves.toEqual([early]);
      await expect(store.dueExpiries(T0 + 300, 10)).resolves.toEqual([early, middle, late]);
      await expect(store.dueExpiries(T0 + 300, 2)).resolves.toEqual([early, middle]);
      await store.remove(early.registrationId);
      await expect(store.nextExpiry()).resolves.toBe(T0 + 200);
      await store.refreshExpiry(middle.registrationId, T0 + 20_000, T0 + 150);
      await expect(store.dueExpiries(T0 + 300, 10)).resolves.toEqual([late]);
      await expect(store.nextExpiry()).resolves.toBe(T0 + 300);
    });

    it('keeps expiresAt as written', async () => {
      const r = sampleRegistration(9, { state: 'REGISTERED', expiresAt: T0 + 1234 });
      await store.insert(r);
      await expect(store.get(r.registrationId)).resolves.toMatchObject({ expiresAt: T0 + 1234 });
    });

    it('removes a record and writes its tombstone together', async () => {
      const r = sampleRegistration(4, { state: 'DEREGISTERING' });
      await store.insert(r);
      const t = tombstoneOf(r, T0 + EXCHANGE_LIFETIME_MS);
      await expect(store.remove(r.registrationId, t)).resolves.toEqual(r);
      await expect(store.get(r.registrationId)).resolves.toBeUndefined();
      await expect(store.findByDevice(r.link, r.layer2Id, r.applicationId)).resolves.toBeUndefined();
      await expect(store.getTombstone(r.registrationId, T0 + 1000)).resolves.toEqual(t);
      await expect(store.count()).resolves.toBe(0);
    });

    it('never lets a tombstoned Registration ID be inserted again', async () => {
      const r = sampleRegistration(5);
      await store.insert(r);
      await store.remove(r.registrationId, tombstoneOf(r, T0 + EXCHANGE_LIFETIME_MS));
      await expectStoreError(store.insert(sampleRegistration(5, { layer2Id: '10.0.0.1:1' as Layer2Id })), 'DUPLICATE');
    });

    it('lets the device register again after removal (new Registration ID)', async () => {
      const r = sampleRegistration(6);
      await store.insert(r);
      await store.remove(r.registrationId, tombstoneOf(r, T0 + EXCHANGE_LIFETIME_MS));
      const again = sampleRegistration(7, { layer2Id: r.layer2Id, applicationId: r.applicationId });
      await expect(store.insert(again)).resolves.toEqual(again);
    });

    it('hides expired tombstones and purges them', async () => {
      const a = sampleRegistration(8);
      const b = sampleRegistration(9);
      await store.insert(a);
      await store.insert(b);
      await store.remove(a.registrationId, tombstoneOf(a, T0 + 10));
      await store.remove(b.registrationId, tombstoneOf(b, T0 + 1_000_000));
      await expect(store.getTombstone(a.registrationId, T0 + 10)).resolves.toBeUndefined();
      await expect(store.getTombstone(b.registrationId, T0 + 10)).resolves.toBeDefined();
      await expect(store.purgeTombstones(T0 + 10)).resolves.toBe(1);
      await expect(store.purgeTombstones(T0 + 10)).resolves.toBe(0);
    });

    it('keeps a failure response in a tombstone byte-for-byte (fields and their absence)', async () => {
      const r = sampleRegistration(10);
      await store.insert(r);
      const t: Tombstone = { ...tombstoneOf(r, T0 + 500), response: { kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'SERVER_UNREACHABLE' } };
      await store.remove(r.registrationId, t);
      await expect(store.getTombstone(r.registrationId, T0)).resolves.toEqual(t);
    });

    it('lists records by state, oldest first', async () => {
      await store.insert(sampleRegistration(12, { state: 'REGISTERED' }));
      await store.insert(sampleRegistration(11, { state: 'DEREGISTERING' }));
      await store.insert(sampleRegistration(13, { state: 'REGISTERING' }));
      const pending = await store.list(['REGISTERING', 'DEREGISTERING']);
      expect(pending.map((r) => r.registrationId)).toEqual([sampleRegistration(11).registrationId, sampleRegistration(13).registrationId]);
      await expect(store.list()).resolves.toHaveLength(3);
    });

    it('pages records in Registration ID order after a cursor, with filters, none twice and none left out', async () => {
      // Inserted out of order, across two links, three states and two Application IDs.
      const ids = [37, 5, 90, 12, 64, 3, 71, 28, 45, 19, 88, 50];
      const states = ['REGISTERED', 'REGISTERING', 'DEREGISTERING'] as const;
      const all = ids.map((n, i) =>
        sampleRegistration(n, { state: states[i % 3], link: (i % 2 === 0 ? 'udp' : 'coap') as LinkId, applicationId: (i % 4 === 0 ? 7 : 8) as ApplicationId, layer2Id: `10.0.0.${n}:5683` as Layer2Id }),
      );
      for (const r of all) await store.insert(r);
      const sorted = (rs: Registration[]) => rs.map((r) => r.registrationId).sort();
      const walk = async (filter: Parameters<RegistrationStore['page']>[0], limit: number) => {
        const seen: string[] = [];
        let after: RegistrationId | undefined;
        for (let pages = 0; pages < 50; pages++) {
          const page = await store.page(filter, after, limit);
          expect(page.length).toBeLessThanOrEqual(limit);
          seen.push(...page.map((r) => r.registrationId));
          if (page.length < limit) return seen;
          after = page[page.length - 1]!.registrationId;
        }
        throw new Error('more than 50 pages');
      };
      await expect(walk({}, 5)).resolves.toEqual(sorted(all));
      await expect(walk({}, 1)).resolves.toEqual(sorted(all));
      await expect(walk({}, 1000)).resolves.toEqual(sorted(all));
      await expect(walk({ state: 'REGISTERED' }, 2)).resolves.toEqual(sorted(all.filter((r) => r.state === 'REGISTERED')));
      await expect(walk({ link: 'coap' as LinkId }, 4)).resolves.toEqual(sorted(all.filter((r) => r.link === 'coap')));
      await expect(walk({ applicationId: 7 as ApplicationId, link: 'udp' as LinkId }, 2)).resolves.toEqual(sorted(all.filter((r) => r.applicationId === 7 && r.link === 'udp')));
      await expect(walk({ link: 'l2' as LinkId }, 3)).resolves.toEqual([]);
      // The page holds whole records, and the cursor need not be a stored ID.
      const first = await store.page({}, undefined, 1);
      expect(first).toEqual([all.find((r) => r.registrationId === sorted(all)[0])]);
      const afterGap = await store.page({}, sampleRegistration(40).registrationId, 2);
      expect(afterGap.map((r) => r.registrationId)).toEqual([sampleRegistration(45).registrationId, sampleRegistration(50).registrationId]);
      await expect(store.page({}, sampleRegistration(90).registrationId, 10)).resolves.toEqual([]);
    });

    it('refuses a page limit that is not an integer >= 1 (RangeError) and a page after close (CLOSED)', async () => {
      await expect(store.page({}, undefined, 0)).rejects.toBeInstanceOf(RangeError);
      await expect(store.page({}, undefined, 1.5)).rejects.toBeInstanceOf(RangeError);
      await store.close();
      await expectStoreError(store.page({}, undefined, 10), 'CLOSED');
    });

    it('findByLayer2Id lists the live records of one Layer-2 ID on one link instance, oldest first', async () => {
      const layer2Id = '127.0.0.1:45000' as Layer2Id;
      // Inserted out of createdAt order; one on another link instance, one on another Layer-2 ID.
      const late = sampleRegistration(31, { layer2Id, applicationId: 1 as ApplicationId, createdAt: T0 + 300 });
      const early = sampleRegistration(32, { layer2Id, applicationId: 2 as ApplicationId, createdAt: T0 + 100 });
      const middle = sampleRegistration(33, { layer2Id, applicationId: 3 as ApplicationId, createdAt: T0 + 200, state: 'REGISTERED' });
      const otherLink = sampleRegistration(34, { layer2Id, applicationId: 1 as ApplicationId, link: 'udp-2' as LinkId, createdAt: T0 + 50 });
      const otherDevice = sampleRegistration(35, { layer2Id: '127.0.0.1:45001' as Layer2Id, applicationId: 4 as ApplicationId, createdAt: T0 + 60 });
      for (const r of [late, early, middle, otherLink, otherDevice]) await store.insert(r);
      await expect(store.findByLayer2Id('udp' as LinkId, layer2Id)).resolves.toEqual([early, middle, late]);
      await expect(store.findByLayer2Id('udp-2' as LinkId, layer2Id)).resolves.toEqual([otherLink]);
      await expect(store.findByLayer2Id('coap' as LinkId, layer2Id)).resolves.toEqual([]);
      await store.remove(middle.registrationId);
      await expect(store.findByLayer2Id('udp' as LinkId, layer2Id)).resolves.toEqual([early, late]);
    });

    it('findByUeServiceId finds the live record with that UE Service ID, undefined once it is removed', async () => {
      const a = sampleRegistration(41, { ueServiceId: 'ue-device-41' as UeServiceId, state: 'REGISTERED' });
      const b = sampleRegistration(42);
      await store.insert(a);
      await store.insert(b);
      await expect(store.findByUeServiceId('ue-device-41' as UeServiceId)).resolves.toEqual(a);
      await expect(store.findByUeServiceId(b.ueServiceId)).resolves.toEqual(b);
      await expect(store.findByUeServiceId('ue-device-4' as UeServiceId)).resolves.toBeUndefined();
      await store.remove(a.registrationId, tombstoneOf(a, T0 + 1000));
      await expect(store.findByUeServiceId(a.ueServiceId)).resolves.toBeUndefined();
    });

    it('finds every live record of an Application ID', async () => {
      await store.insert(sampleRegistration(20, { applicationId: 42 as ApplicationId }));
      await store.insert(sampleRegistration(21, { applicationId: 42 as ApplicationId }));
      await store.insert(sampleRegistration(22, { applicationId: 43 as ApplicationId }));
      await expect(store.findByApplicationId(42 as ApplicationId)).resolves.toHaveLength(2);
    });

    it('holds 2,000 records and finds each', async () => {
      for (let i = 100; i < 2100; i++) await store.insert(sampleRegistration(i, { state: 'REGISTERED' }));
      await expect(store.count()).resolves.toBe(2000);
      for (let i = 100; i < 2100; i += 97) {
        await expect(store.get(sampleRegistration(i).registrationId)).resolves.toMatchObject({ state: 'REGISTERED' });
      }
    });

    it('sync() resolves with nothing pending, and after writes that every later call already sees', async () => {
      await expect(store.sync()).resolves.toBeUndefined();
      const a = sampleRegistration(7);
      const b = sampleRegistration(8);
      // Applied before they are durable: a read issued before sync() sees the writes.
      await store.insert(a);
      await store.insert(b);
      await store.transition(a.registrationId, 'REGISTERING', 'REGISTERED', T0 + 100);
      await store.remove(b.registrationId, tombstoneOf(b, T0 + 10_000));
      await expect(store.get(a.registrationId)).resolves.toMatchObject({ state: 'REGISTERED' });
      await expect(store.getTombstone(b.registrationId, T0)).resolves.toBeDefined();
      await expect(store.sync()).resolves.toBeUndefined();
      await expect(store.get(a.registrationId)).resolves.toMatchObject({ state: 'REGISTERED' });
      await expect(store.get(b.registrationId)).resolves.toBeUndefined();
      await expect(store.count()).resolves.toBe(1);
    });

    it('a rejected write in the middle of a batch changes nothing and leaves the others in place', async () => {
      const a = sampleRegistration(11);
      const clash = sampleRegistration(12, { registrationId: a.registrationId });
      const c = sampleRegistration(13);
      const writes = [store.insert(a), store.insert(clash), store.insert(c)];
      const settled = await Promise.allSettled(writes);
      expect(settled.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      await store.sync();
      await expect(store.get(a.registrationId)).resolves.toEqual(a);
      await expect(store.get(c.registrationId)).resolves.toEqual(c);
      await expect(store.findByDevice(clash.link, clash.layer2Id, clash.applicationId)).resolves.toBeUndefined();
      await expect(store.count()).resolves.toBe(2);
    });

    it('rejects every call after close() with CLOSED', async () => {
      await store.close();
      await expectStoreError(store.get(sampleRegistration(1).registrationId), 'CLOSED');
      await expectStoreError(store.insert(sampleRegistration(1)), 'CLOSED');
      await expectStoreError(store.sync(), 'CLOSED');
      store = await create(); // afterEach closes this one
    });
  });
}
