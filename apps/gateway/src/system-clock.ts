import type { Clock } from '@msgin5g/core';

/** Wall-clock time, ms since the Unix epoch. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
}
