import type { Clock, ClockTimer } from '@msgin5g/core';

/** Longest delay `setTimeout` takes, ms (2^31 − 1, about 24.8 days); longer ones fire at once in Node. */
const MAX_TIMEOUT_MS = 0x7fff_ffff;

/** Wall-clock time, ms since the Unix epoch, and real timers. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
  /** A real timer, unref'd (it does not keep the process alive). A delay beyond ~24.8 days re-arms itself. */
  startTimer(ms: number, callback: () => void): ClockTimer {
    const at = Date.now() + Math.max(0, ms);
    let handle: NodeJS.Timeout | undefined;
    const arm = (): void => {
      const left = at - Date.now();
      handle = setTimeout(left > MAX_TIMEOUT_MS ? arm : callback, Math.min(Math.max(0, left), MAX_TIMEOUT_MS));
      handle.unref();
    };
    arm();
    return { cancel: () => clearTimeout(handle) };
  }
}
