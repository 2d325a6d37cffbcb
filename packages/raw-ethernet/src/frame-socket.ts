/**
 * Port `FrameSocket`: the narrow seam between the L2 device link and the wire. A socket that sends
 * and receives whole Ethernet frames on one network interface. `@msgin5g/raw-ethernet` implements
 * it over Linux `AF_PACKET` (needs root or CAP_NET_RAW); `InMemoryEthernet`
 * (`@msgin5g/l2-device-link/testing`) implements it in process, so the link is tested without
 * privileges.
 *
 * Direction: the seam lives with the driver that implements it for real, and the L2 link depends on
 * this package (as the UDP links depend on `@msgin5g/udp-socket`), so the link package can export its
 * descriptor, which builds an `AfPacketFrameSocket` (docs/adr/0009). The addon is loaded only when a
 * socket starts, so importing this package loads no native code.
 *
 * Contract:
 * - `start(onFrame, onError)` opens the socket on `interfaceName` and resolves with the
 *   interface's MAC and MTU once frames can arrive. It rejects with an `Error` whose `code` is the
 *   errno name: `EPERM`/`EACCES` (no privilege), `ENODEV` (no such interface), `ENOTSUP` (not
 *   Linux), others as the OS reports them. After `close()`, `start` may be called again.
 * - `onFrame(frame, pktType)` receives every frame the socket sees, in arrival order, as it was on
 *   the wire: Ethernet header first, an 802.1Q tag (if any) in place, no FCS, no padding removed.
 *   `pktType` is the kernel's `sll_pkttype` ({@link PACKET_TYPE}). The callee owns `frame`. Frames
 *   are delivered from the event loop, never synchronously inside `send`.
 * - `onError(err)` reports a receive-side error the socket survives (`ENETDOWN` when the interface
 *   goes down, `ENODEV` when it disappears). The socket keeps running.
 * - `send(frame)` transmits one whole frame (header included, no FCS). It resolves when the OS has
 *   taken it and rejects with `code` `EMSGSIZE` (over the MTU), `EINVAL` (shorter than a header),
 *   `ENETDOWN`, `ENOBUFS`/`EAGAIN` (queue full after retries), `EBADF` (not started or closed).
 * - `addUnicastAddress(mac)` (optional) asks the interface to pass unicast frames for a further MAC
 *   address (the gateway's specified MAC when it is not the interface's own). Frames to it arrive
 *   with `pktType` OTHERHOST, as the kernel marks them.
 * - `close()` stops receiving and releases the socket; it is idempotent and lets the process exit.
 */

/**
 * `sll_pkttype` values (linux/if_packet.h): how the receiving host classified the frame.
 * A frame to another MAC arrives as OTHERHOST on veth, `lo` and promiscuous interfaces. A packet
 * socket bound to all protocols (ETH_P_ALL) also sees what other sockets of its host transmit, as
 * OUTGOING (never its own frames); on `lo` those frames then arrive again as incoming ones.
 */
export const PACKET_TYPE = {
  /** To this host's interface MAC. */
  HOST: 0,
  /** To the broadcast address. */
  BROADCAST: 1,
  /** To a multicast address. */
  MULTICAST: 2,
  /** To some other host (or to a secondary unicast address, or VLAN-tagged with no VLAN device). */
  OTHERHOST: 3,
  /** Sent by this host. */
  OUTGOING: 4,
} as const;

/** One of the {@link PACKET_TYPE} values; other numbers may arrive from newer kernels. */
export type PacketType = (typeof PACKET_TYPE)[keyof typeof PACKET_TYPE];

/** What `start` learns about the interface. */
export interface FrameSocketInfo {
  /** The interface's own MAC, canonical (12 lower-case hex characters). All zeros on `lo`. */
  readonly mac: string;
  /** The interface MTU in octets: the largest payload after the 14-octet Ethernet header. */
  readonly mtu: number;
}

/** Receives frames; must not throw (the socket guards it anyway). */
export type FrameHandler = (frame: Uint8Array, pktType: number) => void;

export interface FrameSocket {
  /** The network interface (`veth0`, `eth0`, `lo`), for endpoints and messages. */
  readonly interfaceName: string;
  start(onFrame: FrameHandler, onError?: (err: Error) => void): Promise<FrameSocketInfo>;
  send(frame: Uint8Array): Promise<void>;
  addUnicastAddress?(mac: string): Promise<void>;
  close(): Promise<void>;
}

/** The errno name of a `FrameSocket` error (`EPERM`, `ENODEV`, …), or undefined. */
export function frameSocketErrorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
