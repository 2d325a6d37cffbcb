/** Test helper: the one-line problems of the `ConfigError` that `fn` throws (fails the test if it throws none). */
import { ConfigError } from '@msgin5g/gateway';

export function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
