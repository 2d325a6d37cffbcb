/**
 * `CoapDeviceLink`: the `DeviceLink` port for CoAP-capable constrained devices (TS 24.538 Annex A.3
 * style; docs/wire-formats.md §3.3). A CoAP server on one UDP socket serving one resource (Uri-Path
 * `msgin5g` by default): POST, Content-Format 50, CON or NON, body
 * `{"messageType":"REG","appId":"42"}` (`appId` also as a JSON number) or
 * `{"messageType":"DEREG","registrationId":"…"}`, answered 2.04 Changed with the JSON result. A
 * device's Layer-2 ID is its source `ip:port` (IPv4-mapped sources unmapped, as on the UDP link).
 *
 * This file is the glue between three layers, one concept per file:
 * - the message layer (`message-layer.ts`, RFC 7252 §4): parsing, RST/ping/format-error rules,
 *   duplicate detection (`duplicate-cache.ts`), piggybacked / separate / NON responses, empty ACKs,
 *   retransmission of separate responses (`confirmable-retransmitter.ts`);
 * - the request rules (`request-verdict.ts`, RFC 7252 §5): options, path, method, formats, the JSON
 *   body through `@msgin5g/protocol`, and the error answers;
 * - the exchange table (`exchange-table.ts`): requests pending at the core, per device, with caps
 *   and a lifetime;
 * and the `DeviceLink` port: `start` binds the socket, a valid request goes to `handler.onRequest`,
 * `send(layer2Id, response)` answers the pending exchanges of that device and procedure with 2.04
 * and the JSON of `encodeCoapDeviceResponse`, `stop` answers what is left and closes.
 *
 * Every CON is acknowledged or rejected, and every request the link has acknowledged gets its final
 * answer (RFC 7252 §4.2, §5.2.2):
 * - the core's answer, piggybacked when it comes within `separateAfterMs` (default 1 s, below the
 *   devices' ACK_TIMEOUT of 2 s), else after an empty ACK as a separate CON retransmitted until ACKed;
 * - a request over a cap — its device already has `maxExchangesPerDevice` pending (default 8), or
 *   the link `maxPendingExchanges` (default 10 000, counting separate responses awaiting an ACK) —
 *   is refused at once with 5.03 Service Unavailable and Max-Age `refusalMaxAgeS` (default 5 s;
 *   piggybacked for a CON, a NON for a NON): the NEW request, never one already pending. Counted in
 *   {@link CoapDeviceLink.counters}, logged at warn (at most one line a second);
 * - an exchange the core has not answered within `pendingLifetimeMs` (default 247 s, far beyond the
 *   gateway's 30 s server deadline: a lost answer) gets 5.03 with Max-Age, counted and logged;
 * - at `stop()`, each pending exchange gets 5.03 with Max-Age before the socket closes.
 * A response for which no exchange is pending (after a restart, after expiry) is logged and dropped:
 * the device's retry reaches the core, which replays the answer.
 *
 * Messages (docs/wire-formats.md §3.3 "Messages", §5.3), when the handler has `onDeliveryMessage`:
 * - a device's `MSG` is a pending exchange like a REG, matched by its Message ID: the core's MESSAGE
 *   SENDING RESPONSE (`send`) answers it 2.04 `MSGRESP`; a device may have a REG / DEREG and several
 *   messages pending at once (within `maxExchangesPerDevice`);
 * - a device's `IMDN` is answered at once with an empty 2.04 (there is no M5 answer to a DELIVERY
 *   REPORT SENDING REQUEST) and handed to `onDeliveryMessage`;
 * - `send(to, MESSAGE RECEIVING | DELIVERY REPORT RECEIVING)` is a CON POST from the link's socket to
 *   the device's Layer-2 ID, Uri-Path as the link's resource, Content-Format 50, the `MSG` / `IMDN`
 *   JSON; retransmitted per RFC 7252 (ACK_TIMEOUT, MAX_RETRANSMIT 4). A 2.xx answer to a `MSG`
 *   (piggybacked or separate) is reported as a MESSAGE_RECEIVING_ACK; to an `IMDN` it ends the
 *   exchange, nothing reported; a 4.xx / 5.xx, an RST or no answer is logged, no ack. A `send` for a
 *   Message ID whose POST to that device is still outstanding resolves at once without a second
 *   exchange (the core resends an unacknowledged MESSAGE RECEIVING on its own schedule, §5.3).
 * Without `onDeliveryMessage` (a handler written before version 2): a `MSG` is answered 2.04
 * `MSGRESP` `DELY_FAILED` `MESSAGE_TYPE_NOT_SUPPORTED`, an `IMDN` 5.01 Not Implemented, each reported.
 *
 * Everything that is not a valid MSGin5G request is reported through `handler.onProtocolError`
 * (never `onRequest`) and answered as RFC 7252 says (see `message-layer.ts` and `request-verdict.ts`).
 * Refusals at a cap are not protocol errors (the request was valid) and are not reported there.
 *
 * Rejected alternative: npm `coap` 1.5.0's server fed from our own socket (what the reference MSGin5G
 * Server does). Checked against its source and on the wire: it runs the request handler once per
 * retransmitted copy of a CON (its response cache only covers copies that arrive after a piggybacked
 * or NON answer; during the empty-ACK phase the cache key misses when the request has a token); it
 * sends its own empty ACK after `piggybackReplyMs` (default 50 ms) per copy; it hands token lengths
 * 9..12, truncated options, a payload marker without payload, unknown critical options and even a
 * CON 0.00 ping to the request handler as requests; its error path (`_sendError`: bad version,
 * option nibble 15, FETCH without Content-Format) answers 127.0.0.1 instead of the client; and a
 * pending response cannot be dropped without reaching into its private `_ackTimer`. The message
 * layer this link needs is smaller than the workarounds.
 *
 * Address families: as `UdpDeviceLink` — a host with `:` opens `udp6`, `::` is bound dual-stack. The
 * socket setup (`bindUdpSocket`) and `unmapIpv4` come from `@msgin5g/udp-socket`, shared with the UDP
 * link: CoAP here is one more protocol over the same kind of UDP socket.
 *
 * @see TS 24.538 Annex A.3; RFC 7252 §4 (messaging), §5.2 (responses), §5.4 (options), §5.9.3.4 (5.03), §12.1 (codes)
 */
import * as dgram from 'node:dgram';
import { isIP } from 'node:net';
import {
  DeviceLinkError,
  assertNever,
  parseTransportLayer2Id,
  silentLogger,
  transportLayer2Id,
  type DeviceLink,
  type DeviceLinkHandler,
  type DeviceLinkStats,
  type DeliveryReportSendingRequest,
  type DeviceProtocolError,
  type GatewayUnit,
  type Layer2Id,
  type Logger,
  type MessageSendingRequest,
} from '@msgin5g/core';
import {
  COAP_CODE,
  COAP_CONTENT_FORMAT_JSON,
  COAP_OPTION,
  DEFAULT_COAP_PORT,
  MAX_JSON_BODY_OCTETS,
  MSGIN5G_URI_PATH,
  coapCodeText,
  coapMessageReceivingMaxPayloadOctets,
  encodeCoapDeviceResponse,
  encodeCoapGatewayDelivery,
  encodeCoapMessageResponse,
  uintOptionValue,
  type CoapGatewayDelivery,
  type CoapMessage,
  type CoapOption,
} from '@msgin5g/protocol';
import { bindUdpSocket, classifyDgramError, DEFAULT_RECV_BUFFER_OCTETS, unmapIpv4, type BoundUdpSocket, type DgramOperation } from '@msgin5g/udp-socket';
import { LinkLifecycle } from '@msgin5g/link-sdk';
import { ExchangeTable, type Exchange, type ExchangeLimit, type PendingAnswer } from './exchange-table';
import { MessageLayer, type InboundRequest, type RequestOutcome } from './message-layer';
import type { Peer } from './peer';
import { judgeRequest } from './request-verdict';
import { DEFAULT_ACK_TIMEOUT_MS, EXCHANGE_LIFETIME_MS } from './transmission-parameters';

export { DEFAULT_ACK_TIMEOUT_MS, EXCHANGE_LIFETIME_MS, NON_LIFETIME_MS } from './transmission-parameters';
/** Default wait for the core before a CON gets an empty ACK and a separate response, ms. */
export const DEFAULT_SEPARATE_AFTER_MS = 1_000;
export const DEFAULT_MAX_PENDING_EXCHANGES = 10_000;
export const DEFAULT_MAX_EXCHANGES_PER_DEVICE = 8;
export const DEFAULT_MAX_REMEMBERED_MESSAGES = 20_000;
/** Default Max-Age of a 5.03 refusal, seconds: when a retry makes sense. */
export const DEFAULT_REFUSAL_MAX_AGE_S = 5;
/** Default largest datagram parsed, octets: a 4096-octet body plus a generous header. */
export const DEFAULT_MAX_DATAGRAM_OCTETS = 8_192;
const MAX_TIMER_MS = 2 ** 31 - 1;
/** At most one warn line per this many ms for refusals and expiries (the rest counted). */
const WARN_INTERVAL_MS = 1_000;

/** Options of {@link CoapDeviceLink}. */
export interface CoapDeviceLinkOptions {
  /** IP address literal to bind: `0.0.0.0`, `127.0.0.1`, `::` (dual-stack), `::1`, or any local address. */
  readonly host: string;
  /** UDP port, 0..65535 (0: ephemeral, read it from `endpoint`). Default 5683. */
  readonly port?: number;
  /** Path of the resource, segments separated by `/` (`msgin5g`, `/a/b`). Default `msgin5g`. */
  readonly uriPath?: string;
  readonly logger?: Logger;
  /** How long a CON waits for the core before it gets an empty ACK and later a separate response, ms. Default 1000; keep it below the devices' ACK_TIMEOUT (2 s). */
  readonly separateAfterMs?: number;
  /** ACK_TIMEOUT for retransmitting separate CON responses, ms. Default 2000. */
  readonly ackTimeoutMs?: number;
  /** Most pending exchanges plus separate responses awaiting an ACK, in all; a new request beyond it gets 5.03. Default 10 000. */
  readonly maxPendingExchanges?: number;
  /** Most pending exchanges per Layer-2 ID; a new request beyond it gets 5.03. Default 8. */
  readonly maxExchangesPerDevice?: number;
  /** A pending exchange the core has not answered after this long gets 5.03, ms. Default 247 000 (EXCHANGE_LIFETIME). */
  readonly pendingLifetimeMs?: number;
  /** Max-Age of the 5.03 answers (refusals, expiries, stop), seconds 0..86400. Default 5. */
  readonly refusalMaxAgeS?: number;
  /** Most finished Message IDs remembered for duplicate detection. Default 20 000. */
  readonly maxRememberedMessages?: number;
  /** Larger datagrams are not parsed, octets. Default 8192. */
  readonly maxDatagramOctets?: number;
  /** Receive buffer to ask the OS for, octets. Default 1 MiB. */
  readonly recvBufferOctets?: number;
}

/** What the link refused or gave up on, since construction. */
export interface CoapDeviceLinkCounters {
  /** New requests answered 5.03 because their device had `maxExchangesPerDevice` pending. */
  readonly refusedDeviceLimit: number;
  /** New requests answered 5.03 because the link held `maxPendingExchanges`. */
  readonly refusedLinkLimit: number;
  /** Pending exchanges answered 5.03 because the core had not answered within `pendingLifetimeMs`. */
  readonly expired: number;
  /** Copies of a request (same source and Message ID) absorbed by the message layer; also reported to `handler.onDuplicateAbsorbed`. */
  readonly duplicatesAbsorbed: number;
}

/** What a running link holds: its socket, its message layer and its exchange table. */
interface Running {
  readonly socket: dgram.Socket;
  readonly messages: MessageLayer;
  readonly exchanges: ExchangeTable<InboundRequest>;
  /** The link's own POSTs (`MSG`, `IMDN`) awaiting their outcome, by `layer2Id|kind|Message ID`. */
  readonly posts: Set<string>;
}

/** Why a 5.03 is sent: a cap, an expired exchange, or the link stopping. */
type Unavailable = ExchangeLimit | 'EXPIRED' | 'STOPPING';

/**
 * A `DeviceLink` for CoAP devices. `start()` rejects with `DeviceLinkError` `BIND`; `send()` rejects
 * with `BAD_ADDRESS` (not an `ip:port` Layer-2 ID), `SEND` (the OS refused the datagram) or `CLOSED`.
 * The constructor throws `TypeError` on an invalid option (configuration bug).
 */
export class CoapDeviceLink implements DeviceLink {
  readonly kind = 'coap' as const;
  private readonly host: string;
  private readonly port: number;
  private readonly family: 'udp4' | 'udp6';
  private readonly uriPath: readonly string[];
  private readonly logger: Logger;
  private readonly separateAfterMs: number;
  private readonly ackTimeoutMs: number;
  private readonly maxPendingExchanges: number;
  private readonly maxExchangesPerDevice: number;
  private readonly pendingLifetimeMs: number;
  private readonly refusalMaxAgeS: number;
  private readonly maxRememberedMessages: number;
  private readonly maxDatagramOctets: number;
  private readonly recvBufferOctets: number;
  private readonly lifecycle: LinkLifecycle<Running>;
  private boundPort: number | undefined;
  private readonly counts = { refusedDeviceLimit: 0, refusedLinkLimit: 0, expired: 0, duplicatesAbsorbed: 0 };
  private warnedAt = Number.NEGATIVE_INFINITY;
  private inboundUnits = 0;

  constructor(options: CoapDeviceLinkOptions) {
    const port = options.port ?? DEFAULT_COAP_PORT;
    if (isIP(options.host) === 0) throw new TypeError(`CoapDeviceLink host must be an IP address literal, got ${JSON.stringify(options.host)}`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`CoapDeviceLink port must be 0..65535, got ${String(port)}`);
    this.host = options.host.toLowerCase();
    this.port = port;
    this.family = isIP(this.host) === 6 ? 'udp6' : 'udp4';
    this.uriPath = parseUriPath(options.uriPath ?? MSGIN5G_URI_PATH);
    this.logger = options.logger ?? silentLogger;
    this.separateAfterMs = checkInt('separateAfterMs', options.separateAfterMs ?? DEFAULT_SEPARATE_AFTER_MS, 0, MAX_TIMER_MS);
    this.ackTimeoutMs = checkInt('ackTimeoutMs', options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS, 1, MAX_TIMER_MS);
    this.maxPendingExchanges = checkInt('maxPendingExchanges', options.maxPendingExchanges ?? DEFAULT_MAX_PENDING_EXCHANGES, 1, 1e7);
    this.maxExchangesPerDevice = checkInt('maxExchangesPerDevice', options.maxExchangesPerDevice ?? DEFAULT_MAX_EXCHANGES_PER_DEVICE, 1, 1e7);
    this.pendingLifetimeMs = checkInt('pendingLifetimeMs', options.pendingLifetimeMs ?? EXCHANGE_LIFETIME_MS, 1, MAX_TIMER_MS);
    this.refusalMaxAgeS = checkInt('refusalMaxAgeS', options.refusalMaxAgeS ?? DEFAULT_REFUSAL_MAX_AGE_S, 0, 86_400);
    this.maxRememberedMessages = checkInt('maxRememberedMessages', options.maxRememberedMessages ?? DEFAULT_MAX_REMEMBERED_MESSAGES, 1, 1e8);
    this.maxDatagramOctets = checkInt('maxDatagramOctets', options.maxDatagramOctets ?? DEFAULT_MAX_DATAGRAM_OCTETS, 4, 65_535);
    this.recvBufferOctets = options.recvBufferOctets ?? DEFAULT_RECV_BUFFER_OCTETS;
    this.lifecycle = new LinkLifecycle({ name: () => `CoAP device link ${this.endpoint}`, close: (r) => this.shutDown(r), logger: this.logger });
  }

  /** `coap://127.0.0.1:5683/msgin5g`, `coap://[::]:5683/msgin5g`; the bound port once started. */
  get endpoint(): string {
    const host = this.family === 'udp6' ? `[${this.host}]` : this.host;
    return `coap://${host}:${this.boundPort ?? this.port}/${this.uriPath.join('/')}`;
  }

  /** Pending exchanges (for tests and metrics). */
  get pendingExchanges(): number {
    return this.lifecycle.running?.resource.exchanges.size ?? 0;
  }

  /** Refusals, expiries and absorbed duplicates since construction (a snapshot). */
  get counters(): CoapDeviceLinkCounters {
    return { ...this.counts };
  }

  /** `DeviceLink.stats`: {@link DeviceLinkStats.inboundUnits} counts every datagram received while running (requests, their duplicates, ACKs, RSTs, pings, junk) since construction. */
  stats(): DeviceLinkStats {
    return { inboundUnits: this.inboundUnits };
  }

  /** Binds the socket; resolves when requests can arrive. Rejects with `DeviceLinkError` `BIND`. */
  async start(handler: DeviceLinkHandler): Promise<void> {
    await this.lifecycle.start(handler, () => this.bindSocket());
    this.logger.debug({ link: 'coap', endpoint: this.endpoint }, 'CoAP device link listening');
  }

  /**
   * `DeviceLink.maxPayloadOctets`: the largest payload of a MESSAGE RECEIVING whose `MSG` body, in
   * base64 with every other member at its longest JSON form, fits the link's 4,096-octet body limit
   * (`coapMessageReceivingMaxPayloadOctets` of `@msgin5g/protocol`): 1,812 octets.
   */
  get maxPayloadOctets(): number {
    return coapMessageReceivingMaxPayloadOctets(MAX_JSON_BODY_OCTETS);
  }

  /**
   * A response (REG, DEREG, MESSAGE SENDING RESPONSE) answers the pending exchange(s) from `to` for
   * its procedure with 2.04 and its JSON body (`encodeCoapDeviceResponse`, `encodeCoapMessageResponse`);
   * resolves when the OS has taken the datagrams, or at once when no exchange is pending (logged,
   * dropped). A MESSAGE RECEIVING or DELIVERY REPORT RECEIVING is a CON POST to the device (see the
   * module docs); resolves when the OS has taken its first copy, or at once when a POST of the same
   * kind and Message ID to that device is still outstanding. Rejects with `DeviceLinkError`
   * `BAD_ADDRESS`, `SEND` (the OS refused the datagram; a unit with no JSON form, e.g. an IMDN of
   * Delivery status STORED; a body over 4,096 octets; the link already holds `maxPendingExchanges`
   * exchanges, its own POSTs included) or `CLOSED`.
   */
  async send(to: Layer2Id, unit: GatewayUnit): Promise<void> {
    const state = this.lifecycle.requireRunning('send a response').resource;
    const peer = this.resolvePeer(to);
    switch (unit.kind) {
      case 'REGISTRATION_RESPONSE':
      case 'DEREGISTRATION_RESPONSE':
        return this.answer(state, peer.layer2Id, unit, encodeCoapDeviceResponse(unit));
      case 'MESSAGE_SENDING_RESPONSE':
        return this.answer(state, peer.layer2Id, unit, encodeCoapMessageResponse(unit));
      case 'MESSAGE_RECEIVING':
      case 'DELIVERY_REPORT_RECEIVING':
        return this.post(state, peer, unit);
      default:
        return assertNever(unit, 'gateway unit');
    }
  }

  /** 2.04 with `payload` to the pending exchanges `response` answers (none: logged and dropped). */
  private async answer(state: Running, layer2Id: Layer2Id, response: PendingAnswer, payload: Uint8Array): Promise<void> {
    const group = state.exchanges.take(layer2Id, response);
    if (group.length === 0) {
      this.logger.info(
        { link: 'coap', layer2Id, response: response.kind, result: response.result },
        'no CoAP exchange pending for this response: dropped (the device retries and gets it replayed)',
      );
      return;
    }
    const options = [{ number: COAP_OPTION.CONTENT_FORMAT, value: uintOptionValue(COAP_CONTENT_FORMAT_JSON) }];
    const sent = await Promise.allSettled(group.map((ex) => state.messages.respond(ex.handle, COAP_CODE.CHANGED, options, payload)));
    for (const s of sent) if (s.status === 'rejected') throw s.reason;
  }

  /** The link's own CON POST of a `MSG` / `IMDN` to a device (at most one outstanding per device, kind and Message ID). */
  private async post(state: Running, peer: Peer, unit: CoapGatewayDelivery): Promise<void> {
    const key = `${peer.layer2Id}|${unit.kind}|${unit.messageId}`;
    if (state.posts.has(key)) {
      this.logger.debug({ link: 'coap', layer2Id: peer.layer2Id, unit: unit.kind, messageId: unit.messageId }, 'POST of this message still outstanding: no second exchange');
      return;
    }
    let body: Uint8Array;
    try {
      body = encodeCoapGatewayDelivery(unit);
    } catch (err) {
      throw new DeviceLinkError('SEND', `${unit.kind} has no CoAP JSON form: ${errorText(err)}`, { cause: err });
    }
    if (body.length > MAX_JSON_BODY_OCTETS) {
      throw new DeviceLinkError('SEND', `${unit.kind} body of ${body.length} octets is over ${MAX_JSON_BODY_OCTETS} (payload over maxPayloadOctets ${this.maxPayloadOctets})`);
    }
    const load = state.messages.outgoing + state.exchanges.size;
    if (load >= this.maxPendingExchanges) {
      // The same cap as inbound exchanges: the link's state stays bounded whatever the core queues.
      throw new DeviceLinkError('SEND', `CoAP device link holds ${load} pending exchanges (limit ${this.maxPendingExchanges}): ${unit.kind} not sent`);
    }
    const options: CoapOption[] = this.uriPath.map((segment) => ({ number: COAP_OPTION.URI_PATH, value: utf8.encode(segment) }));
    options.push({ number: COAP_OPTION.CONTENT_FORMAT, value: uintOptionValue(COAP_CONTENT_FORMAT_JSON) });
    state.posts.add(key);
    await state.messages.request(peer, COAP_CODE.POST, options, body, (outcome) => {
      state.posts.delete(key);
      this.onPostOutcome(peer, unit, outcome);
    });
  }

  /** What the device answered to a POST of the link: a 2.xx to a `MSG` is its MESSAGE RECEIVING ACK. */
  private onPostOutcome(peer: Peer, unit: CoapGatewayDelivery, outcome: RequestOutcome): void {
    const fields = { link: 'coap', layer2Id: peer.layer2Id, unit: unit.kind, messageId: unit.messageId };
    switch (outcome.kind) {
      case 'RESPONSE': {
        if (outcome.code >> 5 !== 2) {
          this.logger.info({ ...fields, code: coapCodeText(outcome.code) }, 'the device refused a message POST: no acknowledgement');
          return;
        }
        if (unit.kind === 'DELIVERY_REPORT_RECEIVING') {
          this.logger.debug({ ...fields, code: coapCodeText(outcome.code) }, 'delivery report taken by the device');
          return;
        }
        const { messageId, applicationId } = unit;
        const ack = { kind: 'MESSAGE_RECEIVING_ACK' as const, messageId, ...(applicationId === undefined ? {} : { applicationId }) };
        this.logger.debug({ ...fields, code: coapCodeText(outcome.code), separate: outcome.separate }, 'message acknowledged by the device');
        this.lifecycle.deliver((h) => h.onDeliveryMessage?.(ack, peer.layer2Id, 'coap'), 'onDeliveryMessage');
        return;
      }
      case 'RESET':
        this.logger.info(fields, 'the device answered a message POST with RST: no acknowledgement');
        return;
      case 'TIMEOUT':
        this.logger.info({ ...fields, detail: outcome.detail }, 'no answer from the device to a message POST: no acknowledgement');
        return;
      default:
        assertNever(outcome, 'request outcome');
    }
  }

  /** Checks a Layer-2 ID and turns it into the peer this socket sends to (as UdpDeviceLink). */
  private resolvePeer(to: Layer2Id): Peer {
    const parsed = parseTransportLayer2Id(to);
    if (!parsed.ok) throw new DeviceLinkError('BAD_ADDRESS', `not a CoAP Layer-2 ID: ${parsed.error}`);
    const { address, port, layer2Id } = parsed.value;
    const version = isIP(address);
    if (version === 0) throw new DeviceLinkError('BAD_ADDRESS', `CoAP Layer-2 ID ${to} must carry an IP address, not a host name`);
    if (version === 6 && this.family === 'udp4') throw new DeviceLinkError('BAD_ADDRESS', `cannot reach IPv6 device ${to} from IPv4 link ${this.endpoint}`);
    const dualStack = this.host === '::' || this.host === '0:0:0:0:0:0:0:0';
    if (version === 4 && this.family === 'udp6' && !dualStack) throw new DeviceLinkError('BAD_ADDRESS', `cannot reach IPv4 device ${to} from IPv6 link ${this.endpoint} (bind :: for dual-stack)`);
    return { address: this.family === 'udp6' && version === 4 ? `::ffff:${address}` : address, port, layer2Id };
  }

  /**
   * Answers every pending exchange 5.03 with Max-Age (best effort, once), then closes the socket and
   * cancels every timer and retransmission. Idempotent; afterwards `send` rejects with `CLOSED`.
   */
  async stop(): Promise<void> {
    const wasRunning = this.lifecycle.running !== undefined;
    await this.lifecycle.stop();
    if (wasRunning) this.logger.info({ link: 'coap', endpoint: this.endpoint }, 'CoAP device link stopped');
  }

  /** What `stop` does to a running link: 5.03 to what is pending, then timers and socket closed. */
  private async shutDown(state: Running): Promise<void> {
    const left = state.exchanges.drain();
    if (left.length > 0) this.logger.info({ link: 'coap', pending: left.length }, 'CoAP device link stopping: pending exchanges answered 5.03');
    await Promise.allSettled(left.map((ex) => this.unavailable(state, ex.handle, 'STOPPING')));
    state.messages.close();
    await new Promise<void>((resolve) => {
      try {
        state.socket.close(() => resolve());
      } catch {
        resolve(); // already closed by the driver
      }
    });
  }

  private async bindSocket(): Promise<Running> {
    let bound: BoundUdpSocket;
    try {
      bound = await bindUdpSocket({
        host: this.host,
        port: this.port,
        recvBufferOctets: this.recvBufferOctets,
        onMessage: (msg, address, port) => this.onDatagram(msg, address, port),
        onError: (err) => {
          const e = this.classify(err, 'socket');
          this.logger.error({ link: 'coap', endpoint: this.endpoint, reason: e.reason, err: e.message }, 'CoAP device link socket error');
        },
      });
    } catch (err) {
      throw this.classify(err, 'bind');
    }
    const { socket } = bound;
    if (bound.recvBufferError !== undefined) {
      this.logger.warn({ link: 'coap', err: errorText(bound.recvBufferError) }, 'could not enlarge the UDP receive buffer');
    }
    const messages = new MessageLayer({
      transmit: (peer, bytes) => this.sendDatagram(socket, bytes, peer),
      logger: this.logger,
      separateAfterMs: this.separateAfterMs,
      ackTimeoutMs: this.ackTimeoutMs,
      maxRememberedMessages: this.maxRememberedMessages,
      maxAwaitingAck: this.maxPendingExchanges,
      maxDatagramOctets: this.maxDatagramOctets,
      size1Octets: MAX_JSON_BODY_OCTETS,
      responseTimeoutMs: this.pendingLifetimeMs,
    });
    const running: Running = {
      socket,
      messages,
      exchanges: new ExchangeTable<InboundRequest>({
        maxPerDevice: this.maxExchangesPerDevice,
        maxTotal: this.maxPendingExchanges,
        lifetimeMs: this.pendingLifetimeMs,
        otherLoad: () => messages.awaitingAck,
        onExpire: (ex) => this.onExpired(running, ex),
      }),
      posts: new Set(),
    };
    this.boundPort = bound.port;
    return running;
  }

  private onDatagram(msg: Buffer, rawAddress: string, port: number): void {
    const state = this.lifecycle.running?.resource;
    if (state === undefined) return;
    this.inboundUnits += 1;
    const id = transportLayer2Id(unmapIpv4(rawAddress), port);
    if (!id.ok) {
      this.report({ link: 'coap', detail: `datagram from unusable source ${rawAddress}:${port}: ${id.error}`, answered: false, octets: msg.length });
      return;
    }
    const peer: Peer = { address: rawAddress, port, layer2Id: id.value };
    const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.length);
    const reception = state.messages.receive(peer, bytes);
    switch (reception.kind) {
      case 'HANDLED':
        return;
      case 'DUPLICATE':
        // Absorbed here, so the core never sees it: told so, to count it (GatewayCounters.duplicatesAbsorbed).
        this.counts.duplicatesAbsorbed += 1;
        this.lifecycle.deliver((h) => h.onDuplicateAbsorbed?.(peer.layer2Id), 'onDuplicateAbsorbed');
        return;
      case 'ERROR':
        this.report({ link: 'coap', from: peer.layer2Id, detail: reception.detail, answered: reception.answered, octets: bytes.length });
        return;
      case 'REQUEST':
        this.onRequest(state, reception.request, reception.message, bytes.length);
        return;
      default:
        assertNever(reception, 'message layer reception');
    }
  }

  /** A new request from the message layer: judged, then answered with an error, ignored, refused at a cap, or handed to the core. */
  private onRequest(state: Running, request: InboundRequest, message: CoapMessage, octets: number): void {
    const from = request.peer.layer2Id;
    const verdict = judgeRequest(message, this.uriPath, octets);
    switch (verdict.kind) {
      case 'IGNORE':
        state.messages.reject(request);
        this.report({ link: 'coap', from, detail: verdict.detail, answered: false, octets });
        return;
      case 'ANSWER': {
        const options: CoapOption[] = [];
        if (verdict.contentFormat !== undefined) options.push({ number: COAP_OPTION.CONTENT_FORMAT, value: uintOptionValue(verdict.contentFormat) });
        if (verdict.size1 !== undefined) options.push({ number: COAP_OPTION.SIZE1, value: uintOptionValue(verdict.size1) });
        this.answerOrLog(state.messages.respond(request, verdict.code, options, verdict.payload), from, coapCodeText(verdict.code));
        this.report({ link: 'coap', from, detail: `${coapCodeText(verdict.code)}: ${verdict.detail}`, answered: true, octets });
        return;
      }
      case 'ACCEPT': {
        const accepted = verdict.request;
        if (accepted.kind === 'DELIVERY_REPORT_SENDING_REQUEST') {
          this.onDeviceReport(state, request, accepted, octets);
          return;
        }
        if (accepted.kind === 'MESSAGE_SENDING_REQUEST' && this.lifecycle.running?.handler.onDeliveryMessage === undefined) {
          this.refuseMessage(state, request, accepted, octets);
          return;
        }
        const admission = state.exchanges.admit(from, accepted, request);
        if (admission.kind === 'REFUSED') {
          if (admission.limit === 'DEVICE') this.counts.refusedDeviceLimit += 1;
          else this.counts.refusedLinkLimit += 1;
          this.warn(admission.limit === 'DEVICE' ? 'a device at its pending-exchange limit: new request answered 5.03' : 'CoAP device link at its pending-exchange limit: new request answered 5.03', {
            layer2Id: from,
            messageId: request.messageId,
            pending: admission.pending,
          });
          this.answerOrLog(this.unavailable(state, request, admission.limit), from, '5.03');
          return;
        }
        if (accepted.kind === 'MESSAGE_SENDING_REQUEST') this.lifecycle.deliver((h) => h.onDeliveryMessage?.(accepted, from, 'coap'), 'onDeliveryMessage');
        else this.lifecycle.deliver((h) => h.onRequest(accepted, from, 'coap'), 'onRequest');
        return;
      }
      default:
        assertNever(verdict, 'request verdict');
    }
  }

  /**
   * A device's `IMDN`: answered at once with an empty 2.04 (no M5 answer exists for a DELIVERY
   * REPORT SENDING REQUEST), then handed to `onDeliveryMessage`; without it, 5.01 and reported.
   */
  private onDeviceReport(state: Running, request: InboundRequest, report: DeliveryReportSendingRequest, octets: number): void {
    const from = request.peer.layer2Id;
    if (this.lifecycle.running?.handler.onDeliveryMessage === undefined) {
      this.answerOrLog(state.messages.respond(request, COAP_CODE.NOT_IMPLEMENTED, [], utf8.encode('messages not relayed')), from, '5.01');
      this.report({ link: 'coap', from, detail: 'IMDN: this gateway does not relay messages (no message-delivery handler); answered 5.01', answered: true, octets });
      return;
    }
    this.answerOrLog(state.messages.respond(request, COAP_CODE.CHANGED, []), from, '2.04');
    this.lifecycle.deliver((h) => h.onDeliveryMessage?.(report, from, 'coap'), 'onDeliveryMessage');
  }

  /** A device's `MSG` when the handler has no `onDeliveryMessage`: 2.04 `MSGRESP` `DELY_FAILED` `MESSAGE_TYPE_NOT_SUPPORTED`, reported. */
  private refuseMessage(state: Running, request: InboundRequest, message: MessageSendingRequest, octets: number): void {
    const from = request.peer.layer2Id;
    const { messageId, applicationId } = message;
    const body = encodeCoapMessageResponse({ kind: 'MESSAGE_SENDING_RESPONSE', messageId, result: 'FAILURE', failureReason: 'MESSAGE_TYPE_NOT_SUPPORTED', ...(applicationId === undefined ? {} : { applicationId }) });
    this.answerOrLog(state.messages.respond(request, COAP_CODE.CHANGED, [{ number: COAP_OPTION.CONTENT_FORMAT, value: uintOptionValue(COAP_CONTENT_FORMAT_JSON) }], body), from, '2.04');
    this.report({ link: 'coap', from, detail: 'MSG: this gateway does not relay messages (no message-delivery handler); answered MESSAGE_TYPE_NOT_SUPPORTED', answered: true, octets });
  }

  /** The core did not answer in time: 5.03 with Max-Age, so the device, which may hold an empty ACK, is not left waiting. */
  private onExpired(state: Running, ex: Exchange<InboundRequest>): void {
    this.counts.expired += 1;
    this.warn('pending exchange expired unanswered by the core: answered 5.03', { layer2Id: ex.layer2Id, messageId: ex.handle.messageId, request: ex.request.kind });
    this.answerOrLog(this.unavailable(state, ex.handle, 'EXPIRED'), ex.layer2Id, '5.03');
  }

  /** 5.03 Service Unavailable with Max-Age (RFC 7252 §5.9.3.4) and a short diagnostic (§5.5.2). */
  private unavailable(state: Running, request: InboundRequest, why: Unavailable): Promise<void> {
    const diagnostic = UNAVAILABLE_TEXT[why](this.maxExchangesPerDevice);
    return state.messages.respond(request, COAP_CODE.SERVICE_UNAVAILABLE, [{ number: COAP_OPTION.MAX_AGE, value: uintOptionValue(this.refusalMaxAgeS) }], new TextEncoder().encode(diagnostic));
  }

  private answerOrLog(sending: Promise<void>, layer2Id: Layer2Id, what: string): void {
    sending.catch((err: unknown) => {
      this.logger.warn({ link: 'coap', layer2Id, what, err: errorText(err) }, 'could not send to a CoAP device');
    });
  }

  /** A warn line at most once a second, with the counters so far; the lines left out are still counted. */
  private warn(message: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.warnedAt < WARN_INTERVAL_MS) {
      this.logger.debug({ link: 'coap', ...fields }, message);
      return;
    }
    this.warnedAt = now;
    this.logger.warn({ link: 'coap', ...fields, maxExchangesPerDevice: this.maxExchangesPerDevice, maxPendingExchanges: this.maxPendingExchanges, ...this.counts }, message);
  }

  private report(error: DeviceProtocolError): void {
    // debug, not warn: the handler (the gateway) logs and counts protocol errors.
    this.logger.debug({ link: 'coap', layer2Id: error.from, octets: error.octets, answered: error.answered, detail: error.detail }, 'unusable CoAP datagram');
    this.lifecycle.deliver((h) => h.onProtocolError(error), 'onProtocolError');
  }

  private sendDatagram(socket: dgram.Socket, bytes: Uint8Array, peer: Peer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        socket.send(bytes, peer.port, peer.address, (err) => (err ? reject(this.classify(err, 'send')) : resolve()));
      } catch (err) {
        reject(this.classify(err, 'send'));
      }
    });
  }

  /** `node:dgram` errors as the port's {@link DeviceLinkError}, read by the shared classifier. */
  private classify(err: unknown, op: DgramOperation): DeviceLinkError {
    const c = classifyDgramError(err, op, { host: this.host, port: this.port, link: `CoAP device link ${this.endpoint}` });
    return new DeviceLinkError(c.reason, c.message, { cause: err });
  }
}

const utf8 = new TextEncoder();

/** The 5.03 diagnostics (RFC 7252 §5.5.2: UTF-8 text for people, no Content-Format), by cause. */
const UNAVAILABLE_TEXT: Readonly<Record<Unavailable, (maxPerDevice: number) => string>> = {
  DEVICE: (n) => `${n} requests of this device pending`,
  TABLE: () => 'gateway busy',
  EXPIRED: () => 'no answer in time',
  STOPPING: () => 'gateway stopping',
};

/** `msgin5g`, `/msgin5g`, `a/b` → segments. @throws TypeError on an empty path or segment, or one over 255 octets. */
function parseUriPath(path: string): string[] {
  const segments = path.replace(/^\/+/, '').replace(/\/+$/, '').split('/');
  for (const s of segments) {
    if (s.length === 0 || Buffer.byteLength(s) > 255) throw new TypeError(`CoapDeviceLink uriPath must be non-empty segments of at most 255 octets, got ${JSON.stringify(path)}`);
  }
  return segments;
}

function checkInt(name: string, value: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`CoapDeviceLink ${name} must be an integer ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
