/**
 * Loads `build/Release/raw_ethernet.node` (node-gyp builds it from `native/` during `pnpm install`)
 * and types its API. The only module that touches the addon; nothing is loaded until first use,
 * so importing the package never fails on a machine where the addon is missing.
 *
 * `process.dlopen` instead of `require`: the path is computed, and the addon is not a module the
 * bundler or the linter should resolve.
 */
import { join } from 'node:path';

/** What `interfaceInfo` and `PacketSocket.open` return. */
export interface NativeInterfaceInfo {
  readonly name: string;
  readonly index: number;
  /** 12 lower-case hex characters. */
  readonly mac: string;
  readonly mtu: number;
  /** ARPHRD_* (1 Ethernet, 772 loopback). */
  readonly hardwareType: number;
  readonly up: boolean;
  readonly running: boolean;
}

export interface NativePacketSocket {
  open(name: string, protocol: number, receiveBufferOctets: number): NativeInterfaceInfo;
  addUnicast(mac: string): void;
  start(onFrame: (frame: Buffer, pktType: number) => void, onError: (err: Error) => void): void;
  send(frame: Uint8Array): number;
  close(): void;
  stats(): FrameSocketStats;
}

/** Counters of one socket since `start`. */
export interface FrameSocketStats {
  /** Frames delivered to JavaScript. */
  readonly received: number;
  /** Frames longer than the receive buffer, dropped. */
  readonly truncated: number;
  /** Frames the kernel dropped because the receive queue was full (PACKET_STATISTICS). */
  readonly dropped: number;
  /** The socket's receive buffer as the kernel reports it (twice what was asked, see socket(7)); 0 when closed. */
  readonly receiveBufferOctets: number;
}

export interface NativeAddon {
  PacketSocket: new () => NativePacketSocket;
  interfaceInfo(name: string): NativeInterfaceInfo;
}

/** Where node-gyp puts the addon, relative to `dist/`. */
export const ADDON_PATH = join(__dirname, '..', 'build', 'Release', 'raw_ethernet.node');

let addon: NativeAddon | undefined;

/** The addon; throws an Error with `code` `ERR_RAW_ETHERNET_NOT_BUILT` when it cannot be loaded. */
export function nativeAddon(): NativeAddon {
  if (addon !== undefined) return addon;
  const m = { exports: {} as NativeAddon };
  try {
    process.dlopen(m, ADDON_PATH);
  } catch (err) {
    throw Object.assign(
      new Error(
        `the raw-ethernet native addon could not be loaded from ${ADDON_PATH}: ${err instanceof Error ? err.message : String(err)}. ` +
          'It is built by `pnpm install` (needs python3, make and a C compiler; set npm_config_nodedir=/usr to use the installed Node headers).',
        { cause: err },
      ),
      { code: 'ERR_RAW_ETHERNET_NOT_BUILT' },
    );
  }
  addon = m.exports;
  return addon;
}
