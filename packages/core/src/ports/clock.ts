/** Port `Clock`: wall time in ms since the Unix epoch. Injected so the core is deterministic under test. */
export interface Clock {
  now(): number;
}
