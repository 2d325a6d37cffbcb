/**
 * Port `DeviceAuthorizer`: TS 23.554 §8.11.2 pre-condition 1, "UE-1 is configured to recognise and
 * authorise UE-2". The gateway app implements it from the authorization list (or `open`).
 */
import type { ApplicationId, Layer2Id, LinkId, UeServiceId } from '../ids';

export type AuthorizationDecision =
  | { readonly allowed: true; /** per-device UE Service ID from the list, if it names one */ readonly ueServiceId?: UeServiceId }
  | { readonly allowed: false };

export interface DeviceAuthorizer {
  authorize(link: LinkId, layer2Id: Layer2Id, applicationId: ApplicationId): AuthorizationDecision;
}
