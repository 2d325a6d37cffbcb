/**
 * `UdpDevice`: one simulated constrained device (Application Client) talking M5 binary over UDP to
 * a Gateway UE (docs/wire-formats.md §3.2). Used by the `device` CLI, e2e tests, the demo and benchmarks.
 *
 * The socket is bound to a fixed local port (the gateway knows a UDP device by its source
 * `ip:port`, its Layer-2 ID, so register and de-register must come from the same port) and
 * `connect()`ed to the gateway, so the kernel picks the source address (which gives the device its
 * exact Layer-2 ID, even when bound to a wildcard) and drops datagrams from anyone else.
 * Rejected alternative: an unconnected socket filtering sources in JavaScript — the Layer-2 ID
 * printed for a wildcard bind would then be `0.0.0.0:5691`, not what the gateway sees.
 *
 * Retransmission is what a real device does: the same bytes again after each timeout, up to
 * `retries` times. Responses may arrive unsolicited or duplicated (a retransmitted request is
 * answered twice); `request` takes the first one that answers it and leaves the others in the inbox
 * that `nextMessage` reads.
 *
 * @see TS 24.538 6.3.2.1.2 (seed CR), docs/wire-formats.md §2, §3.2.
 */
import * as dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { transportLayer2Id, type DeviceRequest, type DeviceResponse, type Layer2Id } from '@msgin5g/core';
import { decodeM5, type M5DecodeResult, type M5Message, type StatusMessage } from '@msgin5g/protocol';
import { formatGatewayAddress, parseGatewayAddress, type GatewayAddress } from './gateway-address';
import { ResponseInbox, type ResponseInboxIo } from './response-inbox';
import type { M5Exchange } from './m5-channel';

/** A datagram received from the gateway, with what it decodes to. */
export interface ReceivedDatagram {
  readonly bytes: Uint8Array;
  readonly decoded: M5DecodeResult;
}

/** The answer to a request: the message, its exact bytes, and how many times the request was sent. */
export interface Exchange {
  readonly message: DeviceResponse | StatusMessage;
  readonly bytes: Uint8Array;
  readonly attempts: number;
}

export interface UdpDeviceOptions {
  /** `127.0.0.1:5690`, `[::1]:5690`, `localhost:5690`, or an already parsed address. Names resolve IPv4 first. */
  readonly gateway: string | GatewayAddress;
  /** Local IP literal to bind. Default: the wildcard of the gateway's family (`0.0.0.0` or `::`). */
  readonly localHost?: string;
  /** Local UDP port, 0..65535. Default 0 (ephemeral); the CLI defaults to 5691. */
  readonly localPort?: number;
}

export interface RequestOptions {
  /** Wait per attempt before resending (ms). Default 2000. */
  readonly timeoutMs?: number;
  /** Resends after the first attempt. Default 2 (so up to 3 datagrams). */
  readonly retries?: number;
}

export type UdpDeviceErrorReason = 'BAD_ARGUMENT' | 'RESOLVE' | 'BIND' | 'TIMEOUT' | 'CLOSED';

/**
 * The one error class of {@link UdpDevice}. `TIMEOUT` carries `attempts` and, when the OS reported
 * one (typically `ECONNREFUSED`: nothing listens on the gateway port), `lastSocketError`.
 */
export class UdpDeviceError extends Error {
  override readonly name = 'UdpDeviceError';
  constructor(
    readonly reason: UdpDeviceErrorReason,
    message: string,
    readonly details: { readonly attempts?: number; readonly lastSocketError?: string; readonly cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }
}

export class UdpDevice {
  private readonly responses = new ResponseInbox<ReceivedDatagram>();
  private lastSocketError: string | undefined;

  private constructor(
    private readonly socket: dgram.Socket,
    /** The device's Layer-2 ID as the gateway sees it: its source `ip:port`. */
    readonly layer2Id: Layer2Id,
    /** The gateway address the socket is connected to (resolved IP). */
    readonly gateway: GatewayAddress,
  ) {
    socket.on('message', (msg) => this.onDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.length)));
    // ICMP errors on a connected socket surface here (ECONNREFUSED); they are kept for the timeout report.
    socket.on('error', (err) => {
      this.lastSocketError = errorCode(err);
    });
  }

  /**
   * Binds a socket and connects it to the gateway. Rejects with {@link UdpDeviceError}: `BAD_ARGUMENT`
   * (bad gateway or local address), `RESOLVE` (host name not found), `BIND` (local port in use, …).
   */
  static async open(options: UdpDeviceOptions): Promise<UdpDevice> {
    const parsed = typeof options.gateway === 'string' ? parseGatewayAddress(options.gateway) : { ok: true as const, value: options.gateway };
    if (!parsed.ok) throw new UdpDeviceError('BAD_ARGUMENT', parsed.error);
    const localPort = options.localPort ?? 0;
    if (!Number.isInteger(localPort) || localPort < 0 || localPort > 65535) throw new UdpDeviceError('BAD_ARGUMENT', `local port must be 0..65535, got ${String(localPort)}`);
    const localFamily = options.localHost === undefined ? 0 : isIP(options.localHost);
    if (options.localHost !== undefined && localFamily === 0) throw new UdpDeviceError('BAD_ARGUMENT', `local host must be an IP address, got ${JSON.stringify(options.localHost)}`);

    const gateway = await resolveGateway(parsed.value, localFamily === 6 ? 6 : localFamily === 4 ? 4 : 0);
    const family = isIP(gateway.host) === 6 ? 'udp6' : 'udp4';
    if (localFamily !== 0 && (localFamily === 6) !== (family === 'udp6')) {
      throw new UdpDeviceError('BAD_ARGUMENT', `local host ${options.localHost} and gateway ${formatGatewayAddress(gateway)} are of different IP versions`);
    }
    const localHost = options.localHost ?? (family === 'udp6' ? '::' : '0.0.0.0');
    const socket = dgram.createSocket({ type: family, reuseAddr: false });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: localHost, port: localPort, exclusive: true }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      closeQuietly(socket);
      const code = errorCode(err);
      const why = code === 'EADDRINUSE'
        ? `local UDP port ${localPort} is in use (another device on it? pick another --local-port)`
        : code === 'EADDRNOTAVAIL'
          ? `local address ${localHost} is not configured on this host`
          : `cannot bind ${localHost}:${localPort}: ${errorText(err)}`;
      throw new UdpDeviceError('BIND', why, { cause: err });
    }
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.connect(gateway.port, gateway.host, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      closeQuietly(socket);
      throw new UdpDeviceError('BAD_ARGUMENT', `cannot use gateway ${formatGatewayAddress(gateway)} from ${localHost}: ${errorText(err)}`, { cause: err });
    }
    const local = socket.address();
    const id = transportLayer2Id(unmapIpv4(local.address), local.port);
    if (!id.ok) {
      closeQuietly(socket);
      throw new UdpDeviceError('BIND', `unusable local address: ${id.error}`);
    }
    return new UdpDevice(socket, id.value, gateway);
  }

  /**
   * Sends `request` and resolves with the first response of the matching kind (or a STATUS naming
   * its message type). Rejects with {@link UdpDeviceError} `TIMEOUT` after `retries + 1` attempts of
   * `timeoutMs` each, or `CLOSED`.
   */
  async request(request: DeviceRequest, options: RequestOptions = {}): Promise<DeviceResponse | StatusMessage> {
    return (await this.exchange(request, options)).message;
  }

  /** As {@link request}, with the response's bytes and the number of attempts. */
  exchange(request: DeviceRequest, options: RequestOptions = {}): Promise<Exchange> {
    return this.responses.exchange(request, options, this.inboxIo()).then(({ received, message, attempts }) => ({ message, bytes: received.bytes, attempts }));
  }

  /**
   * Sends a device message (MESSAGE SENDING REQUEST, …; docs/wire-formats.md §5.2) and resolves with
   * the first answer `answers` accepts, or a STATUS naming its type, resending as {@link exchange} does.
   * Rejects as {@link exchange}.
   */
  exchangeMessage(message: M5Message, answers: (m: M5Message) => boolean, options: RequestOptions = {}): Promise<M5Exchange> {
    return this.responses.exchangeUnit(message, answers, options, this.inboxIo()).then(({ received, message: answer, attempts }) => ({ message: answer, bytes: received.bytes, attempts }));
  }

  /** Sends one M5 unit in one datagram (no answer awaited). Rejects as {@link sendRaw}. */
  sendUnit(unit: Uint8Array): Promise<void> {
    return this.sendRaw(unit);
  }

  private inboxIo(): ResponseInboxIo {
    this.lastSocketError = undefined; // only errors seen during this exchange explain its timeout
    return {
      // A send error is kept for the timeout report; the retries go on (ICMP errors come and go).
      send: (bytes) => this.sendRaw(bytes).catch((err: unknown) => {
        this.lastSocketError = errorCode(err);
      }),
      error: (reason, message) => new UdpDeviceError(reason, message),
      timeout: (attempts, timeoutMs) =>
        new UdpDeviceError('TIMEOUT', `no answer from ${formatGatewayAddress(this.gateway)} after ${attempts} attempt(s) of ${timeoutMs} ms`, {
          attempts,
          ...(this.lastSocketError === undefined ? {} : { lastSocketError: this.lastSocketError }),
        }),
    };
  }

  /** Sends arbitrary bytes to the gateway in one datagram. Resolves when the OS has taken it. */
  sendRaw(bytes: Uint8Array): Promise<void> {
    if (this.responses.closed) return Promise.reject(new UdpDeviceError('CLOSED', 'device is closed'));
    return new Promise<void>((resolve, reject) => {
      try {
        this.socket.send(bytes, (err) => (err ? reject(err) : resolve()));
      } catch (err) {
        reject(err);
      }
    });
  }

  /**
   * The next datagram from the gateway not taken by a `request` (oldest first). Rejects with
   * {@link UdpDeviceError} `TIMEOUT` after `timeoutMs` (default 2000), or `CLOSED`.
   */
  nextMessage(timeoutMs = 2000): Promise<ReceivedDatagram> {
    return this.responses.next(
      timeoutMs,
      { error: (reason, message) => new UdpDeviceError(reason, message) },
      () => new UdpDeviceError('TIMEOUT', `no datagram from ${formatGatewayAddress(this.gateway)} within ${timeoutMs} ms`),
    );
  }

  /** Closes the socket; pending calls reject with `CLOSED`. Idempotent. */
  async close(): Promise<void> {
    if (this.responses.closed) return;
    this.responses.close(new UdpDeviceError('CLOSED', 'device closed'));
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  private onDatagram(bytes: Uint8Array): void {
    this.responses.deliver({ bytes: Uint8Array.from(bytes), decoded: decodeM5(bytes) });
  }
}

async function resolveGateway(address: GatewayAddress, family: 0 | 4 | 6): Promise<GatewayAddress> {
  if (isIP(address.host) !== 0) return address;
  try {
    // IPv4 first: `localhost` then means 127.0.0.1 whatever order /etc/hosts lists it in.
    const found = await lookup(address.host, { family, verbatim: false });
    return { host: found.address.toLowerCase(), port: address.port };
  } catch (err) {
    throw new UdpDeviceError('RESOLVE', `cannot resolve gateway host ${JSON.stringify(address.host)}: ${errorCode(err) ?? errorText(err)}`, { cause: err });
  }
}

function unmapIpv4(address: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return m?.[1] ?? address;
}

function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // not bound or already closed
  }
}

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) return String((err as { code: unknown }).code);
  return err instanceof Error ? err.message : undefined;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
