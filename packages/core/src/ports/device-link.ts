/**
 * Port `DeviceLink`: the MSGin5G-5 link between constrained devices and the Gateway UE.
 *
 * Contract:
 * - `start(handler)` binds the link and resolves once requests can arrive; it rejects with a
 *   {@link DeviceLinkError} (`reason` `BIND`) when the socket/interface cannot be opened.
 * - Every inbound unit (datagram, frame, CoAP request) is decoded inside the adapter with
 *   `@msgin5g/protocol`. A valid request reaches `handler.onRequest` with the source Layer-2 ID.
 *   An invalid one never reaches the core: the adapter answers it when there is someone to answer
 *   (docs/wire-formats.md §2 reject table), then reports it through `handler.onProtocolError`. No input
 *   may make the adapter throw or stop.
 * - `send(to, unit)` sends a response or a message-delivery message ({@link GatewayUnit}) to a
 *   Layer-2 ID (seed CR step c: the stored one). It
 *   resolves when the response has been handed to the OS; it rejects with `DeviceLinkError`:
 *   `BAD_ADDRESS` when `to` is not a Layer-2 ID this instance can address (the wrong form, or
 *   another port's ID on a one-device link); `SEND` when it is of the right form but the peer is
 *   gone or the medium refused (a closed connection, a lost serial line, a full queue); `CLOSED`
 *   when the link is not running. Links with exchanges (CoAP) answer inside the pending exchange
 *   from that Layer-2 ID.
 * - `stop()` closes the link; it is idempotent. After it, `send` rejects with `CLOSED`.
 * - Optional `stats()`: what the link has received since it was built ({@link DeviceLinkStats}),
 *   read by the gateway's metrics at scrape time (never on the request path), so it must be a
 *   cheap read of counters the link keeps anyway. A link without it simply has no such metric.
 * - No driver type appears here: addresses are {@link Layer2Id}s.
 */
import type { Layer2Id, LinkKind } from '../ids';
import type { DeviceDeliveryMessage, GatewayDeliveryMessage } from '../delivery-messages';
import type { DeviceRequest, DeviceResponse } from '../messages';

/**
 * Anything the gateway sends to a device: a registration / de-registration response, or a
 * message-delivery message (docs/wire-formats.md §5.2: 0x03 MESSAGE SENDING RESPONSE, 0x04 MESSAGE
 * RECEIVING, 0x06 DELIVERY REPORT RECEIVING).
 */
export type GatewayUnit = DeviceResponse | GatewayDeliveryMessage;

/** Receives what a device link decodes. Handlers must not throw; the link guards them anyway. */
export interface DeviceLinkHandler {
  /**
   * `link` is the adapter's own kind, for information: the core starts each link instance with a
   * handler of its own (`GatewayProcedures.handlerFor`), which tags requests with the instance id.
   */
  onRequest(request: DeviceRequest, from: Layer2Id, link: LinkKind): void;
  onProtocolError(error: DeviceProtocolError): void;
  /**
   * A message-delivery message from a device (docs/wire-formats.md §5.2: 0x01 MESSAGE SENDING
   * REQUEST, 0x02 DELIVERY REPORT SENDING REQUEST, 0x05 MESSAGE RECEIVING ACK), with its source
   * Layer-2 ID. Optional only so that handlers written before version 2 still compile; the core's
   * handler implements it. A link whose handler lacks it answers a 0x01 with MESSAGE SENDING
   * RESPONSE failure MESSAGE_TYPE_NOT_SUPPORTED and drops 0x02 / 0x05.
   */
  onDeliveryMessage?(message: DeviceDeliveryMessage, from: Layer2Id, link: LinkKind): void;
  /**
   * Optional: the link's own message layer absorbed a copy of a request it already handed over
   * (a CoAP retransmission of a CON with the same Message ID, RFC 7252 §4.5), so the core never
   * sees it. Reported for counting only (`GatewayCounters.duplicatesAbsorbed`); links without a
   * message layer of their own never call it. `from` is the source Layer-2 ID, for debug logs only.
   */
  onDuplicateAbsorbed?(from: Layer2Id): void;
}

/** An inbound unit that did not decode into a request. */
export interface DeviceProtocolError {
  readonly link: LinkKind;
  /** Source Layer-2 ID, when the link knows it. */
  readonly from?: Layer2Id;
  /** Human-readable reason, for logs. */
  readonly detail: string;
  /** Whether the adapter sent an answer (STATUS or a failure response). */
  readonly answered: boolean;
  /** Size of the offending input in octets. */
  readonly octets: number;
}

/**
 * Counters a device link may offer ({@link DeviceLink.stats}); monotonic since the link was built,
 * surviving `stop()`/`start()`.
 */
export interface DeviceLinkStats {
  /**
   * Inbound units received: every datagram, frame or CoAP message taken off the medium, whatever
   * became of it (a request, a protocol error, a duplicate the link absorbed, an ACK).
   */
  readonly inboundUnits: number;
}

export interface DeviceLink {
  /** The link's kind (`udp`, `serial`, …): an open name, see `parseLinkKind`. */
  readonly kind: LinkKind;
  /** Where the link listens, for logs (`udp://127.0.0.1:5690`). Known after `start()`. */
  readonly endpoint: string;
  start(handler: DeviceLinkHandler): Promise<void>;
  /**
   * Sends one unit to a device. Message-delivery units (docs/wire-formats.md §5): a MESSAGE SENDING
   * RESPONSE answers the device's pending 0x01 (on CoAP: inside its exchange); a MESSAGE RECEIVING
   * or DELIVERY REPORT RECEIVING is a new unit the gateway starts (on CoAP: a CON POST to the
   * device, whose 2.04 the link reports as a MESSAGE_RECEIVING_ACK through
   * `handler.onDeliveryMessage`). Resending an unacknowledged MESSAGE RECEIVING is the core's job
   * (§5.3), not the link's; a link with its own reliable message layer (CoAP) may retransmit
   * inside one `send` as its protocol requires.
   */
  send(to: Layer2Id, unit: GatewayUnit): Promise<void>;
  stop(): Promise<void>;
  /**
   * Optional: the largest message Payload, octets, the link can carry in one MESSAGE RECEIVING to a
   * device (docs/wire-formats.md §5.3): what is left of the link's largest unit after the other
   * fields at their longest. Known after `start()`. The core answers a delivery for this link with
   * a larger payload PAYLOAD_TOO_LARGE instead of queueing it; absent: 65535 (§5.1).
   */
  readonly maxPayloadOctets?: number;
  /** Optional: the link's counters, read at scrape time (see the contract above). Must not throw. */
  stats?(): DeviceLinkStats;
}

export type DeviceLinkErrorReason = 'BIND' | 'SEND' | 'BAD_ADDRESS' | 'CLOSED';

/** The one error class of the `DeviceLink` port; `cause` holds the driver's error. */
export class DeviceLinkError extends Error {
  override readonly name = 'DeviceLinkError';
  constructor(
    readonly reason: DeviceLinkErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
