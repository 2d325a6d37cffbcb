/**
 * Test helper: a pair of connected pseudo-terminals made by socat, standing in for a UART and the
 * device wired to it: `socat pty,raw,echo=0,link=DIR/gw pty,raw,echo=0,link=DIR/dev`. The link under
 * test opens `gw`, the test device opens `dev`. Everything stays on this machine.
 *
 * `kill()` ends socat with SIGTERM (socat then removes both symlinks, and the link's reads fail as
 * with an unplugged USB adapter); `restart()` starts it again on the same paths (new ptys behind
 * them). SIGKILL is never used: it would leave the symlinks pointing at pty numbers the system may
 * hand to someone else's terminal.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why pty pairs cannot be made here (socat missing), or undefined when they can. */
export function socatUnavailable(): string | undefined {
  const r = spawnSync('socat', ['-V'], { stdio: 'ignore', timeout: 5000 });
  return r.error !== undefined || r.status !== 0 ? 'socat is not installed (apt-get install socat); the serial link tests need a pty pair' : undefined;
}

/** Polls `done` every 20 ms until it holds or `timeoutMs` passes. @throws Error naming `what`. */
export async function waitFor(what: string, done: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export class PtyPair {
  private socat: ChildProcess | undefined;
  private stderr = '';

  private constructor(
    readonly dir: string,
    readonly gwPath: string,
    readonly devPath: string,
  ) {}

  /** Starts socat in a new temporary folder and waits (at most 5 s) for both pty links. */
  static async open(): Promise<PtyPair> {
    const dir = mkdtempSync(join(tmpdir(), 'msgin5g-serial-'));
    const pair = new PtyPair(dir, join(dir, 'gw'), join(dir, 'dev'));
    await pair.start();
    return pair;
  }

  /** What socat wrote to stderr (with -d -d: the ptys it made). */
  get log(): string {
    return this.stderr;
  }

  private async start(): Promise<void> {
    const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${this.gwPath}`, `pty,raw,echo=0,link=${this.devPath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.socat = child;
    child.stderr?.on('data', (d: Buffer) => {
      if (this.stderr.length < 20_000) this.stderr += d.toString();
    });
    await waitFor(`socat's pty links in ${this.dir} (socat said: ${this.stderr.trim()})`, () => child.exitCode !== null || (existsSync(this.gwPath) && existsSync(this.devPath)));
    if (child.exitCode !== null) throw new Error(`socat exited ${child.exitCode}: ${this.stderr.trim()}`);
  }

  /** Ends socat (SIGTERM; bounded) and waits for its links to go. Idempotent. */
  async kill(): Promise<void> {
    const child = this.socat;
    this.socat = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    let timer: NodeJS.Timeout | undefined;
    const exited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 3000);
      child.once('exit', () => resolve());
    });
    child.kill('SIGTERM');
    await exited;
    clearTimeout(timer);
    await waitFor('socat to remove its pty links', () => !existsSync(this.gwPath) && !existsSync(this.devPath), 3000);
  }

  /** Starts socat again on the same paths. */
  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** Ends socat and removes the folder. */
  async close(): Promise<void> {
    await this.kill().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
