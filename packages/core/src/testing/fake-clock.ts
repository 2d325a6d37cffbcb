import type { Clock } from '../ports/clock';

/** A `Clock` that moves only when told. Starts at `start` ms since the epoch. */
export class FakeClock implements Clock {
  constructor(private current = 1_800_000_000_000) {}
  now(): number {
    return this.current;
  }
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.current += ms;
  }
}
