/**
 * `GatewayMetrics`: the core's `GatewayObserver` as Prometheus metrics (prom-client), on a registry
 * of its own. Names follow Prometheus conventions: prefix `msgin5g_gateway_`, counters end in
 * `_total`, durations are `_seconds` histograms, base units throughout. Label values are bounded:
 * link instance id, request kind, operation, outcome, Failure reason; never a Registration ID, an
 * Application ID or a Layer-2 ID. README "### Metrics" lists every family.
 *
 * Cost on the request path: an observer call adds 1 to a plain number in a map keyed by its label
 * values ({@link LabelledCounts}); the prom-client counters are filled from those numbers when
 * they are scraped (`collect`). Rejected: `counter.inc(labels)` per call, which hashes and
 * validates the label object every time (prom-client 15.1.3 does so even through `labels()`
 * children), about 2 % of the gateway's CPU under the W2 benchmark (docs/benchmarks.md).
 *
 * Read at scrape time as well: `msgin5g_gateway_registrations` from the store (one GROUP BY,
 * `RegistrationStore.countByStateAndLink`, so it is right after a restart too), the device links'
 * inbound units (`DeviceLink.stats`, optional) and the server link's exchanges and retransmissions
 * (`ServerLink.exchangeStats`, optional). Store commits arrive through {@link storeCommitted}, the
 * `onCommit` hook of the SQLite store. prom-client's default process metrics are registered with
 * the same prefix.
 */
import type {
  DeviceRequest,
  DownlinkEnd,
  DuplicateLayer,
  FailureReason,
  GatewayDeregistrationCause,
  GatewayObserver,
  LinkId,
  LinkInstance,
  MessageStore,
  RegistrationStore,
  ReportForwardOutcome,
  ServerDeliveryFailure,
  ServerLink,
  UpstreamOperation,
} from '@msgin5g/core';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const METRICS_PREFIX = 'msgin5g_gateway_';

/** Buckets of `msgin5g_gateway_upstream_answer_seconds`, seconds: loopback (ms) up to the 30 s deadline. */
export const UPSTREAM_ANSWER_BUCKETS_S: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Buckets of `msgin5g_gateway_store_commit_seconds`, seconds: an fsync on SSD (~0.1 ms) to a stalled disk. */
export const STORE_COMMIT_BUCKETS_S: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Buckets of `msgin5g_gateway_store_commit_writes`, writes per group commit. */
export const STORE_BATCH_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

export interface GatewayMetricsOptions {
  /**
   * The store the registrations gauge reads at scrape time; without it the gauge stays empty. A
   * function is called at each scrape (the composition root passes one: the store is opened with
   * {@link GatewayMetrics.storeCommitted} as its commit hook, so it is built after the metrics).
   */
  readonly store?: RegistrationStore | (() => RegistrationStore);
  /** Device link instances whose `stats()` (if offered) give `device_inbound_units_total`. */
  readonly links?: readonly LinkInstance[];
  /** The server link whose `exchangeStats()` (if offered) give the upstream exchange and retransmission counters. */
  readonly server?: ServerLink;
  /** The message store the queue-depth gauges read at scrape time (a function: see `store`). */
  readonly messages?: MessageStore | (() => MessageStore);
  /** Register prom-client's default process metrics (CPU, memory, event-loop lag, …). Default true. */
  readonly processMetrics?: boolean;
}

/** Label value of `failure_reason` on a success. */
export const NO_FAILURE = 'none';

/**
 * Counts per label-value tuple, as plain numbers (the request path), copied into a prom-client
 * `Counter` at scrape time by {@link fill}. The key joins the label values with a separator no
 * value contains (they are link ids, kinds and reasons: printable, no control characters).
 */
class LabelledCounts<L extends string> {
  private readonly rows = new Map<string, { readonly labels: Record<L, string>; value: number }>();

  /** Adds 1 to the tuple `key` if it is counted already; false when it is not (then call {@link first}). */
  inc(key: string): boolean {
    const row = this.rows.get(key);
    if (row === undefined) return false;
    row.value += 1;
    return true;
  }

  /** Counts the tuple `key`, with these label values, for the first time. */
  first(key: string, labels: Record<L, string>): void {
    this.rows.set(key, { labels, value: 1 });
  }

  /** Sets `counter` to these counts (inside its `collect`). */
  fill(counter: Counter<L>): void {
    counter.reset();
    for (const row of this.rows.values()) counter.inc(row.labels, row.value);
  }
}

const SEP = '\u0001';

export class GatewayMetrics implements GatewayObserver {
  readonly registry = new Registry();
  private readonly requestCounts = new LabelledCounts<'link' | 'kind'>();
  private readonly procedureCounts = new LabelledCounts<'operation' | 'outcome' | 'failure_reason'>();
  private readonly refusalCounts = new LabelledCounts<'failure_reason' | 'link'>();
  private readonly protocolErrorCounts = new LabelledCounts<'link'>();
  private readonly duplicateCounts = new LabelledCounts<'link' | 'layer'>();
  private readonly upstream: Record<UpstreamOperation, Histogram.Internal<'operation'>>;
  private readonly commitSeconds: Histogram;
  private readonly commitWrites: Histogram;
  private readonly commitFailures: Counter;
  private readonly ended: Counter<'cause' | 'link'>;
  private readonly messageSentCounts = new LabelledCounts<'link' | 'outcome'>();
  private readonly downlinkSendCounts = new LabelledCounts<'link' | 'kind' | 'resend'>();
  private readonly downlinkEndCounts = new LabelledCounts<'link' | 'end'>();
  private readonly deliveryCounts = new LabelledCounts<'outcome' | 'kind'>();
  private readonly reportCounts = new LabelledCounts<'outcome'>();

  constructor(options: GatewayMetricsOptions = {}) {
    const registers = [this.registry];
    const fromCounts = <L extends string>(counts: LabelledCounts<L>) =>
      function (this: Counter<L>) {
        counts.fill(this);
      };
    new Counter({
      name: `${METRICS_PREFIX}requests_total`,
      help: 'Decoded device requests, by link instance and request kind.',
      labelNames: ['link', 'kind'],
      registers,
      collect: fromCounts(this.requestCounts),
    });
    new Counter({
      name: `${METRICS_PREFIX}procedures_total`,
      help: 'Device procedures that ended with the server answer committed, by operation (REG, DEREG), outcome and Failure reason (none on success).',
      labelNames: ['operation', 'outcome', 'failure_reason'],
      registers,
      collect: fromCounts(this.procedureCounts),
    });
    new Counter({
      name: `${METRICS_PREFIX}refusals_total`,
      help: 'Device requests answered with a Failure reason without an upstream exchange, by Failure reason and link instance.',
      labelNames: ['failure_reason', 'link'],
      registers,
      collect: fromCounts(this.refusalCounts),
    });
    new Counter({
      name: `${METRICS_PREFIX}device_protocol_errors_total`,
      help: 'Device inputs that did not decode into a request, by link instance.',
      labelNames: ['link'],
      registers,
      collect: fromCounts(this.protocolErrorCounts),
    });
    new Counter({
      name: `${METRICS_PREFIX}duplicates_absorbed_total`,
      help: "Copies of a request absorbed, by link instance and layer (link: the link's message layer, e.g. a CoAP retransmission; procedure: the core, while the procedure is pending).",
      labelNames: ['link', 'layer'],
      registers,
      collect: fromCounts(this.duplicateCounts),
    });
    const upstream = new Histogram({
      name: `${METRICS_PREFIX}upstream_answer_seconds`,
      help: 'Time from a device procedure POST to the MSGin5G Server until its outcome (answer, failure or deadline), seconds.',
      labelNames: ['operation'],
      buckets: [...UPSTREAM_ANSWER_BUCKETS_S],
      registers,
    });
    this.upstream = { REG: upstream.labels('REG'), DEREG: upstream.labels('DEREG') };

    const links = options.links ?? [];
    new Counter({
      name: `${METRICS_PREFIX}device_inbound_units_total`,
      help: 'Inbound units (datagrams, frames, CoAP messages) a device link received, whatever became of them, by link instance (links that offer DeviceLink.stats).',
      labelNames: ['link'],
      registers,
      collect() {
        this.reset();
        for (const { id, link } of links) {
          const stats = link.stats?.();
          if (stats !== undefined) this.inc({ link: id }, stats.inboundUnits);
        }
      },
    });
    const server = options.server;
    new Counter({
      name: `${METRICS_PREFIX}upstream_exchanges_total`,
      help: "Exchanges with the MSGin5G Server that ended, the gateway's own included, by operation and outcome (SUCCESS, FAILURE with its failure_reason, CLOSED: cut by shutdown, outcome unknown).",
      labelNames: ['operation', 'outcome', 'failure_reason'],
      registers,
      collect() {
        this.reset();
        for (const e of server?.exchangeStats?.().exchanges ?? []) {
          // A MSG ends ACCEPTED when the server took it: a success like an answered REG.
          const outcome = e.end === 'SUCCESS' || e.end === 'ACCEPTED' ? 'SUCCESS' : e.end === 'CLOSED' ? 'CLOSED' : 'FAILURE';
          this.inc({ operation: e.operation, outcome, failure_reason: outcome === 'FAILURE' ? e.end : NO_FAILURE }, e.count);
        }
      },
    });
    new Counter({
      name: `${METRICS_PREFIX}upstream_retransmissions_total`,
      help: 'CoAP retransmissions of confirmable requests to the MSGin5G Server (RFC 7252 §4.2: the server did not acknowledge within ACK_TIMEOUT).',
      registers,
      collect() {
        this.reset();
        const stats = server?.exchangeStats?.();
        if (stats !== undefined) this.inc(stats.retransmissions);
      },
    });

    this.commitSeconds = new Histogram({
      name: `${METRICS_PREFIX}store_commit_seconds`,
      help: 'Duration of each group commit of the registration store (the COMMIT and its fsync), seconds.',
      buckets: [...STORE_COMMIT_BUCKETS_S],
      registers,
    });
    this.commitWrites = new Histogram({
      name: `${METRICS_PREFIX}store_commit_writes`,
      help: 'Writes per group commit of the registration store (batch size).',
      buckets: [...STORE_BATCH_BUCKETS],
      registers,
    });
    this.commitFailures = new Counter({
      name: `${METRICS_PREFIX}store_commit_failures_total`,
      help: 'Group commits of the registration store that failed and were rolled back (the devices concerned got no answer and retry).',
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
        const s = typeof store === 'function' ? store() : store;
        for (const row of await s.countByStateAndLink()) this.set({ state: row.state, link: row.link }, row.count);
      },
    });
    const messages = options.messages;
    const messageStore = (): MessageStore | undefined => (typeof messages === 'function' ? messages() : messages);
    new Gauge({
      name: `${METRICS_PREFIX}downlink_queue_depth`,
      help: 'Downlink units (MESSAGE RECEIVING, DELIVERY REPORT RECEIVING) queued for devices, all devices together (read at scrape time).',
      registers,
      async collect() {
        const m = messageStore();
        this.set(m === undefined ? 0 : await m.downlinkDepth());
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}report_outbox_depth`,
      help: 'Delivery status reports waiting to go to the MSGin5G Server as IMDN (read at scrape time).',
      registers,
      async collect() {
        const m = messageStore();
        this.set(m === undefined ? 0 : await m.outboxDepth());
      },
    });
    new Counter({
      name: `${METRICS_PREFIX}messages_sent_total`,
      help: "Devices' MESSAGE SENDING REQUESTs answered, by link instance and outcome (ACCEPTED, or the Failure reason of the MESSAGE SENDING RESPONSE); repeats answered from the dedup record are duplicates_absorbed_total.",
      labelNames: ['link', 'outcome'],
      registers,
      collect: fromCounts(this.messageSentCounts),
    });
    new Counter({
      name: `${METRICS_PREFIX}downlink_sends_total`,
      help: 'MESSAGE RECEIVING (MESSAGE) and DELIVERY REPORT RECEIVING (REPORT) handed to a device link, by link instance, kind and whether it was a resend.',
      labelNames: ['link', 'kind', 'resend'],
      registers,
      collect: fromCounts(this.downlinkSendCounts),
    });
    new Counter({
      name: `${METRICS_PREFIX}downlink_ended_total`,
      help: 'Queued downlink units that ended, by link instance and end (ACKED, REPORTED_BY_DEVICE, NOT_DELIVERED, DEREGISTERED, REPORT_SENT).',
      labelNames: ['link', 'end'],
      registers,
      collect: fromCounts(this.downlinkEndCounts),
    });
    new Counter({
      name: `${METRICS_PREFIX}server_deliveries_total`,
      help: 'MSG / IMDN the MSGin5G Server delivered to the gateway, by outcome (STORED, or the reason it was refused) and kind (MSG, IMDN; empty when refused).',
      labelNames: ['outcome', 'kind'],
      registers,
      collect: fromCounts(this.deliveryCounts),
    });
    new Counter({
      name: `${METRICS_PREFIX}reports_forwarded_total`,
      help: 'IMDN attempts from the report outbox to the MSGin5G Server, by outcome (SUCCESS, a failure reason: tried again, GIVEN_UP).',
      labelNames: ['outcome'],
      registers,
      collect: fromCounts(this.reportCounts),
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
    const key = link + SEP + kind;
    if (!this.requestCounts.inc(key)) this.requestCounts.first(key, { link, kind });
  }

  requestRefused(reason: FailureReason, link: LinkId): void {
    const key = reason + SEP + link;
    if (!this.refusalCounts.inc(key)) this.refusalCounts.first(key, { failure_reason: reason, link });
  }

  procedureFinished(operation: UpstreamOperation, outcome: 'SUCCESS' | 'FAILURE', reason: FailureReason | undefined): void {
    const failure = reason ?? NO_FAILURE;
    const key = operation + SEP + outcome + SEP + failure;
    if (!this.procedureCounts.inc(key)) this.procedureCounts.first(key, { operation, outcome, failure_reason: failure });
  }

  duplicateAbsorbed(link: LinkId, layer: DuplicateLayer): void {
    const key = link + SEP + layer;
    if (!this.duplicateCounts.inc(key)) this.duplicateCounts.first(key, { link, layer });
  }

  protocolError(link: LinkId): void {
    if (!this.protocolErrorCounts.inc(link)) this.protocolErrorCounts.first(link, { link });
  }

  upstreamAnswered(operation: UpstreamOperation, seconds: number): void {
    this.upstream[operation].observe(seconds);
  }

  /**
   * The SQLite store's `onCommit` hook (`SqliteRegistrationStoreOptions.onCommit`): one group
   * commit of `writes` writes that took `seconds`; a failed one is counted apart.
   */
  storeCommitted(commit: { readonly seconds: number; readonly writes: number; readonly committed: boolean }): void {
    if (!commit.committed) {
      this.commitFailures.inc();
      return;
    }
    this.commitSeconds.observe(commit.seconds);
    this.commitWrites.observe(commit.writes);
  }

  // When the server forgot the gateway (docs/adr/0012). Field initializers: they run after
  // `registry` (declared first) is set, and keep this edit at the end of the class.
  private readonly reregistrations = new Counter({
    name: `${METRICS_PREFIX}reregistrations_total`,
    help: 'Times the gateway registered itself again after the MSGin5G Server forgot it.',
    registers: [this.registry],
  });
  private readonly resyncs = new Counter<'outcome'>({
    name: `${METRICS_PREFIX}resynced_devices_total`,
    help: 'REGISTERED devices registered again at the MSGin5G Server after the gateway registered itself again, by outcome (SUCCESS, FAILURE).',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  gatewayReregistered(resynced: number, failed: number): void {
    this.reregistrations.inc();
    this.resyncs.inc({ outcome: 'SUCCESS' }, resynced);
    this.resyncs.inc({ outcome: 'FAILURE' }, failed);
  }

  registrationEnded(cause: GatewayDeregistrationCause, link: LinkId): void {
    this.ended.inc({ cause, link });
  }

  messageSent(outcome: 'ACCEPTED' | FailureReason, link: LinkId): void {
    const key = link + SEP + outcome;
    if (!this.messageSentCounts.inc(key)) this.messageSentCounts.first(key, { link, outcome });
  }

  downlinkSent(kind: 'MESSAGE' | 'REPORT', resend: boolean, link: LinkId): void {
    const key = link + SEP + kind + SEP + String(resend);
    if (!this.downlinkSendCounts.inc(key)) this.downlinkSendCounts.first(key, { link, kind, resend: String(resend) });
  }

  downlinkEnded(end: DownlinkEnd, link: LinkId): void {
    const key = link + SEP + end;
    if (!this.downlinkEndCounts.inc(key)) this.downlinkEndCounts.first(key, { link, end });
  }

  serverDeliveryStored(kind: 'MSG' | 'IMDN'): void {
    const key = 'STORED' + SEP + kind;
    if (!this.deliveryCounts.inc(key)) this.deliveryCounts.first(key, { outcome: 'STORED', kind });
  }

  serverDeliveryRefused(reason: ServerDeliveryFailure): void {
    const key = reason + SEP;
    if (!this.deliveryCounts.inc(key)) this.deliveryCounts.first(key, { outcome: reason, kind: '' });
  }

  reportForwarded(outcome: ReportForwardOutcome): void {
    if (!this.reportCounts.inc(outcome)) this.reportCounts.first(outcome, { outcome });
  }
}
