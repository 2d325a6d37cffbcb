/**
 * IPv4-mapped IPv6 addresses (RFC 4291 §2.5.5.2): a dual-stack socket reports an IPv4 peer as
 * `::ffff:192.0.2.7`. The UDP link builds Layer-2 IDs from the plain IPv4 form so a device keeps
 * one Layer-2 ID whether the gateway listens on `0.0.0.0` or `::`.
 */
import { isIP } from 'node:net';

/** `::ffff:192.0.2.7` → `192.0.2.7`; any other address is returned lower-cased and otherwise unchanged. */
export function unmapIpv4(address: string): string {
  const a = address.toLowerCase();
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  const v4 = m?.[1];
  return v4 !== undefined && isIP(v4) === 4 ? v4 : a;
}
