/**
 * Two Linux network namespaces joined by a veth pair, for the L2 demo and the L2 end-to-end tests:
 * the gateway (and the reference server, on that namespace's own loopback) in one, the constrained
 * devices in the other, Ethernet frames between them. Needs root (or CAP_NET_ADMIN) and iproute2.
 * Everything is created with unique names and removed by `remove()`, which never throws.
 */
import { execFileSync } from 'node:child_process';

export interface VethTestbed {
  /** Namespace of the gateway and the reference server. */
  readonly gatewayNs: string;
  /** Namespace of the devices. */
  readonly deviceNs: string;
  /** The gateway's interface (in `gatewayNs`) and its MAC, the "specified MAC address" of the seed CR NOTE. */
  readonly gatewayIf: string;
  readonly gatewayMac: string;
  /** The devices' interface (in `deviceNs`). */
  readonly deviceIf: string;
  readonly deviceIfMac: string;
  remove(): void;
}

const ip = (args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).toString();

/** Whether this process may build a testbed; the reason when it may not. */
export function vethSupport(): { ok: true } | { ok: false; why: string } {
  if (process.platform !== 'linux') return { ok: false, why: `raw Ethernet needs Linux (this is ${process.platform})` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return { ok: false, why: 'creating network namespaces and opening AF_PACKET sockets needs root (or CAP_NET_ADMIN and CAP_NET_RAW)' };
  }
  try {
    ip(['-V']);
  } catch {
    return { ok: false, why: 'the `ip` command (iproute2) is not installed' };
  }
  return { ok: true };
}

/**
 * Creates the namespaces and the veth pair, brings every interface up and gives the gateway's side
 * the MAC `gatewayMac`. `tag` keeps names unique (interface names are at most 15 characters).
 * @throws Error with the failing `ip` command's message; whatever was created is removed first.
 */
export function createVethTestbed(tag = `${process.pid % 100000}`, gatewayMac = '02:00:00:00:5a:01'): VethTestbed {
  const gatewayNs = `m5gw-${tag}`;
  const deviceNs = `m5dev-${tag}`;
  const gatewayIf = `m5g${tag}`.slice(0, 15);
  const deviceIf = `m5d${tag}`.slice(0, 15);
  const remove = () => {
    for (const ns of [gatewayNs, deviceNs]) {
      try {
        ip(['netns', 'del', ns]);
      } catch {
        // not there
      }
    }
  };
  try {
    ip(['netns', 'add', gatewayNs]);
    ip(['netns', 'add', deviceNs]);
    ip(['link', 'add', gatewayIf, 'netns', gatewayNs, 'type', 'veth', 'peer', 'name', deviceIf, 'netns', deviceNs]);
    ip(['-n', gatewayNs, 'link', 'set', gatewayIf, 'address', gatewayMac]);
    for (const [ns, dev] of [
      [gatewayNs, 'lo'],
      [gatewayNs, gatewayIf],
      [deviceNs, 'lo'],
      [deviceNs, deviceIf],
    ] as const) {
      ip(['-n', ns, 'link', 'set', dev, 'up']);
    }
    const link = JSON.parse(ip(['-n', deviceNs, '-j', 'link', 'show', deviceIf])) as Array<{ address: string }>;
    return { gatewayNs, deviceNs, gatewayIf, gatewayMac, deviceIf, deviceIfMac: link[0]?.address ?? '', remove };
  } catch (err) {
    remove();
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`cannot build the veth testbed: ${e.stderr?.toString().trim() || e.message}`);
  }
}
