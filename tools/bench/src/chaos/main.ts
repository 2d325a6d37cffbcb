#!/usr/bin/env node
/**
 * `pnpm chaos [--devices N] [--kills K] [--seed S] [--quick] [--concurrency C]`: the chaos run
 * (`run-chaos.ts`) against the built reference server and gateway (run `pnpm build` first).
 * `pnpm chaos --messages [--devices N] [--uplinks U] [--downlinks M] [--kills K] [--seed S] [--quick]`:
 * the message chaos run (`run-message-chaos.ts`): messages both ways while the gateway is killed;
 * defaults 200 devices × 20 uplink, 4 000 downlink, 10 kills; `--quick`: 40 × 8, 320, 3.
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
import { formatMessageChaosSummary } from './message-chaos-summary';
import { FULL_CHAOS, QUICK_CHAOS, runChaos } from './run-chaos';
import { FULL_MESSAGE_CHAOS, QUICK_MESSAGE_CHAOS, runMessageChaos } from './run-message-chaos';

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
    .option('--messages', 'message mode: registered devices send messages to a pretend AS and get messages from it (reports asked) while the gateway is killed; checks none is lost')
    .option('--uplinks <u>', `--messages: uplink messages per device (default ${FULL_MESSAGE_CHAOS.uplinksPerDevice}; --quick ${QUICK_MESSAGE_CHAOS.uplinksPerDevice})`, integer(0, 1000))
    .option('--downlinks <m>', `--messages: downlink messages from the AS (default ${FULL_MESSAGE_CHAOS.downlinks}; --quick ${QUICK_MESSAGE_CHAOS.downlinks})`, integer(0, 100_000))
    .showHelpAfterError()
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  program.parse(process.argv);
  const opts = program.opts<{ devices?: number; kills?: number; seed?: number; concurrency?: number; quick?: boolean; messages?: boolean; uplinks?: number; downlinks?: number }>();
  const size = opts.quick === true ? QUICK_CHAOS : FULL_CHAOS;
  const seed = opts.seed ?? randomInt(0, 2 ** 31);
  // However this process ends (even on an uncaught error), no server or gateway outlives it:
  // killAll sends its SIGKILLs synchronously, before its first await.
  process.once('exit', () => void killAll());
  if (opts.messages === true) {
    const m = opts.quick === true ? QUICK_MESSAGE_CHAOS : FULL_MESSAGE_CHAOS;
    if (opts.devices !== undefined && opts.devices > 5000) program.error('--messages: --devices must be 1..5000');
    runMessageChaos({
      devices: opts.devices ?? m.devices,
      uplinksPerDevice: opts.uplinks ?? m.uplinksPerDevice,
      downlinks: opts.downlinks ?? m.downlinks,
      kills: opts.kills ?? m.kills,
      seed,
      log: (line) => process.stderr.write(`${line}\n`),
    })
      .then((report) => {
        process.stdout.write(`${formatMessageChaosSummary(report)}\n`);
        process.exitCode = report.passed ? 0 : 1;
      })
      .catch((err: unknown) => {
        process.stderr.write(`chaos: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exitCode = 1;
      });
  } else
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
