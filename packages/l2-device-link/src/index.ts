/**
 * `@msgin5g/l2-device-link`: the `DeviceLink` port over raw Ethernet frames to the gateway's
 * specified MAC address (docs/wire-formats.md §3.1), and the `FrameSocket` seam it reads the wire through.
 * No native code here: `@msgin5g/raw-ethernet` implements `FrameSocket` over AF_PACKET.
 */
export { L2DeviceLink, type L2DeviceLinkOptions, type L2DeviceLinkCounters } from './l2-device-link';
export { PACKET_TYPE, frameSocketErrorCode, type PacketType, type FrameSocket, type FrameSocketInfo, type FrameHandler } from './frame-socket';
export {
  encodeM5Frame,
  decodeM5Frame,
  isUsableEtherType,
  ETHERNET_HEADER_OCTETS,
  VLAN_TAG_OCTETS,
  VLAN_TPIDS,
  MAX_VLAN_TAGS,
  MIN_FRAME_OCTETS,
  LENGTH_FIELD_OCTETS,
  type M5FrameFields,
  type M5FrameReading,
} from './m5-frame';
export { BROADCAST_MAC, macOctets, macAt, formatMac, isGroupMac, isUnicastMac } from './mac-address';
