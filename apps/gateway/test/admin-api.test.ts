/**
 * The admin API's routes through fastify's `inject` (no socket): authentication, filters, paging,
 * problem details, readiness checks, kick outcomes and drain. The store is core's in-memory store
 * (it passes the same contract suite as SQLite); readiness and kick are fakes.
 */
import { InMemoryRegistrationStore, type ApplicationId, type EndRegistrationResult, type LinkId, type Registration, type RegistrationId } from '@msgin5g/core';
import { RecordingLogger, sampleRegistration } from '@msgin5g/core/testing';
import type { FastifyInstance } from 'fastify';
import { buildAdminApi, DEFAULT_DEVICE_PAGE } from '../src/admin/admin-api';
import { ProceduresDeviceKicker, type DeviceKicker, type KickResult } from '../src/admin/device-kicker';
import { GatewayReadiness, type ReadinessReport } from '../src/admin/readiness';

const TOKEN = 'test-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const PROBLEM = /^application\/problem\+json/;

/** A kicker that answers what the test sets, and records what it was asked. */
class FakeDeviceKicker implements DeviceKicker {
  next: KickResult = { kind: 'UNKNOWN' };
  readonly asked: RegistrationId[] = [];
  async kick(id: RegistrationId): Promise<KickResult> {
    this.asked.push(id);
    return this.next;
  }
}

const readyChecks = (over: Partial<ReadinessReport['checks']> = {}): ReadinessReport => {
  const checks = { registered: { ok: true, detail: 'r' }, store: { ok: true, detail: 's' }, links: { ok: true, detail: 'l' }, draining: { ok: true, detail: 'd' }, ...over };
  return { ready: Object.values(checks).every((c) => c.ok), checks };
};

describe('admin API routes', () => {
  let store: InMemoryRegistrationStore;
  let app: FastifyInstance;
  let kicker: FakeDeviceKicker;
  let report: ReadinessReport;
  let drains: number;
  let metricsText: () => Promise<string>;
  const logger = new RecordingLogger();
  const records: Registration[] = [];

  beforeEach(async () => {
    store = new InMemoryRegistrationStore();
    records.length = 0;
    // 25 records over two links, two Application IDs and every state.
    for (let i = 1; i <= 25; i++) {
      const r = sampleRegistration(i * 7, {
        state: i % 5 === 0 ? 'REGISTERING' : i % 7 === 0 ? 'DEREGISTERING' : 'REGISTERED',
        link: (i % 3 === 0 ? 'coap' : 'udp') as LinkId,
        applicationId: (i % 2 === 0 ? 42 : 43) as ApplicationId,
        layer2Id: `127.0.0.1:${41000 + i}` as never,
      });
      records.push(await store.insert(r));
    }
    kicker = new FakeDeviceKicker();
    report = readyChecks();
    drains = 0;
    metricsText = async () => '# HELP msgin5g_gateway_requests_total x\n# TYPE msgin5g_gateway_requests_total counter\nmsgin5g_gateway_requests_total 3\n';
    logger.lines.length = 0;
    app = await buildAdminApi(
      {
        store,
        metrics: { text: () => metricsText(), contentType: 'text/plain; version=0.0.4; charset=utf-8' },
        readiness: { check: async () => report },
        kicker,
        drain: () => drains++,
        logger,
        now: () => 1_800_000_000_000,
      },
      { token: TOKEN, version: '9.9.9' },
    );
  });
  afterEach(async () => {
    await app.close();
  });

  const get = (url: string, headers: Record<string, string> = AUTH) => app.inject({ method: 'GET', url, headers });

  describe('bearer token', () => {
    it.each(['/metrics', '/devices', `/devices/${'00'.repeat(8)}`, '/openapi.json', '/nothing-here'])('GET %s without a token: 401 problem with WWW-Authenticate: Bearer', async (url) => {
      const r = await get(url, {});
      expect(r.statusCode).toBe(401);
      expect(r.headers['content-type']).toMatch(PROBLEM);
      expect(r.headers['www-authenticate']).toBe('Bearer realm="msgin5g-gateway"');
      expect(r.json()).toMatchObject({ type: 'tag:msgin5g-gateway,2026:problem:unauthorized', status: 401, instance: url });
    });

    it('a wrong token, or another scheme, is 401 with error="invalid_token"; nothing is kicked or drained', async () => {
      for (const authorization of [`Bearer ${TOKEN}x`, `Basic ${TOKEN}`, `Bearer ${TOKEN.slice(1)}`, 'Bearer']) {
        const del = await app.inject({ method: 'DELETE', url: `/devices/${records[0]!.registrationId}`, headers: { authorization } });
        expect(del.statusCode).toBe(401);
        expect(del.headers['www-authenticate']).toBe('Bearer realm="msgin5g-gateway", error="invalid_token"');
        const drain = await app.inject({ method: 'POST', url: '/drain', headers: { authorization } });
        expect(drain.statusCode).toBe(401);
      }
      expect(kicker.asked).toEqual([]);
      expect(drains).toBe(0);
      await expect(store.count()).resolves.toBe(25);
      expect(logger.lines.some((l) => l.message === 'admin request refused' && l.fields.status === 401)).toBe(true);
      expect(JSON.stringify(logger.lines)).not.toContain(TOKEN); // the token is never logged
    });

    it('refusals are logged at most 20 a second; the rest are counted in one line the next second', async () => {
      let t = 1_900_000_000_000;
      const lines = new RecordingLogger();
      const limited = await buildAdminApi({ store, metrics: { text: () => metricsText(), contentType: 'text/plain' }, readiness: { check: async () => report }, kicker, drain: () => drains++, logger: lines, now: () => t }, { token: TOKEN, version: '1' });
      try {
        for (let i = 0; i < 50; i++) expect((await limited.inject({ method: 'GET', url: '/devices' })).statusCode).toBe(401);
        expect(lines.messages('info').filter((m) => m === 'admin request refused')).toHaveLength(20);
        t += 1000;
        await limited.inject({ method: 'GET', url: '/devices' });
        expect(lines.lines.find((l) => l.message === 'admin requests refused and not logged one by one')).toMatchObject({ level: 'info', fields: { suppressed: 30 } });
        expect(lines.messages('info').filter((m) => m === 'admin request refused')).toHaveLength(21);
      } finally {
        await limited.close();
      }
    });

    it('/healthz and /readyz answer without a token (Kubernetes probes)', async () => {
      expect((await get('/healthz', {})).json()).toEqual({ status: 'ok' });
      expect((await get('/readyz', {})).statusCode).toBe(200);
    });

    it('without a configured token every route answers without one', async () => {
      const open = await buildAdminApi({ store, metrics: { text: () => metricsText(), contentType: 'text/plain' }, readiness: { check: async () => report }, kicker, drain: () => drains++, logger }, { version: '1' });
      try {
        expect((await open.inject({ method: 'GET', url: '/devices?limit=1' })).statusCode).toBe(200);
      } finally {
        await open.close();
      }
    });
  });

  it('GET /metrics: the registry text with prom-client\'s content type', async () => {
    const r = await get('/metrics');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(r.body).toBe(await metricsText());
  });

  it('GET /metrics when the store cannot be read: 503 problem', async () => {
    metricsText = async () => {
      throw new Error('store is closed');
    };
    const r = await get('/metrics');
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ type: 'tag:msgin5g-gateway,2026:problem:store-unavailable', detail: 'store is closed' });
  });

  describe('GET /devices', () => {
    const ids = (rs: Registration[]) => rs.map((r) => r.registrationId).sort();

    async function walk(query: string, limit: number): Promise<{ seen: string[]; pages: number }> {
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let pages = 1; pages <= 50; pages++) {
        const r = await get(`/devices?limit=${limit}${query}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
        expect(r.statusCode).toBe(200);
        const body = r.json() as { devices: Array<{ registrationId: string }>; nextCursor?: string };
        expect(body.devices.length).toBeLessThanOrEqual(limit);
        seen.push(...body.devices.map((d) => d.registrationId));
        if (body.nextCursor === undefined) return { seen, pages };
        cursor = body.nextCursor;
      }
      throw new Error('more than 50 pages');
    }

    it('pages every record across several pages in Registration ID order, none twice, none left out', async () => {
      await expect(walk('', 4)).resolves.toEqual({ seen: ids(records), pages: 7 });
      await expect(walk('', 5)).resolves.toEqual({ seen: ids(records), pages: 5 }); // an exact multiple: no empty last page
      await expect(walk('', 1000)).resolves.toEqual({ seen: ids(records), pages: 1 });
    });

    it('filters by link, applicationId and state, alone and together, across pages', async () => {
      await expect(walk('&link=coap', 3)).resolves.toMatchObject({ seen: ids(records.filter((r) => r.link === 'coap')) });
      await expect(walk('&applicationId=42', 2)).resolves.toMatchObject({ seen: ids(records.filter((r) => r.applicationId === 42)) });
      await expect(walk('&state=REGISTERING', 2)).resolves.toMatchObject({ seen: ids(records.filter((r) => r.state === 'REGISTERING')) });
      await expect(walk('&state=REGISTERED&link=udp&applicationId=43', 3)).resolves.toMatchObject({
        seen: ids(records.filter((r) => r.state === 'REGISTERED' && r.link === 'udp' && r.applicationId === 43)),
      });
      await expect(walk('&link=serial', 3)).resolves.toEqual({ seen: [], pages: 1 });
    });

    it(`answers records with ISO times, ${DEFAULT_DEVICE_PAGE} per page by default`, async () => {
      const r = await get('/devices');
      const body = r.json() as { devices: unknown[]; nextCursor?: string };
      expect(body.nextCursor).toBeUndefined();
      const first = [...records].sort((a, b) => (a.registrationId < b.registrationId ? -1 : 1))[0]!;
      expect(body.devices[0]).toEqual({
        registrationId: first.registrationId,
        applicationId: first.applicationId,
        link: first.link,
        layer2Id: first.layer2Id,
        ueServiceId: first.ueServiceId,
        state: first.state,
        createdAt: new Date(first.createdAt).toISOString(),
        updatedAt: new Date(first.updatedAt).toISOString(),
        expiresAt: new Date(first.expiresAt).toISOString(),
      });
      for (let i = 0; i < 200; i++) await store.insert(sampleRegistration(10_000 + i, { layer2Id: `10.1.0.${i}:1` as never }));
      const big = (await get('/devices')).json() as { devices: unknown[]; nextCursor?: string };
      expect(big.devices).toHaveLength(DEFAULT_DEVICE_PAGE);
      expect(typeof big.nextCursor).toBe('string');
    });

    it.each([
      ['state=FOO', /querystring\/state must be one of REGISTERING, REGISTERED, DEREGISTERING/],
      ['limit=0', /querystring\/limit must be >= 1/],
      ['limit=1001', /querystring\/limit must be <= 1000/],
      ['limit=ten', /querystring\/limit must be integer/],
      ['applicationId=70000', /querystring\/applicationId must be <= 65535/],
      ['link=UDP', /querystring\/link must match pattern/],
      ['cursor=not-a-cursor', /cursor is not a cursor this API returned/],
      [`cursor=${Buffer.from('v1:zz').toString('base64url')}`, /cursor is not a cursor this API returned/],
      ['stat=REGISTERED', /querystring\/stat is not a parameter of this route/],
    ])('?%s: 400 problem naming the field, nothing read', async (query, detail) => {
      const r = await get(`/devices?${query}`);
      expect(r.statusCode).toBe(400);
      expect(r.headers['content-type']).toMatch(PROBLEM);
      const body = r.json() as Record<string, unknown>;
      expect(body).toMatchObject({ type: 'tag:msgin5g-gateway,2026:problem:invalid-request', title: expect.any(String), status: 400, instance: '/devices' });
      expect(String(body.detail)).toMatch(detail);
      expect(logger.lines.find((l) => l.message === 'admin request refused')).toMatchObject({ level: 'info', fields: { status: 400 } });
    });
  });

  describe('GET /devices/{registrationId}', () => {
    it('one record; the ID is accepted in upper case', async () => {
      const r = records[3]!;
      const res = await get(`/devices/${r.registrationId.toUpperCase()}`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ registrationId: r.registrationId, applicationId: r.applicationId, state: r.state });
    });

    it('unknown: 404 problem; de-registered: 404 naming its tombstone', async () => {
      const unknown = await get(`/devices/${'ab'.repeat(8)}`);
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toMatchObject({ type: 'tag:msgin5g-gateway,2026:problem:unknown-registration-id', status: 404, detail: `no registration ${'ab'.repeat(8)}`, instance: `/devices/${'ab'.repeat(8)}` });
      const r = records[0]!;
      await store.remove(r.registrationId, { registrationId: r.registrationId, applicationId: r.applicationId, layer2Id: r.layer2Id, link: r.link, response: { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: r.registrationId, applicationId: r.applicationId }, expiresAt: 1_800_000_247_000 });
      const gone = await get(`/devices/${r.registrationId}`);
      expect(gone.statusCode).toBe(404);
      expect(gone.json().detail).toBe(`registration ${r.registrationId} was de-registered; its tombstone is kept until ${new Date(1_800_000_247_000).toISOString()}`);
    });

    it.each(['z1', '0', 'a'.repeat(34), '%20'])('a malformed ID (%s) is a 400 problem', async (id) => {
      const r = await get(`/devices/${id}`);
      expect(r.statusCode).toBe(400);
      expect(r.headers['content-type']).toMatch(PROBLEM);
    });
  });

  describe('DELETE /devices/{registrationId} (kick)', () => {
    const del = (id: string) => app.inject({ method: 'DELETE', url: `/devices/${id}`, headers: AUTH });

    it('KICKED: 200 with the removed record', async () => {
      const r = records[1]!;
      kicker.next = { kind: 'KICKED', registration: r };
      const res = await del(r.registrationId);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ result: 'DEREGISTERED', device: expect.objectContaining({ registrationId: r.registrationId, layer2Id: r.layer2Id }) });
      expect(kicker.asked).toEqual([r.registrationId]);
    });

    it.each([
      [{ kind: 'UNKNOWN' } as KickResult, 404, 'unknown-registration-id'],
      [{ kind: 'PENDING', state: 'DEREGISTERING' } as KickResult, 409, 'procedure-pending'],
      [{ kind: 'SERVER_REJECTED', failureReason: 'SERVER_REJECTED', cause: '4.03' } as KickResult, 502, 'server-rejected'],
      [{ kind: 'SERVER_UNREACHABLE', failureReason: 'SERVER_UNREACHABLE' } as KickResult, 503, 'server-unreachable'],
      [{ kind: 'UNAVAILABLE', failureReason: 'GATEWAY_NOT_REGISTERED', detail: 'not registered' } as KickResult, 503, 'gateway-unavailable'],
    ])('%j: %i problem', async (result, status, name) => {
      kicker.next = result;
      const res = await del(records[2]!.registrationId);
      expect(res.statusCode).toBe(status);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.json()).toMatchObject({ type: `tag:msgin5g-gateway,2026:problem:${name}`, status, instance: `/devices/${records[2]!.registrationId}` });
    });

    it('a malformed ID is 400 and the kicker is not asked', async () => {
      expect((await del('xyz')).statusCode).toBe(400);
      expect(kicker.asked).toEqual([]);
    });

    it('a store failure during the kick is 503, never a crash', async () => {
      kicker.kick = async () => {
        throw Object.assign(new Error('database is locked'), { reason: 'BUSY' });
      };
      const res = await del(records[2]!.registrationId);
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ type: 'tag:msgin5g-gateway,2026:problem:store-unavailable' });
    });
  });

  describe('GET /readyz', () => {
    it('200 with every check when ready', async () => {
      const r = await get('/readyz', {});
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual({ status: 'ready', checks: report.checks });
    });

    it.each(['registered', 'store', 'links', 'draining'] as const)('503 problem naming the failed check: %s', async (name) => {
      report = readyChecks({ [name]: { ok: false, detail: `${name} is failing` } });
      const r = await get('/readyz', {});
      expect(r.statusCode).toBe(503);
      expect(r.headers['content-type']).toMatch(PROBLEM);
      const body = r.json() as { detail: string; checks: Record<string, { ok: boolean }> };
      expect(body).toMatchObject({ type: 'tag:msgin5g-gateway,2026:problem:not-ready', status: 503, detail: `${name}: ${name} is failing` });
      expect(Object.entries(body.checks).filter(([, c]) => !c.ok).map(([n]) => n)).toEqual([name]);
    });
  });

  it('POST /drain: 202 at once, then the drain starts (once per call; the stop itself is idempotent)', async () => {
    const r = await app.inject({ method: 'POST', url: '/drain', headers: AUTH });
    expect(r.statusCode).toBe(202);
    expect(r.json()).toEqual({ status: 'draining' });
    for (let i = 0; i < 20 && drains === 0; i++) await new Promise((res) => setTimeout(res, 5));
    expect(drains).toBe(1);
  });

  it('a known path with another method is 405 with Allow; an unknown path is 404; both problems', async () => {
    const put = await app.inject({ method: 'PUT', url: '/devices', headers: AUTH });
    expect(put.statusCode).toBe(405);
    expect(put.headers.allow).toBe('GET, HEAD');
    expect(put.json()).toMatchObject({ type: 'about:blank', title: 'Method Not Allowed', status: 405, instance: '/devices' });
    const getDrain = await get('/drain');
    expect(getDrain.statusCode).toBe(405);
    expect(getDrain.headers.allow).toBe('POST');
    const nowhere = await get('/v2/devices');
    expect(nowhere.statusCode).toBe(404);
    expect(nowhere.headers['content-type']).toMatch(PROBLEM);
    expect(drains).toBe(0);
  });

  it('500 random requests (methods, paths, queries, headers): never a 5xx, every error a problem, nothing changed', async () => {
    let seed = 20261206;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
    const junk = () => Array.from({ length: rand(12) }, () => pick(['a', 'Z', '0', 'f', '%', '%00', '..', '/', '?', '&', '=', '"', ' ', 'é', '\\', '%zz', '~'])).join('');
    const paths = ['/devices', `/devices/${records[0]!.registrationId}`, '/devices/', '/metrics', '/healthz', '/readyz', '/drain', '/openapi.json', '/', ''];
    const before = await store.list();
    for (let i = 0; i < 500; i++) {
      const method = pick(['GET', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD'] as const);
      const url = `${pick(paths)}${pick(['', junk(), `/${junk()}`])}${pick(['', `?${junk()}`, `?limit=${junk()}`, `?state=${junk()}&cursor=${junk()}`])}`;
      const headers = pick([AUTH, {}, { authorization: junk() }, { ...AUTH, 'content-type': junk() || 'x' }]);
      let r;
      try {
        r = await app.inject({ method, url: url.startsWith('/') ? url : `/${url}`, headers });
      } catch {
        continue; // light-my-request refuses some URLs before the server sees them
      }
      if (r.statusCode >= 500 && r.statusCode !== 503) throw new Error(`${method} ${url} answered ${r.statusCode}: ${r.body}`);
      if (r.statusCode >= 400 && method !== 'HEAD' && !PROBLEM.test(String(r.headers['content-type']))) throw new Error(`${method} ${url} ${JSON.stringify(headers)} answered ${r.statusCode} as ${String(r.headers['content-type'])}: ${r.body}`);
    }
    await expect(store.list()).resolves.toEqual(before);
    expect(drains).toBe(0);
    expect(kicker.asked.every((id) => id === records[0]!.registrationId)).toBe(true);
  });

  it('a body on POST /drain that is not JSON is a 4xx problem and drains nothing', async () => {
    const r = await app.inject({ method: 'POST', url: '/drain', headers: { ...AUTH, 'content-type': 'application/json' }, payload: '{not json' });
    expect(r.statusCode).toBe(400);
    expect(r.headers['content-type']).toMatch(PROBLEM);
    const big = await app.inject({ method: 'POST', url: '/drain', headers: { ...AUTH, 'content-type': 'application/json' }, payload: JSON.stringify({ x: 'y'.repeat(5000) }) });
    expect(big.statusCode).toBe(413);
    expect(drains).toBe(0);
  });
});

describe('GatewayReadiness', () => {
  const store = () => new InMemoryRegistrationStore();
  const runtime = (unbound: string[] = [], stopping = false) => ({ unboundLinks: unbound as LinkId[], isStopping: stopping });

  it('ready when registered, the store takes writes, every link is bound and not draining', async () => {
    const r = await new GatewayReadiness({ procedures: { isGatewayRegistered: true }, store: store(), runtime: runtime() }).check();
    expect(r.ready).toBe(true);
  });

  it('each failing check on its own makes it not ready, and says why', async () => {
    const closed = store();
    await closed.close();
    const cases = [
      [{ procedures: { isGatewayRegistered: false }, store: store(), runtime: runtime() }, 'registered', /not registered/],
      [{ procedures: { isGatewayRegistered: true }, store: closed, runtime: runtime() }, 'store', /does not take writes \(CLOSED\)/],
      [{ procedures: { isGatewayRegistered: true }, store: store(), runtime: runtime(['udp', 'serial-2']) }, 'links', /not bound: udp, serial-2/],
      [{ procedures: { isGatewayRegistered: true }, store: store(), runtime: runtime([], true) }, 'draining', /draining/],
    ] as const;
    for (const [deps, name, detail] of cases) {
      const r = await new GatewayReadiness(deps).check();
      expect(r.ready).toBe(false);
      expect(Object.entries(r.checks).filter(([, c]) => !c.ok).map(([n]) => n)).toEqual([name]);
      expect(r.checks[name].detail).toMatch(detail);
    }
  });
});

describe('ProceduresDeviceKicker: the core\'s gateway-initiated de-registration, outcome by outcome', () => {
  const r = sampleRegistration(1, { state: 'REGISTERED' });
  it.each([
    [{ kind: 'DEREGISTERED', registration: r }, { kind: 'KICKED', registration: r }],
    [{ kind: 'UNKNOWN_REGISTRATION_ID' }, { kind: 'UNKNOWN' }],
    [{ kind: 'BUSY', registration: { ...r, state: 'DEREGISTERING' } }, { kind: 'PENDING', state: 'DEREGISTERING' }],
    [{ kind: 'FAILED', reason: 'SERVER_REJECTED', registration: r }, { kind: 'SERVER_REJECTED', failureReason: 'SERVER_REJECTED' }],
    [{ kind: 'FAILED', reason: 'SERVER_UNREACHABLE', registration: r }, { kind: 'SERVER_UNREACHABLE', failureReason: 'SERVER_UNREACHABLE' }],
    [{ kind: 'FAILED', reason: 'GATEWAY_NOT_REGISTERED', registration: r }, { kind: 'UNAVAILABLE', failureReason: 'GATEWAY_NOT_REGISTERED' }],
    [{ kind: 'FAILED', reason: 'CONGESTION', registration: r }, { kind: 'UNAVAILABLE', failureReason: 'CONGESTION' }],
    [{ kind: 'FAILED', reason: 'UNSPECIFIED', registration: r }, { kind: 'UNAVAILABLE', failureReason: 'UNSPECIFIED' }],
    [{ kind: 'UNFINISHED', registration: r }, { kind: 'UNAVAILABLE', failureReason: 'SERVER_UNREACHABLE' }],
  ] as Array<[EndRegistrationResult, Partial<KickResult>]>)('%j → %j, asking with cause KICKED', async (end, kick) => {
    const asked: unknown[] = [];
    const kicker = new ProceduresDeviceKicker({ endRegistration: async (id, cause) => (asked.push([id, cause]), end) });
    await expect(kicker.kick(r.registrationId)).resolves.toMatchObject(kick);
    expect(asked).toEqual([[r.registrationId, 'KICKED']]);
  });
});
