// Values and request builders the procedure tests share: two devices on the UDP link, an
// Application ID, the gateway's UE Service ID.
import type { ApplicationId, Layer2Id, RegistrationId, UeServiceId } from '@msgin5g/core';

export const A = '127.0.0.1:40001' as Layer2Id;
export const B = '127.0.0.1:40002' as Layer2Id;
export const APP = 42 as ApplicationId;
export const GW = 'gw-1' as UeServiceId;

/** A REGISTRATION REQUEST, asking for `lifetimeS` (s) when given. */
export const reg = (applicationId = APP, lifetimeS?: number) => ({ kind: 'REGISTRATION_REQUEST' as const, applicationId, ...(lifetimeS === undefined ? {} : { lifetimeS }) });
/** A DE-REGISTRATION REQUEST. */
export const dereg = (registrationId: RegistrationId) => ({ kind: 'DEREGISTRATION_REQUEST' as const, registrationId });
