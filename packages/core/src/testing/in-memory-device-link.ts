import type { DeviceDeliveryMessage, GatewayDeliveryMessage } from '../delivery-messages';
import type { Layer2Id, LinkKind } from '../ids';
import type { DeviceRequest, DeviceResponse } from '../messages';
import { DeviceLinkError, type DeviceLink, type DeviceLinkErrorReason, type DeviceLinkHandler, type DeviceLinkStats, type GatewayUnit } from '../ports/device-link';

/**
 * `DeviceLink` double: the test plays the devices. `deliver()` hands a request to the core as if it
 * arrived from a Layer-2 ID; responses the core sends are kept per Layer-2 ID and can be awaited.
 * Message-delivery units (docs/wire-formats.md §5) go the same way: `deliverMessage()` in,
 * `units` / `unitsTo()` / `nextUnit()` out; `failNextSends()` makes sends reject, and
 * `maxPayloadOctets` can be set. Passes the same contract suite as the socket links.
 */
export class InMemoryDeviceLink implements DeviceLink {
  readonly endpoint: string;
  /** Every response sent, in order. */
  readonly sent: Array<{ to: Layer2Id; response: DeviceResponse }> = [];
  /** Every message-delivery unit sent (0x03, 0x04, 0x06), in order,. */
  readonly units: Array<{ to: Layer2Id; unit: GatewayDeliveryMessage }> = [];
  /** `DeviceLink.maxPayloadOctets`; undefined: the link does not say (the core assumes 65 535). */
  maxPayloadOctets: number | undefined;
  /** Every message-delivery unit sent, as the contract suite reads them (the same list as `units`). */
  get sentDeliveries(): Array<{ to: Layer2Id; message: GatewayDeliveryMessage }> {
    return this.units.map((u) => ({ to: u.to, message: u.unit }));
  }
  private handler: DeviceLinkHandler | undefined;
  private readonly unitWaiters = new Map<Layer2Id, Array<(u: GatewayDeliveryMessage) => void>>();
  private readonly unreadUnits = new Map<Layer2Id, GatewayDeliveryMessage[]>();
  private failing: { count: number; reason: DeviceLinkErrorReason } = { count: 0, reason: 'SEND' };
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
   * Records the unit for `to`. Rejects `CLOSED` when not running, `BAD_ADDRESS` for an empty
   * Layer-2 ID or one with white space (the in-memory "wire" has no other address rule), and the
   * reason given to `failNextSends()` while that count lasts.
   */
  async send(to: Layer2Id, unit: GatewayUnit): Promise<void> {
    if (this.stopped || this.handler === undefined) throw new DeviceLinkError('CLOSED', 'device link is not running');
    if (to.length === 0 || /\s/.test(to)) throw new DeviceLinkError('BAD_ADDRESS', `not a Layer-2 ID: ${JSON.stringify(to)}`);
    if (this.failing.count > 0) {
      this.failing.count--;
      throw new DeviceLinkError(this.failing.reason, `send to ${to} failed (test)`);
    }
    if (unit.kind !== 'REGISTRATION_RESPONSE' && unit.kind !== 'DEREGISTRATION_RESPONSE') {
      this.units.push({ to, unit });
      const uw = this.unitWaiters.get(to)?.shift();
      if (uw !== undefined) uw(unit);
      else this.unreadUnits.set(to, [...(this.unreadUnits.get(to) ?? []), unit]);
      return;
    }
    const response = unit;
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

  /** Device side: a message-delivery message (0x01, 0x02, 0x05) arrives from `from` (as {@link deliverDelivery}). */
  deliverMessage(from: Layer2Id, message: DeviceDeliveryMessage): void {
    this.deliverDelivery(from, message);
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

  /** The next `count` sends reject with `DeviceLinkError` `reason` (a lost peer, a full queue). */
  failNextSends(count: number, reason: DeviceLinkErrorReason = 'SEND'): void {
    this.failing = { count, reason };
  }

  /** Message-delivery units sent to `to` so far (read or not). */
  unitsTo(to: Layer2Id): GatewayDeliveryMessage[] {
    return this.units.filter((u) => u.to === to).map((u) => u.unit);
  }

  /** Device side: the next message-delivery unit to `to` not read yet; rejects after `timeoutMs` (real time). */
  nextUnit(to: Layer2Id, timeoutMs = 2000): Promise<GatewayDeliveryMessage> {
    const queued = this.unreadUnits.get(to);
    if (queued !== undefined && queued.length > 0) return Promise.resolve(queued.shift() as GatewayDeliveryMessage);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const list = this.unitWaiters.get(to) ?? [];
        const i = list.indexOf(done);
        if (i >= 0) list.splice(i, 1);
        reject(new Error(`no delivery unit to ${to} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (u: GatewayDeliveryMessage) => {
        clearTimeout(timer);
        resolve(u);
      };
      this.unitWaiters.set(to, [...(this.unitWaiters.get(to) ?? []), done]);
    });
  }

  /** Device side: the next message-delivery unit to `to` not read yet (as {@link nextUnit}). */
  nextDelivery(to: Layer2Id, timeoutMs = 2000): Promise<GatewayDeliveryMessage> {
    return this.nextUnit(to, timeoutMs);
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
