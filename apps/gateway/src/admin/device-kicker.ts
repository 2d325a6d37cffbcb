/**
 * `DeviceKicker`: what `DELETE /devices/{registrationId}` asks of the gateway. The gateway
 * de-registers the device at the MSGin5G Server on its behalf, removes the mapping and keeps the
 * tombstone, as for the device's own DE-REGISTRATION REQUEST; the device itself is told nothing
 * (docs/adr/0010-kick-tells-the-device.md).
 *
 * The route depends on this small interface, not on `GatewayProcedures`, so it is tested with a
 * fake; {@link ProceduresDeviceKicker} is the real one, wired in src/main.ts.
 */
import { assertNever, type EndRegistrationResult, type FailureReason, type GatewayProcedures, type Registration, type RegistrationId, type RegistrationState } from '@msgin5g/core';

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
  /** The gateway cannot start a procedure now (not registered with the server, draining) or could not finish it (store, shutdown). 503. */
  | { readonly kind: 'UNAVAILABLE'; readonly failureReason: FailureReason; readonly detail: string };

export interface DeviceKicker {
  /** De-registers one device on the gateway's initiative. Never rejects for a server's doing; rejects on a store failure. */
  kick(registrationId: RegistrationId): Promise<KickResult>;
}


/**
 * The kicker of a real gateway: the core's gateway-initiated de-registration with cause `KICKED`
 * (`GatewayProcedures.endRegistration`), its outcomes mapped one to one.
 */
export class ProceduresDeviceKicker implements DeviceKicker {
  constructor(private readonly procedures: Pick<GatewayProcedures, 'endRegistration'>) {}

  /** @throws RegistrationStoreError when the store cannot be read or written (the route answers 503). */
  async kick(registrationId: RegistrationId): Promise<KickResult> {
    return kickResultOf(await this.procedures.endRegistration(registrationId, 'KICKED'));
  }
}

/** The kick outcome of an {@link EndRegistrationResult}. */
export function kickResultOf(r: EndRegistrationResult): KickResult {
  switch (r.kind) {
    case 'DEREGISTERED':
      return { kind: 'KICKED', registration: r.registration };
    case 'UNKNOWN_REGISTRATION_ID':
      return { kind: 'UNKNOWN' };
    case 'BUSY':
      return { kind: 'PENDING', state: r.registration.state };
    case 'NOT_DUE':
      // Only a cause EXPIRED can be "not due"; a kick never is. Reported, not hidden.
      return { kind: 'UNAVAILABLE', failureReason: 'UNSPECIFIED', detail: 'the core answered NOT_DUE to a kick' };
    case 'UNFINISHED':
      return {
        kind: 'UNAVAILABLE',
        failureReason: 'SERVER_UNREACHABLE',
        detail: 'the de-registration did not finish (the gateway is stopping, or the server answer could not be stored); the record stays DEREGISTERING and is finished by the next start or the device',
      };
    case 'FAILED':
      switch (r.reason) {
        case 'SERVER_REJECTED':
          return { kind: 'SERVER_REJECTED', failureReason: r.reason };
        case 'SERVER_UNREACHABLE':
          return { kind: 'SERVER_UNREACHABLE', failureReason: r.reason };
        case 'GATEWAY_NOT_REGISTERED':
          return { kind: 'UNAVAILABLE', failureReason: r.reason, detail: 'the Gateway UE is not registered with the MSGin5G Server; nothing was sent' };
        case 'CONGESTION':
          return { kind: 'UNAVAILABLE', failureReason: r.reason, detail: 'the gateway is draining; nothing was sent' };
        default:
          return { kind: 'UNAVAILABLE', failureReason: r.reason, detail: `the de-registration could not be started (${r.reason}); nothing was sent` };
      }
    default:
      return assertNever(r, 'end registration result');
  }
}
