/**
 * `L2DeviceLink`: the `DeviceLink` port over raw Ethernet frames to the gateway's specified MAC
 * address (seed CR NOTE under TS 24.538 6.3.2.1.2; docs/wire-formats.md §3.1).
 *
 * A device's Layer-2 ID is its source MAC (12 lower-case hex characters); the response goes back to
 * that MAC from the gateway's MAC. The link reads the wire only through a {@link FrameSocket}, so it
 * runs unchanged over `AF_PACKET` (`@msgin5g/raw-ethernet`) and over the in-memory segment of the
 * tests.
 *
 * What happens to an inbound frame, in this order:
 *
 * | frame | handling |
 * |---|---|
 * | pktType OUTGOING (this host sent it) | ignored |
 * | shorter than the 14-octet header | dropped, reported (`answered: false`, no `from`) |
 * | source MAC = the gateway's MAC (its own frame seen again, e.g. on `lo`) | ignored |
 * | destination ≠ the gateway's MAC (another host, broadcast, multicast) | ignored |
 * | another EtherType (after up to two VLAN tags) | ignored |
 * | longer than MTU + header + two VLAN tags | dropped unanswered, reported |
 * | group (multicast) source MAC | dropped unanswered, reported (no one to answer) |
 * | no length field, or a length past the end | dropped unanswered, reported |
 * | M5 unit (length ≥ 0) | `decodeDeviceUnit`: a registration request reaches `onRequest`, a message-delivery unit (0x01, 0x02, 0x05; docs/wire-formats.md §5) `onDeliveryMessage`; anything else is answered per the docs/wire-formats.md §2 reject table (length 0 is an empty unit: not answered) and reported. A handler without `onDeliveryMessage`: a 0x01 is answered MESSAGE_TYPE_NOT_SUPPORTED, 0x02 / 0x05 dropped, each reported |
 *
 * "Ignored" frames are not protocol errors: on a shared segment, or with a socket bound to all
 * EtherTypes, they are other hosts' ordinary traffic. They are counted ({@link L2DeviceLink.counters})
 * and logged at debug level, never answered, never reported through `onProtocolError` (the gateway
 * counts protocol errors; a busy segment must not inflate them). The destination is checked on the
 * bytes, never trusted from pktType: the kernel marks a frame to a secondary unicast address, or a
 * VLAN-tagged frame with no VLAN device, OTHERHOST even when it is addressed to us.
 *
 * Responses and message-delivery units (0x03, 0x04, 0x06) are Ethernet II frames: destination = the stored Layer-2 ID, source = the gateway's MAC,
 * the configured EtherType, the length, the M5 bytes, zero padding to 60 octets. Untagged: a VLAN
 * deployment runs the link on a VLAN sub-interface.
 *
 * Rejected alternative: answering broadcast requests (device discovery). The seed CR names a
 * specified MAC address; answering broadcasts would make every gateway on a segment answer.
 *
 * @see TS 24.538 6.3.2.1.2 (seed CR); docs/wire-formats.md §2, §3.1; docs/adr/0007-raw-l2-socket.md
 */
import {
  assertNever,
  DeviceLinkError,
  parseMacLayer2Id,
  silentLogger,
  type DeviceLink,
  type DeviceLinkHandler,
  type DeviceLinkStats,
  type DeviceProtocolError,
  type GatewayUnit,
  type Layer2Id,
  type Logger,
} from '@msgin5g/core';
import {
  answerWithoutDeliveryHandler,
  DEFAULT_L2_ETHERTYPE,
  decodeDeviceUnit,
  LENGTH_FIELD_OCTETS,
  messageReceivingMaxPayloadOctets,
  decodeM5Frame,
  encodeM5,
  encodeM5Frame,
  ETHERNET_HEADER_OCTETS,
  formatMac,
  isGroupMac,
  isUsableEtherType,
  macAt,
  MAX_VLAN_TAGS,
  VLAN_TAG_OCTETS,
} from '@msgin5g/protocol';
import { LinkLifecycle } from '@msgin5g/link-sdk';
import { frameSocketErrorCode, PACKET_TYPE, type FrameSocket } from '@msgin5g/raw-ethernet';

/** Options of {@link L2DeviceLink}. */
export interface L2DeviceLinkOptions {
  /** The frame socket on the device-facing interface; the link starts and closes it. */
  readonly socket: FrameSocket;
  /**
   * The specified MAC address devices send to (`02:00:00:00:00:01`, `02-00-…` or 12 hex
   * characters; unicast). Default: the interface's own MAC, learnt at `start()`. When it differs
   * from the interface's MAC, the link asks the socket to pass frames for it (PACKET_MR_UNICAST).
   */
  readonly mac?: string;
  /** EtherType of M5 frames, 0x0600..0xFFFF but not a VLAN TPID. Default 0x88B5 (docs/wire-formats.md §3.1, provisional). */
  readonly etherType?: number;
  readonly logger?: Logger;
}

/** Frames the link saw, by what it did with them. Counts since construction. */
export interface L2DeviceLinkCounters {
  /** Frames delivered by the socket. */
  received: number;
  /** Requests passed to `onRequest` and message-delivery units passed to `onDeliveryMessage`. */
  requests: number;
  /** Frames reported through `onProtocolError` (answered or not). */
  malformed: number;
  /** Ignored: this host's own transmissions (pktType OUTGOING). */
  ignoredOutgoing: number;
  /** Ignored: source MAC is the gateway's own MAC. */
  ignoredOwnSource: number;
  /** Ignored: to another MAC, broadcast or multicast. */
  ignoredOtherDestination: number;
  /** Ignored: another EtherType. */
  ignoredOtherEtherType: number;
}

/** What a running link knows: the MAC in use and the largest frame worth reading. */
interface Opened {
  readonly mac: string;
  readonly mtu: number;
  readonly maxFrameOctets: number;
}

type DriverOperation = 'start' | 'send' | 'receive';

/**
 * A `DeviceLink` for devices that send M5 binary messages in Ethernet frames.
 *
 * `start()` rejects with `DeviceLinkError` `BIND` (no privilege for raw frames, no such interface,
 * interface is not usable, already running) or `CLOSED` (stopped while starting); `send()` rejects
 * with `BAD_ADDRESS` (not a unicast MAC Layer-2 ID), `SEND` (the OS refused the frame) or `CLOSED`
 * (not running). The constructor throws `TypeError` on an invalid option (configuration bug).
 */
export class L2DeviceLink implements DeviceLink {
  readonly kind = 'l2' as const;
  /** What the link did with the frames it saw (see the module docs); for metrics and tests. */
  readonly counters: L2DeviceLinkCounters = {
    received: 0,
    requests: 0,
    malformed: 0,
    ignoredOutgoing: 0,
    ignoredOwnSource: 0,
    ignoredOtherDestination: 0,
    ignoredOtherEtherType: 0,
  };
  private readonly socket: FrameSocket;
  private readonly configuredMac: string | undefined;
  private readonly etherType: number;
  private readonly logger: Logger;
  private readonly lifecycle: LinkLifecycle<Opened>;
  private inboundUnits = 0;
  /** The MAC in use once started (the configured one, or the interface's). */
  private activeMac: string | undefined;
  /** The interface MTU learnt at the last `start()`. */
  private mtu: number | undefined;

  constructor(options: L2DeviceLinkOptions) {
    if (options.socket === undefined || options.socket === null) throw new TypeError('L2DeviceLink needs a FrameSocket');
    const etherType = options.etherType ?? DEFAULT_L2_ETHERTYPE;
    if (!isUsableEtherType(etherType)) {
      throw new TypeError(`L2DeviceLink etherType must be an Ethernet II type 0x0600..0xffff other than a VLAN TPID, got ${String(etherType)}`);
    }
    if (options.mac !== undefined) {
      const mac = parseMacLayer2Id(options.mac);
      if (!mac.ok) throw new TypeError(`L2DeviceLink mac: ${mac.error}`);
      if (isGroupMac(mac.value)) throw new TypeError(`L2DeviceLink mac must be a unicast address, got ${options.mac}`);
      this.configuredMac = mac.value;
    }
    this.socket = options.socket;
    this.etherType = etherType;
    this.logger = options.logger ?? silentLogger;
    this.lifecycle = new LinkLifecycle({ name: () => `L2 device link ${this.endpoint}`, close: () => this.closeSocketQuietly(), logger: this.logger });
  }

  /** `l2://veth0/02:00:00:00:00:01?ethertype=0x88b5`; the MAC is `*` until the interface's is known. */
  /** `DeviceLink.stats`: {@link DeviceLinkStats.inboundUnits} counts every frame addressed to this link (its MAC and EtherType, runts included; other hosts' traffic is not) since construction. */
  stats(): DeviceLinkStats {
    return { inboundUnits: this.inboundUnits };
  }

  get endpoint(): string {
    const mac = this.activeMac ?? this.configuredMac;
    return `l2://${this.socket.interfaceName}/${mac === undefined ? '*' : formatMac(mac)}?ethertype=0x${this.etherType.toString(16).padStart(4, '0')}`;
  }

  /** Opens the frame socket; resolves when frames can arrive. Rejects with `DeviceLinkError` `BIND` or `CLOSED`. */
  async start(handler: DeviceLinkHandler): Promise<void> {
    const { mtu } = await this.lifecycle.start(handler, () => this.open());
    this.logger.info({ link: 'l2', endpoint: this.endpoint, interface: this.socket.interfaceName, mtu }, 'L2 device link listening');
  }

  private async open(): Promise<Opened> {
    let info;
    try {
      info = await this.socket.start(
        (frame, pktType) => this.onFrame(frame, pktType),
        (err) => {
          const e = this.classify(err, 'receive');
          this.logger.error({ link: 'l2', endpoint: this.endpoint, reason: e.reason, err: e.message }, 'L2 device link socket error');
        },
      );
    } catch (err) {
      await this.closeSocketQuietly();
      throw this.classify(err, 'start');
    }
    const mac = this.configuredMac ?? info.mac;
    try {
      if (isGroupMac(mac)) throw new DeviceLinkError('BIND', `interface ${this.socket.interfaceName} has a group MAC ${formatMac(mac)}; configure a unicast MAC for the L2 link`);
      if (mac !== info.mac) {
        if (this.socket.addUnicastAddress === undefined) {
          this.logger.warn({ link: 'l2', mac: formatMac(mac), interfaceMac: formatMac(info.mac) }, 'frame socket cannot add a unicast address: frames to the specified MAC arrive only if the interface passes them (veth, lo, promiscuous)');
        } else {
          await this.socket.addUnicastAddress(mac).catch((err: unknown) => {
            throw this.classify(err, 'start');
          });
        }
      }
    } catch (err) {
      await this.closeSocketQuietly();
      throw err;
    }
    this.activeMac = mac;
    this.mtu = info.mtu;
    // Largest frame the interface can carry with up to two VLAN tags; anything longer is junk.
    const maxFrameOctets = info.mtu + ETHERNET_HEADER_OCTETS + MAX_VLAN_TAGS * VLAN_TAG_OCTETS;
    return { mac, mtu: info.mtu, maxFrameOctets };
  }

  /**
   * `DeviceLink.maxPayloadOctets`: the largest Payload of a MESSAGE RECEIVING in one untagged frame,
   * its other fields at their longest: the interface MTU (the Ethernet payload limit) minus the
   * 2-octet M5 length field (docs/wire-formats.md §3.1) minus `MESSAGE_RECEIVING_OVERHEAD_OCTETS`
   * (280): 1,218 octets at MTU 1,500. Known after `start()` (undefined before the first).
   */
  get maxPayloadOctets(): number | undefined {
    return this.mtu === undefined ? undefined : messageReceivingMaxPayloadOctets(Math.max(0, this.mtu - LENGTH_FIELD_OCTETS));
  }

  /**
   * Sends `encodeM5(unit)` (a response, or a message-delivery unit: 0x03, 0x04, 0x06) in one frame
   * to the device MAC `to`. Resolves when the OS has taken the frame. Rejects with
   * `DeviceLinkError` `BAD_ADDRESS`, `SEND` (also a frame over the MTU) or `CLOSED`.
   */
  async send(to: Layer2Id, unit: GatewayUnit): Promise<void> {
    const state = this.lifecycle.requireRunning('send a response').resource;
    const target = parseMacLayer2Id(to);
    if (!target.ok) throw new DeviceLinkError('BAD_ADDRESS', `not an L2 Layer-2 ID: ${target.error}`);
    if (isGroupMac(target.value)) throw new DeviceLinkError('BAD_ADDRESS', `L2 Layer-2 ID ${to} is a group address, not a device`);
    await this.sendFrame(state.mac, target.value, encodeM5(unit));
  }

  /** Closes the frame socket. Idempotent; afterwards `send` rejects with `CLOSED`. */
  async stop(): Promise<void> {
    const wasRunning = this.lifecycle.running !== undefined;
    await this.lifecycle.stop();
    if (wasRunning) this.logger.info({ link: 'l2', endpoint: this.endpoint }, 'L2 device link stopped');
  }

  private onFrame(frame: Uint8Array, pktType: number): void {
    const state = this.lifecycle.running?.resource;
    if (state === undefined) return;
    this.counters.received += 1;
    if (pktType === PACKET_TYPE.OUTGOING) return this.ignore('ignoredOutgoing', frame);
    if (frame.length < ETHERNET_HEADER_OCTETS) {
      this.inboundUnits += 1;
      return this.report({ link: 'l2', detail: `runt frame of ${frame.length} octets: no complete Ethernet header`, answered: false, octets: frame.length });
    }
    const source = macAt(frame, 6);
    if (source === state.mac) return this.ignore('ignoredOwnSource', frame);
    if (macAt(frame, 0) !== state.mac) return this.ignore('ignoredOtherDestination', frame);
    const from = isGroupMac(source) ? undefined : (source as Layer2Id);
    const reading = decodeM5Frame(frame, this.etherType); // reads the header only: cheap for any size
    if (reading.kind === 'OTHER_ETHERTYPE') return this.ignore('ignoredOtherEtherType', frame);
    this.inboundUnits += 1;
    if (frame.length > state.maxFrameOctets) {
      return this.report({ link: 'l2', from, detail: `frame of ${frame.length} octets exceeds the interface limit of ${state.maxFrameOctets}`, answered: false, octets: frame.length });
    }
    switch (reading.kind) {
      case 'MALFORMED':
        return this.report({ link: 'l2', from, detail: reading.detail, answered: false, octets: frame.length });
      case 'M5':
        break;
      default:
        return assertNever(reading, 'M5 frame reading');
    }
    if (from === undefined) {
      return this.report({ link: 'l2', detail: `frame from group address ${formatMac(source)}: no device to answer`, answered: false, octets: frame.length });
    }
    const unit = decodeDeviceUnit(reading.unit);
    let inbound: Exclude<typeof unit, { kind: 'DELIVERY' }>;
    if (unit.kind === 'DELIVERY') {
      const { message } = unit;
      if (this.lifecycle.running?.handler.onDeliveryMessage !== undefined) {
        this.counters.requests += 1;
        this.lifecycle.deliver((h) => h.onDeliveryMessage?.(message, from, 'l2'), 'onDeliveryMessage');
        return;
      }
      inbound = { kind: 'REJECT', ...answerWithoutDeliveryHandler(message) };
    } else {
      inbound = unit;
    }
    switch (inbound.kind) {
      case 'REQUEST':
        this.counters.requests += 1;
        this.lifecycle.deliver((h) => h.onRequest(inbound.request, from, 'l2'), 'onRequest');
        return;
      case 'REJECT': {
        let answered = false;
        if (inbound.answer !== null) {
          // Queued before the report so reports keep frame order; a failed send is only logged
          // (the answer is best effort, like the frame itself).
          answered = true;
          this.sendFrame(state.mac, from, inbound.answer).catch((err: unknown) => {
            this.logger.warn({ link: 'l2', layer2Id: from, err: errorText(err) }, 'could not answer a malformed frame');
          });
        }
        return this.report({ link: 'l2', from, detail: inbound.detail, answered, octets: frame.length });
      }
      default:
        return assertNever(inbound, 'inbound kind');
    }
  }

  private ignore(counter: Exclude<keyof L2DeviceLinkCounters, 'received' | 'requests' | 'malformed'>, frame: Uint8Array): void {
    this.counters[counter] += 1;
    this.logger.debug({ link: 'l2', octets: frame.length, why: counter, count: this.counters[counter] }, 'frame ignored');
  }

  private report(error: DeviceProtocolError): void {
    this.counters.malformed += 1;
    // debug, not warn: the handler (the gateway) logs and counts protocol errors.
    this.logger.debug({ link: 'l2', layer2Id: error.from, octets: error.octets, answered: error.answered, detail: error.detail }, 'malformed frame');
    this.lifecycle.deliver((h) => h.onProtocolError(error), 'onProtocolError');
  }

  private async sendFrame(source: string, destination: string, unit: Uint8Array): Promise<void> {
    const frame = encodeM5Frame({ destination, source, etherType: this.etherType, unit });
    try {
      await this.socket.send(frame);
    } catch (err) {
      throw this.classify(err, 'send');
    }
  }

  private async closeSocketQuietly(): Promise<void> {
    try {
      await this.socket.close();
    } catch (err) {
      this.logger.warn({ link: 'l2', err: errorText(err) }, 'closing the frame socket failed');
    }
  }

  /** The one place that turns `FrameSocket` errors (errno `code`s) into {@link DeviceLinkError}s. */
  private classify(err: unknown, op: DriverOperation): DeviceLinkError {
    if (err instanceof DeviceLinkError) return err;
    const code = frameSocketErrorCode(err);
    const where = `L2 device link ${this.endpoint}`;
    const why = errorText(err);
    const opts = { cause: err };
    const fallback = op === 'start' ? 'BIND' : 'SEND';
    switch (code) {
      case 'EPERM':
      case 'EACCES':
        return new DeviceLinkError(fallback, `${where}: no permission for raw Ethernet frames (run as root or grant CAP_NET_RAW): ${why}`, opts);
      case 'ENODEV':
      case 'ENXIO':
        return new DeviceLinkError(fallback, `${where}: no network interface ${JSON.stringify(this.socket.interfaceName)}: ${why}`, opts);
      case 'ENETDOWN':
        return new DeviceLinkError(fallback, `${where}: interface ${this.socket.interfaceName} is down: ${why}`, opts);
      case 'ENOTSUP':
      case 'EOPNOTSUPP':
      case 'EAFNOSUPPORT':
        return new DeviceLinkError(fallback, `${where}: raw Ethernet frames are not supported here (Linux only): ${why}`, opts);
      case 'EMSGSIZE':
        return new DeviceLinkError('SEND', `${where}: frame too large for the interface MTU: ${why}`, opts);
      case 'ENOBUFS':
      case 'EAGAIN':
        return new DeviceLinkError('SEND', `${where}: transmit queue full: ${why}`, opts);
      case 'EBADF':
        return new DeviceLinkError(op === 'start' ? 'BIND' : 'CLOSED', `${where}: frame socket is closed: ${why}`, opts);
      case 'EALREADY':
      case 'EISCONN':
        return new DeviceLinkError(fallback, `${where}: frame socket is already open: ${why}`, opts);
      default:
        return new DeviceLinkError(fallback, `${where}: ${op} failed: ${why}`, opts);
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
