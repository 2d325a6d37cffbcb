/**
 * `runFuzz`: runs the selected targets with a seed and an input budget, measures heap growth per
 * target, and returns a {@link FuzzReport}. The CLI (`main.ts`) and the smoke test both call it.
 *
 * Budget split (documented in the README of this tool): of the total, `m5` gets 45 %, `json` 35 %
 * and `udp-link` 20 % (the last selected target takes the rounding remainder). The full run
 * (1,000,000 inputs) is therefore 450,000 + 350,000 + 200,000; the CI smoke (50,000) is
 * 22,500 + 17,500 + 10,000. The UDP target gets the smallest share because each of its inputs
 * costs two socket operations; it still sends every kind of generated unit, up to 65,507 octets.
 *
 * Rejected alternative: a worker thread per target. On the two shared cores of the project's
 * machines it gains little, and one thread keeps the heap figure of each target its own.
 */
import type { ServerOperation } from '@msgin5g/protocol';
import { newTargetResult, recordAnswer, recordFailure, TARGET_NAMES, type FailureCheck, type FuzzReport, type TargetName, type TargetResult } from './fuzz-report';
import { globalStateFingerprint } from './global-state';
import { DEFAULT_HEAP_BOUND_BYTES, gcFunction, heapUsedAfterGc } from './heap';
import { checkJsonInput, DEFAULT_JSON_DEPS, type JsonDeps } from './json-checker';
import { generateJsonInput, type JsonInput } from './json-inputs';
import { checkM5Input, DEFAULT_M5_DEPS, type M5Deps } from './m5-checker';
import { generateM5Input } from './m5-inputs';
import { Prng, STREAM } from './prng';
import { runUdpLinkTarget, type UdpLinkHooks } from './udp-link-target';

/** Inputs of `pnpm fuzz` (all targets together). */
export const FULL_INPUTS = 1_000_000;
/** Inputs of `pnpm fuzz --smoke`, the CI run. */
export const SMOKE_INPUTS = 50_000;

/** Share of the total budget per target (see the module comment). */
export const TARGET_SHARES: Readonly<Record<TargetName, number>> = { m5: 0.45, json: 0.35, 'udp-link': 0.2 };

export interface FuzzOptions {
  /** Total inputs over the selected targets. Default {@link FULL_INPUTS}. */
  readonly inputs?: number;
  /** uint32 seed; default a random one (always reported). */
  readonly seed?: number;
  /** Targets to run, in this order. Default all. */
  readonly targets?: readonly TargetName[];
  /** Largest heap growth per target, octets. Default 32 MiB. */
  readonly heapBoundBytes?: number;
  /** Receives progress lines (one per target start and end, and a counter every few seconds). */
  readonly progress?: (line: string) => void;
  /** Run only generated input number `index` of the (single) selected target. */
  readonly index?: number;
  /** Run only this input on the (single) selected target; `code`/`operation` for `json`. */
  readonly replay?: { readonly bytes: Uint8Array; readonly code?: string; readonly operation?: ServerOperation };
  /** Test hooks: the functions under test, replaced to prove the checks can fail. */
  readonly m5Deps?: M5Deps;
  readonly jsonDeps?: JsonDeps;
  readonly udpHooks?: UdpLinkHooks;
}

/** Splits `total` over `targets` by {@link TARGET_SHARES}; the last target takes the remainder. */
export function splitInputs(total: number, targets: readonly TargetName[]): Map<TargetName, number> {
  const weight = targets.reduce((s, t) => s + TARGET_SHARES[t], 0);
  const out = new Map<TargetName, number>();
  let left = total;
  targets.forEach((t, i) => {
    const n = i === targets.length - 1 ? left : Math.floor((total * TARGET_SHARES[t]) / weight);
    out.set(t, n);
    left -= n;
  });
  return out;
}

/** A random uint32 seed. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
}

const FINGERPRINT_EVERY = 8192;
const PROGRESS_EVERY_MS = 2000;

/** Runs a synchronous target (m5, json) over generated or given inputs. */
async function runSyncTarget<I>(
  name: 'm5' | 'json',
  seed: number,
  inputs: { readonly count: number; readonly first: number } | { readonly given: I },
  generate: (rng: Prng) => I,
  check: (input: I) => { accepted: boolean; answer?: Uint8Array | null; failure?: { check: FailureCheck; detail: string }; controlCharCause?: string },
  bytesOf: (input: I) => Uint8Array,
  replayArgs: (input: I) => string | undefined,
  result: TargetResult,
  progress: ((line: string) => void) | undefined,
): Promise<void> {
  const started = Date.now();
  let lastProgress = started;
  let fingerprint = globalStateFingerprint();
  let fingerprintFrom = 0;
  let controlCharCauses = 0;
  let firstControlCharCause: { cause: string; index: number } | undefined;
  const count = 'given' in inputs ? 1 : inputs.count;
  for (let k = 0; k < count; k++) {
    const index = 'given' in inputs ? -1 : inputs.first + k;
    const input = 'given' in inputs ? inputs.given : generate(new Prng(seed, STREAM[name], index));
    const outcome = check(input);
    result.inputs++;
    const bytes = bytesOf(input);
    if (outcome.failure !== undefined) {
      const extra = replayArgs(input);
      recordFailure(result, {
        target: name,
        check: outcome.failure.check,
        detail: outcome.failure.detail,
        seed,
        input: bytes,
        ...(index >= 0 ? { index } : {}),
        ...(extra === undefined ? {} : { replayArgs: extra }),
      });
    } else if (outcome.accepted) {
      result.accepted++;
    } else {
      result.protocolErrors++;
    }
    if (outcome.answer !== undefined && outcome.answer !== null) recordAnswer(result, bytes.length, outcome.answer.length);
    if (outcome.controlCharCause !== undefined) {
      controlCharCauses++;
      firstControlCharCause ??= { cause: outcome.controlCharCause, index };
    }
    if ((k + 1) % FINGERPRINT_EVERY === 0 || k === count - 1) {
      const now = globalStateFingerprint();
      if (now !== fingerprint) {
        recordFailure(result, { target: name, check: 'STATE', detail: `built-in objects changed while checking inputs ${fingerprintFrom}..${index}`, seed });
        fingerprint = now;
      }
      fingerprintFrom = index + 1;
      const t = Date.now();
      if (progress !== undefined && t - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = t;
        progress(`${name}: ${(k + 1).toLocaleString('en-US')}/${count.toLocaleString('en-US')} inputs, ${((t - started) / 1000).toFixed(1)} s, ${result.failureCount} failures`);
      }
      // Let I/O (stderr) through now and then.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  if (controlCharCauses > 0 && firstControlCharCause !== undefined) {
    result.notes.push(
      `${controlCharCauses} inputs gave an interpretServerAnswer cause with a control character (not a failure: the cause is log text; first: index ${firstControlCharCause.index}, ${JSON.stringify(firstControlCharCause.cause.slice(0, 120))})`,
    );
  }
}

/** Runs the fuzz; resolves the report (it never rejects for a finding: findings are failures in the report). */
export async function runFuzz(options: FuzzOptions = {}): Promise<FuzzReport> {
  const seed = (options.seed ?? randomSeed()) >>> 0;
  const targets = options.targets ?? TARGET_NAMES;
  const bound = options.heapBoundBytes ?? DEFAULT_HEAP_BOUND_BYTES;
  const single = options.index !== undefined || options.replay !== undefined;
  if (single && targets.length !== 1) throw new TypeError('--index and --replay need exactly one --target');
  const budget = splitInputs(options.inputs ?? FULL_INPUTS, targets);
  const progress = options.progress;
  const started = Date.now();
  const results: TargetResult[] = [];

  for (const target of targets) {
    const result = newTargetResult(target);
    results.push(result);
    const count = single ? 1 : (budget.get(target) ?? 0);
    progress?.(`${target}: ${count.toLocaleString('en-US')} inputs, seed ${seed}`);
    const heapBefore = await heapUsedAfterGc();
    const t0 = Date.now();
    switch (target) {
      case 'm5': {
        const deps = options.m5Deps ?? DEFAULT_M5_DEPS;
        const inputs = options.replay !== undefined ? { given: options.replay.bytes } : { count, first: options.index ?? 0 };
        await runSyncTarget<Uint8Array>('m5', seed, inputs, generateM5Input, (i) => checkM5Input(i, deps), (i) => i, () => undefined, result, progress);
        break;
      }
      case 'json': {
        const deps = options.jsonDeps ?? DEFAULT_JSON_DEPS;
        const r = options.replay;
        const inputs = r !== undefined ? { given: { body: r.bytes, code: r.code ?? '2.04', operation: r.operation ?? 'REG' } } : { count, first: options.index ?? 0 };
        await runSyncTarget<JsonInput>(
          'json',
          seed,
          inputs,
          generateJsonInput,
          (i) => checkJsonInput(i, deps),
          (i) => i.body,
          (i) => `--code '${i.code.replace(/'/g, `'\\''`)}' --operation ${i.operation}`,
          result,
          progress,
        );
        break;
      }
      case 'udp-link': {
        const source =
          options.replay !== undefined
            ? { kind: 'given' as const, inputs: [options.replay.bytes] }
            : options.index !== undefined
              ? { kind: 'generated' as const, count: 1, onlyIndex: options.index }
              : { kind: 'generated' as const, count };
        let lastProgress = Date.now();
        await runUdpLinkTarget({
          seed,
          source,
          result,
          ...(options.udpHooks === undefined ? {} : { hooks: options.udpHooks }),
          progress: (done, total) => {
            const t = Date.now();
            if (progress !== undefined && t - lastProgress >= PROGRESS_EVERY_MS) {
              lastProgress = t;
              progress(`udp-link: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} datagrams, ${((t - t0) / 1000).toFixed(1)} s, ${result.failureCount} failures`);
            }
          },
        });
        break;
      }
    }
    result.durationMs = Date.now() - t0;
    const heapAfter = await heapUsedAfterGc();
    result.heapGrowthBytes = heapAfter - heapBefore;
    if (result.heapGrowthBytes > bound) {
      recordFailure(result, {
        target,
        check: 'MEMORY',
        detail: `heap (heapUsed + arrayBuffers after GC) grew by ${(result.heapGrowthBytes / 1048576).toFixed(1)} MiB over ${result.inputs} inputs; bound ${(bound / 1048576).toFixed(1)} MiB`,
        seed,
      });
    }
    progress?.(`${target}: done, ${result.inputs.toLocaleString('en-US')} inputs in ${(result.durationMs / 1000).toFixed(1)} s, ${result.failureCount} failures`);
  }

  return {
    seed,
    totalInputs: results.reduce((s, r) => s + r.inputs, 0),
    totalFailures: results.reduce((s, r) => s + r.failureCount, 0),
    durationMs: Date.now() - started,
    gcForced: gcFunction() !== null,
    heapBoundBytes: bound,
    targets: results,
  };
}
