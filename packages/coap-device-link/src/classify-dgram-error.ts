/**
 * The one place where the CoAP device link turns `node:dgram` errors into the `DeviceLink` port's
 * {@link DeviceLinkError}s (`BIND`, `SEND`, `BAD_ADDRESS`, `CLOSED`), by the errno `code` and the
 * operation that failed, with a message an operator can act on. The driver's error stays as `cause`.
 *
 * Rejected alternative: passing driver errors through. The port promises `DeviceLinkError` only,
 * and `EADDRINUSE` alone does not say which link or port.
 */
import { DeviceLinkError } from '@msgin5g/core';

/** What the link was doing: binding, sending, or receiving on a running socket. */
export type DgramOperation = 'bind' | 'send' | 'socket';

/** Where the link binds, for messages: `host`, `port`, and its `endpoint` URI. */
export interface DgramErrorContext {
  readonly host: string;
  readonly port: number;
  readonly endpoint: string;
}

export function classifyDgramError(err: unknown, op: DgramOperation, where: DgramErrorContext): DeviceLinkError {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
  const at = `${where.host}:${where.port}`;
  const opts = { cause: err };
  switch (code) {
    case 'EADDRINUSE':
      return new DeviceLinkError('BIND', `UDP port ${where.port} is in use (CoAP device link, bind ${at})`, opts);
    case 'EACCES':
    case 'EPERM':
      return op === 'bind'
        ? new DeviceLinkError('BIND', `no permission to bind UDP ${at} (ports below 1024 need privileges)`, opts)
        : new DeviceLinkError('SEND', `no permission to send (${code}): a firewall may block it`, opts);
    case 'EADDRNOTAVAIL':
      return op === 'bind' ? new DeviceLinkError('BIND', `address ${where.host} is not configured on this host`, opts) : new DeviceLinkError('BAD_ADDRESS', `cannot send from ${where.host} to that address`, opts);
    case 'EAFNOSUPPORT':
      return new DeviceLinkError(op === 'bind' ? 'BIND' : 'BAD_ADDRESS', `address family not supported (is IPv6 disabled?) for ${at}`, opts);
    case 'EINVAL':
    case 'ERR_INVALID_ARG_TYPE':
    case 'ERR_INVALID_ARG_VALUE':
    case 'ERR_SOCKET_BAD_PORT':
      return new DeviceLinkError(op === 'bind' ? 'BIND' : 'BAD_ADDRESS', `invalid address for UDP ${op}: ${errorText(err)}`, opts);
    case 'ERR_SOCKET_DGRAM_NOT_RUNNING':
      return new DeviceLinkError('CLOSED', `CoAP device link ${where.endpoint} is closed`, opts);
    case 'EMSGSIZE':
      return new DeviceLinkError('SEND', `datagram too large for UDP ${op}`, opts);
    default:
      return new DeviceLinkError(op === 'bind' ? 'BIND' : 'SEND', `UDP ${op} failed on ${at} (CoAP device link): ${errorText(err)}`, opts);
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
