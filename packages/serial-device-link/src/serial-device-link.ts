/**
 * `SerialDeviceLink`: the `DeviceLink` port over a serial line (UART, RS-232, USB CDC-ACM, a pty),
 * docs/wire-formats.md §3.4.
 *
 * - One device per port. Its Layer-2 ID is `serial:` + the port's path as configured
 *   (`serial:/dev/ttyUSB0`); the gateway runs one instance per port.
 * - Each M5 binary message (§2, encoded and decoded only by `@msgin5g/protocol`) is one SLIP frame
 *   (RFC 1055, src/slip.ts). Responses are sent as `C0 <escaped M5> C0`.
 * - Line settings: 8N1, no flow control, `baudRate` (default 115200), provisional defaults.
 * - Units are decoded with `decodeDeviceUnit`: a registration request reaches `onRequest`, a
 *   message-delivery unit (0x01, 0x02, 0x05; §5) `onDeliveryMessage` (a handler without it: a 0x01
 *   is answered MESSAGE_TYPE_NOT_SUPPORTED, 0x02 / 0x05 dropped, each reported). `send` frames any
 *   gateway unit (responses, 0x03, 0x04, 0x06); a MESSAGE RECEIVING carries at most
 *   {@link SerialDeviceLink.maxPayloadOctets} payload octets.
 * - Bad input follows the reject table of §2, as on the UDP link: an empty frame is ignored (SLIP
 *   drops it before M5 sees it); an unknown or gateway-only Message Type gets STATUS `1F 09 <type>`;
 *   an undecodable request gets its RESPONSE with Failure reason 0x05. A frame the SLIP decoder
 *   discards (content over 64 KiB, a bad escape) is reported as a protocol error, unanswered.
 * - When the port goes away (USB unplugged, the pty's other end closed: a read fails, the port
 *   closes, or the path disappears, checked every second), the link logs it and reopens the port with a backoff (100 ms,
 *   doubling, at most 5 s between attempts) for as long as it runs; meanwhile `send` rejects
 *   `SEND`. Other links of the gateway are not affected: nothing here throws out of an event.
 *
 * The driver is npm `serialport` (`SerialPort` over `@serialport/bindings-cpp`, whose shipped
 * N-API prebuilds load at run time). Tests may pass `createPort` to run without a port (serialport's
 * own `SerialPortMock` fits).
 *
 * @see docs/wire-formats.md §2, §3.4; RFC 1055
 */
import { existsSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { assertNever, DeviceLinkError, silentLogger, type DeviceLink, type DeviceLinkHandler, type DeviceLinkStats, type GatewayUnit, type Layer2Id, type Logger } from '@msgin5g/core';
import { LinkLifecycle } from '@msgin5g/link-sdk';
import { answerWithoutDeliveryHandler, decodeDeviceUnit, encodeM5, messageReceivingMaxPayloadOctets } from '@msgin5g/protocol';
import { encodeSlipFrame, MAX_SLIP_FRAME_OCTETS, SlipDecoder, type SlipCounters } from './slip';
import { parseSerialLayer2Id, serialLayer2Id, SERIAL_LAYER2_PREFIX } from './serial-layer2-ids';

/** Default line speed, baud (docs/wire-formats.md §3.4, provisional). */
export const DEFAULT_SERIAL_BAUD_RATE = 115_200;

/** Options of {@link SerialDeviceLink}. */
export interface SerialDeviceLinkOptions {
  /** Path of the port: `/dev/ttyUSB0`, `/dev/ttyACM0`, `/dev/serial/by-id/…`, a pty or a symlink to one. */
  readonly path: string;
  /** Line speed, baud; 8N1, no flow control. Default {@link DEFAULT_SERIAL_BAUD_RATE}. */
  readonly baudRate?: number;
  readonly logger?: Logger;
  /** The link instance id the gateway gave it (`serial`, `serial-2`): the `link` field of its log lines. Default `serial`. */
  readonly id?: string;
  /** Reopen backoff after the port is lost, ms: the first wait, doubled after each failed attempt up to `max`. Default 100 and 5000. */
  readonly reopenDelayMs?: { readonly initial: number; readonly max: number };
  /** Longest wait for the OS to take one frame, ms (then `send` rejects `SEND`). Default 2000. */
  readonly writeTimeoutMs?: number;
  /** Frames handed to the OS and not yet taken, at most; reject answers beyond it are dropped, `send` rejects `SEND`. Default 64. */
  readonly maxPendingWrites?: number;
  /**
   * While the port is open, how often the link checks that its path still exists, ms (0: never).
   * serialport does not always report a pty whose other end went away (a read that never fails;
   * seen about once in eight socat restarts), and a USB adapter pulled out removes its node, so a
   * vanished path counts as a lost port. Only a path that existed when it was opened is watched.
   * Default 1000.
   */
  readonly presenceCheckMs?: number;
  /**
   * Makes the (not yet opened) port object; default serialport's `SerialPort` with 8N1, no flow
   * control. Tests without a port pass one that builds serialport's `SerialPortMock`.
   */
  readonly createPort?: (options: { readonly path: string; readonly baudRate: number }) => SerialPortLike;
}

/**
 * The part of serialport's `SerialPort` (a `SerialPortStream`) the link uses. `open` reports
 * failure through its callback; the stream emits `data` (Buffer), `error` (Error) and `close`
 * (a `DisconnectedError` when the port went away, nothing when closed on purpose).
 */
export interface SerialPortLike {
  readonly isOpen: boolean;
  open(callback: (err: Error | null) => void): void;
  close(callback?: (err: Error | null) => void): void;
  write(data: Buffer, callback: (err: Error | null | undefined) => void): boolean;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: 'data' | 'error' | 'close', listener: (...args: any[]) => void): unknown;
}

/** serialport's `SerialPort`, 8N1, no flow control, opened by the link (`autoOpen: false`). */
function defaultCreatePort(options: { readonly path: string; readonly baudRate: number }): SerialPortLike {
  return new SerialPort({ path: options.path, baudRate: options.baudRate, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false, xon: false, xoff: false, autoOpen: false });
}

/** What the link counts, for logs (the `stopped` line) and tests. */
export interface SerialLinkCounters extends SlipCounters {
  /** Times the port was lost after being open. */
  portLost: number;
  /** Successful reopens after a loss. */
  reopened: number;
  /** Reject answers (STATUS, failure responses) dropped because too many writes were pending or the port was closed. */
  answersDropped: number;
}

/** Keep a failed-reopen warning to one per this many ms (debug lines in between). */
const STILL_DOWN_WARN_MS = 60_000;

/** One open-or-reopening port of a running link: the resource its `LinkLifecycle` holds. */
class SerialSession {
  port: SerialPortLike | undefined;
  private readonly decoder = new SlipDecoder();
  private reopenTimer: NodeJS.Timeout | undefined;
  /** Checks, while a port is open, that its path still exists (see `presenceCheckMs`). */
  private presenceTimer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private downSince = 0;
  private lastWarn = 0;
  private closed = false;
  private pendingWrites = 0;
  readonly counters: SerialLinkCounters;

  constructor(
    private readonly link: SerialDeviceLink,
    private readonly onBytes: (chunk: Uint8Array) => void,
  ) {
    this.counters = Object.assign(this.decoder.counters, { portLost: 0, reopened: 0, answersDropped: 0 });
  }

  get slip(): SlipDecoder {
    return this.decoder;
  }

  /** Opens the port once. @throws DeviceLinkError `BIND`. */
  async open(): Promise<void> {
    this.port = await this.openPort();
    this.watchPresence(this.port);
  }

  /** While `port` is the open one, checks that its path still exists; a vanished path is a lost port. */
  private watchPresence(port: SerialPortLike): void {
    const { path, presenceCheckMs } = this.link.settings;
    if (presenceCheckMs === 0 || !existsSync(path)) return;
    this.presenceTimer = setInterval(() => {
      if (this.port !== port) return;
      if (!existsSync(path)) this.lost(port, new Error(`${path} no longer exists`));
    }, presenceCheckMs);
    this.presenceTimer.unref?.();
  }

  private stopWatching(): void {
    if (this.presenceTimer !== undefined) clearInterval(this.presenceTimer);
    this.presenceTimer = undefined;
  }

  private openPort(): Promise<SerialPortLike> {
    const { path, baudRate, createPort } = this.link.settings;
    return new Promise((resolve, reject) => {
      let port: SerialPortLike;
      try {
        port = createPort({ path, baudRate });
      } catch (err) {
        reject(classifyOpenError(err, path));
        return;
      }
      // Every stream error has a listener: an unhandled 'error' would end the gateway process.
      port.on('error', (err: Error) => this.lost(port, err));
      port.on('close', (err: Error | null) => this.lost(port, err ?? undefined));
      port.on('data', (chunk: Buffer) => {
        if (this.port === port) this.onBytes(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      });
      port.open((err) => (err ? reject(classifyOpenError(err, path)) : resolve(port)));
    });
  }

  /** The port failed or closed: drop it and schedule a reopen (once per port). */
  private lost(port: SerialPortLike, err: Error | undefined): void {
    if (this.closed || this.port !== port) return;
    this.port = undefined;
    this.stopWatching();
    this.counters.portLost++;
    const dropped = this.decoder.reset();
    this.downSince = Date.now();
    this.lastWarn = this.downSince;
    this.link.log.warn(
      { link: this.link.logName, layer2Id: this.link.layer2Id, err: err?.message ?? 'closed', droppedOctets: dropped },
      'serial port lost; reopening it with backoff (sends fail meanwhile)',
    );
    if (port.isOpen) port.close(() => undefined);
    this.attempts = 0;
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (this.closed) return;
    const { initial, max } = this.link.settings.reopenDelayMs;
    const delay = Math.min(max, initial * 2 ** Math.min(this.attempts, 30));
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      void this.reopen();
    }, delay);
    this.reopenTimer.unref?.();
  }

  private async reopen(): Promise<void> {
    if (this.closed) return;
    this.attempts++;
    let port: SerialPortLike;
    try {
      port = await this.openPort();
    } catch (err) {
      if (this.closed) return;
      const now = Date.now();
      const fields = { link: this.link.logName, layer2Id: this.link.layer2Id, attempts: this.attempts, downMs: now - this.downSince, err: (err as Error).message };
      if (now - this.lastWarn >= STILL_DOWN_WARN_MS) {
        this.lastWarn = now;
        this.link.log.warn(fields, 'serial port still unavailable; still trying');
      } else {
        this.link.log.debug(fields, 'serial port reopen failed');
      }
      this.scheduleReopen();
      return;
    }
    if (this.closed) {
      port.close(() => undefined);
      return;
    }
    this.port = port;
    this.watchPresence(port);
    this.counters.reopened++;
    this.link.log.info({ link: this.link.logName, layer2Id: this.link.layer2Id, attempts: this.attempts, downMs: Date.now() - this.downSince }, 'serial port reopened');
  }

  /**
   * Hands one frame to the OS. `what` names it for errors.
   * @throws DeviceLinkError `SEND` (port not open, too many writes pending, write error, timeout).
   */
  write(frame: Uint8Array, what: string): Promise<void> {
    const port = this.port;
    if (port === undefined || !port.isOpen) {
      return Promise.reject(new DeviceLinkError('SEND', `serial port ${this.link.settings.path} is not open (lost; reopening): ${what} not sent`));
    }
    if (this.pendingWrites >= this.link.settings.maxPendingWrites) {
      return Promise.reject(new DeviceLinkError('SEND', `serial port ${this.link.settings.path}: ${this.pendingWrites} writes pending; ${what} not sent`));
    }
    this.pendingWrites++;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | null | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.pendingWrites--;
        if (err) reject(new DeviceLinkError('SEND', `serial write to ${this.link.settings.path} failed: ${err.message}`, { cause: err }));
        else resolve();
      };
      const timer = setTimeout(() => finish(new Error(`not taken by the OS within ${this.link.settings.writeTimeoutMs} ms`)), this.link.settings.writeTimeoutMs);
      try {
        port.write(Buffer.from(frame.buffer, frame.byteOffset, frame.length), (err) => finish(err));
      } catch (err) {
        finish(err as Error);
      }
    });
  }

  /** Stops reopening and closes the port. Never throws. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopWatching();
    if (this.reopenTimer !== undefined) clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    const port = this.port;
    this.port = undefined;
    if (port === undefined || !port.isOpen) return;
    await new Promise<void>((resolve) => {
      try {
        port.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

/** Settings with defaults applied. */
interface ResolvedSettings {
  readonly path: string;
  readonly baudRate: number;
  readonly createPort: (options: { readonly path: string; readonly baudRate: number }) => SerialPortLike;
  readonly reopenDelayMs: { readonly initial: number; readonly max: number };
  readonly writeTimeoutMs: number;
  readonly maxPendingWrites: number;
  readonly presenceCheckMs: number;
}

/**
 * A `DeviceLink` for one device on one serial port.
 *
 * `start()` opens the port and rejects with `DeviceLinkError` `BIND` (no such port, no permission,
 * locked by another process, a baud rate the port refuses); `send()` rejects `BAD_ADDRESS` (not
 * this port's Layer-2 ID), `SEND` (port lost and being reopened, write error, not taken within
 * `writeTimeoutMs`) or `CLOSED` (not running). The constructor throws `TypeError` on a bad option.
 */
export class SerialDeviceLink implements DeviceLink {
  readonly kind = 'serial' as const;
  /** The Layer-2 ID of the one device on this port: `serial:` + path. */
  readonly layer2Id: Layer2Id;
  /** @internal the session's view of the options. */
  readonly settings: ResolvedSettings;
  /** @internal */
  readonly log: Logger;
  /** The `link` field of log lines: the instance id, or `serial`. */
  readonly logName: string;
  private readonly lifecycle: LinkLifecycle<SerialSession>;
  private inboundUnits = 0;
  private lastCounters: SerialLinkCounters | undefined;

  constructor(options: SerialDeviceLinkOptions) {
    const id = serialLayer2Id(options.path);
    if (!id.ok) throw new TypeError(`SerialDeviceLink path: ${id.error}`);
    const baudRate = options.baudRate ?? DEFAULT_SERIAL_BAUD_RATE;
    if (!Number.isInteger(baudRate) || baudRate < 1) throw new TypeError(`SerialDeviceLink baudRate must be a positive integer, got ${String(baudRate)}`);
    const reopenDelayMs = options.reopenDelayMs ?? { initial: 100, max: 5000 };
    if (!(reopenDelayMs.initial >= 1 && reopenDelayMs.max >= reopenDelayMs.initial)) throw new TypeError('SerialDeviceLink reopenDelayMs must satisfy 1 <= initial <= max');
    const writeTimeoutMs = options.writeTimeoutMs ?? 2000;
    if (!(writeTimeoutMs >= 1)) throw new TypeError('SerialDeviceLink writeTimeoutMs must be >= 1');
    const maxPendingWrites = options.maxPendingWrites ?? 64;
    if (!Number.isInteger(maxPendingWrites) || maxPendingWrites < 1) throw new TypeError('SerialDeviceLink maxPendingWrites must be a positive integer');
    const presenceCheckMs = options.presenceCheckMs ?? 1000;
    if (!(Number.isInteger(presenceCheckMs) && presenceCheckMs >= 0)) throw new TypeError('SerialDeviceLink presenceCheckMs must be an integer >= 0');
    this.layer2Id = id.value;
    this.log = options.logger ?? silentLogger;
    this.logName = options.id ?? 'serial';
    this.settings = { path: options.path, baudRate, createPort: options.createPort ?? defaultCreatePort, reopenDelayMs, writeTimeoutMs, maxPendingWrites, presenceCheckMs };
    this.lifecycle = new LinkLifecycle<SerialSession>({
      name: () => `serial device link ${this.endpoint}`,
      close: (session) => session.close(),
      logger: this.log,
    });
  }

  /** `serial:/dev/ttyUSB0 115200 8N1`. */
  /** `DeviceLink.stats`: {@link DeviceLinkStats.inboundUnits} counts every SLIP frame received, decoded or discarded, across reopened ports, since construction. */
  stats(): DeviceLinkStats {
    return { inboundUnits: this.inboundUnits };
  }

  get endpoint(): string {
    return `${this.layer2Id} ${this.settings.baudRate} 8N1`;
  }

  /** Counters of the running (or last) session: SLIP frames and discards, port losses and reopens. */
  get counters(): SerialLinkCounters | undefined {
    return this.lifecycle.running?.resource.counters ?? this.lastCounters;
  }

  /** Opens the port; resolves when frames can arrive. @throws DeviceLinkError `BIND`, or `CLOSED` when stopped meanwhile. */
  async start(handler: DeviceLinkHandler): Promise<void> {
    await this.lifecycle.start(handler, async () => {
      const session = new SerialSession(this, (chunk) => this.onBytes(session, chunk));
      await session.open();
      return session;
    });
    this.log.debug({ link: this.logName, endpoint: this.endpoint }, 'serial device link open');
  }

  /**
   * `DeviceLink.maxPayloadOctets`: the largest Payload of a MESSAGE RECEIVING in one SLIP frame, its
   * other fields at their longest: the largest frame content, 64 KiB after unescaping (what this
   * link's own decoder accepts, docs/wire-formats.md §3.4; the device is held to the same), minus
   * `MESSAGE_RECEIVING_OVERHEAD_OCTETS` (280): 65,256 octets.
   */
  get maxPayloadOctets(): number {
    return messageReceivingMaxPayloadOctets(MAX_SLIP_FRAME_OCTETS);
  }

  /**
   * Sends `encodeM5(unit)` (a response, or a message-delivery unit: 0x03, 0x04, 0x06) as one SLIP
   * frame to the device on this port. Resolves when the OS has taken the frame.
   * @throws DeviceLinkError `CLOSED`, `BAD_ADDRESS`, `SEND`.
   */
  async send(to: Layer2Id, unit: GatewayUnit): Promise<void> {
    const { resource } = this.lifecycle.requireRunning('send');
    if (to !== this.layer2Id) {
      const parsed = parseSerialLayer2Id(to);
      throw new DeviceLinkError(
        'BAD_ADDRESS',
        parsed.ok && to.startsWith(SERIAL_LAYER2_PREFIX) ? `serial device link ${this.endpoint} serves ${this.layer2Id} only, not ${to}` : `not a serial Layer-2 ID: ${JSON.stringify(to)}`,
      );
    }
    const octets = encodeM5(unit);
    if (octets.length > MAX_SLIP_FRAME_OCTETS) {
      // The device reads at most 64 KiB of frame content (§3.4): a longer frame would be discarded there.
      throw new DeviceLinkError('SEND', `${unit.kind} of ${octets.length} octets is longer than a SLIP frame may be (${MAX_SLIP_FRAME_OCTETS}); payload over maxPayloadOctets ${this.maxPayloadOctets}`);
    }
    await resource.write(encodeSlipFrame(octets), unit.kind);
  }

  /** Closes the port and stops reopening it. Idempotent; afterwards `send` rejects `CLOSED`. */
  async stop(): Promise<void> {
    const session = this.lifecycle.running?.resource;
    await this.lifecycle.stop();
    if (session !== undefined) {
      this.lastCounters = session.counters;
      this.log.info({ link: this.logName, endpoint: this.endpoint, ...session.counters }, 'serial device link stopped');
    }
  }

  private onBytes(session: SerialSession, chunk: Uint8Array): void {
    for (const event of session.slip.push(chunk)) {
      this.inboundUnits += 1;
      switch (event.kind) {
        case 'FRAME':
          this.onFrame(session, event.frame);
          break;
        case 'DISCARDED': {
          const detail =
            event.reason === 'OVERSIZE'
              ? `SLIP frame longer than ${session.slip.maxFrameOctets} octets discarded (RFC 1055 framing, docs/wire-formats.md §3.4)`
              : 'SLIP frame with an ESC not followed by ESC_END or ESC_ESC discarded (RFC 1055)';
          this.log.debug({ link: this.logName, layer2Id: this.layer2Id, octets: event.octets, reason: event.reason }, 'SLIP frame discarded');
          this.lifecycle.deliver((h) => h.onProtocolError({ link: 'serial', from: this.layer2Id, detail, answered: false, octets: event.octets }));
          break;
        }
        default:
          assertNever(event, 'SLIP event');
      }
    }
  }

  private onFrame(session: SerialSession, frame: Uint8Array): void {
    const unit = decodeDeviceUnit(frame);
    let inbound: Exclude<typeof unit, { kind: 'DELIVERY' }>;
    if (unit.kind === 'DELIVERY') {
      const { message } = unit;
      if (this.lifecycle.running?.handler.onDeliveryMessage !== undefined) {
        this.lifecycle.deliver((h) => h.onDeliveryMessage?.(message, this.layer2Id, 'serial'), 'onDeliveryMessage');
        return;
      }
      inbound = { kind: 'REJECT', ...answerWithoutDeliveryHandler(message) };
    } else {
      inbound = unit;
    }
    switch (inbound.kind) {
      case 'REQUEST':
        this.lifecycle.deliver((h) => h.onRequest(inbound.request, this.layer2Id, 'serial'));
        return;
      case 'REJECT': {
        let answered = false;
        if (inbound.answer !== null) {
          // Queued before the report so reports keep line order; best effort, like the UDP link.
          answered = true;
          session.write(encodeSlipFrame(inbound.answer), 'reject answer').catch((err: unknown) => {
            session.counters.answersDropped++;
            this.log.debug({ link: this.logName, layer2Id: this.layer2Id, err: (err as Error).message }, 'could not answer a malformed frame');
          });
        }
        this.log.debug({ link: this.logName, layer2Id: this.layer2Id, octets: frame.length, answered, detail: inbound.detail }, 'malformed frame');
        this.lifecycle.deliver((h) => h.onProtocolError({ link: 'serial', from: this.layer2Id, detail: inbound.detail, answered, octets: frame.length }));
        return;
      }
      default:
        assertNever(inbound, 'inbound kind');
    }
  }
}

/** Turns a serialport open error into `DeviceLinkError` `BIND` with an operator's reason. */
function classifyOpenError(err: unknown, path: string): DeviceLinkError {
  const message = err instanceof Error ? err.message : String(err);
  const opts = { cause: err };
  if (/ENOENT|No such file/i.test(message)) return new DeviceLinkError('BIND', `no serial port at ${path} (ENOENT)`, opts);
  if (/EACCES|EPERM|Permission denied/i.test(message)) return new DeviceLinkError('BIND', `no permission to open ${path} (add the gateway's user to the dialout group)`, opts);
  if (/lock|EBUSY|Resource temporarily unavailable/i.test(message)) return new DeviceLinkError('BIND', `serial port ${path} is in use by another process (${message})`, opts);
  const detail = message.replace(/^Error: /, '');
  if (/ENOTTY|Inappropriate ioctl/i.test(detail)) return new DeviceLinkError('BIND', `${path} is not a serial port (the terminal settings cannot be applied to it: ${detail})`, opts);
  return new DeviceLinkError('BIND', `cannot open serial port ${path}: ${detail}`, opts);
}
