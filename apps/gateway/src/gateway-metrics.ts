/**
 * `GatewayMetrics`: the core's `GatewayObserver` as Prometheus metrics (prom-client), on a registry
 * of its own. Names follow Prometheus conventions: prefix `msgin5g_gateway_`, counters end in
 * `_total`, durations are `_seconds` histograms, base units throughout. Label values are bounded:
 * link instance id, request kind, operation, outcome, Failure reason; never a Registration ID, an
 * Application ID or a Layer-2 ID.
 *
 * `msgin5g_gateway_registrations` is read from the store at scrape time (one GROUP BY,
 * `RegistrationStore.countByStateAndLink`), so it is right after a restart too. prom-client's
 * default process metrics are registered with the same prefix.
 */
import type { DeviceRequest, DuplicateLayer, FailureReason, GatewayDeregistrationCause, GatewayObserver, LinkId, RegistrationStore, UpstreamOperation } from '@msgin5g/core';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const METRICS_PREFIX = 'msgin5g_gateway_';

/** Buckets of `msgin5g_gateway_upstream_answer_seconds`, seconds: loopback (ms) up to the 30 s deadline. */
export const UPSTREAM_ANSWER_BUCKETS_S: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface GatewayMetricsOptions {
  /** The store the registrations gauge reads at scrape time; without it the gauge stays empty. */
  readonly store?: RegistrationStore;
  /** Register prom-client's default process metrics (CPU, memory, event-loop lag, …). Default true. */
  readonly processMetrics?: boolean;
}

/** Label value of `failure_reason` on a success. */
export const NO_FAILURE = 'none';

export class GatewayMetrics implements GatewayObserver {
  readonly registry = new Registry();
  private readonly requests: Counter<'link' | 'kind'>;
  private readonly procedures: Counter<'operation' | 'outcome' | 'failure_reason'>;
  private readonly refusals: Counter<'failure_reason' | 'link'>;
  private readonly protocolErrors: Counter<'link'>;
  private readonly duplicates: Counter<'link' | 'layer'>;
  private readonly upstream: Histogram<'operation'>;
  private readonly ended: Counter<'cause' | 'link'>;

  constructor(options: GatewayMetricsOptions = {}) {
    const registers = [this.registry];
    this.requests = new Counter({ name: `${METRICS_PREFIX}requests_total`, help: 'Decoded device requests, by link instance and request kind.', labelNames: ['link', 'kind'], registers });
    this.procedures = new Counter({
      name: `${METRICS_PREFIX}procedures_total`,
      help: 'Device procedures that ended with the server answer committed, by operation (REG, DEREG), outcome and Failure reason (none on success).',
      labelNames: ['operation', 'outcome', 'failure_reason'],
      registers,
    });
    this.refusals = new Counter({
      name: `${METRICS_PREFIX}refusals_total`,
      help: 'Device requests answered with a Failure reason without an upstream exchange, by Failure reason and link instance.',
      labelNames: ['failure_reason', 'link'],
      registers,
    });
    this.protocolErrors = new Counter({ name: `${METRICS_PREFIX}device_protocol_errors_total`, help: 'Device inputs that did not decode into a request, by link instance.', labelNames: ['link'], registers });
    this.duplicates = new Counter({
      name: `${METRICS_PREFIX}duplicates_absorbed_total`,
      help: "Copies of a request absorbed, by link instance and layer (link: the link's message layer, e.g. a CoAP retransmission; procedure: the core, while the procedure is pending).",
      labelNames: ['link', 'layer'],
      registers,
    });
    this.upstream = new Histogram({
      name: `${METRICS_PREFIX}upstream_answer_seconds`,
      help: 'Time from a device procedure POST to the MSGin5G Server until its outcome (answer, failure or deadline), seconds.',
      labelNames: ['operation'],
      buckets: [...UPSTREAM_ANSWER_BUCKETS_S],
      registers,
    });
    this.ended = new Counter({
      name: `${METRICS_PREFIX}registrations_ended_total`,
      help: 'Registrations the gateway de-registered on its own, server answer committed, by cause (KICKED by an operator, EXPIRED at the end of its lifetime) and link instance.',
      labelNames: ['cause', 'link'],
      registers,
    });
    const store = options.store;
    new Gauge({
      name: `${METRICS_PREFIX}registrations`,
      help: 'Registrations in the store, by state and link instance (read at scrape time).',
      labelNames: ['state', 'link'],
      registers,
      async collect() {
        this.reset();
        if (store === undefined) return;
        for (const row of await store.countByStateAndLink()) this.set({ state: row.state, link: row.link }, row.count);
      },
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: METRICS_PREFIX });
  }

  /** The metrics in the Prometheus text format (version 0.0.4). Rejects when the store cannot be read. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  requestReceived(link: LinkId, kind: DeviceRequest['kind']): void {
    this.requests.inc({ link, kind });
  }

  requestRefused(reason: FailureReason, link: LinkId): void {
    this.refusals.inc({ failure_reason: reason, link });
  }

  procedureFinished(operation: UpstreamOperation, outcome: 'SUCCESS' | 'FAILURE', reason: FailureReason | undefined): void {
    this.procedures.inc({ operation, outcome, failure_reason: reason ?? NO_FAILURE });
  }

  duplicateAbsorbed(link: LinkId, layer: DuplicateLayer): void {
    this.duplicates.inc({ link, layer });
  }

  protocolError(link: LinkId): void {
    this.protocolErrors.inc({ link });
  }

  upstreamAnswered(operation: UpstreamOperation, seconds: number): void {
    this.upstream.observe({ operation }, seconds);
  }

  registrationEnded(cause: GatewayDeregistrationCause, link: LinkId): void {
    this.ended.inc({ cause, link });
  }
}
