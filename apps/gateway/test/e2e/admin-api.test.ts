/**
 * The admin API over real processes (issue 11 item 2): a reference server, a gateway with a SQLite
 * store and its admin listener on a free loopback port, devices as raw UDP sockets. An HTTP client
 * reads /healthz, /readyz, /devices (paged), /metrics (parsed as Prometheus text, the counters
 * matching the run), the CLI talks to the API and falls back to the store file with a notice, and
 * POST /drain stops the gateway with exit 0.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { ENTRY, registryIn, runGatewayCli, startGateway, startNode, startServer, type JsonLineProcess } from '../../src/demo/processes';
import { RawDevice } from './raw-device';

const TOKEN = 'e2e-admin-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const hex16 = (n: number) => n.toString(16).padStart(4, '0');
// A REGISTRATION RESPONSE here is `11 00 A0 <app> 21 08 <Registration ID> 24 04 <lifetime s>`
// (docs/wire-formats.md §2); the regular expressions below capture the Registration ID.

/** The value of the sample of `name` whose labels include `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const family = parsePrometheusTextFormat(text).find((f) => f.name === name);
  const s = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return s === undefined ? undefined : Number(s.value);
}

describe('admin API end to end', () => {
  let dir: string;
  const procs: JsonLineProcess[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-admin-e2e-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop('SIGKILL', 2000);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves devices, metrics, health and readiness, the CLI through it, and drains on POST /drain (exit 0)', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const file = join(dir, 'admin.db');
    const gw = await startGateway([
      '--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', 'gw-admin', '--udp-host', '127.0.0.1', '--udp-port', '0',
      '--store', `sqlite:${file}`, '--authorization', 'open', '--admin-port', '0', '--admin-token', TOKEN, '--drain-timeout-ms', '2000',
    ]);
    procs.push(gw.proc);
    const base = gw.adminUrl;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(base).port)).toBeGreaterThan(0);

    // Three devices register: a known run.
    const devices = await Promise.all([1, 2, 3].map(() => RawDevice.open()));
    const rids: string[] = [];
    try {
      for (const [i, d] of devices.entries()) {
        d.send(`10${hex16(500 + i)}`, gw.udpPort);
        const m = new RegExp(`^1100a0${hex16(500 + i)}2108([0-9a-f]{16})2404[0-9a-f]{8}$`).exec(await d.next());
        expect(m).not.toBeNull();
        rids.push(m![1]!);
      }
    } finally {
      await Promise.all(devices.map((d) => d.close()));
    }

    const healthz = await fetch(`${base}/healthz`);
    expect(healthz.status).toBe(200);
    await expect(healthz.json()).resolves.toEqual({ status: 'ok' });
    const readyz = await fetch(`${base}/readyz`);
    expect(readyz.status).toBe(200);
    await expect(readyz.json()).resolves.toMatchObject({ status: 'ready', checks: { registered: { ok: true }, store: { ok: true }, links: { ok: true }, draining: { ok: true } } });

    const denied = await fetch(`${base}/devices`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toBe('Bearer realm="msgin5g-gateway"');
    expect(denied.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    // Two pages of 2.
    const page1 = (await (await fetch(`${base}/devices?limit=2`, { headers: AUTH })).json()) as { devices: Array<Record<string, unknown>>; nextCursor?: string };
    expect(page1.devices).toHaveLength(2);
    const page2 = (await (await fetch(`${base}/devices?limit=2&cursor=${page1.nextCursor!}`, { headers: AUTH })).json()) as { devices: Array<Record<string, unknown>>; nextCursor?: string };
    expect(page2.devices).toHaveLength(1);
    expect(page2.nextCursor).toBeUndefined();
    expect([...page1.devices, ...page2.devices].map((d) => d.registrationId)).toEqual([...rids].sort());
    expect(page2.devices[0]).toMatchObject({ link: 'udp', state: 'REGISTERED', createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const bad = await fetch(`${base}/devices?state=FOO`, { headers: AUTH });
    expect(bad.status).toBe(400);
    await expect(bad.json()).resolves.toMatchObject({ status: 400, instance: '/devices' });
    const one = await fetch(`${base}/devices/${rids[1]}`, { headers: AUTH });
    await expect(one.json()).resolves.toMatchObject({ registrationId: rids[1], applicationId: 501 });
    expect((await fetch(`${base}/devices/${'ee'.repeat(8)}`, { headers: AUTH })).status).toBe(404);

    // Metrics: the counters of this run.
    const metrics = await fetch(`${base}/metrics`, { headers: AUTH });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    expect(sample(text, 'msgin5g_gateway_requests_total', { link: 'udp', kind: 'REGISTRATION_REQUEST' })).toBe(3);
    expect(sample(text, 'msgin5g_gateway_procedures_total', { operation: 'REG', outcome: 'SUCCESS' })).toBe(3);
    expect(sample(text, 'msgin5g_gateway_registrations', { state: 'REGISTERED', link: 'udp' })).toBe(3);

    // The published OpenAPI document is the committed one.
    const openapi = await (await fetch(`${base}/openapi.json`, { headers: AUTH })).json();
    expect(openapi).toEqual(JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'docs', 'admin-api.openapi.json'), 'utf8')));

    // The CLI through the API: no notice; with a wrong token, exit 2 and no fallback.
    const list = await runGatewayCli(['devices', 'list', '--admin-url', base, '--admin-token', TOKEN, '--json']);
    expect(list.code).toBe(0);
    expect(list.stderr).toBe('');
    const rows = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => r.registrationId)).toEqual([...rids].sort());
    expect(rows[0]).toMatchObject({ state: 'REGISTERED', createdAt: expect.any(Number) });
    const filtered = await runGatewayCli(['devices', 'list', '--admin-url', base, '--admin-token', TOKEN, '--app-id', '502']);
    expect(filtered.stdout).toMatch(new RegExp(`${rids[2]}\\s+502\\s+udp`));
    expect(filtered.stdout).toMatch(/1 registration\(s\)/);
    const show = await runGatewayCli(['devices', 'show', rids[0]!, '--admin-url', base, '--admin-token', TOKEN]);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ registrationId: rids[0], applicationId: 500 });
    const wrong = await runGatewayCli(['devices', 'list', '--admin-url', base, '--admin-token', `${TOKEN}-wrong`]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/devices list: A valid bearer token is required/);
    const unknownShow = await runGatewayCli(['devices', 'show', 'ee'.repeat(8), '--admin-url', base, '--admin-token', TOKEN]);
    expect(unknownShow.code).toBe(1);
    expect(unknownShow.stderr).toMatch(/no registration eeeeeeeeeeeeeeee/);

    // POST /drain: 202 at once, then the same stop as SIGTERM; the gateway de-registers itself and exits 0.
    const drain = await fetch(`${base}/drain`, { method: 'POST', headers: AUTH });
    expect(drain.status).toBe(202);
    await expect(drain.json()).resolves.toEqual({ status: 'draining' });
    const code = await Promise.race([gw.proc.exited, new Promise<string>((res) => setTimeout(() => res('timeout'), 15_000).unref())]);
    expect(code).toBe(0);
    expect(gw.proc.lines.find((l) => l.msg === 'stopping: draining in-flight procedures')).toMatchObject({ reason: 'POST /drain' });
    expect(gw.proc.lines.some((l) => l.msg === 'Gateway UE de-registered')).toBe(true);
    expect(await registryIn(server.port)).not.toContain('gw-admin');

    // No gateway answers now: list and show read the store file (MSGIN5G_STORE) and say so; kick fails clearly.
    const env = { MSGIN5G_STORE: `sqlite:${file}` };
    const fallback = await runGatewayCli(['devices', 'list', '--admin-url', base, '--json'], 20_000, env);
    expect(fallback.code).toBe(0);
    expect(fallback.stderr).toMatch(new RegExp(`notice: no gateway answers at ${base} \\(ECONNREFUSED\\); reading the store file instead`));
    expect(fallback.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { registrationId: string }).registrationId).sort()).toEqual([...rids].sort());
    const showFile = await runGatewayCli(['devices', 'show', rids[2]!, '--admin-url', base], 20_000, env);
    expect(showFile.code).toBe(0);
    expect(showFile.stderr).toMatch(/notice: no gateway answers at/);
    expect(JSON.parse(showFile.stdout)).toMatchObject({ registrationId: rids[2], applicationId: 502 });
    const kick = await runGatewayCli(['devices', 'kick', rids[2]!, '--admin-url', base, '--admin-token', TOKEN], 20_000, env);
    expect(kick.code).toBe(1);
    expect(kick.stderr).toMatch(/cannot kick [0-9a-f]{16}: no gateway answers at .*a kick needs a running gateway/);
  });

  it('kick: DELETE de-registers the device at the server, removes the mapping, keeps the tombstone; the CLI kicks too', async () => {
    const server = await startServer();
    procs.push(server.proc);
    const file = join(dir, 'kick.db');
    const gw = await startGateway([
      '--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', 'gw-kick', '--udp-host', '127.0.0.1', '--udp-port', '0',
      '--store', `sqlite:${file}`, '--authorization', 'open', '--admin-port', '0', '--admin-token', TOKEN,
    ]);
    procs.push(gw.proc);
    const base = gw.adminUrl;
    const devices = await Promise.all([1, 2].map(() => RawDevice.open()));
    try {
      const rids: string[] = [];
      for (const [i, d] of devices.entries()) {
        d.send(`10${hex16(600 + i)}`, gw.udpPort);
        rids.push(/^1100a0[0-9a-f]{4}2108([0-9a-f]{16})2404[0-9a-f]{8}$/.exec(await d.next())![1]!);
      }
      const ueOf = (i: number) => `gw-kick/127.0.0.1:${devices[i]!.port}/${600 + i}`;
      expect((await registryIn(server.port)).sort()).toEqual(['gw-kick', ueOf(0), ueOf(1)].sort());

      // Kick device 0 over HTTP.
      const kicked = await fetch(`${base}/devices/${rids[0]}`, { method: 'DELETE', headers: AUTH });
      expect(kicked.status).toBe(200);
      await expect(kicked.json()).resolves.toMatchObject({ result: 'DEREGISTERED', device: { registrationId: rids[0], applicationId: 600, state: 'DEREGISTERING', deregistrationCause: 'KICKED' } });
      expect((await registryIn(server.port)).sort()).toEqual(['gw-kick', ueOf(1)].sort());
      const list = await runGatewayCli(['devices', 'list', '--admin-url', base, '--admin-token', TOKEN, '--json']);
      expect(list.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { registrationId: string }).registrationId)).toEqual([rids[1]]);
      expect(gw.proc.lines.find((l) => l.msg === 'device kicked through the admin API')).toMatchObject({ registrationId: rids[0], applicationId: 600 });
      // The device was told nothing; its own DE-REGISTRATION REQUEST now gets the tombstone's success answer.
      expect(await devices[0]!.poll(300)).toBeUndefined();
      devices[0]!.send(`1208${rids[0]}`, gw.udpPort);
      await expect(devices[0]!.next()).resolves.toBe(`1300a0${hex16(600)}2108${rids[0]}`);
      // A second kick: 404 problem; nothing else changes.
      const again = await fetch(`${base}/devices/${rids[0]}`, { method: 'DELETE', headers: AUTH });
      expect(again.status).toBe(404);
      expect(again.headers.get('content-type')).toMatch(/^application\/problem\+json/);

      // The CLI kicks device 1.
      const cli = await runGatewayCli(['devices', 'kick', rids[1]!, '--admin-url', base, '--admin-token', TOKEN]);
      expect(cli.code).toBe(0);
      expect(JSON.parse(cli.stdout)).toMatchObject({ result: 'DEREGISTERED', device: { registrationId: rids[1], createdAt: expect.any(Number), expiresAt: expect.any(Number) } });
      expect(await registryIn(server.port)).toEqual(['gw-kick']);
      const empty = await runGatewayCli(['devices', 'list', '--admin-url', base, '--admin-token', TOKEN]);
      expect(empty.stdout).toMatch(/0 registration\(s\)/);
      const unknown = await runGatewayCli(['devices', 'kick', rids[1]!, '--admin-url', base, '--admin-token', TOKEN]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/kick [0-9a-f]{16}: No registration has this Registration ID/);

      const text = await (await fetch(`${base}/metrics`, { headers: AUTH })).text();
      expect(sample(text, 'msgin5g_gateway_registrations_ended_total', { cause: 'KICKED', link: 'udp' })).toBe(2);
    } finally {
      await Promise.all(devices.map((d) => d.close()));
    }
    expect(await gw.proc.stop('SIGTERM')).toBe(0);
  });

  it('a kick the server refuses (502) or leaves unanswered (503) keeps the mapping; the next kick succeeds', async () => {
    const server = await startServer(['--fault', 'code=4.03@DEREG*1', '--fault', 'drop@DEREG*1']);
    procs.push(server.proc);
    const gw = await startGateway([
      '--server', `coap://127.0.0.1:${server.port}/msgin5g`, '--ue-service-id', 'gw-kick-fail', '--udp-host', '127.0.0.1', '--udp-port', '0',
      '--store', `sqlite:${join(dir, 'kick-fail.db')}`, '--authorization', 'open', '--admin-port', '0', '--admin-token', TOKEN, '--deadline-ms', '1500',
    ]);
    procs.push(gw.proc);
    const device = await RawDevice.open();
    try {
      device.send(`10${hex16(700)}`, gw.udpPort);
      const rid = /^1100a0[0-9a-f]{4}2108([0-9a-f]{16})2404[0-9a-f]{8}$/.exec(await device.next())![1]!;
      const kick = () => fetch(`${gw.adminUrl}/devices/${rid}`, { method: 'DELETE', headers: AUTH });
      const state = async () => ((await (await fetch(`${gw.adminUrl}/devices/${rid}`, { headers: AUTH })).json()) as { state: string }).state;

      const refused = await kick();
      expect(refused.status).toBe(502);
      await expect(refused.json()).resolves.toMatchObject({ type: 'tag:msgin5g-gateway,2026:problem:server-rejected', failureReason: 'SERVER_REJECTED' });
      await expect(state()).resolves.toBe('REGISTERED');
      const unanswered = await kick();
      expect(unanswered.status).toBe(503);
      await expect(unanswered.json()).resolves.toMatchObject({ type: 'tag:msgin5g-gateway,2026:problem:server-unreachable', failureReason: 'SERVER_UNREACHABLE' });
      await expect(state()).resolves.toBe('REGISTERED');
      expect((await registryIn(server.port)).length).toBe(2); // the gateway and the device

      expect((await kick()).status).toBe(200);
      expect(await registryIn(server.port)).toEqual(['gw-kick-fail']);
      expect(await device.poll(200)).toBeUndefined(); // told nothing, throughout
    } finally {
      await device.close();
    }
  });

  it('/readyz is 503 naming "registered" while the server does not answer, /healthz 200; SIGTERM still exits 0', async () => {
    // Nothing listens at the server URI: the gateway keeps retrying its own registration.
    const gw = startNode('msgin5g-gateway', ENTRY.gateway, [
      'start', '--server', 'coap://127.0.0.1:9/msgin5g', '--ue-service-id', 'gw-unready', '--udp-host', '127.0.0.1', '--udp-port', '0',
      '--store', 'memory', '--authorization', 'open', '--admin-port', '0', '--deadline-ms', '500', '--drain-timeout-ms', '500',
    ]);
    procs.push(gw);
    const base = String((await gw.waitFor((l) => l.msg === 'admin API listening', 'admin API listening')).url);
    await gw.waitFor((l) => l.msg === 'device link listening', 'device link listening');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const readyz = await fetch(`${base}/readyz`);
    expect(readyz.status).toBe(503);
    expect(readyz.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = (await readyz.json()) as { detail: string; checks: Record<string, { ok: boolean }> };
    expect(body.detail).toMatch(/^registered: /);
    expect(Object.entries(body.checks).filter(([, c]) => !c.ok).map(([n]) => n)).toEqual(['registered']);
    // Without a token configured on loopback, the other routes answer too.
    expect((await fetch(`${base}/devices`)).status).toBe(200);
    expect(await gw.stop('SIGTERM')).toBe(0);
  });
});
