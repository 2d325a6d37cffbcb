/**
 * Sends a request body of up to 4,096 octets (docs/wire-formats.md §5.4: a `MSG` with a payload of
 * up to 2,355 octets) through the `coap` 1.5.0 client in one datagram. Its `generate` (coap-packet)
 * refuses any message over 1,280 octets, so coap builds the message without a payload and the
 * payload marker and body are appended to the bytes it hands its RetrySend, which keeps them for
 * every retransmission: byte for byte what `generate` writes when the body fits. The gateway's
 * server link does the same (packages/coap-server-link/src/coap-server-link.ts, "coap-packet's
 * `generate` refuses").
 */
import type { OutgoingMessage } from 'coap';

const PAYLOAD_MARKER = Buffer.from([0xff]);

/** Ends `req` with `body` (none when empty), past coap-packet's 1,280-octet limit. */
export function endWithBody(req: OutgoingMessage, body: Uint8Array | undefined): void {
  if (body === undefined || body.length === 0) {
    req.end();
    return;
  }
  const sender = (req as unknown as { sender: { send(message: Buffer, avoidBackoff?: boolean): void } }).sender;
  const send = sender.send.bind(sender);
  const tail = Buffer.concat([PAYLOAD_MARKER, Buffer.from(body)]);
  sender.send = (message, avoidBackoff) => send(Buffer.concat([message, tail]), avoidBackoff);
  req.end();
}
