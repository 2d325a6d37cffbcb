/**
 * Port `ServerInbox`: the gateway's own MSGin5G-1 endpoint, where the MSGin5G Server delivers
 * messages and delivery status reports for the devices behind the gateway (docs/adr/0013: the
 * gateway listens and gives its URI in its REG as `notifyUri`; docs/wire-formats.md §5.4).
 *
 * Contract:
 * - `start(handler)` binds the endpoint and resolves once deliveries can arrive; it rejects with a
 *   {@link ServerInboxError} `BIND` when it cannot. `notifyUri` is known after `start()`.
 * - Each delivery the server makes (a CON POST of a `MSG` or `IMDN` JSON body) that decodes reaches
 *   `handler.onServerDelivery` once per exchange (the endpoint absorbs CoAP retransmissions itself,
 *   RFC 7252 §4.5); the adapter answers the exchange with what the returned promise resolves to
 *   (a 2.04, see {@link ServerDeliveryVerdict}), and only then. Anything that does not decode is answered by the adapter
 *   (4.00 / 4.02 / RST as RFC 7252 wants) and never reaches the handler.
 * - `stop()` closes the endpoint; idempotent. Deliveries still pending then are not answered (the
 *   server retransmits or delivers again later; the core's dedup drops the repeat).
 */
import type { AddressType, DeliveryStatus, MessageId, ServiceAddress } from '../delivery-messages';
import type { ApplicationId, UeServiceId } from '../ids';
import type { FailureReason } from '../messages';

/** A `MSG` or `IMDN` from the server for a device behind the gateway (docs/wire-formats.md §5.4). */
export type ServerDelivery =
  | {
      readonly kind: 'MSG';
      /** [oriAddr] Who sent it. */
      readonly originatorAddress: ServiceAddress;
      readonly originatorType: AddressType;
      /** [destAddr] The recipient device's UE Service ID. */
      readonly targetAddress: UeServiceId;
      readonly messageId: MessageId;
      /** [appId] The receiving Application Client, when the server names one. */
      readonly applicationId?: ApplicationId;
      readonly deliveryStatusRequired: boolean;
      readonly payload: Uint8Array;
    }
  | {
      readonly kind: 'IMDN';
      /** [oriAddr] Who reports (the recipient of the device's message). */
      readonly originatorAddress: ServiceAddress;
      /** [destAddr] The device whose message is reported on. */
      readonly targetAddress: UeServiceId;
      readonly messageId: MessageId;
      readonly deliveryStatus: DeliveryStatus;
      readonly failureReason?: FailureReason;
    };

/**
 * The gateway's answer to a delivery: `STORED` once it is durable in the gateway's queue (or it was
 * stored before: a repeat), or a failure the server can act on. Sent in a 2.04 (§5.4): to a `MSG`
 * as `MSGRESP` (STORED → `status` `DELY_STORED`; FAILURE → `DELY_FAILED` with `failureCause` =
 * `reason`); to an `IMDN` as `{"messageType":"IMDN","result":"SUCCESS"}` (STORED) or `"FAILURE"`
 * with `failureCause` (the JSON codec: packages/protocol/src/msgin5g1-messages.ts).
 */
export type ServerDeliveryVerdict =
  | { readonly kind: 'STORED' }
  | { readonly kind: 'FAILURE'; readonly reason: ServerDeliveryFailure; readonly detail: string };

/**
 * Why the gateway refuses a delivery: no REGISTERED device with that UE Service ID
 * (`RECIPIENT_UNKNOWN`), the device's or the gateway's queue is full (`CONGESTION`), the payload is
 * larger than the device's link carries (`PAYLOAD_TOO_LARGE`), or the store failed (`UNSPECIFIED`).
 */
export type ServerDeliveryFailure = 'RECIPIENT_UNKNOWN' | 'CONGESTION' | 'PAYLOAD_TOO_LARGE' | 'UNSPECIFIED';

/** Receives what the endpoint decodes. Must not throw; resolves the verdict to answer with. */
export interface ServerInboxHandler {
  onServerDelivery(delivery: ServerDelivery): Promise<ServerDeliveryVerdict>;
}

export interface ServerInbox {
  /** The URI the gateway gives in its REG (`notifyUri`, e.g. `coap://127.0.0.1:5700/msgin5g`). Known after `start()`. */
  readonly notifyUri: string;
  start(handler: ServerInboxHandler): Promise<void>;
  stop(): Promise<void>;
}

export type ServerInboxErrorReason = 'BIND' | 'CLOSED';

/** The one error class of the `ServerInbox` port. */
export class ServerInboxError extends Error {
  override readonly name = 'ServerInboxError';
  constructor(
    readonly reason: ServerInboxErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
