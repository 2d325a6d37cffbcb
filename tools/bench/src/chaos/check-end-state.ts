/**
 * The end-state check of the chaos run: given what every device was last told, the gateway's store
 * (read after the gateway stopped) and the reference server's registry, lists every inconsistency.
 * Pure, so a test can feed it a fabricated inconsistent state and see each violation caught.
 *
 * What the server's registry holds: UE Service IDs. The gateway registers a device under the UE
 * Service ID stored with its mapping (`<gateway UE Service ID>/<Layer-2 ID>/<Application ID>` with
 * `--authorization open`), and itself under its own UE Service ID, which it de-registers on SIGTERM;
 * device entries are not touched by that. The server knows no Registration IDs: "present under the
 * same Registration ID" means the store maps that Registration ID to this device, REGISTERED, and
 * the server holds the UE Service ID of that mapping.
 *
 * Rejected alternative: checking by asking every device to de-register at the end (what W5 does).
 * That changes the state it checks and cannot see a server entry the store lost.
 */
import { assertNever, defaultDeviceUeServiceId, type ApplicationId, type Layer2Id, type RegistrationState, type UeServiceId } from '@msgin5g/core';
import type { DeviceRecord } from './chaos-device';

/** The parts of a stored mapping the check reads. */
export interface StoredMapping {
  readonly registrationId: string;
  readonly applicationId: number;
  readonly layer2Id: string;
  readonly ueServiceId: string;
  readonly state: RegistrationState;
}

export type ViolationKind =
  | 'PENDING_RECORD'
  | 'DUPLICATE_REGISTRATION_ID'
  | 'DEREGISTERED_BUT_IN_STORE'
  | 'DEREGISTERED_BUT_AT_SERVER'
  | 'REGISTERED_BUT_NOT_IN_STORE'
  | 'REGISTERED_UNDER_OTHER_ID'
  | 'REGISTERED_BUT_NOT_AT_SERVER'
  | 'FAILED_BUT_IN_STORE'
  | 'FAILED_BUT_AT_SERVER'
  | 'STORE_WITHOUT_SERVER'
  | 'SERVER_WITHOUT_STORE'
  | 'UNKNOWN_RECORD'
  | 'GATEWAY_STILL_REGISTERED';

export interface Violation {
  readonly kind: ViolationKind;
  readonly detail: string;
}

export interface EndStateInput {
  readonly devices: readonly DeviceRecord[];
  readonly store: readonly StoredMapping[];
  readonly registry: readonly string[];
  /** The gateway's own UE Service ID (absent from the registry once it stopped with SIGTERM). */
  readonly gatewayUeServiceId: string;
}

export interface EndStateCheck {
  readonly violations: Violation[];
  readonly storeByState: Record<RegistrationState, number>;
  /** Registry entries other than the gateway's own. */
  readonly registryDeviceEntries: number;
  readonly gatewayEntryPresent: boolean;
  /** Distinct Registration IDs in all SUCCESS answers seen. */
  readonly distinctRegistrationIds: number;
  /** Devices checked against the store and the server (all but those that gave up). */
  readonly devicesChecked: number;
  /** Devices that gave up (no definitive answer in time): only the global checks cover them. */
  readonly undetermined: number;
}

/** Checks the end state (see the module doc); never throws. */
export function checkEndState(input: EndStateInput): EndStateCheck {
  const violations: Violation[] = [];
  const add = (kind: ViolationKind, detail: string) => violations.push({ kind, detail });
  const storeByState: Record<RegistrationState, number> = { REGISTERING: 0, REGISTERED: 0, DEREGISTERING: 0 };
  const byId = new Map<string, StoredMapping>();
  const byDevice = new Map<string, StoredMapping>();
  for (const r of input.store) {
    storeByState[r.state] += 1;
    byId.set(r.registrationId, r);
    byDevice.set(deviceKey(r.layer2Id, r.applicationId), r);
    if (r.state !== 'REGISTERED') add('PENDING_RECORD', `record ${r.registrationId} (${r.layer2Id}, app ${r.applicationId}) left ${r.state}`);
  }
  const registry = new Set(input.registry);
  const gatewayEntryPresent = registry.has(input.gatewayUeServiceId);
  if (gatewayEntryPresent) add('GATEWAY_STILL_REGISTERED', `the server still holds the gateway's own UE Service ID ${input.gatewayUeServiceId} after its SIGTERM`);

  // One Registration ID, one device, across every SUCCESS answer any device took.
  const owners = new Map<string, Set<number>>();
  for (const d of input.devices) {
    for (const s of d.successes) {
      const set = owners.get(s.registrationId) ?? new Set<number>();
      set.add(d.index);
      owners.set(s.registrationId, set);
    }
  }
  for (const [rid, set] of owners) {
    if (set.size > 1) add('DUPLICATE_REGISTRATION_ID', `Registration ID ${rid} was given to devices ${[...set].join(', ')}`);
  }

  const known = new Set<string>();
  let checked = 0;
  let undetermined = 0;
  for (const d of input.devices) {
    const key = deviceKey(d.layer2Id, d.applicationId);
    known.add(key);
    if (d.gaveUpOn !== undefined) {
      undetermined += 1;
      continue;
    }
    checked += 1;
    const who = `device ${d.index} (${d.layer2Id}, app ${d.applicationId})`;
    const mapping = byDevice.get(key);
    const ueServiceId = mapping?.ueServiceId ?? expectedUeServiceId(input.gatewayUeServiceId, d);
    const atServer = registry.has(ueServiceId);
    const told = d.told;
    switch (told.kind) {
      case 'de-registered':
        if (byId.has(told.registrationId) || mapping !== undefined) add('DEREGISTERED_BUT_IN_STORE', `${who} was told de-registered (${told.registrationId}) but the store holds ${describe(byId.get(told.registrationId) ?? mapping)}`);
        if (atServer) add('DEREGISTERED_BUT_AT_SERVER', `${who} was told de-registered (${told.registrationId}) but the server holds ${ueServiceId}`);
        break;
      case 'registered':
      case 'failed': {
        // A failed DEREG leaves the mapping REGISTERED (docs/adr/0003): the device still holds its ID.
        const holds = told.kind === 'registered' ? told.registrationId : told.operation === 'DEREG' ? told.registrationId : undefined;
        if (holds === undefined) {
          if (mapping !== undefined) add('FAILED_BUT_IN_STORE', `${who} was told its registration failed (${told.kind === 'failed' ? told.reason : ''}) but the store holds ${describe(mapping)}`);
          if (atServer) add('FAILED_BUT_AT_SERVER', `${who} was told its registration failed but the server holds ${ueServiceId}`);
          break;
        }
        const rec = byId.get(holds);
        if (rec === undefined) {
          add('REGISTERED_BUT_NOT_IN_STORE', `${who} was told registered with ${holds}${told.kind === 'failed' ? ` (then DEREG failed: ${told.reason})` : ''} but the store has no such record${mapping === undefined ? '' : `; it holds ${describe(mapping)}`}`);
        } else if (rec.layer2Id !== d.layer2Id || rec.applicationId !== d.applicationId) {
          add('REGISTERED_UNDER_OTHER_ID', `${who} was told registered with ${holds} but the store maps it to ${rec.layer2Id}, app ${rec.applicationId}`);
        } else if (mapping !== undefined && mapping.registrationId !== holds) {
          add('REGISTERED_UNDER_OTHER_ID', `${who} was told ${holds} but the store maps the device to ${mapping.registrationId}`);
        }
        if (!atServer) add('REGISTERED_BUT_NOT_AT_SERVER', `${who} was told registered with ${holds} but the server does not hold ${ueServiceId}`);
        break;
      }
      case 'nothing':
        break;
      default:
        assertNever(told, 'told');
    }
  }

  // Store and server agree on every device, whatever the devices were told.
  const storeServiceIds = new Set<string>();
  for (const r of input.store) {
    storeServiceIds.add(r.ueServiceId);
    if (!known.has(deviceKey(r.layer2Id, r.applicationId))) add('UNKNOWN_RECORD', `the store holds ${describe(r)}, which no device of this run asked for`);
    if (r.state === 'REGISTERED' && !registry.has(r.ueServiceId)) add('STORE_WITHOUT_SERVER', `the store holds ${describe(r)} but the server does not hold ${r.ueServiceId}`);
  }
  let registryDeviceEntries = 0;
  for (const id of registry) {
    if (id === input.gatewayUeServiceId) continue;
    registryDeviceEntries += 1;
    if (!storeServiceIds.has(id)) add('SERVER_WITHOUT_STORE', `the server holds ${id} but the store has no mapping for it`);
  }

  return {
    violations,
    storeByState,
    registryDeviceEntries,
    gatewayEntryPresent,
    distinctRegistrationIds: owners.size,
    devicesChecked: checked,
    undetermined,
  };
}

function deviceKey(layer2Id: string, applicationId: number): string {
  return `${layer2Id}|${applicationId}`;
}

function expectedUeServiceId(gateway: string, d: DeviceRecord): string {
  return defaultDeviceUeServiceId(gateway as UeServiceId, d.layer2Id as Layer2Id, d.applicationId as ApplicationId);
}

function describe(r: StoredMapping | undefined): string {
  return r === undefined ? 'nothing' : `${r.registrationId} (${r.layer2Id}, app ${r.applicationId}, ${r.state})`;
}
