/**
 * The reference server's registry (in memory, so a restarted server forgets everything,
 * docs/adr/0012-server-forgot-the-gateway.md): the UE Service IDs registered, for each device the
 * gateway that registered it (`gatewayUeServiceId` of its REG), and for each own registration
 * (a gateway, or a UE acting for itself) the `notifyUri` its REG gave (docs/adr/0013), where the
 * server POSTs the `MSG` and `IMDN` for it and for the devices behind it.
 *
 * Rules (docs/wire-formats.md §4): a REG on a device's behalf needs its gateway registered, else
 * FAILURE `GATEWAY_NOT_REGISTERED` and nothing changes; a REG is idempotent, and a re-registration
 * replaces what the earlier one said (a gateway's REG without `notifyUri` clears the one it gave
 * before; a device's REG through another gateway moves it); a DEREG of something not registered is
 * FAILURE `NOT_REGISTERED`. A device's DEREG ends the messages the server holds for it (each
 * reported failed to its originator when asked, as the gateway does with its queue, §5.3). A
 * gateway's DEREG does not remove its devices (the gateway re-registers
 * them itself, docs/adr/0012); messages for them wait until it is back.
 */
import { assertNever } from '@msgin5g/core';
import { FAILURE_CAUSE_GATEWAY_NOT_REGISTERED, FAILURE_CAUSE_NOT_REGISTERED, type Msgin5g1Answer, type Msgin5g1Request } from '@msgin5g/protocol';

export class Registry {
  /** Every UE Service ID registered (gateways, devices, UEs for themselves). */
  readonly ids = new Set<string>();
  private readonly gateways = new Map<string, string>();
  private readonly notifyUris = new Map<string, string>();

  /**
   * @param onRegistered Called after every successful REG with the UE Service ID and the
   *   `notifyUri` it now has (or `undefined`): the message router retries what waits for it.
   */
  constructor(
    private readonly onRegistered: (ueServiceId: string, notifyUri: string | undefined) => void = () => undefined,
    /** Called after a successful DEREG of a device behind a gateway: the message router ends what waits for it. */
    private readonly onDeviceDeregistered: (ueServiceId: string) => void = () => undefined,
  ) {}

  /** Carries out a REG or DEREG and gives its answer. `notifyUri` only with a gateway's own REG (request-target.ts checks). */
  apply(request: Msgin5g1Request, notifyUri?: string): Msgin5g1Answer {
    const { messageType, ueServiceId, gatewayUeServiceId } = request;
    if (gatewayUeServiceId !== undefined && !this.ids.has(gatewayUeServiceId)) {
      return { messageType, result: 'FAILURE', failureCause: FAILURE_CAUSE_GATEWAY_NOT_REGISTERED };
    }
    switch (messageType) {
      case 'REG':
        this.ids.add(ueServiceId);
        if (gatewayUeServiceId === undefined) {
          this.gateways.delete(ueServiceId);
          if (notifyUri === undefined) this.notifyUris.delete(ueServiceId);
          else this.notifyUris.set(ueServiceId, notifyUri);
        } else {
          this.gateways.set(ueServiceId, gatewayUeServiceId);
          this.notifyUris.delete(ueServiceId);
        }
        this.onRegistered(ueServiceId, this.notifyUris.get(ueServiceId));
        return { messageType, result: 'SUCCESS' };
      case 'DEREG':
        if (!this.ids.delete(ueServiceId)) return { messageType, result: 'FAILURE', failureCause: FAILURE_CAUSE_NOT_REGISTERED };
        {
          const wasDevice = this.gateways.delete(ueServiceId);
          this.notifyUris.delete(ueServiceId);
          if (wasDevice) this.onDeviceDeregistered(ueServiceId);
        }
        return { messageType, result: 'SUCCESS' };
      default:
        return assertNever(messageType, 'messageType');
    }
  }

  has(ueServiceId: string): boolean {
    return this.ids.has(ueServiceId);
  }

  /** The gateway a registered device is behind; `undefined` for an own registration or an unknown ID. */
  gatewayOf(ueServiceId: string): string | undefined {
    return this.gateways.get(ueServiceId);
  }

  /**
   * Where deliveries for a registered UE Service ID go: the `notifyUri` of its gateway (a device),
   * or its own (a gateway or a UE for itself). `undefined` when it is not registered, its gateway is
   * not registered now, or that registration gave no `notifyUri`.
   */
  deliveryUriFor(ueServiceId: string): string | undefined {
    if (!this.ids.has(ueServiceId)) return undefined;
    const serving = this.gateways.get(ueServiceId) ?? ueServiceId;
    return this.ids.has(serving) ? this.notifyUris.get(serving) : undefined;
  }

  /** The `notifyUri` an own registration gave, if any. */
  notifyUriOf(ueServiceId: string): string | undefined {
    return this.notifyUris.get(ueServiceId);
  }
}
