/**
 * Child processes as tests drive them: a command run to its exit with its output collected
 * ({@link runProcess}, {@link runChecked}), and a long-running process whose output lines a test
 * waits for and which it stops with a bound ({@link LineProcess}). Every wait is bounded in time;
 * nothing here retries.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** How a child ended: its exit code, or the signal that ended it (then `code` is `null`). */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Options of {@link runProcess} and {@link runChecked}. */
export interface RunOptions {
  /** The child is sent SIGKILL when it runs longer than this, ms. Default 20 000. */
  readonly timeoutMs?: number;
  /** Environment of the child. Default: this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory of the child. Default: this process's. */
  readonly cwd?: string;
  /** Close the reading end of the child's stdout at once, as `| head -1` does early (its writes then fail with EPIPE). */
  readonly closeStdout?: boolean;
}

/** What {@link runProcess} resolves: the exit status and everything the child wrote. */
export interface RunResult extends ExitStatus {
  /** All of stdout, decoded as UTF-8. */
  readonly stdout: string;
  /** All of stderr, decoded as UTF-8. */
  readonly stderr: string;
  /** `true` when the child was killed because it outlived `timeoutMs`. */
  readonly timedOut: boolean;
}

/** After SIGKILL, how long to wait for the child's pipes to close before resolving anyway, ms. */
const PIPE_CLOSE_GRACE_MS = 2000;

/**
 * Runs `command args` (no shell) with stdin closed, collects stdout and stderr, and resolves once
 * the child has exited and its output is read.
 *
 * A non-zero exit is not an error: the test inspects `code`. The child is killed (SIGKILL) after
 * `timeoutMs` (default 20 s) and the result then has `timedOut: true`; if a grandchild keeps the
 * pipes open after that, the result is resolved 2 s later with what was read.
 *
 * @returns `{ code, signal, stdout, stderr, timedOut }`
 * @throws (rejects) only when the child cannot be started at all (e.g. ENOENT for a missing command)
 */
export function runProcess(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    let grace: NodeJS.Timeout | undefined;
    if (options.closeStdout === true) child.stdout.destroy();
    else child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const finish = (status: ExitStatus): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      resolve({ code: status.code, signal: status.signal, stdout, stderr, timedOut });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      if (timedOut) grace = setTimeout(() => finish({ code, signal }), PIPE_CLOSE_GRACE_MS);
    });
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => finish({ code, signal }));
  });
}

/**
 * {@link runProcess}, but only a clean exit (code 0) resolves.
 *
 * @returns the {@link RunResult} of a child that exited 0
 * @throws (rejects) an Error naming the command, how it ended (exit code, signal or timeout) and
 *   the end of its stderr and stdout, when it did not exit 0; or the spawn error when it could not start
 */
export async function runChecked(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const r = await runProcess(command, args, options);
  if (r.code === 0) return r;
  const how = r.timedOut ? `killed after ${options.timeoutMs ?? 20_000} ms` : r.code !== null ? `exit ${r.code}` : `signal ${r.signal}`;
  throw new Error(`${command} ${args.join(' ')}: ${how}\nstderr: ${tail(r.stderr)}\nstdout: ${tail(r.stdout)}`);
}

/** The last 4,000 characters of a child's output, for error messages. */
function tail(text: string): string {
  return text.length <= 4000 ? text : `…${text.slice(-4000)}`;
}

/** Options of {@link LineProcess.start}. */
export interface LineProcessOptions {
  /** A name for error messages. Default: the command. */
  readonly name?: string;
  /** Environment of the child. Default: this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory of the child. Default: this process's. */
  readonly cwd?: string;
  /** `'pipe'` to write to the child's stdin (`child.stdin`). Default `'ignore'`. */
  readonly stdin?: 'ignore' | 'pipe';
}

/** Which output stream a line came from. */
export type OutputStream = 'stdout' | 'stderr';

/** Options of {@link LineProcess.waitForLine}. */
export interface WaitForLineOptions {
  /** Reject after this long, ms. Default 10 000. */
  readonly timeoutMs?: number;
  /** The stream to watch. Default `'stdout'`. */
  readonly stream?: OutputStream;
  /** What is awaited, for the error message. Default: "a matching line". */
  readonly what?: string;
}

/**
 * A running child whose stdout and stderr are split into lines as they arrive, so a test can wait
 * for a line (past or future) and then stop the child with a bound.
 */
export class LineProcess {
  /** Complete lines of stdout so far, without their line ends. */
  readonly stdout: string[] = [];
  /** Complete lines of stderr so far, without their line ends. */
  readonly stderr: string[] = [];
  /** Resolves once the child has exited and both streams are read to their end. Never rejects. */
  readonly exited: Promise<ExitStatus>;
  private status: ExitStatus | undefined;
  private listeners = new Set<(stream: OutputStream, line: string) => void>();
  private closeListeners = new Set<() => void>();

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream]!, crlfDelay: Infinity }).on('line', (line) => {
        this[stream].push(line);
        for (const l of [...this.listeners]) l(stream, line);
      });
    }
    this.exited = new Promise((resolve) => {
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        this.status = { code, signal };
        resolve(this.status);
        for (const l of [...this.closeListeners]) l();
      });
    });
  }

  /**
   * Starts `command args` (no shell) with stdout and stderr piped.
   *
   * A command that cannot be started (ENOENT) shows as an exit with code `null` (the spawn error is
   * appended to {@link stderr}); waits then reject as for any early exit.
   */
  static start(command: string, args: readonly string[], options: LineProcessOptions = {}): LineProcess {
    const child = spawn(command, args, { stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd });
    const p = new LineProcess(options.name ?? command, child);
    child.once('error', (err) => p.stderr.push(`spawn error: ${err.message}`));
    return p;
  }

  /** Whether the child has not been seen to exit yet. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Resolves the first line of `stream` (already printed or to come) for which `pred` holds.
   *
   * @throws (rejects) when no such line comes within `timeoutMs` (default 10 s) or the child exits
   *   first (the message holds the child's last stderr lines), or with what `pred` threw
   */
  waitForLine(pred: (line: string) => boolean, options: WaitForLineOptions = {}): Promise<string> {
    const stream = options.stream ?? 'stdout';
    const timeoutMs = options.timeoutMs ?? 10_000;
    const what = options.what ?? 'a matching line';
    let seen: string | undefined;
    try {
      seen = this[stream].find(pred);
    } catch (err) {
      return Promise.reject(err);
    }
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const done = (err: Error | undefined, line?: string): void => {
        clearTimeout(timer);
        this.listeners.delete(onLine);
        this.closeListeners.delete(onClose);
        if (err !== undefined) reject(err);
        else resolve(line as string);
      };
      const onLine = (s: OutputStream, line: string): void => {
        if (s !== stream) return;
        try {
          if (pred(line)) done(undefined, line);
        } catch (err) {
          done(err as Error); // e.g. a line that is not JSON, in waitForJson
        }
      };
      const onClose = (): void => done(new Error(`${this.name} exited (${this.describeStatus()}) before printing ${what} on ${stream}${this.stderrTail()}`));
      const timer = setTimeout(() => done(new Error(`${this.name}: no ${what} on ${stream} within ${timeoutMs} ms${this.stderrTail()}`)), timeoutMs);
      this.listeners.add(onLine);
      if (this.status !== undefined) onClose();
      else this.closeListeners.add(onClose);
    });
  }

  /**
   * Every stdout line so far, parsed as JSON (for children that log JSON lines, e.g. pino).
   *
   * @throws SyntaxError naming the line when a line is not JSON
   */
  jsonLines(): Array<Record<string, unknown>> {
    return this.stdout.map((line) => parseJsonLine(this.name, line));
  }

  /**
   * Resolves the first stdout JSON line (already printed or to come) for which `pred` holds.
   *
   * @throws (rejects) as {@link waitForLine}, and when a stdout line before the match is not JSON
   */
  async waitForJson(pred: (line: Record<string, unknown>) => boolean, timeoutMs = 10_000, what = 'a matching JSON line'): Promise<Record<string, unknown>> {
    return parseJsonLine(this.name, await this.waitForLine((line) => pred(parseJsonLine(this.name, line)), { timeoutMs, what }));
  }

  /**
   * Sends `signal` (default SIGTERM) and waits for the exit; sends SIGKILL if the child is still
   * running after `killAfterMs` (default 5 000 ms). Does nothing but wait when it already exited.
   *
   * @returns how the child ended (after SIGKILL: `{ code: null, signal: 'SIGKILL' }`)
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 5000): Promise<ExitStatus> {
    if (this.status !== undefined) return this.status;
    if (this.running) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), killAfterMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private describeStatus(): string {
    const s = this.status;
    if (s === undefined) return 'still running';
    return s.code !== null ? `code ${s.code}` : `signal ${s.signal ?? 'none'}`;
  }

  private stderrTail(): string {
    return this.stderr.length === 0 ? '' : `\n${this.name} stderr:\n${this.stderr.slice(-20).join('\n')}`;
  }
}

function parseJsonLine(name: string, line: string): Record<string, unknown> {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new SyntaxError(`${name}: stdout line is not JSON: ${line}`);
  }
}
