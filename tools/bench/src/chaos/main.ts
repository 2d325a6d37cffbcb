#!/usr/bin/env node
/**
 * `pnpm chaos [--devices N] [--kills K] [--seed S] [--quick] [--concurrency C]`: the chaos run
 * (`run-chaos.ts`) against the built reference server and gateway (run `pnpm build` first).
 * Progress goes to stderr, the summary block to stdout. Exit 0 when no violation was found, 1 on
 * any violation (listed in the summary) or when the run could not be carried out, 2 on bad usage.
 * Defaults: 2 000 devices, 10 kills; `--quick`: 300 devices, 3 kills. Without `--seed` a random
 * seed is drawn and printed; pass it back to repeat the run's choices.
 * Rejected alternative: a `--chaos` mode of `pnpm bench` — the chaos run judges correctness, not
 * speed, and its exit code must mean only that.
 */
import { randomInt } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import { killAll } from '../procs';
import { formatChaosSummary } from './chaos-summary';
import { FULL_CHAOS, QUICK_CHAOS, runChaos } from './run-chaos';

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = /^-?[0-9]+$/.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer ${min}..${max}`);
    return n;
  };
}

if (require.main === module) {
  const program = new Command('chaos')
    .description('Chaos run: simulated devices register/de-register through the gateway while it is killed with SIGKILL and restarted; checks that nothing acknowledged was lost')
    .option('--devices <n>', `simulated devices (default ${FULL_CHAOS.devices}; --quick ${QUICK_CHAOS.devices})`, integer(1, 60_000))
    .option('--kills <k>', `SIGKILLs of the gateway (default ${FULL_CHAOS.kills}; --quick ${QUICK_CHAOS.kills})`, integer(0, 100))
    .option('--seed <s>', 'PRNG seed (integer); default: random, printed', integer(0, 0xffffffff))
    .option('--concurrency <c>', 'devices running at once (default 100; 50 up to 500 devices)', integer(1, 1000))
    .option('--quick', `${QUICK_CHAOS.devices} devices, ${QUICK_CHAOS.kills} kills (the CI size)`)
    .showHelpAfterError()
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  program.parse(process.argv);
  const opts = program.opts<{ devices?: number; kills?: number; seed?: number; concurrency?: number; quick?: boolean }>();
  const size = opts.quick === true ? QUICK_CHAOS : FULL_CHAOS;
  const seed = opts.seed ?? randomInt(0, 2 ** 31);
  // However this process ends (even on an uncaught error), no server or gateway outlives it:
  // killAll sends its SIGKILLs synchronously, before its first await.
  process.once('exit', () => void killAll());
  runChaos({
    devices: opts.devices ?? size.devices,
    kills: opts.kills ?? size.kills,
    seed,
    ...(opts.concurrency === undefined ? {} : { concurrency: opts.concurrency }),
    log: (line) => process.stderr.write(`${line}\n`),
  })
    .then((report) => {
      process.stdout.write(`${formatChaosSummary(report)}\n`);
      process.exitCode = report.passed ? 0 : 1;
    })
    .catch((err: unknown) => {
      process.stderr.write(`chaos: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    });
}
