/**
 * The `msgin5g-server` command as a real process (`node dist/main.js`, built by `tsc -b` before
 * the tests: turbo's `test` depends on `build`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createReferenceServer } from '@msgin5g/server';
import { describeCliBasics, LineProcess, runProcess } from '@msgin5g/test-support';
import { coapRequest } from './clients';

const MAIN = join(__dirname, '..', 'dist', 'main.js');

/** Starts the server CLI; every stdout line it prints is JSON (checked by `jsonLines`/`waitForJson`). */
function run(args: string[]): LineProcess {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx tsc -b)`);
  return LineProcess.start(process.execPath, [MAIN, ...args], { name: 'msgin5g-server' });
}

const readiness = (l: Record<string, unknown>): boolean => l['msg'] === 'MSGin5G Server listening';

describe('msgin5g-server CLI', () => {
  it('starts with --port 0, prints the readiness line with the bound port, answers, logs each request, exits 0 on SIGTERM', async () => {
    const r = run(['--port', '0', '--fault', 'fail=QUOTA_EXCEEDED@REG*1', '--log-level', 'info']);
    try {
      const ready = await r.waitForJson(readiness, 5000, 'the readiness line');
      expect(ready).toMatchObject({ host: '127.0.0.1', faults: ['fail=QUOTA_EXCEEDED@REG*1'] });
      const port = ready['port'] as number;
      expect(port).toBeGreaterThan(0);

      const first = await coapRequest({ host: '127.0.0.1', port }, { body: '{"messageType":"REG","ueServiceId":"gw-cli"}' });
      expect(JSON.parse(first.body)).toEqual({ messageType: 'REG', result: 'FAILURE', failureCause: 'QUOTA_EXCEEDED' });
      const second = await coapRequest({ host: '127.0.0.1', port }, { body: '{"messageType":"REG","ueServiceId":"gw-cli"}' });
      expect(JSON.parse(second.body)).toEqual({ messageType: 'REG', result: 'SUCCESS' });
      const registry = await coapRequest({ host: '127.0.0.1', port }, { method: 'GET', path: '/registry', contentFormat: null });
      expect(JSON.parse(registry.body)).toEqual({ ueServiceIds: ['gw-cli'] });

      await r.waitForJson((l) => l['msg'] === 'request' && l['resource'] === 'registry', 5000);
      const requests = r.jsonLines().filter((l) => l['msg'] === 'request');
      expect(requests).toHaveLength(3);
      expect(requests[0]).toMatchObject({ messageType: 'REG', ueServiceId: 'gw-cli', answer: '2.04', fault: 'fail=QUOTA_EXCEEDED' });
      expect(requests[1]).toMatchObject({ messageType: 'REG', ueServiceId: 'gw-cli', answer: '2.04' });
      expect(requests[1]).not.toHaveProperty('fault');

      await expect(r.stop('SIGTERM')).resolves.toEqual({ code: 0, signal: null });
      expect(r.jsonLines().some((l) => l['msg'] === 'MSGin5G Server stopping' && l['signal'] === 'SIGTERM')).toBe(true);
    } finally {
      await r.stop('SIGKILL');
    }
  });

  it('prints the readiness line even at --log-level silent, and exits 0 on SIGINT', async () => {
    const r = run(['--port', '0', '--log-level', 'silent']);
    try {
      const ready = await r.waitForJson(readiness, 5000, 'the readiness line');
      await coapRequest({ host: '127.0.0.1', port: ready['port'] as number }, { body: '{"messageType":"REG","ueServiceId":"q"}' });
      await expect(r.stop('SIGINT')).resolves.toEqual({ code: 0, signal: null });
      expect(r.jsonLines().filter((l) => l['msg'] === 'request')).toHaveLength(0);
    } finally {
      await r.stop('SIGKILL');
    }
  });

  it.each([
    [['--fault', 'delay=soon'], 'fault "delay=soon": delay=MS needs a whole number of milliseconds'],
    [['--port', 'abc'], 'a port is 0..65535'],
    [['--bogus'], "unknown option '--bogus'"],
  ])('exits 2 (bad usage) for %j with one clear line and a pointer to --help, not the whole help', async (args, message) => {
    const r = run(['--port', '0', ...args]);
    await expect(r.exited).resolves.toMatchObject({ code: 2 });
    const err = r.stderr.join('\n');
    expect(err).toContain(message);
    expect(err).toContain('msgin5g-server --help lists the options');
    expect(err.split('\n').filter((l) => l.trim() !== '').length).toBeLessThanOrEqual(3);
  });

  it('exits 1 when the port is in use (the reference server does not share ports)', async () => {
    const other = createReferenceServer({ port: 0 });
    const { port } = await other.start();
    try {
      const r = run(['--port', String(port)]);
      await expect(r.exited).resolves.toMatchObject({ code: 1 });
      expect(r.jsonLines().find((l) => l['msg'] === 'MSGin5G Server cannot start')?.['err']).toMatch(/EADDRINUSE/);
    } finally {
      await other.stop();
    }
  });

  it('documents the fault grammar in --help', async () => {
    const { code, stdout: out } = await runProcess(process.execPath, [MAIN, '--help'], { timeoutMs: 15_000 });
    expect(code).toBe(0);
    expect(out).toContain('SPEC := FAULT[@REG|@DEREG|@MSG|@IMDN][*N]');
    for (const f of ['delay=MS', 'drop', 'fail=CAUSE', 'separate=MS', 'code=C.DD', 'rst', 'empty', 'badjson', 'noresult']) expect(out).toContain(f);
  });
});

describeCliBasics('msgin5g-server', MAIN, join(__dirname, '..'));
