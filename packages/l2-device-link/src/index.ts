/**
 * `@msgin5g/l2-device-link`: the `DeviceLink` port over raw Ethernet frames to the gateway's
 * specified MAC address (docs/wire-formats.md §3.1), and the `FrameSocket` seam the adapter is
 * built on (drivers implement it: `@msgin5g/raw-ethernet` over AF_PACKET). Only the adapter and its
 * seam: the frame layout and the MAC helpers are in `@msgin5g/protocol`; the in-memory Ethernet for
 * tests is in `@msgin5g/l2-device-link/testing`. No native code here.
 */
export { L2DeviceLink, type L2DeviceLinkOptions, type L2DeviceLinkCounters } from './l2-device-link';
export { PACKET_TYPE, frameSocketErrorCode, type PacketType, type FrameSocket, type FrameSocketInfo, type FrameHandler } from './frame-socket';
