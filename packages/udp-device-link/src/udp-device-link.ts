/**
 * `UdpDeviceLink`: the `DeviceLink` port over `node:dgram` (docs/wire-formats.md §3.2, the "L3 connection"
 * to a specified UDP port of the seed CR NOTE).
 *
 * One M5 binary message per datagram, no length prefix. A device's Layer-2 ID is the source
 * `ip:port` of its datagrams (`192.0.2.7:40000`, `[2001:db8::7]:40000`); the response goes back to
 * that address. Every datagram is decoded with `@msgin5g/protocol`'s `decodeDeviceUnit`, which
 * never throws: a valid registration request reaches `handler.onRequest`, a message-delivery unit
 * (0x01, 0x02, 0x05; docs/wire-formats.md §5) `handler.onDeliveryMessage`, anything else is answered
 * per the docs/wire-formats.md §2 reject table (MALFORMED_REQUEST response, STATUS, MESSAGE SENDING
 * RESPONSE failure, or nothing for an empty datagram) and reported through `handler.onProtocolError`.
 * A handler without `onDeliveryMessage` gets a 0x01 answered MESSAGE_TYPE_NOT_SUPPORTED and 0x02 /
 * 0x05 dropped, each reported (`answerWithoutDeliveryHandler`). `send` takes any gateway unit
 * (responses, 0x03, 0x04, 0x06) and puts its `encodeM5` octets in one datagram; a MESSAGE RECEIVING
 * carries at most {@link UdpDeviceLink.maxPayloadOctets} payload octets.
 *
 * Address families:
 * - a host with a `:` opens a `udp6` socket, anything else `udp4`.
 * - `::` is bound **dual-stack** (`ipv6Only: false`): one socket serves IPv4 and IPv6 devices, as
 *   operators expect from a wildcard address. IPv4 sources then arrive as IPv4-mapped IPv6
 *   addresses (`::ffff:192.0.2.7`); they are mapped back to `192.0.2.7` before the Layer-2 ID is
 *   built, so a device has the same Layer-2 ID whichever wildcard the gateway listens on, and a
 *   response to an IPv4 Layer-2 ID is sent to the mapped form on that socket.
 *   Dual-stack relies on the OS default for `IPV6_V6ONLY` being off (Linux `net.ipv6.bindv6only=0`,
 *   the default): Node only ever sets the option to on.
 *   Rejected alternative: `ipv6Only: true` plus a second `udp4` socket — two sockets to bind, stop
 *   and classify errors for, for the same result; the kernel already does the mapping.
 * - a specific IPv6 address (`::1`) cannot reach IPv4 devices, and an IPv4 socket cannot reach
 *   IPv6 ones: `send` rejects such a Layer-2 ID with `BAD_ADDRESS` instead of a driver error.
 *
 * Rejected alternative: a `connect()`ed socket per device. It would let the kernel filter sources,
 * but a gateway serves many devices on one port, and a socket per device is a resource an attacker
 * could exhaust by spoofing sources.
 *
 * @see TS 24.538 6.3.2.1.2 (seed CR) and docs/wire-formats.md §2, §3.2.
 */
import * as dgram from 'node:dgram';
import { isIP } from 'node:net';
import {
  assertNever,
  DeviceLinkError,
  parseTransportLayer2Id,
  silentLogger,
  transportLayer2Id,
  type DeviceLink,
  type DeviceLinkHandler,
  type DeviceLinkStats,
  type DeviceProtocolError,
  type GatewayUnit,
  type Layer2Id,
  type Logger,
} from '@msgin5g/core';
import { answerWithoutDeliveryHandler, DEFAULT_UDP_DEVICE_PORT, decodeDeviceUnit, encodeM5, messageReceivingMaxPayloadOctets } from '@msgin5g/protocol';
import { LinkLifecycle } from '@msgin5g/link-sdk';
import { bindUdpSocket, classifyDgramError, DEFAULT_RECV_BUFFER_OCTETS, unmapIpv4, type BoundUdpSocket, type DgramOperation } from '@msgin5g/udp-socket';

/** No UDP payload is larger (IPv4 carries at most 65,507 octets, IPv6 without jumbograms 65,527). */
export const MAX_UDP_PAYLOAD_OCTETS = 65_535;
/** The largest UDP payload over IPv4: 65,535 − 20 (IPv4 header) − 8 (UDP header). */
export const MAX_UDP_IPV4_PAYLOAD_OCTETS = 65_507;
/** The largest UDP payload over IPv6 without jumbograms: 65,535 − 8 (UDP header). */
export const MAX_UDP_IPV6_PAYLOAD_OCTETS = 65_527;


/** Options of {@link UdpDeviceLink}. */
export interface UdpDeviceLinkOptions {
  /** IP address literal to bind: `0.0.0.0`, `127.0.0.1`, `::` (dual-stack), `::1`, or any local address. */
  readonly host: string;
  /** UDP port to bind, 0..65535 (0: an ephemeral port, read it from `endpoint`). Default 5690 (provisional). */
  readonly port?: number;
  readonly logger?: Logger;
  /**
   * Datagrams larger than this (octets) are dropped unanswered and reported as a protocol error,
   * without decoding. Default {@link MAX_UDP_PAYLOAD_OCTETS}, i.e. no limit below what UDP carries.
   */
  readonly maxDatagramOctets?: number;
  /** Receive buffer size to ask the OS for (octets). Default {@link DEFAULT_RECV_BUFFER_OCTETS}. */
  readonly recvBufferOctets?: number;
}


/**
 * A `DeviceLink` for devices that send M5 binary messages over UDP.
 *
 * `start()` rejects with `DeviceLinkError` `BIND` (port in use, address not on this host, no
 * permission, no IPv6); `send()` rejects with `BAD_ADDRESS` (not an `ip:port` Layer-2 ID, or a
 * family this socket cannot reach), `SEND` (the OS refused the datagram) or `CLOSED` (not running).
 * The constructor throws `TypeError` on an invalid option (configuration bug).
 */
export class UdpDeviceLink implements DeviceLink {
  readonly kind = 'udp' as const;
  private readonly host: string;
  private readonly port: number;
  private readonly family: 'udp4' | 'udp6';
  private readonly logger: Logger;
  private readonly maxDatagramOctets: number;
  private readonly recvBufferOctets: number;
  private readonly lifecycle: LinkLifecycle<dgram.Socket>;
  private inboundUnits = 0;
  private boundPort: number | undefined;

  constructor(options: UdpDeviceLinkOptions) {
    const port = options.port ?? DEFAULT_UDP_DEVICE_PORT;
    if (isIP(options.host) === 0) throw new TypeError(`UdpDeviceLink host must be an IP address literal, got ${JSON.stringify(options.host)}`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`UdpDeviceLink port must be 0..65535, got ${String(port)}`);
    const max = options.maxDatagramOctets ?? MAX_UDP_PAYLOAD_OCTETS;
    if (!Number.isInteger(max) || max < 1) throw new TypeError(`maxDatagramOctets must be a positive integer, got ${String(max)}`);
    this.host = options.host.toLowerCase();
    this.port = port;
    this.family = isIP(this.host) === 6 ? 'udp6' : 'udp4';
    this.logger = options.logger ?? silentLogger;
    this.maxDatagramOctets = max;
    this.recvBufferOctets = options.recvBufferOctets ?? DEFAULT_RECV_BUFFER_OCTETS;
    this.lifecycle = new LinkLifecycle({ name: () => `UDP device link ${this.endpoint}`, close: closeSocket, logger: this.logger });
  }

  /** `udp://127.0.0.1:5690`, `udp://[::]:5690`; the bound port once started (useful with port 0). */
  /** `DeviceLink.stats`: {@link DeviceLinkStats.inboundUnits} counts every datagram received while running since construction. */
  stats(): DeviceLinkStats {
    return { inboundUnits: this.inboundUnits };
  }

  get endpoint(): string {
    const host = this.family === 'udp6' ? `[${this.host}]` : this.host;
    return `udp://${host}:${this.boundPort ?? this.port}`;
  }

  /**
   * Binds the socket; resolves when datagrams can arrive. Rejects with `DeviceLinkError` `BIND`
   * (in use, no permission, already running) or `CLOSED` (stopped while binding).
   */
  async start(handler: DeviceLinkHandler): Promise<void> {
    await this.lifecycle.start(handler, () => this.bindSocket());
    this.logger.debug({ link: 'udp', endpoint: this.endpoint }, 'UDP device link listening');
  }

  private async bindSocket(): Promise<dgram.Socket> {
    let bound: BoundUdpSocket;
    try {
      bound = await bindUdpSocket({
        host: this.host,
        port: this.port,
        recvBufferOctets: this.recvBufferOctets,
        onMessage: (msg, address, port) => this.onDatagram(msg, address, port),
        onError: (err) => {
          const e = this.classify(err, 'socket');
          this.logger.error({ link: 'udp', endpoint: this.endpoint, reason: e.reason, err: e.message }, 'UDP device link socket error');
        },
      });
    } catch (err) {
      throw this.classify(err, 'bind');
    }
    if (bound.recvBufferError !== undefined) {
      this.logger.warn({ link: 'udp', err: errorText(bound.recvBufferError) }, 'could not enlarge the UDP receive buffer');
    }
    this.boundPort = bound.port;
    return bound.socket;
  }

  /**
   * `DeviceLink.maxPayloadOctets`: the largest Payload of a MESSAGE RECEIVING in one datagram, its
   * other fields at their longest (`MESSAGE_RECEIVING_OVERHEAD_OCTETS`, 280): 65,227 octets on a
   * link that reaches IPv4 devices (largest IPv4 UDP payload 65,507), 65,247 on an IPv6-only one
   * (65,527). Known from construction.
   */
  get maxPayloadOctets(): number {
    const reachesIpv4 = this.family === 'udp4' || this.isDualStack();
    return messageReceivingMaxPayloadOctets(reachesIpv4 ? MAX_UDP_IPV4_PAYLOAD_OCTETS : MAX_UDP_IPV6_PAYLOAD_OCTETS);
  }

  /**
   * Sends `encodeM5(unit)` (a response, or a message-delivery unit: 0x03, 0x04, 0x06) in one
   * datagram to the device at `to` (`ip:port`). Resolves when the OS has taken the datagram. Rejects
   * with `DeviceLinkError` `BAD_ADDRESS`, `SEND` (also for a unit the OS refuses as too large) or
   * `CLOSED`. The core resends an unacknowledged MESSAGE RECEIVING itself (docs/wire-formats.md §5.3).
   */
  async send(to: Layer2Id, unit: GatewayUnit): Promise<void> {
    const socket = this.lifecycle.requireRunning('send a response').resource;
    const target = this.resolveTarget(to);
    await this.sendDatagram(socket, encodeM5(unit), target.address, target.port);
  }

  /** Closes the socket. Idempotent; afterwards `send` rejects with `CLOSED` and nothing is delivered. */
  async stop(): Promise<void> {
    const wasRunning = this.lifecycle.running !== undefined;
    await this.lifecycle.stop();
    if (wasRunning) this.logger.info({ link: 'udp', endpoint: this.endpoint }, 'UDP device link stopped');
  }

  private onDatagram(msg: Buffer, rawAddress: string, port: number): void {
    const running = this.lifecycle.running;
    if (running === undefined) return;
    this.inboundUnits += 1;
    const address = unmapIpv4(rawAddress);
    const id = transportLayer2Id(address, port);
    if (!id.ok) {
      // Source port 0 or an odd address: nobody to answer and no Layer-2 ID to blame.
      this.report({ link: 'udp', detail: `datagram from unusable source ${rawAddress}:${port}: ${id.error}`, answered: false, octets: msg.length });
      return;
    }
    const from = id.value;
    if (msg.length > this.maxDatagramOctets) {
      this.report({ link: 'udp', from, detail: `datagram of ${msg.length} octets exceeds the limit of ${this.maxDatagramOctets}`, answered: false, octets: msg.length });
      return;
    }
    const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.length);
    const unit = decodeDeviceUnit(bytes);
    let inbound: Exclude<typeof unit, { kind: 'DELIVERY' }>;
    if (unit.kind === 'DELIVERY') {
      const { message } = unit;
      if (running.handler.onDeliveryMessage !== undefined) {
        this.lifecycle.deliver((h) => h.onDeliveryMessage?.(message, from, 'udp'), 'onDeliveryMessage');
        return;
      }
      inbound = { kind: 'REJECT', ...answerWithoutDeliveryHandler(message) };
    } else {
      inbound = unit;
    }
    switch (inbound.kind) {
      case 'REQUEST':
        this.lifecycle.deliver((h) => h.onRequest(inbound.request, from, 'udp'), 'onRequest');
        return;
      case 'REJECT': {
        let answered = false;
        if (inbound.answer !== null) {
          // The answer is queued before the report so reports keep datagram order; a failed send
          // is logged by the callback (the answer is best effort, like UDP itself).
          answered = true;
          this.sendDatagram(running.resource, inbound.answer, this.sendAddress(address), port).catch((err: unknown) => {
            this.logger.warn({ link: 'udp', layer2Id: from, err: errorText(err) }, 'could not answer a malformed datagram');
          });
        }
        this.report({ link: 'udp', from, detail: inbound.detail, answered, octets: msg.length });
        return;
      }
      default:
        assertNever(inbound, 'inbound kind');
    }
  }

  private report(error: DeviceProtocolError): void {
    // debug, not warn: the handler (the gateway) logs and counts protocol errors; a flood of junk
    // must not flood the log twice.
    this.logger.debug({ link: 'udp', layer2Id: error.from, octets: error.octets, answered: error.answered, detail: error.detail }, 'malformed datagram');
    this.lifecycle.deliver((h) => h.onProtocolError(error), 'onProtocolError');
  }

  /** Checks a Layer-2 ID and turns it into the address this socket sends to. */
  private resolveTarget(to: Layer2Id): { address: string; port: number } {
    const parsed = parseTransportLayer2Id(to);
    if (!parsed.ok) throw new DeviceLinkError('BAD_ADDRESS', `not a UDP Layer-2 ID: ${parsed.error}`);
    const { address, port } = parsed.value;
    const version = isIP(address);
    if (version === 0) throw new DeviceLinkError('BAD_ADDRESS', `UDP Layer-2 ID ${to} must carry an IP address, not a host name`);
    if (version === 6 && this.family === 'udp4') {
      throw new DeviceLinkError('BAD_ADDRESS', `cannot reach IPv6 device ${to} from IPv4 link ${this.endpoint}`);
    }
    if (version === 4 && this.family === 'udp6' && !this.isDualStack()) {
      throw new DeviceLinkError('BAD_ADDRESS', `cannot reach IPv4 device ${to} from IPv6 link ${this.endpoint} (bind :: for dual-stack)`);
    }
    return { address: this.sendAddress(address), port };
  }

  /** IPv4 addresses are sent to in their IPv4-mapped form on a dual-stack socket. */
  private sendAddress(address: string): string {
    return this.family === 'udp6' && isIP(address) === 4 ? `::ffff:${address}` : address;
  }

  private isDualStack(): boolean {
    return this.host === '::' || this.host === '0:0:0:0:0:0:0:0';
  }

  private sendDatagram(socket: dgram.Socket, bytes: Uint8Array, address: string, port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        socket.send(bytes, port, address, (err) => (err ? reject(this.classify(err, 'send')) : resolve()));
      } catch (err) {
        reject(this.classify(err, 'send'));
      }
    });
  }

  /** `node:dgram` errors as the port's {@link DeviceLinkError}, read by the shared classifier. */
  private classify(err: unknown, op: DgramOperation): DeviceLinkError {
    const c = classifyDgramError(err, op, { host: this.host, port: this.port, link: `UDP device link ${this.endpoint}` });
    return new DeviceLinkError(c.reason, c.message, { cause: err });
  }
}

/** Closes a socket; resolves once closed (or at once when the driver already closed it). */
function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
