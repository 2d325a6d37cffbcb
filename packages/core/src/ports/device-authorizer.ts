/**
 * Port `DeviceAuthorizer`: TS 23.554 §8.11.2 pre-condition 1, "UE-1 is configured to recognise and
 * authorise UE-2". The gateway app implements it from the authorization list (or `open`).
 */
import type { ApplicationId, Layer2Id, LinkId, UeServiceId } from '../ids';

export type AuthorizationDecision =
  | {
      readonly allowed: true;
      /** per-device UE Service ID from the list, if it names one */
      readonly ueServiceId?: UeServiceId;
      /**
       * Registration lifetime for this device or Application ID from the list, s, if it names one:
       * the most the device is granted (docs/adr/0011-registration-lifetime.md). Absent: the
       * gateway's configured lifetime.
       */
      readonly lifetimeS?: number;
    }
  | { readonly allowed: false };

export interface DeviceAuthorizer {
  authorize(link: LinkId, layer2Id: Layer2Id, applicationId: ApplicationId): AuthorizationDecision;
}
