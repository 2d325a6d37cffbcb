/**
 * `@msgin5g/l2-device-link`: the `DeviceLink` port over raw Ethernet frames to the gateway's
 * specified MAC address (docs/wire-formats.md §3.1), and its descriptor for the gateway. It reads
 * the wire through the `FrameSocket` seam of `@msgin5g/raw-ethernet` (AF_PACKET). Only the adapter
 * and its descriptor: the frame layout and the MAC helpers are in `@msgin5g/protocol`; the in-memory Ethernet for
 * tests is in `@msgin5g/l2-device-link/testing`. No native code here.
 */
export { L2DeviceLink, type L2DeviceLinkOptions, type L2DeviceLinkCounters } from './l2-device-link';
export { l2DeviceLink, l2LinkSettings } from './l2-device-link-descriptor';
