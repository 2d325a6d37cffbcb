/**
 * A real Prometheus (Debian package `prometheus`) scrapes the gateway's admin API `/metrics` with
 * the bearer token, and its query API returns gateway series with the values of a known run.
 * Skipped, saying why, where `prometheus` is not installed (CI installs it: .ci/run).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { itUnless, LineProcess } from '@msgin5g/test-support';
import { startGateway, startServer, type JsonLineProcess } from '../../src/demo/processes';
import { RawDevice } from './raw-device';

const TOKEN = 'prometheus-scrape-token-0123456789';

function prometheusMissing(): string | undefined {
  const r = spawnSync('prometheus', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return r.error !== undefined || r.status !== 0 ? 'prometheus is not installed (apt-get install prometheus)' : undefined;
}

/** A TCP port free on 127.0.0.1 a moment ago (Prometheus takes its own listen address as a flag). */
function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface QueryResult {
  status: string;
  data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

describe('a real Prometheus scrapes the gateway', () => {
  let dir: string;
  const procs: JsonLineProcess[] = [];
  let prometheus: LineProcess | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-prometheus-'));
  });
  afterEach(async () => {
    await prometheus?.stop('SIGKILL');
    prometheus = undefined;
    for (const p of procs.splice(0)) await p.stop('SIGKILL', 2000);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  itUnless(prometheusMissing(), 'Prometheus scrape test')('its query API returns the gateway series of a known run (bearer token, 1 s scrape interval)', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const gw = await startGateway([
      '--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', 'gw-prom', '--udp-host', '127.0.0.1', '--udp-port', '0',
      '--store', `sqlite:${join(dir, 'prom.db')}`, '--authorization', 'open', '--admin-port', '0', '--admin-token', TOKEN,
    ]);
    procs.push(gw.proc);
    // A known run: two devices register.
    for (const app of [0x0101, 0x0102]) {
      const d = await RawDevice.open();
      try {
        d.send(`10${app.toString(16).padStart(4, '0')}`, gw.udpPort);
        expect(await d.next()).toMatch(/^1100/);
      } finally {
        await d.close();
      }
    }

    const target = new URL(gw.adminUrl).host;
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global: {scrape_interval: 1s, evaluation_interval: 1s}',
        'scrape_configs:',
        '  - job_name: msgin5g-gateway',
        '    metrics_path: /metrics',
        `    authorization: {type: Bearer, credentials: ${TOKEN}}`,
        `    static_configs: [{targets: ["${target}"]}]`,
        '',
      ].join('\n'),
    );
    const webPort = await freeTcpPort();
    prometheus = LineProcess.start('prometheus', [
      `--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${webPort}`, '--log.level=warn',
    ], { name: 'prometheus' });

    const query = async (q: string): Promise<QueryResult | undefined> => {
      try {
        const r = await fetch(`http://127.0.0.1:${webPort}/api/v1/query?query=${encodeURIComponent(q)}`);
        return r.ok ? ((await r.json()) as QueryResult) : undefined;
      } catch {
        return undefined; // not listening yet
      }
    };
    // Bounded wait: Prometheus starts, scrapes once a second.
    let requests: QueryResult | undefined;
    for (let i = 0; i < 60; i++) {
      requests = await query('msgin5g_gateway_requests_total{kind="REGISTRATION_REQUEST"}');
      if ((requests?.data.result.length ?? 0) > 0) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    expect(requests?.status).toBe('success');
    expect(requests?.data.result).toEqual([
      { metric: expect.objectContaining({ __name__: 'msgin5g_gateway_requests_total', job: 'msgin5g-gateway', instance: target, link: 'udp', kind: 'REGISTRATION_REQUEST' }), value: [expect.any(Number), '2'] },
    ]);
    const up = await query('up{job="msgin5g-gateway"}');
    expect(up?.data.result.map((r) => r.value[1])).toEqual(['1']);
    const registered = await query('msgin5g_gateway_registrations{state="REGISTERED"}');
    expect(registered?.data.result.map((r) => r.value[1])).toEqual(['2']);
  }, 60_000);
});
