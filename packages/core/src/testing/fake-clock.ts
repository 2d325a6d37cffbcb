import type { Clock } from '../ports/clock';

/**
 * A `Clock` that moves only when told. Starts at `start` ms since the epoch. `sleep(ms)` moves the
 * clock forward by `ms` and resolves on the next microtask, so backoffs cost no real time in tests.
 */
export class FakeClock implements Clock {
  /** Every `sleep` asked for, in ms, in order. */
  readonly sleeps: number[] = [];
  constructor(private current = 1_800_000_000_000) {}
  now(): number {
    return this.current;
  }
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.current += ms;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.current += ms;
  }
}
