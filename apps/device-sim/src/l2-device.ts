/**
 * `L2Device`: one simulated constrained device (Application Client) talking M5 binary in Ethernet
 * frames to a Gateway UE's specified MAC address (docs/wire-formats.md §3.1). The L2 counterpart of
 * `UdpDevice`, used by the `device` CLI (`--link l2`), e2e tests and the demo.
 *
 * The device sends from its own source MAC (its Layer-2 ID: `--mac`, default the interface's MAC)
 * to the gateway's MAC, and keeps only frames addressed to its MAC that come from the gateway's MAC
 * with the configured EtherType (everything else on the segment is ignored, as a NIC would). It
 * opens a raw `AF_PACKET` socket (`@msgin5g/raw-ethernet`: Linux, root or CAP_NET_RAW) unless a
 * `FrameSocket` is passed in (tests use `InMemoryEthernet`).
 *
 * Retransmission is what a real device does: the same frame again after each timeout, up to
 * `retries` times; `request` takes the first answer of the matching kind and leaves others in the
 * inbox that `nextMessage` reads.
 *
 * Rejected alternative: reusing the L2 link's test `FrameDevice`. It is test support (no retries,
 * no timeouts per attempt, no error classification), and apps must not ship `/testing` exports.
 *
 * @see TS 24.538 6.3.2.1.2 (seed CR), docs/wire-formats.md §2, §3.1.
 */
import { frameSocketErrorCode, PACKET_TYPE, type FrameSocket } from '@msgin5g/raw-ethernet';
import { AfPacketFrameSocket } from '@msgin5g/raw-ethernet';
import { parseMacLayer2Id, type DeviceRequest, type DeviceResponse, type Layer2Id } from '@msgin5g/core';
import { DEFAULT_L2_ETHERTYPE, decodeM5, decodeM5Frame, encodeM5Frame, formatMac, isUnicastMac, macAt, type M5DecodeResult, type M5Message, type StatusMessage } from '@msgin5g/protocol';
import { ResponseInbox, type ResponseInboxIo } from './response-inbox';
import type { M5Exchange } from './m5-channel';
import type { RequestOptions } from './udp-device';

/** A frame from the gateway: the whole frame, the M5 unit in it, and what that decodes to. */
export interface ReceivedFrame {
  readonly frame: Uint8Array;
  readonly bytes: Uint8Array;
  readonly decoded: M5DecodeResult;
}

/** The answer to a request: the message, its M5 bytes, the frame, and how many times the request was sent. */
export interface L2Exchange {
  readonly message: DeviceResponse | StatusMessage;
  readonly bytes: Uint8Array;
  readonly frame: Uint8Array;
  readonly attempts: number;
}

export interface L2DeviceOptions {
  /** The gateway's specified MAC (`02:00:00:00:00:01`, `02-00-…`, `020000000001`). */
  readonly gatewayMac: string;
  /** Interface to open a raw socket on (`eth0`, `veth1`, `lo`). Required unless `socket` is given. */
  readonly interfaceName?: string;
  /** A frame socket to use instead of opening a raw one (tests). The device starts and closes it. */
  readonly socket?: FrameSocket;
  /** The device's source MAC, its Layer-2 ID. Default: the interface's MAC. */
  readonly mac?: string;
  /** EtherType of M5 frames. Default 0x88B5 (docs/wire-formats.md §3.1, provisional). */
  readonly etherType?: number;
}

export type L2DeviceErrorReason = 'BAD_ARGUMENT' | 'BIND' | 'SEND' | 'TIMEOUT' | 'CLOSED';

/** The one error class of {@link L2Device}. `code` is the errno name of a socket error, when there was one. */
export class L2DeviceError extends Error {
  override readonly name = 'L2DeviceError';
  constructor(
    readonly reason: L2DeviceErrorReason,
    message: string,
    readonly details: { readonly attempts?: number; readonly code?: string; readonly cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }
}

export class L2Device {
  private readonly responses = new ResponseInbox<ReceivedFrame>();

  private constructor(
    private readonly socket: FrameSocket,
    /** The device's Layer-2 ID: its source MAC, 12 lower-case hex characters. */
    readonly layer2Id: Layer2Id,
    /** The gateway's MAC, 12 lower-case hex characters. */
    readonly gatewayMac: string,
    readonly etherType: number,
  ) {}

  /** The interface the device sends on. */
  get interfaceName(): string {
    return this.socket.interfaceName;
  }

  /**
   * Opens the frame socket. Rejects with {@link L2DeviceError}: `BAD_ARGUMENT` (bad MAC, EtherType,
   * no interface), `BIND` (no privilege, no such interface, interface down, not Linux).
   */
  static async open(options: L2DeviceOptions): Promise<L2Device> {
    const gateway = parseMacLayer2Id(options.gatewayMac);
    if (!gateway.ok) throw new L2DeviceError('BAD_ARGUMENT', `gateway MAC: ${gateway.error}`);
    if (!isUnicastMac(gateway.value)) throw new L2DeviceError('BAD_ARGUMENT', `gateway MAC must be a unicast address, got ${options.gatewayMac}`);
    let mac: string | undefined;
    if (options.mac !== undefined) {
      const parsed = parseMacLayer2Id(options.mac);
      if (!parsed.ok) throw new L2DeviceError('BAD_ARGUMENT', `device MAC: ${parsed.error}`);
      if (!isUnicastMac(parsed.value)) throw new L2DeviceError('BAD_ARGUMENT', `device MAC must be a unicast address, got ${options.mac}`);
      mac = parsed.value;
    }
    const etherType = options.etherType ?? DEFAULT_L2_ETHERTYPE;
    if (!Number.isInteger(etherType) || etherType < 0x0600 || etherType > 0xffff) throw new L2DeviceError('BAD_ARGUMENT', `EtherType must be 0x0600..0xffff, got ${String(etherType)}`);
    let socket = options.socket;
    if (socket === undefined) {
      if (options.interfaceName === undefined) throw new L2DeviceError('BAD_ARGUMENT', 'an interface name is needed to open a raw socket');
      try {
        socket = new AfPacketFrameSocket({ interfaceName: options.interfaceName, etherType });
      } catch (err) {
        throw new L2DeviceError('BAD_ARGUMENT', errorText(err), { cause: err });
      }
    }
    const sink: { device?: L2Device } = {};
    const early: Array<[Uint8Array, number]> = [];
    let info;
    try {
      info = await socket.start((frame, pktType) => (sink.device === undefined ? early.push([frame, pktType]) : sink.device.onFrame(frame, pktType)));
    } catch (err) {
      await socket.close().catch(() => undefined);
      throw new L2DeviceError('BIND', errorText(err), withCode(err));
    }
    const own = mac ?? info.mac;
    try {
      if (!isUnicastMac(own)) throw new L2DeviceError('BAD_ARGUMENT', `interface ${socket.interfaceName} has no unicast MAC (${formatMac(own)}); pass one`);
      if (own === gateway.value) throw new L2DeviceError('BAD_ARGUMENT', `device MAC ${formatMac(own)} is the gateway's MAC; pass another (on lo both default to 00:00:00:00:00:00)`);
      if (own !== info.mac && socket.addUnicastAddress !== undefined) {
        await socket.addUnicastAddress(own).catch((err: unknown) => {
          throw new L2DeviceError('BIND', errorText(err), withCode(err));
        });
      }
    } catch (err) {
      await socket.close().catch(() => undefined);
      throw err;
    }
    const device = new L2Device(socket, own as Layer2Id, gateway.value, etherType);
    sink.device = device;
    for (const [frame, pktType] of early.splice(0)) device.onFrame(frame, pktType);
    return device;
  }

  /**
   * Sends `request` and resolves with the first response of the matching kind (or a STATUS naming
   * its message type). Rejects with {@link L2DeviceError} `TIMEOUT` after `retries + 1` attempts of
   * `timeoutMs` each, `SEND` when the socket refuses the frame, or `CLOSED`.
   */
  async request(request: DeviceRequest, options: RequestOptions = {}): Promise<DeviceResponse | StatusMessage> {
    return (await this.exchange(request, options)).message;
  }

  /** As {@link request}, with the response's M5 bytes, its frame and the number of attempts. */
  exchange(request: DeviceRequest, options: RequestOptions = {}): Promise<L2Exchange> {
    return this.responses.exchange(request, options, this.inboxIo()).then(({ received, message, attempts }) => ({ message, bytes: received.bytes, frame: received.frame, attempts }));
  }

  /**
   * Sends a device message (MESSAGE SENDING REQUEST, …; docs/wire-formats.md §5.2) in a frame and
   * resolves with the first answer `answers` accepts, or a STATUS naming its type, resending as
   * {@link exchange} does. Rejects as {@link exchange}.
   */
  exchangeMessage(message: M5Message, answers: (m: M5Message) => boolean, options: RequestOptions = {}): Promise<M5Exchange> {
    return this.responses.exchangeUnit(message, answers, options, this.inboxIo()).then(({ received, message: answer, attempts }) => ({ message: answer, bytes: received.bytes, attempts }));
  }

  private inboxIo(): ResponseInboxIo {
    return {
      // A frame the socket refuses will be refused again: the exchange fails now instead of timing out.
      send: (unit) => this.sendUnit(unit),
      error: (reason, message) => new L2DeviceError(reason, message),
      timeout: (attempts, timeoutMs) =>
        new L2DeviceError('TIMEOUT', `no answer from ${formatMac(this.gatewayMac)} on ${this.interfaceName} after ${attempts} attempt(s) of ${timeoutMs} ms`, { attempts }),
    };
  }

  /** Sends `unit` in an M5 frame (padded to 60 octets) to the gateway. Rejects with `SEND` or `CLOSED`. */
  sendUnit(unit: Uint8Array): Promise<void> {
    return this.sendFrame(encodeM5Frame({ destination: this.gatewayMac, source: this.layer2Id, etherType: this.etherType, unit }));
  }

  /** Sends any bytes as one frame. Rejects with `SEND` (the socket refused it) or `CLOSED`. */
  async sendFrame(frame: Uint8Array): Promise<void> {
    if (this.responses.closed) throw new L2DeviceError('CLOSED', 'device is closed');
    try {
      await this.socket.send(frame);
    } catch (err) {
      throw new L2DeviceError('SEND', errorText(err), withCode(err));
    }
  }

  /**
   * The next frame from the gateway not taken by a `request` (oldest first). Rejects with
   * {@link L2DeviceError} `TIMEOUT` after `timeoutMs` (default 2000), or `CLOSED`.
   */
  nextMessage(timeoutMs = 2000): Promise<ReceivedFrame> {
    return this.responses.next(
      timeoutMs,
      { error: (reason, message) => new L2DeviceError(reason, message) },
      () => new L2DeviceError('TIMEOUT', `no frame from ${formatMac(this.gatewayMac)} within ${timeoutMs} ms`),
    );
  }

  /** Closes the socket; pending calls reject with `CLOSED`. Idempotent. */
  async close(): Promise<void> {
    if (this.responses.closed) return;
    this.responses.close(new L2DeviceError('CLOSED', 'device closed'));
    await this.socket.close().catch(() => undefined);
  }

  private onFrame(frame: Uint8Array, pktType: number): void {
    if (this.responses.closed || pktType === PACKET_TYPE.OUTGOING || frame.length < 14) return;
    if (macAt(frame, 0) !== this.layer2Id || macAt(frame, 6) !== this.gatewayMac) return;
    const reading = decodeM5Frame(frame, this.etherType);
    if (reading.kind !== 'M5') return;
    const bytes = Uint8Array.from(reading.unit);
    const d: ReceivedFrame = { frame: Uint8Array.from(frame), bytes, decoded: decodeM5(bytes) };
    this.responses.deliver(d);
  }
}

function withCode(err: unknown): { code?: string; cause: unknown } {
  const code = frameSocketErrorCode(err);
  return code === undefined ? { cause: err } : { code, cause: err };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
