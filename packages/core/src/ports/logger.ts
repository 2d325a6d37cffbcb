/**
 * Port `Logger`: structured logs. The shape is pino's (`logger.info({ registrationId }, 'msg')`), so the
 * gateway passes its pino logger straight in. Fields use 3GPP names: `registrationId`,
 * `applicationId`, `layer2Id`, `ueServiceId`, `link`.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
