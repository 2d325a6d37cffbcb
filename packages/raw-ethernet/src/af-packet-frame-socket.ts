/**
 * `AfPacketFrameSocket`: the L2 link's `FrameSocket` over a Linux `AF_PACKET`/`SOCK_RAW` socket
 * (packet(7)), through this package's N-API addon.
 *
 * - The socket is bound to one interface and one EtherType (`etherType`), so the kernel drops
 *   everything else before it reaches JavaScript and the host's own transmissions are not seen.
 *   `etherType: 'all'` binds ETH_P_ALL instead: every frame, own transmissions included
 *   (pktType OUTGOING): a capture, for tests and diagnostics.
 * - Receiving: a libuv poll on the socket; each readable event drains up to 256 frames. The
 *   receive buffer is raised to 1 MiB (configurable); `stats()` reports kernel drops.
 * - VLAN tags (measured on veth, kernel 6.x): the kernel removes a received 802.1Q tag from the
 *   frame before any packet socket sees it. A socket bound to ETH_P_ALL gets it back through
 *   PACKET_AUXDATA, and the addon re-inserts it, so such a socket sees frames as on the wire (QinQ
 *   outer tag included). A socket bound to one EtherType receives a single-tagged frame of that
 *   EtherType **without** its tag (the kernel has cleared it by then: no auxdata either), marked
 *   PACKET_OTHERHOST when the VLAN ID is not 0 and no VLAN device exists, even though it is
 *   addressed to this host; a double-tagged (QinQ) frame never reaches it. The L2 link reads
 *   the destination from the bytes and skips tags when present, so it handles both.
 * - Sending: `sendto` with a `sockaddr_ll` for the interface; a full transmit queue (EAGAIN,
 *   ENOBUFS) is retried a few times, 1 to 8 ms apart.
 * - Errors are {@link RawEthernetError}s with the errno name in `code`.
 *
 * Needs root or CAP_NET_RAW. Rejected alternatives (docs/adr/0007-raw-l2-socket.md): npm
 * `raw-socket` (IP level only: cannot carry Ethernet frames), `cap` (libpcap: a system library to
 * install for what one syscall does), `pcap` (the process never exits after `close()`).
 *
 * @see packet(7); linux/if_packet.h
 */
import type { FrameHandler, FrameSocket, FrameSocketInfo } from './frame-socket';
import { ARPHRD_ETHER, ARPHRD_LOOPBACK } from './interface-info';
import { nativeAddon, type FrameSocketStats, type NativePacketSocket } from './native';
import { RawEthernetError, rawEthernetError } from './raw-ethernet-error';

/** ETH_P_ALL (linux/if_ether.h): every protocol. */
export const ETH_P_ALL = 0x0003;

/** Options of {@link AfPacketFrameSocket}. */
export interface AfPacketFrameSocketOptions {
  /** Interface to bind (`eth0`, `veth0`, `lo`), at most 15 characters. */
  readonly interfaceName: string;
  /** The EtherType to receive (0x0600..0xFFFF), or `'all'` for ETH_P_ALL. */
  readonly etherType: number | 'all';
  /**
   * Receive buffer to ask the kernel for (octets). Default {@link DEFAULT_RECEIVE_BUFFER_OCTETS}.
   * The default one (~208 KiB) holds only about 256 small frames: a burst beyond that, arriving
   * while the event loop is busy, would be dropped. Root gets it regardless of
   * `net.core.rmem_max` (SO_RCVBUFFORCE).
   */
  readonly receiveBufferOctets?: number;
}

/** 1 MiB: about 1,200 small frames queued (the kernel doubles it and charges ~830 octets a frame). */
export const DEFAULT_RECEIVE_BUFFER_OCTETS = 1 << 20;

/** Delays between attempts when the transmit queue is full (ms). */
const SEND_RETRY_DELAYS_MS = [1, 2, 4, 8];

/** See the module docs. `start` may be called again after `close`. */
export class AfPacketFrameSocket implements FrameSocket {
  readonly interfaceName: string;
  private readonly protocol: number;
  private readonly receiveBufferOctets: number;
  private native: NativePacketSocket | undefined;
  private mtu: number | undefined;

  /** Throws `TypeError` on a bad option (configuration bug); opens nothing until `start`. */
  constructor(options: AfPacketFrameSocketOptions) {
    if (typeof options.interfaceName !== 'string' || options.interfaceName.length < 1 || options.interfaceName.length > 15) {
      throw new TypeError(`interfaceName must be 1..15 characters, got ${JSON.stringify(options.interfaceName)}`);
    }
    if (options.etherType !== 'all' && !(Number.isInteger(options.etherType) && options.etherType >= 0x0600 && options.etherType <= 0xffff)) {
      throw new TypeError(`etherType must be 0x0600..0xffff or 'all', got ${String(options.etherType)}`);
    }
    this.interfaceName = options.interfaceName;
    this.protocol = options.etherType === 'all' ? ETH_P_ALL : options.etherType;
    const rcvbuf = options.receiveBufferOctets ?? DEFAULT_RECEIVE_BUFFER_OCTETS;
    if (!Number.isInteger(rcvbuf) || rcvbuf < 1 || rcvbuf > 0x7fffffff) throw new TypeError(`receiveBufferOctets must be a positive integer, got ${String(rcvbuf)}`);
    this.receiveBufferOctets = rcvbuf;
  }

  /**
   * Opens and binds the socket and starts receiving. Rejects with {@link RawEthernetError}: `EPERM`
   * (not root, no CAP_NET_RAW), `ENODEV` (no such interface), `ENETDOWN` (interface down),
   * `EINVAL` (not an Ethernet interface), `EALREADY` (already started), `ENOTSUP` (not Linux),
   * `ERR_RAW_ETHERNET_NOT_BUILT`.
   */
  async start(onFrame: FrameHandler, onError?: (err: Error) => void): Promise<FrameSocketInfo> {
    const name = this.interfaceName;
    if (this.native !== undefined) throw new RawEthernetError('EALREADY', `raw Ethernet socket on ${name} is already started`, name);
    const native = newPacketSocket(name);
    let info;
    try {
      info = native.open(name, this.protocol, this.receiveBufferOctets);
    } catch (err) {
      native.close();
      throw rawEthernetError(err, { interfaceName: name });
    }
    if (info.hardwareType !== ARPHRD_ETHER && info.hardwareType !== ARPHRD_LOOPBACK) {
      native.close();
      throw new RawEthernetError('EINVAL', `interface ${name} does not carry Ethernet frames (ARPHRD ${info.hardwareType})`, name);
    }
    if (!info.up) {
      native.close();
      throw new RawEthernetError('ENETDOWN', `network interface ${name} is down (\`ip link set ${name} up\`)`, name);
    }
    const report = (err: Error): void => {
      try {
        onError?.(err);
      } catch {
        // an error handler that throws has nowhere left to report to
      }
    };
    native.start(
      (frame, pktType) => {
        try {
          onFrame(frame, pktType);
        } catch (err) {
          report(err instanceof Error ? err : new Error(String(err)));
        }
      },
      (err) => report(rawEthernetError(err, { interfaceName: name })),
    );
    this.native = native;
    this.mtu = info.mtu;
    return { mac: info.mac, mtu: info.mtu };
  }

  /**
   * Sends one whole frame. Rejects with {@link RawEthernetError}: `EINVAL` (under 14 octets),
   * `EMSGSIZE` (over MTU + 14, + 4 when tagged), `ENETDOWN`, `ENOBUFS`/`EAGAIN` (queue still full
   * after the retries), `EBADF` (not started or closed).
   */
  async send(frame: Uint8Array): Promise<void> {
    const name = this.interfaceName;
    if (!(frame instanceof Uint8Array)) throw new TypeError('frame must be a Uint8Array');
    if (frame.length < 14) throw new RawEthernetError('EINVAL', `frame of ${frame.length} octets is shorter than an Ethernet header (14 octets)`, name);
    for (let attempt = 0; ; attempt++) {
      const native = this.native;
      if (native === undefined) throw new RawEthernetError('EBADF', `raw Ethernet socket on ${name} is not started`, name);
      try {
        native.send(frame);
        return;
      } catch (err) {
        const e = rawEthernetError(err, { interfaceName: name, frameOctets: frame.length, ...(this.mtu === undefined ? {} : { mtu: this.mtu }) });
        const delay = SEND_RETRY_DELAYS_MS[attempt];
        if ((e.code !== 'EAGAIN' && e.code !== 'ENOBUFS') || delay === undefined) throw e;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /**
   * Makes the interface pass unicast frames for `mac` (12 hex characters) to this host
   * (PACKET_ADD_MEMBERSHIP, PACKET_MR_UNICAST); undone when the socket closes.
   */
  async addUnicastAddress(mac: string): Promise<void> {
    const native = this.native;
    if (native === undefined) throw new RawEthernetError('EBADF', `raw Ethernet socket on ${this.interfaceName} is not started`, this.interfaceName);
    try {
      native.addUnicast(mac);
    } catch (err) {
      throw rawEthernetError(err, { interfaceName: this.interfaceName });
    }
  }

  /** Counters since `start` (zeros when not started): received, truncated, dropped by the kernel, buffer size. */
  stats(): FrameSocketStats {
    return this.native?.stats() ?? { received: 0, truncated: 0, dropped: 0, receiveBufferOctets: 0 };
  }

  /** Stops receiving and closes the socket. Idempotent; the process can exit afterwards. */
  async close(): Promise<void> {
    const native = this.native;
    this.native = undefined;
    native?.close();
  }
}

function newPacketSocket(name: string): NativePacketSocket {
  try {
    return new (nativeAddon().PacketSocket)();
  } catch (err) {
    throw err instanceof Error && (err as { code?: unknown }).code === 'ERR_RAW_ETHERNET_NOT_BUILT'
      ? new RawEthernetError('ERR_RAW_ETHERNET_NOT_BUILT', err.message, name, { cause: err })
      : rawEthernetError(err, { interfaceName: name });
  }
}
