/**
 * The chaos run's end-state check must not be vacuous: fed a consistent end state it finds
 * nothing, and fed each kind of inconsistency (fabricated) it names it. Also the seeded PRNG the run
 * draws its choices from repeats for a seed.
 */
import type { DeviceRecord, Told } from '../src/chaos/chaos-device';
import { checkEndState, type EndStateInput, type StoredMapping, type ViolationKind } from '../src/chaos/check-end-state';
import { SeededRandom } from '../src/chaos/seeded-random';

const GW = 'msgin5g-gateway-1';

function device(index: number, told: Told, extra: Partial<DeviceRecord> = {}): DeviceRecord {
  const successes: Array<{ operation: 'REG' | 'DEREG'; registrationId: string }> = [];
  if (told.kind === 'registered') successes.push({ operation: 'REG', registrationId: told.registrationId });
  if (told.kind === 'de-registered') successes.push({ operation: 'REG', registrationId: told.registrationId }, { operation: 'DEREG', registrationId: told.registrationId });
  if (told.kind === 'failed' && told.registrationId !== undefined) successes.push({ operation: 'REG', registrationId: told.registrationId });
  return { index, applicationId: 1000 + index, layer2Id: `127.0.0.1:${40000 + index}`, plannedDeregistration: told.kind === 'de-registered', told, successes, retries: 0, retryReasons: {}, ...extra };
}

const rid = (i: number) => i.toString(16).padStart(16, '0');
const ueOf = (d: DeviceRecord) => `${GW}/${d.layer2Id}/${d.applicationId}`;
const mappingOf = (d: DeviceRecord, registrationId: string, state: StoredMapping['state'] = 'REGISTERED'): StoredMapping => ({
  registrationId,
  applicationId: d.applicationId,
  layer2Id: d.layer2Id,
  ueServiceId: ueOf(d),
  state,
});

/** Four devices: registered, de-registered, REG failed, DEREG failed (mapping kept); store and registry agree. */
function consistent(): { devices: DeviceRecord[]; store: StoredMapping[]; registry: string[] } {
  const devices = [
    device(0, { kind: 'registered', registrationId: rid(1) }),
    device(1, { kind: 'de-registered', registrationId: rid(2) }),
    device(2, { kind: 'failed', operation: 'REG', reason: 'SERVER_REJECTED' }),
    device(3, { kind: 'failed', operation: 'DEREG', reason: 'SERVER_REJECTED', registrationId: rid(4) }),
  ];
  const store = [mappingOf(devices[0]!, rid(1)), mappingOf(devices[3]!, rid(4))];
  return { devices, store, registry: store.map((m) => m.ueServiceId) };
}

const kinds = (input: EndStateInput) => [...new Set(checkEndState(input).violations.map((v) => v.kind))].sort();

describe('chaos end-state check', () => {
  it('finds nothing in a consistent end state, and counts what it saw', () => {
    const c = consistent();
    const r = checkEndState({ ...c, gatewayUeServiceId: GW });
    expect(r.violations).toEqual([]);
    expect(r.storeByState).toEqual({ REGISTERED: 2, REGISTERING: 0, DEREGISTERING: 0 });
    expect(r.registryDeviceEntries).toBe(2);
    expect(r.gatewayEntryPresent).toBe(false);
    expect(r.distinctRegistrationIds).toBe(3);
    expect(r.devicesChecked).toBe(4);
  });

  const cases: Array<[string, (c: ReturnType<typeof consistent>) => void, ViolationKind[]]> = [
    ['a de-registered device still in the store and at the server', (c) => {
      c.store.push(mappingOf(c.devices[1]!, rid(2)));
      c.registry.push(ueOf(c.devices[1]!));
    }, ['DEREGISTERED_BUT_AT_SERVER', 'DEREGISTERED_BUT_IN_STORE']],
    ['a de-registered device still at the server only', (c) => c.registry.push(ueOf(c.devices[1]!)), ['DEREGISTERED_BUT_AT_SERVER', 'SERVER_WITHOUT_STORE']],
    ['a registered device lost from the store', (c) => {
      c.store.splice(0, 1);
    }, ['REGISTERED_BUT_NOT_IN_STORE', 'SERVER_WITHOUT_STORE']],
    ['a registered device lost at the server', (c) => {
      c.registry.splice(0, 1);
    }, ['REGISTERED_BUT_NOT_AT_SERVER', 'STORE_WITHOUT_SERVER']],
    ['a registered device stored under another Registration ID', (c) => {
      c.store[0] = mappingOf(c.devices[0]!, rid(99));
    }, ['REGISTERED_BUT_NOT_IN_STORE']],
    ["a device's Registration ID mapped to another device", (c) => {
      c.store[0] = { ...c.store[0]!, layer2Id: '127.0.0.1:1', ueServiceId: ueOf(c.devices[0]!) };
    }, ['REGISTERED_UNDER_OTHER_ID', 'UNKNOWN_RECORD']],
    ['a failed registration left in the store and at the server', (c) => {
      c.store.push(mappingOf(c.devices[2]!, rid(3)));
      c.registry.push(ueOf(c.devices[2]!));
    }, ['FAILED_BUT_AT_SERVER', 'FAILED_BUT_IN_STORE']],
    ['one Registration ID given to two devices', (c) => {
      c.devices[1]!.successes.push({ operation: 'REG', registrationId: rid(1) });
    }, ['DUPLICATE_REGISTRATION_ID']],
    ['a record left REGISTERING', (c) => {
      c.store[0] = mappingOf(c.devices[0]!, rid(1), 'REGISTERING');
    }, ['PENDING_RECORD']],
    ['a record left DEREGISTERING', (c) => {
      c.store[1] = mappingOf(c.devices[3]!, rid(4), 'DEREGISTERING');
    }, ['PENDING_RECORD']],
    ['a server entry nobody holds', (c) => c.registry.push(`${GW}/127.0.0.1:2/7`), ['SERVER_WITHOUT_STORE']],
    ["the gateway's own entry left at the server", (c) => c.registry.push(GW), ['GATEWAY_STILL_REGISTERED']],
  ];

  it.each(cases)('catches %s', (_title, mutate, expected) => {
    const c = consistent();
    mutate(c);
    expect(kinds({ ...c, gatewayUeServiceId: GW })).toEqual([...expected].sort());
  });

  it('gives a device that gave up no per-device expectation, but still checks store against server', () => {
    const c = consistent();
    c.devices[1] = device(1, { kind: 'registered', registrationId: rid(2) }, { gaveUpOn: 'DEREG' });
    const r = checkEndState({ ...c, gatewayUeServiceId: GW });
    expect(r.violations).toEqual([]);
    expect(r.undetermined).toBe(1);
    c.registry.push(ueOf(c.devices[1]!)); // the server holds it, the store does not
    expect(kinds({ ...c, gatewayUeServiceId: GW })).toEqual(['SERVER_WITHOUT_STORE']);
  });

  it('names the devices and the Registration ID in its details', () => {
    const c = consistent();
    c.devices[1]!.successes.push({ operation: 'REG', registrationId: rid(1) });
    const [v] = checkEndState({ ...c, gatewayUeServiceId: GW }).violations;
    expect(v?.detail).toBe(`Registration ID ${rid(1)} was given to devices 0, 1`);
  });
});

describe('SeededRandom', () => {
  it('repeats its sequence for a seed, and forks independently of how far it advanced', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(new SeededRandom(43).next()).not.toBe(xs[0]);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(a.fork(3).next()).toBe(new SeededRandom(42).fork(3).next());
    const r = new SeededRandom(1);
    for (let i = 0; i < 1000; i++) {
      const x = r.between(5, 7);
      expect(x >= 5 && x < 7).toBe(true);
      expect(r.below(3)).toBeLessThan(3);
    }
  });
});
