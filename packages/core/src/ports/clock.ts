/**
 * Port `Clock`: wall time, waiting and timers. Injected so the core is deterministic under test and
 * never touches timers itself.
 */
export interface Clock {
  /** Wall time in ms since the Unix epoch. */
  now(): number;
  /** Resolves after `ms` milliseconds (a backoff between retries). Never rejects. */
  sleep(ms: number): Promise<void>;
  /**
   * Calls `callback` once, `ms` milliseconds from now (0 or less: as soon as possible), unless
   * cancelled first. For a wake-up that may have to move earlier (the expiry scheduler re-arms its
   * one timer). The timer must not keep the process alive. `callback` must not throw.
   */
  startTimer(ms: number, callback: () => void): ClockTimer;
}

/** A timer started by {@link Clock.startTimer}. */
export interface ClockTimer {
  /** Stops the timer; its callback is not called. Idempotent; harmless after it fired. */
  cancel(): void;
}
