/**
 * The admin API's own TCP listener (`--admin-host`, `--admin-port`; src/config.ts), apart from the
 * device links, so an operator can firewall it separately and a flood on a device link cannot
 * starve it of a port.
 */
import type { Logger } from '@msgin5g/core';
import type { FastifyInstance } from 'fastify';
import { isIP } from 'node:net';

/** A listening admin API. */
export interface AdminListener {
  /** `http://host:port` as bound (the real port when 0 was asked). */
  readonly url: string;
  /** Stops taking connections and waits for requests in progress. Idempotent. */
  close(): Promise<void>;
}

/**
 * Listens on `host:port` (0: any free port) and logs `admin API listening` with its `url`.
 * @throws the listen error (EADDRINUSE, EADDRNOTAVAIL, EACCES) with the address in its message.
 */
export async function listenAdminApi(app: FastifyInstance, host: string, port: number, logger: Logger, tokenRequired: boolean): Promise<AdminListener> {
  try {
    await app.listen({ host, port, listenTextResolver: () => '' });
  } catch (err) {
    await app.close().catch(() => undefined);
    throw new Error(`admin API cannot listen on ${host}:${port}: ${(err as Error).message}`, { cause: err });
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const url = `http://${isIP(host) === 6 ? `[${host}]` : host}:${bound}`;
  logger.info({ url, host, port: bound, token: tokenRequired ? 'required' : 'none (loopback only)' }, 'admin API listening');
  let closed: Promise<void> | undefined;
  return {
    url,
    close: () => (closed ??= app.close()),
  };
}
