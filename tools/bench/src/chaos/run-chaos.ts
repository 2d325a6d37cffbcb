/**
 * `runChaos`: the chaos run of issue 6. N simulated devices register (and two in three then
 * de-register) through the gateway's UDP link against the reference server, retrying with back-off,
 * while the gateway is killed with SIGKILL K times at moments drawn from a seeded PRNG and restarted
 * on the same SQLite file and UDP port. When every device is done the gateway is stopped with
 * SIGTERM, and the end state is checked (`check-end-state.ts`): what each device was last told
 * against the store and the server's registry, one Registration ID per device, nothing pending.
 *
 * When the kills happen: kill k (0-based) of K comes once a fraction (k + u) / (K + 1) of the
 * devices has finished, u drawn in [0.15, 0.85), and at least N / (10 (K + 1)) devices have finished
 * since the previous restart (so two kills never come back to back), then after a further 0–50 ms;
 * the gateway stays down 200–1500 ms and is restarted. So kills are spread over the run, each with
 * devices in flight, and the last one leaves devices that must finish against the restarted
 * gateway. Rejected alternative: kills at wall-clock times — on a shared
 * 2-core machine the run's length varies several-fold, and late kills would land after the last
 * device finished.
 *
 * Processes come from `procs.ts` (the reference server with `--check-mid-reuse`, the gateway with
 * `--authorization open`); devices run in this process, `concurrency` at a time, one UDP socket each.
 * Everything is bounded: each device by `deviceTimeLimitMs`, the run by `runLimitMs`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertNever } from '@msgin5g/core';
import { fetchRegistry } from '@msgin5g/server';
import { SqliteRegistrationStore } from '@msgin5g/store-sqlite';
import { freeUdpPort, killAll, startGateway, startServer, stopServer, type Child, type GatewayArgs, type ServerCounters } from '../procs';
import { runChaosDevice, type DeviceRecord } from './chaos-device';
import { checkEndState, type EndStateCheck, type Violation, type ViolationKind } from './check-end-state';
import { SeededRandom } from './seeded-random';

export interface ChaosOptions {
  /** Simulated devices, 1..60 000 (each its own Application ID). */
  readonly devices: number;
  /** SIGKILLs of the gateway, 0..100. */
  readonly kills: number;
  /** PRNG seed (any 32-bit integer); printed so a run can be repeated. */
  readonly seed: number;
  /** Devices running at once. Default 100 (50 up to 500 devices). */
  readonly concurrency?: number;
  /** Share of devices that de-register after registering. Default 2/3. */
  readonly deregisterShare?: number;
  /** How long one device keeps retrying, ms. Default 120 000. */
  readonly deviceTimeLimitMs?: number;
  /** Bound on the device phase of the run, ms. Default 900 000. */
  readonly runLimitMs?: number;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

/** `pnpm chaos --quick` and the CI test. */
export const QUICK_CHAOS = { devices: 300, kills: 3 } as const;
/** `pnpm chaos`. */
export const FULL_CHAOS = { devices: 2000, kills: 10 } as const;

/** The gateway's UE Service ID in the run (the gateway's default). */
export const CHAOS_GATEWAY_UE_SERVICE_ID = 'msgin5g-gateway-1';
/** Application IDs of the devices start here. */
const FIRST_APPLICATION_ID = 1000;

export interface KillEvent {
  /** Seconds since the start of the device phase. */
  readonly atS: number;
  readonly devicesDone: number;
  readonly pid: number;
  /** REGISTERING/DEREGISTERING records in the store right after the kill (undefined: the store could not be read). */
  readonly pendingAtKill: number | undefined;
  readonly downMs: number;
  /** From the restart's spawn to its "gateway ready" line, s. */
  readonly readyAfterS: number;
}

export type RunViolationKind = 'GATEWAY_EXITED_ON_ITS_OWN' | 'GATEWAY_STOP_FAILED' | 'NO_SELF_DEREGISTRATION_LOG' | 'MESSAGE_ID_REUSE';
export type ChaosViolation = Violation | { readonly kind: RunViolationKind; readonly detail: string };

export interface ChaosOutcomes {
  /** Last told "registered" (never asked to leave, or their DEREG was not planned). */
  readonly registered: number;
  readonly deregistered: number;
  /** Definitive failures, by `REG <reason>` / `DEREG <reason>`. */
  readonly failed: Record<string, number>;
  readonly failedTotal: number;
  /** Gave up without a definitive answer, by operation. */
  readonly gaveUp: Record<string, number>;
  readonly gaveUpTotal: number;
  /** Devices ever told "registered". */
  readonly everRegistered: number;
}

export interface ChaosReport {
  readonly seed: number;
  readonly devices: number;
  readonly plannedKills: number;
  readonly concurrency: number;
  readonly plannedDeregistrations: number;
  readonly durationS: number;
  readonly kills: KillEvent[];
  /** Gateway starts after the first one (after kills, and after exits on its own). */
  readonly restarts: number;
  readonly outcomes: ChaosOutcomes;
  readonly retries: { readonly total: number; readonly byReason: Record<string, number> };
  readonly check: EndStateCheck;
  readonly finalStop: { readonly exitCode: number | null; readonly selfDeregistrationLogged: boolean; readonly stopS: number };
  readonly server: ServerCounters;
  readonly violations: ChaosViolation[];
  readonly passed: boolean;
  /** Every device's record (for tests and post-mortems; not printed). */
  readonly records: DeviceRecord[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Keeps one gateway running: starts it (retrying a failed start), kills it on request, and restarts
 * it when it exits without being asked (recorded as a violation).
 */
export class GatewayKeeper {
  current: Child | undefined;
  starts = 0;
  readonly unexpectedExits: string[] = [];
  private readonly deliberate = new WeakSet<Child>();
  private restarting: Promise<void> | undefined;

  constructor(
    private readonly args: GatewayArgs,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts a gateway; resolves the seconds until it was ready. @throws Error after 3 failed starts. */
  async start(): Promise<number> {
    let last: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const t = performance.now();
      try {
        const child = await startGateway(this.args);
        this.starts += 1;
        this.current = child;
        void child.exited.then((code) => this.onExit(child, code));
        return (performance.now() - t) / 1000;
      } catch (err) {
        last = err;
        this.log(`gateway start failed (attempt ${attempt + 1}): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
        await sleep(500);
      }
    }
    throw new Error(`the gateway did not start: ${last instanceof Error ? last.message : String(last)}`);
  }

  /** SIGKILLs the running gateway and waits for its exit; resolves its pid. */
  async kill(): Promise<number> {
    await this.restarting;
    const c = this.current!;
    this.deliberate.add(c);
    c.proc.kill('SIGKILL');
    await c.exited;
    return c.pid;
  }

  /** The gateway that the final SIGTERM goes to (after any restart in progress). */
  async forStop(): Promise<Child> {
    await this.restarting;
    const c = this.current!;
    this.deliberate.add(c);
    return c;
  }

  private onExit(child: Child, code: number | null): void {
    if (this.deliberate.has(child) || child !== this.current) return;
    const why = `gateway pid ${child.pid} exited on its own (code ${code}, signal ${child.proc.signalCode}); stderr: ${child.stderr.slice(-3).join(' | ') || '(empty)'}`;
    this.unexpectedExits.push(why);
    this.log(why);
    this.restarting = this.start().then(
      () => undefined,
      (err: unknown) => this.log(String(err)),
    );
  }
}

/** Runs the chaos run; resolves its report. Rejects only when the processes cannot be started. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const n = options.devices;
  const k = options.kills;
  if (!Number.isInteger(n) || n < 1 || n > 60_000) throw new RangeError(`devices must be 1..60000, got ${n}`);
  if (!Number.isInteger(k) || k < 0 || k > 100) throw new RangeError(`kills must be 0..100, got ${k}`);
  if (!Number.isInteger(options.seed)) throw new RangeError(`seed must be an integer, got ${options.seed}`);
  const log = options.log ?? (() => undefined);
  const concurrency = options.concurrency ?? (n <= 500 ? 50 : 100);
  const share = options.deregisterShare ?? 2 / 3;
  const deviceLimitMs = options.deviceTimeLimitMs ?? 120_000;
  const runLimitMs = options.runLimitMs ?? 900_000;
  const root = new SeededRandom(options.seed);
  const plan = root.fork(1);
  const killRandom = root.fork(2);
  const deregister = Array.from({ length: n }, () => plan.next() < share);
  const fractions = Array.from({ length: k }, (_, i) => (i + killRandom.between(0.15, 0.85)) / (k + 1));

  const dir = mkdtempSync(join(tmpdir(), 'msgin5g-chaos-'));
  const dbPath = join(dir, 'gateway.db');
  const configFile = join(dir, 'gateway.json');
  // Retry the gateway's own registration quickly after a restart; a drain long enough for the final SIGTERM.
  writeFileSync(configFile, JSON.stringify({ registerRetryMs: 250, drainTimeoutMs: 20_000, server: { deadlineMs: 10_000 } }));
  let progressTimer: NodeJS.Timeout | undefined;
  try {
    const server = await startServer();
    const udpPort = await freeUdpPort();
    const keeper = new GatewayKeeper({ serverPort: server.port, udpPort, store: `sqlite:${dbPath}`, upstreamSockets: 1, configFile }, log);
    await keeper.start();
    log(`chaos: seed ${options.seed}, ${n} devices (${concurrency} at a time), ${k} kills; gateway on 127.0.0.1:${udpPort}, server on 127.0.0.1:${server.port}, store ${dbPath}`);

    const t0 = performance.now();
    const runDeadline = Date.now() + runLimitMs;
    const records: DeviceRecord[] = new Array<DeviceRecord>(n);
    let next = 0;
    let done = 0;
    // Set when the gateway cannot be restarted: devices then stop retrying and the run rejects.
    let killerError: unknown;
    const cancelled = () => killerError !== undefined;
    const workers = Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        records[i] = await runChaosDevice({
          index: i,
          gatewayPort: udpPort,
          applicationId: FIRST_APPLICATION_ID + i,
          deregister: deregister[i]!,
          random: root.fork(1000 + i),
          deadline: Math.min(Date.now() + deviceLimitMs, runDeadline),
          cancelled,
        });
        done += 1;
      }
    });
    const kills: KillEvent[] = [];
    const minProgress = Math.max(1, Math.floor(n / (10 * (k + 1))));
    let doneAtStart = 0;
    const killer = (async () => {
      for (const f of fractions) {
        // The kill's fraction of devices done, and some devices served by this gateway process, so
        // that two kills never come back to back; never once every device is done (nothing to disturb).
        const threshold = Math.max(Math.ceil(f * n), doneAtStart + minProgress);
        while (done < threshold && done < n && Date.now() < runDeadline) await sleep(20);
        if (done >= n || Date.now() >= runDeadline) return;
        await sleep(killRandom.between(0, 50));
        const atS = (performance.now() - t0) / 1000;
        const devicesDone = done;
        const pid = await keeper.kill();
        const pendingAtKill = await pendingRecords(dbPath);
        const downMs = Math.round(killRandom.between(200, 1500));
        log(`chaos: kill ${kills.length + 1}/${k}: SIGKILL gateway pid ${pid} at ${round(atS)} s (${devicesDone}/${n} devices done, ${pendingAtKill ?? '?'} record(s) pending in the store); down ${downMs} ms`);
        await sleep(downMs);
        const readyAfterS = await keeper.start();
        doneAtStart = done;
        kills.push({ atS: round(atS, 2), devicesDone, pid, pendingAtKill, downMs, readyAfterS: round(readyAfterS, 2) });
        log(`chaos: gateway restarted (pid ${keeper.current?.pid}), ready after ${round(readyAfterS, 2)} s`);
      }
    })().catch((err: unknown) => {
      killerError = err;
    });
    progressTimer = setInterval(() => log(`chaos: ${done}/${n} devices done, ${kills.length}/${k} kills, ${round((performance.now() - t0) / 1000)} s`), 5000);
    await Promise.all(workers);
    await killer;
    clearInterval(progressTimer);
    if (killerError !== undefined) throw killerError;
    const durationS = round((performance.now() - t0) / 1000, 1);

    // Final SIGTERM: the gateway drains, de-registers itself (its own UE Service ID only), closes the store.
    const gw = await keeper.forStop();
    let selfDeregistrationLogged = false;
    void gw.waitFor((l) => l.msg === 'Gateway UE de-registered', 'Gateway UE de-registered', runLimitMs).then(
      () => (selfDeregistrationLogged = true),
      () => undefined,
    );
    // 'close' comes after the child's stdout ended, so every line it printed has been read.
    const closed = new Promise<void>((res) => gw.proc.once('close', () => res()));
    const tStop = performance.now();
    await gw.stop('SIGTERM', 60_000);
    let closeTimer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((res) => (closeTimer = setTimeout(res, 5000)))]);
    clearTimeout(closeTimer);
    const exitCode = gw.proc.exitCode;
    const stopS = round((performance.now() - tStop) / 1000, 2);

    const store = SqliteRegistrationStore.openReadOnly(dbPath);
    const mappings = await store.list();
    await store.close();
    const registry = await fetchRegistry({ host: '127.0.0.1', port: server.port }, 15_000);
    const serverCounters = await stopServer(server.child);

    const check = checkEndState({ devices: records, store: mappings, registry, gatewayUeServiceId: CHAOS_GATEWAY_UE_SERVICE_ID });
    const violations: ChaosViolation[] = [...check.violations];
    for (const why of keeper.unexpectedExits) violations.push({ kind: 'GATEWAY_EXITED_ON_ITS_OWN', detail: why });
    if (exitCode !== 0) violations.push({ kind: 'GATEWAY_STOP_FAILED', detail: `the gateway exited with code ${exitCode} (signal ${gw.proc.signalCode}) on SIGTERM` });
    if (!selfDeregistrationLogged) violations.push({ kind: 'NO_SELF_DEREGISTRATION_LOG', detail: 'the gateway did not log "Gateway UE de-registered" on SIGTERM' });
    if (serverCounters.messageIdReuses !== 0) violations.push({ kind: 'MESSAGE_ID_REUSE', detail: `the server counted ${serverCounters.messageIdReuses} Message ID reuse(s) within 247 s` });

    return {
      seed: options.seed,
      devices: n,
      plannedKills: k,
      concurrency,
      plannedDeregistrations: deregister.filter(Boolean).length,
      durationS,
      kills,
      restarts: keeper.starts - 1,
      outcomes: countOutcomes(records),
      retries: countRetries(records),
      check,
      finalStop: { exitCode, selfDeregistrationLogged, stopS },
      server: serverCounters,
      violations,
      passed: violations.length === 0,
      records,
    };
  } finally {
    clearInterval(progressTimer);
    await killAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Records left REGISTERING/DEREGISTERING in the store of a killed gateway (read-only), or undefined when it cannot be read. */
export async function pendingRecords(dbPath: string): Promise<number | undefined> {
  try {
    const store = SqliteRegistrationStore.openReadOnly(dbPath);
    try {
      return (await store.list(['REGISTERING', 'DEREGISTERING'])).length;
    } finally {
      await store.close();
    }
  } catch {
    return undefined;
  }
}

function countOutcomes(records: readonly DeviceRecord[]): ChaosOutcomes {
  let registered = 0;
  let deregistered = 0;
  let everRegistered = 0;
  const failed: Record<string, number> = {};
  const gaveUp: Record<string, number> = {};
  for (const r of records) {
    if (r.successes.some((s) => s.operation === 'REG')) everRegistered += 1;
    if (r.gaveUpOn !== undefined) {
      const key = r.error === undefined ? r.gaveUpOn : `${r.gaveUpOn} (${r.error})`;
      gaveUp[key] = (gaveUp[key] ?? 0) + 1;
      continue;
    }
    switch (r.told.kind) {
      case 'registered':
        registered += 1;
        break;
      case 'de-registered':
        deregistered += 1;
        break;
      case 'failed': {
        const key = `${r.told.operation} ${r.told.reason}`;
        failed[key] = (failed[key] ?? 0) + 1;
        break;
      }
      case 'nothing':
        gaveUp['REG'] = (gaveUp['REG'] ?? 0) + 1;
        break;
      default:
        assertNever(r.told, 'told');
    }
  }
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  return { registered, deregistered, failed, failedTotal: sum(failed), gaveUp, gaveUpTotal: sum(gaveUp), everRegistered };
}

function countRetries(records: readonly DeviceRecord[]): { total: number; byReason: Record<string, number> } {
  const byReason: Record<string, number> = {};
  let total = 0;
  for (const r of records) {
    total += r.retries;
    for (const [reason, count] of Object.entries(r.retryReasons)) byReason[reason] = (byReason[reason] ?? 0) + count;
  }
  return { total, byReason };
}

/** The violation kinds, for the summary's "checks" list. */
export const CHECKED_PROPERTIES: ReadonlyArray<{ readonly title: string; readonly kinds: ReadonlyArray<ViolationKind | RunViolationKind> }> = [
  { title: 'told "de-registered" → absent from the store and the server registry', kinds: ['DEREGISTERED_BUT_IN_STORE', 'DEREGISTERED_BUT_AT_SERVER'] },
  { title: 'told "registered" → in the store (same Registration ID, REGISTERED) and at the server', kinds: ['REGISTERED_BUT_NOT_IN_STORE', 'REGISTERED_UNDER_OTHER_ID', 'REGISTERED_BUT_NOT_AT_SERVER'] },
  { title: 'told "registration failed" → in neither', kinds: ['FAILED_BUT_IN_STORE', 'FAILED_BUT_AT_SERVER'] },
  { title: 'no Registration ID given to two devices', kinds: ['DUPLICATE_REGISTRATION_ID'] },
  { title: 'no record left REGISTERING or DEREGISTERING', kinds: ['PENDING_RECORD'] },
  { title: 'store and server registry hold the same devices', kinds: ['STORE_WITHOUT_SERVER', 'SERVER_WITHOUT_STORE', 'UNKNOWN_RECORD'] },
  { title: 'SIGTERM: exit 0, the gateway de-registered itself', kinds: ['GATEWAY_STOP_FAILED', 'NO_SELF_DEREGISTRATION_LOG', 'GATEWAY_STILL_REGISTERED'] },
  { title: 'the gateway never exited on its own', kinds: ['GATEWAY_EXITED_ON_ITS_OWN'] },
  { title: 'no CoAP Message ID reuse within 247 s (server check mode)', kinds: ['MESSAGE_ID_REUSE'] },
];
