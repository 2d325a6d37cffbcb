/**
 * The workloads of issue 5 (docs/benchmarks.md): W1 raw CoAP baseline, W2 churn through the gateway,
 * W3 bulk de-registration, W4 memory per device, W5 restart after `kill -9`. Every loop is bounded
 * in count and in time; all traffic stays on 127.0.0.1.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent } from 'coap';
import type { RegistrationId } from '@msgin5g/core';
import { COAP_CONTENT_FORMAT_JSON, encodeMsgin5g1Request } from '@msgin5g/protocol';
import { SqliteRegistrationStore } from '@msgin5g/store-sqlite';
import { DevicePort } from './device-port';
import { freeUdpPort, startGateway, startNode, startServer, stopServer, type Child, type ServerCounters } from './procs';
import { round, summarize, type LatencySummary } from './stats';
import type { W6Sizes } from './w6-messages';

export type Progress = (done: number, total: number) => void;

export interface Sizes {
  readonly churnDevices: number;
  readonly concurrencies: readonly number[];
  readonly bulkDevices: number;
  readonly memoryDevices: readonly number[];
  readonly restartMappings: number;
  /** W6 (w6-messages.ts). */
  readonly messages: W6Sizes;
  /** Hard time limit of one case, ms. */
  readonly caseLimitMs: number;
}

export const QUICK: Sizes = {
  churnDevices: 400,
  concurrencies: [16, 64, 256],
  bulkDevices: 1000,
  memoryDevices: [10_000],
  restartMappings: 10_000,
  messages: { devices: 250, uplinkMessages: 1000, downlinkMessages: 1000, concurrency: 64, window: 64 },
  caseLimitMs: 20_000,
};
export const FULL: Sizes = {
  churnDevices: 10_000,
  concurrencies: [16, 64, 256],
  bulkDevices: 10_000,
  memoryDevices: [10_000, 100_000],
  restartMappings: 100_000,
  messages: { devices: 1000, uplinkMessages: 20_000, downlinkMessages: 10_000, concurrency: 64, window: 64 },
  caseLimitMs: 120_000,
};

/** Scratch files (SQLite stores, gateway configs): outside the repository and Turbo's cached outputs. */
export const WORK_DIR = join(tmpdir(), `msgin5g-bench-${process.pid}`);
/** The compiled child script (also when this module runs from `src` under Jest). */
const MEMORY_CHILD = resolve(__dirname, '..', 'dist', 'memory-child.js');

/** Gateway settings the benchmark may change: SQLite `synchronous` (the gateway's default is FULL). */
export const gatewaySettings: { synchronous: 'FULL' | 'NORMAL' } = { synchronous: 'FULL' };

export function gatewayConfig(maxInFlight: number): string {
  mkdirSync(WORK_DIR, { recursive: true });
  const file = join(WORK_DIR, `gateway-${maxInFlight}-${gatewaySettings.synchronous}.json`);
  writeFileSync(file, JSON.stringify({ limits: { maxInFlight, maxRegistrations: 1_000_000 }, sqlite: { synchronous: gatewaySettings.synchronous } }));
  return file;
}

export function freshDb(name: string): string {
  mkdirSync(WORK_DIR, { recursive: true });
  const path = join(WORK_DIR, `${name}.db`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
  return path;
}

export interface W1Result {
  readonly concurrency: number;
  readonly ops: number;
  readonly errors: number;
  readonly opsPerS: number;
  readonly latency: LatencySummary;
  readonly server: ServerCounters;
}

/** W1: coap clients POST a de-registration-sized body straight to the reference server, closed loop at `concurrency`. */
export async function w1Raw(ops: number, concurrency: number, limitMs: number, progress: Progress): Promise<W1Result> {
  const { child, port } = await startServer();
  // One agent (socket) per 16 requests in flight, as several clients would be: one coap agent alone
  // loses datagrams above ~100 in flight and the baseline would then measure its retransmissions.
  const agents = Array.from({ length: Math.ceil(concurrency / 16) }, () => new Agent({ type: 'udp4' }));
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const deadline = Date.now() + limitMs;
  const body = Buffer.from(
    encodeMsgin5g1Request({ messageType: 'DEREG', ueServiceId: 'msgin5g-gateway-1/127.0.0.1:40000/12345' as never, gatewayUeServiceId: 'msgin5g-gateway-1' as never, applicationId: 12345 as never }),
  );
  // The server acts for a gateway only once it is registered: register it, so each DEREG takes the
  // server's normal path (an answer NOT_REGISTERED), not its GATEWAY_NOT_REGISTERED refusal.
  await new Promise<void>((res) => {
    const req = (agents[0] as Agent).request({ hostname: '127.0.0.1', port, method: 'POST', confirmable: true, pathname: '/msgin5g', options: { 'Content-Format': COAP_CONTENT_FORMAT_JSON } });
    const timer = setTimeout(res, 10_000);
    const done = () => {
      clearTimeout(timer);
      res();
    };
    req.on('response', done);
    req.on('error', done);
    req.end(Buffer.from(encodeMsgin5g1Request({ messageType: 'REG', ueServiceId: 'msgin5g-gateway-1' as never })));
  });
  const one = (agent: Agent): Promise<void> =>
    new Promise<void>((res) => {
      const started = performance.now();
      const req = agent.request({ hostname: '127.0.0.1', port, method: 'POST', confirmable: true, pathname: '/msgin5g', options: { 'Content-Format': COAP_CONTENT_FORMAT_JSON } });
      const timer = setTimeout(() => {
        errors += 1;
        res();
      }, 10_000);
      req.on('response', (r: { code: string }) => {
        clearTimeout(timer);
        if (r.code === '2.04') latencies.push(performance.now() - started);
        else errors += 1;
        res();
      });
      req.on('error', () => {
        clearTimeout(timer);
        errors += 1;
        res();
      });
      req.end(body);
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      const agent = agents[worker % agents.length] as Agent;
      while (next < ops && Date.now() < deadline) {
        next += 1;
        await one(agent);
        progress(latencies.length + errors, ops);
      }
    }),
  );
  const elapsedS = (performance.now() - t0) / 1000;
  for (const agent of agents) {
    try {
      agent.close();
    } catch {
      // idle socket already closed
    }
  }
  const server = await stopServer(child);
  return { concurrency, ops: latencies.length, errors, opsPerS: round(latencies.length / elapsedS, 0), latency: summarize(latencies), server };
}

interface Gw {
  readonly server: { child: Child; port: number };
  readonly gateway: Child;
  readonly udpPort: number;
}

/** When set, the gateway of W2 runs with `node --cpu-prof` and writes its profile here (on its SIGTERM exit). */
export const profiling: { dir?: string } = {};

async function startPair(upstreamSockets: number, store: string, maxInFlight = 4096, nodeArgs: string[] = []): Promise<Gw> {
  const server = await startServer();
  const udpPort = await freeUdpPort();
  const gateway = await startGateway({ serverPort: server.port, udpPort, store, upstreamSockets, configFile: gatewayConfig(maxInFlight), nodeArgs });
  return { server, gateway, udpPort };
}

async function openPorts(n: number, gatewayPort: number): Promise<DevicePort[]> {
  return Promise.all(Array.from({ length: n }, () => DevicePort.open(gatewayPort)));
}

export interface W2Result {
  readonly concurrency: number;
  readonly devices: number;
  readonly ops: number;
  readonly errors: number;
  readonly opsPerS: number;
  readonly latency: LatencySummary;
  readonly gatewayCpuS: number;
  readonly gatewayPeakRssMiB: number;
  readonly retransmissions: number;
  /** Failed operations by reason (a device Failure reason, or "timeout"). */
  readonly failureReasons: Record<string, number>;
  /** The gateway's first warnings (message and fields), to explain failures. */
  readonly gatewayWarnings: string[];
  readonly server: ServerCounters;
}

function tally(into: Record<string, number>, reason: string): void {
  into[reason] = (into[reason] ?? 0) + 1;
}

/** W2: `devices` devices each register then de-register through the UDP link, closed loop at `concurrency`. */
export async function w2Churn(devices: number, concurrency: number, limitMs: number, progress: Progress, upstreamSockets = 1): Promise<W2Result> {
  const prof = profiling.dir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profiling.dir, '--cpu-prof-name', `gateway-w2-c${concurrency}.cpuprofile`];
  const g = await startPair(upstreamSockets, `sqlite:${freshDb(`w2-c${concurrency}`)}`, 4096, prof);
  const latencies: number[] = [];
  const failureReasons: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  let retransmissions = 0;
  const deadline = Date.now() + limitMs;
  const cpu0 = g.gateway.cpuSeconds();
  const t0 = performance.now();
  // One socket per device (its own Layer-2 ID), as real devices: the gateway rate-limits per device.
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < devices && Date.now() < deadline) {
        const appId = next % 0x10000;
        next += 1;
        const port = await DevicePort.open(g.udpPort);
        try {
          const reg = await port.register(appId, 1000, 5);
          if (reg.response.result !== 'SUCCESS') {
            errors += 1;
            tally(failureReasons, `REG ${reg.response.failureReason}`);
            continue;
          }
          latencies.push(reg.latencyMs);
          const de = await port.deregister(reg.response.registrationId, 1000, 5);
          if (de.response.result === 'SUCCESS') latencies.push(de.latencyMs);
          else {
            errors += 1;
            tally(failureReasons, `DEREG ${de.response.failureReason}`);
          }
        } catch {
          errors += 1;
          tally(failureReasons, 'timeout');
        } finally {
          retransmissions += port.retransmissions;
          await port.close();
        }
        progress(latencies.length + errors, devices * 2);
      }
    }),
  );
  const elapsedS = (performance.now() - t0) / 1000;
  const cpu = g.gateway.cpuSeconds() - cpu0;
  const rss = g.gateway.peakRssBytes();
  await g.gateway.stop('SIGTERM');
  const gatewayWarnings = g.gateway.lines.filter((l) => Number(l.level) >= 40).slice(0, 5).map((l) => JSON.stringify(l).slice(0, 400));
  const server = await stopServer(g.server.child);
  return {
    concurrency,
    devices,
    ops: latencies.length,
    errors,
    opsPerS: round(latencies.length / elapsedS, 0),
    latency: summarize(latencies),
    gatewayCpuS: round(cpu, 2),
    gatewayPeakRssMiB: round(rss / 2 ** 20, 1),
    retransmissions,
    failureReasons,
    gatewayWarnings,
    server,
  };
}

/** Registers `devices` devices over `ports` (round robin), `concurrency` at a time; resolves (port, Registration ID) pairs. */
async function registerAll(ports: DevicePort[], devices: number, deadline: number, progress: Progress): Promise<Array<{ port: DevicePort; id: RegistrationId }>> {
  const out: Array<{ port: DevicePort; id: RegistrationId }> = [];
  let next = 0;
  await Promise.all(
    ports.map(async (port) => {
      while (next < devices && Date.now() < deadline) {
        const appId = next;
        next += 1;
        try {
          const a = await port.register(appId, 1000, 5);
          if (a.response.result === 'SUCCESS') out.push({ port, id: a.response.registrationId });
        } catch {
          // counted by the caller as missing
        }
        progress(out.length, devices);
      }
    }),
  );
  return out;
}

export interface W3Result {
  readonly upstreamSockets: number;
  readonly devices: number;
  readonly registered: number;
  readonly deregistered: number;
  readonly congestionRetries: number;
  readonly lastResponseS: number;
  readonly retransmissions: number;
  readonly server: ServerCounters;
}

/** W3: `devices` registered devices de-register at once; time until the last response. */
export async function w3Bulk(devices: number, upstreamSockets: number, limitMs: number, progress: Progress): Promise<W3Result> {
  const g = await startPair(upstreamSockets, `sqlite:${freshDb(`w3-s${upstreamSockets}`)}`, devices * 2);
  // ≤ 20 devices per socket (Layer-2 ID): under the gateway's per-device burst (40) even when all send at once.
  const ports = await openPorts(Math.max(1, Math.ceil(devices / 20)), g.udpPort);
  const deadline = Date.now() + limitMs;
  const registered = await registerAll(ports, devices, deadline, (d) => progress(d, devices * 2));
  let deregistered = 0;
  let congestionRetries = 0;
  const t0 = performance.now();
  let last = t0;
  await Promise.all(
    registered.map(async ({ port, id }) => {
      for (let attempt = 0; attempt < 20 && Date.now() < deadline; attempt++) {
        try {
          const a = await port.deregister(id, 1000, 30);
          if (a.response.result === 'SUCCESS') {
            deregistered += 1;
            last = performance.now();
            progress(devices + deregistered, devices * 2);
            return;
          }
          congestionRetries += 1;
          await new Promise((r) => setTimeout(r, 100));
        } catch {
          return;
        }
      }
    }),
  );
  const retransmissions = ports.reduce((n, p) => n + p.retransmissions, 0);
  await Promise.all(ports.map((p) => p.close()));
  await g.gateway.stop('SIGTERM');
  const server = await stopServer(g.server.child);
  return { upstreamSockets, devices, registered: registered.length, deregistered, congestionRetries, lastResponseS: round((last - t0) / 1000, 2), retransmissions, server };
}

export interface W4Result {
  readonly store: 'memory' | 'sqlite';
  readonly devices: number;
  readonly heapBytesPerDevice: number;
  readonly rssBytesPerDevice: number;
}

/** W4: heap and RSS per registered device after GC, measured in a child with --expose-gc. */
export function w4Memory(store: 'memory' | 'sqlite', devices: number, limitMs: number): Promise<W4Result> {
  const db = store === 'sqlite' ? freshDb(`w4-${devices}`) : '';
  return new Promise((res, rej) => {
    execFile(process.execPath, ['--expose-gc', MEMORY_CHILD, store, String(devices), db], { timeout: limitMs }, (err, stdout) => {
      if (err) return rej(err);
      try {
        const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { heapBytesPerDevice: number; rssBytesPerDevice: number };
        res({ store, devices, heapBytesPerDevice: r.heapBytesPerDevice, rssBytesPerDevice: r.rssBytesPerDevice });
      } catch (e) {
        rej(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}

/** W5's live devices use Application IDs from here up; the prefilled mappings use those below (an Application ID is held by one device at a time). */
export const CHURN_APP_IDS_FROM = 60_000;

export interface W5Result {
  readonly mappings: number;
  readonly readyAfterStartS: number;
  readonly firstDeregAfterKillS: number;
  readonly acknowledgedRegistrations: number;
  readonly acknowledgedDeregistrations: number;
  readonly lost: number;
  readonly server: ServerCounters;
}

/**
 * De-registers, retrying for up to 20 s while the answer is GATEWAY_NOT_REGISTERED or CONGESTION:
 * a restarted gateway says those until it has registered itself, and they mean "not yet", not a
 * lost operation. Resolves the final answer, or undefined when none came.
 */
async function deregisterPastTransients(port: DevicePort, id: RegistrationId, timeoutMs: number, retries: number): Promise<Awaited<ReturnType<DevicePort['deregister']>> | undefined> {
  const until = Date.now() + 20_000;
  for (;;) {
    const a = await port.deregister(id, timeoutMs, retries).catch(() => undefined);
    const reason = a?.response.result === 'FAILURE' ? a.response.failureReason : undefined;
    if ((reason !== 'GATEWAY_NOT_REGISTERED' && reason !== 'CONGESTION') || Date.now() >= until) return a;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** W5: `mappings` mappings in SQLite; churn, `kill -9` the gateway, restart; time to the first successful de-registration; lost acknowledged operations. */
export async function w5Restart(mappings: number, limitMs: number, progress: Progress): Promise<W5Result> {
  const dbPath = freshDb('w5');
  await prefill(dbPath, mappings);
  progress(1, 4);
  const server = await startServer();
  const udpPort = await freeUdpPort();
  const config = gatewayConfig(4096);
  const args = { serverPort: server.port, udpPort, store: `sqlite:${dbPath}`, upstreamSockets: 1, configFile: config };
  let gateway = await startGateway(args);
  progress(2, 4);
  // 128 devices' sockets, each a few requests a second: under the gateway's per-device rate limit.
  const ports = await openPorts(128, udpPort);
  const live = new Map<RegistrationId, DevicePort>();
  const gone = new Set<RegistrationId>();
  let stop = false;
  const deadline = Date.now() + limitMs;
  let nextApp = 0;
  const churn = Promise.all(
    ports.map(async (port) => {
      while (!stop && Date.now() < deadline) {
        const appId = CHURN_APP_IDS_FROM + (nextApp++ % (0x10000 - CHURN_APP_IDS_FROM));
        try {
          const a = await port.register(appId, 1000, 3);
          if (a.response.result !== 'SUCCESS') continue;
          live.set(a.response.registrationId, port);
          if (appId % 2 === 0) continue; // every other device stays registered
          const d = await port.deregister(a.response.registrationId, 1000, 3);
          if (d.response.result === 'SUCCESS') {
            live.delete(a.response.registrationId);
            gone.add(a.response.registrationId);
          }
        } catch {
          // cancelled at the kill
        }
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 1500));
  gateway.proc.kill('SIGKILL');
  const killedAt = performance.now();
  stop = true;
  for (const p of ports) p.cancelAll();
  await churn;
  await gateway.exited;
  progress(3, 4);
  // Restart, and probe with a device whose registration was acknowledged before the kill.
  const restartedAt = performance.now();
  const restarting = startGateway(args);
  const [probeId, probePort] = [...live.entries()][0] ?? [undefined, undefined];
  let firstDeregAfterKillS = -1;
  if (probeId !== undefined && probePort !== undefined) {
    // The restarted gateway answers GATEWAY_NOT_REGISTERED (or CONGESTION) until it has registered
    // itself: those are "not yet", not a loss, so the probe retries them until a final answer.
    const a = await deregisterPastTransients(probePort, probeId, 50, 400);
    if (a?.response.result === 'SUCCESS') {
      firstDeregAfterKillS = round((performance.now() - killedAt) / 1000, 2);
      live.delete(probeId);
      gone.add(probeId);
    }
  }
  gateway = await restarting;
  const readyAfterStartS = round((performance.now() - restartedAt) / 1000, 2);
  // Every acknowledged registration must still be there: de-register it (success proves the mapping survived).
  let lost = 0;
  const acknowledgedRegistrations = live.size + (probeId === undefined ? 0 : 1);
  for (const [id, port] of live) {
    const a = await deregisterPastTransients(port, id, 500, 5);
    if (a?.response.result === 'SUCCESS') gone.add(id);
    else lost += 1;
  }
  if (firstDeregAfterKillS < 0 && probeId !== undefined) lost += 1;
  await Promise.all(ports.map((p) => p.close()));
  await gateway.stop('SIGTERM');
  // Every acknowledged de-registration must be gone from the store.
  const store = SqliteRegistrationStore.openReadOnly(dbPath);
  for (const id of gone) if ((await store.get(id)) !== undefined) lost += 1;
  await store.close();
  const counters = await stopServer(server.child);
  progress(4, 4);
  return { mappings, readyAfterStartS, firstDeregAfterKillS, acknowledgedRegistrations, acknowledgedDeregistrations: gone.size, lost, server: counters };
}

/** Writes `mappings` REGISTERED mappings straight into a store (synchronous NORMAL: a bulk load, not the gateway's path). */
function prefill(path: string, mappings: number): Promise<void> {
  return new Promise((res, rej) => {
    const child = startNode('prefill', [MEMORY_CHILD, 'prefill', String(mappings), path]);
    void child.exited.then((code) => (code === 0 ? res() : rej(new Error(`prefill exited ${code}: ${child.stderr.join('\n')}`))));
  });
}
