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
  /**
   * Optional (pino has it): whether lines of `level` are written. Hot paths ask once and skip
   * building the fields of debug lines that would be dropped; a logger without it is assumed to
   * write every level.
   */
  isLevelEnabled?(level: 'debug' | 'info' | 'warn' | 'error'): boolean;
}

/** Whether `logger` writes debug lines ({@link Logger.isLevelEnabled}; true when it cannot say). */
export function debugEnabled(logger: Logger): boolean {
  return logger.isLevelEnabled?.('debug') ?? true;
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
