/**
 * Child processes for the demo and the end-to-end tests: the reference MSGin5G Server, the gateway
 * and the device simulator, each a real OS process on loopback, found by their built entry points.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** `apps/` of this repository, from `apps/gateway/dist/demo` or `apps/gateway/src/demo`. */
const APPS = resolve(__dirname, '..', '..', '..');
export const ENTRY = {
  server: resolve(APPS, 'msgin5g-server', 'dist', 'main.js'),
  gateway: resolve(APPS, 'gateway', 'dist', 'main.js'),
  device: resolve(APPS, 'device-sim', 'dist', 'main.js'),
  serverLib: resolve(APPS, 'msgin5g-server', 'dist', 'index.js'),
};

/** A running child whose stdout is JSON lines (pino), with a way to wait for a line. */
export class JsonLineProcess {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly stderr: string[] = [];
  private waiters: Array<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { msg: text };
      }
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(line)) return true;
        w.resolve(line);
        return false;
      });
    });
    createInterface({ input: child.stderr! }).on('line', (text) => this.stderr.push(text));
    this.exited = new Promise((res) => child.once('exit', (code) => res(code)));
  }

  /** Resolves the first line (past or future) matching `pred`; rejects after `timeoutMs` or if the process exits. */
  waitFor(pred: (l: Record<string, unknown>) => boolean, what: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    const seen = this.lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolveLine, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no "${what}" within ${timeoutMs} ms\n${this.stderr.join('\n')}`)), timeoutMs);
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (code ${code}) before "${what}"\n${this.stderr.join('\n')}`));
      });
      this.waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolveLine(l);
        },
      });
    });
  }

  /** Sends a signal and waits for the exit (SIGKILL after `timeoutMs`). Resolves the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** Where a child runs: this network namespace (default) or another one (`ip netns exec NS`, needs root). */
export interface Placement {
  readonly netns?: string;
}

/** The command line that runs `node entry args` in `placement`. `ip netns exec` execs node, so signals reach it. */
function commandFor(entry: string, args: string[], placement: Placement = {}): [string, string[]] {
  return placement.netns === undefined ? [process.execPath, [entry, ...args]] : ['ip', ['netns', 'exec', placement.netns, process.execPath, entry, ...args]];
}

export function startNode(name: string, entry: string, args: string[], env: NodeJS.ProcessEnv = {}, placement: Placement = {}): JsonLineProcess {
  const [cmd, argv] = commandFor(entry, args, placement);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  return new JsonLineProcess(name, child);
}

/** Starts the reference server on an ephemeral loopback port; resolves with its port once it listens. */
export async function startServer(extraArgs: string[] = [], placement: Placement = {}): Promise<{ proc: JsonLineProcess; port: number }> {
  const proc = startNode('msgin5g-server', ENTRY.server, ['--host', '127.0.0.1', '--port', '0', ...extraArgs], {}, placement);
  const ready = await proc.waitFor((l) => l.msg === 'MSGin5G Server listening', 'MSGin5G Server listening');
  return { proc, port: Number(ready.port) };
}

/**
 * `start` arguments with `--admin-port 0` (any free port) added unless they name an admin port: the
 * demo and the tests run many gateways side by side, never on the fixed default 9690.
 */
export function withFreeAdminPort(startArgs: string[]): string[] {
  return startArgs.some((a) => a === '--admin-port' || a.startsWith('--admin-port=')) ? startArgs : [...startArgs, '--admin-port', '0'];
}

/**
 * Starts the gateway; resolves once it is registered with the server, with its UDP device port and
 * the URL of its admin API (empty when it runs none).
 */
export async function startGateway(args: string[], placement: Placement = {}): Promise<{ proc: JsonLineProcess; udpPort: number; adminUrl: string }> {
  const proc = startNode('msgin5g-gateway', ENTRY.gateway, ['start', ...withFreeAdminPort(args)], {}, placement);
  await proc.waitFor((l) => l.msg === 'gateway ready', 'gateway ready');
  const udp = proc.lines.find((l) => l.msg === 'device link listening' && l.link === 'udp');
  const m = /:(\d+)$/.exec(String(udp?.endpoint ?? ''));
  const admin = proc.lines.find((l) => l.msg === 'admin API listening');
  return { proc, udpPort: Number(m?.[1] ?? 0), adminUrl: String(admin?.url ?? '') };
}

/** Runs a node entry point to completion; resolves stdout, stderr and exit code (SIGKILL after `timeoutMs`). */
function runOnce(entry: string, args: string[], timeoutMs: number, placement: Placement = {}, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const [cmd, argv] = commandFor(entry, args, placement);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** Runs the device simulator once; resolves its one JSON line and exit code. */
export async function runDevice(args: string[], timeoutMs = 60_000, placement: Placement = {}): Promise<{ code: number | null; line: Record<string, unknown>; stderr: string }> {
  const { code, stdout, stderr } = await runOnce(ENTRY.device, args, timeoutMs, placement);
  const first = stdout.split('\n').find((l) => l.trim() !== '') ?? '{}';
  try {
    return { code, line: JSON.parse(first) as Record<string, unknown>, stderr };
  } catch {
    return { code, line: { raw: stdout }, stderr };
  }
}

/** Runs `msgin5g-gateway` with arguments (admin commands) and extra environment; resolves stdout, stderr and exit code. */
export function runGatewayCli(args: string[], timeoutMs = 20_000, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runOnce(ENTRY.gateway, args[0] === 'start' && !args.includes('--help') ? ['start', ...withFreeAdminPort(args.slice(1))] : args, timeoutMs, {}, env);
}

/** Runs `msgin5g-server` with arguments (`send`, `messages`); resolves stdout, stderr and exit code. */
export function runServerCli(args: string[], timeoutMs = 30_000, placement: Placement = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runOnce(ENTRY.server, args, timeoutMs, placement);
}

/** The reference server's registry, read from inside `placement` (its loopback may be another namespace's). */
export async function registryIn(port: number, placement: Placement = {}): Promise<string[]> {
  const script = `require(${JSON.stringify(ENTRY.serverLib)}).fetchRegistry({host:'127.0.0.1',port:${port}}).then((r)=>{process.stdout.write(JSON.stringify(r));process.exit(0)},(e)=>{process.stderr.write(String(e));process.exit(1)})`;
  const [cmd, argv] = placement.netns === undefined ? [process.execPath, ['-e', script]] : ['ip', ['netns', 'exec', placement.netns, process.execPath, '-e', script]];
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolveRun(JSON.parse(out) as string[]);
      else reject(new Error(`registry query failed: ${err}`));
    });
  });
}

/** Distinct free UDP ports on 127.0.0.1 (bound and released; good enough on a quiet loopback). */
export async function freeUdpPorts(n: number): Promise<number[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createSocket>>((res, rej) => {
          const s = createSocket('udp4');
          s.once('error', rej);
          s.bind(0, '127.0.0.1', () => res(s));
        }),
    ),
  );
  const ports = sockets.map((s) => s.address().port);
  await Promise.all(sockets.map((s) => new Promise<void>((res) => s.close(() => res()))));
  return ports;
}
