/**
 * docs/admin-api.openapi.json is the OpenAPI document the admin API publishes at GET /openapi.json,
 * committed so it can be read and diffed without running a gateway. This test fails when the routes'
 * schemas change and the copy does not; regenerate it with
 * `UPDATE_OPENAPI=1 npx jest test/admin-openapi.test.ts` (in apps/gateway, after `npx tsc -b`).
 */
import { InMemoryRegistrationStore, silentLogger } from '@msgin5g/core';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAdminApi } from '../src/admin/admin-api';

const DOC = join(__dirname, '..', '..', '..', 'docs', 'admin-api.openapi.json');
const VERSION = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

/** The document as the gateway publishes it, for this package's version. */
async function publishedOpenApi(): Promise<unknown> {
  const app = await buildAdminApi(
    { store: new InMemoryRegistrationStore(), metrics: { text: async () => '', contentType: 'text/plain' }, readiness: { check: async () => ({ ready: true }) as never }, kicker: { kick: async () => ({ kind: 'UNKNOWN' }) }, drain: () => undefined, logger: silentLogger },
    { version: VERSION },
  );
  try {
    return (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  } finally {
    await app.close();
  }
}

describe('the admin API OpenAPI document', () => {
  it('docs/admin-api.openapi.json equals what GET /openapi.json publishes', async () => {
    const published = await publishedOpenApi();
    if (process.env.UPDATE_OPENAPI === '1') writeFileSync(DOC, `${JSON.stringify(published, null, 2)}\n`);
    expect(JSON.parse(readFileSync(DOC, 'utf8'))).toEqual(published);
  });

  it('documents every route, the bearer scheme, and problem details for errors', async () => {
    const doc = (await publishedOpenApi()) as {
      openapi: string;
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, { content?: Record<string, unknown> }> }>>;
      components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual(['/devices', '/devices/{registrationId}', '/drain', '/healthz', '/metrics', '/readyz']);
    expect(Object.keys(doc.paths['/devices/{registrationId}']!).sort()).toEqual(['delete', 'get']);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/healthz']!.get!.security).toEqual([]);
    expect(doc.paths['/readyz']!.get!.security).toEqual([]);
    expect(Object.keys(doc.paths['/devices/{registrationId}']!.delete!.responses).sort()).toEqual(['200', '400', '401', '404', '409', '502', '503']);
    expect(Object.keys(doc.paths['/devices']!.get!.responses['400']!.content!)).toEqual(['application/problem+json']);
    expect(Object.keys(doc.components.schemas).sort()).toEqual(['Device', 'Problem', 'ReadinessChecks']);
  });
});
