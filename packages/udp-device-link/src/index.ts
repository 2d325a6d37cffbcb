/**
 * `@msgin5g/udp-device-link`: the `DeviceLink` port over UDP (`node:dgram`), M5 binary messages
 * one per datagram (docs/wire-formats.md §3.2).
 */
export { UdpDeviceLink, MAX_UDP_PAYLOAD_OCTETS, type UdpDeviceLinkOptions } from './udp-device-link';
export { DEFAULT_RECV_BUFFER_OCTETS, unmapIpv4 } from '@msgin5g/udp-socket';
export { udpDeviceLink, udpLinkSettings } from './udp-device-link-descriptor';
