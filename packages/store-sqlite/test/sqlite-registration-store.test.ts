import { EXCHANGE_LIFETIME_MS, type LinkId, type RegistrationState, type Tombstone } from '@msgin5g/core';
import { sampleRegistration } from '@msgin5g/core/testing';
import { SqliteRegistrationStore } from '../src';

const T0 = 1_800_000_000_000;

function tombstoneOf(n: number, overrides: Partial<Tombstone> = {}): Tombstone {
  const r = sampleRegistration(n);
  return {
    registrationId: r.registrationId,
    applicationId: r.applicationId,
    layer2Id: r.layer2Id,
    link: r.link,
    response: { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: r.registrationId, applicationId: r.applicationId },
    expiresAt: T0 + EXCHANGE_LIFETIME_MS,
    ...overrides,
  };
}

describe('SqliteRegistrationStore (beyond the contract)', () => {
  let store: SqliteRegistrationStore;
  beforeEach(() => {
    store = SqliteRegistrationStore.open(':memory:');
  });
  afterEach(async () => {
    await store.close();
  });

  it('rolls back the removal when the tombstone cannot be written: the mapping stays', async () => {
    const r = sampleRegistration(1, { state: 'DEREGISTERING' });
    await store.insert(r);
    // A link the schema's CHECK refuses makes the second statement of the transaction fail.
    await expect(store.remove(r.registrationId, tombstoneOf(1, { link: 'Bogus Link' as LinkId }))).rejects.toMatchObject({
      name: 'RegistrationStoreError',
      reason: 'IO',
    });
    await expect(store.get(r.registrationId)).resolves.toEqual(r);
    await expect(store.getTombstone(r.registrationId, T0)).resolves.toBeUndefined();
  });

  it('writes no tombstone when there is no record to remove', async () => {
    const t = tombstoneOf(2);
    await expect(store.remove(t.registrationId, t)).resolves.toBeUndefined();
    await expect(store.getTombstone(t.registrationId, T0)).resolves.toBeUndefined();
  });

  it('refuses (TypeError) a tombstone for another Registration ID, changing nothing', async () => {
    const r = sampleRegistration(3);
    await store.insert(r);
    await expect(store.remove(r.registrationId, tombstoneOf(4))).rejects.toBeInstanceOf(TypeError);
    await expect(store.get(r.registrationId)).resolves.toEqual(r);
  });

  it('refuses a record the schema cannot hold (bad state) with IO, not DUPLICATE', async () => {
    await expect(store.insert(sampleRegistration(5, { state: 'LIMBO' as RegistrationState }))).rejects.toMatchObject({
      reason: 'IO',
      message: expect.stringContaining('SQLITE_CONSTRAINT_CHECK'),
    });
    await expect(store.count()).resolves.toBe(0);
  });

  it('lists nothing for an empty state set', async () => {
    await store.insert(sampleRegistration(6));
    await expect(store.list([])).resolves.toEqual([]);
  });

  it('answers the device key exactly: another Application ID or link is another device', async () => {
    const r = sampleRegistration(7);
    await store.insert(r);
    await expect(store.findByDevice('coap', r.layer2Id, r.applicationId)).resolves.toBeUndefined();
    await expect(store.findByDevice(r.link, r.layer2Id, ((r.applicationId + 1) % 65536) as typeof r.applicationId)).resolves.toBeUndefined();
    await expect(store.findByDevice(r.link, r.layer2Id, r.applicationId)).resolves.toEqual(r);
  });

  it('close() is idempotent', async () => {
    await store.close();
    await expect(store.close()).resolves.toBeUndefined();
    await expect(store.count()).rejects.toMatchObject({ reason: 'CLOSED' });
  });
});
