/**
 * Shapes of a fuzz run's results: per-target figures, failures (with what is needed to replay
 * them), the whole report, and its text forms (failure lines, summary table).
 * Rejected alternative: cli-table3 for the table, as `pnpm bench` does: one more dependency for a
 * fixed ten-column table that padStart draws.
 */
import { toHex } from './hex';

export type TargetName = 'm5' | 'json' | 'udp-link';
export const TARGET_NAMES: readonly TargetName[] = ['m5', 'json', 'udp-link'];

/**
 * Which check failed:
 * - `THROW`: a decoder (or the link / core, seen as an error-level log line) threw.
 * - `STATE`: an invalid input changed state: the input buffer, a built-in prototype, the
 *   registration store, the core's counters or the upstream calls.
 * - `ORACLE`: a result contradicts the documented behaviour (wrong reject answer, a decoded message
 *   that does not re-encode to itself, an accepted oversized body, …).
 * - `AMPLIFICATION`: an answer longer than the reject table allows (5 octets).
 * - `MEMORY`: heap growth after a forced GC above the bound.
 * - `LIVENESS`: the UDP link stopped processing or answering, or failed the final valid request.
 */
export type FailureCheck = 'THROW' | 'STATE' | 'ORACLE' | 'AMPLIFICATION' | 'MEMORY' | 'LIVENESS';

/** One failure, with the seed and input to replay it. */
export interface FuzzFailure {
  readonly target: TargetName;
  readonly check: FailureCheck;
  readonly detail: string;
  readonly seed: number;
  /** Index of the generated input (`--index`), when a generated input caused it. */
  readonly index?: number;
  /** The input, when one input caused it. */
  readonly input?: Uint8Array;
  /** Extra replay arguments (`--code 2.04 --operation REG` for the json target). */
  readonly replayArgs?: string;
}

/** Figures of one target. */
export interface TargetResult {
  readonly target: TargetName;
  inputs: number;
  /** Inputs rejected as not valid (M5 `{ok:false}`; JSON: rejected by every body decoder). */
  protocolErrors: number;
  /** Inputs accepted (M5: decoded; JSON: accepted by at least one body decoder; udp-link: reached the core, must be 0). */
  accepted: number;
  /** Inputs answered (M5: reject answer computed; udp-link: answer datagram received). */
  answered: number;
  /** Largest answer minus its input, in octets (null: nothing answered or not applicable). */
  maxAnswerGrowth: number | null;
  /** Largest answer, in octets. */
  maxAnswerOctets: number | null;
  /** heapUsed after forced GC at the end minus at the start, in octets. */
  heapGrowthBytes: number;
  durationMs: number;
  /** Number of failures (all of them; `failures` keeps the first few of each check). */
  failureCount: number;
  readonly failures: FuzzFailure[];
  /** Observations that are not failures. */
  readonly notes: string[];
}

export interface FuzzReport {
  readonly seed: number;
  readonly totalInputs: number;
  readonly totalFailures: number;
  readonly durationMs: number;
  /** Whether heap figures come from a forced GC (`--expose-gc`); without it they are indicative only. */
  readonly gcForced: boolean;
  readonly heapBoundBytes: number;
  readonly targets: readonly TargetResult[];
}

export function newTargetResult(target: TargetName): TargetResult {
  return {
    target,
    inputs: 0,
    protocolErrors: 0,
    accepted: 0,
    answered: 0,
    maxAnswerGrowth: null,
    maxAnswerOctets: null,
    heapGrowthBytes: 0,
    durationMs: 0,
    failureCount: 0,
    failures: [],
    notes: [],
  };
}

/** Most failures kept per target and check (all are counted). */
export const FAILURES_KEPT_PER_CHECK = 10;

/** Records a failure in `result` (kept if fewer than {@link FAILURES_KEPT_PER_CHECK} of its check are). */
export function recordFailure(result: TargetResult, failure: FuzzFailure): void {
  result.failureCount++;
  let same = 0;
  for (const f of result.failures) if (f.check === failure.check) same++;
  if (same < FAILURES_KEPT_PER_CHECK) result.failures.push(failure);
}

/** Records one answer's size against its input's. */
export function recordAnswer(result: TargetResult, inputOctets: number, answerOctets: number): void {
  result.answered++;
  const growth = answerOctets - inputOctets;
  if (result.maxAnswerGrowth === null || growth > result.maxAnswerGrowth) result.maxAnswerGrowth = growth;
  if (result.maxAnswerOctets === null || answerOctets > result.maxAnswerOctets) result.maxAnswerOctets = answerOctets;
}

/** Inputs longer than this are shown truncated; replay them with `--seed`/`--index`. */
export const MAX_HEX_OCTETS_SHOWN = 4096;

/** Multi-line text of a failure: what, seed, index, input hex, and the replay commands. */
export function formatFailure(f: FuzzFailure): string {
  const lines = [`FAIL ${f.target} ${f.check}: ${f.detail}`, `  seed ${f.seed}${f.index === undefined ? '' : `, input index ${f.index}`}`];
  const extra = f.replayArgs === undefined ? '' : ` ${f.replayArgs}`;
  if (f.input !== undefined) {
    const shown = f.input.length > MAX_HEX_OCTETS_SHOWN ? `${toHex(f.input.subarray(0, MAX_HEX_OCTETS_SHOWN))}… (${f.input.length} octets, first ${MAX_HEX_OCTETS_SHOWN} shown)` : toHex(f.input);
    lines.push(`  input (${f.input.length} octets): ${shown.length === 0 ? '(empty)' : shown}`);
    if (f.input.length <= MAX_HEX_OCTETS_SHOWN) lines.push(`  replay: pnpm fuzz --target ${f.target} --replay '${toHex(f.input)}'${extra}`);
  }
  if (f.index !== undefined) lines.push(`  replay: pnpm fuzz --target ${f.target} --seed ${f.seed} --index ${f.index}`);
  return lines.join('\n');
}

const MIB = 1024 * 1024;

/** The summary table, one row per target, and the final `fuzz: N inputs, F failures` line. */
export function formatSummary(report: FuzzReport): string {
  const header = ['target', 'inputs', 'protocol errors', 'accepted', 'answered', 'max answer−input', 'max answer', 'heap growth', 'duration', 'failures'];
  const rows = report.targets.map((t) => [
    t.target,
    t.inputs.toLocaleString('en-US'),
    t.protocolErrors.toLocaleString('en-US'),
    t.accepted.toLocaleString('en-US'),
    t.target === 'json' ? '–' : t.answered.toLocaleString('en-US'),
    t.maxAnswerGrowth === null ? '–' : `${t.maxAnswerGrowth >= 0 ? '+' : ''}${t.maxAnswerGrowth} oct`,
    t.maxAnswerOctets === null ? '–' : `${t.maxAnswerOctets} oct`,
    `${(t.heapGrowthBytes / MIB).toFixed(2)} MiB`,
    `${(t.durationMs / 1000).toFixed(1)} s`,
    String(t.failureCount),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  const out = [
    `seed ${report.seed}; heap bound ${(report.heapBoundBytes / MIB).toFixed(0)} MiB per target${report.gcForced ? ' (after forced GC)' : ' (GC not exposed: heap figures indicative only)'}`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ];
  for (const t of report.targets) for (const n of t.notes) out.push(`note ${t.target}: ${n}`);
  out.push(`total duration ${(report.durationMs / 1000).toFixed(1)} s`);
  out.push(`fuzz: ${report.totalInputs} inputs, ${report.totalFailures} failures`);
  return out.join('\n');
}
