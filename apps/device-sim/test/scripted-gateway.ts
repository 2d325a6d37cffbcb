/**
 * Test helper: a tiny scripted UDP peer playing the gateway. It records every datagram it receives
 * with its source, and answers each with whatever the script returns (zero or more datagrams).
 */
import * as dgram from 'node:dgram';

export interface Received {
  readonly bytes: Uint8Array;
  readonly address: string;
  readonly port: number;
}

/** Returns the datagrams to send back for the n-th (0-based) datagram received. */
export type Script = (received: Received, n: number) => Uint8Array[];

export class ScriptedGateway {
  readonly received: Received[] = [];

  private constructor(
    private readonly socket: dgram.Socket,
    private script: Script,
  ) {
    socket.on('message', (msg, rinfo) => {
      const r: Received = { bytes: Uint8Array.from(msg), address: rinfo.address, port: rinfo.port };
      const n = this.received.length;
      this.received.push(r);
      for (const answer of this.script(r, n)) socket.send(answer, rinfo.port, rinfo.address);
    });
  }

  static async start(host: '127.0.0.1' | '::1', script: Script = () => []): Promise<ScriptedGateway> {
    const socket = dgram.createSocket(host === '::1' ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new ScriptedGateway(socket, script);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** `127.0.0.1:PORT` or `[::1]:PORT`. */
  get address(): string {
    const a = this.socket.address();
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  setScript(script: Script): void {
    this.script = script;
  }

  /** Sends a datagram to `to` unprompted. */
  sendTo(bytes: Uint8Array, to: { address: string; port: number }): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(bytes, to.port, to.address, (err) => (err ? reject(err) : resolve())));
  }

  async until(count: number, timeoutMs = 3000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > end) throw new Error(`gateway got ${this.received.length} of ${count} datagrams`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

export const hex = (s: string): Uint8Array => Uint8Array.from((s.replace(/\s+/g, '').match(/../g) ?? []).map((h) => parseInt(h, 16)));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
