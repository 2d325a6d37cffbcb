/**
 * Port `ServerLink`: MSGin5G-1 toward the MSGin5G Server (TS 24.538 §6.1, §7.1; seed CR: "constructs a
 * CoAP POST request … as specified in subclause 6.3.1.1.2").
 *
 * Contract:
 * - `register` / `deregister` each perform one exchange and resolve with a {@link ServerOutcome};
 *   they never reject for anything the network or the server does: timeouts, RST, 4.xx/5.xx and
 *   unusable bodies are classified into outcomes (docs/wire-formats.md §4 table), inside the adapter.
 * - Each exchange ends within the link's own deadline (ms); a late answer is logged and dropped.
 * - A DEREG answered FAILURE with cause `NOT_REGISTERED` is a success (the end state holds).
 * - A request on a device's behalf answered FAILURE with cause `GATEWAY_NOT_REGISTERED` resolves
 *   FAILURE `GATEWAY_NOT_REGISTERED`, never SERVER_REJECTED: the server forgot the gateway.
 * - After `close()`, calls reject with {@link ServerLinkError} reason `CLOSED`; so do exchanges still
 *   pending when `close()` is called: their outcome is unknown (the server may yet carry them out),
 *   so the caller must not read them as a failure. The core leaves their records pending for the
 *   next start.
 * - Optional `exchangeStats()`: exchanges ended by operation and outcome, and retransmissions
 *   ({@link ServerExchangeStats}), read by the gateway's metrics at scrape time; a cheap read of
 *   counters the link keeps, never thrown from.
 */
import type { AddressType, DeliveryStatus, MessageId, ServiceAddress } from '../delivery-messages';
import type { ApplicationId, UeServiceId } from '../ids';
import type { FailureReason } from '../messages';
import type { UpstreamOperation } from '../state-machine';

/** Who a MSGin5G-1 request is for. `gatewayUeServiceId`/`applicationId` are set when acting for a device. */
export interface ServerRequest {
  readonly ueServiceId: UeServiceId;
  readonly gatewayUeServiceId?: UeServiceId;
  readonly applicationId?: ApplicationId;
  /**
   * On the gateway's own REG only: where the server delivers messages for the devices behind it
   * (the `ServerInbox`'s URI, sent as `"notifyUri"`, docs/adr/0013).
   */
  readonly notifyUri?: string;
}

/**
 * What the server's answer (or its absence) means for the procedure. `GATEWAY_NOT_REGISTERED`: the
 * server does not know the gateway the request was made for (docs/wire-formats.md §4); the core
 * registers the gateway again before it retries (docs/adr/0012-server-forgot-the-gateway.md).
 */
export type ServerOutcome =
  | { readonly kind: 'SUCCESS'; readonly note?: string }
  | { readonly kind: 'FAILURE'; readonly reason: ServerFailureReason; readonly cause: string };

/** The Failure reasons a server exchange can end with (a subset of the M5 `FailureReason`). */
export type ServerFailureReason = 'SERVER_REJECTED' | 'SERVER_UNREACHABLE' | 'GATEWAY_NOT_REGISTERED';

/**
 * How an exchange ended, for counting: the outcome kind, the failure reason on a failure, or
 * `CLOSED` when `close()` cut it (outcome unknown).
 */
export type ServerExchangeEnd = 'SUCCESS' | ServerFailureReason | 'CLOSED';

/** Counters a server link may offer ({@link ServerLink.exchangeStats}); monotonic since the link was built. */
export interface ServerExchangeStats {
  /** Exchanges ended, one entry per (operation, end) seen so far; the gateway's own REG/DEREG included. */
  readonly exchanges: ReadonlyArray<{ readonly operation: UpstreamOperation | MessageOperation; readonly end: ServerExchangeEnd | MessageExchangeEnd; readonly count: number }>;
  /** Retransmissions of confirmable requests (RFC 7252 §4.2): transmissions beyond the first of each exchange. */
  readonly retransmissions: number;
}

/** The MSGin5G-1 message operations (docs/wire-formats.md §5.4): `MSG` and `IMDN` POSTs. */
export type MessageOperation = 'MSG' | 'IMDN';

/**
 * An uplink message on a device's behalf: the `MSG` POST of docs/wire-formats.md §5.4 (TS 29.538
 * member names in brackets).
 */
export interface ServerMessageRequest {
  /** [oriAddr] The sending device's UE Service ID (its registration's). */
  readonly originatorAddress: UeServiceId;
  /** The gateway the device is behind (for the server's "gateway not registered" check, §4). */
  readonly gatewayUeServiceId: UeServiceId;
  /** [destAddr] */
  readonly targetAddress: ServiceAddress;
  /** [targetType] */
  readonly targetType: AddressType;
  /** [msgId] */
  readonly messageId: MessageId;
  /** [appId] The sending Application Client. */
  readonly applicationId: ApplicationId;
  /** [delivStReqInd] */
  readonly deliveryStatusRequired: boolean;
  /** [payload] 1..65535 octets. */
  readonly payload: Uint8Array;
}

/**
 * A delivery status report toward the server: the `IMDN` POST of docs/wire-formats.md §5.4, either
 * relayed from a device (its 0x02) or built by the gateway from link-level evidence (TS 23.554
 * §8.6.1 step 4a: the device's 0x05, or no ack after the last resend).
 */
export interface ServerReportRequest {
  /** [oriAddr] Who reports: the recipient device's UE Service ID. */
  readonly originatorAddress: UeServiceId;
  readonly gatewayUeServiceId: UeServiceId;
  /** [destAddr] The originator of the message reported on. */
  readonly targetAddress: ServiceAddress;
  /** [msgId] The Message ID of the message reported on. */
  readonly messageId: MessageId;
  /** [delivSt] DELIVERED → REPT_DELY_SUCCESS, FAILED → REPT_DELY_FAILED (STORED is never reported by a device). */
  readonly deliveryStatus: DeliveryStatus;
  /** [failureCause] On FAILED: why (NOT_DELIVERED when the device never acknowledged). */
  readonly failureReason?: FailureReason;
}

/**
 * The server's verdict on an uplink `MSG` (its `MSGRESP`, docs/wire-formats.md §5.4), or what the lack
 * of one means. `RECIPIENT_UNKNOWN` and `PAYLOAD_TOO_LARGE` come from the server's answer (4.13 is
 * PAYLOAD_TOO_LARGE); `GATEWAY_NOT_REGISTERED` as for {@link ServerOutcome}.
 */
export type MessageOutcome =
  | { readonly kind: 'ACCEPTED'; readonly deliveryStatus: 'DELIVERED' | 'STORED' }
  | { readonly kind: 'FAILURE'; readonly reason: MessageFailureReason; readonly cause: string };

/** The Failure reasons an uplink message exchange can end with (a subset of the M5 `FailureReason`). */
export type MessageFailureReason = ServerFailureReason | 'RECIPIENT_UNKNOWN' | 'PAYLOAD_TOO_LARGE';

/** How a message exchange ended, for counting (as {@link ServerExchangeEnd}). */
export type MessageExchangeEnd = 'ACCEPTED' | MessageFailureReason | 'CLOSED';

export interface ServerLink {
  /** Where requests go, for logs (`coap://127.0.0.1:5683/msgin5g`). */
  readonly endpoint: string;
  register(request: ServerRequest): Promise<ServerOutcome>;
  deregister(request: ServerRequest): Promise<ServerOutcome>;
  /**
   * One `MSG` exchange (docs/wire-formats.md §5.4). Never rejects for what the network or the server
   * does (as `register`); rejects `ServerLinkError` `CLOSED` as `register` does.
   */
  sendMessage(request: ServerMessageRequest): Promise<MessageOutcome>;
  /** One `IMDN` exchange (§5.4); SUCCESS on 2.04. Errors as `register`. */
  sendReport(request: ServerReportRequest): Promise<ServerOutcome>;
  /**
   * The largest Payload, octets, a `MSG` to this server may carry (its body limit less the JSON
   * around a base64 payload); a larger one gets PAYLOAD_TOO_LARGE without an exchange (§5.3).
   */
  readonly maxMessagePayloadOctets: number;
  close(): Promise<void>;
  /** Optional: exchange counters, read at scrape time (see the contract above). */
  exchangeStats?(): ServerExchangeStats;
}

export type ServerLinkErrorReason = 'CLOSED' | 'CONFIG';

/** The one error class of the `ServerLink` port. */
export class ServerLinkError extends Error {
  override readonly name = 'ServerLinkError';
  constructor(
    readonly reason: ServerLinkErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
