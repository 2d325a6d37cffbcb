/**
 * Conversion between SQLite rows and the domain `Registration` / `Tombstone`. Row types stay in this
 * package: nothing outside sees a column name.
 *
 * Rows are checked, not trusted: the file may have been edited by hand or by an admin tool. A row
 * that does not describe a valid record raises `RegistrationStoreError('IO')` naming the column,
 * instead of handing the core a value its types lie about.
 */
import {
  GATEWAY_DEREGISTRATION_CAUSES,
  parseLinkId,
  REGISTRATION_STATES,
  RegistrationStoreError,
  parseApplicationId,
  parseRegistrationId,
  parseUeServiceId,
  type ApplicationId,
  type DeviceResponse,
  type GatewayDeregistrationCause,
  type Layer2Id,
  type LinkId,
  type Parsed,
  type Registration,
  type RegistrationId,
  type RegistrationState,
  type Tombstone,
} from '@msgin5g/core';

/** A row of `registrations` as better-sqlite3 returns it. */
export interface RegistrationRow {
  registration_id: unknown;
  application_id: unknown;
  layer2_id: unknown;
  link: unknown;
  ue_service_id: unknown;
  state: unknown;
  created_at: unknown;
  updated_at: unknown;
  expires_at: unknown;
  deregistration_cause: unknown;
}

/** A row of `tombstones` as better-sqlite3 returns it. */
export interface TombstoneRow {
  registration_id: unknown;
  application_id: unknown;
  layer2_id: unknown;
  link: unknown;
  response: unknown;
  expires_at: unknown;
}

/** Named parameters of the insert statements (better-sqlite3 binds `@name`). */
export interface RegistrationParams {
  registration_id: string;
  application_id: number;
  layer2_id: string;
  link: string;
  ue_service_id: string;
  state: string;
  created_at: number;
  updated_at: number;
  expires_at: number;
  deregistration_cause: string | null;
}

export interface TombstoneParams {
  registration_id: string;
  application_id: number;
  layer2_id: string;
  link: string;
  response: string;
  expires_at: number;
}

export function registrationParams(r: Registration): RegistrationParams {
  return {
    registration_id: r.registrationId,
    application_id: r.applicationId,
    layer2_id: r.layer2Id,
    link: r.link,
    ue_service_id: r.ueServiceId,
    state: r.state,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    expires_at: r.expiresAt,
    deregistration_cause: r.deregistrationCause ?? null,
  };
}

export function tombstoneParams(t: Tombstone): TombstoneParams {
  return {
    registration_id: t.registrationId,
    application_id: t.applicationId,
    layer2_id: t.layer2Id,
    link: t.link,
    // JSON keeps absent optional fields absent, so the replayed response equals the original.
    response: JSON.stringify(t.response),
    expires_at: t.expiresAt,
  };
}

export function rowToRegistration(row: RegistrationRow): Registration {
  const registration: Registration = {
    registrationId: registrationIdOf(row.registration_id),
    applicationId: applicationIdOf(row.application_id),
    layer2Id: layer2IdOf(row.layer2_id),
    link: linkOf(row.link),
    ueServiceId: must(parseUeServiceId(stringOf(row.ue_service_id, 'ue_service_id')), 'ue_service_id', row.ue_service_id),
    state: stateOf(row.state),
    createdAt: msOf(row.created_at, 'created_at'),
    updatedAt: msOf(row.updated_at, 'updated_at'),
    expiresAt: msOf(row.expires_at, 'expires_at'),
  };
  const cause = causeOf(row.deregistration_cause);
  return cause === undefined ? registration : { ...registration, deregistrationCause: cause };
}

export function rowToTombstone(row: TombstoneRow): Tombstone {
  return {
    registrationId: registrationIdOf(row.registration_id),
    applicationId: applicationIdOf(row.application_id),
    layer2Id: layer2IdOf(row.layer2_id),
    link: linkOf(row.link),
    response: responseOf(row.response),
    expiresAt: msOf(row.expires_at, 'expires_at'),
  };
}

function corrupt(column: string, value: unknown, why: string): RegistrationStoreError {
  return new RegistrationStoreError('IO', `corrupt row: column ${column} = ${JSON.stringify(value)}: ${why}`);
}

function must<T>(parsed: Parsed<T>, column: string, value: unknown): T {
  if (!parsed.ok) throw corrupt(column, value, parsed.error);
  return parsed.value;
}

function stringOf(value: unknown, column: string): string {
  if (typeof value !== 'string') throw corrupt(column, value, 'expected text');
  return value;
}

function registrationIdOf(value: unknown): RegistrationId {
  const s = stringOf(value, 'registration_id');
  const parsed = parseRegistrationId(s);
  if (!parsed.ok) throw corrupt('registration_id', value, parsed.error);
  // Kept exactly as stored (parse lower-cases), so a read returns what was written.
  return s as RegistrationId;
}

function applicationIdOf(value: unknown): ApplicationId {
  if (typeof value !== 'number') throw corrupt('application_id', value, 'expected an integer');
  return must(parseApplicationId(value), 'application_id', value);
}

function layer2IdOf(value: unknown): Layer2Id {
  const s = stringOf(value, 'layer2_id');
  if (s.length === 0) throw corrupt('layer2_id', value, 'expected a non-empty Layer-2 ID');
  // Layer-2 IDs are canonicalised by the link that produced them; the store keeps them opaque.
  return s as Layer2Id;
}

function linkOf(value: unknown): LinkId {
  const id = parseLinkId(stringOf(value, 'link'));
  if (!id.ok) throw corrupt('link', value, 'expected a link instance id (docs/architecture.md §4)');
  return id.value;
}

function stateOf(value: unknown): RegistrationState {
  const found = REGISTRATION_STATES.find((s) => s === value);
  if (found === undefined) throw corrupt('state', value, `expected one of ${REGISTRATION_STATES.join(', ')}`);
  return found;
}

function causeOf(value: unknown): GatewayDeregistrationCause | undefined {
  if (value === null) return undefined;
  const found = GATEWAY_DEREGISTRATION_CAUSES.find((c) => c === value);
  if (found === undefined) throw corrupt('deregistration_cause', value, `expected NULL or one of ${GATEWAY_DEREGISTRATION_CAUSES.join(', ')}`);
  return found;
}

function msOf(value: unknown, column: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw corrupt(column, value, 'expected an integer (ms since the epoch)');
  return value;
}

function responseOf(value: unknown): DeviceResponse {
  const text = stringOf(value, 'response');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw corrupt('response', value, 'expected JSON');
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !['REGISTRATION_RESPONSE', 'DEREGISTRATION_RESPONSE'].includes((parsed as { kind?: unknown }).kind as string) ||
    !['SUCCESS', 'FAILURE'].includes((parsed as { result?: unknown }).result as string)
  ) {
    throw corrupt('response', value, 'expected a DeviceResponse object with kind and result');
  }
  // Shape of kind/result checked above; the rest was written by tombstoneParams from a typed value.
  return parsed as DeviceResponse;
}
