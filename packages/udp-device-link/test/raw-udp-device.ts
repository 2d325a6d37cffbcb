/**
 * Test helper: a constrained device over a raw `node:dgram` socket (not the device simulator, so
 * this package's tests depend on no app). Implements the contract suite's `TestDevice` and also
 * exposes raw datagrams for byte-exact checks.
 */
import * as dgram from 'node:dgram';
import { isIP } from 'node:net';
import { must, transportLayer2Id, type DeviceDeliveryMessage, type DeviceRequest, type DeviceResponse, type GatewayDeliveryMessage, type Layer2Id, type MessageId, type MessageReceiving } from '@msgin5g/core';
import type { MalformedDeliveryAnswer, TestDevice } from '@msgin5g/core/testing';
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

  /** A message-delivery message as M5 binary (docs/wire-formats.md §5.2). */
  sendDelivery(message: DeviceDeliveryMessage): Promise<void> {
    return this.sendRaw(encodeM5(message));
  }

  /**
   * A MESSAGE SENDING REQUEST whose Payload length (9) runs past the end, its Message ID readable:
   * answered `03 <Message ID> 01 22 01 05` (docs/wire-formats.md §2 reject table).
   */
  async sendMalformedDelivery(messageId: MessageId): Promise<MalformedDeliveryAnswer> {
    const unit = new Uint8Array(2 + 5 + 16 + 3);
    unit.set([0x01, 5, ...new TextEncoder().encode('ue-77')]);
    unit.set(Uint8Array.from(Buffer.from(messageId, 'hex')), 7);
    unit.set([0x00, 0x09, 0x01], 23);
    await this.sendRaw(unit);
    return { kind: 'UNIT', unit: await this.nextDeliveryUnit() };
  }

  /** The next unit that decodes to a message-delivery message from the gateway (0x03, 0x04, 0x06); others are skipped. */
  async nextDeliveryUnit(timeoutMs = 2000): Promise<GatewayDeliveryMessage> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const decoded = decodeM5(await this.nextDatagram(Math.max(1, end - Date.now())));
      if (decoded.ok && (decoded.message.kind === 'MESSAGE_SENDING_RESPONSE' || decoded.message.kind === 'MESSAGE_RECEIVING' || decoded.message.kind === 'DELIVERY_REPORT_RECEIVING')) return decoded.message;
    }
  }

  /** A MESSAGE RECEIVING ACK (0x05) for `message`, with its Application ID. */
  acknowledge(message: MessageReceiving): Promise<void> {
    const { messageId, applicationId } = message;
    return this.sendDelivery({ kind: 'MESSAGE_RECEIVING_ACK', messageId, ...(applicationId === undefined ? {} : { applicationId }) });
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
