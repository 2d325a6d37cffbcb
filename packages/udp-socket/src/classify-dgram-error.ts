/**
 * The one place that reads `node:dgram` errors for the UDP-based device links (the UDP link and the
 * CoAP link): errno and Node error codes become a reason the links turn into their port's error
 * (`DeviceLinkError` of `@msgin5g/core`) and a message an operator can act on. It returns values,
 * not errors, so this driver helper stays free of the core's types.
 */

/** Which socket operation failed. `socket`: an error event outside a call (reported as a send failure). */
export type DgramOperation = 'bind' | 'send' | 'socket';

/** Same names as `DeviceLinkErrorReason` of `@msgin5g/core`. */
export type DgramErrorReason = 'BIND' | 'SEND' | 'BAD_ADDRESS' | 'CLOSED';

export interface DgramErrorClass {
  readonly reason: DgramErrorReason;
  readonly message: string;
}

/** Where the socket is: for messages. `link` names it (`UDP device link udp://0.0.0.0:5690`). */
export interface DgramSocketPlace {
  readonly host: string;
  readonly port: number;
  readonly link: string;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Classifies an error thrown or emitted by a `node:dgram` socket.
 * @returns the reason and a message naming the address, the port and what to do.
 */
export function classifyDgramError(err: unknown, op: DgramOperation, place: DgramSocketPlace): DgramErrorClass {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
  const where = `${place.host}:${place.port}`;
  const bindOr = (other: DgramErrorReason): DgramErrorReason => (op === 'bind' ? 'BIND' : other);
  switch (code) {
    case 'EADDRINUSE':
      return { reason: 'BIND', message: `UDP port ${place.port} is in use (${place.link}, bind ${where})` };
    case 'EACCES':
    case 'EPERM':
      return op === 'bind'
        ? { reason: 'BIND', message: `no permission to bind UDP ${where} (ports below 1024 need privileges)` }
        : { reason: 'SEND', message: `no permission to send (${code}): a firewall may block it` };
    case 'EADDRNOTAVAIL':
      return op === 'bind' ? { reason: 'BIND', message: `address ${place.host} is not configured on this host` } : { reason: 'BAD_ADDRESS', message: `cannot send from ${place.host} to that address` };
    case 'EAFNOSUPPORT':
      return { reason: bindOr('BAD_ADDRESS'), message: `address family not supported (is IPv6 disabled?) for ${where}` };
    case 'EINVAL':
    case 'ERR_INVALID_ARG_TYPE':
    case 'ERR_INVALID_ARG_VALUE':
    case 'ERR_SOCKET_BAD_PORT':
      return { reason: bindOr('BAD_ADDRESS'), message: `invalid address for UDP ${op}: ${errorText(err)}` };
    case 'ERR_SOCKET_DGRAM_NOT_RUNNING':
      return { reason: 'CLOSED', message: `${place.link} is closed` };
    case 'EMSGSIZE':
      return { reason: 'SEND', message: `datagram too large for UDP ${op}` };
    default:
      return { reason: bindOr('SEND'), message: `UDP ${op} failed on ${where} (${place.link}): ${errorText(err)}` };
  }
}
