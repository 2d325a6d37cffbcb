/**
 * `RawEthernetError`: every failure of this package, with the errno name in `code` (as Node's
 * system errors have it, and as the L2 link's classify function expects from a `FrameSocket`)
 * and a message that says what to do.
 */

/** Optional details of a {@link RawEthernetError}. */
export interface RawEthernetErrorDetails {
  /** Positive errno, when the kernel reported one. */
  readonly errno?: number;
  /** The failed system call (`socket(AF_PACKET, SOCK_RAW)`, `sendto`, …). */
  readonly syscall?: string;
  readonly cause?: unknown;
}

export class RawEthernetError extends Error {
  override readonly name = 'RawEthernetError';
  readonly errno: number | undefined;
  readonly syscall: string | undefined;

  constructor(
    /** The errno name (`EPERM`, `ENODEV`, `EMSGSIZE`, …) or `ERR_RAW_ETHERNET_NOT_BUILT`. */
    readonly code: string,
    message: string,
    /** The interface the operation was about. */
    readonly interfaceName: string,
    details: RawEthernetErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.errno = details.errno;
    this.syscall = details.syscall;
  }
}

/** What the caller was doing, for the message. */
export interface ErrorContext {
  readonly interfaceName: string;
  /** Octets of the frame being sent. */
  readonly frameOctets?: number;
  /** The interface MTU, when known. */
  readonly mtu?: number;
}

/**
 * Turns an error thrown by the addon (an `Error` with `code`, `errno`, `syscall`) into a
 * {@link RawEthernetError} with a message that names the fix. The one place messages are written.
 */
export function rawEthernetError(err: unknown, context: ErrorContext): RawEthernetError {
  if (err instanceof RawEthernetError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; errno?: unknown; syscall?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : 'EUNKNOWN';
  const details: RawEthernetErrorDetails = {
    ...(typeof e.errno === 'number' ? { errno: e.errno } : {}),
    ...(typeof e.syscall === 'string' ? { syscall: e.syscall } : {}),
    cause: err,
  };
  const name = context.interfaceName;
  const native = typeof e.message === 'string' ? e.message : String(err);
  let message: string;
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      message = `no permission to open a raw Ethernet socket on ${name}: AF_PACKET needs root or CAP_NET_RAW (for example \`sudo setcap cap_net_raw+ep "$(command -v node)"\`) [${native}]`;
      break;
    case 'ENODEV':
    case 'ENXIO':
      message = `no network interface named ${JSON.stringify(name)} (see \`ip link\`) [${native}]`;
      break;
    case 'ENETDOWN':
      message = `network interface ${name} is down (\`ip link set ${name} up\`) [${native}]`;
      break;
    case 'EMSGSIZE':
      message =
        context.mtu === undefined
          ? `frame of ${context.frameOctets ?? '?'} octets is too large for ${name} [${native}]`
          : `frame of ${context.frameOctets ?? '?'} octets exceeds what ${name} carries (MTU ${context.mtu} + 14-octet header, + 4 for a VLAN tag) [${native}]`;
      break;
    case 'ENOTSUP':
      message = `raw Ethernet (AF_PACKET) sockets exist only on Linux [${native}]`;
      break;
    default:
      message = `raw Ethernet socket on ${name}: ${native}`;
  }
  return new RawEthernetError(code, message, name, details);
}
