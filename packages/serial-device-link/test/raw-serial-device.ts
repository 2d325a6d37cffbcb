/**
 * Test helper: a constrained device on the far end of a serial line (the `dev` side of a
 * {@link PtyPair}), opened with serialport like a UART. Implements the contract suite's
 * `TestDevice` and also exposes the raw octets it receives, for byte-exact checks.
 */
import { SerialPort } from 'serialport';
import type { DeviceDeliveryMessage, DeviceRequest, DeviceResponse, GatewayDeliveryMessage, Layer2Id, MessageId, MessageReceiving } from '@msgin5g/core';
import type { MalformedDeliveryAnswer, TestDevice } from '@msgin5g/core/testing';
import { decodeM5, encodeM5 } from '@msgin5g/protocol';
import { encodeSlipFrame, SlipDecoder } from '../src/slip';

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** `'c0 10 00 2a c0'` → octets. */
export const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

export class RawSerialDevice implements TestDevice {
  /** Every octet received, in order. */
  received = Buffer.alloc(0);
  private readonly decoder = new SlipDecoder();
  private readonly frames: Uint8Array[] = [];
  private readonly waiters: Array<() => void> = [];

  private constructor(
    private readonly port: SerialPort,
    /** The Layer-2 ID the gateway knows this device by: `serial:` + the gateway side's path. */
    readonly layer2Id: Layer2Id,
  ) {
    port.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      for (const e of this.decoder.push(chunk)) if (e.kind === 'FRAME') this.frames.push(e.frame);
      for (const w of this.waiters.splice(0)) w();
    });
    port.on('error', () => undefined); // the line going away is what some tests do
  }

  /** Opens the device end `path` of a pty pair whose gateway end is `gatewayPath`. */
  static async open(path: string, gatewayPath: string): Promise<RawSerialDevice> {
    const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    return new RawSerialDevice(port, `serial:${gatewayPath}` as Layer2Id);
  }

  send(request: DeviceRequest): Promise<void> {
    return this.sendRaw(encodeSlipFrame(encodeM5(request)));
  }

  /** An unknown Message Type 0x7E in a well-formed frame: the gateway answers STATUS `1F 09 7E`. */
  sendMalformed(): Promise<void> {
    return this.sendRaw(bytes('c0 7e 00 c0'));
  }

  /** Writes octets as they are (no framing added). */
  sendRaw(octets: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.port.write(Buffer.from(octets), (err) => (err ? reject(err) : resolve()));
    });
  }

  /** The next SLIP frame received (content, unescaped); rejects after `timeoutMs`. */
  async nextFrame(timeoutMs = 2000): Promise<Uint8Array> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.shift();
      if (f !== undefined) return f;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no SLIP frame within ${timeoutMs} ms (received so far: ${hex(this.received)})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The next frame that decodes to a device response (STATUS and undecodable ones are skipped). */
  async nextResponse(timeoutMs = 2000): Promise<DeviceResponse> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const decoded = decodeM5(await this.nextFrame(Math.max(1, end - Date.now())));
      if (decoded.ok && (decoded.message.kind === 'REGISTRATION_RESPONSE' || decoded.message.kind === 'DEREGISTRATION_RESPONSE')) return decoded.message;
    }
  }

  /** A message-delivery message as M5 binary (docs/wire-formats.md §5.2). */
  sendDelivery(message: DeviceDeliveryMessage): Promise<void> {
    return ((u: Uint8Array) => this.sendRaw(encodeSlipFrame(u)))(encodeM5(message));
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
    await ((u: Uint8Array) => this.sendRaw(encodeSlipFrame(u)))(unit);
    return { kind: 'UNIT', unit: await this.nextDeliveryUnit() };
  }

  /** The next unit that decodes to a message-delivery message from the gateway (0x03, 0x04, 0x06); others are skipped. */
  async nextDeliveryUnit(timeoutMs = 2000): Promise<GatewayDeliveryMessage> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const decoded = decodeM5(await this.nextFrame(Math.max(1, end - Date.now())));
      if (decoded.ok && (decoded.message.kind === 'MESSAGE_SENDING_RESPONSE' || decoded.message.kind === 'MESSAGE_RECEIVING' || decoded.message.kind === 'DELIVERY_REPORT_RECEIVING')) return decoded.message;
    }
  }

  /** A MESSAGE RECEIVING ACK (0x05) for `message`, with its Application ID. */
  acknowledge(message: MessageReceiving): Promise<void> {
    const { messageId, applicationId } = message;
    return this.sendDelivery({ kind: 'MESSAGE_RECEIVING_ACK', messageId, ...(applicationId === undefined ? {} : { applicationId }) });
  }

  /** Waits until `n` octets in all have arrived (at most `timeoutMs`), then returns them as hex. */
  async receivedHex(n: number, timeoutMs = 2000): Promise<string> {
    const end = Date.now() + timeoutMs;
    while (this.received.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    return hex(this.received);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.port.isOpen) return resolve();
      this.port.close(() => resolve());
    });
  }
}
