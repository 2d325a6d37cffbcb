/**
 * Test support of the L2 link (`@msgin5g/l2-device-link/testing`): the in-memory Ethernet segment
 * and a test device on it. Kept out of the main entry point so production code never ships it.
 * The frame layout itself (`encodeM5Frame`, `withVlanTag`, MAC helpers) is in `@msgin5g/protocol`.
 */
export { InMemoryEthernet, InMemoryFrameSocket, errnoError, type InMemoryFrameSocketOptions } from './in-memory-ethernet';
export { FrameDevice, type FrameDeviceOptions } from './frame-device';
