#!/usr/bin/env node
/**
 * Entry point of the `device` CLI (`pnpm --silent device register --gateway 127.0.0.1:5690 --app-id 42`).
 * Sets `process.exitCode` instead of calling `process.exit` so stdout is flushed before exit.
 */
import { runCli } from './cli';

runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (text) => process.stderr.write(text),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`device: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
