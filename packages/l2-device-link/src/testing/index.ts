/**
 * Test support of the L2 link (`@msgin5g/l2-device-link/testing`): the in-memory Ethernet segment.
 * Kept out of the main entry point so production code never ships it.
 */
export { InMemoryEthernet, InMemoryFrameSocket, errnoError, type InMemoryFrameSocketOptions } from './in-memory-ethernet';
export { FrameDevice, withVlanTag, type FrameDeviceOptions } from './frame-device';
