/**
 * Test helper: constrained devices as raw Ethernet frames on the device side of a veth pair
 * (`createVethTestbed`, src/demo/netns.ts), so L2 e2e tests write and check every octet of
 * docs/wire-formats.md §3.1 themselves. A network namespace cannot be entered from inside the Jest
 * process, so one small relay process runs there (`ip netns exec NS node -e …`): it opens an
 * AF_PACKET socket (`@msgin5g/raw-ethernet`) bound to the M5 EtherType on the interface, prints each
 * frame it receives as a JSON line and sends each hex line it reads on stdin as one frame. Frames
 * to every MAC reach it (a veth passes them up as PACKET_OTHERHOST), so several devices, each known
 * by its own source MAC, share one relay; each keeps the frames addressed to it.
 */
import { LineProcess } from '@msgin5g/test-support';

/** `@msgin5g/raw-ethernet` as the L2 link resolves it (the gateway depends on it only through that link). */
const RAW_ETHERNET = require.resolve('@msgin5g/raw-ethernet', { paths: [require.resolve('@msgin5g/l2-device-link')] });

/** EtherType 0x88B5, the link's default (§3.1). */
export const M5_ETHERTYPE = 0x88b5;

/** The relay, run as `node -e` in the device namespace: argv[1] the interface, argv[2] the EtherType. */
const RELAY = `
const { AfPacketFrameSocket } = require(${JSON.stringify(RAW_ETHERNET)});
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const socket = new AfPacketFrameSocket({ interfaceName: process.argv[1], etherType: Number(process.argv[2]) });
socket.start((frame, pktType) => out({ frame: Buffer.from(frame).toString('hex'), pktType }), (err) => out({ error: String(err) })).then(
  (info) => {
    out({ ready: true, mac: info.mac });
    require('node:readline').createInterface({ input: process.stdin })
      .on('line', (line) => socket.send(Buffer.from(line.trim(), 'hex')).catch((err) => out({ error: String(err) })))
      .on('close', () => socket.close().then(() => process.exit(0)));
  },
  (err) => { process.stderr.write(String(err) + '\\n'); process.exit(2); },
);
`;

/** A frame a device got, split as §3.1 lays it out (the M5 unit without the length field and the padding). */
export interface ReceivedL2Frame {
  /** The whole frame, lower-case hex. */
  readonly frame: string;
  readonly dst: string;
  readonly src: string;
  readonly etherType: number;
  /** The M5 unit (N octets after the length field), lower-case hex. */
  readonly unit: string;
  /** The octets after the unit (zero padding up to 60 octets), lower-case hex. */
  readonly padding: string;
}

const canonicalMac = (mac: string): string => mac.toLowerCase().replace(/[:-]/g, '');

/** Splits a frame as §3.1 lays it out; throws when it is shorter than a header plus the length field or N runs past its end. */
export function splitL2Frame(hex: string): ReceivedL2Frame {
  const b = Buffer.from(hex, 'hex');
  if (b.length < 16) throw new Error(`frame too short: ${hex}`);
  const n = b.readUInt16BE(14);
  if (16 + n > b.length) throw new Error(`length field ${n} runs past the frame: ${hex}`);
  return {
    frame: hex,
    dst: b.subarray(0, 6).toString('hex'),
    src: b.subarray(6, 12).toString('hex'),
    etherType: b.readUInt16BE(12),
    unit: b.subarray(16, 16 + n).toString('hex'),
    padding: b.subarray(16 + n).toString('hex'),
  };
}

/** One device on the segment: its MAC (its Layer-2 ID) and the frames addressed to it. */
export class RawL2Device {
  readonly inbox: ReceivedL2Frame[] = [];
  private waiters: Array<() => void> = [];
  constructor(
    private readonly segment: RawL2Segment,
    /** 12 lower-case hex digits. */
    readonly mac: string,
  ) {}

  /** Takes a frame the relay received (called by the segment). */
  take(frame: ReceivedL2Frame): void {
    this.inbox.push(frame);
    for (const w of this.waiters.splice(0)) w();
  }

  /**
   * Sends the M5 unit given in hex in one frame built by hand (§3.1): destination `gatewayMac`,
   * source this device's MAC, the EtherType, the 2-octet length, the unit, zeros up to 60 octets.
   */
  send(unitHex: string, gatewayMac: string): void {
    const unit = Buffer.from(unitHex, 'hex');
    const header = Buffer.alloc(16);
    Buffer.from(canonicalMac(gatewayMac), 'hex').copy(header, 0);
    Buffer.from(this.mac, 'hex').copy(header, 6);
    header.writeUInt16BE(M5_ETHERTYPE, 12);
    header.writeUInt16BE(unit.length, 14);
    const frame = Buffer.concat([header, unit]);
    this.segment.write(frame.length >= 60 ? frame : Buffer.concat([frame, Buffer.alloc(60 - frame.length)]));
  }

  /** The next frame addressed to this device; rejects after `timeoutMs`. */
  async next(timeoutMs = 10_000): Promise<ReceivedL2Frame> {
    const f = await this.poll(timeoutMs);
    if (f === undefined) throw new Error(`device ${this.mac}: no frame within ${timeoutMs} ms`);
    return f;
  }

  /** The next frame addressed to this device, or `undefined` when none arrives within `timeoutMs`. */
  async poll(timeoutMs: number): Promise<ReceivedL2Frame | undefined> {
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
    return this.inbox.shift();
  }
}

/** The relay in the device namespace and the devices behind it. */
export class RawL2Segment {
  private readonly devices = new Map<string, RawL2Device>();
  /** Frames to no device of this segment, and relay errors, for failure messages. */
  readonly unclaimed: string[] = [];

  private constructor(private readonly relay: LineProcess) {}

  /** Starts the relay on `interfaceName` in `netns`; resolves once its socket is open. */
  static async open(netns: string, interfaceName: string): Promise<RawL2Segment> {
    const relay = LineProcess.start('ip', ['netns', 'exec', netns, process.execPath, '-e', RELAY, interfaceName, String(M5_ETHERTYPE)], { name: 'L2 relay', stdin: 'pipe' });
    const segment = new RawL2Segment(relay);
    await relay.waitForJson((l) => l.ready === true, 15_000, 'the relay ready');
    let seen = 0;
    const pump = (): void => {
      for (; seen < relay.stdout.length; seen++) segment.route(JSON.parse(relay.stdout[seen]!) as { frame?: string; error?: string });
    };
    // LineProcess offers no per-line callback: after each chunk (its lines are split by then), route the new lines.
    relay.child.stdout!.on('data', () => setImmediate(pump));
    return segment;
  }

  /** A device with source MAC `mac` (`02:00:00:00:00:aa` or 12 hex digits). */
  device(mac: string): RawL2Device {
    const d = new RawL2Device(this, canonicalMac(mac));
    this.devices.set(d.mac, d);
    return d;
  }

  write(frame: Buffer): void {
    this.relay.child.stdin!.write(`${frame.toString('hex')}\n`);
  }

  private route(line: { frame?: string; error?: string }): void {
    if (line.frame === undefined) {
      if (line.error !== undefined) this.unclaimed.push(`relay error: ${line.error}`);
      return;
    }
    const f = splitL2Frame(line.frame);
    const d = this.devices.get(f.dst);
    if (d === undefined) this.unclaimed.push(line.frame);
    else d.take(f);
  }

  /** Ends the relay (closing its stdin closes the socket), SIGKILL after 3 s. */
  async close(): Promise<void> {
    this.relay.child.stdin!.end();
    await this.relay.stop('SIGTERM', 3000);
  }
}
