/**
 * CoAP messages the reference server writes itself, byte for byte, on its UDP socket: the RST and
 * empty ACK of faults `rst` and `separate`, the separate CON response, and replies to requests the
 * `coap` 1.5.0 server mishandles (it answers some of them via `_sendError`, which sends to
 * 127.0.0.1 instead of the client). Everything else is answered by the `coap` server.
 *
 * @see RFC 7252 §3 (message format), §4.2 (RST), §5.2.2 (separate response)
 */
import { generate, type ParsedPacket } from 'coap-packet';
import type { RequestView } from './request-target';
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

/** The parts of a parsed request the server classifies on (see `request-target.ts`). */
export function requestView(packet: ParsedPacket): RequestView {
  const uriPath: string[] = [];
  let contentFormat: number | undefined;
  for (const option of packet.options) {
    if (option.name === 'Uri-Path') uriPath.push(option.value.toString('utf8'));
    else if (option.name === 'Content-Format') contentFormat = readUint(option.value);
  }
  return { code: packet.code, uriPath, contentFormat, payload: packet.payload };
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

function readUint(value: Buffer): number {
  let n = 0;
  for (const b of value) n = n * 256 + b;
  return n;
}
