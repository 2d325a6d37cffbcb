import type { Clock } from '@msgin5g/core';

/** Wall-clock time, ms since the Unix epoch, and real timers. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
