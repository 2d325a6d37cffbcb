/**
 * `bindUdpSocket`: opens and binds the one `node:dgram` socket of a UDP-based device link (the UDP
 * link, docs/wire-formats.md §3.2, and the CoAP link, §3.3), wires its listeners and asks the OS for a
 * larger receive buffer. The links keep what differs — decoding, error classification, logging,
 * the start/stop state — and share only the socket setup.
 *
 * Address families: a host with a `:` opens a `udp6` socket, anything else `udp4`; `::` is bound
 * dual-stack (`ipv6Only: false`, relying on the OS default `IPV6_V6ONLY` off), so IPv4 sources
 * arrive as IPv4-mapped addresses (see {@link unmapIpv4}).
 *
 * Rejected alternative: a base class `DgramDeviceLink` both links extend. The links differ in
 * almost everything after the bind (one datagram per request vs. CoAP exchanges), and a base class
 * would tie their state types together; a function hands over a bound socket and nothing more.
 *
 * @see docs/wire-formats.md §3.2, §3.3
 */
import * as dgram from 'node:dgram';
import { isIP } from 'node:net';

/** Receive buffer a device link asks of the OS by default (octets). Linux caps it at `net.core.rmem_max`. */
export const DEFAULT_RECV_BUFFER_OCTETS = 1 << 20;

/** Options of {@link bindUdpSocket}. */
export interface BindUdpSocketOptions {
  /** IP address literal to bind (`0.0.0.0`, `127.0.0.1`, `::`, `::1`, …), already validated. */
  readonly host: string;
  /** UDP port to bind, 0..65535 (0: an ephemeral port, read it from the result's `port`). */
  readonly port: number;
  /** Receive buffer to ask the OS for, octets (Linux caps it at `net.core.rmem_max`). Best effort. */
  readonly recvBufferOctets: number;
  /** Every datagram after the bind: its bytes and the source address (as the socket reports it) and port. */
  readonly onMessage: (msg: Buffer, address: string, port: number) => void;
  /** Every socket error after the bind (the socket stays open; the caller classifies and logs). */
  readonly onError: (err: Error) => void;
}

/** A bound socket, as {@link bindUdpSocket} resolves it. */
export interface BoundUdpSocket {
  readonly socket: dgram.Socket;
  /** The bound UDP port (the ephemeral one when `port` 0 was asked for). */
  readonly port: number;
  /** Why the receive buffer could not be enlarged (the caller logs it), or `undefined` when it was, or was large enough. */
  readonly recvBufferError: unknown;
}

/**
 * Creates a `udp4`/`udp6` socket (exclusive, no `SO_REUSEADDR`), binds it to `host:port` and
 * resolves once datagrams can arrive, with `onMessage` and `onError` attached and the receive
 * buffer enlarged to `recvBufferOctets` where the OS allows.
 *
 * Rejects with the `node:dgram` error itself (an `Error` with an errno `code` such as `EADDRINUSE`,
 * `EADDRNOTAVAIL`, `EACCES`, `EAFNOSUPPORT`) when the bind fails, after closing the socket: the
 * calling link classifies it into its port's error class.
 */
export async function bindUdpSocket(options: BindUdpSocketOptions): Promise<BoundUdpSocket> {
  const { host, port, recvBufferOctets, onMessage, onError } = options;
  const socket = dgram.createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4', ipv6Only: false, reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    const onBindError = (err: Error) => {
      try {
        socket.close();
      } catch {
        // never bound: nothing to close
      }
      reject(err);
    };
    socket.once('error', onBindError);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', onBindError);
      resolve();
    });
  });
  // After bind the socket lives until the link closes it: a driver error is reported, never fatal.
  socket.on('error', onError);
  socket.on('message', (msg, rinfo) => onMessage(msg, rinfo.address, rinfo.port));
  return { socket, port: socket.address().port, recvBufferError: enlargeReceiveBuffer(socket, recvBufferOctets) };
}

/**
 * A burst of small requests must not overflow the default buffer (~208 KiB on Linux) while the
 * event loop is busy elsewhere; best effort, the OS may cap or refuse. Returns the refusal, if any.
 */
function enlargeReceiveBuffer(socket: dgram.Socket, octets: number): unknown {
  try {
    if (socket.getRecvBufferSize() < octets) socket.setRecvBufferSize(octets);
    return undefined;
  } catch (err) {
    return err;
  }
}
