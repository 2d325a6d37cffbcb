import type { Layer2Id, LinkKind } from '../ids';
import type { DeviceDeliveryMessage, GatewayDeliveryMessage } from '../delivery-messages';
import type { DeviceRequest, DeviceResponse } from '../messages';
import { DeviceLinkError, type DeviceLink, type DeviceLinkHandler, type DeviceLinkStats, type GatewayUnit } from '../ports/device-link';

/**
 * `DeviceLink` double: the test plays the devices. `deliver()` hands a request to the core as if it
 * arrived from a Layer-2 ID; responses the core sends are kept per Layer-2 ID and can be awaited.
 * Passes the same contract suite as the socket links.
 */
export class InMemoryDeviceLink implements DeviceLink {
  readonly endpoint: string;
  /** Every response sent, in order. */
  readonly sent: Array<{ to: Layer2Id; response: DeviceResponse }> = [];
  /** Every message-delivery unit sent (0x03, 0x04, 0x06), in order. */
  readonly sentDeliveries: Array<{ to: Layer2Id; message: GatewayDeliveryMessage }> = [];
  private readonly deliveryWaiters = new Map<Layer2Id, Array<(m: GatewayDeliveryMessage) => void>>();
  private readonly unreadDeliveries = new Map<Layer2Id, GatewayDeliveryMessage[]>();
  private handler: DeviceLinkHandler | undefined;
  private readonly waiters = new Map<Layer2Id, Array<(r: DeviceResponse) => void>>();
  private readonly unread = new Map<Layer2Id, DeviceResponse[]>();
  private stopped = false;
  private inboundUnits = 0;

  constructor(readonly kind: LinkKind = 'udp') {
    this.endpoint = `memory://${kind}`;
  }

  async start(handler: DeviceLinkHandler): Promise<void> {
    if (this.handler !== undefined && !this.stopped) throw new DeviceLinkError('BIND', `${this.endpoint} is already running`);
    this.handler = handler;
    this.stopped = false;
  }

  /**
   * Records the response for `to`. Rejects `CLOSED` when not running, `BAD_ADDRESS` for an empty
   * Layer-2 ID or one with white space (the in-memory "wire" has no other address rule).
   */
  async send(to: Layer2Id, unit: GatewayUnit): Promise<void> {
    if (this.stopped || this.handler === undefined) throw new DeviceLinkError('CLOSED', 'device link is not running');
    if (to.length === 0 || /\s/.test(to)) throw new DeviceLinkError('BAD_ADDRESS', `not a Layer-2 ID: ${JSON.stringify(to)}`);
    if (unit.kind !== 'REGISTRATION_RESPONSE' && unit.kind !== 'DEREGISTRATION_RESPONSE') {
      this.sentDeliveries.push({ to, message: unit });
      const w = this.deliveryWaiters.get(to)?.shift();
      if (w !== undefined) w(unit);
      else this.unreadDeliveries.set(to, [...(this.unreadDeliveries.get(to) ?? []), unit]);
      return;
    }
    const response: DeviceResponse = unit;
    this.sent.push({ to, response });
    const w = this.waiters.get(to)?.shift();
    if (w !== undefined) w(response);
    else this.unread.set(to, [...(this.unread.get(to) ?? []), response]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  /** `DeviceLink.stats`: units delivered (`deliver`, `deliverMalformed`). */
  stats(): DeviceLinkStats {
    return { inboundUnits: this.inboundUnits };
  }

  /** Device side: a request arrives from `from`. Throws if the link is not started. */
  deliver(from: Layer2Id, request: DeviceRequest): void {
    if (this.handler === undefined || this.stopped) throw new Error('InMemoryDeviceLink: not started');
    this.inboundUnits += 1;
    try {
      this.handler.onRequest(request, from, this.kind);
    } catch {
      // As a real link: a throwing handler never reaches the device side.
    }
  }

  /**
   * Device side: a message-delivery message arrives from `from`. A handler without
   * `onDeliveryMessage` gets what a binary link does: a MESSAGE SENDING REQUEST answered
   * MESSAGE_TYPE_NOT_SUPPORTED, anything else dropped, each reported as a protocol error.
   */
  deliverDelivery(from: Layer2Id, message: DeviceDeliveryMessage): void {
    const handler = this.handler;
    if (handler === undefined || this.stopped) throw new Error('InMemoryDeviceLink: not started');
    this.inboundUnits += 1;
    if (handler.onDeliveryMessage === undefined) {
      const answered = message.kind === 'MESSAGE_SENDING_REQUEST';
      if (message.kind === 'MESSAGE_SENDING_REQUEST') {
        const { messageId, applicationId } = message;
        void this.send(from, { kind: 'MESSAGE_SENDING_RESPONSE', messageId, result: 'FAILURE', failureReason: 'MESSAGE_TYPE_NOT_SUPPORTED', ...(applicationId === undefined ? {} : { applicationId }) });
      }
      handler.onProtocolError({ link: this.kind, from, detail: `${message.kind}: no message-delivery handler`, answered, octets: 1 });
      return;
    }
    try {
      handler.onDeliveryMessage(message, from, this.kind);
    } catch {
      // As a real link: a throwing handler never reaches the device side.
    }
  }

  /** Device side: the next message-delivery unit to `to` not read yet; rejects after `timeoutMs`. */
  nextDelivery(to: Layer2Id, timeoutMs = 2000): Promise<GatewayDeliveryMessage> {
    const queued = this.unreadDeliveries.get(to);
    if (queued !== undefined && queued.length > 0) return Promise.resolve(queued.shift() as GatewayDeliveryMessage);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const list = this.deliveryWaiters.get(to) ?? [];
        const i = list.indexOf(done);
        if (i >= 0) list.splice(i, 1);
        reject(new Error(`no message-delivery unit to ${to} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (m: GatewayDeliveryMessage) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.deliveryWaiters.set(to, [...(this.deliveryWaiters.get(to) ?? []), done]);
    });
  }

  /** Device side: an undecodable unit arrives from `from`. */
  deliverMalformed(from: Layer2Id, detail: string, octets = 1, answer?: GatewayDeliveryMessage): void {
    if (this.handler === undefined || this.stopped) throw new Error('InMemoryDeviceLink: not started');
    this.inboundUnits += 1;
    if (answer !== undefined) void this.send(from, answer);
    this.handler.onProtocolError({ link: this.kind, from, detail, answered: answer !== undefined, octets });
  }

  /** Device side: the next response to `to` not read yet; rejects after `timeoutMs`. */
  nextResponse(to: Layer2Id, timeoutMs = 2000): Promise<DeviceResponse> {
    const queued = this.unread.get(to);
    if (queued !== undefined && queued.length > 0) return Promise.resolve(queued.shift() as DeviceResponse);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const list = this.waiters.get(to) ?? [];
        const i = list.indexOf(done);
        if (i >= 0) list.splice(i, 1);
        reject(new Error(`no response to ${to} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (r: DeviceResponse) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.set(to, [...(this.waiters.get(to) ?? []), done]);
    });
  }

  /** Responses sent to `to` so far (read or not). */
  responsesTo(to: Layer2Id): DeviceResponse[] {
    return this.sent.filter((s) => s.to === to).map((s) => s.response);
  }
}
