/**
 * W6, messages through the gateway (issue 12; docs/wire-formats.md §5, docs/benchmarks.md "W6"):
 * `devices` devices register through the gateway's UDP link, each on its own socket (its own
 * Layer-2 ID and rate bucket), then
 *
 * - **uplink**: `concurrency` workers in a closed loop each send a MESSAGE SENDING REQUEST (0x01)
 *   from the next device (round robin) to the pretend Application Server (the server's
 *   `--as-service-id`, which answers DELIVERED at once) and wait for its MESSAGE SENDING RESPONSE
 *   (0x03); ops/s and latency from the 0x01 to its 0x03, as W2;
 * - **downlink**: a pretend AS in this process (`AsClient`, many requests at once) POSTs `MSG`s to
 *   the devices' UE Service IDs at the server, which stores each (DELY_STORED) and forwards it to
 *   the gateway's MSGin5G-1 inbox (notifyUri); the gateway queues it durably and sends MESSAGE
 *   RECEIVING (0x04), which every device acknowledges at once (0x05). Rate: messages whose first
 *   copy reached its device, per second from the first POST to the last first copy; latency from
 *   the POST to the first copy. At most `window` messages are on their way at once (posted, first
 *   copy not yet at the device): the closed loop of W2 at C = `window`, so the latency is the
 *   time through the system, not time spent in a backlog the benchmark built (a window of 1 000
 *   raised the rate ~20 % and the p50 six-fold in a quick run). Every message answered DELY_STORED must reach its device (lost otherwise);
 *   copies beyond the first are counted as duplicates, and a copy at the wrong device as misrouted.
 *
 * Every loop is bounded in count and time (`limitMs` per phase).
 */
import { randomBytes } from 'node:crypto';
import { defaultDeviceUeServiceId, type ApplicationId, type Layer2Id, type MessageId, type UeServiceId } from '@msgin5g/core';
import { AsClient } from './as-client';
import { DevicePort } from './device-port';
import { freeUdpPort, startGateway, startServer, stopServer, type ServerCounters } from './procs';
import { round, summarize, type LatencySummary } from './stats';
import { profiling, type Progress } from './workloads';

/** The pretend Application Server of W6 (the server's `--as-service-id`, and the downlink sender). */
export const W6_AS_SERVICE_ID = 'as-bench';
/** The gateway's UE Service ID (its default). */
const GATEWAY_UE_SERVICE_ID = 'msgin5g-gateway-1';
const PAYLOAD = new Uint8Array(Buffer.from('benchmark payload, 32 octets....'));

export interface W6Sizes {
  readonly devices: number;
  readonly uplinkMessages: number;
  readonly downlinkMessages: number;
  readonly concurrency: number;
  /** Most downlink messages injected and not yet at their device. */
  readonly window: number;
}

export interface W6Result {
  readonly devices: number;
  readonly registered: number;
  readonly uplink: {
    readonly concurrency: number;
    readonly sent: number;
    readonly accepted: number;
    readonly errors: number;
    readonly failureReasons: Record<string, number>;
    readonly opsPerS: number;
    readonly latency: LatencySummary;
    readonly retransmissions: number;
    /** MSGs the server kept in the AS inbox (its `toInbox` counter): must equal `accepted` (each exactly once). */
    readonly atServer: number;
  };
  readonly downlink: {
    readonly injected: number;
    /** Answered DELY_STORED by the server. */
    readonly stored: number;
    /** Not taken by the server (status or cause → count). */
    readonly refused: Record<string, number>;
    /** First copies received (each acknowledged). */
    readonly delivered: number;
    readonly msgsPerS: number;
    /** From the POST to the first copy at the device. */
    readonly latency: LatencySummary;
    /** Copies beyond the first, over all messages. */
    readonly duplicates: number;
    readonly messagesWithDuplicates: number;
    /** Copies received by a device the message was not for, or with a Message ID never sent. */
    readonly misrouted: number;
    /** Stored by the server but never at its device. */
    readonly lost: number;
    readonly acksSent: number;
  };
  readonly gatewayCpuS: number;
  /** The reference server's CPU over both phases (it routes every message and forwards each downlink one). */
  readonly serverCpuS: number;
  readonly gatewayPeakRssMiB: number;
  readonly gatewayWarnings: string[];
  readonly server: ServerCounters;
}

interface Device {
  readonly port: DevicePort;
  readonly applicationId: ApplicationId;
  readonly ueServiceId: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs W6 (both phases on one server and one gateway). */
export async function w6Messages(sizes: W6Sizes, gatewayConfigFile: string, storePath: string, limitMs: number, progress: Progress): Promise<W6Result> {
  const prof = (name: string) => (profiling.dir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profiling.dir, '--cpu-prof-name', `${name}-w6.cpuprofile`]);
  const server = await startServer(['--as-service-id', W6_AS_SERVICE_ID, '--max-stored-messages', String(Math.max(10_000, sizes.window * 2))], prof('server'));
  const udpPort = await freeUdpPort();
  const gateway = await startGateway({ serverPort: server.port, udpPort, store: `sqlite:${storePath}`, upstreamSockets: 1, configFile: gatewayConfigFile, nodeArgs: prof('gateway') });
  const total = sizes.devices + sizes.uplinkMessages + sizes.downlinkMessages;
  let done = 0;
  const tick = (n = 1) => {
    done += n;
    progress(done, total);
  };

  // Register every device, each on its own socket, `concurrency` at a time.
  const devices: Device[] = [];
  const ports: DevicePort[] = [];
  let next = 0;
  const regDeadline = Date.now() + limitMs;
  await Promise.all(
    Array.from({ length: Math.min(sizes.concurrency, sizes.devices) }, async () => {
      while (next < sizes.devices && Date.now() < regDeadline) {
        const appId = (next++ % 0x10000) as ApplicationId;
        const port = await DevicePort.open(udpPort);
        ports.push(port);
        try {
          const a = await port.register(appId, 1000, 5);
          if (a.response.result === 'SUCCESS') {
            devices.push({ port, applicationId: appId, ueServiceId: defaultDeviceUeServiceId(GATEWAY_UE_SERVICE_ID as UeServiceId, `127.0.0.1:${port.localPort}` as Layer2Id, appId) });
          }
        } catch {
          // counted as not registered
        }
        tick();
      }
    }),
  );
  if (devices.length === 0) throw new Error('W6: no device registered');
  const tag = randomBytes(4).toString('hex');
  const messageId = (phase: 'u' | 'd', i: number): MessageId => `${tag}${phase === 'u' ? '0' : '1'}${i.toString(16).padStart(23, '0')}` as MessageId;

  const cpu0 = gateway.cpuSeconds();
  const serverCpu0 = server.child.cpuSeconds();
  // ---- uplink: closed loop at `concurrency`, device i mod N.
  const upLatencies: number[] = [];
  const upFailures: Record<string, number> = {};
  let upErrors = 0;
  let upNext = 0;
  const upDeadline = Date.now() + limitMs;
  const tUp = performance.now();
  await Promise.all(
    Array.from({ length: sizes.concurrency }, async () => {
      while (upNext < sizes.uplinkMessages && Date.now() < upDeadline) {
        const i = upNext++;
        const d = devices[i % devices.length] as Device;
        try {
          const a = await d.port.sendMessage({ targetAddress: W6_AS_SERVICE_ID as never, messageId: messageId('u', i), payload: PAYLOAD, applicationId: d.applicationId, deliveryStatusRequired: false, targetType: 'AS' }, 1000, 5);
          if (a.response.result === 'ACCEPTED') upLatencies.push(a.latencyMs);
          else {
            upErrors += 1;
            upFailures[a.response.failureReason] = (upFailures[a.response.failureReason] ?? 0) + 1;
          }
        } catch {
          upErrors += 1;
          upFailures['no answer'] = (upFailures['no answer'] ?? 0) + 1;
        }
        tick();
      }
    }),
  );
  const upElapsedS = (performance.now() - tUp) / 1000;
  const upRetransmissions = ports.reduce((n, p) => n + p.retransmissions, 0);

  // ---- downlink: inject at the server, at most `window` ahead of the deliveries.
  const sentAt = new Map<MessageId, { device: Device; at: number }>();
  const copies = new Map<MessageId, number>();
  const downLatencies: number[] = [];
  let misrouted = 0;
  let firstCopies = 0;
  let lastFirstCopyAt = 0;
  let wake: Array<() => void> = [];
  for (const d of devices) {
    d.port.autoAck = true;
    d.port.onArrival = (m, at) => {
      if (m.kind !== 'MESSAGE_RECEIVING') return;
      const sent = sentAt.get(m.messageId);
      if (sent === undefined || sent.device !== d) {
        misrouted += 1;
        return;
      }
      const n = (copies.get(m.messageId) ?? 0) + 1;
      copies.set(m.messageId, n);
      if (n > 1) return;
      firstCopies += 1;
      lastFirstCopyAt = at;
      downLatencies.push(at - sent.at);
      tick();
      const w = wake;
      wake = [];
      for (const f of w) f();
    };
  }
  const as = new AsClient({ host: '127.0.0.1', port: server.port }, W6_AS_SERVICE_ID, Math.ceil(sizes.concurrency / 16));
  const refused: Record<string, number> = {};
  let stored = 0;
  let injected = 0;
  let downNext = 0;
  const downDeadline = Date.now() + limitMs;
  const tDown = performance.now();
  await Promise.all(
    Array.from({ length: sizes.concurrency }, async () => {
      while (downNext < sizes.downlinkMessages && Date.now() < downDeadline) {
        // Hold back while `window` messages are on their way (woken by each first copy; 50 ms at most).
        while (injected - firstCopies - sumValues(refused) >= sizes.window && Date.now() < downDeadline) {
          await new Promise<void>((res) => {
            const t = setTimeout(res, 50);
            wake.push(() => {
              clearTimeout(t);
              res();
            });
          });
        }
        if (downNext >= sizes.downlinkMessages || Date.now() >= downDeadline) break;
        const i = downNext++;
        const d = devices[i % devices.length] as Device;
        const id = messageId('d', i);
        sentAt.set(id, { device: d, at: performance.now() });
        injected += 1;
        const a = await as.send({ to: d.ueServiceId, messageId: id, payload: PAYLOAD, deliveryStatusRequired: false });
        if (a.status === 'DELY_STORED') stored += 1;
        else {
          const key = `${a.status}${a.failureCause === undefined ? '' : ` ${a.failureCause}`}`;
          refused[key] = (refused[key] ?? 0) + 1;
          tick();
        }
      }
    }),
  );
  // Every stored message must come: wait for the stragglers (bounded), then 2.5 s more for copies
  // resent after a lost ack (the gateway's first resend comes after 2 s, docs/wire-formats.md §5.3).
  while (firstCopies < stored && Date.now() < downDeadline) await sleep(20);
  const downElapsedS = ((lastFirstCopyAt > 0 ? lastFirstCopyAt : performance.now()) - tDown) / 1000;
  await sleep(2500);
  const cpu = gateway.cpuSeconds() - cpu0;
  const serverCpu = server.child.cpuSeconds() - serverCpu0;
  const rss = gateway.peakRssBytes();
  as.close();
  let duplicates = 0;
  let messagesWithDuplicates = 0;
  for (const n of copies.values()) {
    if (n > 1) {
      duplicates += n - 1;
      messagesWithDuplicates += 1;
    }
  }
  const acksSent = ports.reduce((n, p) => n + p.acksSent, 0);
  await Promise.all(ports.map((p) => p.close()));
  await gateway.stop('SIGTERM');
  const gatewayWarnings = gateway.lines.filter((l) => Number(l.level) >= 40).slice(0, 5).map((l) => JSON.stringify(l).slice(0, 400));
  const counters = await stopServer(server.child);
  return {
    devices: sizes.devices,
    registered: devices.length,
    uplink: {
      concurrency: sizes.concurrency,
      sent: Math.min(upNext, sizes.uplinkMessages),
      accepted: upLatencies.length,
      errors: upErrors,
      failureReasons: upFailures,
      opsPerS: round(upLatencies.length / upElapsedS, 0),
      latency: summarize(upLatencies),
      retransmissions: upRetransmissions,
      atServer: counters.messages['toInbox'] ?? -1,
    },
    downlink: {
      injected,
      stored,
      refused,
      delivered: firstCopies,
      msgsPerS: round(firstCopies / downElapsedS, 0),
      latency: summarize(downLatencies),
      duplicates,
      messagesWithDuplicates,
      misrouted,
      lost: stored - firstCopies,
      acksSent,
    },
    gatewayCpuS: round(cpu, 2),
    serverCpuS: round(serverCpu, 2),
    gatewayPeakRssMiB: round(rss / 2 ** 20, 1),
    gatewayWarnings,
    server: counters,
  };
}

function sumValues(o: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(o)) n += v;
  return n;
}
