/**
 * Port `Clock`: wall time and waiting. Injected so the core is deterministic under test and never
 * touches timers itself.
 */
export interface Clock {
  /** Wall time in ms since the Unix epoch. */
  now(): number;
  /** Resolves after `ms` milliseconds (a backoff between retries). Never rejects. */
  sleep(ms: number): Promise<void>;
}
