/**
 * `@msgin5g/udp-socket`: the `node:dgram` socket setup the UDP-based device links share (the UDP
 * link and the CoAP link). A driver helper, not a port adapter: it knows sockets, not MSGin5G, so
 * each link still depends only on core, protocol and its driver (house style, dependency direction).
 */
export { bindUdpSocket, DEFAULT_RECV_BUFFER_OCTETS, type BindUdpSocketOptions, type BoundUdpSocket } from './bind-udp-socket';
export { unmapIpv4 } from './unmap-ipv4';
export { classifyDgramError, type DgramErrorClass, type DgramErrorReason, type DgramOperation, type DgramSocketPlace } from './classify-dgram-error';
