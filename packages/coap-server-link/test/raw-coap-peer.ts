/**
 * A scriptable CoAP peer for tests that sends exact bytes (cases README: "a real CoAP library will
 * not send malformed or odd answers"). It records every datagram it receives, decoded just enough
 * to script answers and check the link's requests (RFC 7252 §3).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export const CON = 0;
export const NON = 1;
export const ACK = 2;
export const RST = 3;

export interface RawMessage {
  readonly bytes: Buffer;
  readonly from: RemoteInfo;
  readonly at: number;
  readonly type: number;
  /** `c.dd`. */
  readonly code: string;
  readonly messageId: number;
  readonly token: Buffer;
  readonly options: ReadonlyArray<{ number: number; value: Buffer }>;
  readonly payload: Buffer;
}

/** Decodes a CoAP message (header, token, options, payload); throws on a malformed one. */
export function decodeRaw(bytes: Buffer, from: RemoteInfo): RawMessage {
  if (bytes.length < 4 || bytes[0]! >> 6 !== 1) throw new Error(`not CoAP: ${bytes.toString('hex')}`);
  const type = (bytes[0]! >> 4) & 0x3;
  const tkl = bytes[0]! & 0xf;
  const code = `${bytes[1]! >> 5}.${String(bytes[1]! & 0x1f).padStart(2, '0')}`;
  const messageId = bytes.readUInt16BE(2);
  const token = bytes.subarray(4, 4 + tkl);
  const options: Array<{ number: number; value: Buffer }> = [];
  let pos = 4 + tkl;
  let number = 0;
  let payload: Buffer = Buffer.alloc(0);
  while (pos < bytes.length) {
    if (bytes[pos] === 0xff) {
      payload = bytes.subarray(pos + 1);
      break;
    }
    let delta = bytes[pos]! >> 4;
    let length = bytes[pos]! & 0xf;
    pos += 1;
    const ext = (n: number): number => {
      if (n === 13) return bytes[pos++]! + 13;
      if (n === 14) {
        const v = bytes.readUInt16BE(pos) + 269;
        pos += 2;
        return v;
      }
      if (n === 15) throw new Error('reserved option nibble');
      return n;
    };
    delta = ext(delta);
    length = ext(length);
    number += delta;
    options.push({ number, value: bytes.subarray(pos, pos + length) });
    pos += length;
  }
  return { bytes, from, at: Date.now(), type, code, messageId, token, options, payload };
}

/** Option numbers used here (RFC 7252 §5.10). */
export const URI_PATH = 11;
export const CONTENT_FORMAT = 12;
export const MAX_AGE = 14;

/** `c.dd` → code octet. */
function codeOctet(code: string): number {
  const [c, d] = code.split('.').map(Number);
  return (c! << 5) | d!;
}

/**
 * Builds a message byte by byte. Options must be given in increasing option number, with deltas
 * up to 268 and values up to 12 octets, which is all these tests need.
 */
export function encodeRaw(m: { type: number; code: string; messageId: number; token?: Buffer; options?: Array<{ number: number; value: Buffer }>; payload?: Buffer }): Buffer {
  const token = m.token ?? Buffer.alloc(0);
  const parts: Buffer[] = [Buffer.from([0x40 | (m.type << 4) | token.length, codeOctet(m.code), m.messageId >> 8, m.messageId & 0xff]), token];
  let last = 0;
  for (const o of m.options ?? []) {
    const delta = o.number - last;
    if (delta > 268 || o.value.length > 12) throw new Error('encodeRaw: keep options short');
    // Option delta 13..268 takes one extended octet (RFC 7252 §3.1).
    const head = delta < 13 ? [(delta << 4) | o.value.length] : [(13 << 4) | o.value.length, delta - 13];
    parts.push(Buffer.from(head), o.value);
    last = o.number;
  }
  if (m.payload !== undefined && m.payload.length > 0) parts.push(Buffer.from([0xff]), m.payload);
  return Buffer.concat(parts);
}

/** A JSON (Content-Format 50) option list. */
export const JSON_FORMAT = [{ number: CONTENT_FORMAT, value: Buffer.from([50]) }];

export class RawCoapPeer {
  readonly received: RawMessage[] = [];
  private handler: (m: RawMessage, peer: RawCoapPeer) => void = () => undefined;
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly socket: Socket,
    readonly host: string,
    readonly port: number,
  ) {}

  /** Binds on an ephemeral loopback port. */
  static async start(host = '127.0.0.1'): Promise<RawCoapPeer> {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => resolve());
    });
    const peer = new RawCoapPeer(socket, host, socket.address().port);
    socket.on('message', (bytes, from) => {
      const m = decodeRaw(bytes, from);
      peer.received.push(m);
      peer.handler(m, peer);
      for (const w of peer.waiters.splice(0)) w();
    });
    return peer;
  }

  get uri(): string {
    return `coap://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}/msgin5g`;
  }

  /** Scripts what happens to each datagram received (default: nothing, a black hole). */
  onMessage(handler: (m: RawMessage, peer: RawCoapPeer) => void): void {
    this.handler = handler;
  }

  send(bytes: Buffer, to: RemoteInfo): void {
    this.socket.send(bytes, to.port, to.address);
  }

  /** Requests (code 0.01..0.31) received. */
  get requests(): RawMessage[] {
    return this.received.filter((m) => m.code.startsWith('0.') && m.code !== '0.00');
  }

  /** Resolves when `predicate` holds over what was received; rejects after `timeoutMs`. */
  async waitFor(predicate: (received: RawMessage[]) => boolean, timeoutMs = 3000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!predicate(this.received)) {
      const left = until - Date.now();
      if (left <= 0) throw new Error(`RawCoapPeer: condition not met within ${timeoutMs} ms; received ${this.received.map((m) => m.bytes.toString('hex')).join(' ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** A piggybacked answer (ACK carrying the request's Message ID and token). */
export function piggybacked(req: RawMessage, code: string, payload?: string, options: Array<{ number: number; value: Buffer }> = payload === undefined ? [] : JSON_FORMAT): Buffer {
  return encodeRaw({ type: ACK, code, messageId: req.messageId, token: req.token, options, payload: payload === undefined ? undefined : Buffer.from(payload) });
}
