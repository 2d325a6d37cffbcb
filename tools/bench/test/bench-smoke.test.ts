/**
 * Smoke run of `pnpm bench --quick` (issue 5, "Done when"): it must complete and report zero
 * Message ID reuse and zero lost acknowledged operations. It never judges timing: these machines are
 * shared. Needs the reference server and the gateway built (turbo builds them before `test`).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatReport, runBench, type BenchReport } from '../src/main';

jest.setTimeout(240_000);

describe('pnpm bench --quick (smoke), W1–W6', () => {
  const dir = mkdtempSync(join(tmpdir(), 'msgin5g-bench-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('completes every workload with zero Message ID reuse and zero lost operations, and writes the JSON report', async () => {
    const jsonFile = join(dir, 'bench.json');
    const report = await runBench({ quick: true, jsonFile, progress: false });
    expect(report.failures).toEqual([]);
    expect(report.messageIdReuses).toBe(0);
    expect(report.lostOperations).toBe(0);
    expect(report.w1).toHaveLength(3);
    expect(report.w2).toHaveLength(3);
    expect(report.w3.map((r) => r.upstreamSockets)).toEqual([1, 8]);
    expect(report.w4.map((r) => r.store)).toEqual(['memory', 'sqlite']);
    expect(report.w5?.acknowledgedRegistrations).toBeGreaterThan(0);
    // W6: every device registered, every uplink message accepted and held once by the server, every
    // downlink message stored by the server reached its device (duplicates are counted, not judged).
    const w6 = report.w6!;
    expect(w6.registered).toBe(w6.devices);
    expect(w6.uplink.accepted).toBe(w6.uplink.sent);
    expect(w6.uplink.accepted).toBeGreaterThan(0);
    expect(w6.uplink.atServer).toBe(w6.uplink.accepted);
    expect(w6.downlink.stored).toBe(w6.downlink.injected);
    expect(w6.downlink.delivered).toBe(w6.downlink.stored);
    expect(w6.downlink.lost).toBe(0);
    expect(w6.downlink.misrouted).toBe(0);
    expect(w6.downlink.acksSent).toBeGreaterThanOrEqual(w6.downlink.delivered);
    expect(w6.uplinkRatioToW1).toBeGreaterThan(0);
    expect(w6.downlinkRatioToW1).toBeGreaterThan(0);
    // Every server reported its counters (a missing stopping line would read -1).
    for (const r of [...report.w1, ...report.w2, ...report.w3, w6]) expect(r.server.peersChecked).toBeGreaterThan(0);
    const written = JSON.parse(readFileSync(jsonFile, 'utf8')) as BenchReport;
    expect(written.mode).toBe('quick');
    expect(formatReport(report)).toContain('Message ID reuse within 247 s: 0');
    expect(formatReport(report)).toContain('uplink 0x01→0x03');
  });
});
