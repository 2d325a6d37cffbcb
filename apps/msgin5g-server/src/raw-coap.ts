/**
 * CoAP messages the reference server writes itself, byte for byte, on its UDP socket: the RST and
 * empty ACK of faults `rst` and `separate`, the separate CON response, the RSTs and error responses
 * of the message-layer checks (`message-verdict.ts`), and replies to requests the
 * `coap` 1.5.0 server mishandles (it answers some of them via `_sendError`, which sends to
 * 127.0.0.1 instead of the client). Everything else is answered by the `coap` server.
 *
 * @see RFC 7252 §3 (message format), §4.2 (RST), §5.2.2 (separate response), §5.5.2 (diagnostic payload)
 */
import { generate, type ParsedPacket } from 'coap-packet';
import { COAP_OPTION, encodeCoapMessage, uintOptionValue, type CoapMessage, type CoapOption } from '@msgin5g/protocol';
import type { ServerReply } from './server-reply';

/** `70 00 <mid>`: RST to a message (RFC 7252 §4.2). */
export function resetBytes(messageId: number): Buffer {
  return Buffer.from([0x70, 0x00, (messageId >> 8) & 0xff, messageId & 0xff]);
}

/** `60 00 <mid>`: empty ACK (RFC 7252 §4.2), the first half of a separate response. */
export function emptyAckBytes(messageId: number): Buffer {
  return Buffer.from([0x60, 0x00, (messageId >> 8) & 0xff, messageId & 0xff]);
}

/**
 * A response to `request` carrying `reply`: piggybacked in an ACK with the request's Message ID
 * when `messageId` is omitted and the request is CON; otherwise a CON (separate response to a CON
 * request) or NON with `messageId`. The token is the request's.
 */
export function responseBytes(request: ParsedPacket, reply: ServerReply, messageId?: number): Buffer {
  const options: Array<{ name: 'Content-Format' | 'Max-Age'; value: Buffer }> = [];
  if (reply.contentFormat !== undefined) options.push({ name: 'Content-Format', value: uintOption(reply.contentFormat) });
  if (reply.maxAge !== undefined) options.push({ name: 'Max-Age', value: uintOption(reply.maxAge) });
  const piggybacked = messageId === undefined && request.confirmable;
  return generate({
    code: reply.code,
    messageId: piggybacked ? request.messageId : messageId,
    token: request.token,
    ack: piggybacked,
    confirmable: !piggybacked && request.confirmable,
    options,
    payload: reply.payload ?? Buffer.alloc(0),
  });
}

/**
 * An error response to `request` written by the message-layer checks (`message-verdict.ts`): the
 * code octet, a diagnostic payload (UTF-8, no Content-Format, RFC 7252 §5.5.2) and Size1 when
 * given (§5.10.9). Piggybacked in an ACK for a CON; a NON with `messageId` for a NON (§5.2.3).
 */
export function errorResponseBytes(request: CoapMessage, code: number, payload: Uint8Array, size1: number | undefined, messageId: number): Buffer {
  const options: CoapOption[] = size1 === undefined ? [] : [{ number: COAP_OPTION.SIZE1, value: uintOptionValue(size1) }];
  const confirmable = request.type === 'CON';
  return Buffer.from(
    encodeCoapMessage({
      type: confirmable ? 'ACK' : 'NON',
      code,
      messageId: confirmable ? request.messageId : messageId,
      token: request.token,
      options,
      payload,
    }),
  );
}

/** Whether a request carries an Observe option (RFC 7641), which this server does not support. */
export function hasObserve(packet: ParsedPacket): boolean {
  return packet.options.some((o) => o.name === 'Observe');
}

/** Minimal big-endian uint option value (RFC 7252 §3.2): 0 is zero octets. */
function uintOption(n: number): Buffer {
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return Buffer.from(out);
}
