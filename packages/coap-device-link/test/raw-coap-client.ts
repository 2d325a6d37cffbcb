/**
 * Test device that sends exact bytes (a real CoAP stack will not send malformed messages) and
 * reads what comes back with `coap-packet`'s parser (the one npm `coap` uses), so the link's bytes
 * are checked by a third-party reader.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { generate, parse, type ParsedPacket } from 'coap-packet';
import { must, transportLayer2Id, type Layer2Id } from '@msgin5g/core';

export interface Received {
  readonly bytes: Buffer;
  readonly at: number;
}

export class RawCoapClient {
  readonly received: Received[] = [];
  private readonly waiters: Array<() => void> = [];

  private constructor(
    private readonly socket: Socket,
    readonly layer2Id: Layer2Id,
    private readonly target: { host: string; port: number },
  ) {
    socket.on('message', (bytes) => {
      this.received.push({ bytes, at: Date.now() });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(localHost: string, target: { host: string; port: number }): Promise<RawCoapClient> {
    const socket = createSocket(isIP(localHost) === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, localHost, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new RawCoapClient(socket, must(transportLayer2Id(localHost, socket.address().port)), target);
  }

  sendRaw(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(bytes, this.target.port, this.target.host, (err) => (err ? reject(err) : resolve())));
  }

  /** The `n`-th datagram received (0-based), waiting up to `timeoutMs` for it. */
  async datagram(n: number, timeoutMs = 3000): Promise<Buffer> {
    const end = Date.now() + timeoutMs;
    while (this.received.length <= n) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`datagram #${n} not received within ${timeoutMs} ms (got ${this.received.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return (this.received[n] as Received).bytes;
  }

  /** The `n`-th datagram, parsed by `coap-packet`. */
  async message(n: number, timeoutMs = 3000): Promise<ParsedPacket> {
    return parse(await this.datagram(n, timeoutMs));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

export interface RequestSpec {
  readonly messageId: number;
  readonly token?: Buffer;
  readonly confirmable?: boolean;
  readonly code?: string;
  readonly path?: string[];
  readonly contentFormat?: number | null;
  readonly payload?: string | Buffer;
  readonly options?: Array<{ name: string; value: Buffer }>;
}

/** A well-formed request encoded by `coap-packet`: POST /msgin5g, Content-Format 50, CON by default. */
export function request(spec: RequestSpec): Buffer {
  const options: Array<{ name: string; value: Buffer }> = (spec.path ?? ['msgin5g']).map((p) => ({ name: 'Uri-Path', value: Buffer.from(p) }));
  const cf = spec.contentFormat === undefined ? 50 : spec.contentFormat;
  if (cf !== null) options.push({ name: 'Content-Format', value: cf === 0 ? Buffer.alloc(0) : Buffer.from([cf]) });
  options.push(...(spec.options ?? []));
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload) : (spec.payload ?? Buffer.alloc(0));
  return generate(
    {
      code: spec.code ?? '0.02',
      messageId: spec.messageId,
      token: spec.token ?? Buffer.from([0xa1, 0xb2]),
      confirmable: spec.confirmable ?? true,
      options: options as Parameters<typeof generate>[0]['options'],
      payload,
    },
    70_000,
  );
}

/** `c.dd` of a parsed packet's code, e.g. `2.04`. */
export const codeOf = (p: ParsedPacket): string => p.code;

/** The type of a parsed packet. */
export function typeOf(p: ParsedPacket): 'CON' | 'NON' | 'ACK' | 'RST' {
  if (p.ack) return 'ACK';
  if (p.reset) return 'RST';
  return p.confirmable ? 'CON' : 'NON';
}

/** Content-Format of a parsed packet, or undefined. */
export function contentFormatOf(p: ParsedPacket): number | undefined {
  const o = p.options.find((x) => x.name === 'Content-Format');
  if (o === undefined) return undefined;
  let n = 0;
  for (const b of o.value) n = n * 256 + b;
  return n;
}

/** Max-Age of a parsed packet (RFC 7252 §5.10.5), or undefined when absent. */
export function maxAgeOf(p: ParsedPacket): number | undefined {
  const o = p.options.find((x) => x.name === 'Max-Age');
  if (o === undefined) return undefined;
  let n = 0;
  for (const b of o.value) n = n * 256 + b;
  return n;
}

/** `60 00 <mid>` / `70 00 <mid>`. */
export const emptyAck = (messageId: number): Buffer => Buffer.from([0x60, 0x00, messageId >> 8, messageId & 0xff]);
export const reset = (messageId: number): Buffer => Buffer.from([0x70, 0x00, messageId >> 8, messageId & 0xff]);

/**
 * A POST /msgin5g written octet by octet from RFC 7252 §3 (no CoAP library involved):
 * ```
 * 0x42 | 0x52        Ver 1, T = 0 (CON) or 1 (NON), TKL 2
 * 0x02               Code 0.02 POST
 * MID (2)            Message ID, big-endian
 * token (2)
 * 0xB7 "msgin5g"     option delta 11 (Uri-Path), length 7
 * 0x11 0x32          option delta 1 (→ 12, Content-Format), length 1, value 50 (application/json)
 * 0xFF body          payload marker, payload
 * ```
 */
export function handBuiltPost(spec: { messageId: number; token: readonly [number, number]; body: string; confirmable?: boolean }): Buffer {
  const head = [(spec.confirmable ?? true) ? 0x42 : 0x52, 0x02, spec.messageId >> 8, spec.messageId & 0xff, spec.token[0], spec.token[1]];
  return Buffer.concat([Buffer.from(head), Buffer.from([0xb7]), Buffer.from('msgin5g'), Buffer.from([0x11, 0x32, 0xff]), Buffer.from(spec.body)]);
}

/** The fields of a received datagram read straight from RFC 7252 §3: type, code octet, Message ID, token (hex), the rest (hex). */
export function headerOf(bytes: Buffer): { type: 'CON' | 'NON' | 'ACK' | 'RST'; code: number; messageId: number; token: string; rest: string } {
  const first = bytes[0] ?? 0;
  const tkl = first & 0x0f;
  return {
    type: (['CON', 'NON', 'ACK', 'RST'] as const)[(first >> 4) & 0x3],
    code: bytes[1] ?? 0,
    messageId: ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0),
    token: bytes.subarray(4, 4 + tkl).toString('hex'),
    rest: bytes.subarray(4 + tkl).toString('hex'),
  };
}
