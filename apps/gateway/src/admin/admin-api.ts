/**
 * The admin HTTP API (README "Admin API"; issue 11): an inbound adapter of the gateway app, on a
 * listener of its own. It reads the store through the `RegistrationStore` port, asks the core
 * through small interfaces (readiness, kick) and serves the Prometheus metrics.
 *
 * Routes: `GET /metrics`, `GET /healthz`, `GET /readyz`, `GET /devices` (filters, paged by an
 * opaque cursor), `GET /devices/{registrationId}`, `DELETE /devices/{registrationId}` (kick),
 * `POST /drain`, `GET /openapi.json` (this API as OpenAPI 3.0, from the route schemas).
 *
 * Choices:
 * - **fastify** with JSON schemas on every route: the schemas validate input (a bad filter is a
 *   400 before any handler runs) and serialise replies, and @fastify/swagger publishes them as
 *   OpenAPI, so the document cannot drift from the code (docs/admin-api.openapi.json is a copy,
 *   checked by a test). Rejected: `node:http` with hand-written checks and a hand-written
 *   document, which drift; express, whose validation and OpenAPI are add-ons of uneven upkeep.
 * - **Every error is problem details** (RFC 9457, src/admin/problem.ts), and changes nothing.
 * - **Bearer token** (RFC 6750) on every route but `/healthz` and `/readyz`, which Kubernetes
 *   probes call without credentials and which disclose only the names of failing checks. Token
 *   comparison is constant-time over SHA-256 digests (no length leak).
 */
import swagger from '@fastify/swagger';
import { assertNever, GATEWAY_DEREGISTRATION_CAUSES, parseRegistrationId, REGISTRATION_STATES, type Logger, type Registration, type RegistrationFilter, type RegistrationStore } from '@msgin5g/core';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { decodeDeviceCursor, encodeDeviceCursor } from './device-cursor';
import type { DeviceKicker, KickResult } from './device-kicker';
import { PROBLEM_CONTENT_TYPE, httpProblem, problem, type Problem, type ProblemName } from './problem';
import type { ReadinessProbe } from './readiness';

/** Page size of `GET /devices` when `limit` is not given, and its largest value. */
export const DEFAULT_DEVICE_PAGE = 100;
export const MAX_DEVICE_PAGE = 1000;

/** Routes that answer without a token (Kubernetes probes). */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** What the admin API reads and drives. */
export interface AdminApiDeps {
  readonly store: Pick<RegistrationStore, 'get' | 'page' | 'getTombstone'>;
  /** The Prometheus registry (src/gateway-metrics.ts). */
  readonly metrics: { text(): Promise<string>; readonly contentType: string };
  readonly readiness: ReadinessProbe;
  readonly kicker: DeviceKicker;
  /** Starts the same drain and stop as SIGTERM; called after the 202 is sent. Idempotent. */
  readonly drain: () => void;
  readonly logger: Logger;
  /** ms since the epoch, for tombstone expiry. Default `Date.now`. */
  readonly now?: () => number;
}

export interface AdminApiOptions {
  /** Bearer token every route but {@link OPEN_PATHS} requires; none = no authentication (loopback only, src/config.ts). */
  readonly token?: string;
  /** The gateway's version, for the OpenAPI document. */
  readonly version: string;
}

const registrationIdPattern = '^([0-9a-fA-F]{2}){1,16}$';
const linkPattern = '^[a-z][a-z0-9-]{0,31}$';

/** Shared schemas, published under components.schemas by their $id. */
const SCHEMAS = [
  {
    $id: 'Problem',
    type: 'object',
    description: 'Problem details (RFC 9457). Every 4xx and 5xx answer is one, as application/problem+json.',
    required: ['type', 'title', 'status'],
    properties: {
      type: { type: 'string', description: 'The problem kind: tag:msgin5g-gateway,2026:problem:NAME, or about:blank' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      instance: { type: 'string', description: 'The request path' },
      checks: { $ref: 'ReadinessChecks#' },
      failureReason: { type: 'string', description: 'MSGin5G Failure reason (kick)' },
      state: { type: 'string', description: 'State of the registration (kick while a procedure is pending)' },
    },
  },
  {
    $id: 'Device',
    type: 'object',
    description: 'One registration (mapping) of a constrained device.',
    required: ['registrationId', 'applicationId', 'link', 'layer2Id', 'ueServiceId', 'state', 'createdAt', 'updatedAt', 'expiresAt'],
    properties: {
      registrationId: { type: 'string', pattern: registrationIdPattern, description: 'Registration ID, hex' },
      applicationId: { type: 'integer', minimum: 0, maximum: 65535 },
      link: { type: 'string', description: 'Device link instance id' },
      layer2Id: { type: 'string', description: 'Layer-2 ID as stored (ip:port, 12 hex digits of a MAC, serial:PATH)' },
      ueServiceId: { type: 'string', description: 'UE Service ID used toward the MSGin5G Server' },
      state: { type: 'string', enum: [...REGISTRATION_STATES] },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      expiresAt: { type: 'string', format: 'date-time', description: 'When its lifetime ends and the gateway de-registers it (cause EXPIRED)' },
      deregistrationCause: { type: 'string', enum: [...GATEWAY_DEREGISTRATION_CAUSES], description: 'Only while DEREGISTERING on the gateway\'s initiative: KICKED or EXPIRED' },
    },
  },
  {
    $id: 'ReadinessChecks',
    type: 'object',
    required: ['registered', 'store', 'links', 'draining'],
    properties: Object.fromEntries(
      ['registered', 'store', 'links', 'draining'].map((name) => [name, { type: 'object', required: ['ok', 'detail'], properties: { ok: { type: 'boolean' }, detail: { type: 'string' } } }]),
    ),
  },
] as const;

const problemRef = { $ref: 'Problem#' };
/** Response schemas of problem answers, by status. */
function problems(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(statuses.map((s) => [s, { description: `Problem details (RFC 9457)`, content: { [PROBLEM_CONTENT_TYPE]: { schema: problemRef } } }]));
}
const registrationParams = {
  type: 'object',
  required: ['registrationId'],
  additionalProperties: false,
  properties: { registrationId: { type: 'string', pattern: registrationIdPattern, description: 'Registration ID, 1..16 octets as hex' } },
};

/** A registration as the API shows it. */
export function deviceJson(r: Registration): Record<string, unknown> {
  return {
    registrationId: r.registrationId,
    applicationId: r.applicationId,
    link: r.link,
    layer2Id: r.layer2Id,
    ueServiceId: r.ueServiceId,
    state: r.state,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
    expiresAt: new Date(r.expiresAt).toISOString(),
    ...(r.deregistrationCause === undefined ? {} : { deregistrationCause: r.deregistrationCause }),
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

const pathOf = (req: FastifyRequest) => req.url.split('?')[0] ?? req.url;

/** Most `admin request refused` lines a second; the rest are counted and summarised in one line. */
export const REFUSED_ADMIN_LOGS_PER_S = 20;

/**
 * Logs refused admin requests at info (bad input is the operator's, not a fault), at most
 * {@link REFUSED_ADMIN_LOGS_PER_S} a second, so a client hammering the API without a token cannot
 * flood the log; the rest are counted in one line when the next second's first one comes.
 */
function refusalLog(logger: Logger, now: () => number): (fields: Record<string, unknown>) => void {
  let windowStart = Number.NEGATIVE_INFINITY;
  let inWindow = 0;
  let suppressed = 0;
  return (fields) => {
    const t = now();
    if (t - windowStart >= 1000) {
      if (suppressed > 0) logger.info({ suppressed }, 'admin requests refused and not logged one by one');
      windowStart = t;
      inWindow = 0;
      suppressed = 0;
    }
    if (inWindow >= REFUSED_ADMIN_LOGS_PER_S) {
      suppressed++;
      return;
    }
    inWindow++;
    logger.info(fields, 'admin request refused');
  };
}

/** Sends a problem; a 4xx is logged through `refused`. */
function sendProblem(reply: FastifyReply, p: Problem, refused: (fields: Record<string, unknown>) => void): FastifyReply {
  if (p.status < 500) refused({ method: reply.request.method, path: p.instance, status: p.status, problem: p.type, detail: p.detail });
  return reply.code(p.status).type(PROBLEM_CONTENT_TYPE).send(p);
}

/**
 * Builds the admin API (not listening: src/admin/admin-listener.ts listens; tests use `inject`).
 * Resolves once every route and the OpenAPI document are ready.
 */
export async function buildAdminApi(deps: AdminApiDeps, options: AdminApiOptions): Promise<FastifyInstance> {
  const { logger } = deps;
  const now = deps.now ?? Date.now;
  const refused = refusalLog(logger, now);
  const app = Fastify({
    logger: false,
    bodyLimit: 1024,
    // Input is validated, never silently fixed: an unknown query parameter is a 400, not dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
    // While closing (the last step of a stop), answer through the routes, whose errors are problems,
    // rather than fastify's own plain-JSON 503.
    return503OnClosing: false,
    // A request must arrive whole within 10 s (headers and body); handling it (a kick waits for the server) is not bounded by this.
    requestTimeout: 10_000,
    // Errors raised before routing (a URL that does not decode) are problems too.
    frameworkErrors: (err, req, reply) => {
      void sendProblem(reply, problem('invalid-request', err.message, pathOf(req)), refused);
    },
  });
  for (const s of SCHEMAS) app.addSchema(s);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'MSGin5G Gateway UE admin API',
        version: options.version,
        description: 'Devices, kick, drain, health, readiness and Prometheus metrics of one Gateway UE (README "Admin API").',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The admin token (--admin-token, MSGIN5G_ADMIN_TOKEN, admin.token)' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String((json as { $id?: unknown }).$id ?? `def-${i}`) },
  });

  // Routes by method, for 405 answers to a known path with another method.
  const routes: Array<{ methods: string[]; pattern: RegExp }> = [];
  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    const pattern = new RegExp(`^${r.url.replace(/:[A-Za-z]+/g, '[^/]+')}$`);
    const existing = routes.find((x) => x.pattern.source === pattern.source);
    if (existing) existing.methods.push(...methods);
    else routes.push({ methods: [...methods], pattern });
  });

  const expected = options.token === undefined ? undefined : sha256(`Bearer ${options.token}`);
  app.addHook('onRequest', async (req, reply) => {
    if (expected === undefined || OPEN_PATHS.has(pathOf(req))) return;
    const given = req.headers.authorization;
    if (given !== undefined && timingSafeEqual(sha256(given), expected)) return;
    reply.header('WWW-Authenticate', given === undefined ? 'Bearer realm="msgin5g-gateway"' : 'Bearer realm="msgin5g-gateway", error="invalid_token"');
    return sendProblem(reply, problem('unauthorized', given === undefined ? 'send Authorization: Bearer <admin token>' : 'the bearer token is not the admin token', pathOf(req)), refused);
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation !== undefined) {
      return sendProblem(reply, problem('invalid-request', validationDetail(err), pathOf(req)), refused);
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendProblem(reply, httpProblem(status, err.name, err.message, pathOf(req)), refused);
    logger.error({ method: req.method, path: pathOf(req), err: err.message }, 'admin request failed');
    return sendProblem(reply, problem('internal-error', 'the gateway could not answer; see its log', pathOf(req)), refused);
  });

  app.setNotFoundHandler((req, reply) => {
    const path = pathOf(req);
    const route = routes.find((r) => r.pattern.test(path));
    if (route !== undefined) {
      const allow = [...new Set(route.methods)].join(', ');
      reply.header('Allow', allow);
      return sendProblem(reply, httpProblem(405, 'Method Not Allowed', `${req.method} is not allowed on ${path}; allowed: ${allow}`, path), refused);
    }
    return sendProblem(reply, httpProblem(404, 'Not Found', `no route ${req.method} ${path}`, path), refused);
  });

  /** The store failed: 503, logged at warn (the gateway's own trouble). */
  const storeProblem = (reply: FastifyReply, req: FastifyRequest, err: unknown) => {
    logger.warn({ path: pathOf(req), err: err instanceof Error ? err.message : String(err) }, 'admin API: registration store error');
    return sendProblem(reply, problem('store-unavailable', err instanceof Error ? err.message : String(err), pathOf(req)), refused);
  };

  app.get('/healthz', {
    schema: {
      summary: 'Liveness: the process answers',
      description: 'Kubernetes liveness probe. No token needed.',
      security: [],
      response: { 200: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } } },
    },
  }, async () => ({ status: 'ok' }));

  app.get('/readyz', {
    schema: {
      summary: 'Readiness: registered with the server, store writable, every device link bound, not draining',
      description: 'Kubernetes readiness probe. No token needed. 503 (problem details with `checks`) names the failing checks.',
      security: [],
      response: {
        200: { type: 'object', required: ['status', 'checks'], properties: { status: { type: 'string', enum: ['ready'] }, checks: { $ref: 'ReadinessChecks#' } } },
        ...problems(503),
      },
    },
  }, async (req, reply) => {
    const report = await deps.readiness.check();
    if (report.ready) return { status: 'ready', checks: report.checks };
    const failed = Object.entries(report.checks).filter(([, c]) => !c.ok).map(([name, c]) => `${name}: ${c.detail}`);
    logger.debug({ failed }, 'admin API: not ready');
    return sendProblem(reply, problem('not-ready', failed.join('; '), pathOf(req), { checks: report.checks }), refused);
  });

  app.get('/metrics', {
    schema: {
      summary: 'Prometheus metrics (text exposition format 0.0.4)',
      response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...problems(401, 503) },
    },
  }, async (req, reply) => {
    let text: string;
    try {
      text = await deps.metrics.text();
    } catch (err) {
      return storeProblem(reply, req, err);
    }
    return reply.type(deps.metrics.contentType).send(text);
  });

  app.get('/devices', {
    schema: {
      summary: 'Registrations, filtered, in pages ordered by Registration ID',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          link: { type: 'string', pattern: linkPattern, description: 'Device link instance id (udp, l2, coap, serial, udp-2, …)' },
          applicationId: { type: 'integer', minimum: 0, maximum: 65535 },
          state: { type: 'string', enum: [...REGISTRATION_STATES] },
          limit: { type: 'integer', minimum: 1, maximum: MAX_DEVICE_PAGE, default: DEFAULT_DEVICE_PAGE },
          cursor: { type: 'string', maxLength: 64, description: 'nextCursor of the previous page' },
        },
      },
      response: {
        200: {
          type: 'object',
          required: ['devices'],
          properties: {
            devices: { type: 'array', items: { $ref: 'Device#' } },
            nextCursor: { type: 'string', description: 'Present when more records may follow: pass it as cursor' },
          },
        },
        ...problems(400, 401, 503),
      },
    },
  }, async (req, reply) => {
    const q = req.query as { link?: string; applicationId?: number; state?: (typeof REGISTRATION_STATES)[number]; limit: number; cursor?: string };
    let after;
    if (q.cursor !== undefined) {
      after = decodeDeviceCursor(q.cursor);
      if (after === undefined) return sendProblem(reply, problem('invalid-request', 'querystring/cursor is not a cursor this API returned (use nextCursor of the previous page)', pathOf(req)), refused);
    }
    const filter = { ...(q.link === undefined ? {} : { link: q.link }), ...(q.applicationId === undefined ? {} : { applicationId: q.applicationId }), ...(q.state === undefined ? {} : { state: q.state }) } as RegistrationFilter;
    let page: Registration[];
    try {
      page = await deps.store.page(filter, after, q.limit + 1);
    } catch (err) {
      return storeProblem(reply, req, err);
    }
    const devices = page.slice(0, q.limit);
    const last = devices[devices.length - 1];
    return { devices: devices.map(deviceJson), ...(page.length > q.limit && last !== undefined ? { nextCursor: encodeDeviceCursor(last.registrationId) } : {}) };
  });

  app.get('/devices/:registrationId', {
    schema: {
      summary: 'One registration',
      params: registrationParams,
      response: { 200: { $ref: 'Device#' }, ...problems(400, 401, 404, 503) },
    },
  }, async (req, reply) => {
    const id = parseRegistrationId((req.params as { registrationId: string }).registrationId);
    if (!id.ok) return sendProblem(reply, problem('invalid-request', id.error, pathOf(req)), refused);
    try {
      const r = await deps.store.get(id.value);
      if (r !== undefined) return deviceJson(r);
      const t = await deps.store.getTombstone(id.value, now());
      const detail = t === undefined ? `no registration ${id.value}` : `registration ${id.value} was de-registered; its tombstone is kept until ${new Date(t.expiresAt).toISOString()}`;
      return sendProblem(reply, problem('unknown-registration-id', detail, pathOf(req)), refused);
    } catch (err) {
      return storeProblem(reply, req, err);
    }
  });

  app.delete('/devices/:registrationId', {
    schema: {
      summary: 'Kick: de-register the device at the MSGin5G Server on its behalf, remove the mapping, keep the tombstone',
      description: 'The device is told nothing (docs/adr/0010-kick-tells-the-device.md); a later DE-REGISTRATION REQUEST from it is answered from the tombstone. 502/503: the mapping is kept.',
      params: registrationParams,
      response: {
        200: {
          type: 'object',
          required: ['result', 'device'],
          properties: { result: { type: 'string', enum: ['DEREGISTERED'] }, device: { $ref: 'Device#' } },
        },
        ...problems(400, 401, 404, 409, 502, 503),
      },
    },
  }, async (req, reply) => {
    const id = parseRegistrationId((req.params as { registrationId: string }).registrationId);
    if (!id.ok) return sendProblem(reply, problem('invalid-request', id.error, pathOf(req)), refused);
    let result: KickResult;
    try {
      result = await deps.kicker.kick(id.value);
    } catch (err) {
      return storeProblem(reply, req, err);
    }
    const path = pathOf(req);
    const fail = (name: ProblemName, detail: string, ext: Record<string, unknown> = {}) => {
      if (name !== 'unknown-registration-id' && name !== 'procedure-pending') logger.warn({ registrationId: id.value, problem: name, detail }, 'kick failed; the mapping is kept');
      return sendProblem(reply, problem(name, detail, path, ext), refused);
    };
    switch (result.kind) {
      case 'KICKED':
        logger.info({ registrationId: id.value, applicationId: result.registration.applicationId, layer2Id: result.registration.layer2Id, link: result.registration.link }, 'device kicked through the admin API');
        return { result: 'DEREGISTERED', device: deviceJson(result.registration) };
      case 'UNKNOWN':
        return fail('unknown-registration-id', `no registration ${id.value}`);
      case 'PENDING':
        return fail('procedure-pending', `registration ${id.value} is ${result.state}; try again when the procedure ends`, { state: result.state });
      case 'SERVER_REJECTED':
        return fail('server-rejected', `the MSGin5G Server answered ${result.failureReason}${result.cause === undefined ? '' : ` (${result.cause})`}; the mapping is kept`, { failureReason: result.failureReason });
      case 'SERVER_UNREACHABLE':
        return fail('server-unreachable', `no answer from the MSGin5G Server${result.cause === undefined ? '' : ` (${result.cause})`}; the mapping is kept`, { failureReason: result.failureReason });
      case 'UNAVAILABLE':
        return fail('gateway-unavailable', result.detail, { failureReason: result.failureReason });
      default:
        return assertNever(result, 'kick result');
    }
  });

  app.post('/drain', {
    schema: {
      summary: 'Drain and stop, as SIGTERM: new requests get CONGESTION, in-flight procedures finish, the gateway de-registers itself and exits 0',
      response: { 202: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['draining'] } } }, ...problems(401) },
    },
  }, async (_req, reply) => {
    logger.info({}, 'drain requested through the admin API');
    // After the answer is on its way: the stop closes this listener too.
    reply.raw.once('finish', () => setImmediate(deps.drain));
    return reply.code(202).send({ status: 'draining' });
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.ready();
  return app;
}

/**
 * The detail of a 400 for input the route schema refused, naming the field and what it accepts
 * (Ajv's messages alone say "must NOT have additional properties" and "must be equal to one of the
 * allowed values" without naming which): `querystring/foo is not a parameter of this route`,
 * `querystring/state must be one of REGISTERING, REGISTERED, DEREGISTERING`.
 */
function validationDetail(err: FastifyError): string {
  const where = err.validationContext ?? 'request';
  const first = err.validation?.[0];
  const params = (first?.params ?? {}) as { additionalProperty?: unknown; allowedValues?: unknown };
  const path = `${where}${first?.instancePath ?? ''}`;
  if (first?.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    return `${where}/${params.additionalProperty} is not a parameter of this route`;
  }
  if (first?.keyword === 'enum' && Array.isArray(params.allowedValues)) return `${path} must be one of ${params.allowedValues.map(String).join(', ')}`;
  return `${where}${err.message.replace(/^(querystring|params|body|headers)/, '')}`;
}
