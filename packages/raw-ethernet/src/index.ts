/**
 * `@msgin5g/raw-ethernet`: raw Ethernet frames on Linux through a small N-API addon over
 * `AF_PACKET` (`native/packet_socket.c`, built by node-gyp during `pnpm install`), and the
 * `FrameSocket` seam the L2 device link reads the wire through (`AfPacketFrameSocket` implements it;
 * the L2 link's in-memory Ethernet implements it for tests). Needs root or CAP_NET_RAW to open a socket; `interfaceInfo`
 * needs no privilege.
 *
 * @see docs/adr/0007-raw-l2-socket.md
 */
export { AfPacketFrameSocket, ETH_P_ALL, DEFAULT_RECEIVE_BUFFER_OCTETS, type AfPacketFrameSocketOptions } from './af-packet-frame-socket';
export type { FrameSocketStats } from './native';
export { interfaceInfo, ARPHRD_ETHER, ARPHRD_LOOPBACK, type InterfaceInfo } from './interface-info';
export { RawEthernetError, type RawEthernetErrorDetails } from './raw-ethernet-error';
export { PACKET_TYPE, frameSocketErrorCode, type PacketType, type FrameSocket, type FrameSocketInfo, type FrameHandler } from './frame-socket';
