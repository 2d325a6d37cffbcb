import type { Logger } from '../ports/logger';

/**
 * At most `perSecond` warnings a second for one kind of event (protocol errors, store errors); the
 * rest are counted and summarised in one line when the next window opens. A flood of bad input or a
 * locked store must not become a flood of log lines. Times in ms from the injected clock.
 */
export class RateLimitedLog {
  private windowStart = Number.NEGATIVE_INFINITY;
  private inWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly perSecond: number,
    /** Message of the summary line, e.g. `protocol errors from devices not logged one by one`. */
    private readonly summary: string,
  ) {}

  /** Logs `message` at warn unless this second's quota is spent. `now` in ms. */
  warn(now: number, fields: Record<string, unknown>, message: string): void {
    if (now - this.windowStart >= 1000) {
      if (this.suppressed > 0) this.logger.warn({ suppressed: this.suppressed }, this.summary);
      this.windowStart = now;
      this.inWindow = 0;
      this.suppressed = 0;
    }
    if (this.inWindow >= this.perSecond) {
      this.suppressed++;
      return;
    }
    this.inWindow++;
    this.logger.warn(fields, message);
  }
}
