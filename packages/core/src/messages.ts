/**
 * Domain form of the MSGin5G-5 messages between an Application Client and the Gateway UE.
 * The byte layouts live in `@msgin5g/protocol`; this module holds only meaning.
 *
 * @see TS 24.538 6.3.2.1.2 (seed CR) and docs/wire-formats.md §2.
 */
import type { ApplicationId, RegistrationId } from './ids';

/**
 * Failure reasons sent to a device (docs/wire-formats.md §2, provisional code points in `@msgin5g/protocol`).
 * Domain rejections map one-to-one onto these.
 */
export type FailureReason =
  | 'UNKNOWN_REGISTRATION_ID'
  | 'NOT_AUTHORISED'
  | 'SERVER_REJECTED'
  | 'SERVER_UNREACHABLE'
  | 'MALFORMED_REQUEST'
  | 'GATEWAY_NOT_REGISTERED'
  | 'CONGESTION'
  | 'APPLICATION_ID_IN_USE'
  | 'MESSAGE_TYPE_NOT_SUPPORTED'
  | 'UNSPECIFIED';

export const FAILURE_REASONS: readonly FailureReason[] = [
  'UNKNOWN_REGISTRATION_ID',
  'NOT_AUTHORISED',
  'SERVER_REJECTED',
  'SERVER_UNREACHABLE',
  'MALFORMED_REQUEST',
  'GATEWAY_NOT_REGISTERED',
  'CONGESTION',
  'APPLICATION_ID_IN_USE',
  'MESSAGE_TYPE_NOT_SUPPORTED',
  'UNSPECIFIED',
];

/** REGISTRATION REQUEST (Application Client → Gateway UE). */
export interface RegistrationRequest {
  readonly kind: 'REGISTRATION_REQUEST';
  readonly applicationId: ApplicationId;
  /**
   * Registration lifetime the device asks for, s, {@link LIFETIME_S_MIN}..{@link LIFETIME_S_MAX}
   * (provisional IE, docs/wire-formats.md §2); the gateway grants at most its configured lifetime
   * for the device (docs/adr/0011-registration-lifetime.md). Absent: the configured lifetime.
   */
  readonly lifetimeS?: number;
}

/** Smallest registration lifetime a device may ask for or be granted, s. */
export const LIFETIME_S_MIN = 1;
/** Largest registration lifetime, s: 2^32 − 1, what the 4-octet IE holds (about 136 years). */
export const LIFETIME_S_MAX = 0xffff_ffff;

/** Whether `value` is a registration lifetime in s: an integer in LIFETIME_S_MIN..LIFETIME_S_MAX. */
export function isLifetimeS(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= LIFETIME_S_MIN && value <= LIFETIME_S_MAX;
}

/** DE-REGISTRATION REQUEST (Application Client → Gateway UE), CR "6.3.2.12.2": carries the Registration ID. */
export interface DeregistrationRequest {
  readonly kind: 'DEREGISTRATION_REQUEST';
  readonly registrationId: RegistrationId;
}

/** A request from a constrained device. */
export type DeviceRequest = RegistrationRequest | DeregistrationRequest;

/** Result of a procedure as sent to a device: success carries the Registration ID, failure the Failure reason. */
export type ProcedureResult =
  | { readonly result: 'SUCCESS'; readonly registrationId: RegistrationId; readonly applicationId?: ApplicationId }
  | { readonly result: 'FAILURE'; readonly failureReason: FailureReason; readonly applicationId?: ApplicationId };

/**
 * REGISTRATION RESPONSE (Gateway UE → Application Client). A success from the gateway carries the
 * lifetime granted, s (provisional IE, docs/wire-formats.md §2).
 */
export type RegistrationResponse =
  | ({ readonly kind: 'REGISTRATION_RESPONSE' } & Extract<ProcedureResult, { result: 'SUCCESS' }> & { readonly lifetimeS?: number })
  | ({ readonly kind: 'REGISTRATION_RESPONSE' } & Extract<ProcedureResult, { result: 'FAILURE' }>);
/** DE-REGISTRATION RESPONSE (Gateway UE → Application Client), seed CR steps b.1/b.2. */
export type DeregistrationResponse = { readonly kind: 'DEREGISTRATION_RESPONSE' } & ProcedureResult;

/** A response to a constrained device. */
export type DeviceResponse = RegistrationResponse | DeregistrationResponse;

/** The response kind that answers a request kind. */
export function responseKindFor(request: DeviceRequest['kind']): DeviceResponse['kind'] {
  return request === 'REGISTRATION_REQUEST' ? 'REGISTRATION_RESPONSE' : 'DEREGISTRATION_RESPONSE';
}

/** Builds a failure response for a request kind. */
export function failureResponse(
  request: DeviceRequest['kind'],
  failureReason: FailureReason,
  applicationId?: ApplicationId,
): DeviceResponse {
  const kind = responseKindFor(request);
  return applicationId === undefined
    ? { kind, result: 'FAILURE', failureReason }
    : { kind, result: 'FAILURE', failureReason, applicationId };
}

/** Builds a success response for a request kind; `lifetimeS` (s) only on a REGISTRATION RESPONSE. */
export function successResponse(
  request: DeviceRequest['kind'],
  registrationId: RegistrationId,
  applicationId: ApplicationId,
  lifetimeS?: number,
): DeviceResponse {
  if (request === 'REGISTRATION_REQUEST' && lifetimeS !== undefined) return { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId, applicationId, lifetimeS };
  return { kind: responseKindFor(request), result: 'SUCCESS', registrationId, applicationId };
}

/** Exhaustiveness guard for `switch` statements over unions. Throws if reached. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
