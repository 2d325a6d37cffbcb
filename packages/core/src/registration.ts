/**
 * The mapping the Gateway UE keeps per constrained device (TS 23.554 §8.11.2 step 2):
 * Application ID ↔ Layer-2 ID, with the Registration ID the gateway allocated and the procedure state.
 */
import type { ApplicationId, Layer2Id, LinkId, RegistrationId, UeServiceId } from './ids';
import type { DeviceResponse } from './messages';

/** Procedure state of a stored registration (docs/architecture.md §3). Absent records are not stored. */
export type RegistrationState = 'REGISTERING' | 'REGISTERED' | 'DEREGISTERING';
export const REGISTRATION_STATES: readonly RegistrationState[] = ['REGISTERING', 'REGISTERED', 'DEREGISTERING'];

/** One stored mapping. Unique on `registrationId` and on (`link`, `layer2Id`, `applicationId`). */
export interface Registration {
  readonly registrationId: RegistrationId;
  readonly applicationId: ApplicationId;
  readonly layer2Id: Layer2Id;
  readonly link: LinkId;
  /** UE Service ID used toward the MSGin5G Server on the device's behalf. */
  readonly ueServiceId: UeServiceId;
  readonly state: RegistrationState;
  /** ms since the Unix epoch. */
  readonly createdAt: number;
  /** ms since the Unix epoch. */
  readonly updatedAt: number;
}

/**
 * What remains of a registration after a successful de-registration (docs/architecture.md §3): the
 * exact response, replayed to a repeated request until `expiresAt` (ms since the Unix epoch).
 * The Registration ID is never allocated again.
 */
export interface Tombstone {
  readonly registrationId: RegistrationId;
  readonly applicationId: ApplicationId;
  readonly layer2Id: Layer2Id;
  readonly link: LinkId;
  readonly response: DeviceResponse;
  readonly expiresAt: number;
}
