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
import type { ApplicationId, UeServiceId } from '../ids';
import type { UpstreamOperation } from '../state-machine';

/** Who a MSGin5G-1 request is for. `gatewayUeServiceId`/`applicationId` are set when acting for a device. */
export interface ServerRequest {
  readonly ueServiceId: UeServiceId;
  readonly gatewayUeServiceId?: UeServiceId;
  readonly applicationId?: ApplicationId;
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
  readonly exchanges: ReadonlyArray<{ readonly operation: UpstreamOperation; readonly end: ServerExchangeEnd; readonly count: number }>;
  /** Retransmissions of confirmable requests (RFC 7252 §4.2): transmissions beyond the first of each exchange. */
  readonly retransmissions: number;
}

export interface ServerLink {
  /** Where requests go, for logs (`coap://127.0.0.1:5683/msgin5g`). */
  readonly endpoint: string;
  register(request: ServerRequest): Promise<ServerOutcome>;
  deregister(request: ServerRequest): Promise<ServerOutcome>;
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
