/**
 * The message relay of the Gateway UE (docs/wire-formats.md §5.2, §5.3; docs/architecture.md
 * "Messages"): a device's MESSAGE SENDING REQUEST goes upstream as `MSG` and its answer comes back as
 * MESSAGE SENDING RESPONSE; what the MSGin5G Server delivers for a device (docs/adr/0013) waits in a
 * durable per-device queue and goes out as MESSAGE RECEIVING (resent until MESSAGE RECEIVING ACK)
 * or DELIVERY REPORT RECEIVING; delivery status reports go upstream as `IMDN` from a durable outbox.
 * Used by `GatewayProcedures`, which owns the links, the serial queue, the rate limits and the
 * gateway's own registration; the relay reaches them through {@link RelayHost}.
 *
 * Persist, then act: a `STORED` verdict to the server, an answer to a device and an `IMDN` leave only
 * after `RegistrationStore.sync()` made the writes they rest on durable. A MESSAGE RECEIVING is sent
 * without waiting for the attempt count to be durable: after a crash the device may get one more copy,
 * which it acknowledges again (rejected: a commit per send, which would put an fsync on every resend).
 *
 * Per device only the head of its queue is in flight, so order is kept; one timer per device with a
 * head waiting, one for the outbox. Rejected: one global timer wheel over all items (the store has no
 * "next due downlink" index, and per-device timers are bounded by the number of devices).
 *
 * TS 23.554 §8.6.1 step 4: the device's 0x05 is the link-level proof the gateway turns into a
 * DELIVERED report when the originator asked for one (4a); a 0x02 from the device about a message
 * still queued for it is relayed instead (4b) and ends that message too.
 */
import type { DeliveryReportSendingRequest, DeviceDeliveryMessage, GatewayDeliveryMessage, MessageId, MessageReceivingAck, MessageSendingRequest, MessageSendingResponse } from '../delivery-messages';
import type { ApplicationId, Layer2Id, LinkId, RegistrationId, UeServiceId } from '../ids';
import { assertNever, type FailureReason } from '../messages';
import type { Clock, ClockTimer } from '../ports/clock';
import type { DeviceLink } from '../ports/device-link';
import type { GatewayObserver } from '../ports/gateway-observer';
import type { Logger } from '../ports/logger';
import { UPLINK_DEDUP_MS, type DownlinkItem, type MessageStore, type NewOutboxReport, type OutboxReport } from '../ports/message-store';
import { RegistrationStoreError, type RegistrationStore } from '../ports/registration-store';
import type { ServerDelivery, ServerDeliveryVerdict } from '../ports/server-inbox';
import type { MessageOutcome, ServerLink, ServerOutcome } from '../ports/server-link';
import type { Registration } from '../registration';
import { RateLimitedLog } from './rate-limited-log';

/** Message settings of `GatewayProceduresOptions.messages`; every field has a default. */
export interface MessageRelayOptions {
  /** Most items one device may have queued (downlink); above it a delivery gets CONGESTION. Default 64. */
  readonly queuePerDevice?: number;
  /** Most items all devices together may have queued. Default 100 000. */
  readonly queueTotal?: number;
  /** Wait after the first MESSAGE RECEIVING before the first resend, ms; doubled per resend. Default 2 000 (§5.3). */
  readonly firstResendMs?: number;
  /** Resends after the first send (§5.3: at most 4). After the last, one more doubled wait for the ack, then NOT_DELIVERED. Default 4. */
  readonly resends?: number;
  /** Outbox: wait after a failed `IMDN`, ms, doubled per attempt up to `reportRetryMaxMs`. Default 1 000. */
  readonly reportRetryMs?: number;
  /** Outbox: longest wait between `IMDN` attempts, ms. Default 60 000. */
  readonly reportRetryMaxMs?: number;
  /** Outbox: a report not taken by the server this long after it was created is given up (warn log), ms. Default 86 400 000 (24 h). */
  readonly reportGiveUpMs?: number;
  /** Outbox: `IMDN` POSTs in flight at once. Default 8. */
  readonly reportsInFlight?: number;
  /** How many recently reported messages are remembered, so no message gets two reports. Default 10 000. */
  readonly reportedMemory?: number;
  /** Most reports the outbox holds before a device's 0x02 is dropped (warn log, rate-limited). Default 100 000. */
  readonly outboxMax?: number;
}

/** What the relay needs of `GatewayProcedures`. */
export interface RelayHost {
  readonly store: RegistrationStore;
  readonly messages: MessageStore;
  readonly server: ServerLink;
  readonly links: ReadonlyMap<LinkId, DeviceLink>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly gatewayUeServiceId: UeServiceId;
  /** Runs a decision on the procedures' serial queue. */
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Whether the gateway is registered with the server, and under which registration (see `GatewayProcedures`). */
  isGatewayRegistered(): boolean;
  generation(): number;
  /** An answer GATEWAY_NOT_REGISTERED to a POST made at `generation`: the one recovery loop (docs/adr/0012). */
  gatewayForgotten(generation: number): void;
  /** A POST on a device's behalf was answered with success (for the re-registration flap check). */
  served(): void;
  /** Whether the gateway takes new work (false while it drains). */
  accepting(): boolean;
  /** Whether another upstream exchange may start now (the procedures' `maxInFlight`, shared). */
  hasRoom(): boolean;
  /** One token of the (link, Layer-2 ID) source's rate bucket. */
  takeToken(link: LinkId, from: Layer2Id): boolean;
  observe(call: (o: GatewayObserver) => void): void;
}

/** Counters of the relay, for logs and tests. Monotonic. */
export interface MessageCounters {
  /** Device messages handed to the relay (0x01, 0x02, 0x05). */
  deviceMessages: number;
  /** `MSG` POSTs made. */
  messagesPosted: number;
  /** 0x01 answered from the dedup record, without a POST. */
  uplinkReplays: number;
  /** 0x01 answered with a failure before any POST (matching, size, limits, gateway state). */
  uplinkRefused: number;
  /** Deliveries from the server stored (new), stored again (repeat), refused. */
  deliveriesStored: number;
  deliveriesRepeated: number;
  deliveriesRefused: number;
  /** MESSAGE RECEIVING / DELIVERY REPORT RECEIVING sends that reached the link, and that failed there. */
  downlinkSends: number;
  downlinkSendFailures: number;
  acked: number;
  notDelivered: number;
  /** Queued items ended by a de-registration. */
  endedByDeregistration: number;
  /** 0x05 for nothing queued (ignored). */
  acksIgnored: number;
  /** 0x02 relayed, and dropped as a second report for one message. */
  deviceReports: number;
  deviceReportsDropped: number;
  /** `IMDN` POSTs taken by the server, failed (rescheduled), given up. */
  reportsForwarded: number;
  reportAttemptsFailed: number;
  reportsGivenUp: number;
}

const newCounters = (): MessageCounters => ({
  deviceMessages: 0,
  messagesPosted: 0,
  uplinkReplays: 0,
  uplinkRefused: 0,
  deliveriesStored: 0,
  deliveriesRepeated: 0,
  deliveriesRefused: 0,
  downlinkSends: 0,
  downlinkSendFailures: 0,
  acked: 0,
  notDelivered: 0,
  endedByDeregistration: 0,
  acksIgnored: 0,
  deviceReports: 0,
  deviceReportsDropped: 0,
  reportsForwarded: 0,
  reportAttemptsFailed: 0,
  reportsGivenUp: 0,
});

/** Payload a link carries when it does not say (docs/wire-formats.md §5.1: LV-E, 65 535). */
const DEFAULT_LINK_PAYLOAD_OCTETS = 0xffff;
/** Most items one device's sender works through per wake-up before it yields (a bound on the loop). */
const ITEMS_PER_WAKE = 256;
/** Outbox reports read per batch. */
const REPORT_BATCH = 64;

/** Thrown inside the uplink path to answer the device with a Failure reason. */
class Refusal {
  constructor(readonly reason: FailureReason) {}
}

/** A device's downlink sender: its timer, and whether a step runs (a kick meanwhile runs it again). */
interface Sender {
  timer?: ClockTimer;
  timerAt?: number;
  running?: Promise<void>;
  again: boolean;
}

/**
 * The relay. Never throws to its callers: the device-facing entry points resolve when done and log
 * what went wrong; `onServerDelivery` resolves a verdict.
 */
export class MessageRelay {
  readonly counters: MessageCounters = newCounters();
  private readonly queuePerDevice: number;
  private readonly queueTotal: number;
  private readonly firstResendMs: number;
  private readonly resends: number;
  private readonly reportRetryMs: number;
  private readonly reportRetryMaxMs: number;
  private readonly reportGiveUpMs: number;
  private readonly reportsInFlight: number;
  private readonly reportedMemory: number;
  private readonly outboxMax: number;
  /** Uplinks whose POST runs in this process, by (sender, Message ID): a repeat waits for the same answer. */
  private readonly uplinks = new Map<string, Promise<MessageSendingResponse | undefined>>();
  private readonly senders = new Map<RegistrationId, Sender>();
  /** Messages a report was made for lately (recipient, originator, Message ID), oldest first: never two reports for one message. */
  private readonly reported = new Set<string>();
  private outboxTimer: ClockTimer | undefined;
  private outboxTimerAt: number | undefined;
  private outboxRun: Promise<void> | undefined;
  private outboxAgain = false;
  private outboxStarted = false;
  private stopped = false;
  private readonly sendFailureLog: RateLimitedLog;
  private readonly outboxFullLog: RateLimitedLog;

  constructor(
    private readonly host: RelayHost,
    options: MessageRelayOptions = {},
  ) {
    const positive = (name: string, value: number, integer = true) => {
      if (!(value > 0) || (integer && !Number.isInteger(value))) throw new RangeError(`messages.${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
      return value;
    };
    this.queuePerDevice = positive('queuePerDevice', options.queuePerDevice ?? 64);
    this.queueTotal = positive('queueTotal', options.queueTotal ?? 100_000);
    this.firstResendMs = positive('firstResendMs', options.firstResendMs ?? 2000, false);
    this.resends = options.resends ?? 4;
    if (!Number.isInteger(this.resends) || this.resends < 0) throw new RangeError(`messages.resends must be an integer >= 0, got ${this.resends}`);
    this.reportRetryMs = positive('reportRetryMs', options.reportRetryMs ?? 1000, false);
    this.reportRetryMaxMs = positive('reportRetryMaxMs', options.reportRetryMaxMs ?? 60_000, false);
    this.reportGiveUpMs = positive('reportGiveUpMs', options.reportGiveUpMs ?? 86_400_000, false);
    this.reportsInFlight = positive('reportsInFlight', options.reportsInFlight ?? 8);
    this.reportedMemory = positive('reportedMemory', options.reportedMemory ?? 10_000);
    this.outboxMax = positive('outboxMax', options.outboxMax ?? 100_000);
    this.outboxFullLog = new RateLimitedLog(host.logger, 5, 'delivery reports dropped on a full outbox not logged one by one');
    this.sendFailureLog = new RateLimitedLog(host.logger, 5, 'downlink send failures not logged one by one');
  }

  /** Uplink `MSG` POSTs running. */
  get uplinksInFlight(): number {
    return this.uplinks.size;
  }

  /** The wait after send `sends` (1, 2, …) of a MESSAGE RECEIVING, ms: 2 000, 4 000, 8 000, … by default. */
  private resendGapMs(sends: number): number {
    return this.firstResendMs * 2 ** Math.min(Math.max(sends - 1, 0), 30);
  }

  // ---------------------------------------------------------------- device → gateway

  /** A 0x01, 0x02 or 0x05 from `from` on link instance `link`. Resolves when handled. Never rejects. */
  async onDeviceMessage(message: DeviceDeliveryMessage, from: Layer2Id, link: LinkId): Promise<void> {
    this.counters.deviceMessages++;
    try {
      switch (message.kind) {
        case 'MESSAGE_SENDING_REQUEST':
          await this.uplink(message, from, link);
          return;
        case 'DELIVERY_REPORT_SENDING_REQUEST':
          await this.deviceReport(message, from, link);
          return;
        case 'MESSAGE_RECEIVING_ACK':
          await this.ack(message, from, link);
          return;
        default:
          assertNever(message, 'device delivery message');
      }
    } catch (err) {
      this.unexpected(err, { link, layer2Id: from, message: message.kind });
    }
  }

  /**
   * The sender of a device message (docs/wire-formats.md §5.2): with an Application ID, the
   * registration of (link, Layer-2 ID, Application ID); without, the only one of (link, Layer-2 ID).
   * Only REGISTERED records count. Throws a Refusal DEVICE_NOT_REGISTERED / APPLICATION_ID_REQUIRED.
   */
  private async senderOf(from: Layer2Id, link: LinkId, applicationId: ApplicationId | undefined): Promise<Registration> {
    if (applicationId !== undefined) {
      const r = await this.host.store.findByDevice(link, from, applicationId);
      if (r?.state !== 'REGISTERED') throw new Refusal('DEVICE_NOT_REGISTERED');
      return r;
    }
    const all = (await this.host.store.findByLayer2Id(link, from)).filter((r) => r.state === 'REGISTERED');
    if (all.length === 0) throw new Refusal('DEVICE_NOT_REGISTERED');
    if (all.length > 1) throw new Refusal('APPLICATION_ID_REQUIRED');
    return all[0] as Registration;
  }

  /** 0x01 MESSAGE SENDING REQUEST: §5.2, §5.3 (dedup 247 s), answered with 0x03 on the link it came in on. */
  private async uplink(message: MessageSendingRequest, from: Layer2Id, link: LinkId): Promise<void> {
    let sender: Registration | undefined;
    try {
      if (!this.host.isGatewayRegistered()) throw new Refusal('GATEWAY_NOT_REGISTERED');
      if (!this.host.accepting() || !this.host.takeToken(link, from)) throw new Refusal('CONGESTION');
      sender = await this.senderOf(from, link, message.applicationId);
      if (message.payload.length > this.host.server.maxMessagePayloadOctets) throw new Refusal('PAYLOAD_TOO_LARGE');
    } catch (err) {
      await this.refuseUplink(err, message, from, link, sender?.applicationId);
      return;
    }
    const key = `${sender.registrationId}|${message.messageId}`;
    const running = this.uplinks.get(key);
    if (running !== undefined) {
      // A repeat while the POST runs: it gets the same answer when it comes (CLOSED: none).
      const response = await running;
      if (response !== undefined) await this.answer(link, from, response);
      return;
    }
    if (!this.host.hasRoom()) {
      await this.refuseUplink(new Refusal('CONGESTION'), message, from, link, sender.applicationId);
      return;
    }
    const p = this.postUplink(sender, message, from, link);
    this.uplinks.set(key, p);
    try {
      const response = await p;
      if (response !== undefined) await this.answer(link, from, response);
    } finally {
      this.uplinks.delete(key);
    }
  }

  /**
   * The dedup record, the `MSG` POST and its answer made durable. Resolves the answer to send (the
   * stored one for a repeat), `undefined` when nothing is to be sent (the server link closed, or the
   * answer could not be made durable: the device's repeat POSTs again; the server drops it by
   * Message ID). Never rejects.
   */
  private async postUplink(sender: Registration, message: MessageSendingRequest, from: Layer2Id, link: LinkId): Promise<MessageSendingResponse | undefined> {
    const { messages, store, clock, server } = this.host;
    const fields = { ...regFields(sender), messageId: message.messageId };
    const failure = (reason: FailureReason): MessageSendingResponse => ({ kind: 'MESSAGE_SENDING_RESPONSE', messageId: message.messageId, result: 'FAILURE', failureReason: reason, applicationId: sender.applicationId });
    try {
      const now = clock.now();
      const begun = await messages.beginUplink({ sender: sender.registrationId, messageId: message.messageId, expiresAt: now + UPLINK_DEDUP_MS }, now);
      if (!begun.created && begun.existing.response !== undefined) {
        // Answered before: the same octets again, no second POST (§5.3). Its record may be another
        // turn's uncommitted write: answer once it is durable.
        await store.sync();
        this.counters.uplinkReplays++;
        this.host.observe((o) => o.duplicateAbsorbed(link, 'procedure'));
        return begun.existing.response;
      }
      // created, or a record left without an answer by an earlier run (not POSTed here): POST it.
      await store.sync();
    } catch (err) {
      const reason = this.storeReason(err, fields);
      this.counters.uplinkRefused++;
      this.host.observe((o) => o.messageSent?.(reason, link));
      return failure(reason);
    }
    const generation = this.host.generation();
    let outcome: MessageOutcome;
    this.counters.messagesPosted++;
    try {
      outcome = await server.sendMessage({
        originatorAddress: sender.ueServiceId,
        gatewayUeServiceId: this.host.gatewayUeServiceId,
        targetAddress: message.targetAddress,
        targetType: message.targetType,
        messageId: message.messageId,
        applicationId: sender.applicationId,
        deliveryStatusRequired: message.deliveryStatusRequired,
        payload: message.payload,
      });
    } catch (err) {
      // The server link is closed (shutdown): outcome unknown, nothing to say to the device.
      this.host.logger.warn({ ...fields, err: errText(err) }, 'MSG exchange not completed (server link closed); the device repeat POSTs again');
      await this.dropUplink(sender.registrationId, message.messageId);
      return undefined;
    }
    let response: MessageSendingResponse;
    if (outcome.kind === 'ACCEPTED') {
      this.host.served();
      response = { kind: 'MESSAGE_SENDING_RESPONSE', messageId: message.messageId, result: 'ACCEPTED', applicationId: sender.applicationId, deliveryStatus: outcome.deliveryStatus };
    } else {
      response = failure(outcome.reason);
      if (outcome.reason === 'SERVER_UNREACHABLE' || outcome.reason === 'GATEWAY_NOT_REGISTERED') {
        // Not an answer worth replaying: a repeat POSTs again.
        if (outcome.reason === 'GATEWAY_NOT_REGISTERED') this.host.gatewayForgotten(generation);
        await this.dropUplink(sender.registrationId, message.messageId);
        this.host.observe((o) => o.messageSent?.(outcome.reason, link));
        this.host.logger.info({ ...fields, failureReason: outcome.reason, cause: outcome.cause }, 'MSG not taken by the MSGin5G Server');
        return response;
      }
    }
    try {
      await messages.finishUplink(sender.registrationId, message.messageId, response, clock.now() + UPLINK_DEDUP_MS);
      await store.sync();
    } catch (err) {
      this.storeReason(err, fields);
      this.host.logger.warn(fields, 'the answer to a MSG could not be stored; not sent (the device repeat POSTs again)');
      return undefined;
    }
    this.host.observe((o) => o.messageSent?.(outcome.kind === 'ACCEPTED' ? 'ACCEPTED' : outcome.reason, link));
    if (outcome.kind === 'FAILURE') this.host.logger.info({ ...fields, failureReason: outcome.reason, cause: outcome.cause }, 'MSG refused by the MSGin5G Server');
    return response;
  }

  private async dropUplink(sender: RegistrationId, messageId: MessageId): Promise<void> {
    try {
      await this.host.messages.dropUplink(sender, messageId);
    } catch (err) {
      // Left as it is: the next start drops it (unfinishedUplinks).
      this.storeReason(err, { registrationId: sender, messageId });
    }
  }

  /** Answers a 0x01 with a failure (after a sync: the refusal may rest on an uncommitted read). */
  private async refuseUplink(err: unknown, message: MessageSendingRequest, from: Layer2Id, link: LinkId, applicationId: ApplicationId | undefined): Promise<void> {
    let reason = err instanceof Refusal ? err.reason : this.storeReason(err, { link, layer2Id: from, messageId: message.messageId });
    try {
      await this.host.store.sync();
    } catch {
      reason = 'CONGESTION';
    }
    this.counters.uplinkRefused++;
    this.host.observe((o) => o.messageSent?.(reason, link));
    this.host.logger[reason === 'CONGESTION' ? 'debug' : 'info']({ link, layer2Id: from, messageId: message.messageId, failureReason: reason }, 'message sending request refused');
    const appId = applicationId ?? message.applicationId;
    await this.answer(link, from, { kind: 'MESSAGE_SENDING_RESPONSE', messageId: message.messageId, result: 'FAILURE', failureReason: reason, ...(appId === undefined ? {} : { applicationId: appId }) });
  }

  /**
   * 0x02 from a device: added to the outbox for `IMDN`, or, when it is about a message still queued
   * for that device, it ends that message and replaces the report the gateway would build
   * (TS 23.554 §8.6.1 step 4b). A second report for one message is dropped. No answer exists for a 0x02.
   */
  private async deviceReport(message: DeliveryReportSendingRequest, from: Layer2Id, link: LinkId): Promise<void> {
    let sender: Registration;
    try {
      if (!this.host.takeToken(link, from)) throw new Refusal('CONGESTION');
      sender = await this.senderOf(from, link, message.applicationId);
    } catch (err) {
      const reason = err instanceof Refusal ? err.reason : this.storeReason(err, { link, layer2Id: from });
      this.counters.deviceReportsDropped++;
      this.host.logger.info({ link, layer2Id: from, messageId: message.messageId, failureReason: reason }, 'delivery report from a device dropped');
      return;
    }
    const key = reportKey(sender.registrationId, message.targetAddress, message.messageId);
    if (this.reported.has(key)) {
      this.counters.deviceReportsDropped++;
      this.host.logger.debug({ ...regFields(sender), messageId: message.messageId }, 'delivery report from a device dropped: this message was reported already');
      return;
    }
    const now = this.host.clock.now();
    const report: NewOutboxReport = {
      originatorAddress: sender.ueServiceId,
      targetAddress: message.targetAddress,
      messageId: message.messageId,
      deliveryStatus: message.deliveryStatus,
      ...(message.failureReason === undefined ? {} : { failureReason: message.failureReason }),
      createdAt: now,
      attempts: 0,
      nextAttemptAt: now,
    };
    let ended: DownlinkItem | undefined;
    try {
      // On the serial queue: the outbox bound is checked and the report added in one step.
      const stored = await this.host.run(async () => {
        const queued = await this.host.messages.findDownlinkMessage(sender.registrationId, message.messageId);
        if (queued?.content.kind === 'MESSAGE' && queued.content.originatorAddress === message.targetAddress) ended = await this.host.messages.completeDownlink(queued.seq, report);
        if (ended !== undefined) return true;
        // A flood of reports must not grow the outbox without bound (the reports the gateway builds
        // are bounded by the queues they end).
        if ((await this.host.messages.outboxDepth()) >= this.outboxMax) return false;
        await this.host.messages.addReport(report);
        return true;
      });
      if (!stored) {
        this.counters.deviceReportsDropped++;
        this.outboxFullLog.warn(this.host.clock.now(), { ...regFields(sender), messageId: message.messageId, outboxMax: this.outboxMax }, 'delivery report from a device dropped: the outbox is full');
        return;
      }
      await this.host.store.sync();
    } catch (err) {
      this.storeReason(err, { ...regFields(sender), messageId: message.messageId });
      this.host.logger.warn({ ...regFields(sender), messageId: message.messageId }, 'delivery report from a device could not be stored; dropped (the device may send it again)');
      return;
    }
    this.remember(key);
    this.counters.deviceReports++;
    if (ended !== undefined) {
      this.host.observe((o) => o.downlinkEnded?.('REPORTED_BY_DEVICE', sender.link));
      this.kick(sender.registrationId);
    }
    this.kickOutbox();
  }

  /** 0x05 MESSAGE RECEIVING ACK: the head (or any queued MESSAGE with that Message ID) is delivered. */
  private async ack(message: MessageReceivingAck, from: Layer2Id, link: LinkId): Promise<void> {
    let sender: Registration;
    let item: DownlinkItem | undefined;
    try {
      if (!this.host.takeToken(link, from)) throw new Refusal('CONGESTION'); // a lost ack costs a resend, nothing more
      sender = await this.senderOf(from, link, message.applicationId);
      item = await this.host.messages.findDownlinkMessage(sender.registrationId, message.messageId);
    } catch (err) {
      const reason = err instanceof Refusal ? err.reason : this.storeReason(err, { link, layer2Id: from });
      this.counters.acksIgnored++;
      this.host.logger.debug({ link, layer2Id: from, messageId: message.messageId, failureReason: reason }, 'message receiving ack ignored');
      return;
    }
    if (item === undefined || item.content.kind !== 'MESSAGE') {
      this.counters.acksIgnored++;
      this.host.logger.debug({ ...regFields(sender), messageId: message.messageId }, 'message receiving ack for nothing queued; ignored');
      return;
    }
    await this.endItem(sender, item, 'ACKED');
  }

  // ---------------------------------------------------------------- server → gateway

  /**
   * A `MSG` / `IMDN` from the server for a device (docs/adr/0013): queued durably, then STORED.
   * RECIPIENT_UNKNOWN without a REGISTERED registration of that UE Service ID (or one of another
   * Application ID than the delivery names); PAYLOAD_TOO_LARGE beyond the recipient's link;
   * CONGESTION when a queue is full or the gateway drains; UNSPECIFIED when the store fails.
   * A repeat of a queued one is STORED again, nothing new queued. Never rejects.
   */
  async onServerDelivery(delivery: ServerDelivery): Promise<ServerDeliveryVerdict> {
    const fields = { kind: delivery.kind, ueServiceId: delivery.targetAddress, messageId: delivery.messageId, originatorAddress: delivery.originatorAddress };
    let recipient: Registration;
    try {
      if (this.stopped || !this.host.accepting()) return this.refuseDelivery('CONGESTION', 'the gateway is stopping', fields);
      const decided = await this.host.run(async (): Promise<Extract<ServerDeliveryVerdict, { kind: 'FAILURE' }> | { kind: 'QUEUED'; recipient: Registration; repeat: boolean }> => {
        const r = await this.host.store.findByUeServiceId(delivery.targetAddress);
        if (r?.state !== 'REGISTERED') return { kind: 'FAILURE', reason: 'RECIPIENT_UNKNOWN', detail: `no registered device has UE Service ID ${delivery.targetAddress}` };
        if (delivery.kind === 'MSG' && delivery.applicationId !== undefined && delivery.applicationId !== r.applicationId) {
          return { kind: 'FAILURE', reason: 'RECIPIENT_UNKNOWN', detail: `UE Service ID ${delivery.targetAddress} is not Application ID ${delivery.applicationId}` };
        }
        if (delivery.kind === 'MSG') {
          const most = this.host.links.get(r.link)?.maxPayloadOctets ?? DEFAULT_LINK_PAYLOAD_OCTETS;
          if (delivery.payload.length > most) return { kind: 'FAILURE', reason: 'PAYLOAD_TOO_LARGE', detail: `payload ${delivery.payload.length} octets, link ${r.link} carries at most ${most}` };
        }
        const now = this.host.clock.now();
        const result = await this.host.messages.enqueueDownlink(
          {
            recipient: r.registrationId,
            content:
              delivery.kind === 'MSG'
                ? { kind: 'MESSAGE', originatorAddress: delivery.originatorAddress, originatorType: delivery.originatorType, messageId: delivery.messageId, payload: delivery.payload, deliveryStatusRequired: delivery.deliveryStatusRequired }
                : { kind: 'REPORT', originatorAddress: delivery.originatorAddress, messageId: delivery.messageId, deliveryStatus: delivery.deliveryStatus, ...(delivery.failureReason === undefined ? {} : { failureReason: delivery.failureReason }) },
            acceptedAt: now,
            attempts: 0,
            nextAttemptAt: now,
          },
          { perDevice: this.queuePerDevice, total: this.queueTotal },
        );
        switch (result.kind) {
          case 'QUEUED':
            return { kind: 'QUEUED', recipient: r, repeat: false };
          case 'DUPLICATE':
            return { kind: 'QUEUED', recipient: r, repeat: true };
          case 'DEVICE_QUEUE_FULL':
            return { kind: 'FAILURE', reason: 'CONGESTION', detail: `the queue of UE Service ID ${delivery.targetAddress} is full (${this.queuePerDevice})` };
          case 'QUEUE_FULL':
            return { kind: 'FAILURE', reason: 'CONGESTION', detail: `the gateway's queue is full (${this.queueTotal})` };
          default:
            return assertNever(result, 'enqueue result');
        }
      });
      if (decided.kind === 'FAILURE') {
        // The refusal may rest on another decision's uncommitted write (a registration): answer once durable.
        await this.host.store.sync();
        return this.refuseDelivery(decided.reason, decided.detail, fields);
      }
      recipient = decided.recipient;
      // Persist, then act: STORED only once the item is durable.
      await this.host.store.sync();
      if (decided.repeat) this.counters.deliveriesRepeated++;
      else this.counters.deliveriesStored++;
    } catch (err) {
      const reason = this.storeReason(err, fields);
      return this.refuseDelivery(reason === 'CONGESTION' ? 'CONGESTION' : 'UNSPECIFIED', 'the gateway could not store it', fields);
    }
    this.host.observe((o) => o.serverDeliveryStored?.(delivery.kind));
    this.kick(recipient.registrationId);
    return { kind: 'STORED' };
  }

  private refuseDelivery(reason: Extract<ServerDeliveryVerdict, { kind: 'FAILURE' }>['reason'], detail: string, fields: Record<string, unknown>): ServerDeliveryVerdict {
    this.counters.deliveriesRefused++;
    this.host.observe((o) => o.serverDeliveryRefused?.(reason));
    this.host.logger[reason === 'CONGESTION' ? 'debug' : 'info']({ ...fields, failureReason: reason, detail }, 'delivery from the MSGin5G Server refused');
    return { kind: 'FAILURE', reason, detail };
  }

  // ---------------------------------------------------------------- per-device sender

  /** Runs the device's sender now (or again once its running step ends). */
  kick(recipient: RegistrationId): void {
    if (this.stopped) return;
    let s = this.senders.get(recipient);
    if (s === undefined) {
      s = { again: false };
      this.senders.set(recipient, s);
    }
    if (s.running !== undefined) {
      s.again = true;
      return;
    }
    s.timer?.cancel();
    s.timer = undefined;
    s.timerAt = undefined;
    const sender = s;
    sender.running = (async () => {
      try {
        do {
          sender.again = false;
          await this.step(recipient, sender);
        } while (sender.again && !this.stopped);
      } catch (err) {
        this.unexpected(err, { registrationId: recipient, during: 'downlink' });
      } finally {
        sender.running = undefined;
        if (sender.timer === undefined && this.senders.get(recipient) === sender) this.senders.delete(recipient);
      }
    })();
  }

  /**
   * Works through the device's queue head by head: sends what is due, ends what ran out of attempts,
   * and arms the timer for the next due time. A store error leaves the item and retries after the
   * first resend gap.
   */
  private async step(recipient: RegistrationId, sender: Sender): Promise<void> {
    const { messages, store, clock } = this.host;
    for (let i = 0; i < ITEMS_PER_WAKE && !this.stopped; i++) {
      let head: DownlinkItem | undefined;
      let r: Registration | undefined;
      try {
        head = await messages.downlinkHead(recipient);
        if (head === undefined) {
          // Empty: a timer armed for an item that ended meanwhile (an ack) has nothing to do.
          sender.timer?.cancel();
          sender.timer = undefined;
          sender.timerAt = undefined;
          return;
        }
        r = await store.get(recipient);
      } catch (err) {
        this.storeReason(err, { registrationId: recipient, during: 'downlink' });
        this.arm(recipient, sender, clock.now() + this.firstResendMs);
        return;
      }
      if (r === undefined) {
        // Items of a registration that is gone (a crash between its removal and failDownlinks).
        await this.failAll(recipient, undefined);
        return;
      }
      const now = clock.now();
      if (head.nextAttemptAt > now) {
        this.arm(recipient, sender, head.nextAttemptAt);
        return;
      }
      if (head.content.kind === 'MESSAGE' && head.attempts >= this.resends + 1) {
        if (!(await this.endItem(r, head, 'NOT_DELIVERED'))) return;
        continue;
      }
      const sent = await this.send(r, head);
      const attempts = sent ? head.attempts + 1 : head.attempts;
      if (sent && head.content.kind === 'REPORT') {
        if (!(await this.endItem(r, head, 'REPORT_SENT'))) return;
        continue;
      }
      // A send that failed counts as not made: tried again after the gap it would have had.
      const next = now + this.resendGapMs(Math.max(attempts, 1));
      try {
        const updated = await messages.recordAttempt(head.seq, attempts, next);
        if (updated === undefined) continue; // acked meanwhile: next head
      } catch (err) {
        this.storeReason(err, { ...regFields(r), during: 'downlink' });
      }
      this.arm(recipient, sender, next);
      return;
    }
    // Bound reached: go on at the next turn.
    if (!this.stopped) this.arm(recipient, sender, clock.now());
  }

  private arm(recipient: RegistrationId, sender: Sender, at: number): void {
    if (this.stopped) return;
    sender.timer?.cancel();
    sender.timerAt = at;
    sender.timer = this.host.clock.startTimer(at - this.host.clock.now(), () => {
      if (this.senders.get(recipient) !== sender) return;
      sender.timer = undefined;
      sender.timerAt = undefined;
      this.kick(recipient);
    });
  }

  /** Sends the head to the device on its registration's link instance. Resolves whether it reached the link. Never rejects. */
  private async send(r: Registration, item: DownlinkItem): Promise<boolean> {
    const c = item.content;
    const unit: GatewayDeliveryMessage =
      c.kind === 'MESSAGE'
        ? { kind: 'MESSAGE_RECEIVING', originatorAddress: c.originatorAddress, messageId: c.messageId, payload: c.payload, applicationId: r.applicationId, deliveryStatusRequired: c.deliveryStatusRequired, originatorType: c.originatorType }
        : { kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: c.originatorAddress, messageId: c.messageId, deliveryStatus: c.deliveryStatus, applicationId: r.applicationId, ...(c.failureReason === undefined ? {} : { failureReason: c.failureReason }) };
    const link = this.host.links.get(r.link);
    try {
      if (link === undefined) throw new Error(`no device link instance ${r.link} is running`);
      await link.send(r.layer2Id, unit);
      this.counters.downlinkSends++;
      this.host.observe((o) => o.downlinkSent?.(c.kind, item.attempts > 0, r.link));
      return true;
    } catch (err) {
      this.counters.downlinkSendFailures++;
      this.sendFailureLog.warn(this.host.clock.now(), { ...regFields(r), messageId: c.messageId, unit: unit.kind, err: errText(err) }, 'downlink unit could not be sent; tried again later');
      return false;
    }
  }

  /**
   * Ends one queued item with the report its end produces (DELIVERED on an ack, FAILED NOT_DELIVERED
   * after the last wait; only when the originator asked and no report was made for it yet), made
   * durable before the outbox may send it. Then the device's next head goes. Resolves false when
   * the store failed (the item stays queued; the device's timer tries again).
   */
  private async endItem(r: Registration, item: DownlinkItem, end: 'ACKED' | 'NOT_DELIVERED' | 'REPORT_SENT'): Promise<boolean> {
    const c = item.content;
    const key = reportKey(r.registrationId, c.originatorAddress, c.messageId);
    let report: NewOutboxReport | undefined;
    if (c.kind === 'MESSAGE' && c.deliveryStatusRequired && !this.reported.has(key)) {
      const now = this.host.clock.now();
      report = {
        originatorAddress: r.ueServiceId,
        targetAddress: c.originatorAddress,
        messageId: c.messageId,
        deliveryStatus: end === 'ACKED' ? 'DELIVERED' : 'FAILED',
        ...(end === 'NOT_DELIVERED' ? { failureReason: 'NOT_DELIVERED' as const } : {}),
        createdAt: now,
        attempts: 0,
        nextAttemptAt: now,
      };
    }
    let done: DownlinkItem | undefined;
    try {
      done = await this.host.messages.completeDownlink(item.seq, report);
      await this.host.store.sync();
    } catch (err) {
      this.storeReason(err, { ...regFields(r), messageId: c.messageId, during: end });
      // Left queued: the timer tries again.
      this.arm(r.registrationId, this.senderState(r.registrationId), this.host.clock.now() + this.firstResendMs);
      return false;
    }
    if (done === undefined) return true; // ended meanwhile by another path
    if (c.kind === 'MESSAGE') this.remember(key);
    if (end === 'ACKED') this.counters.acked++;
    if (end === 'NOT_DELIVERED') {
      this.counters.notDelivered++;
      this.host.logger.info({ ...regFields(r), messageId: c.messageId, originatorAddress: c.originatorAddress, attempts: item.attempts }, 'message not acknowledged by the device after the last resend: NOT_DELIVERED');
    }
    this.host.observe((o) => o.downlinkEnded?.(end, r.link));
    if (report !== undefined) this.kickOutbox();
    if (end === 'ACKED') this.kick(r.registrationId);
    return true;
  }

  private senderState(recipient: RegistrationId): Sender {
    let s = this.senders.get(recipient);
    if (s === undefined) {
      s = { again: false };
      this.senders.set(recipient, s);
    }
    return s;
  }

  /**
   * A registration was removed (device DEREG, kick, expiry, a failed REG, …). Runs inside the
   * procedures' serial queue, in the same batch as the removal: every queued item of it ends, each
   * MESSAGE that asked for one with a FAILED report DEVICE_NOT_REGISTERED (§5.3: nothing is dropped
   * silently). Made durable by the removal's own commit. Throws what the store throws (the removal's
   * decision then fails as a whole).
   */
  async registrationRemoved(r: Registration): Promise<void> {
    const ended = await this.failAllWrites(r.registrationId, r.ueServiceId);
    const s = this.senders.get(r.registrationId);
    if (s !== undefined) {
      s.timer?.cancel();
      s.timer = undefined;
      s.timerAt = undefined;
      // A step under way finds the queue empty and removes its entry itself.
      if (s.running === undefined) this.senders.delete(r.registrationId);
    }
    if (ended.length > 0) this.afterFail(r.registrationId, r.link, ended);
  }

  /** Ends every item of a registration that is gone (start-up, or found gone by its sender), with reports, and commits. */
  private async failAll(recipient: RegistrationId, ueServiceId: UeServiceId | undefined): Promise<void> {
    try {
      const ended = await this.failAllWrites(recipient, ueServiceId);
      await this.host.store.sync();
      if (ended.length > 0) this.afterFail(recipient, undefined, ended);
    } catch (err) {
      this.storeReason(err, { registrationId: recipient, during: 'ending the queue of a removed registration' });
    }
  }

  /**
   * The reports' originator is the removed device's UE Service ID; for a registration already gone at
   * start-up it is no longer known, so the gateway reports as itself.
   */
  private async failAllWrites(recipient: RegistrationId, ueServiceId: UeServiceId | undefined): Promise<DownlinkItem[]> {
    const now = this.host.clock.now();
    return this.host.messages.failDownlinks(recipient, (item) => {
      const c = item.content;
      if (c.kind !== 'MESSAGE' || !c.deliveryStatusRequired || this.reported.has(reportKey(recipient, c.originatorAddress, c.messageId))) return undefined;
      return {
        originatorAddress: ueServiceId ?? this.host.gatewayUeServiceId,
        targetAddress: c.originatorAddress,
        messageId: c.messageId,
        deliveryStatus: 'FAILED',
        failureReason: 'DEVICE_NOT_REGISTERED',
        createdAt: now,
        attempts: 0,
        nextAttemptAt: now,
      };
    });
  }

  private afterFail(recipient: RegistrationId, link: LinkId | undefined, ended: readonly DownlinkItem[]): void {
    let reports = 0;
    for (const item of ended) {
      const c = item.content;
      if (c.kind === 'MESSAGE' && c.deliveryStatusRequired && !this.reported.has(reportKey(recipient, c.originatorAddress, c.messageId))) reports++;
      if (c.kind === 'MESSAGE') this.remember(reportKey(recipient, c.originatorAddress, c.messageId));
      this.host.observe((o) => o.downlinkEnded?.('DEREGISTERED', link ?? ('unknown' as LinkId)));
    }
    this.counters.endedByDeregistration += ended.length;
    this.host.logger.info({ registrationId: recipient, link, ended: ended.length, failureReports: reports }, 'registration ended: its queued downlink units failed (DEVICE_NOT_REGISTERED reports where asked for)');
    this.kickOutbox();
  }

  // ---------------------------------------------------------------- outbox

  /** Runs the outbox worker now (or again once its running pass ends), if it was started. */
  kickOutbox(): void {
    if (this.stopped || !this.outboxStarted) return;
    if (this.outboxRun !== undefined) {
      this.outboxAgain = true;
      return;
    }
    this.outboxTimer?.cancel();
    this.outboxTimer = undefined;
    this.outboxTimerAt = undefined;
    this.outboxRun = (async () => {
      try {
        do {
          this.outboxAgain = false;
          await this.outboxPass();
        } while (this.outboxAgain && !this.stopped);
      } catch (err) {
        this.unexpected(err, { during: 'outbox' });
      } finally {
        this.outboxRun = undefined;
      }
    })();
  }

  /** Sends every due report (in batches), then arms the one timer for the next due one. */
  private async outboxPass(): Promise<void> {
    const { messages, clock } = this.host;
    for (let batch = 0; batch < 1000 && !this.stopped; batch++) {
      if (!this.host.isGatewayRegistered()) return; // resumed by the gateway's (re-)registration
      let due: OutboxReport[];
      try {
        due = await messages.dueReports(clock.now(), REPORT_BATCH);
        // Persist, then act: the reports read may be this turn's uncommitted writes.
        if (due.length > 0) await this.host.store.sync();
      } catch (err) {
        this.storeReason(err, { during: 'outbox' });
        this.armOutbox(clock.now() + this.reportRetryMs);
        return;
      }
      if (due.length === 0) break;
      for (let i = 0; i < due.length && !this.stopped; i += this.reportsInFlight) {
        await Promise.all(due.slice(i, i + this.reportsInFlight).map((r) => this.forward(r)));
      }
    }
    try {
      const next = await messages.nextReportAt();
      if (next !== undefined) this.armOutbox(next);
    } catch (err) {
      this.storeReason(err, { during: 'outbox' });
      this.armOutbox(clock.now() + this.reportRetryMs);
    }
  }

  private armOutbox(at: number): void {
    if (this.stopped) return;
    this.outboxTimer?.cancel();
    this.outboxTimerAt = at;
    this.outboxTimer = this.host.clock.startTimer(at - this.host.clock.now(), () => {
      this.outboxTimer = undefined;
      this.outboxTimerAt = undefined;
      this.kickOutbox();
    });
  }

  /** One `IMDN` POST: removed on SUCCESS, rescheduled (bounded backoff) or given up otherwise. Never rejects. */
  private async forward(report: OutboxReport): Promise<void> {
    const { messages, clock, server, logger } = this.host;
    const fields = { seq: report.seq, ueServiceId: report.originatorAddress, targetAddress: report.targetAddress, messageId: report.messageId, deliveryStatus: report.deliveryStatus, attempts: report.attempts };
    const generation = this.host.generation();
    let outcome: ServerOutcome;
    try {
      outcome = await server.sendReport({
        originatorAddress: report.originatorAddress,
        gatewayUeServiceId: this.host.gatewayUeServiceId,
        targetAddress: report.targetAddress,
        messageId: report.messageId,
        deliveryStatus: report.deliveryStatus,
        ...(report.failureReason === undefined ? {} : { failureReason: report.failureReason }),
      });
    } catch (err) {
      logger.debug({ ...fields, err: errText(err) }, 'IMDN not completed (server link closed); kept for the next start');
      return;
    }
    try {
      if (outcome.kind === 'SUCCESS') {
        this.host.served();
        await messages.removeReport(report.seq);
        this.counters.reportsForwarded++;
        this.host.observe((o) => o.reportForwarded?.('SUCCESS'));
        return;
      }
      if (outcome.reason === 'GATEWAY_NOT_REGISTERED') this.host.gatewayForgotten(generation);
      this.counters.reportAttemptsFailed++;
      this.host.observe((o) => o.reportForwarded?.(outcome.reason));
      const now = clock.now();
      if (now - report.createdAt >= this.reportGiveUpMs) {
        await messages.removeReport(report.seq);
        this.counters.reportsGivenUp++;
        this.host.observe((o) => o.reportForwarded?.('GIVEN_UP'));
        logger.warn({ ...fields, failureReason: outcome.reason, cause: outcome.cause, ageMs: now - report.createdAt }, 'delivery status report given up: the MSGin5G Server did not take it in time');
        return;
      }
      const waitMs = Math.min(this.reportRetryMaxMs, this.reportRetryMs * 2 ** Math.min(report.attempts, 30));
      await messages.rescheduleReport(report.seq, report.attempts + 1, now + waitMs);
      logger.debug({ ...fields, failureReason: outcome.reason, cause: outcome.cause, retryInMs: waitMs }, 'IMDN not taken; tried again later');
    } catch (err) {
      this.storeReason(err, fields);
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Start-up (after the procedures' own recovery): uplinks left without an answer are dropped (the
   * device's repeat POSTs again; the server drops a repeat by Message ID); each queue resumes at its
   * stored `nextAttemptAt` and attempts, or, when its registration is gone, ends with reports; the
   * outbox worker starts (also when the store fails part-way). Resolves the counts. Throws what the
   * store throws.
   */
  async recover(): Promise<{ readonly uplinksDropped: number; readonly queuesResumed: number; readonly queuesEnded: number }> {
    try {
      return await this.recoverQueues();
    } finally {
      this.outboxStarted = true;
      this.kickOutbox();
    }
  }

  private async recoverQueues(): Promise<{ readonly uplinksDropped: number; readonly queuesResumed: number; readonly queuesEnded: number }> {
    const { messages, store } = this.host;
    const unfinished = await messages.unfinishedUplinks();
    for (const u of unfinished) if (!this.uplinks.has(`${u.sender}|${u.messageId}`)) await messages.dropUplink(u.sender, u.messageId);
    let queuesResumed = 0;
    let queuesEnded = 0;
    for (const id of await messages.downlinkRecipients()) {
      if (this.stopped) break;
      const r = await store.get(id);
      if (r === undefined) {
        queuesEnded++;
        await this.failAll(id, undefined);
      } else {
        queuesResumed++;
        this.kick(id);
      }
    }
    // Dropped uplinks need no commit of their own: a crash before one just drops them again.
    return { uplinksDropped: unfinished.length, queuesResumed, queuesEnded };
  }

  /** The gateway is registered (again): reports held while it was not go now. */
  gatewayRegistered(): void {
    this.kickOutbox();
  }

  /** Deletes expired uplink dedup records; resolves how many. */
  purgeUplinks(): Promise<number> {
    return this.host.messages.purgeUplinks(this.host.clock.now());
  }

  /** Stops every timer; no new send starts. What is queued stays queued for the next start. */
  stop(): void {
    this.stopped = true;
    for (const s of this.senders.values()) s.timer?.cancel();
    this.outboxTimer?.cancel();
    this.outboxTimer = undefined;
  }

  /** Resolves when no sender step, outbox pass or uplink POST runs. */
  async whenIdle(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const running = [...[...this.senders.values()].map((s) => s.running), this.outboxRun, ...this.uplinks.values()].filter((p) => p !== undefined);
      if (running.length === 0) return;
      await Promise.allSettled(running);
    }
  }

  /** When the device's sender wakes next (ms), for tests and logs; `undefined` when no timer is armed. */
  nextAttemptFor(recipient: RegistrationId): number | undefined {
    return this.senders.get(recipient)?.timerAt;
  }

  /** When the outbox wakes next (ms); `undefined` when no timer is armed. */
  get nextOutboxAt(): number | undefined {
    return this.outboxTimerAt;
  }

  private remember(key: string): void {
    this.reported.delete(key);
    this.reported.add(key);
    if (this.reported.size > this.reportedMemory) {
      const oldest = this.reported.values().next().value;
      if (oldest !== undefined) this.reported.delete(oldest);
    }
  }

  /** A store error's Failure reason (BUSY: CONGESTION), logged; anything else is a bug and is rethrown. */
  private storeReason(err: unknown, fields: Record<string, unknown>): FailureReason {
    if (!(err instanceof RegistrationStoreError)) throw err;
    this.host.logger.warn({ ...fields, reason: err.reason, err: err.message }, 'message store error');
    return err.reason === 'BUSY' ? 'CONGESTION' : 'UNSPECIFIED';
  }

  private unexpected(err: unknown, fields: Record<string, unknown>): void {
    this.host.logger.error({ ...fields, err: err instanceof Error ? err.stack : String(err) }, 'unexpected error in the message relay');
  }

  /** Sends a 0x03 on the link instance the 0x01 came in on; a failure is logged, never thrown. */
  private async answer(link: LinkId, to: Layer2Id, response: MessageSendingResponse): Promise<void> {
    const l = this.host.links.get(link);
    try {
      if (l === undefined) throw new Error(`no device link instance ${link} is running`);
      await l.send(to, response);
    } catch (err) {
      this.host.logger.warn({ link, layer2Id: to, messageId: response.messageId, err: errText(err) }, 'message sending response could not be sent');
    }
  }
}

const reportKey = (recipient: RegistrationId, originator: string, messageId: MessageId) => `${recipient}|${originator}|${messageId}`;

function regFields(r: Registration): Record<string, unknown> {
  return { registrationId: r.registrationId, applicationId: r.applicationId, layer2Id: r.layer2Id, link: r.link, ueServiceId: r.ueServiceId };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
