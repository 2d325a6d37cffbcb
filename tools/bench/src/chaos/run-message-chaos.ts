/**
 * `runMessageChaos` (`pnpm chaos --messages`, issue 12): messages flow both ways through the gateway
 * while it is killed with SIGKILL K times and restarted on the same SQLite file, UDP port and
 * MSGin5G-1 inbox port; then the end state is checked (`check-messages.ts`).
 *
 * 1. `devices` devices register through the gateway's UDP link (each its own socket and Layer-2
 *    ID), before any kill.
 * 2. Each device sends `uplinksPerDevice` MESSAGE SENDING REQUESTs (0x01) to the pretend
 *    Application Server (the server's `--as-service-id`), one after the other with a pause of
 *    0–`thinkMaxMs`, every second one asking for a report; each is sent again with the same Message
 *    ID, with jittered exponential back-off, until a definitive 0x03 (ACCEPTED, or a Failure reason
 *    other than CONGESTION, GATEWAY_NOT_REGISTERED, SERVER_UNREACHABLE) or the device's deadline.
 *    Meanwhile the pretend AS (this process, `AsClient`) POSTs `downlinks` `MSG`s to the devices'
 *    UE Service IDs at the server, each asking for a report, at most `window` on their way at once;
 *    a request without an answer is sent again with the same Message ID (the server drops a
 *    repeat). Every device acknowledges every copy of a MESSAGE RECEIVING (0x05) and counts them.
 * 3. Kills come as in `run-chaos.ts`: kill k of K once a fraction (k + u) / (K + 1) of the
 *    operations (uplink answers and downlink answers) is done, u drawn in [0.15, 0.85), and at least
 *    1/(10 (K + 1)) of them since the previous restart; down 200–1 500 ms.
 * 4. Settle: the gateway stays up until every message the server stored has reached its device or
 *    been reported failed, and has its final report in the AS inbox (or `settleLimitMs` passes):
 *    resends after a restart follow the stored schedule (2, 4, 8, 16 s), and the server retries
 *    its deliveries with back-off.
 * 5. The AS inbox is read in full, the gateway is stopped with SIGTERM, the server too; the check
 *    runs.
 *
 * Rejected alternative: messages from one device to another through the same gateway — the
 * uplink's ACCEPTED and the downlink's report would then be two views of one message, and a loss
 * on one side could hide behind the other; the pretend AS gives each direction its own witness.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultDeviceUeServiceId, type ApplicationId, type Layer2Id, type MessageId, type UeServiceId } from '@msgin5g/core';
import { AsClient } from '../as-client';
import { DevicePort } from '../device-port';
import { freeUdpPort, killAll, startServer, stopServer, type ServerCounters } from '../procs';
import { RETRYABLE_REASONS } from './chaos-device';
import { checkMessages, type Arrival, type DownlinkRecord, type InboxItem, type MessageCheck, type MessageViolation, type UplinkRecord } from './check-messages';
import { CHAOS_GATEWAY_UE_SERVICE_ID, GatewayKeeper, type RunViolationKind } from './run-chaos';
import { SeededRandom } from './seeded-random';

export interface MessageChaosOptions {
  /** Devices, 1..5 000. */
  readonly devices: number;
  /** Uplink messages per device, 0..1 000. */
  readonly uplinksPerDevice: number;
  /** Downlink messages from the pretend AS, spread over the devices, 0..100 000. */
  readonly downlinks: number;
  /** SIGKILLs of the gateway, 0..100. */
  readonly kills: number;
  readonly seed: number;
  /** Longest pause between a device's uplink messages, ms. Default 300. */
  readonly thinkMaxMs?: number;
  /** Downlink messages on their way at once. Default: the number of devices. */
  readonly window?: number;
  /** How long one device (and the injector) keeps retrying one message, ms. Default 120 000. */
  readonly messageTimeLimitMs?: number;
  /** Bound on the message phase, ms. Default 600 000. */
  readonly runLimitMs?: number;
  /** Bound on the settle phase, ms. Default 150 000. */
  readonly settleLimitMs?: number;
  readonly log?: (line: string) => void;
}

/** `pnpm chaos --messages --quick` and the CI test. */
export const QUICK_MESSAGE_CHAOS = { devices: 40, uplinksPerDevice: 8, downlinks: 320, kills: 3 } as const;
/** `pnpm chaos --messages`. */
export const FULL_MESSAGE_CHAOS = { devices: 200, uplinksPerDevice: 20, downlinks: 4000, kills: 10 } as const;

/** The pretend Application Server of the run. */
export const MESSAGE_CHAOS_AS = 'as-chaos';
const FIRST_APPLICATION_ID = 1000;

export interface MessageKillEvent {
  readonly atS: number;
  /** Operations done (uplink and downlink answers) at the kill. */
  readonly operationsDone: number;
  readonly pid: number;
  readonly downMs: number;
  readonly readyAfterS: number;
}

export type MessageChaosViolation = MessageViolation | { readonly kind: RunViolationKind | 'DEVICE_NOT_REGISTERED'; readonly detail: string };

export interface MessageChaosReport {
  readonly seed: number;
  readonly devices: number;
  readonly registered: number;
  readonly plannedKills: number;
  readonly kills: MessageKillEvent[];
  readonly restarts: number;
  /** Message phase, s. */
  readonly durationS: number;
  /** Settle phase, s, and whether everything settled within its limit. */
  readonly settleS: number;
  readonly settled: boolean;
  readonly uplinkRetries: { readonly total: number; readonly byReason: Record<string, number> };
  /** Uplink messages that asked for a report, and the 0x06 (first copies) that reached their device. */
  readonly uplinkReports: { readonly asked: number; readonly received: number };
  readonly injectorRetries: number;
  readonly inboxEntries: number;
  readonly check: MessageCheck;
  readonly finalStop: { readonly exitCode: number | null; readonly selfDeregistrationLogged: boolean; readonly stopS: number };
  readonly server: ServerCounters;
  readonly violations: MessageChaosViolation[];
  readonly passed: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

interface Dev {
  readonly index: number;
  readonly port: DevicePort;
  readonly applicationId: ApplicationId;
  readonly ueServiceId: string;
}

/** Runs the message chaos run; resolves its report. Rejects only when the processes cannot be started. */
export async function runMessageChaos(o: MessageChaosOptions): Promise<MessageChaosReport> {
  if (!Number.isInteger(o.devices) || o.devices < 1 || o.devices > 5000) throw new RangeError(`devices must be 1..5000, got ${o.devices}`);
  if (!Number.isInteger(o.uplinksPerDevice) || o.uplinksPerDevice < 0 || o.uplinksPerDevice > 1000) throw new RangeError(`uplinksPerDevice must be 0..1000, got ${o.uplinksPerDevice}`);
  if (!Number.isInteger(o.downlinks) || o.downlinks < 0 || o.downlinks > 100_000) throw new RangeError(`downlinks must be 0..100000, got ${o.downlinks}`);
  if (!Number.isInteger(o.kills) || o.kills < 0 || o.kills > 100) throw new RangeError(`kills must be 0..100, got ${o.kills}`);
  if (!Number.isInteger(o.seed)) throw new RangeError(`seed must be an integer, got ${o.seed}`);
  const log = o.log ?? (() => undefined);
  const root = new SeededRandom(o.seed);
  const killRandom = root.fork(2);
  const fractions = Array.from({ length: o.kills }, (_, i) => (i + killRandom.between(0.15, 0.85)) / (o.kills + 1));
  const messageLimitMs = o.messageTimeLimitMs ?? 120_000;
  const runLimitMs = o.runLimitMs ?? 600_000;
  const settleLimitMs = o.settleLimitMs ?? 150_000;
  const thinkMaxMs = o.thinkMaxMs ?? 300;
  const window = o.window ?? o.devices;
  const totalOps = o.devices * o.uplinksPerDevice + o.downlinks;

  const dir = mkdtempSync(join(tmpdir(), 'msgin5g-chaos-msg-'));
  const dbPath = join(dir, 'gateway.db');
  const configFile = join(dir, 'gateway.json');
  writeFileSync(configFile, JSON.stringify({ registerRetryMs: 250, drainTimeoutMs: 20_000, server: { deadlineMs: 10_000 } }));
  let progressTimer: NodeJS.Timeout | undefined;
  const ports: DevicePort[] = [];
  let as: AsClient | undefined;
  try {
    // The AS inbox keeps every entry of the run (messages, reports), so the check sees them all.
    const inboxSize = 4 * (totalOps + 1000);
    const server = await startServer(['--as-service-id', MESSAGE_CHAOS_AS, '--inbox-size', String(inboxSize)]);
    const udpPort = await freeUdpPort();
    let inboxPort = await freeUdpPort();
    while (inboxPort === udpPort) inboxPort = await freeUdpPort();
    const keeper = new GatewayKeeper({ serverPort: server.port, udpPort, store: `sqlite:${dbPath}`, upstreamSockets: 1, configFile, extraArgs: ['--inbox-port', String(inboxPort)] }, log);
    await keeper.start();
    log(`chaos --messages: seed ${o.seed}, ${o.devices} devices × ${o.uplinksPerDevice} uplink, ${o.downlinks} downlink, ${o.kills} kills; gateway UDP 127.0.0.1:${udpPort}, inbox :${inboxPort}, server :${server.port}, store ${dbPath}`);

    // 1. Register (no kills yet).
    const devs: Dev[] = [];
    const violations: MessageChaosViolation[] = [];
    await Promise.all(
      Array.from({ length: o.devices }, async (_, i) => {
        const port = await DevicePort.open(udpPort);
        ports.push(port);
        const appId = (FIRST_APPLICATION_ID + i) as ApplicationId;
        for (let attempt = 0; attempt < 5; attempt++) {
          const a = await port.register(appId, 1000, 3).catch(() => undefined);
          if (a?.response.result === 'SUCCESS') {
            devs.push({ index: i, port, applicationId: appId, ueServiceId: defaultDeviceUeServiceId(CHAOS_GATEWAY_UE_SERVICE_ID as UeServiceId, `127.0.0.1:${port.localPort}` as Layer2Id, appId) });
            return;
          }
          await sleep(200);
        }
        violations.push({ kind: 'DEVICE_NOT_REGISTERED', detail: `device ${i} could not register before the kills began` });
      }),
    );
    devs.sort((a, b) => a.index - b.index);
    const tag = randomBytes(4).toString('hex');
    const messageId = (kind: 'u' | 'd', i: number): MessageId => `${tag}${kind === 'u' ? '0' : '1'}${i.toString(16).padStart(23, '0')}` as MessageId;

    // What the devices receive.
    const arrivals = new Map<string, { device: number; messageId: string; originator: string; copies: number }>();
    const uplinkReportsReceived = new Set<string>();
    let firstCopies = 0;
    for (const d of devs) {
      d.port.autoAck = true;
      d.port.onArrival = (m) => {
        if (m.kind === 'DELIVERY_REPORT_RECEIVING') {
          uplinkReportsReceived.add(m.messageId);
          return;
        }
        const k = `${d.index}|${m.messageId}`;
        const a = arrivals.get(k);
        if (a === undefined) {
          arrivals.set(k, { device: d.index, messageId: m.messageId, originator: m.originatorAddress, copies: 1 });
          firstCopies += 1;
        } else a.copies += 1;
      };
    }

    // 2. Messages both ways, 3. kills.
    const t0 = performance.now();
    const runDeadline = Date.now() + runLimitMs;
    let opsDone = 0;
    let killerError: unknown;
    const stopped = () => killerError !== undefined || Date.now() >= runDeadline;
    const uplinks: UplinkRecord[] = [];
    const retryReasons: Record<string, number> = {};
    let uplinkRetries = 0;
    let uplinkReportsAsked = 0;
    const deviceLoops = devs.map(async (d) => {
      const r = root.fork(1000 + d.index);
      for (let j = 0; j < o.uplinksPerDevice && !stopped(); j++) {
        const id = messageId('u', d.index * o.uplinksPerDevice + j);
        const reportAsked = j % 2 === 0;
        if (reportAsked) uplinkReportsAsked += 1;
        const rec: UplinkRecord = { device: d.index, originator: d.ueServiceId, messageId: id, told: { kind: 'gave-up' } };
        uplinks.push(rec);
        const deadline = Math.min(Date.now() + messageLimitMs, runDeadline);
        for (let attempt = 0; attempt < 10_000; attempt++) {
          let reason: string;
          try {
            const a = await d.port.sendMessage({ targetAddress: MESSAGE_CHAOS_AS as never, messageId: id, payload: Buffer.from(`up ${d.index}/${j}`), applicationId: d.applicationId, deliveryStatusRequired: reportAsked, targetType: 'AS' }, 1000, 1);
            const m = a.response;
            if (m.result === 'ACCEPTED') {
              rec.told = { kind: 'accepted', ...(m.deliveryStatus === undefined ? {} : { deliveryStatus: m.deliveryStatus }) };
              break;
            }
            if (!RETRYABLE_REASONS.has(m.failureReason)) {
              rec.told = { kind: 'failed', reason: m.failureReason };
              break;
            }
            reason = m.failureReason;
          } catch {
            reason = 'no answer';
          }
          const wait = Math.min(2000, 100 * 2 ** Math.min(attempt, 20)) * r.between(0.5, 1);
          if (Date.now() + wait >= deadline || killerError !== undefined) break;
          uplinkRetries += 1;
          retryReasons[reason] = (retryReasons[reason] ?? 0) + 1;
          await sleep(wait);
        }
        opsDone += 1;
        await sleep(r.between(0, thinkMaxMs));
      }
    });

    const downlinks: DownlinkRecord[] = [];
    let injectorRetries = 0;
    let nextDown = 0;
    let storedOrSending = 0;
    const injectRandom = root.fork(3);
    as = new AsClient({ host: '127.0.0.1', port: server.port }, MESSAGE_CHAOS_AS, 2);
    const client = as;
    const injector = Promise.all(
      Array.from({ length: Math.min(16, Math.max(1, o.downlinks)) }, async () => {
        while (nextDown < o.downlinks && !stopped()) {
          if (storedOrSending - firstCopies >= window) {
            await sleep(20);
            continue;
          }
          const i = nextDown++;
          const d = devs[injectRandom.below(devs.length)];
          if (d === undefined) break;
          const rec: DownlinkRecord = { messageId: messageId('d', i), device: d.index, recipient: d.ueServiceId, reportAsked: true, answer: 'NO_ANSWER' };
          downlinks.push(rec);
          storedOrSending += 1;
          const deadline = Math.min(Date.now() + messageLimitMs, runDeadline);
          for (let attempt = 0; ; attempt++) {
            const a = await client.send({ to: d.ueServiceId, messageId: rec.messageId as MessageId, payload: Buffer.from(`down ${i}`), deliveryStatusRequired: true });
            rec.answer = a.status;
            if (a.failureCause === undefined) delete rec.failureCause;
            else rec.failureCause = a.failureCause;
            const again = a.status === 'NO_ANSWER' || a.status === 'CODE' || (a.status === 'DELY_FAILED' && a.failureCause === 'CONGESTION');
            if (!again || Date.now() + 200 >= deadline) break;
            injectorRetries += 1;
            await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 10)));
          }
          if (rec.answer !== 'DELY_STORED') storedOrSending -= 1;
          opsDone += 1;
        }
      }),
    );

    const kills: MessageKillEvent[] = [];
    const minProgress = Math.max(1, Math.floor(totalOps / (10 * (o.kills + 1))));
    let doneAtStart = 0;
    const killer = (async () => {
      for (const f of fractions) {
        const threshold = Math.max(Math.ceil(f * totalOps), doneAtStart + minProgress);
        while (opsDone < threshold && opsDone < totalOps && !stopped()) await sleep(20);
        if (opsDone >= totalOps || stopped()) return;
        await sleep(killRandom.between(0, 50));
        const atS = (performance.now() - t0) / 1000;
        const operationsDone = opsDone;
        const pid = await keeper.kill();
        const downMs = Math.round(killRandom.between(200, 1500));
        log(`chaos --messages: kill ${kills.length + 1}/${o.kills}: SIGKILL gateway pid ${pid} at ${round(atS)} s (${operationsDone}/${totalOps} operations done); down ${downMs} ms`);
        await sleep(downMs);
        const readyAfterS = await keeper.start();
        doneAtStart = opsDone;
        kills.push({ atS: round(atS, 2), operationsDone, pid, downMs, readyAfterS: round(readyAfterS, 2) });
        log(`chaos --messages: gateway restarted (pid ${keeper.current?.pid}), ready after ${round(readyAfterS, 2)} s`);
      }
    })().catch((err: unknown) => {
      killerError = err;
    });
    progressTimer = setInterval(() => log(`chaos --messages: ${opsDone}/${totalOps} operations, ${firstCopies} downlink at devices, ${kills.length}/${o.kills} kills, ${round((performance.now() - t0) / 1000)} s`), 5000);
    await Promise.all([...deviceLoops, injector]);
    await killer;
    if (killerError !== undefined) throw killerError;
    const durationS = round((performance.now() - t0) / 1000, 1);

    // 4. Settle: every stored message at its device or reported failed, and reported (bounded).
    const tSettle = performance.now();
    const inbox: InboxItem[] = [];
    let cursor = 0;
    const settleDeadline = Date.now() + settleLimitMs;
    let settled = false;
    const storedIds = () => downlinks.filter((x) => x.answer === 'DELY_STORED');
    for (;;) {
      const page = await client.inbox(cursor);
      inbox.push(...page.entries);
      cursor = page.entries.length > 0 ? (page.entries[page.entries.length - 1] as { seq: number }).seq : cursor;
      const reported = new Set(inbox.filter((e) => e.messageType === 'IMDN' && (e.delivSt === 'REPT_DELY_SUCCESS' || e.delivSt === 'REPT_DELY_FAILED')).map((e) => e.msgId));
      const open = storedIds().filter((x) => !reported.has(x.messageId)).length;
      if (open === 0) {
        settled = true;
        break;
      }
      if (Date.now() >= settleDeadline) break;
      await sleep(500);
    }
    // Late copies of a resend after the last report (counted as duplicates).
    await sleep(1000);
    const settleS = round((performance.now() - tSettle) / 1000, 1);
    clearInterval(progressTimer);
    const last = await client.inbox(cursor);
    inbox.push(...last.entries);

    // 5. Stop: SIGTERM the gateway (it drains, de-registers itself), then the server.
    const gw = await keeper.forStop();
    let selfDeregistrationLogged = false;
    void gw.waitFor((l) => l.msg === 'Gateway UE de-registered', 'Gateway UE de-registered', 60_000).then(
      () => (selfDeregistrationLogged = true),
      () => undefined,
    );
    const closed = new Promise<void>((res) => gw.proc.once('close', () => res()));
    const tStop = performance.now();
    await gw.stop('SIGTERM', 60_000);
    let closeTimer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((res) => (closeTimer = setTimeout(res, 5000)))]);
    clearTimeout(closeTimer);
    const exitCode = gw.proc.exitCode;
    const stopS = round((performance.now() - tStop) / 1000, 2);
    await Promise.all(ports.map((p) => p.close()));
    client.close();
    const serverCounters = await stopServer(server.child);

    const arrivalList: Arrival[] = [...arrivals.values()];
    const check = checkMessages({ uplinks, downlinks, arrivals: arrivalList, inbox, asServiceId: MESSAGE_CHAOS_AS });
    violations.push(...check.violations);
    for (const why of keeper.unexpectedExits) violations.push({ kind: 'GATEWAY_EXITED_ON_ITS_OWN', detail: why });
    if (exitCode !== 0) violations.push({ kind: 'GATEWAY_STOP_FAILED', detail: `the gateway exited with code ${exitCode} (signal ${gw.proc.signalCode}) on SIGTERM` });
    if (!selfDeregistrationLogged) violations.push({ kind: 'NO_SELF_DEREGISTRATION_LOG', detail: 'the gateway did not log "Gateway UE de-registered" on SIGTERM' });
    if (serverCounters.messageIdReuses !== 0) violations.push({ kind: 'MESSAGE_ID_REUSE', detail: `the server counted ${serverCounters.messageIdReuses} Message ID reuse(s) within 247 s` });

    return {
      seed: o.seed,
      devices: o.devices,
      registered: devs.length,
      plannedKills: o.kills,
      kills,
      restarts: keeper.starts - 1,
      durationS,
      settleS,
      settled,
      uplinkRetries: { total: uplinkRetries, byReason: retryReasons },
      uplinkReports: { asked: uplinkReportsAsked, received: uplinks.filter((u) => uplinkReportsReceived.has(u.messageId)).length },
      injectorRetries,
      inboxEntries: inbox.length,
      check,
      finalStop: { exitCode, selfDeregistrationLogged, stopS },
      server: serverCounters,
      violations,
      passed: violations.length === 0,
    };
  } finally {
    clearInterval(progressTimer);
    as?.close();
    await Promise.all(ports.map((p) => p.close()));
    await killAll();
    rmSync(dir, { recursive: true, force: true });
  }
}
