/**
 * The CoAP device link's pending exchanges: valid requests handed to the core and not yet
 * answered, per device (Layer-2 ID), with their caps and their lifetime.
 *
 * Rule (RFC 7252 §4.2, §5.2.2; found by an RFC 7252 plugtest): every request admitted here gets a
 * final answer — the core's, through {@link ExchangeTable.take}, or, if the core has not answered
 * within `lifetimeMs`, whatever the link answers through `onExpire` (5.03) — because the device may
 * already hold an empty ACK for it and will then wait for the separate response and nothing else.
 * So an admitted exchange is never evicted. The caps apply to admission instead: a request that
 * would be a device's `maxPerDevice + 1`-th pending exchange, or that arrives while the table (plus
 * `otherLoad`, the separate responses still awaiting an ACK) holds `maxTotal`, is refused — the
 * NEW request, at once — and the link answers it 5.03 Service Unavailable with Max-Age.
 *
 * Rejected alternative (what the link did before): evicting the device's oldest pending exchange
 * to make room for the newest. With NSTART = 1 a device sends its ninth request only after the
 * eighth's empty ACK, so the evicted exchange had been acknowledged and promised a separate
 * response that never came; its retransmissions (in a burst) got neither ACK, RST nor answer.
 *
 * Which exchanges a core response answers ({@link ExchangeTable.take}): the device's pending ones of
 * the same request kind and procedure — the Application ID of a REG, the Registration ID of a
 * DEREG, the Message ID of a MSG (docs/wire-formats.md §3.3 "Messages") — as the response names it
 * (a REG response's `applicationId`, a DEREG success's `registrationId`, a MESSAGE SENDING
 * RESPONSE's `messageId`), else the oldest pending procedure of that kind (never for a MSG: its
 * response always names its Message ID). So one device can have a REG or DEREG and several
 * messages pending at once, each answered by its own response. The core absorbs a device's
 * repeated requests and answers once, so every exchange of that procedure gets the one answer.
 *
 * Bounded: at most `maxTotal` exchanges; expiry is one timer, armed for the oldest exchange
 * (exchanges are held in arrival order and share one lifetime, so the oldest expires first).
 *
 * @see RFC 7252 §4.2 (every CON acknowledged or rejected), §5.2.2 (separate response), §5.9.3.4 (5.03)
 */
import { assertNever, type DeviceRequest, type DeviceResponse, type Layer2Id, type MessageSendingRequest, type MessageSendingResponse } from '@msgin5g/core';

/** What a pending exchange holds: a REG, a DEREG, or a device's MSG. */
export type PendingRequest = DeviceRequest | MessageSendingRequest;
/** What answers one: the matching response. */
export type PendingAnswer = DeviceResponse | MessageSendingResponse;

/** A pending exchange; `handle` is the caller's (the message layer's request). */
export interface Exchange<T> {
  readonly layer2Id: Layer2Id;
  readonly request: PendingRequest;
  /** `app:<Application ID>` (REG), `rid:<Registration ID>` (DEREG) or `msg:<Message ID>` (MSG): which procedure this is. */
  readonly procedure: string;
  /** When it was admitted, ms (the table's clock). */
  readonly admittedAt: number;
  readonly handle: T;
}

/** Why a request was refused: the device's cap, or the table's. */
export type ExchangeLimit = 'DEVICE' | 'TABLE';

export type Admission<T> = { readonly kind: 'ADMITTED'; readonly exchange: Exchange<T> } | { readonly kind: 'REFUSED'; readonly limit: ExchangeLimit; readonly pending: number };

export interface ExchangeTableOptions<T> {
  /** Most pending exchanges per Layer-2 ID, ≥ 1. */
  readonly maxPerDevice: number;
  /** Most pending exchanges in all, counting `otherLoad()`, ≥ 1. */
  readonly maxTotal: number;
  /** How long an exchange may wait for the core, ms ≥ 1; then it is removed and `onExpire` answers it. */
  readonly lifetimeMs: number;
  /** Called once per expired exchange, after its removal; must not throw (guarded anyway). */
  readonly onExpire: (exchange: Exchange<T>) => void;
  /** Other state counted against `maxTotal` (separate responses awaiting an ACK). Default 0. */
  readonly otherLoad?: () => number;
  /** Clock, ms. Default `Date.now`. */
  readonly now?: () => number;
}

export class ExchangeTable<T> {
  private readonly byDevice = new Map<Layer2Id, Exchange<T>[]>();
  /** Every pending exchange, oldest first. */
  private readonly order = new Set<Exchange<T>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly otherLoad: () => number;

  constructor(private readonly options: ExchangeTableOptions<T>) {
    this.now = options.now ?? Date.now;
    this.otherLoad = options.otherLoad ?? (() => 0);
  }

  /** Pending exchanges in all. */
  get size(): number {
    return this.order.size;
  }

  /** Pending exchanges of one device. */
  pendingFor(layer2Id: Layer2Id): number {
    return this.byDevice.get(layer2Id)?.length ?? 0;
  }

  /** Admits `request` from `layer2Id` as a pending exchange, or refuses it (and changes nothing) at a cap. */
  admit(layer2Id: Layer2Id, request: PendingRequest, handle: T): Admission<T> {
    const mine = this.byDevice.get(layer2Id);
    if (mine !== undefined && mine.length >= this.options.maxPerDevice) return { kind: 'REFUSED', limit: 'DEVICE', pending: mine.length };
    const load = this.order.size + this.otherLoad();
    if (load >= this.options.maxTotal) return { kind: 'REFUSED', limit: 'TABLE', pending: load };
    const exchange: Exchange<T> = { layer2Id, request, procedure: procedureOf(request), admittedAt: this.now(), handle };
    if (mine === undefined) this.byDevice.set(layer2Id, [exchange]);
    else mine.push(exchange);
    this.order.add(exchange);
    if (this.timer === undefined) this.schedule();
    return { kind: 'ADMITTED', exchange };
  }

  /**
   * Removes and returns the pending exchanges `response` answers (see the module docs): same
   * Layer-2 ID and request kind, and the procedure the response names, or else the oldest pending
   * procedure of that kind. Empty when none is pending.
   */
  take(layer2Id: Layer2Id, response: PendingAnswer): Exchange<T>[] {
    const list = this.byDevice.get(layer2Id);
    if (list === undefined) return [];
    const kind = requestKindOf(response);
    const sameKind = list.filter((ex) => ex.request.kind === kind);
    const procedure = procedureNamedBy(response) ?? sameKind[0]?.procedure;
    const group = sameKind.filter((ex) => ex.procedure === procedure);
    for (const ex of group) this.remove(ex);
    return group;
  }

  /** Removes and returns every pending exchange, oldest first, and stops the expiry timer. */
  drain(): Exchange<T>[] {
    const all = [...this.order];
    this.order.clear();
    this.byDevice.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
    return all;
  }

  private remove(ex: Exchange<T>): void {
    this.order.delete(ex);
    const list = this.byDevice.get(ex.layer2Id);
    if (list === undefined) return;
    const i = list.indexOf(ex);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byDevice.delete(ex.layer2Id);
  }

  /** Arms the timer for the oldest exchange's expiry (none when the table is empty). */
  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const oldest = this.order.values().next().value;
    if (oldest === undefined) return;
    const delay = Math.max(0, oldest.admittedAt + this.options.lifetimeMs - this.now());
    this.timer = setTimeout(() => this.expireDue(), delay);
  }

  /** Removes the exchanges whose lifetime is over, oldest first, hands each to `onExpire`, and re-arms. */
  private expireDue(): void {
    this.timer = undefined;
    const due = this.now() - this.options.lifetimeMs;
    const expired: Exchange<T>[] = [];
    for (const ex of this.order) {
      if (ex.admittedAt > due) break;
      expired.push(ex);
    }
    for (const ex of expired) this.remove(ex);
    this.schedule();
    for (const ex of expired) {
      try {
        this.options.onExpire(ex);
      } catch {
        // onExpire must not throw; an exchange is answered at most once either way.
      }
    }
  }
}

function procedureOf(request: PendingRequest): string {
  switch (request.kind) {
    case 'REGISTRATION_REQUEST':
      return `app:${request.applicationId}`;
    case 'DEREGISTRATION_REQUEST':
      return `rid:${request.registrationId}`;
    case 'MESSAGE_SENDING_REQUEST':
      return `msg:${request.messageId}`;
    default:
      return assertNever(request, 'device request');
  }
}

function requestKindOf(response: PendingAnswer): PendingRequest['kind'] {
  switch (response.kind) {
    case 'REGISTRATION_RESPONSE':
      return 'REGISTRATION_REQUEST';
    case 'DEREGISTRATION_RESPONSE':
      return 'DEREGISTRATION_REQUEST';
    case 'MESSAGE_SENDING_RESPONSE':
      return 'MESSAGE_SENDING_REQUEST';
    default:
      return assertNever(response, 'device response');
  }
}

/** The procedure a response names, when it names one. */
function procedureNamedBy(response: PendingAnswer): string | undefined {
  switch (response.kind) {
    case 'REGISTRATION_RESPONSE':
      return response.applicationId === undefined ? undefined : `app:${response.applicationId}`;
    case 'DEREGISTRATION_RESPONSE':
      return response.result === 'SUCCESS' ? `rid:${response.registrationId}` : undefined;
    case 'MESSAGE_SENDING_RESPONSE':
      return `msg:${response.messageId}`;
    default:
      return assertNever(response, 'device response');
  }
}
