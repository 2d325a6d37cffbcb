/**
 * `formatMessageChaosSummary`: the message chaos run's report as a plain-text block, in the layout
 * of `chaos-summary.ts` (fixed-width labels, no colours, pasteable into an issue).
 */
import type { MessageViolationKind } from './check-messages';
import { checksAndVerdict } from './chaos-summary';
import type { MessageChaosReport } from './run-message-chaos';

const pad = (label: string) => `  ${label.padEnd(24)}`;
const entries = (o: Record<string, number>) =>
  Object.entries(o)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/** The properties checked, with the violation kinds that break each. */
export const CHECKED_MESSAGE_PROPERTIES: ReadonlyArray<{ readonly title: string; readonly kinds: readonly string[] }> = [
  { title: 'uplink ACCEPTED (0x03) → in the AS inbox', kinds: ['UPLINK_ACCEPTED_NOT_AT_AS'] satisfies MessageViolationKind[] },
  { title: 'uplink at the AS exactly once', kinds: ['UPLINK_DUPLICATED_AT_AS'] satisfies MessageViolationKind[] },
  { title: 'uplink told failed → not at the AS; nothing unknown there', kinds: ['UPLINK_FAILED_BUT_AT_AS', 'UNKNOWN_MESSAGE_AT_AS'] satisfies MessageViolationKind[] },
  { title: 'downlink DELY_STORED → at its device or reported failed', kinds: ['DOWNLINK_VANISHED'] satisfies MessageViolationKind[] },
  { title: 'downlink with a report asked → a final report at the AS', kinds: ['DOWNLINK_NO_REPORT'] satisfies MessageViolationKind[] },
  { title: 'reports true: delivered only if received, failed only if not, never both', kinds: ['REPORTED_DELIVERED_NOT_RECEIVED', 'REPORTED_FAILED_BUT_RECEIVED', 'CONFLICTING_REPORTS', 'UNKNOWN_REPORT'] satisfies MessageViolationKind[] },
  { title: 'no copy at another device, none never sent', kinds: ['DOWNLINK_MISROUTED'] satisfies MessageViolationKind[] },
  { title: 'every device registered before the kills', kinds: ['DEVICE_NOT_REGISTERED'] },
  { title: 'SIGTERM: exit 0, the gateway de-registered itself', kinds: ['GATEWAY_STOP_FAILED', 'NO_SELF_DEREGISTRATION_LOG'] },
  { title: 'the gateway never exited on its own', kinds: ['GATEWAY_EXITED_ON_ITS_OWN'] },
  { title: 'no CoAP Message ID reuse within 247 s (server check mode)', kinds: ['MESSAGE_ID_REUSE'] },
];

/** The report as text (multi-line, ends without a newline). */
export function formatMessageChaosSummary(r: MessageChaosReport): string {
  const u = r.check.uplink;
  const d = r.check.downlink;
  const m = r.server.messages;
  const out: string[] = [];
  out.push(`== msgin5g chaos run --messages: seed ${r.seed} ==`);
  out.push(`${pad('devices')}${r.devices} (${r.registered} registered)`);
  out.push(`${pad('kills (SIGKILL)')}${r.kills.length} of ${r.plannedKills}${r.kills.length > 0 ? ` at ${r.kills.map((k) => `${k.atS}s`).join(', ')}` : ''}`);
  if (r.kills.length > 0) {
    const ready = r.kills.map((k) => k.readyAfterS);
    out.push(`${pad('  operations done')}${r.kills.map((k) => k.operationsDone).join(', ')} (at each kill)`);
    out.push(`${pad('restarts')}${r.restarts} (same store, UDP port and inbox port; ready after ${Math.min(...ready)}–${Math.max(...ready)} s)`);
  } else out.push(`${pad('restarts')}${r.restarts}`);
  out.push(`${pad('duration')}${r.durationS} s messages, ${r.settleS} s settle${r.settled ? '' : ' (NOT settled in time)'}, final SIGTERM stop ${r.finalStop.stopS} s`);
  out.push('  uplink (device → AS, 0x01 → MSG):');
  out.push(`${pad('  sent')}${u.sent}`);
  out.push(`${pad('  accepted (0x03)')}${u.accepted}`);
  out.push(`${pad('  failed')}${sum(u.failed)}${sum(u.failed) > 0 ? ` (${entries(u.failed)})` : ''}`);
  out.push(`${pad('  gave up')}${u.gaveUp}${u.gaveUp > 0 ? ` (${u.gaveUpButAtAs} of them at the AS anyway)` : ''}`);
  out.push(`${pad('  at the AS')}${u.atAs} distinct, ${u.duplicatesAtAs} duplicate entries`);
  out.push(`${pad('  retries')}${r.uplinkRetries.total}${r.uplinkRetries.total > 0 ? ` (${entries(r.uplinkRetries.byReason)})` : ''}`);
  out.push(`${pad('  reports (0x06)')}${r.uplinkReports.received} of ${r.uplinkReports.asked} asked reached the device (sent once, no ack on M5: not checked)`);
  out.push('  downlink (AS → device, MSG → 0x04, reports asked):');
  out.push(`${pad('  injected')}${d.injected} (${r.injectorRetries} re-sent after no answer)`);
  out.push(`${pad('  stored (DELY_STORED)')}${d.stored}${sum(d.notTaken) > 0 ? `; not taken: ${entries(d.notTaken)}` : ''}`);
  out.push(`${pad('  delivered (0x04)')}${d.delivered}`);
  out.push(`${pad('  duplicate copies')}${d.duplicateCopies} (${d.messagesWithDuplicates} messages)`);
  out.push(`${pad('  reported delivered')}${d.reportedDelivered}`);
  out.push(`${pad('  reported failed')}${sum(d.reportedFailed)}${sum(d.reportedFailed) > 0 ? ` (${entries(d.reportedFailed)})` : ''}`);
  out.push(`${pad('  vanished')}${d.vanished}`);
  out.push(`${pad('AS inbox')}${r.inboxEntries} entries read`);
  out.push(`${pad('server')}${r.server.requests} requests, ${r.server.duplicates} CoAP duplicates, Message ID reuse ${r.server.messageIdReuses}; MSG ${m['msgReceived'] ?? '?'}, IMDN ${m['imdnReceived'] ?? '?'}, repeats answered from memory ${m['duplicates'] ?? '?'}, forwarded ${m['forwarded'] ?? '?'} in ${m['deliveryAttempts'] ?? '?'} attempts, failed ${m['failed'] ?? '?'}, expired ${m['expired'] ?? '?'}, waiting ${m['waiting'] ?? '?'}`);
  out.push(...checksAndVerdict(CHECKED_MESSAGE_PROPERTIES, r.violations, r.passed));
  return out.join('\n');
}
