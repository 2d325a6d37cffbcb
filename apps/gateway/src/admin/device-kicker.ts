/**
 * `DeviceKicker`: what `DELETE /devices/{registrationId}` asks of the gateway. The gateway
 * de-registers the device at the MSGin5G Server on its behalf, removes the mapping and keeps the
 * tombstone, as for the device's own DE-REGISTRATION REQUEST; the device itself is told nothing
 * (docs/adr/0010-kick-tells-the-device.md).
 *
 * The route depends on this small interface, not on `GatewayProcedures`, so it can be tested with
 * a fake and wired to the core's gateway-initiated de-registration in one place (src/main.ts).
 */
import type { FailureReason, Registration, RegistrationId, RegistrationState } from '@msgin5g/core';

/** The outcome of a kick, one HTTP answer each (src/admin/admin-api.ts). */
export type KickResult =
  /** De-registered at the server; the mapping is removed and its tombstone kept. 200. */
  | { readonly kind: 'KICKED'; readonly registration: Registration }
  /** No live registration has this ID. 404. */
  | { readonly kind: 'UNKNOWN' }
  /** A procedure for it is pending (REGISTERING or DEREGISTERING); nothing changed. 409. */
  | { readonly kind: 'PENDING'; readonly state: RegistrationState }
  /** The server refused; the mapping is kept (REGISTERED). 502. */
  | { readonly kind: 'SERVER_REJECTED'; readonly failureReason: FailureReason; readonly cause?: string }
  /** The server did not answer in time; the mapping is kept (REGISTERED). 503. */
  | { readonly kind: 'SERVER_UNREACHABLE'; readonly failureReason: FailureReason; readonly cause?: string }
  /** The gateway cannot start a procedure now (not registered with the server, draining, congested). 503. */
  | { readonly kind: 'UNAVAILABLE'; readonly failureReason: FailureReason; readonly detail: string }
  /** This build cannot kick. 501. */
  | { readonly kind: 'NOT_AVAILABLE'; readonly detail: string };

export interface DeviceKicker {
  /** De-registers one device on the gateway's initiative. Never rejects for a server's doing; rejects on a store failure. */
  kick(registrationId: RegistrationId): Promise<KickResult>;
}

/** A kicker for a gateway without the core primitive: every kick is `NOT_AVAILABLE` (501). */
export class UnavailableDeviceKicker implements DeviceKicker {
  async kick(): Promise<KickResult> {
    return { kind: 'NOT_AVAILABLE', detail: 'kick not available yet: this gateway cannot de-register a device on its own initiative' };
  }
}
