/**
 * The mapping the Gateway UE keeps per constrained device (TS 23.554 §8.11.2 step 2):
 * Application ID ↔ Layer-2 ID, with the Registration ID the gateway allocated and the procedure state.
 */
import type { ApplicationId, Layer2Id, LinkId, RegistrationId, UeServiceId } from './ids';
import type { DeviceResponse } from './messages';

/** Procedure state of a stored registration (docs/architecture.md §3). Absent records are not stored. */
export type RegistrationState = 'REGISTERING' | 'REGISTERED' | 'DEREGISTERING';
export const REGISTRATION_STATES: readonly RegistrationState[] = ['REGISTERING', 'REGISTERED', 'DEREGISTERING'];

/**
 * Why the gateway itself de-registers a device, with no request from it (docs/architecture.md §3,
 * "Gateway-initiated de-registration"): an operator removed it (`KICKED`, the admin API), or its
 * lifetime ran out (`EXPIRED`, docs/adr/0011-registration-lifetime.md).
 */
export type GatewayDeregistrationCause = 'KICKED' | 'EXPIRED';
export const GATEWAY_DEREGISTRATION_CAUSES: readonly GatewayDeregistrationCause[] = ['KICKED', 'EXPIRED'];

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
  /**
   * When the registration's lifetime ends, ms since the Unix epoch: the gateway then de-registers it
   * with cause `EXPIRED` (docs/adr/0011-registration-lifetime.md).
   */
  readonly expiresAt: number;
  /**
   * Who started the de-registration of a DEREGISTERING record: absent when the device asked (its
   * answer goes to the device), a cause when the gateway did (nothing is sent to the device; a later
   * DEREG from it gets the tombstone). Absent in every other state. Stored, so a restart mid-way
   * resumes it as it began.
   */
  readonly deregistrationCause?: GatewayDeregistrationCause;
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
