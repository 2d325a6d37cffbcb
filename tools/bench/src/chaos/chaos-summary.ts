/**
 * `formatChaosSummary`: the chaos run's report as a plain-text block (fixed-width labels, no
 * colours) that can be pasted as is into an issue or a PR. Rejected alternative: a cli-table3
 * table — its box characters do not survive every issue tracker, and the block is mostly prose.
 */
import { CHECKED_PROPERTIES, type ChaosReport } from './run-chaos';

/** Most violations listed per kind; the count per kind is always printed. */
const LIST_PER_KIND = 20;

const pad = (label: string) => `  ${label.padEnd(20)}`;
const entries = (o: Record<string, number>) =>
  Object.entries(o)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

/** The report as text (multi-line, ends without a newline). */
export function formatChaosSummary(r: ChaosReport): string {
  const o = r.outcomes;
  const c = r.check;
  const out: string[] = [];
  out.push(`== msgin5g chaos run: seed ${r.seed} ==`);
  out.push(`${pad('devices')}${r.devices} (${r.concurrency} at a time), ${r.plannedDeregistrations} planned to de-register`);
  out.push(`${pad('kills (SIGKILL)')}${r.kills.length} of ${r.plannedKills}${r.kills.length > 0 ? ` at ${r.kills.map((k) => `${k.atS}s`).join(', ')}` : ''}`);
  if (r.kills.length > 0) {
    out.push(`${pad('  devices done')}${r.kills.map((k) => k.devicesDone).join(', ')} (at each kill)`);
    out.push(`${pad('  records pending')}${r.kills.map((k) => k.pendingAtKill ?? '?').join(', ')} (REGISTERING/DEREGISTERING in the store right after each kill)`);
  }
  if (r.kills.length > 0) {
    const ready = r.kills.map((k) => k.readyAfterS);
    out.push(`${pad('restarts')}${r.restarts} (same store and UDP port; ready after ${Math.min(...ready)}–${Math.max(...ready)} s)`);
  } else {
    out.push(`${pad('restarts')}${r.restarts}`);
  }
  out.push(`${pad('duration')}${r.durationS} s (device phase), final SIGTERM stop ${r.finalStop.stopS} s`);
  out.push('  outcomes (the last definitive answer each device was told):');
  out.push(`${pad('  registered')}${o.registered}`);
  out.push(`${pad('  de-registered')}${o.deregistered}`);
  out.push(`${pad('  failed')}${o.failedTotal}${o.failedTotal > 0 ? ` (${entries(o.failed)})` : ''}`);
  out.push(`${pad('  gave up')}${o.gaveUpTotal}${o.gaveUpTotal > 0 ? ` (${entries(o.gaveUp)})` : ''}`);
  out.push(`${pad('  total')}${o.registered + o.deregistered + o.failedTotal + o.gaveUpTotal} of ${r.devices}`);
  out.push(`${pad('retries')}${r.retries.total}${r.retries.total > 0 ? ` (${entries(r.retries.byReason)})` : ''}`);
  out.push(`${pad('store at the end')}${c.storeByState.REGISTERED} REGISTERED, ${c.storeByState.REGISTERING} REGISTERING, ${c.storeByState.DEREGISTERING} DEREGISTERING`);
  out.push(`${pad('server registry')}${c.registryDeviceEntries} device entries; gateway's own entry ${c.gatewayEntryPresent ? 'STILL PRESENT' : 'gone (de-registered on SIGTERM)'}`);
  out.push(`${pad('Registration IDs')}${c.distinctRegistrationIds} distinct in all success answers`);
  out.push(`${pad('devices checked')}${c.devicesChecked} against store and registry${c.undetermined > 0 ? ` (${c.undetermined} gave up: global checks only)` : ''}`);
  out.push(`${pad('server')}${r.server.requests} requests, ${r.server.duplicates} duplicates, Message ID reuse ${r.server.messageIdReuses}`);
  out.push(...checksAndVerdict(CHECKED_PROPERTIES, r.violations, r.passed));
  return out.join('\n');
}

/**
 * The end of a chaos summary, shared by both modes: one ok/FAIL line per checked property, up to
 * 20 violations of each kind, and the RESULT line.
 */
export function checksAndVerdict(
  properties: ReadonlyArray<{ readonly title: string; readonly kinds: readonly string[] }>,
  violations: ReadonlyArray<{ readonly kind: string; readonly detail: string }>,
  passed: boolean,
): string[] {
  const out = ['  checks:'];
  for (const p of properties) {
    const n = violations.filter((v) => p.kinds.includes(v.kind)).length;
    out.push(`    ${n === 0 ? 'ok  ' : 'FAIL'} ${p.title}${n === 0 ? '' : ` (${n})`}`);
  }
  if (violations.length > 0) {
    out.push(`  violations (${violations.length}):`);
    const shown = new Map<string, number>();
    for (const v of violations) {
      const k = (shown.get(v.kind) ?? 0) + 1;
      shown.set(v.kind, k);
      if (k <= LIST_PER_KIND) out.push(`    - ${v.kind}: ${v.detail}`);
    }
    for (const [kind, k] of shown) if (k > LIST_PER_KIND) out.push(`    - … ${k - LIST_PER_KIND} more ${kind}`);
  }
  out.push(`  RESULT: ${passed ? 'PASS' : 'FAIL'} (${violations.length} violation${violations.length === 1 ? '' : 's'})`);
  return out;
}
