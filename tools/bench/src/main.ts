#!/usr/bin/env node
/**
 * `pnpm bench [--quick] [--json FILE] [--only W1,W2,…]`: runs the workloads of docs/benchmarks.md
 * against the built reference server and gateway (run `pnpm build` first), shows a progress bar per
 * case, prints a table at the end and writes every figure to a JSON file (default
 * `reports/bench.json`, git-ignored). Exit code 0 when every case completed, with zero Message ID
 * reuse and zero lost acknowledged operations (W5 registrations; W6 messages: accepted uplink ones
 * the server does not hold, stored downlink ones that never reached their device); 1 otherwise.
 * Timing never decides the exit code.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import Table from 'cli-table3';
import { Command } from 'commander';
import { FULL, freshDb, gatewayConfig, gatewaySettings, profiling, QUICK, w1Raw, w2Churn, w3Bulk, w4Memory, w5Restart, WORK_DIR, type Progress, type Sizes, type W1Result, type W2Result, type W3Result, type W4Result, type W5Result } from './workloads';
import { killAll } from './procs';
import { round } from './stats';
import { w6Messages, type W6Result } from './w6-messages';

export interface BenchReport {
  readonly mode: 'quick' | 'full';
  readonly startedAt: string;
  readonly durationS: number;
  readonly machine: { readonly cpus: string; readonly cores: number; readonly memGiB: number; readonly node: string; readonly loadAvgAtStart: number[]; readonly loadAvgAtEnd: number[] };
  readonly w1: W1Result[];
  readonly w2: Array<W2Result & { ratioToW1: number }>;
  readonly w3: W3Result[];
  readonly w4: W4Result[];
  readonly w5?: W5Result;
  /** W6 with its rates as ratios to W1 at C = 64 of the same run (0: no W1 at 64). */
  readonly w6?: W6Result & { uplinkRatioToW1: number; downlinkRatioToW1: number };
  readonly messageIdReuses: number;
  readonly lostOperations: number;
  readonly failures: string[];
}

const WORKLOADS = ['W1', 'W2', 'W3', 'W4', 'W5', 'W6'] as const;
/** W6's rates are compared with W1 at this concurrency (W2's honest point, docs/benchmarks.md). */
const W6_BASELINE_C = 64;

/** Runs the benchmark; resolves the report (also written to `jsonFile`). */
export async function runBench(options: { quick: boolean; jsonFile: string; only?: readonly string[]; progress?: boolean }): Promise<BenchReport> {
  const sizes: Sizes = options.quick ? QUICK : FULL;
  const only = new Set(options.only ?? WORKLOADS);
  const started = Date.now();
  const loadAvgAtStart = loadavg().map((x) => round(x, 2));
  const failures: string[] = [];
  const w1: W1Result[] = [];
  const w2: Array<W2Result & { ratioToW1: number }> = [];
  const w3: W3Result[] = [];
  const w4: W4Result[] = [];
  let w5: W5Result | undefined;
  let w6: BenchReport['w6'];

  const showBar = options.progress ?? process.stderr.isTTY === true;
  const step = async <T>(label: string, run: (p: Progress) => Promise<T>): Promise<T | undefined> => {
    const bar = new SingleBar({ format: `${label.padEnd(34)} [{bar}] {percentage}% | {value}/{total} | {duration_formatted}`, stream: process.stderr, noTTYOutput: false }, Presets.shades_classic);
    if (showBar) bar.start(1, 0);
    else process.stderr.write(`${label} …\n`);
    try {
      return await run((done, total) => {
        if (showBar) {
          bar.setTotal(total);
          bar.update(done);
        }
      });
    } catch (err) {
      failures.push(`${label}: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    } finally {
      if (showBar) bar.stop();
      await killAll(); // nothing of a case outlives it, even when it failed half-way
    }
  };

  for (const c of sizes.concurrencies) {
    if (only.has('W1')) {
      const r = await step(`W1 raw CoAP C=${c}`, (p) => w1Raw(sizes.churnDevices * 2, c, sizes.caseLimitMs, p));
      if (r) w1.push(r);
    }
    if (only.has('W2')) {
      const r = await step(`W2 churn C=${c}`, (p) => w2Churn(sizes.churnDevices, c, sizes.caseLimitMs, p));
      const base = w1.find((x) => x.concurrency === c);
      if (r) w2.push({ ...r, ratioToW1: base && base.opsPerS > 0 ? round(r.opsPerS / base.opsPerS, 2) : 0 });
    }
  }
  if (only.has('W3')) {
    for (const sockets of [1, 8]) {
      const r = await step(`W3 bulk DEREG, ${sockets} socket(s)`, (p) => w3Bulk(sizes.bulkDevices, sockets, sizes.caseLimitMs, p));
      if (r) w3.push(r);
    }
  }
  if (only.has('W4')) {
    for (const n of sizes.memoryDevices) {
      for (const store of ['memory', 'sqlite'] as const) {
        const r = await step(`W4 memory ${store} ${n}`, () => w4Memory(store, n, sizes.caseLimitMs * 2));
        if (r) w4.push(r);
      }
    }
  }
  if (only.has('W5')) w5 = await step(`W5 restart ${sizes.restartMappings}`, (p) => w5Restart(sizes.restartMappings, sizes.caseLimitMs, p));
  if (only.has('W6')) {
    // W6 is read as a ratio to W1 at C = 64 of the same run: run that baseline when --only left it out.
    if (!w1.some((x) => x.concurrency === W6_BASELINE_C)) {
      const r = await step(`W1 raw CoAP C=${W6_BASELINE_C} (W6 baseline)`, (p) => w1Raw(sizes.churnDevices * 2, W6_BASELINE_C, sizes.caseLimitMs, p));
      if (r) w1.push(r);
    }
    const m = sizes.messages;
    const r = await step(`W6 messages, ${m.devices} devices`, (p) => w6Messages(m, gatewayConfig(4096), freshDb('w6'), sizes.caseLimitMs, p));
    const base = w1.find((x) => x.concurrency === W6_BASELINE_C);
    const ratio = (x: number) => (base && base.opsPerS > 0 ? round(x / base.opsPerS, 2) : 0);
    if (r) w6 = { ...r, uplinkRatioToW1: ratio(r.uplink.opsPerS), downlinkRatioToW1: ratio(r.downlink.msgsPerS) };
  }

  const servers = [...w1.map((r) => r.server), ...w2.map((r) => r.server), ...w3.map((r) => r.server), ...(w5 ? [w5.server] : []), ...(w6 ? [w6.server] : [])];
  const messageIdReuses = servers.reduce((n, s) => n + Math.max(0, s.messageIdReuses), 0);
  if (servers.some((s) => s.messageIdReuses < 0)) failures.push('a server did not report its Message ID counters');
  // Lost: acknowledged registrations (W5), downlink messages stored by the server that never
  // reached their device, and uplink messages accepted (0x03) that the server does not hold (W6).
  const w6UplinkLost = w6 ? Math.max(0, w6.uplink.accepted - w6.uplink.atServer) : 0;
  const lostOperations = (w5?.lost ?? 0) + (w6 ? w6.downlink.lost + w6UplinkLost : 0);
  if (only.has('W5') && w5 === undefined) failures.push('W5 did not complete');
  if (only.has('W6') && w6 === undefined) failures.push('W6 did not complete');
  if (w6) {
    if (w6.registered < w6.devices) failures.push(`W6: ${w6.registered}/${w6.devices} devices registered`);
    if (w6.uplink.errors > 0) failures.push(`W6 uplink: ${w6.uplink.errors} message(s) not accepted (${Object.entries(w6.uplink.failureReasons).map(([k, v]) => `${k} ${v}`).join(', ')})`);
    if (w6.uplink.atServer !== w6.uplink.accepted) failures.push(`W6 uplink: ${w6.uplink.accepted} accepted but the server holds ${w6.uplink.atServer}`);
    if (w6.downlink.stored < w6.downlink.injected) failures.push(`W6 downlink: ${w6.downlink.injected - w6.downlink.stored} message(s) not taken by the server (${Object.entries(w6.downlink.refused).map(([k, v]) => `${k} ${v}`).join(', ')})`);
    if (w6.downlink.misrouted > 0) failures.push(`W6 downlink: ${w6.downlink.misrouted} copies at the wrong device`);
  }
  for (const r of w2) if (r.errors > 0) failures.push(`W2 C=${r.concurrency}: ${r.errors} operation(s) failed`);
  for (const r of w3) if (r.deregistered < r.devices) failures.push(`W3 ${r.upstreamSockets} socket(s): ${r.deregistered}/${r.devices} de-registered`);

  const report: BenchReport = {
    mode: options.quick ? 'quick' : 'full',
    startedAt: new Date(started).toISOString(),
    durationS: round((Date.now() - started) / 1000, 1),
    machine: { cpus: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memGiB: round(totalmem() / 2 ** 30, 1), node: process.version, loadAvgAtStart, loadAvgAtEnd: loadavg().map((x) => round(x, 2)) },
    w1,
    w2,
    w3,
    w4,
    ...(w5 === undefined ? {} : { w5 }),
    ...(w6 === undefined ? {} : { w6 }),
    messageIdReuses,
    lostOperations,
    failures,
  };
  rmSync(WORK_DIR, { recursive: true, force: true });
  mkdirSync(dirname(options.jsonFile), { recursive: true });
  writeFileSync(options.jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/** The report as text tables. */
export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  const t1 = new Table({ style: { head: [], border: [] }, head: ['Case', 'C', 'ops', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'W2/W1', 'GW CPU s', 'GW peak RSS MiB', 'retx', 'MID reuse'] });
  for (const a of r.w1) t1.push([`W1 raw CoAP`, a.concurrency, a.ops, a.opsPerS, a.latency.p50Ms, a.latency.p95Ms, a.latency.p99Ms, '', '', '', '', a.server.messageIdReuses]);
  for (const b of r.w2) t1.push([`W2 churn (${b.devices} dev)`, b.concurrency, b.ops, b.opsPerS, b.latency.p50Ms, b.latency.p95Ms, b.latency.p99Ms, b.ratioToW1, b.gatewayCpuS, b.gatewayPeakRssMiB, b.retransmissions, b.server.messageIdReuses]);
  if (r.w1.length + r.w2.length > 0) out.push(t1.toString());
  if (r.w3.length > 0) {
    const t3 = new Table({ style: { head: [], border: [] }, head: ['W3 bulk DEREG', 'devices', 'de-registered', 'last response s', 'CONGESTION retries', 'retx', 'MID reuse'] });
    for (const c of r.w3) t3.push([`${c.upstreamSockets} upstream socket(s)`, c.devices, c.deregistered, c.lastResponseS, c.congestionRetries, c.retransmissions, c.server.messageIdReuses]);
    out.push(t3.toString());
  }
  if (r.w4.length > 0) {
    const t4 = new Table({ style: { head: [], border: [] }, head: ['W4 memory', 'devices', 'heap B/device', 'RSS B/device'] });
    for (const m of r.w4) t4.push([m.store, m.devices, m.heapBytesPerDevice, m.rssBytesPerDevice]);
    out.push(t4.toString());
  }
  if (r.w5) {
    const t5 = new Table({ style: { head: [], border: [] }, head: ['W5 restart', 'mappings', 'first DEREG after kill s', 'ready after start s', 'acked REG', 'acked DEREG', 'lost', 'MID reuse'] });
    t5.push(['kill -9, restart', r.w5.mappings, r.w5.firstDeregAfterKillS, r.w5.readyAfterStartS, r.w5.acknowledgedRegistrations, r.w5.acknowledgedDeregistrations, r.w5.lost, r.w5.server.messageIdReuses]);
    out.push(t5.toString());
  }
  if (r.w6) {
    const m = r.w6;
    const t6 = new Table({ style: { head: [], border: [] }, head: ['W6 messages', 'devices', 'messages', 'msgs/s', 'ratio to W1 C=64', 'p50 ms', 'p95 ms', 'p99 ms', 'lost', 'duplicates', 'retx', 'failed'] });
    t6.push([`uplink 0x01→0x03 (C=${m.uplink.concurrency})`, m.registered, m.uplink.accepted, m.uplink.opsPerS, m.uplinkRatioToW1, m.uplink.latency.p50Ms, m.uplink.latency.p95Ms, m.uplink.latency.p99Ms, Math.max(0, m.uplink.accepted - m.uplink.atServer), Math.max(0, m.uplink.atServer - m.uplink.accepted), m.uplink.retransmissions, m.uplink.errors]);
    t6.push([`downlink MSG→0x04→0x05`, m.registered, m.downlink.delivered, m.downlink.msgsPerS, m.downlinkRatioToW1, m.downlink.latency.p50Ms, m.downlink.latency.p95Ms, m.downlink.latency.p99Ms, m.downlink.lost, m.downlink.duplicates, '', m.downlink.injected - m.downlink.stored + m.downlink.misrouted]);
    out.push(t6.toString());
    out.push(`W6: uplink ${m.uplink.accepted} accepted, ${m.uplink.atServer} in the server's AS inbox; downlink ${m.downlink.injected} injected, ${m.downlink.stored} stored by the server, ${m.downlink.delivered} delivered (first copies), ${m.downlink.acksSent} acks, ${m.downlink.duplicates} duplicate copies (${m.downlink.messagesWithDuplicates} messages), ${m.downlink.misrouted} misrouted; gateway CPU ${m.gatewayCpuS} s (server ${m.serverCpuS} s) over both phases, gateway peak RSS ${m.gatewayPeakRssMiB} MiB`);
  }
  out.push(`mode ${r.mode}, ${r.durationS} s, ${r.machine.cores} × ${r.machine.cpus}, node ${r.machine.node}, load average ${r.machine.loadAvgAtStart.join(' ')} → ${r.machine.loadAvgAtEnd.join(' ')}`);
  out.push(`Message ID reuse within 247 s: ${r.messageIdReuses}; lost acknowledged operations: ${r.lostOperations}${r.failures.length > 0 ? `\nproblems:\n  - ${r.failures.join('\n  - ')}` : ''}`);
  return out.join('\n');
}

if (require.main === module) {
  const program = new Command('bench')
    .description('MSGin5G gateway benchmarks W1–W6 (docs/benchmarks.md); run `pnpm build` first')
    .option('--quick', 'small sizes, under a minute on 2 cores (the CI smoke run)')
    .option('--json <file>', 'where to write the JSON report', resolve(process.cwd(), 'reports', 'bench.json'))
    .option('--only <list>', 'comma-separated subset of W1,W2,W3,W4,W5,W6 (W6 brings W1 at C=64, its baseline)')
    .option('--synchronous <level>', 'SQLite synchronous level of the gateway store: FULL (its default) or NORMAL', 'FULL')
    .option('--cpu-prof <dir>', 'run the W2 gateway and the W6 gateway and server under node --cpu-prof, profiles written to DIR')
    .showHelpAfterError();
  program.parse(process.argv);
  const opts = program.opts<{ quick?: boolean; json: string; only?: string; cpuProf?: string; synchronous: string }>();
  if (opts.synchronous !== 'FULL' && opts.synchronous !== 'NORMAL') program.error('--synchronous must be FULL or NORMAL');
  gatewaySettings.synchronous = opts.synchronous as 'FULL' | 'NORMAL';
  if (opts.cpuProf !== undefined) profiling.dir = resolve(opts.cpuProf);
  runBench({ quick: opts.quick === true, jsonFile: resolve(opts.json), only: opts.only?.split(',').map((s) => s.trim().toUpperCase()) })
    .then((report) => {
      process.stdout.write(`${formatReport(report)}\nJSON: ${resolve(opts.json)}\n`);
      process.exitCode = report.failures.length === 0 && report.messageIdReuses === 0 && report.lostOperations === 0 ? 0 : 1;
    })
    .catch((err: unknown) => {
      process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    });
}
