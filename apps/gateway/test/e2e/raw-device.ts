/**
 * Test helper: a constrained device as one raw UDP socket on its own port (its Layer-2 ID), so e2e
 * tests check every byte the gateway sends against docs/wire-formats.md §2.
 */
import { createSocket, type Socket } from 'node:dgram';

export class RawDevice {
  readonly inbox: Buffer[] = [];
  /** The source port of each datagram received, in order (which gateway port answered). */
  readonly sourcePorts: number[] = [];
  private waiters: Array<() => void> = [];
  private constructor(
    readonly socket: Socket,
    readonly port: number,
  ) {
    socket.on('message', (m, rinfo) => {
      this.inbox.push(m);
      this.sourcePorts.push(rinfo.port);
      for (const w of this.waiters.splice(0)) w();
    });
  }
  /** Binds 127.0.0.1:`port` (0: an ephemeral port). */
  static async open(port = 0): Promise<RawDevice> {
    const s = createSocket('udp4');
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.bind(port, '127.0.0.1', () => res());
    });
    return new RawDevice(s, s.address().port);
  }
  /** Sends the octets given in hex to the gateway's UDP port on 127.0.0.1. */
  send(hex: string, gatewayPort: number): void {
    this.socket.send(Buffer.from(hex, 'hex'), gatewayPort, '127.0.0.1');
  }
  /** The next datagram as lower-case hex; rejects after `timeoutMs`. */
  async next(timeoutMs = 10_000): Promise<string> {
    const answer = await this.poll(timeoutMs);
    if (answer === undefined) throw new Error(`device ${this.port}: nothing received within ${timeoutMs} ms`);
    return answer;
  }
  /** The next datagram as lower-case hex, or `undefined` when none arrives within `timeoutMs`. */
  async poll(timeoutMs: number): Promise<string | undefined> {
    const end = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      const left = end - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
    return (this.inbox.shift() as Buffer).toString('hex');
  }
  close(): Promise<void> {
    return new Promise((res) => this.socket.close(() => res()));
  }
}
