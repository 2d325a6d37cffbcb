import type { Clock, ClockTimer } from '../ports/clock';

/**
 * A `Clock` that moves only when told. Starts at `start` ms since the epoch. `sleep(ms)` moves the
 * clock forward by `ms` and resolves on the next microtask, so backoffs cost no real time in tests.
 * Timers fire, in due order, when `advance` or `sleep` moves the clock to or past their time (a
 * timer of 0 ms or less fires at the next move, or with `fireDueTimers()`).
 */
export class FakeClock implements Clock {
  /** Every `sleep` asked for, in ms, in order. */
  readonly sleeps: number[] = [];
  private timers: Array<{ at: number; seq: number; callback: () => void }> = [];
  private seq = 0;
  constructor(private current = 1_800_000_000_000) {}
  now(): number {
    return this.current;
  }
  /** Moves the clock forward by `ms`, then fires the timers that are due. */
  advance(ms: number): void {
    this.current += ms;
    this.fireDueTimers();
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.advance(ms);
  }
  startTimer(ms: number, callback: () => void): ClockTimer {
    const timer = { at: this.current + Math.max(0, ms), seq: this.seq++, callback };
    this.timers.push(timer);
    return { cancel: () => void (this.timers = this.timers.filter((t) => t !== timer)) };
  }
  /** Timers started and neither fired nor cancelled. */
  get pendingTimers(): number {
    return this.timers.length;
  }
  /** When the earliest pending timer is due (ms since the epoch), `undefined` when none. */
  get nextTimerAt(): number | undefined {
    return this.timers.reduce<number | undefined>((min, t) => (min === undefined || t.at < min ? t.at : min), undefined);
  }
  /** Fires every timer due at the current time, earliest first (a callback that starts one due now fires it too). */
  fireDueTimers(): void {
    for (let guard = 0; guard < 10_000; guard++) {
      const due = this.timers.filter((t) => t.at <= this.current).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) return;
      this.timers = this.timers.filter((t) => t !== due);
      due.callback();
    }
  }
}
