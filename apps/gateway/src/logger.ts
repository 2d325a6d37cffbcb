import { pino, type Logger as PinoLogger } from 'pino';

/**
 * JSON logs on stdout (pino), one object per line, with 3GPP field names (`registrationId`,
 * `applicationId`, `layer2Id`, `ueServiceId`). pino's `info(fields, msg)` is the core `Logger` shape.
 */
export function createLogger(level: string, name = 'msgin5g-gateway'): PinoLogger {
  return pino({ name, level, base: { name }, timestamp: pino.stdTimeFunctions.isoTime });
}
