/**
 * The CoAP message layer of the device link (RFC 7252 §4): what a datagram is at the message level,
 * and the messages the link sends back, for one UDP socket acting as a CoAP server.
 *
 * Reception ({@link MessageLayer.receive}), in this order:
 * - over `maxDatagramOctets`: not parsed; a CON request gets 4.13 with Size1 (RFC 7252 §5.9.2.9);
 * - not CoAP (under 4 octets, version ≠ 1): ignored (§3);
 * - message format error (`parseCoapMessage` of `@msgin5g/protocol`): CON → RST, otherwise ignored (§4.2, §4.3);
 * - empty ACK / RST: matched against the separate responses awaiting one (`confirmable-retransmitter.ts`),
 *   otherwise ignored; an ACK or RST carrying a code: ignored (this server sends no requests);
 * - Empty CON ("CoAP ping"): RST (§4.3); Empty NON: ignored (§4.1);
 * - a CON or NON with a response or reserved code class: CON → RST, otherwise ignored (§4.2);
 * - a request: duplicate detection by source endpoint and Message ID (§4.5). A copy of a request
 *   still in progress gets, if a CON, the empty ACK — sent now if the original has none yet (the
 *   device has timed out once; its answer becomes a separate response) — and a NON copy nothing; a
 *   copy of a finished request gets, if a CON, the very bytes its original got (piggybacked answer,
 *   RST, or the empty ACK of a separate response; `duplicate-cache.ts`: EXCHANGE_LIFETIME for CON,
 *   NON_LIFETIME for NON), and a NON copy nothing. A new request is handed up (`REQUEST`).
 *
 * Every request handed up is finished by the caller exactly once, with {@link MessageLayer.respond}
 * (a response: piggybacked in the ACK of a CON not yet acknowledged, §5.2.1; a separate CON with a
 * new Message ID, retransmitted until acknowledged, when it was, §5.2.2; a NON for a NON, §5.2.3) or
 * {@link MessageLayer.reject} (CON → RST, NON → nothing, §4.2/§4.3). Meanwhile a CON not answered
 * within `separateAfterMs` gets an empty ACK (§5.2.2): every CON is acknowledged or rejected.
 *
 * The link also sends requests of its own to devices (docs/wire-formats.md §3.3 "Messages": a `MSG`
 * or `IMDN` POST), with {@link MessageLayer.request}: a CON with a new Message ID and token,
 * retransmitted until acknowledged (`confirmable-retransmitter.ts`). What comes back (RFC 7252
 * §5.2): a piggybacked response in the ACK (its Message ID and token match); an empty ACK, then a
 * separate response matched by token (a CON one is acknowledged with an empty ACK, and a copy of it
 * gets that ACK again; a separate response also ends the retransmission, as an ACK would); an RST;
 * or nothing (given up after MAX_RETRANSMIT, or no separate response within `responseTimeoutMs`).
 * Each request has exactly one outcome. A response matching no request of the link: in an ACK it
 * is ignored (a late or duplicated answer), in a CON it gets an RST, in a NON nothing (§4.2, §4.3).
 *
 * Rejected alternative: npm `coap` 1.5.0's server fed from our socket (see `coap-device-link.ts`):
 * it runs the handler once per retransmitted copy, acknowledges every copy on its own timer, hands
 * format errors to the handler as requests, and cannot drop a pending response.
 *
 * @see RFC 7252 §4 (message layer), §5.2 (responses), §5.9.2.9 (4.13)
 */
import { assertNever, type Layer2Id, type Logger } from '@msgin5g/core';
import { COAP_CODE, COAP_OPTION, coapCodeText, encodeCoapMessage, parseCoapMessage, uintOptionValue, type CoapMessage, type CoapOption } from '@msgin5g/protocol';
import { ConfirmableRetransmitter } from './confirmable-retransmitter';
import { DuplicateCache } from './duplicate-cache';
import type { Peer, Transmit } from './peer';
import { EXCHANGE_LIFETIME_MS } from './transmission-parameters';

export interface MessageLayerOptions {
  readonly transmit: Transmit;
  readonly logger: Logger;
  /** How long a CON request may wait for its answer before it gets an empty ACK, ms ≥ 0. */
  readonly separateAfterMs: number;
  /** ACK_TIMEOUT of the separate responses, ms ≥ 1. */
  readonly ackTimeoutMs: number;
  /** Most finished Message IDs remembered for duplicate detection, ≥ 1. */
  readonly maxRememberedMessages: number;
  /** Most separate responses awaiting an ACK, ≥ 1 (a guard: admission keeps below it). */
  readonly maxAwaitingAck: number;
  /** Larger datagrams are not parsed, octets. */
  readonly maxDatagramOctets: number;
  /** Size1 of the 4.13 for an oversized CON request: the largest body accepted, octets. */
  readonly size1Octets: number;
  /** Uniform in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
  /** Clock, ms. Default `Date.now`. */
  readonly now?: () => number;
  /** How long a request of the link, once acknowledged with an empty ACK, waits for its separate response, ms ≥ 1. Default 247 000 (EXCHANGE_LIFETIME). */
  readonly responseTimeoutMs?: number;
}

/** What became of a request the link sent ({@link MessageLayer.request}); each request gets exactly one. */
export type RequestOutcome =
  /** A response: `code` the code octet; `separate` when it came after an empty ACK (or before it, in its own message). */
  | { readonly kind: 'RESPONSE'; readonly code: number; readonly payload: Uint8Array; readonly separate: boolean }
  /** The device rejected the CON with an RST (RFC 7252 §4.2). */
  | { readonly kind: 'RESET' }
  /** No ACK after MAX_RETRANSMIT retransmissions, or no separate response within `responseTimeoutMs`. */
  | { readonly kind: 'TIMEOUT'; readonly detail: string };

/** A request of the link awaiting its outcome. */
interface Outgoing {
  readonly peer: Peer;
  readonly messageId: number;
  readonly token: Uint8Array;
  readonly midKey: string;
  readonly tokenKey: string;
  readonly onOutcome: (outcome: RequestOutcome) => void;
  acked: boolean;
  done: boolean;
  timer: NodeJS.Timeout | undefined;
}

/**
 * A request handed up by {@link MessageLayer.receive}, until the caller finishes it: what the
 * message layer needs to answer it (type, Message ID, a copy of the token), and its state. The
 * parsed message itself (options, payload: views into the datagram) comes beside it in the
 * `REQUEST` reception and is not kept, so a pending exchange holds no datagram.
 */
export class InboundRequest {
  /** An empty ACK was sent: the answer goes in a separate CON. */
  acked = false;
  /** Answered or rejected. */
  done = false;
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly peer: Peer,
    readonly type: 'CON' | 'NON',
    readonly messageId: number,
    readonly token: Uint8Array,
    /** `layer2Id#messageId`: the duplicate-detection key. */
    readonly key: string,
    /** When the first copy arrived, ms. */
    readonly receivedAt: number,
  ) {}

  get confirmable(): boolean {
    return this.type === 'CON';
  }
}

/** What a datagram was, for the caller. */
export type Reception =
  /** A new request (`message`: the parsed request, valid during the call): finish it with `respond` or `reject`. */
  | { readonly kind: 'REQUEST'; readonly request: InboundRequest; readonly message: CoapMessage }
  /** Handled here (ACK/RST, ping): nothing to do. */
  | { readonly kind: 'HANDLED' }
  /** A copy of a request already received (same source and Message ID, RFC 7252 §4.5), absorbed here: count it. */
  | { readonly kind: 'DUPLICATE' }
  /** A protocol error (answered here when `answered`): report it. */
  | { readonly kind: 'ERROR'; readonly detail: string; readonly answered: boolean };

/** What a finished request's duplicates get: `bytes` (a CON's), or nothing. */
interface Replay {
  readonly bytes: Uint8Array | undefined;
}

export class MessageLayer {
  private readonly inProgress = new Map<string, InboundRequest>();
  private readonly finished: DuplicateCache<Replay>;
  private readonly retransmitter: ConfirmableRetransmitter;
  private readonly now: () => number;
  private nextMessageId: number;
  private nextToken: number;
  /** Requests of the link, by `layer2Id#messageId` and by `layer2Id#token`. */
  private readonly outgoingByMid = new Map<string, Outgoing>();
  private readonly outgoingByToken = new Map<string, Outgoing>();

  constructor(private readonly options: MessageLayerOptions) {
    this.now = options.now ?? Date.now;
    this.finished = new DuplicateCache<Replay>(options.maxRememberedMessages);
    this.retransmitter = new ConfirmableRetransmitter({
      transmit: options.transmit,
      ackTimeoutMs: options.ackTimeoutMs,
      max: options.maxAwaitingAck,
      logger: options.logger,
      ...(options.random === undefined ? {} : { random: options.random }),
    });
    this.nextMessageId = Math.floor((options.random ?? Math.random)() * 0x10000);
    this.nextToken = Math.floor((options.random ?? Math.random)() * 0x1_0000_0000);
  }

  /** Requests of the link awaiting their outcome. */
  get outgoing(): number {
    return this.outgoingByMid.size;
  }

  /**
   * Sends a request of the link to `peer`: a CON with a new Message ID and a new 4-octet token,
   * retransmitted until acknowledged (RFC 7252 §4.2); `onOutcome` is called exactly once, later
   * (see {@link RequestOutcome}), unless the layer is closed first. Resolves when the OS has taken
   * the first copy; rejects with the transmit error (retransmission goes on).
   */
  request(peer: Peer, code: number, options: readonly CoapOption[], payload: Uint8Array, onOutcome: (outcome: RequestOutcome) => void): Promise<void> {
    const messageId = this.allocateMessageId();
    this.nextToken = (this.nextToken + 1) >>> 0;
    const t = this.nextToken;
    const token = Uint8Array.of(t >>> 24, (t >>> 16) & 0xff, (t >>> 8) & 0xff, t & 0xff);
    const out: Outgoing = {
      peer,
      messageId,
      token,
      midKey: keyOf(peer.layer2Id, messageId),
      tokenKey: `${peer.layer2Id}#t${hexOfToken(token)}`,
      onOutcome,
      acked: false,
      done: false,
      timer: undefined,
    };
    this.outgoingByMid.set(out.midKey, out);
    this.outgoingByToken.set(out.tokenKey, out);
    const bytes = encodeCoapMessage({ type: 'CON', code, messageId, token, options, payload });
    this.options.logger.debug({ link: 'coap', layer2Id: peer.layer2Id, messageId, code: coapCodeText(code) }, 'request to a device');
    return this.retransmitter.send(peer, messageId, bytes, {
      what: 'request',
      onGiveUp: () => {
        if (!out.acked) this.settleOutgoing(out, { kind: 'TIMEOUT', detail: 'no ACK after MAX_RETRANSMIT retransmissions' });
      },
    });
  }

  /** Separate responses awaiting the device's ACK. */
  get awaitingAck(): number {
    return this.retransmitter.size;
  }

  /** Reads one datagram from `peer` (see the module docs); sends what the message layer answers by itself. */
  receive(peer: Peer, bytes: Uint8Array): Reception {
    if (bytes.length > this.options.maxDatagramOctets) return this.onOversized(peer, bytes);
    const parsed = parseCoapMessage(bytes);
    switch (parsed.kind) {
      case 'NOT_COAP':
        return { kind: 'ERROR', detail: `not a CoAP message: ${parsed.detail}`, answered: false };
      case 'FORMAT_ERROR': {
        const answered = parsed.type === 'CON';
        if (answered) this.fireAndForget(peer, resetBytes(parsed.messageId), 'RST');
        return { kind: 'ERROR', detail: `CoAP message format error: ${parsed.detail}`, answered };
      }
      case 'MESSAGE':
        return this.onMessage(peer, parsed.message);
      default:
        return assertNever(parsed, 'CoAP parse result');
    }
  }

  /**
   * Finishes `request` with a response of `code` (a code octet), `options` and `payload`: piggybacked
   * in the ACK of a CON not yet acknowledged (its duplicates get the same bytes), a separate CON
   * (new Message ID, same token) retransmitted until acknowledged when it was, a NON (new Message
   * ID) for a NON. Resolves when the OS has taken the datagram; rejects with the transmit error. A
   * request already finished is left alone (resolves).
   */
  respond(request: InboundRequest, code: number, options: readonly CoapOption[], payload: Uint8Array = new Uint8Array(0)): Promise<void> {
    if (!this.finish(request)) return Promise.resolve();
    const { peer, token } = request;
    if (request.confirmable && !request.acked) {
      const bytes = encodeCoapMessage({ type: 'ACK', code, messageId: request.messageId, token, options, payload });
      this.finished.remember(request.key, 'CON', { bytes }, request.receivedAt, this.now());
      this.options.logger.debug({ link: 'coap', layer2Id: peer.layer2Id, messageId: request.messageId, code: coapCodeText(code) }, 'piggybacked response');
      return this.options.transmit(peer, bytes);
    }
    const messageId = this.allocateMessageId();
    if (request.confirmable) {
      this.finished.remember(request.key, 'CON', { bytes: emptyAckBytes(request.messageId) }, request.receivedAt, this.now());
      const bytes = encodeCoapMessage({ type: 'CON', code, messageId, token, options, payload });
      this.options.logger.debug({ link: 'coap', layer2Id: peer.layer2Id, messageId, type: 'CON', code: coapCodeText(code) }, 'separate response');
      return this.retransmitter.send(peer, messageId, bytes);
    }
    this.finished.remember(request.key, 'NON', { bytes: undefined }, request.receivedAt, this.now());
    const bytes = encodeCoapMessage({ type: 'NON', code, messageId, token, options, payload });
    this.options.logger.debug({ link: 'coap', layer2Id: peer.layer2Id, messageId, type: 'NON', code: coapCodeText(code) }, 'NON response');
    return this.options.transmit(peer, bytes);
  }

  /**
   * Finishes `request` without processing it (RFC 7252 §4.2, §4.3): a CON not yet acknowledged gets
   * an RST (and its duplicates the same), a NON nothing (its duplicates nothing either).
   */
  reject(request: InboundRequest): void {
    if (!this.finish(request)) return;
    if (!request.confirmable) {
      this.finished.remember(request.key, 'NON', { bytes: undefined }, request.receivedAt, this.now());
      return;
    }
    const bytes = request.acked ? emptyAckBytes(request.messageId) : resetBytes(request.messageId);
    this.finished.remember(request.key, 'CON', { bytes }, request.receivedAt, this.now());
    if (!request.acked) this.fireAndForget(request.peer, bytes, 'RST');
  }

  /** Stops every timer and retransmission, and forgets everything. Requests in progress stay unanswered. */
  close(): void {
    for (const r of this.inProgress.values()) clearTimeout(r.timer);
    this.inProgress.clear();
    for (const o of this.outgoingByMid.values()) {
      o.done = true;
      clearTimeout(o.timer);
    }
    this.outgoingByMid.clear();
    this.outgoingByToken.clear();
    this.separateResponses.clear();
    this.finished.clear();
    this.retransmitter.close();
  }

  private onMessage(peer: Peer, m: CoapMessage): Reception {
    if (m.type === 'ACK' || m.type === 'RST') {
      const out = this.outgoingByMid.get(keyOf(peer.layer2Id, m.messageId));
      if (out !== undefined) return this.onAnswerToRequest(out, m);
      if (m.code !== COAP_CODE.EMPTY) {
        if (m.type === 'RST') return { kind: 'ERROR', detail: `RST carrying code ${coapCodeText(m.code)}`, answered: false };
        // A response matching no request of the link: a late or duplicated answer (RFC 7252 §4.2: ignored).
        this.options.logger.debug({ link: 'coap', layer2Id: peer.layer2Id, messageId: m.messageId, code: coapCodeText(m.code) }, 'response in an ACK matching no request of the link: ignored');
        return { kind: 'HANDLED' };
      }
      if (!this.retransmitter.settle(peer, m.messageId, m.type)) {
        this.options.logger.debug({ link: 'coap', layer2Id: peer.layer2Id, messageId: m.messageId, type: m.type }, 'empty ACK/RST matching nothing: ignored');
      }
      return { kind: 'HANDLED' };
    }
    if (m.code === COAP_CODE.EMPTY) {
      if (m.type === 'NON') return { kind: 'ERROR', detail: 'an Empty NON message (RFC 7252 §4.1 forbids it)', answered: false };
      this.fireAndForget(peer, resetBytes(m.messageId), 'RST'); // CoAP ping (RFC 7252 §4.3)
      this.options.logger.debug({ link: 'coap', layer2Id: peer.layer2Id }, 'CoAP ping answered with RST');
      return { kind: 'HANDLED' };
    }
    if ([2, 4, 5].includes(m.code >> 5)) {
      const separate = this.onSeparateResponse(peer, m);
      if (separate !== undefined) return separate;
    }
    if (m.code >> 5 !== 0) {
      const answered = m.type === 'CON';
      if (answered) this.fireAndForget(peer, resetBytes(m.messageId), 'RST');
      const what = [2, 4, 5].includes(m.code >> 5) ? 'a response' : 'a reserved code class';
      return { kind: 'ERROR', detail: `${m.type} with code ${coapCodeText(m.code)} (${what}) sent to the server`, answered };
    }
    const key = keyOf(peer.layer2Id, m.messageId);
    const now = this.now();
    const inProgress = this.inProgress.get(key);
    if (inProgress !== undefined) {
      // A copy of a request still in progress (RFC 7252 §4.5): processed once; a CON copy is acknowledged.
      if (m.type === 'CON' && inProgress.confirmable) {
        if (inProgress.acked) this.fireAndForget(peer, emptyAckBytes(m.messageId), 'empty ACK again');
        else this.acknowledge(inProgress, 'a copy of the request arrived');
      }
      this.options.logger.debug({ link: 'coap', layer2Id: peer.layer2Id, messageId: m.messageId, inProgress: true }, 'duplicate CoAP request');
      return { kind: 'DUPLICATE' };
    }
    const finished = this.finished.get(key, now);
    if (finished !== undefined) {
      // A copy of a finished request: the same answer again (a CON), nothing (a NON).
      const replayed = m.type === 'CON' && finished.bytes !== undefined;
      if (replayed) this.fireAndForget(peer, finished.bytes as Uint8Array, 'replayed answer');
      this.options.logger.debug({ link: 'coap', layer2Id: peer.layer2Id, messageId: m.messageId, replayed }, 'duplicate CoAP request');
      return { kind: 'DUPLICATE' };
    }
    const request = new InboundRequest(peer, m.type, m.messageId, Uint8Array.from(m.token), key, now);
    this.inProgress.set(key, request);
    if (request.confirmable) request.timer = setTimeout(() => this.acknowledge(request, 'the answer is late'), this.options.separateAfterMs);
    return { kind: 'REQUEST', request, message: m };
  }

  /** An ACK or RST whose Message ID is that of a request of the link (RFC 7252 §4.2, §5.2.1, §5.2.2). */
  private onAnswerToRequest(out: Outgoing, m: CoapMessage): Reception {
    if (m.type === 'RST') {
      if (m.code !== COAP_CODE.EMPTY) return { kind: 'ERROR', detail: `RST carrying code ${coapCodeText(m.code)}`, answered: false };
      this.retransmitter.settle(out.peer, out.messageId, 'RST');
      this.settleOutgoing(out, { kind: 'RESET' });
      return { kind: 'HANDLED' };
    }
    if (m.code === COAP_CODE.EMPTY) {
      this.retransmitter.settle(out.peer, out.messageId, 'ACK');
      if (!out.acked && !out.done) {
        out.acked = true;
        const timeoutMs = this.options.responseTimeoutMs ?? EXCHANGE_LIFETIME_MS;
        out.timer = setTimeout(() => this.settleOutgoing(out, { kind: 'TIMEOUT', detail: `no separate response within ${timeoutMs} ms of the empty ACK` }), timeoutMs);
      }
      return { kind: 'HANDLED' };
    }
    if (!sameOctets(m.token, out.token)) {
      return { kind: 'ERROR', detail: `piggybacked response ${coapCodeText(m.code)} with a token that is not its request's (RFC 7252 §5.3.2)`, answered: false };
    }
    this.retransmitter.settle(out.peer, out.messageId, 'ACK');
    this.settleOutgoing(out, { kind: 'RESPONSE', code: m.code, payload: Uint8Array.from(m.payload), separate: false });
    return { kind: 'HANDLED' };
  }

  /**
   * A CON or NON carrying a response: a separate response to a request of the link (matched by
   * token, RFC 7252 §5.2.2, §5.3.2), or a copy of one already taken. `undefined` when it is neither
   * (the caller rejects it).
   */
  private onSeparateResponse(peer: Peer, m: CoapMessage): Reception | undefined {
    const key = keyOf(peer.layer2Id, m.messageId);
    const now = this.now();
    const copy = this.finished.get(key, now);
    if (copy !== undefined && this.separateResponses.has(key)) {
      if (m.type === 'CON' && copy.bytes !== undefined) this.fireAndForget(peer, copy.bytes, 'empty ACK again');
      this.options.logger.debug({ link: 'coap', layer2Id: peer.layer2Id, messageId: m.messageId }, 'copy of a separate response: acknowledged again');
      return { kind: 'HANDLED' };
    }
    const out = this.outgoingByToken.get(`${peer.layer2Id}#t${hexOfToken(m.token)}`);
    if (out === undefined || out.done || m.type === 'ACK' || m.type === 'RST') return undefined;
    if (m.type === 'CON') {
      const ack = emptyAckBytes(m.messageId);
      this.finished.remember(key, 'CON', { bytes: ack }, now, now);
      this.fireAndForget(peer, ack, 'empty ACK of a separate response');
    } else {
      this.finished.remember(key, 'NON', { bytes: undefined }, now, now);
    }
    this.rememberSeparate(key);
    this.retransmitter.settle(out.peer, out.messageId, 'ACK'); // a separate response acknowledges the request too
    this.settleOutgoing(out, { kind: 'RESPONSE', code: m.code, payload: Uint8Array.from(m.payload), separate: true });
    return { kind: 'HANDLED' };
  }

  /** Keys of separate responses taken, so that their copies are told from requests (bounded like the duplicate cache). */
  private readonly separateResponses = new Set<string>();
  private rememberSeparate(key: string): void {
    this.separateResponses.add(key);
    if (this.separateResponses.size > this.options.maxRememberedMessages) {
      const oldest = this.separateResponses.values().next().value;
      if (oldest !== undefined) this.separateResponses.delete(oldest);
    }
  }

  /** Ends a request of the link with `outcome` (once). */
  private settleOutgoing(out: Outgoing, outcome: RequestOutcome): void {
    if (out.done) return;
    out.done = true;
    clearTimeout(out.timer);
    out.timer = undefined;
    this.outgoingByMid.delete(out.midKey);
    this.outgoingByToken.delete(out.tokenKey);
    try {
      out.onOutcome(outcome);
    } catch (err) {
      this.options.logger.error({ link: 'coap', layer2Id: out.peer.layer2Id, err: err instanceof Error ? err.message : String(err) }, 'request outcome handler threw');
    }
  }

  /** Marks `request` finished; false when it already was. */
  private finish(request: InboundRequest): boolean {
    if (request.done) return false;
    request.done = true;
    clearTimeout(request.timer);
    request.timer = undefined;
    this.inProgress.delete(request.key);
    return true;
  }

  /** The answer is late (or the device already retransmits): an empty ACK now, the answer later in a separate CON (RFC 7252 §5.2.2). */
  private acknowledge(request: InboundRequest, why: string): void {
    clearTimeout(request.timer);
    request.timer = undefined;
    if (request.done || request.acked || !request.confirmable) return;
    request.acked = true;
    this.fireAndForget(request.peer, emptyAckBytes(request.messageId), 'empty ACK');
    this.options.logger.debug({ link: 'coap', layer2Id: request.peer.layer2Id, messageId: request.messageId, why }, 'empty ACK sent; the response will be separate');
  }

  /** A datagram too large to parse: a CON request gets 4.13 with Size1 (RFC 7252 §5.9.2.9), anything else is dropped. */
  private onOversized(peer: Peer, bytes: Uint8Array): Reception {
    const first = bytes[0] as number;
    const code = bytes[1] as number;
    const tkl = first & 0x0f;
    const conRequest = first >> 6 === 1 && ((first >> 4) & 0x3) === 0 && code >> 5 === 0 && code !== COAP_CODE.EMPTY && tkl <= 8;
    if (conRequest) {
      const answer = encodeCoapMessage({
        type: 'ACK',
        code: COAP_CODE.REQUEST_ENTITY_TOO_LARGE,
        messageId: ((bytes[2] as number) << 8) | (bytes[3] as number),
        token: bytes.subarray(4, 4 + tkl),
        options: [{ number: COAP_OPTION.SIZE1, value: uintOptionValue(this.options.size1Octets) }],
      });
      this.fireAndForget(peer, answer, '4.13');
    }
    return { kind: 'ERROR', detail: `datagram of ${bytes.length} octets exceeds the limit of ${this.options.maxDatagramOctets}`, answered: conRequest };
  }

  private allocateMessageId(): number {
    this.nextMessageId = (this.nextMessageId + 1) & 0xffff;
    return this.nextMessageId;
  }

  /** Sends without a caller to tell: a failure is logged (ACKs, RSTs, replays are best effort, like UDP). */
  private fireAndForget(peer: Peer, bytes: Uint8Array, what: string): void {
    this.options.transmit(peer, bytes).catch((err: unknown) => {
      this.options.logger.warn({ link: 'coap', layer2Id: peer.layer2Id, what, err: err instanceof Error ? err.message : String(err) }, 'could not send to a CoAP device');
    });
  }
}

function hexOfToken(token: Uint8Array): string {
  let h = '';
  for (const b of token) h += b.toString(16).padStart(2, '0');
  return h;
}

function sameOctets(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function keyOf(layer2Id: Layer2Id, messageId: number): string {
  return `${layer2Id}#${messageId}`;
}

/** `70 00 <mid>`: RST (RFC 7252 §4.2). */
function resetBytes(messageId: number): Uint8Array {
  return encodeCoapMessage({ type: 'RST', code: COAP_CODE.EMPTY, messageId });
}

/** `60 00 <mid>`: empty ACK (RFC 7252 §4.2, §5.2.2). */
function emptyAckBytes(messageId: number): Uint8Array {
  return encodeCoapMessage({ type: 'ACK', code: COAP_CODE.EMPTY, messageId });
}
