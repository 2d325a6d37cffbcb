/**
 * Ending a `coap` 1.5.0 client request whose body may exceed what coap-packet's `generate` builds:
 * it refuses any message over 1,280 octets ("Max packet size is 1280"), and a MSGin5G-1 `MSG` body
 * is up to 4,096 octets in one datagram (docs/wire-formats.md §5.4, no Block1). coap builds the
 * message without a payload; the payload marker and the body are appended to the bytes it hands its
 * RetrySend, which keeps exactly those bytes for every retransmission: byte for byte what
 * `generate` writes for a body that fits. The gateway's server link does the same
 * (packages/coap-server-link/src/coap-server-link.ts).
 *
 * Rejected alternative: letting coap send Block1 (RFC 7959) for large bodies: the gateway's inbox
 * does not act on Block1 (4.02, docs/wire-formats.md §5.4), and one datagram is what the gateway sends.
 */
import type { OutgoingMessage } from 'coap';

const PAYLOAD_MARKER = Buffer.from([0xff]);

/** Ends `req` with `body` as its payload in one datagram, whatever its size (an empty body: no payload marker). */
export function endWithBody(req: OutgoingMessage, body: Uint8Array): void {
  if (body.length > 0) {
    const sender = req.sender as unknown as { send(message: Buffer, avoidBackoff?: boolean): void };
    const sendWithoutPayload = sender.send.bind(sender);
    const tail = Buffer.concat([PAYLOAD_MARKER, body]);
    sender.send = (message, avoidBackoff) => sendWithoutPayload(Buffer.concat([message, tail]), avoidBackoff);
  }
  req.end();
}
