/**
 * Port `GatewayObserver`: what `GatewayProcedures` reports as it works, for metrics. Optional: the
 * default is {@link NOOP_GATEWAY_OBSERVER}. The gateway app implements it with prom-client; the core
 * knows nothing of Prometheus.
 *
 * Contract:
 * - Calls are synchronous and must not throw (the procedures guard them anyway: an observer that
 *   throws is logged once and otherwise ignored), and must be cheap: they run on the request path.
 * - Every argument is a bounded value, fit for a metric label: a link instance id, a request kind,
 *   an operation, an outcome, a Failure reason. Never a Registration ID, an Application ID or a
 *   Layer-2 ID.
 */
import type { LinkId } from '../ids';
import type { DeviceRequest, FailureReason } from '../messages';
import type { GatewayDeregistrationCause } from '../registration';
import type { UpstreamOperation } from '../state-machine';
import type { ServerDeliveryFailure } from './server-inbox';

/** Where a duplicate was absorbed: by a link's message layer (a CoAP retransmission), or by the core (a copy while the procedure is pending). */
export type DuplicateLayer = 'link' | 'procedure';

/** How a downlink item ended, for counting ({@link GatewayObserver.downlinkEnded}). */
export type DownlinkEnd = 'ACKED' | 'REPORTED_BY_DEVICE' | 'NOT_DELIVERED' | 'DEREGISTERED' | 'REPORT_SENT';

/** How an outbox report ended or failed an attempt, for counting ({@link GatewayObserver.reportForwarded}). */
export type ReportForwardOutcome = 'SUCCESS' | 'SERVER_REJECTED' | 'SERVER_UNREACHABLE' | 'GATEWAY_NOT_REGISTERED' | 'GIVEN_UP';

export interface GatewayObserver {
  /** A decoded device request arrived on link instance `link`. */
  requestReceived(link: LinkId, kind: DeviceRequest['kind']): void;
  /**
   * A device request was answered with a Failure reason without an upstream exchange (not
   * authorised, unknown Registration ID, congestion, gateway not registered, store error, …).
   */
  requestRefused(reason: FailureReason, link: LinkId): void;
  /**
   * A device procedure ended with the server's answer committed: `reason` is set when `outcome` is
   * `FAILURE` (SERVER_REJECTED, SERVER_UNREACHABLE). `link` is the instance the record belongs to.
   */
  procedureFinished(operation: UpstreamOperation, outcome: 'SUCCESS' | 'FAILURE', reason: FailureReason | undefined, link: LinkId): void;
  /** A copy of a request was absorbed (no second procedure, no second POST). */
  duplicateAbsorbed(link: LinkId, layer: DuplicateLayer): void;
  /** An input on `link` did not decode into a request. */
  protocolError(link: LinkId): void;
  /** An upstream exchange of a device procedure got an answer (or gave up) after `seconds` (wall time from POST to outcome). */
  upstreamAnswered(operation: UpstreamOperation, seconds: number): void;
  /**
   * The gateway registered itself again after the server forgot it (docs/adr/0012), and resynced its
   * REGISTERED devices: `resynced` registered again at the server, `failed` whose POST failed.
   */
  gatewayReregistered(resynced: number, failed: number): void;
  /**
   * The gateway de-registered a registration on its own (`cause` KICKED or EXPIRED): the server
   * answered the DEREG and the mapping is removed (also when a restart finished it). Not called for
   * a device's own de-registration (that is `procedureFinished`), nor when the attempt failed.
   */
  registrationEnded(cause: GatewayDeregistrationCause, link: LinkId): void;

  // Messages (docs/wire-formats.md §5). Optional: observers written before them still fit.

  /**
   * A device's MESSAGE SENDING REQUEST was answered (or, `CLOSED` cases aside, ended): `ACCEPTED`,
   * or the Failure reason of the MESSAGE SENDING RESPONSE (refused before any POST, or the
   * server's). A repeat answered from the dedup record is `duplicateAbsorbed(link, 'procedure')`.
   */
  messageSent?(outcome: 'ACCEPTED' | FailureReason, link: LinkId): void;
  /** A MESSAGE RECEIVING (`MESSAGE`) or DELIVERY REPORT RECEIVING (`REPORT`) reached the link; `resend` when it was sent before. */
  downlinkSent?(kind: 'MESSAGE' | 'REPORT', resend: boolean, link: LinkId): void;
  /** A queued downlink unit ended: acknowledged, reported by the device's own 0x02, not acknowledged in time, ended by a de-registration, or (a REPORT) sent. */
  downlinkEnded?(end: DownlinkEnd, link: LinkId): void;
  /** The server delivered a `MSG` / `IMDN` and it is stored (a repeat included). */
  serverDeliveryStored?(kind: 'MSG' | 'IMDN'): void;
  /** The gateway refused a delivery from the server. */
  serverDeliveryRefused?(reason: ServerDeliveryFailure): void;
  /** An `IMDN` attempt from the outbox: taken (`SUCCESS`), failed (the reason; tried again), or the report was given up. */
  reportForwarded?(outcome: ReportForwardOutcome): void;
}

/** An observer that does nothing: the default of `GatewayProcedures`. */
export const NOOP_GATEWAY_OBSERVER: GatewayObserver = {
  requestReceived() {},
  requestRefused() {},
  procedureFinished() {},
  duplicateAbsorbed() {},
  protocolError() {},
  upstreamAnswered() {},
  gatewayReregistered() {},
  registrationEnded() {},
};
