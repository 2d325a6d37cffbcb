/**
 * `SerialDevice`: one simulated constrained device (Application Client) wired to a Gateway UE by a
 * serial line, M5 binary in SLIP frames (RFC 1055; docs/wire-formats.md §3.4). The serial
 * counterpart of `UdpDevice` and `L2Device`, used by the `device` CLI (`--link serial`) and e2e tests.
 *
 * The device opens its end of the line (a UART, a USB adapter, or the other end of a socat pty pair)
 * with npm `serialport`, 8N1, no flow control. One device per port: whatever the gateway sends on
 * the line is for this device. The gateway knows it by the gateway's own port path
 * (`serial:/dev/ttyUSB0` on the gateway's side), which the device cannot see, so the CLI prints
 * `"layer2Id":null` and the device's own `port`.
 *
 * SLIP comes from serialport's own parsers (`SlipEncoder`, `SlipDecoder`), an implementation
 * independent of the gateway's (packages/serial-device-link/src/slip.ts), so the two check each
 * other in e2e tests. `SlipEncoder` runs with `bluetoothQuirk` (an END before each frame, which
 * flushes line noise). `SlipDecoder` has no bound on a frame and appends octet by octet, so the
 * device drops and restarts it when 4 KiB arrive without an END.
 *
 * Retransmission is what a real device does: the same frame again after each timeout, up to
 * `retries` times (`ResponseInbox`).
 *
 * @see TS 24.538 6.3.2.1.2 (seed CR), docs/wire-formats.md §2, §3.4
 */
import { SerialPort, SlipDecoder, SlipEncoder } from 'serialport';
import type { DeviceRequest, DeviceResponse } from '@msgin5g/core';
import { decodeM5, type M5DecodeResult, type M5Message, type StatusMessage } from '@msgin5g/protocol';
import { ResponseInbox, type ResponseInboxIo } from './response-inbox';
import type { M5Exchange } from './m5-channel';
import type { RequestOptions } from './udp-device';

/**
 * Octets without an END after which the device's SLIP decoder is dropped and restarted. The
 * gateway's answers are a few dozen octets; 4 KiB keeps `SlipDecoder`'s quadratic appends cheap.
 */
const MAX_UNTERMINATED_OCTETS = 4096;

/** A frame from the gateway: its M5 unit (unescaped) and what that decodes to. */
export interface ReceivedSerialFrame {
  readonly bytes: Uint8Array;
  readonly decoded: M5DecodeResult;
}

/** The answer to a request: the message, its M5 bytes, and how many times the request was sent. */
export interface SerialExchange {
  readonly message: DeviceResponse | StatusMessage;
  readonly bytes: Uint8Array;
  readonly attempts: number;
}

export interface SerialDeviceOptions {
  /** The device's end of the line: `/dev/ttyUSB0`, or the device side of a socat pty pair. */
  readonly path: string;
  /** Line speed, baud (8N1). Default 115200 (docs/wire-formats.md §3.4, provisional). */
  readonly baudRate?: number;
}

export type SerialDeviceErrorReason = 'BAD_ARGUMENT' | 'BIND' | 'SEND' | 'TIMEOUT' | 'CLOSED';

/** The one error class of {@link SerialDevice}. */
export class SerialDeviceError extends Error {
  override readonly name = 'SerialDeviceError';
  constructor(
    readonly reason: SerialDeviceErrorReason,
    message: string,
    readonly details: { readonly attempts?: number; readonly cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }
}

/** One SLIP frame of `unit`, by serialport's `SlipEncoder` (END, escaped unit, END). */
export function slipEncode(unit: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const encoder = new SlipEncoder({ bluetoothQuirk: true });
    const parts: Buffer[] = [];
    encoder.on('data', (b: Buffer) => parts.push(b));
    encoder.on('end', () => resolve(Buffer.concat(parts)));
    encoder.on('error', reject);
    encoder.end(Buffer.from(unit));
  });
}

export class SerialDevice {
  private readonly responses = new ResponseInbox<ReceivedSerialFrame>();
  private decoder!: SlipDecoder;
  private sinceEnd = 0;

  private constructor(
    private readonly port: SerialPort,
    /** The device's end of the line. */
    readonly path: string,
  ) {
    this.newDecoder();
    port.on('data', (chunk: Buffer) => this.onData(chunk));
    port.on('error', () => undefined); // a line that goes away fails the next send, or times out
  }

  /** Opens the port. Rejects with {@link SerialDeviceError} `BAD_ARGUMENT` (bad speed) or `BIND` (no such port, no permission, locked). */
  static async open(options: SerialDeviceOptions): Promise<SerialDevice> {
    const baudRate = options.baudRate ?? 115_200;
    if (!Number.isInteger(baudRate) || baudRate < 1) throw new SerialDeviceError('BAD_ARGUMENT', `baud rate must be a positive integer, got ${String(baudRate)}`);
    if (options.path.length === 0) throw new SerialDeviceError('BAD_ARGUMENT', 'a serial port path is needed');
    let port: SerialPort;
    try {
      port = new SerialPort({ path: options.path, baudRate, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false, xon: false, xoff: false, autoOpen: false });
    } catch (err) {
      throw new SerialDeviceError('BAD_ARGUMENT', errorText(err), { cause: err });
    }
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(new SerialDeviceError('BIND', `cannot open serial port ${options.path}: ${err.message}`, { cause: err })) : resolve())),
    );
    return new SerialDevice(port, options.path);
  }

  /**
   * Sends `request` and resolves with the first response of the matching kind (or a STATUS naming
   * its message type). Rejects with {@link SerialDeviceError} `TIMEOUT` after `retries + 1`
   * attempts of `timeoutMs` each, `SEND` when the port refuses the write, or `CLOSED`.
   */
  exchange(request: DeviceRequest, options: RequestOptions = {}): Promise<SerialExchange> {
    return this.responses.exchange(request, options, this.inboxIo()).then(({ received, message, attempts }) => ({ message, bytes: received.bytes, attempts }));
  }

  /**
   * Sends a device message (MESSAGE SENDING REQUEST, …; docs/wire-formats.md §5.2) in a SLIP frame
   * and resolves with the first answer `answers` accepts, or a STATUS naming its type, resending as
   * {@link exchange} does. Rejects as {@link exchange}.
   */
  exchangeMessage(message: M5Message, answers: (m: M5Message) => boolean, options: RequestOptions = {}): Promise<M5Exchange> {
    return this.responses.exchangeUnit(message, answers, options, this.inboxIo()).then(({ received, message: answer, attempts }) => ({ message: answer, bytes: received.bytes, attempts }));
  }

  private inboxIo(): ResponseInboxIo {
    return {
      send: (unit) => this.sendUnit(unit),
      error: (reason, message) => new SerialDeviceError(reason, message),
      timeout: (attempts, timeoutMs) => new SerialDeviceError('TIMEOUT', `no answer on ${this.path} after ${attempts} attempt(s) of ${timeoutMs} ms`, { attempts }),
    };
  }

  /** Sends `unit` as one SLIP frame. Rejects with `SEND` or `CLOSED`. */
  async sendUnit(unit: Uint8Array): Promise<void> {
    await this.sendRaw(await slipEncode(unit));
  }

  /** Writes octets as they are (no framing). Rejects with `SEND` or `CLOSED`. */
  sendRaw(octets: Uint8Array): Promise<void> {
    if (this.responses.closed) return Promise.reject(new SerialDeviceError('CLOSED', 'device is closed'));
    return new Promise((resolve, reject) => {
      this.port.write(Buffer.from(octets), (err) => (err ? reject(new SerialDeviceError('SEND', `write to ${this.path} failed: ${err.message}`, { cause: err })) : resolve()));
    });
  }

  /** The next frame from the gateway not taken by an exchange. Rejects `TIMEOUT` after `timeoutMs` (default 2000), or `CLOSED`. */
  nextMessage(timeoutMs = 2000): Promise<ReceivedSerialFrame> {
    return this.responses.next(
      timeoutMs,
      { error: (reason, message) => new SerialDeviceError(reason, message) },
      () => new SerialDeviceError('TIMEOUT', `no frame on ${this.path} within ${timeoutMs} ms`),
    );
  }

  /** Closes the port; pending calls reject with `CLOSED`. Idempotent. */
  async close(): Promise<void> {
    if (this.responses.closed) return;
    this.responses.close(new SerialDeviceError('CLOSED', 'device closed'));
    this.decoder.destroy();
    if (!this.port.isOpen) return;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }

  private newDecoder(): void {
    this.decoder = new SlipDecoder();
    this.sinceEnd = 0;
    this.decoder.on('data', (frame: Buffer) => {
      if (frame.length === 0 || this.responses.closed) return;
      const bytes = Uint8Array.from(frame);
      this.responses.deliver({ bytes, decoded: decodeM5(bytes) });
    });
  }

  /** Feeds the decoder, never more than {@link MAX_UNTERMINATED_OCTETS} without an END. */
  private onData(chunk: Buffer): void {
    const end = chunk.lastIndexOf(0xc0);
    if (end >= 0) {
      this.decoder.write(chunk.subarray(0, end + 1));
      this.sinceEnd = 0;
    }
    const tail = chunk.subarray(end + 1);
    this.sinceEnd += tail.length;
    if (this.sinceEnd > MAX_UNTERMINATED_OCTETS) {
      this.decoder.destroy();
      this.newDecoder();
      return;
    }
    if (tail.length > 0) this.decoder.write(tail);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
