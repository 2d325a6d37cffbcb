#!/usr/bin/env node
/**
 * Entry point of the `device` CLI (`pnpm --silent device register --gateway 127.0.0.1:5690 --app-id 42`).
 * Sets `process.exitCode` instead of calling `process.exit` so stdout is flushed before exit.
 */
import { runCli } from './cli';

// `… | head -1` closes the pipe early: the next write fails with EPIPE. Exit quietly (0) instead of
// crashing with a stack trace. (pino logs go to fd 1 through its own stream, not process.stdout.)
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});


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
