/**
 * The gateway's UDP address as a user writes it: `127.0.0.1:5690`, `[::1]:5690`, `localhost:5690`.
 * Host names are resolved later, when a socket is opened ({@link UdpDevice.open}).
 */
import { isIP } from 'node:net';
import type { Parsed } from '@msgin5g/core';

/** A parsed gateway address: `host` is an IP literal (brackets removed) or a host name; `port` 1..65535. */
export interface GatewayAddress {
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port` or `[ipv6]:port`. A bare IPv6 address without brackets is refused (the port would be ambiguous). */
export function parseGatewayAddress(input: string): Parsed<GatewayAddress> {
  const bad = (why: string): Parsed<GatewayAddress> => ({
    ok: false,
    error: `gateway must be host:port or [ipv6]:port (127.0.0.1:5690, [::1]:5690, localhost:5690): ${why}, got ${JSON.stringify(input)}`,
  });
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(String(input).trim());
  if (m === null) return bad('not host:port');
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return bad('port must be 1..65535');
  const bracketed = m[1];
  if (bracketed !== undefined) {
    if (isIP(bracketed) !== 6) return bad('brackets must hold an IPv6 address');
    return { ok: true, value: { host: bracketed.toLowerCase(), port } };
  }
  const host = m[2] as string;
  if (isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/.test(host)) return bad('bad host name');
  return { ok: true, value: { host: host.toLowerCase(), port } };
}

/** `127.0.0.1:5690`, `[::1]:5690`: the form a user writes, for messages and JSON output. */
export function formatGatewayAddress(address: GatewayAddress): string {
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
