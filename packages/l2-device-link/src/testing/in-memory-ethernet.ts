/**
 * `InMemoryEthernet`: a simulated Ethernet segment in process, so the L2 link and L2 devices are
 * tested without root, namespaces or a native addon. Every attached {@link FrameSocket} sees the
 * frames on the segment the way Linux packet sockets see a veth pair, a hub or `lo` (measured, see
 * `@msgin5g/raw-ethernet`'s tests), with `pktType` set as the kernel sets it:
 *
 * - destination = the receiving socket's interface MAC → HOST; broadcast → BROADCAST; another
 *   group address → MULTICAST; anything else (another host, a secondary unicast address) → OTHERHOST.
 * - The sending socket never sees its own frame (the kernel skips the sender). Other sockets on the
 *   same host (`host`) see it as OUTGOING if they capture outgoing frames (`seesOutgoing`: a socket
 *   bound to ETH_P_ALL), and not at all otherwise (a socket bound to one EtherType).
 * - `loopback: true` models `lo`: one host, and every frame comes back in as an incoming frame to
 *   every socket, the sender included (after the OUTGOING copy, for capturing sockets).
 *
 * `send` applies the kernel's checks (EBADF when not started, EINVAL under 14 octets, EMSGSIZE over
 * MTU + 14, + 4 for a tagged frame); {@link InMemoryEthernet.inject} bypasses them to put any
 * bytes (runts, jumbo frames) in front of every socket as incoming frames. Frames are delivered
 * on a later event-loop turn (`setImmediate`), never inside `send`, in send order.
 *
 * Rejected alternative: a pair of sockets wired back to back. A segment lets a test put a third
 * host on the wire (frames to other MACs) and a second socket on the gateway's host.
 */
import { BROADCAST_MAC, ETHERNET_HEADER_OCTETS, VLAN_TAG_OCTETS, isGroupMac, macAt } from '@msgin5g/protocol';
import { PACKET_TYPE, type FrameHandler, type FrameSocket, type FrameSocketInfo } from '@msgin5g/raw-ethernet';

/** Options of {@link InMemoryEthernet.attach}. */
export interface InMemoryFrameSocketOptions {
  /** The interface MAC, canonical (12 lower-case hex characters). */
  readonly mac: string;
  /** Interface name. Default `mem0`, `mem1`, … in attach order. */
  readonly interfaceName?: string;
  /** MTU in octets. Default: the segment's. */
  readonly mtu?: number;
  /** Sockets with the same host name are on one host. Default: a host of its own (all one host with `loopback`). */
  readonly host?: string;
  /** Whether the socket sees frames other sockets of its host send, as OUTGOING (ETH_P_ALL). Default false. */
  readonly seesOutgoing?: boolean;
  /** Make `start` reject with an Error of this errno `code` (`EPERM`, `ENODEV`, …): fault injection. */
  readonly startError?: string;
}

/** A system-style error: `code` is the errno name, as `@msgin5g/raw-ethernet` throws them. */
export function errnoError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(`${message} (${code})`), { code });
}

/** The {@link FrameSocket} of one host on an {@link InMemoryEthernet}. */
export class InMemoryFrameSocket implements FrameSocket {
  /** Secondary unicast addresses asked for with `addUnicastAddress`. */
  readonly unicastAddresses = new Set<string>();
  /** Every frame this socket sent, in order (copies). */
  readonly sent: Uint8Array[] = [];
  private onFrame: FrameHandler | undefined;
  private failSendCode: string | undefined;

  constructor(
    private readonly segment: InMemoryEthernet,
    readonly interfaceName: string,
    readonly mac: string,
    readonly mtu: number,
    /** The host this socket is on. */
    readonly host: string,
    private readonly seesOutgoing: boolean,
    private readonly startError: string | undefined,
  ) {}

  get started(): boolean {
    return this.onFrame !== undefined;
  }

  async start(onFrame: FrameHandler): Promise<FrameSocketInfo> {
    if (this.startError !== undefined) throw errnoError(this.startError, `cannot open a frame socket on ${this.interfaceName}`);
    if (this.onFrame !== undefined) throw errnoError('EALREADY', `frame socket on ${this.interfaceName} is already started`);
    this.onFrame = onFrame;
    return { mac: this.mac, mtu: this.mtu };
  }

  async send(frame: Uint8Array): Promise<void> {
    if (this.onFrame === undefined) throw errnoError('EBADF', `frame socket on ${this.interfaceName} is not started`);
    if (this.failSendCode !== undefined) throw errnoError(this.failSendCode, `send on ${this.interfaceName} failed`);
    if (frame.length < ETHERNET_HEADER_OCTETS) throw errnoError('EINVAL', `frame of ${frame.length} octets is shorter than an Ethernet header`);
    const tagged = frame[12] === 0x81 && frame[13] === 0x00;
    const max = this.mtu + ETHERNET_HEADER_OCTETS + (tagged ? VLAN_TAG_OCTETS : 0);
    if (frame.length > max) throw errnoError('EMSGSIZE', `frame of ${frame.length} octets exceeds MTU ${this.mtu} of ${this.interfaceName}`);
    const copy = Uint8Array.from(frame);
    this.sent.push(copy);
    this.segment.transmit(copy, this);
  }

  async addUnicastAddress(mac: string): Promise<void> {
    if (this.onFrame === undefined) throw errnoError('EBADF', `frame socket on ${this.interfaceName} is not started`);
    this.unicastAddresses.add(mac);
  }

  async close(): Promise<void> {
    this.onFrame = undefined;
    this.unicastAddresses.clear();
  }

  /** Makes every later `send` reject with this errno `code`; `undefined` to stop. */
  failSends(code: string | undefined): void {
    this.failSendCode = code;
  }

  /** Called by the segment: hands a frame sent by `from` (undefined: injected) to this socket, as the kernel would. */
  receive(frame: Uint8Array, from: InMemoryFrameSocket | undefined, loopback: boolean): void {
    const onFrame = this.onFrame;
    if (onFrame === undefined) return;
    const sameHost = from !== undefined && from.host === this.host;
    if (sameHost && from !== this && this.seesOutgoing) onFrame(Uint8Array.from(frame), PACKET_TYPE.OUTGOING);
    if (sameHost && !loopback) return;
    if (this.onFrame === undefined) return; // closed by the OUTGOING copy's handler
    onFrame(Uint8Array.from(frame), this.incomingTypeOf(frame));
  }

  private incomingTypeOf(frame: Uint8Array): number {
    if (frame.length < 6) return PACKET_TYPE.OTHERHOST;
    const destination = macAt(frame, 0);
    if (destination === this.mac) return PACKET_TYPE.HOST;
    if (destination === BROADCAST_MAC) return PACKET_TYPE.BROADCAST;
    if (isGroupMac(destination)) return PACKET_TYPE.MULTICAST;
    return PACKET_TYPE.OTHERHOST;
  }
}

/** A simulated Ethernet segment; see the module docs. */
export class InMemoryEthernet {
  private readonly sockets: InMemoryFrameSocket[] = [];
  private readonly mtu: number;
  private readonly loopback: boolean;

  /** `mtu`: default MTU of attached sockets, octets (default 1500); `loopback`: behave like `lo` (default false). */
  constructor(options: { mtu?: number; loopback?: boolean } = {}) {
    this.mtu = options.mtu ?? 1500;
    this.loopback = options.loopback ?? false;
  }

  /** A new socket on the segment. */
  attach(options: InMemoryFrameSocketOptions): InMemoryFrameSocket {
    if (!/^[0-9a-f]{12}$/.test(options.mac)) throw new TypeError(`mac must be 12 lower-case hex characters, got ${JSON.stringify(options.mac)}`);
    const n = this.sockets.length;
    const socket = new InMemoryFrameSocket(
      this,
      options.interfaceName ?? (this.loopback ? 'lo' : `mem${n}`),
      options.mac,
      options.mtu ?? this.mtu,
      this.loopback ? 'lo' : (options.host ?? `host${n}`),
      options.seesOutgoing ?? false,
      options.startError,
    );
    this.sockets.push(socket);
    return socket;
  }

  /** Puts `frame` in front of every started socket as an incoming frame, without any check. */
  inject(frame: Uint8Array): void {
    this.transmit(Uint8Array.from(frame), undefined);
  }

  /** Called by a socket's `send`: delivers on a later turn, in order. */
  transmit(frame: Uint8Array, from: InMemoryFrameSocket | undefined): void {
    setImmediate(() => {
      for (const s of this.sockets) s.receive(frame, from, this.loopback);
    });
  }
}
