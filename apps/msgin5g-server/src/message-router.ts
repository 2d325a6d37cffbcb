/**
 * The reference server's message routing (docs/wire-formats.md §5.4; docs/adr/0013): what it answers
 * to a `MSG` or `IMDN`, and the store and forward that carries them to the gateway a recipient is
 * behind. Answers are decided at once, synchronously, from the registry and the store; delivery
 * to gateways happens afterwards.
 *
 * `MSG` (answered 2.04 `MSGRESP`; the first rule that applies):
 * 1. `gatewayUeServiceId` present and not registered: `DELY_FAILED` `GATEWAY_NOT_REGISTERED` (as
 *    §4: a gateway the server forgot must register again first);
 * 2. the same (`oriAddr`, `msgId`) within {@link DEDUP_MS} (247 s; the memory holds up to
 *    {@link DEDUP_MAX} entries, oldest forgotten first) as a MSG that was taken (DELIVERED or
 *    DELY_STORED): the same answer again, nothing routed twice. A refused MSG routed nothing and is
 *    not remembered, so a gateway that registers again after GATEWAY_NOT_REGISTERED (docs/adr/0012)
 *    can send it again;
 * 3. `gatewayUeServiceId` present and `oriAddr` not registered behind that gateway:
 *    `DELY_FAILED` `DEVICE_NOT_REGISTERED`. (Without `gatewayUeServiceId` the sender is an
 *    Application Server, e.g. the `server send` CLI, or a UE for itself: taken as it names itself,
 *    and remembered as an AS Service ID when it is not a registered UE, so reports to it land in
 *    the inbox);
 * 4. `targetType` `GROUP`: `DELY_FAILED` `RECIPIENT_UNKNOWN` (groups are not served);
 * 5. `targetType` `AS`, or `destAddr` (not a registered UE) the pretend AS (`asServiceId`) or a
 *    sender remembered in 3: kept in the inbox ({@link AsInbox}), `DELIVERED`; when
 *    `delivStReqInd`, the pretend AS reports `REPT_DELY_SUCCESS` to the originator at once (routed
 *    as any IMDN below);
 * 6. `destAddr` a registered UE Service ID (a device behind a gateway, or a gateway or UE for
 *    itself): stored for forwarding (a store of `maxStoredMessages`; full: `DELY_FAILED`
 *    `CONGESTION`), `DELY_STORED`. The message is then held by the server short of the device, so
 *    `DELIVERED` is never said for a UE: the final word is the IMDN the gateway relays (or builds)
 *    when the originator asked for one;
 * 7. anything else: `DELY_FAILED` `RECIPIENT_UNKNOWN`.
 *
 * `IMDN` (answered 2.04 `{"messageType":"IMDN","result":…}`; the first rule that applies):
 * 1. `gatewayUeServiceId` present and not registered: FAILURE `GATEWAY_NOT_REGISTERED`;
 * 2. the same (`oriAddr`, `destAddr`, `msgId`, `delivSt`) within 247 s as one answered SUCCESS:
 *    SUCCESS again, routed once;
 * 3. `destAddr` a registered UE: stored for forwarding (full: FAILURE `CONGESTION`), SUCCESS;
 * 4. `destAddr` the pretend AS or a sender remembered in MSG rule 3: recorded in the inbox, SUCCESS;
 * 5. anything else: FAILURE `RECIPIENT_UNKNOWN`.
 * The reporter (`oriAddr`) need not be registered any more: a gateway reports NOT_DELIVERED for a
 * device that de-registered (docs/wire-formats.md §5.3).
 *
 * Store and forward. Each stored item is POSTed to the `notifyUri` its recipient is served by
 * (`Registry.deliveryUriFor`), at most {@link MessageRouterOptions.maxInFlight} at once, and for
 * each recipient one at a time, oldest first (a device gets its messages and reports in the order
 * the server took them; an item being retried holds back the later ones for that recipient).
 * A `MSG` goes with the same `oriAddr`, `destAddr`, `targetType`, `msgId`, `delivStReqInd` and
 * payload; its `appId` only when it came from an AS (there it names the receiving Application
 * Client; from a gateway it names the sender's); `oriType` `AS` when it came from an AS; never
 * `gatewayUeServiceId`. An IMDN goes with `oriAddr`, `destAddr`, `msgId`, `delivSt` and
 * `failureCause`. The POST goes to the `notifyUri` as given (its Uri-Path), CON, Content-Format 50.
 * The gateway's answer (`gateway-notifier.ts`): accepted → done (it has it
 * durably; the device's report comes later as an IMDN); rejected (RECIPIENT_UNKNOWN,
 * PAYLOAD_TOO_LARGE, a 4.xx, …) → the item fails: a `MSG` whose originator asked for a report gets
 * an IMDN `REPT_DELY_FAILED` with that cause (UNSPECIFIED when the cause is not a Failure reason
 * name); retry (CONGESTION, 5.03, no answer, no `notifyUri` yet, recipient or gateway not registered
 * now) → tried again after a backoff (`retryInitialMs`, doubling up to `retryMaxMs`; at least a
 * 5.03's Max-Age), and at once when the gateway registers again. An item older than
 * `messageExpiryMs` is dropped: a `MSG` whose originator asked for a report gets an IMDN
 * `REPT_DELY_FAILED` `NOT_DELIVERED`; an IMDN is dropped with a warn line. Nothing is kept across a
 * restart (the registry is not either).
 *
 * Rejected alternative: holding the sender's answer until the gateway has answered (a separate
 * response). It would make the answer to one request depend on another network exchange of
 * unbounded length, and the MSGRESP can only say DELY_STORED either way (the gateway stores, it
 * does not deliver); RECIPIENT_UNKNOWN from the gateway still reaches the originator as an IMDN.
 */
import { EXCHANGE_LIFETIME_MS, FAILURE_REASONS, type FailureReason, type Logger, silentLogger } from '@msgin5g/core';
import { encodeMsgin5g1MessageRequest, type Msgin5g1Imdn, type Msgin5g1ImdnAnswer, type Msgin5g1Msg, type Msgin5g1MsgResp } from '@msgin5g/protocol';
import { AsInbox, DEFAULT_INBOX_SIZE, type InboxEntry, type InboxPage } from './as-inbox';
import type { GatewayNotifier, NotifyOutcome } from './gateway-notifier';
import type { Registry } from './registry';

/** How long a (sender, Message ID) is remembered, ms: EXCHANGE_LIFETIME, as the gateway's own dedup (docs/wire-formats.md §5.3). */
export const DEDUP_MS = EXCHANGE_LIFETIME_MS;
/** Most answers remembered for dedup. */
export const DEDUP_MAX = 100_000;
/** Most AS Service IDs remembered from senders without a gateway. */
const KNOWN_AS_MAX = 1000;
/** How often the store is looked at, ms. */
const TICK_MS = 200;

export const DEFAULT_AS_SERVICE_ID = 'as-demo';
export const DEFAULT_MESSAGE_EXPIRY_MS = 24 * 3600 * 1000;
export const DEFAULT_MAX_STORED_MESSAGES = 10_000;

export interface MessageRouterOptions {
  /** The pretend Application Server's AS Service ID (5..255 octets). Default `as-demo`. */
  readonly asServiceId?: string;
  /** How long a stored item may wait for delivery, ms. Default 24 h. */
  readonly messageExpiryMs?: number;
  /** Most items stored for forwarding (MSG and IMDN together). Default 10,000. */
  readonly maxStoredMessages?: number;
  /** Entries kept in the inbox ring. Default 1,000. */
  readonly inboxSize?: number;
  /** First retry delay, ms (doubling). Default 1,000. */
  readonly retryInitialMs?: number;
  /** Longest retry delay, ms. Default 60,000. */
  readonly retryMaxMs?: number;
  /** Most deliveries in flight. Default 16. */
  readonly maxInFlight?: number;
  readonly logger?: Logger;
}

/** Counters since start. */
export interface MessageRouterStats {
  msgReceived: number;
  imdnReceived: number;
  duplicates: number;
  stored: number;
  forwarded: number;
  deliveryAttempts: number;
  failed: number;
  expired: number;
  toInbox: number;
}

interface Stored {
  readonly request: Msgin5g1Msg | Msgin5g1Imdn;
  readonly body: Uint8Array;
  readonly storedAt: number;
  attempts: number;
  nextAt: number;
  inFlight: boolean;
}

export class MessageRouter {
  readonly inbox: AsInbox;
  readonly stats: MessageRouterStats = { msgReceived: 0, imdnReceived: 0, duplicates: 0, stored: 0, forwarded: 0, deliveryAttempts: 0, failed: 0, expired: 0, toInbox: 0 };
  readonly asServiceId: string;
  private readonly expiryMs: number;
  private readonly maxStored: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly maxInFlight: number;
  private readonly logger: Logger;
  private readonly answers = new Map<string, { at: number; answer: Msgin5g1MsgResp | Msgin5g1ImdnAnswer }>();
  private readonly knownAs = new Set<string>();
  private readonly store = new Set<Stored>();
  private inFlight = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly registry: Registry,
    private readonly notifier: GatewayNotifier,
    options: MessageRouterOptions = {},
  ) {
    this.asServiceId = options.asServiceId ?? DEFAULT_AS_SERVICE_ID;
    this.expiryMs = options.messageExpiryMs ?? DEFAULT_MESSAGE_EXPIRY_MS;
    this.maxStored = options.maxStoredMessages ?? DEFAULT_MAX_STORED_MESSAGES;
    this.retryInitialMs = options.retryInitialMs ?? 1000;
    this.retryMaxMs = options.retryMaxMs ?? 60_000;
    this.maxInFlight = options.maxInFlight ?? 16;
    this.logger = options.logger ?? silentLogger;
    this.inbox = new AsInbox(options.inboxSize ?? DEFAULT_INBOX_SIZE);
  }

  /** Starts looking at the store every 200 ms. */
  start(): void {
    this.timer ??= setInterval(() => this.pump(), TICK_MS);
  }

  /** Stops forwarding; what is stored is dropped with the process. Idempotent. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.notifier.close();
  }

  /** Items waiting for (or in) delivery. */
  get storedCount(): number {
    return this.store.size;
  }

  /** A page of `GET /messages` (see {@link AsInbox.page}). */
  messagesPage(since?: number): InboxPage {
    return this.inbox.page(since);
  }

  /** The inbox entries, oldest first. */
  inboxEntries(): InboxEntry[] {
    return this.inbox.entries();
  }

  /** A registration happened: what waits for this UE Service ID (or the devices behind it) is tried now. */
  onRegistered(ueServiceId: string): void {
    const now = Date.now();
    let woken = 0;
    for (const s of this.store) {
      const to = s.request.targetAddress;
      if (to === ueServiceId || this.registry.gatewayOf(to) === ueServiceId) {
        s.nextAt = now;
        woken += 1;
      }
    }
    if (woken > 0) setImmediate(() => this.pump());
  }

  /**
   * A device behind a gateway de-registered: the messages held for it (not one in flight: the
   * gateway's answer ends that one) end now, each reported failed (`RECIPIENT_UNKNOWN`, what a new
   * message for it is answered) to its originator when asked; reports held for it are dropped
   * with a log line (reports on reports are never made).
   */
  onDeviceDeregistered(ueServiceId: string): void {
    for (const s of [...this.store]) {
      if (s.inFlight || s.request.targetAddress !== ueServiceId) continue;
      this.store.delete(s);
      this.stats.failed += 1;
      const r = s.request;
      this.logger.info({ messageType: r.messageType, oriAddr: r.originatorAddress, destAddr: r.targetAddress, msgId: r.messageId }, 'the recipient de-registered: not delivered');
      this.reportFailure(r, 'RECIPIENT_UNKNOWN');
    }
  }

  /** Answers a `MSG` (rules 1–7 of the module comment). */
  onMessage(msg: Msgin5g1Msg): Msgin5g1MsgResp {
    this.stats.msgReceived += 1;
    if (msg.gatewayUeServiceId !== undefined && !this.registry.has(msg.gatewayUeServiceId)) {
      return { messageType: 'MSGRESP', messageId: msg.messageId, status: 'DELY_FAILED', failureCause: 'GATEWAY_NOT_REGISTERED' };
    }
    const key = `MSG\u0000${msg.originatorAddress}\u0000${msg.messageId}`;
    const remembered = this.remembered(key);
    if (remembered !== undefined) return remembered as Msgin5g1MsgResp;
    const answer = this.routeMessage(msg);
    if (answer.status !== 'DELY_FAILED') this.remember(key, answer);
    return answer;
  }

  /** Answers an `IMDN` (see the module comment). */
  onReport(imdn: Msgin5g1Imdn): Msgin5g1ImdnAnswer {
    this.stats.imdnReceived += 1;
    const key = `IMDN\u0000${imdn.originatorAddress}\u0000${imdn.targetAddress}\u0000${imdn.messageId}\u0000${imdn.deliveryStatus}`;
    if (imdn.gatewayUeServiceId !== undefined && !this.registry.has(imdn.gatewayUeServiceId)) {
      return { messageType: 'IMDN', result: 'FAILURE', failureCause: 'GATEWAY_NOT_REGISTERED' };
    }
    const remembered = this.remembered(key);
    if (remembered !== undefined) return remembered as Msgin5g1ImdnAnswer;
    const routed = this.routeReport(stripGateway(imdn));
    const answer: Msgin5g1ImdnAnswer = routed === 'OK' ? { messageType: 'IMDN', result: 'SUCCESS' } : { messageType: 'IMDN', result: 'FAILURE', failureCause: routed };
    if (answer.result === 'SUCCESS') this.remember(key, answer);
    return answer;
  }

  private routeMessage(msg: Msgin5g1Msg): Msgin5g1MsgResp {
    const failed = (failureCause: string): Msgin5g1MsgResp => {
      this.logger.info({ oriAddr: msg.originatorAddress, destAddr: msg.targetAddress, msgId: msg.messageId, failureCause }, 'MSG refused');
      return { messageType: 'MSGRESP', messageId: msg.messageId, status: 'DELY_FAILED', failureCause };
    };
    const gateway = msg.gatewayUeServiceId;
    if (gateway !== undefined) {
      if (!this.registry.has(gateway)) return failed('GATEWAY_NOT_REGISTERED');
      if (!this.registry.has(msg.originatorAddress) || this.registry.gatewayOf(msg.originatorAddress) !== gateway) return failed('DEVICE_NOT_REGISTERED');
    } else if (!this.registry.has(msg.originatorAddress)) {
      this.rememberAs(msg.originatorAddress);
    }
    if (msg.targetType === 'GROUP') return failed('RECIPIENT_UNKNOWN');
    const dest = msg.targetAddress;
    if (msg.targetType === 'AS' || (!this.registry.has(dest) && this.isAs(dest))) {
      this.stats.toInbox += 1;
      const entry = this.inbox.addMessage(msg, Date.now());
      this.logger.info({ seq: entry.seq, oriAddr: msg.originatorAddress, destAddr: dest, msgId: msg.messageId }, 'MSG kept in the AS inbox');
      if (msg.deliveryStatusRequired) {
        this.routeReport({ messageType: 'IMDN', originatorAddress: dest, targetAddress: msg.originatorAddress, messageId: msg.messageId, deliveryStatus: 'DELIVERED' });
      }
      return { messageType: 'MSGRESP', messageId: msg.messageId, status: 'DELIVERED' };
    }
    if (!this.registry.has(dest)) return failed('RECIPIENT_UNKNOWN');
    const forwarded: Msgin5g1Msg = {
      messageType: 'MSG',
      originatorAddress: msg.originatorAddress,
      targetAddress: dest,
      targetType: msg.targetType,
      messageId: msg.messageId,
      deliveryStatusRequired: msg.deliveryStatusRequired,
      payload: msg.payload,
      ...(gateway === undefined && msg.applicationId !== undefined ? { applicationId: msg.applicationId } : {}),
      ...(gateway === undefined && !this.registry.has(msg.originatorAddress) ? { originatorType: 'AS' as const } : {}),
    };
    if (!this.enqueue(forwarded)) return failed('CONGESTION');
    return { messageType: 'MSGRESP', messageId: msg.messageId, status: 'DELY_STORED' };
  }

  /** Routes a report: to a registered UE (stored for forwarding), to the inbox (an AS), or nowhere. */
  private routeReport(imdn: Msgin5g1Imdn): 'OK' | 'CONGESTION' | 'RECIPIENT_UNKNOWN' {
    const dest = imdn.targetAddress;
    if (this.registry.has(dest)) {
      if (this.enqueue(imdn)) return 'OK';
      this.logger.warn({ oriAddr: imdn.originatorAddress, destAddr: dest, msgId: imdn.messageId }, 'IMDN not stored: the store is full');
      return 'CONGESTION';
    }
    if (this.isAs(dest)) {
      this.stats.toInbox += 1;
      const entry = this.inbox.addReport(imdn, Date.now());
      this.logger.info({ seq: entry.seq, oriAddr: imdn.originatorAddress, destAddr: dest, msgId: imdn.messageId, delivSt: entry.delivSt }, 'IMDN kept in the AS inbox');
      return 'OK';
    }
    this.logger.info({ oriAddr: imdn.originatorAddress, destAddr: dest, msgId: imdn.messageId }, 'IMDN for an unknown recipient');
    return 'RECIPIENT_UNKNOWN';
  }

  private enqueue(request: Msgin5g1Msg | Msgin5g1Imdn): boolean {
    if (this.store.size >= this.maxStored) return false;
    const now = Date.now();
    this.store.add({ request, body: encodeMsgin5g1MessageRequest(request), storedAt: now, attempts: 0, nextAt: now, inFlight: false });
    this.stats.stored += 1;
    this.logger.info({ messageType: request.messageType, oriAddr: request.originatorAddress, destAddr: request.targetAddress, msgId: request.messageId, stored: this.store.size }, 'stored for forwarding');
    setImmediate(() => this.pump());
    return true;
  }

  /** Expires what is too old and starts the deliveries that are due, oldest first. */
  private pump(): void {
    if (this.stopped) return;
    const now = Date.now();
    // One item per recipient at a time, the oldest first, so a device gets its messages in the order they were sent.
    const recipientsAhead = new Set<string>();
    for (const s of this.store) {
      if (now - s.storedAt >= this.expiryMs && !s.inFlight) {
        this.store.delete(s);
        this.expire(s);
        continue;
      }
      const recipient = s.request.targetAddress;
      if (recipientsAhead.has(recipient)) continue;
      recipientsAhead.add(recipient);
      if (s.inFlight || s.nextAt > now || this.inFlight >= this.maxInFlight) continue;
      const uri = this.registry.deliveryUriFor(s.request.targetAddress);
      if (uri === undefined) {
        this.backoff(s, now, undefined);
        continue;
      }
      this.attempt(s, uri);
    }
  }

  private attempt(s: Stored, uri: string): void {
    s.inFlight = true;
    s.attempts += 1;
    this.inFlight += 1;
    this.stats.deliveryAttempts += 1;
    const r = s.request;
    void this.notifier.deliver(uri, r.messageType, r.messageId, s.body).then((outcome: NotifyOutcome) => {
      this.inFlight -= 1;
      s.inFlight = false;
      if (this.stopped) return;
      const fields = { messageType: r.messageType, oriAddr: r.originatorAddress, destAddr: r.targetAddress, msgId: r.messageId, notifyUri: uri, attempt: s.attempts, detail: outcome.detail };
      switch (outcome.kind) {
        case 'ACCEPTED':
          this.store.delete(s);
          this.stats.forwarded += 1;
          this.logger.info(fields, 'forwarded to the gateway');
          break;
        case 'REJECTED':
          this.store.delete(s);
          this.stats.failed += 1;
          this.logger.warn({ ...fields, failureCause: outcome.cause }, 'the gateway refused it');
          this.reportFailure(r, outcome.cause);
          break;
        case 'RETRY':
          this.backoff(s, Date.now(), outcome.retryAfterMs);
          this.logger.info({ ...fields, retryInMs: s.nextAt - Date.now() }, 'delivery to the gateway will be retried');
          break;
      }
      setImmediate(() => this.pump());
    });
  }

  private backoff(s: Stored, now: number, atLeastMs: number | undefined): void {
    const step = Math.min(this.retryMaxMs, this.retryInitialMs * 2 ** Math.min(30, Math.max(0, s.attempts - 1)));
    s.nextAt = now + Math.max(step, atLeastMs ?? 0);
  }

  private expire(s: Stored): void {
    this.stats.expired += 1;
    const r = s.request;
    this.logger.warn({ messageType: r.messageType, oriAddr: r.originatorAddress, destAddr: r.targetAddress, msgId: r.messageId, attempts: s.attempts }, 'expired before delivery');
    this.reportFailure(r, 'NOT_DELIVERED');
  }

  /** A stored MSG that failed: an IMDN REPT_DELY_FAILED to its originator when one was asked for. Reports on reports are never made. */
  private reportFailure(r: Msgin5g1Msg | Msgin5g1Imdn, cause: string): void {
    if (r.messageType !== 'MSG' || !r.deliveryStatusRequired) return;
    const failureReason: FailureReason = (FAILURE_REASONS as readonly string[]).includes(cause) ? (cause as FailureReason) : 'UNSPECIFIED';
    const routed = this.routeReport({ messageType: 'IMDN', originatorAddress: r.targetAddress, targetAddress: r.originatorAddress, messageId: r.messageId, deliveryStatus: 'FAILED', failureReason });
    if (routed !== 'OK') this.logger.warn({ destAddr: r.originatorAddress, msgId: r.messageId, why: routed }, 'failure report not sent');
  }

  private isAs(address: string): boolean {
    return address === this.asServiceId || this.knownAs.has(address);
  }

  private rememberAs(address: string): void {
    if (this.knownAs.has(address)) return;
    if (this.knownAs.size >= KNOWN_AS_MAX) this.knownAs.delete(this.knownAs.values().next().value as string);
    this.knownAs.add(address);
  }

  private remembered(key: string): Msgin5g1MsgResp | Msgin5g1ImdnAnswer | undefined {
    const hit = this.answers.get(key);
    if (hit === undefined || Date.now() - hit.at >= DEDUP_MS) return undefined;
    this.stats.duplicates += 1;
    return hit.answer;
  }

  private remember(key: string, answer: Msgin5g1MsgResp | Msgin5g1ImdnAnswer): void {
    const now = Date.now();
    for (const [k, v] of this.answers) {
      if (now - v.at < DEDUP_MS && this.answers.size < DEDUP_MAX) break;
      this.answers.delete(k);
    }
    this.answers.delete(key);
    this.answers.set(key, { at: now, answer });
  }
}

function stripGateway(imdn: Msgin5g1Imdn): Msgin5g1Imdn {
  if (imdn.gatewayUeServiceId === undefined) return imdn;
  const { gatewayUeServiceId: _g, ...rest } = imdn;
  return rest;
}
