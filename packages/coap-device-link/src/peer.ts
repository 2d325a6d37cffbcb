/**
 * A device endpoint as the CoAP device link's layers pass it around: where to send (the socket's
 * own form of the source address, e.g. `::ffff:127.0.0.1` on a dual-stack socket) and the device's
 * Layer-2 ID (`127.0.0.1:40001`, `[::1]:40001`: IPv4-mapped sources unmapped). Message IDs are
 * scoped by it (RFC 7252 §4.5: "the same Message ID and source endpoint").
 */
import type { Layer2Id } from '@msgin5g/core';

export interface Peer {
  readonly address: string;
  readonly port: number;
  readonly layer2Id: Layer2Id;
}

/** Sends one datagram to a peer; resolves when the OS has taken it, rejects with a `DeviceLinkError`. */
export type Transmit = (peer: Peer, bytes: Uint8Array) => Promise<void>;
