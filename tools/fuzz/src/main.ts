#!/usr/bin/env node
/**
 * `pnpm fuzz`: drives the M5 binary decoder, the JSON body decoders and the UDP device link with
 * generated inputs (random, mutated valid messages, boundary lengths) and fails on any throw, any
 * state change from an invalid input, any answer longer than the reject table allows, or heap
 * growth over the bound.
 *
 *   pnpm fuzz                          1,000,000 inputs over m5, json and udp-link (45/35/20 %)
 *   pnpm fuzz --smoke                  50,000 inputs (the CI run)
 *   pnpm fuzz --inputs N --seed S --target m5|json|udp-link|all
 *   pnpm fuzz --target m5 --seed S --index I       one generated input again
 *   pnpm fuzz --target json --replay HEX [--code 2.04] [--operation REG]
 *
 * Progress goes to stderr, the summary table and any failure (seed, input hex, replay command) to
 * stdout; the last line is `fuzz: N inputs, F failures`. Exit code 0 without failures, 1 with
 * any, 2 on a usage error. The process re-executes itself once with `--expose-gc` so heap figures
 * are taken after a forced collection.
 * Rejected alternative: asking users to run `node --expose-gc`; `pnpm fuzz` would then measure
 * nothing unless they remembered to.
 */
import { spawnSync } from 'node:child_process';
import { Command, InvalidArgumentError, Option } from 'commander';
import { formatFailure, formatSummary, TARGET_NAMES, type TargetName } from './fuzz-report';
import { fromHex } from './hex';
import { FULL_INPUTS, runFuzz, SMOKE_INPUTS } from './run-fuzz';

export { runFuzz, FULL_INPUTS, SMOKE_INPUTS, type FuzzOptions } from './run-fuzz';

const CHILD_ENV = 'MSGIN5G_FUZZ_GC_CHILD';

function nonNegativeInt(what: string, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${what} must be a non-negative integer`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n > max) throw new InvalidArgumentError(`${what} must be at most ${max}`);
    return n;
  };
}

interface CliOptions {
  inputs?: number;
  smoke?: boolean;
  seed?: number;
  target: string;
  index?: number;
  replay?: string;
  code: string;
  operation: 'REG' | 'DEREG';
  heapBoundMib: number;
  quiet?: boolean;
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('fuzz')
    .description('Fuzz the M5 binary decoder, the JSON body decoders and the UDP device link')
    .addOption(new Option('--inputs <n>', `total inputs over the selected targets (default ${FULL_INPUTS})`).argParser(nonNegativeInt('--inputs', 1e9)))
    .addOption(new Option('--smoke', `the CI smoke run: ${SMOKE_INPUTS} inputs`).conflicts('inputs'))
    .addOption(new Option('--seed <s>', 'uint32 seed (default: random, printed)').argParser(nonNegativeInt('--seed', 0xffff_ffff)))
    .addOption(new Option('--target <t>', 'm5 | json | udp-link | all').choices([...TARGET_NAMES, 'all']).default('all'))
    .addOption(new Option('--index <i>', 'run only generated input number i (needs --seed and one --target)').argParser(nonNegativeInt('--index', 2 ** 52)))
    .addOption(new Option('--replay <hex>', 'run only this input, given as hex (needs one --target)').conflicts('index'))
    .addOption(new Option('--code <c>', 'json --replay: CoAP answer code for interpretServerAnswer').default('2.04'))
    .addOption(new Option('--operation <op>', 'json --replay: operation for interpretServerAnswer').choices(['REG', 'DEREG']).default('REG'))
    .addOption(new Option('--heap-bound-mib <n>', 'largest heap growth per target, MiB').argParser(nonNegativeInt('--heap-bound-mib', 1 << 20)).default(32))
    .option('--quiet', 'no progress on stderr')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : 2;
  }
  const o = program.opts<CliOptions>();
  const targets: readonly TargetName[] = o.target === 'all' ? TARGET_NAMES : [o.target as TargetName];
  if ((o.index !== undefined || o.replay !== undefined) && targets.length !== 1) {
    process.stderr.write('fuzz: --index and --replay need one --target (m5, json or udp-link)\n');
    return 2;
  }
  if (o.index !== undefined && o.seed === undefined) {
    process.stderr.write('fuzz: --index needs the --seed of the run that generated the input\n');
    return 2;
  }
  let replay: { bytes: Uint8Array; code: string; operation: 'REG' | 'DEREG' } | undefined;
  if (o.replay !== undefined) {
    try {
      replay = { bytes: fromHex(o.replay), code: o.code, operation: o.operation };
    } catch (err) {
      process.stderr.write(`fuzz: --replay: ${(err as Error).message}\n`);
      return 2;
    }
  }
  const progress = o.quiet === true ? undefined : (line: string) => process.stderr.write(`${line}\n`);
  const report = await runFuzz({
    inputs: o.smoke === true ? SMOKE_INPUTS : (o.inputs ?? FULL_INPUTS),
    targets,
    heapBoundBytes: o.heapBoundMib * 1024 * 1024,
    ...(o.seed === undefined ? {} : { seed: o.seed }),
    ...(o.index === undefined ? {} : { index: o.index }),
    ...(replay === undefined ? {} : { replay }),
    ...(progress === undefined ? {} : { progress }),
  });
  for (const t of report.targets) {
    for (const f of t.failures) process.stdout.write(`${formatFailure(f)}\n`);
    if (t.failureCount > t.failures.length) process.stdout.write(`(${t.failureCount - t.failures.length} more ${t.target} failures not shown)\n`);
  }
  process.stdout.write(`${formatSummary(report)}\n`);
  return report.totalFailures === 0 ? 0 : 1;
}

if (require.main === module) {
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function' && process.env[CHILD_ENV] !== '1') {
    // Re-run with --expose-gc so heap growth is measured after a forced collection.
    const child = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, __filename, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, [CHILD_ENV]: '1' },
    });
    process.exitCode = child.status ?? 1;
  } else {
    main(process.argv.slice(2)).then(
      (code) => {
        process.exitCode = code;
      },
      (err: unknown) => {
        process.stderr.write(`fuzz: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exitCode = 1;
      },
    );
  }
}
