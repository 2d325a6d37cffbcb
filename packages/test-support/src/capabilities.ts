import { spawnSync } from 'node:child_process';

/**
 * setpriv (util-linux) options that remove CAP_NET_RAW from the bounding, inheritable and ambient
 * sets. A process started through them keeps its user (root stays uid 0, so it can still read a
 * checkout only root can read) but can no longer gain CAP_NET_RAW, so `socket(AF_PACKET, …)` fails
 * with EPERM. For root, execve gives permitted = inheritable | bounding | ambient, hence all three.
 */
const DROP_NET_RAW = ['--bounding-set=-net_raw', '--inh-caps=-net_raw', '--ambient-caps=-net_raw'];

/**
 * Why {@link withoutNetRaw} cannot be used here, or `undefined` when it can: setpriv must exist
 * and this process must be allowed to shrink the bounding set (CAP_SETPCAP, i.e. root). Checked by
 * running `setpriv … true` once (bounded by 5 s).
 */
export function dropNetRawUnavailable(): string | undefined {
  const r = spawnSync('setpriv', [...DROP_NET_RAW, 'true'], { encoding: 'utf8', timeout: 5000 });
  if (r.error !== undefined) return `setpriv (util-linux) is not available to drop CAP_NET_RAW (${r.error.message})`;
  if (r.status !== 0) return `setpriv cannot drop CAP_NET_RAW here (exit ${r.status}: ${r.stderr.trim()}); it needs root (CAP_SETPCAP)`;
  return undefined;
}

/**
 * The command line that runs `argv` as this process's user but without CAP_NET_RAW
 * (`setpriv --bounding-set=-net_raw --inh-caps=-net_raw --ambient-caps=-net_raw argv…`). Check
 * {@link dropNetRawUnavailable} first.
 *
 * @returns a new argv; `argv[0]` of the result is `setpriv`
 */
export function withoutNetRaw(argv: readonly string[]): string[] {
  return ['setpriv', ...DROP_NET_RAW, ...argv];
}
