import { networkInterfaces } from 'node:os';

/**
 * Why this host cannot run tests on the IPv6 loopback, or `undefined` when it can.
 *
 * Synchronous, so a test file can decide before it declares its tests whether they run or are
 * skipped (see {@link itUnless}). "Can" means `::1` is configured on an interface
 * (`os.networkInterfaces()`); it is not, for example, when IPv6 is disabled by sysctl
 * (`net.ipv6.conf.all.disable_ipv6=1`) or the kernel has no IPv6.
 *
 * @returns a one-line reason to print with the skip, or `undefined`.
 */
export function ipv6LoopbackUnavailable(): string | undefined {
  const has = Object.values(networkInterfaces()).some((list) => (list ?? []).some((a) => a.family === 'IPv6' && a.address === '::1'));
  return has ? undefined : 'IPv6 loopback ::1 is not configured on this host (IPv6 disabled?)';
}
