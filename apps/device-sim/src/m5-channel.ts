/**
 * `M5MessagingChannel`: the {@link MessagingChannel} of a device that speaks M5 binary (UDP, L2,
 * serial; docs/wire-formats.md §2, §5.2). The devices keep their transports and error classes; this
 * class keeps what the send and listen flows need from them, once.
 *
 * Acks: a MESSAGE RECEIVING is acknowledged with 0x05 (its Message ID and the Application ID it
 * carries, else the device's), whose octets its line carries as `ackHex`; a DELIVERY REPORT
 * RECEIVING needs none (§5.2 defines no ack for it).
 * A DELIVERY REPORT SENDING REQUEST has no answer of its own (only a failure 0x03 when undecodable),
 * so it is sent once.
 */
import type { ApplicationId, DeliveryReportReceiving, DeliveryReportSendingRequest, DeviceRequest, DeviceResponse, MessageReceiving, MessageSendingRequest, MessageSendingResponse } from '@msgin5g/core';
import { encodeM5, type M5DecodeResult, type M5Message, type StatusMessage } from '@msgin5g/protocol';
import { messageJson } from './message-json';
import { MessagingError, type Answered, type Arrival, type Io, type MessagingChannel } from './messaging';
import type { RequestOptions } from './udp-device';

/** The answer to a device message: the message, its exact bytes, and how many times the message was sent. */
export interface M5Exchange {
  readonly message: M5Message;
  readonly bytes: Uint8Array;
  readonly attempts: number;
}

/** What `UdpDevice`, `L2Device` and `SerialDevice` have in common. */
export interface M5Device {
  exchange(request: DeviceRequest, options: RequestOptions): Promise<{ readonly message: DeviceResponse | StatusMessage; readonly bytes: Uint8Array }>;
  exchangeMessage(message: M5Message, answers: (m: M5Message) => boolean, options: RequestOptions): Promise<M5Exchange>;
  sendUnit(unit: Uint8Array): Promise<void>;
  nextMessage(timeoutMs: number): Promise<{ readonly bytes: Uint8Array; readonly decoded: M5DecodeResult }>;
  close(): Promise<void>;
}

export interface M5ChannelOptions {
  readonly device: M5Device;
  /** The device's Layer-2 ID for the printed lines. */
  readonly layer2Id: string;
  /** Members that replace or follow the line's own (serial: `{"layer2Id":null,"port":…}`). */
  readonly lineExtra?: Record<string, unknown>;
  /** Resend schedule (the `--timeout-ms` / `--retries` of every command). */
  readonly request: RequestOptions;
  /** Application ID for acks when a MESSAGE RECEIVING carries none. */
  readonly applicationId?: ApplicationId;
  /**
   * The JSON line and text for a device error (`TIMEOUT`, `SEND`, `CLOSED`, …), or `undefined` when
   * `err` is not the device's (a bug: rethrown).
   */
  describeError(err: unknown): { line: Record<string, unknown>; message: string } | undefined;
  /** Whether `err` is the device's `TIMEOUT` of `nextMessage`. */
  isTimeout(err: unknown): boolean;
  readonly io: Io;
}

export class M5MessagingChannel implements MessagingChannel {
  private wanted: (m: MessageReceiving | DeliveryReportReceiving) => boolean = () => false;

  constructor(private readonly o: M5ChannelOptions) {}

  async register(applicationId: ApplicationId): Promise<Answered<unknown>> {
    const answer = await this.guard(() => this.o.device.exchange({ kind: 'REGISTRATION_REQUEST', applicationId }, this.o.request));
    const m = answer.message;
    const failure = m.kind === 'STATUS' ? m.failureReason : m.result === 'FAILURE' ? m.failureReason : undefined;
    return { line: this.line(m, answer.bytes), response: m, ...(failure === undefined ? {} : { failure }) };
  }

  async sendMessage(request: MessageSendingRequest): Promise<Answered<MessageSendingResponse>> {
    const answer = await this.guard(() =>
      this.o.device.exchangeMessage(request, (m) => m.kind === 'MESSAGE_SENDING_RESPONSE' && m.messageId === request.messageId, this.o.request),
    );
    const m = answer.message;
    const line = this.line(m, answer.bytes);
    if (m.kind === 'MESSAGE_SENDING_RESPONSE') return { line, response: m, ...(m.result === 'FAILURE' ? { failure: m.failureReason } : {}) };
    return { line, failure: m.kind === 'STATUS' ? m.failureReason : m.kind };
  }

  async sendReport(report: DeliveryReportSendingRequest): Promise<void> {
    await this.guard(() => this.o.device.sendUnit(encodeM5(report)));
  }

  want(accept: (m: MessageReceiving | DeliveryReportReceiving) => boolean): void {
    this.wanted = accept;
  }

  async next(timeoutMs: number): Promise<Arrival | undefined> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const remaining = end - Date.now();
      if (remaining <= 0) return undefined;
      let unit;
      try {
        unit = await this.o.device.nextMessage(remaining);
      } catch (err) {
        if (this.o.isTimeout(err)) return undefined;
        throw this.classify(err);
      }
      const d = unit.decoded;
      if (!d.ok) {
        this.o.io.err(`device: ignored a unit that does not decode (${d.error.message}): ${Buffer.from(unit.bytes).toString('hex')}\n`);
        continue;
      }
      const m = d.message;
      if (m.kind !== 'MESSAGE_RECEIVING' && m.kind !== 'DELIVERY_REPORT_RECEIVING') {
        this.o.io.err(`device: ignored an unexpected ${m.kind}: ${Buffer.from(unit.bytes).toString('hex')}\n`);
        continue;
      }
      if (!this.wanted(m)) {
        this.o.io.err(`device: not taken (not acknowledged): ${m.kind} ${m.messageId} from ${m.originatorAddress}\n`);
        continue;
      }
      const applicationId = m.applicationId ?? this.o.applicationId;
      const ack = encodeM5({ kind: 'MESSAGE_RECEIVING_ACK', messageId: m.messageId, ...(applicationId === undefined ? {} : { applicationId }) });
      if (m.kind !== 'MESSAGE_RECEIVING') return { message: m, line: this.line(m, unit.bytes), ack: () => Promise.resolve() };
      // The ack's octets follow `hex` in the line (`ackHex`): what the device sent, for a transcript to show.
      return { message: m, line: { ...this.line(m, unit.bytes), ackHex: Buffer.from(ack).toString('hex') }, ack: () => this.guard(() => this.o.device.sendUnit(ack)) };
    }
  }

  close(): Promise<void> {
    return this.o.device.close();
  }

  private line(m: M5Message, bytes: Uint8Array): Record<string, unknown> {
    return { ...messageJson(m, bytes, this.o.layer2Id), ...this.o.lineExtra };
  }

  private async guard<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw this.classify(err);
    }
  }

  private classify(err: unknown): unknown {
    const described = this.o.describeError(err);
    return described === undefined ? err : new MessagingError(described.line, described.message);
  }
}
