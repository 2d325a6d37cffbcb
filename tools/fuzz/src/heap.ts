/**
 * Heap measurement after a forced garbage collection, for the "no unbounded memory" check: each
 * target's `heapUsed` is taken after `gc()` before its first input and after its last, and the
 * difference must stay under a bound (default {@link DEFAULT_HEAP_BOUND_BYTES}).
 *
 * `gc` comes from `--expose-gc` (the CLI re-executes itself with it), or, inside Jest, from the V8
 * flag set at run time and fetched through a fresh VM context. Without either, figures are taken
 * without a forced GC and reported as indicative.
 * Rejected alternative: RSS. It includes freed-but-kept pages and the allocator's arenas, and moves
 * with what the other processes on a shared machine do; heapUsed after GC is what a leak grows.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Default bound on heap growth per target: 32 MiB. */
export const DEFAULT_HEAP_BOUND_BYTES = 32 * 1024 * 1024;

let cached: (() => void) | null | undefined;

/** The `gc` function, or null when it cannot be had. */
export function gcFunction(): (() => void) | null {
  if (cached !== undefined) return cached;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') {
    cached = exposed as () => void;
    return cached;
  }
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    cached = typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    cached = null;
  }
  return cached;
}

/**
 * `heapUsed + arrayBuffers` in octets after two forced collections (when available): byte arrays
 * live outside the V8 heap, and a decoder that kept its inputs would grow only `arrayBuffers`.
 */
export async function heapUsedAfterGc(): Promise<number> {
  const gc = gcFunction();
  // Let pending callbacks and promise jobs drop their references first.
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (gc !== null) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
