/**
 * Test support for real frames: two network namespaces joined by a veth pair, and agents
 * (`fixtures/l2-agent.js`) running inside them, driven over stdin/stdout.
 *
 * - Needs root and iproute2's `ip`; {@link labUnavailable} says why not, so a suite can print it
 *   and skip (never a silent pass).
 * - Namespaces get unique names (`m5a-<pid>-<n>`, `m5b-<pid>-<n>`) and are ALWAYS removed by
 *   `remove()` (call it in `afterAll`): deleting a namespace deletes its end of the veth pair.
 * - Fallback, documented: when namespaces cannot be created (a container without the privilege),
 *   or `MSGIN5G_L2_TEST_FALLBACK=lo` is set, both agents run in the root namespace on `lo`, where
 *   every packet socket sees every frame (MAC 00:00:00:00:00:00, so frames carry the MACs the
 *   tests pick).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const GATEWAY_MAC = '020000000001';
export const DEVICE_MAC = '02000000aa01';
const AGENT = join(__dirname, 'fixtures', 'l2-agent.js');
let counter = 0;

/** Why real-frame tests cannot run here, or undefined when they can. */
export function labUnavailable(): string | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return `not root (uid ${process.getuid?.() ?? '?'}): AF_PACKET sockets and network namespaces need root`;
  const ip = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (ip.error !== undefined || ip.status !== 0) return `iproute2 \`ip\` is not available (${ip.error?.message ?? `exit ${ip.status}`})`;
  return undefined;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
}

/** Sets sysctls inside a namespace; best effort (a kernel without IPv6 has none of these). */
function sysctl(ns: string, settings: string[]): void {
  spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', ...settings], { timeout: 5000 });
}

/**
 * Deletes namespaces a killed test run left behind: names matching `pattern` whose first group is
 * the pid of a process that no longer exists.
 */
export function removeStaleNamespaces(pattern: RegExp): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const pid = Number(pattern.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || processExists(pid)) continue;
    spawnSync('ip', ['netns', 'del', name], { timeout: 5000 });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/** A reply of the agent. */
export interface AgentReply {
  readonly ok: boolean;
  readonly error?: { code?: string; message: string; reason?: string };
  readonly [key: string]: unknown;
}

/** One `l2-agent.js` process. */
export class Agent {
  private nextId = 1;
  private readonly pending = new Map<number, (r: AgentReply) => void>();
  private readonly exited: Promise<number | null>;
  stderr = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const reply = JSON.parse(line) as AgentReply & { id: number };
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
    child.stderr.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Starts an agent in `namespace` (root namespace when undefined); resolves when it is ready. */
  static async start(namespace: string | undefined): Promise<Agent> {
    const argv = namespace === undefined ? [process.execPath, AGENT] : ['ip', 'netns', 'exec', namespace, process.execPath, AGENT];
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const agent = new Agent(child);
    const ready = await agent.wait(0, 5000);
    if (!ready.ok) throw new Error(`agent did not start: ${agent.stderr}`);
    return agent;
  }

  /** Sends a command; resolves with its reply (rejects after `timeoutMs`). */
  call(op: string, args: Record<string, unknown> = {}, timeoutMs = 5000): Promise<AgentReply> {
    const id = this.nextId++;
    const reply = this.wait(id, timeoutMs);
    this.child.stdin.write(`${JSON.stringify({ id, op, ...args })}\n`);
    return reply;
  }

  /** As {@link call}, failing on an error reply. */
  async ok(op: string, args: Record<string, unknown> = {}): Promise<AgentReply> {
    const r = await this.call(op, args);
    if (!r.ok) throw new Error(`agent ${op} failed: ${JSON.stringify(r.error)} ${this.stderr}`);
    return r;
  }

  /** Frames captured by `name` until `pred` holds for the accumulated list (polls; bounded by `timeoutMs`). */
  async framesUntil(name: string, pred: (frames: CapturedFrame[]) => boolean, timeoutMs = 3000): Promise<CapturedFrame[]> {
    const all: CapturedFrame[] = [];
    const end = Date.now() + timeoutMs;
    for (;;) {
      all.push(...((await this.ok('frames', { name })).frames as CapturedFrame[]));
      if (pred(all)) return all;
      if (Date.now() > end) return all;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Asks the agent to close everything and resolves with its exit code; kills it after `timeoutMs`. */
  async quit(timeoutMs = 3000): Promise<number | null | 'killed'> {
    await this.call('quit', {}, timeoutMs).catch(() => undefined);
    const timer = new Promise<'killed'>((resolve) => setTimeout(() => resolve('killed'), timeoutMs).unref());
    const result = await Promise.race([this.exited, timer]);
    if (result === 'killed') this.child.kill('SIGKILL');
    return result;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  private wait(id: number, timeoutMs: number): Promise<AgentReply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`agent reply ${id} timed out; stderr: ${this.stderr}`));
      }, timeoutMs);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }
}

export interface CapturedFrame {
  readonly hex: string;
  readonly pktType: number;
}

/** Two namespaces joined by a veth pair (`va` ↔ `vb`), or the `lo` fallback. */
export class L2Lab {
  private constructor(
    /** Namespace of the gateway side; undefined in the `lo` fallback. */
    readonly nsA: string | undefined,
    readonly nsB: string | undefined,
    readonly ifA: string,
    readonly ifB: string,
    /** Why the fallback is used, if it is. */
    readonly fallback: string | undefined,
  ) {}

  /**
   * Creates the namespaces and the veth pair with fixed MACs: `va` = {@link GATEWAY_MAC},
   * `vb` = {@link DEVICE_MAC}. Falls back to `lo` when namespaces cannot be created.
   */
  static create(): L2Lab {
    if (process.env['MSGIN5G_L2_TEST_FALLBACK'] === 'lo') return new L2Lab(undefined, undefined, 'lo', 'lo', 'MSGIN5G_L2_TEST_FALLBACK=lo');
    removeStaleNamespaces(/^m5[ab]-(\d+)-\d+$/);
    counter += 1;
    const a = `m5a-${process.pid}-${counter}`;
    const b = `m5b-${process.pid}-${counter}`;
    try {
      ip(['netns', 'add', a]);
    } catch (err) {
      return new L2Lab(undefined, undefined, 'lo', 'lo', `cannot create a network namespace (${(err as Error).message.trim()})`);
    }
    const lab = new L2Lab(a, b, 'va', 'vb', undefined);
    try {
      ip(['netns', 'add', b]);
      // No IPv6 in the namespaces: the kernel's own neighbour discovery and MLD frames would add
      // unrelated OUTGOING and multicast frames to what ETH_P_ALL sockets count.
      for (const ns of [a, b]) sysctl(ns, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      ip(['link', 'add', 'va', 'netns', a, 'address', '02:00:00:00:00:01', 'type', 'veth', 'peer', 'name', 'vb', 'netns', b, 'address', '02:00:00:00:aa:01']);
      ip(['-n', a, 'link', 'set', 'va', 'up']);
      ip(['-n', b, 'link', 'set', 'vb', 'up']);
    } catch (err) {
      lab.remove();
      throw err;
    }
    return lab;
  }

  /** Removes the namespaces (and with them the veth pair). Idempotent, never throws. */
  remove(): void {
    for (const ns of [this.nsA, this.nsB]) {
      if (ns !== undefined) spawnSync('ip', ['netns', 'del', ns], { timeout: 5000 });
    }
  }

  /** Whether a namespace of this lab still exists (for the cleanup check). */
  static exists(ns: string): boolean {
    const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    return r.stdout.split('\n').some((l) => l.split(' ')[0] === ns);
  }
}
