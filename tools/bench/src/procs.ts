/**
 * Child processes of a benchmark: the reference MSGin5G Server and the gateway, started from their
 * built entry points on loopback, with their CPU time and peak RSS read from `/proc` (Linux).
 * Rejected alternative: importing the gateway's demo helpers — they are internal to the gateway app
 * (not exported), and the benchmark needs `kill -9`, CPU and RSS on top.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(__dirname, '..', '..', '..');
export const ENTRY = {
  server: resolve(ROOT, 'apps', 'msgin5g-server', 'dist', 'main.js'),
  gateway: resolve(ROOT, 'apps', 'gateway', 'dist', 'main.js'),
};

/** A child whose stdout is pino JSON lines. */
export class Child {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private waiters: Array<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    createInterface({ input: proc.stdout! }).on('line', (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { msg: text };
      }
      // Bounded: the first 2 000 lines, then warnings and errors only (up to 4 000 in all).
      if (this.lines.length < 2000 || (Number(line.level) >= 40 && this.lines.length < 4000)) this.lines.push(line);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(line)) return true;
        w.resolve(line);
        return false;
      });
    });
    createInterface({ input: proc.stderr! }).on('line', (text) => {
      if (this.stderr.length < 200) this.stderr.push(text);
    });
    this.exited = new Promise((res) => proc.once('exit', (code) => res(code)));
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }

  waitFor(pred: (l: Record<string, unknown>) => boolean, what: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const seen = this.lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`${this.name}: no "${what}" within ${timeoutMs} ms\n${this.stderr.join('\n')}`)), timeoutMs);
      void this.exited.then((code) => {
        clearTimeout(timer);
        rej(new Error(`${this.name} exited (code ${code}) before "${what}"\n${this.stderr.join('\n')}`));
      });
      this.waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          res(l);
        },
      });
    });
  }

  /** Sends `signal`, waits for the exit (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** CPU seconds (user + system) so far, from /proc/PID/stat; 0 where /proc is missing. */
  cpuSeconds(): number {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
    } catch {
      return 0;
    }
  }

  /** Peak RSS (VmHWM) in bytes, from /proc/PID/status; 0 where /proc is missing. */
  peakRssBytes(): number {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }
}

const running = new Set<Child>();

export function startNode(name: string, args: string[], nodeArgs: string[] = []): Child {
  const proc = spawn(process.execPath, [...nodeArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const child = new Child(name, proc);
  running.add(child);
  void child.exited.then(() => running.delete(child));
  return child;
}

/** SIGKILLs every child this process started that is still running (after a failed case, and at exit). */
export async function killAll(): Promise<void> {
  const left = [...running];
  for (const c of left) c.proc.kill('SIGKILL');
  await Promise.all(left.map((c) => c.exited));
}

/** The reference server in check mode (Message ID reuse counted), logging at warn; `extraArgs` appended (`--as-service-id`, …). */
export async function startServer(extraArgs: readonly string[] = [], nodeArgs: string[] = []): Promise<{ child: Child; port: number }> {
  const child = startNode('msgin5g-server', [ENTRY.server, '--host', '127.0.0.1', '--port', '0', '--log-level', 'warn', '--check-mid-reuse', ...extraArgs], nodeArgs);
  const ready = await child.waitFor((l) => l.msg === 'MSGin5G Server listening', 'MSGin5G Server listening');
  return { child, port: Number(ready.port) };
}

/** What the server counted, from its stopping line (SIGTERM). */
export interface ServerCounters {
  readonly requests: number;
  readonly duplicates: number;
  readonly messageIdReuses: number;
  readonly peersChecked: number;
  /** The message router's counters (msgReceived, toInbox, stored, forwarded, duplicates, …); empty when not reported. */
  readonly messages: Record<string, number>;
}

export async function stopServer(child: Child): Promise<ServerCounters> {
  await child.stop('SIGTERM');
  const line = child.lines.find((l) => l.msg === 'MSGin5G Server stopping');
  const stats = (line?.stats ?? {}) as Partial<ServerCounters>;
  const messages = (line?.messages ?? {}) as Record<string, number>;
  return { requests: stats.requests ?? -1, duplicates: stats.duplicates ?? -1, messageIdReuses: stats.messageIdReuses ?? -1, peersChecked: stats.peersChecked ?? -1, messages };
}

export interface GatewayArgs {
  readonly serverPort: number;
  readonly udpPort: number;
  readonly store: string;
  readonly upstreamSockets: number;
  readonly configFile: string;
  readonly logLevel?: string;
  readonly nodeArgs?: string[];
  /** More `start` flags (`--inbox-port`, …). */
  readonly extraArgs?: readonly string[];
}

/**
 * Starts the gateway; resolves once it logged "gateway ready" (registered with the server). The
 * default log level is the gateway's default, `info` (one line per device procedure), because that is
 * how it runs; the readiness line is an `info` line.
 */
export async function startGateway(a: GatewayArgs): Promise<Child> {
  const child = startNode(
    'msgin5g-gateway',
    [
      ENTRY.gateway,
      'start',
      '--config',
      a.configFile,
      '--server',
      `coap://127.0.0.1:${a.serverPort}/msgin5g`,
      '--udp-host',
      '127.0.0.1',
      '--udp-port',
      String(a.udpPort),
      '--store',
      a.store,
      '--authorization',
      'open',
      '--upstream-sockets',
      String(a.upstreamSockets),
      '--log-level',
      a.logLevel ?? 'info',
      // Any free port for the admin API: runs side by side never meet on the default 9690.
      '--admin-port',
      '0',
      ...(a.extraArgs ?? []),
    ],
    a.nodeArgs ?? [],
  );
  await child.waitFor((l) => l.msg === 'gateway ready', 'gateway ready', 60_000);
  return child;
}

/** A free UDP port on 127.0.0.1 (bound and released). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((res, rej) => {
    s.once('error', rej);
    s.bind(0, '127.0.0.1', () => res());
  });
  const port = s.address().port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}
