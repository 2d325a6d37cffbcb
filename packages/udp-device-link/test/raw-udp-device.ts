/**
 * Test helper: a constrained device over a raw `node:dgram` socket (not the device simulator, so
 * this package's tests depend on no app). Implements the contract suite's `TestDevice` and also
 * exposes raw datagrams for byte-exact checks.
 */
import * as dgram from 'node:dgram';
import { isIP } from 'node:net';
import { must, transportLayer2Id, type DeviceRequest, type DeviceResponse, type Layer2Id } from '@msgin5g/core';
import type { TestDevice } from '@msgin5g/core/testing';
import { decodeM5, encodeM5 } from '@msgin5g/protocol';

export class RawUdpDevice implements TestDevice {
  private readonly received: Uint8Array[] = [];
  private readonly waiters: Array<(d: Uint8Array) => void> = [];

  private constructor(
    private readonly socket: dgram.Socket,
    readonly layer2Id: Layer2Id,
    private readonly target: { host: string; port: number },
  ) {
    socket.on('message', (msg) => {
      const d = Uint8Array.from(msg);
      const w = this.waiters.shift();
      if (w !== undefined) w(d);
      else this.received.push(d);
    });
  }

  /** A device bound to `localHost` (ephemeral port) that sends to `target`. */
  static async open(localHost: string, target: { host: string; port: number }): Promise<RawUdpDevice> {
    const socket = dgram.createSocket(isIP(localHost) === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, localHost, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new RawUdpDevice(socket, must(transportLayer2Id(localHost, socket.address().port)), target);
  }

  send(request: DeviceRequest): Promise<void> {
    return this.sendRaw(encodeM5(request));
  }

  sendMalformed(): Promise<void> {
    return this.sendRaw(Uint8Array.of(0x7e, 0x00));
  }

  sendRaw(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(bytes, this.target.port, this.target.host, (err) => (err ? reject(err) : resolve())));
  }

  /** The next datagram received (raw bytes); rejects after `timeoutMs`. */
  nextDatagram(timeoutMs = 2000): Promise<Uint8Array> {
    const queued = this.received.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const done = (d: Uint8Array) => {
        clearTimeout(timer);
        resolve(d);
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no datagram within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(done);
    });
  }

  /** The next datagram that decodes to a device response (STATUS and undecodable ones are skipped). */
  async nextResponse(timeoutMs = 2000): Promise<DeviceResponse> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const d = await this.nextDatagram(Math.max(1, end - Date.now()));
      const decoded = decodeM5(d);
      if (decoded.ok && (decoded.message.kind === 'REGISTRATION_RESPONSE' || decoded.message.kind === 'DEREGISTRATION_RESPONSE')) return decoded.message;
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** The port of a started link, from its endpoint (`udp://127.0.0.1:5690`, `udp://[::1]:5690`). */
export function endpointPort(endpoint: string): number {
  const m = /:(\d+)$/.exec(endpoint);
  if (m === null) throw new Error(`no port in ${endpoint}`);
  return Number(m[1]);
}

export { RecordingLogger } from '@msgin5g/core/testing';
