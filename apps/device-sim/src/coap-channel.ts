/**
 * `CoapMessagingChannel`: the {@link MessagingChannel} of a CoAP device (docs/wire-formats.md §3.3,
 * §5.3): REG, MSG and IMDN as CON POSTs with JSON bodies through {@link CoapEndpoint}, and the
 * gateway's MSG / IMDN POSTs served on the same socket, the device's address. The 2.04 that answers
 * such a POST is the ack, so an arrival's `ack()` does nothing: the endpoint has already sent it
 * (and sends it again for a retransmitted copy). A POST the device does not take now (`want`) gets
 * 5.03, so the gateway knows it was not delivered; a body it cannot read gets 4.00.
 *
 * Lines: as on the binary links, without `hex`; with `coapCode` and `json` (the body as received).
 *
 * Bodies: `@msgin5g/protocol`'s coap-device-delivery-body.ts, the codec the gateway's CoAP device
 * link uses, so the simulator writes exactly what the gateway reads (strictly) and reads what it writes.
 */
import { COAP_CODE, decodeCoapDeviceResponse, decodeCoapGatewayDelivery, decodeCoapMessageResponse, encodeCoapDeviceDelivery, encodeCoapDeviceRequest } from '@msgin5g/protocol';
import type { ApplicationId, DeliveryReportReceiving, DeliveryReportSendingRequest, MessageReceiving, MessageSendingRequest, MessageSendingResponse } from '@msgin5g/core';
import { CoapEndpoint, CoapEndpointError, type CoapReply } from './coap-endpoint';
import { messageJson } from './message-json';
import { MessagingError, type Answered, type Arrival, type Io, type MessagingChannel } from './messaging';

/** Bound on arrivals queued before `next` takes them. */
const QUEUE_LIMIT = 1024;

export class CoapMessagingChannel implements MessagingChannel {
  private wanted: (m: MessageReceiving | DeliveryReportReceiving) => boolean = () => false;
  private readonly queue: Arrival[] = [];
  private waiter: ((a: Arrival | undefined) => void) | undefined;
  private readonly text = new TextDecoder();

  /** `deadlineMs`: bound of one exchange (the CLI's timeout × (retries + 1), as for register). */
  constructor(
    private readonly endpoint: CoapEndpoint,
    private readonly deadlineMs: number,
    private readonly io: Io,
  ) {
    endpoint.serve((body) => this.onPost(body));
  }

  async register(applicationId: ApplicationId): Promise<Answered<unknown>> {
    const reply = await this.post(encodeCoapDeviceRequest({ kind: 'REGISTRATION_REQUEST', applicationId }));
    if (reply.code !== '2.04') return this.coapError(reply);
    const decoded = decodeCoapDeviceResponse(reply.payload);
    if (!decoded.ok) return this.unreadable(reply, decoded.error);
    const m = decoded.value;
    return { line: this.line(m, reply), response: m, ...(m.result === 'FAILURE' ? { failure: m.failureReason } : {}) };
  }

  async sendMessage(request: MessageSendingRequest): Promise<Answered<MessageSendingResponse>> {
    const reply = await this.post(encodeCoapDeviceDelivery(request));
    if (reply.code !== '2.04') return this.coapError(reply);
    const decoded = decodeCoapMessageResponse(reply.payload);
    if (!decoded.ok) return this.unreadable(reply, decoded.error);
    const m = decoded.value.messageId === request.messageId ? decoded.value : undefined;
    if (m === undefined) return this.unreadable(reply, `MSGRESP for another msgId ${decoded.value.messageId}`);
    return { line: this.line(m, reply), response: m, ...(m.result === 'FAILURE' ? { failure: m.failureReason } : {}) };
  }

  async sendReport(report: DeliveryReportSendingRequest): Promise<void> {
    const reply = await this.post(encodeCoapDeviceDelivery(report));
    this.io.err(`device: IMDN for ${report.messageId} to ${report.targetAddress} answered ${reply.code}${reply.payload.length > 0 ? ` ${this.text.decode(reply.payload)}` : ''}\n`);
  }

  want(accept: (m: MessageReceiving | DeliveryReportReceiving) => boolean): void {
    this.wanted = accept;
  }

  next(timeoutMs: number): Promise<Arrival | undefined> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.waiter = (a) => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(a);
      };
    });
  }

  close(): Promise<void> {
    this.waiter?.(undefined);
    return this.endpoint.close();
  }

  private onPost(body: Uint8Array): { code: number; payload?: Uint8Array } {
    const decoded = decodeCoapGatewayDelivery(body);
    if (!decoded.ok) {
      this.io.err(`device: refused a POST from the gateway (4.00): ${decoded.error}\n`);
      return { code: COAP_CODE.BAD_REQUEST, payload: new TextEncoder().encode(JSON.stringify({ error: decoded.error.slice(0, 80) })) };
    }
    const m = decoded.value;
    if (!this.wanted(m)) {
      this.io.err(`device: not taken (5.03): ${m.kind} ${m.messageId} from ${m.originatorAddress}\n`);
      return { code: COAP_CODE.SERVICE_UNAVAILABLE };
    }
    const arrival: Arrival = {
      message: m,
      line: { ...withoutHex(messageJson(m, new Uint8Array(0), this.endpoint.layer2Id)), json: this.text.decode(body) },
      ack: () => Promise.resolve(),
    };
    if (this.waiter !== undefined) this.waiter(arrival);
    else if (this.queue.length < QUEUE_LIMIT) this.queue.push(arrival);
    return { code: COAP_CODE.CHANGED };
  }

  private async post(body: Uint8Array): Promise<CoapReply> {
    try {
      return await this.endpoint.post(body, this.deadlineMs);
    } catch (err) {
      if (!(err instanceof CoapEndpointError)) throw err;
      throw new MessagingError({ error: err.reason, layer2Id: this.endpoint.layer2Id, message: err.message }, err.message);
    }
  }

  private line(m: Parameters<typeof messageJson>[0], reply: CoapReply): Record<string, unknown> {
    return { ...withoutHex(messageJson(m, new Uint8Array(0), this.endpoint.layer2Id)), coapCode: reply.code, json: this.text.decode(reply.payload) };
  }

  private coapError<R>(reply: CoapReply): Answered<R> {
    return { line: { type: 'COAP_ERROR', code: reply.code, layer2Id: this.endpoint.layer2Id, body: this.text.decode(reply.payload) }, failure: reply.code };
  }

  private unreadable(reply: CoapReply, why: string): never {
    throw new MessagingError({ error: 'BAD_ANSWER', layer2Id: this.endpoint.layer2Id, body: this.text.decode(reply.payload), message: why }, `2.04 without a usable result: ${why}`);
  }
}

function withoutHex(line: Record<string, unknown>): Record<string, unknown> {
  const { hex: _hex, ...rest } = line;
  return rest;
}
