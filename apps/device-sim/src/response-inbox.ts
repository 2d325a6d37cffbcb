/**
 * `ResponseInbox`: what a simulated M5 binary device (`UdpDevice`, `L2Device`) receives from the
 * gateway, and the request/retry loop that waits in it. The devices keep their transport (socket,
 * frames), their error class and their error messages; the inbox keeps the waiting.
 *
 * A received unit goes to the oldest waiter that accepts it (an exchange waiting for its response
 * kind, or `next`), otherwise into a bounded inbox (oldest dropped beyond {@link INBOX_LIMIT}).
 *
 * Rejected alternative: a base class `M5Device` both devices extend. Their `open` and transports
 * have nothing in common, and their error classes must stay distinct; composition shares the
 * waiting without a hierarchy.
 *
 * @see docs/wire-formats.md §2 (M5 binary), TS 24.538 6.3.2.1.2 (seed CR)
 */
import { responseKindFor, type DeviceRequest, type DeviceResponse } from '@msgin5g/core';
import { encodeM5, type M5DecodeResult, type M5Message, type StatusMessage } from '@msgin5g/protocol';

/** Bounded inbox: a misbehaving gateway cannot grow memory without limit (units). */
export const INBOX_LIMIT = 1024;

/** How a device sends and names its errors, for {@link ResponseInbox.exchange} and {@link ResponseInbox.next}. */
export interface ResponseInboxIo {
  /** Sends the encoded request once. A rejection fails the exchange at once with that error. */
  send(unit: Uint8Array): Promise<void>;
  /** The device's error for a bad option (`BAD_ARGUMENT`) or a closed device (`CLOSED`). */
  error(reason: 'BAD_ARGUMENT' | 'CLOSED', message: string): Error;
  /** The device's `TIMEOUT` error after `attempts` attempts of `timeoutMs` ms went unanswered. */
  timeout(attempts: number, timeoutMs: number): Error;
}

/** The answer to a request: the received unit, its decoded message, and how many times the request was sent. */
export interface InboxExchange<D> {
  readonly received: D;
  readonly message: DeviceResponse | StatusMessage;
  readonly attempts: number;
}

/** As {@link InboxExchange}, for any answer ({@link ResponseInbox.exchangeUnit}). */
export interface InboxUnitExchange<D> {
  readonly received: D;
  readonly message: M5Message;
  readonly attempts: number;
}

interface Waiter<D> {
  accept(d: D): boolean;
  deliver(d: D): void;
  fail(err: Error): void;
}

/** The received units of one device, `D` being what the device records per unit (bytes, frame, decoding). */
export class ResponseInbox<D extends { readonly decoded: M5DecodeResult }> {
  private readonly inbox: D[] = [];
  private readonly waiters: Array<Waiter<D>> = [];
  private isClosed = false;

  /** True after {@link close}. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Hands a received unit to the oldest waiter that accepts it, or queues it. */
  deliver(d: D): void {
    const i = this.waiters.findIndex((w) => w.accept(d));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w?.deliver(d);
      return;
    }
    if (this.inbox.length >= INBOX_LIMIT) this.inbox.shift();
    this.inbox.push(d);
  }

  /**
   * Sends `request` through `io.send` and resolves with the first unit that decodes to a response
   * of the matching kind (or a STATUS naming its message type), resending after each `timeoutMs`
   * (ms, default 2000) up to `retries` (default 2) times. Rejects with `io.error('BAD_ARGUMENT')` on
   * a bad option, `io.error('CLOSED')` when closed, `io.timeout(…)` after the last attempt, or the
   * error `io.send` rejected with.
   */
  exchange(request: DeviceRequest, options: { readonly timeoutMs?: number; readonly retries?: number }, io: ResponseInboxIo): Promise<InboxExchange<D>> {
    const wanted = responseKindFor(request.kind);
    return this.exchangeUnit(request, (m) => m.kind === wanted, options, io) as Promise<InboxExchange<D>>;
  }

  /**
   * As {@link exchange}, for any message a device sends (`message`, encoded with `encodeM5`): resolves
   * with the first unit that decodes to a message `answers` accepts, or to a STATUS naming the
   * message's type. Used for a MESSAGE SENDING REQUEST, whose answer is the MESSAGE SENDING RESPONSE
   * echoing its Message ID (docs/wire-formats.md §5.2).
   * @throws M5ProtocolError from `encodeM5` when `message` has no encoding (caller's bug).
   */
  exchangeUnit(
    message: M5Message,
    answers: (m: M5Message) => boolean,
    options: { readonly timeoutMs?: number; readonly retries?: number },
    io: ResponseInboxIo,
  ): Promise<InboxUnitExchange<D>> {
    const timeoutMs = options.timeoutMs ?? 2000;
    const retries = options.retries ?? 2;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) return Promise.reject(io.error('BAD_ARGUMENT', `timeoutMs must be a positive integer, got ${String(timeoutMs)}`));
    if (!Number.isInteger(retries) || retries < 0) return Promise.reject(io.error('BAD_ARGUMENT', `retries must be a non-negative integer, got ${String(retries)}`));
    if (this.isClosed) return Promise.reject(io.error('CLOSED', 'device is closed'));
    const unit = encodeM5(message);
    const type = unit[0];
    return new Promise<InboxUnitExchange<D>>((resolve, reject) => {
      let attempts = 0;
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter<D> = {
        accept: (d) => d.decoded.ok && (answers(d.decoded.message) || (d.decoded.message.kind === 'STATUS' && d.decoded.message.offendingMessageType === type)),
        deliver: (d) => {
          clearTimeout(timer);
          if (d.decoded.ok) resolve({ received: d, message: d.decoded.message, attempts });
        },
        fail: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const attempt = (): void => {
        attempts += 1;
        io.send(unit).catch((err: unknown) => {
          clearTimeout(timer);
          this.removeWaiter(waiter);
          reject(err);
        });
        timer = setTimeout(() => {
          if (attempts <= retries) return attempt();
          this.removeWaiter(waiter);
          reject(io.timeout(attempts, timeoutMs));
        }, timeoutMs);
      };
      this.waiters.push(waiter);
      attempt();
    });
  }

  /**
   * The next unit not taken by an exchange (oldest first). Rejects with `io.error('CLOSED')`, or
   * with `timeoutError()` after `timeoutMs` ms.
   */
  next(timeoutMs: number, io: Pick<ResponseInboxIo, 'error'>, timeoutError: () => Error): Promise<D> {
    const queued = this.inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.isClosed) return Promise.reject(io.error('CLOSED', 'device is closed'));
    return new Promise<D>((resolve, reject) => {
      const waiter: Waiter<D> = {
        accept: () => true,
        deliver: (d) => {
          clearTimeout(timer);
          resolve(d);
        },
        fail: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.removeWaiter(waiter);
        reject(timeoutError());
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Marks the inbox closed and rejects every waiting call with `err`. Idempotent by the caller's check of {@link closed}. */
  close(err: Error): void {
    this.isClosed = true;
    for (const w of this.waiters.splice(0)) w.fail(err);
  }

  private removeWaiter(w: Waiter<D>): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
  }
}
