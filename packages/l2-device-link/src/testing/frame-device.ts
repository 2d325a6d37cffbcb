/**
 * `FrameDevice`: a constrained device that speaks M5 frames over any {@link FrameSocket}, for tests
 * of the L2 link (in-memory here, real AF_PACKET frames in `@msgin5g/raw-ethernet`'s tests). It
 * implements the `DeviceLink` contract suite's `TestDevice` and also exposes raw frames for
 * byte-exact checks. (The device simulator's `L2Device` is the user-facing equivalent; packages may
 * not depend on apps, hence this one.)
 *
 * It keeps only frames addressed to its own MAC that it did not send itself (pktType OUTGOING or
 * its own source), like a real device's NIC.
 */
import { must, parseMacLayer2Id, type DeviceDeliveryMessage, type DeviceRequest, type DeviceResponse, type GatewayDeliveryMessage, type Layer2Id, type MessageId, type MessageReceiving } from '@msgin5g/core';
import type { MalformedDeliveryAnswer, TestDevice } from '@msgin5g/core/testing';
import { DEFAULT_L2_ETHERTYPE, decodeM5, decodeM5Frame, encodeM5, encodeM5Frame, ETHERNET_HEADER_OCTETS, macAt, withVlanTag } from '@msgin5g/protocol';
import { PACKET_TYPE, type FrameSocket } from '@msgin5g/raw-ethernet';

/** Options of {@link FrameDevice.open}. MACs in any form `parseMacLayer2Id` accepts. */
export interface FrameDeviceOptions {
  readonly gatewayMac: string;
  /** The device's source MAC. Default: the socket's interface MAC. */
  readonly mac?: string;
  /** Default 0x88B5. */
  readonly etherType?: number;
}

const INBOX_LIMIT = 1024;

export class FrameDevice implements TestDevice {
  private readonly inbox: Uint8Array[] = [];
  private readonly waiters: Array<(frame: Uint8Array) => void> = [];

  private constructor(
    private readonly socket: FrameSocket,
    readonly layer2Id: Layer2Id,
    readonly gatewayMac: string,
    readonly etherType: number,
  ) {}

  /** Starts `socket` and returns a device on it. Rejects with the socket's start error. */
  static async open(socket: FrameSocket, options: FrameDeviceOptions): Promise<FrameDevice> {
    const gatewayMac = must(parseMacLayer2Id(options.gatewayMac));
    const sink: { device?: FrameDevice } = {};
    const early: Array<[Uint8Array, number]> = []; // frames that arrive before the device exists
    const info = await socket.start((frame, pktType) => (sink.device === undefined ? early.push([frame, pktType]) : sink.device.onFrame(frame, pktType)));
    const mac = options.mac === undefined ? (info.mac as Layer2Id) : must(parseMacLayer2Id(options.mac));
    if (mac !== info.mac && socket.addUnicastAddress !== undefined) await socket.addUnicastAddress(mac);
    const device = new FrameDevice(socket, mac, gatewayMac, options.etherType ?? DEFAULT_L2_ETHERTYPE);
    sink.device = device;
    for (const [frame, pktType] of early.splice(0)) device.onFrame(frame, pktType);
    return device;
  }

  /** The M5 frame of `request` (padded to 60 octets). */
  send(request: DeviceRequest): Promise<void> {
    return this.sendUnit(encodeM5(request));
  }

  /** An unknown message type (7E 00) in a well-formed frame: answered with STATUS. */
  sendMalformed(): Promise<void> {
    return this.sendUnit(Uint8Array.of(0x7e, 0x00));
  }

  /** `unit` in a well-formed M5 frame to the gateway, optionally with an 802.1Q tag of `vlanId`. */
  sendUnit(unit: Uint8Array, options: { vlanId?: number } = {}): Promise<void> {
    const frame = encodeM5Frame({ destination: this.gatewayMac, source: this.layer2Id, etherType: this.etherType, unit });
    return this.socket.send(options.vlanId === undefined ? frame : withVlanTag(frame, options.vlanId));
  }

  /** Sends any bytes as one frame (the socket's size checks apply). */
  sendFrame(frame: Uint8Array): Promise<void> {
    return this.socket.send(frame);
  }

  /** The next frame addressed to this device (raw bytes); rejects after `timeoutMs`. */
  nextFrame(timeoutMs = 2000): Promise<Uint8Array> {
    const queued = this.inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const done = (f: Uint8Array) => {
        clearTimeout(timer);
        resolve(f);
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no frame for ${this.layer2Id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(done);
    });
  }

  /** The M5 unit of the next frame addressed to this device (frames that are not M5 frames are skipped). */
  async nextUnit(timeoutMs = 2000): Promise<Uint8Array> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const reading = decodeM5Frame(await this.nextFrame(Math.max(1, end - Date.now())), this.etherType);
      if (reading.kind === 'M5') return Uint8Array.from(reading.unit);
    }
  }

  /** The next unit that decodes to a device response (STATUS and undecodable units are skipped). */
  async nextResponse(timeoutMs = 2000): Promise<DeviceResponse> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const decoded = decodeM5(await this.nextUnit(Math.max(1, end - Date.now())));
      if (decoded.ok && (decoded.message.kind === 'REGISTRATION_RESPONSE' || decoded.message.kind === 'DEREGISTRATION_RESPONSE')) return decoded.message;
    }
  }

  /** A message-delivery message as M5 binary (docs/wire-formats.md §5.2). */
  sendDelivery(message: DeviceDeliveryMessage): Promise<void> {
    return this.sendUnit(encodeM5(message));
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
    await this.sendUnit(unit);
    return { kind: 'UNIT', unit: await this.nextDeliveryUnit() };
  }

  /** The next unit that decodes to a message-delivery message from the gateway (0x03, 0x04, 0x06); others are skipped. */
  async nextDeliveryUnit(timeoutMs = 2000): Promise<GatewayDeliveryMessage> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const decoded = decodeM5(await this.nextUnit(Math.max(1, end - Date.now())));
      if (decoded.ok && (decoded.message.kind === 'MESSAGE_SENDING_RESPONSE' || decoded.message.kind === 'MESSAGE_RECEIVING' || decoded.message.kind === 'DELIVERY_REPORT_RECEIVING')) return decoded.message;
    }
  }

  /** A MESSAGE RECEIVING ACK (0x05) for `message`, with its Application ID. */
  acknowledge(message: MessageReceiving): Promise<void> {
    const { messageId, applicationId } = message;
    return this.sendDelivery({ kind: 'MESSAGE_RECEIVING_ACK', messageId, ...(applicationId === undefined ? {} : { applicationId }) });
  }

  close(): Promise<void> {
    return this.socket.close();
  }

  private onFrame(frame: Uint8Array, pktType: number): void {
    if (pktType === PACKET_TYPE.OUTGOING || frame.length < ETHERNET_HEADER_OCTETS) return;
    if (macAt(frame, 0) !== this.layer2Id || macAt(frame, 6) === this.layer2Id) return;
    const w = this.waiters.shift();
    if (w !== undefined) return w(frame);
    if (this.inbox.length >= INBOX_LIMIT) this.inbox.shift();
    this.inbox.push(frame);
  }
}
