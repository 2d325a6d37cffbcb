/**
 * The `msgin5g-server` command as a real process (`node dist/main.js`, built by `tsc -b` before
 * the tests: turbo's `test` depends on `build`).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createReferenceServer } from '@msgin5g/server';
import { coapRequest } from './clients';

const MAIN = join(__dirname, '..', 'dist', 'main.js');

interface Running {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly lines: Array<Record<string, unknown>>;
  stderr: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[]): Running {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx tsc -b)`);
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const r: Running = {
    child,
    lines: [],
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      r.lines.push(JSON.parse(line) as Record<string, unknown>); // every stdout line is JSON
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    r.stderr += chunk.toString('utf8');
  });
  return r;
}

async function waitForLine(r: Running, predicate: (l: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = r.lines.find(predicate);
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`no such log line within ${timeoutMs} ms; stdout ${JSON.stringify(r.lines)}; stderr ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

const readiness = (l: Record<string, unknown>): boolean => l['msg'] === 'MSGin5G Server listening';

describe('msgin5g-server CLI', () => {
  it('starts with --port 0, prints the readiness line with the bound port, answers, logs each request, exits 0 on SIGTERM', async () => {
    const r = run(['--port', '0', '--fault', 'fail=QUOTA_EXCEEDED@REG*1', '--log-level', 'info']);
    try {
      const ready = await waitForLine(r, readiness);
      expect(ready).toMatchObject({ host: '127.0.0.1', faults: ['fail=QUOTA_EXCEEDED@REG*1'] });
      const port = ready['port'] as number;
      expect(port).toBeGreaterThan(0);

      const first = await coapRequest({ host: '127.0.0.1', port }, { body: '{"messageType":"REG","ueServiceId":"gw-cli"}' });
      expect(JSON.parse(first.body)).toEqual({ messageType: 'REG', result: 'FAILURE', failureCause: 'QUOTA_EXCEEDED' });
      const second = await coapRequest({ host: '127.0.0.1', port }, { body: '{"messageType":"REG","ueServiceId":"gw-cli"}' });
      expect(JSON.parse(second.body)).toEqual({ messageType: 'REG', result: 'SUCCESS' });
      const registry = await coapRequest({ host: '127.0.0.1', port }, { method: 'GET', path: '/registry', contentFormat: null });
      expect(JSON.parse(registry.body)).toEqual({ ueServiceIds: ['gw-cli'] });

      await waitForLine(r, (l) => l['msg'] === 'request' && l['resource'] === 'registry');
      const requests = r.lines.filter((l) => l['msg'] === 'request');
      expect(requests).toHaveLength(3);
      expect(requests[0]).toMatchObject({ messageType: 'REG', ueServiceId: 'gw-cli', answer: '2.04', fault: 'fail=QUOTA_EXCEEDED' });
      expect(requests[1]).toMatchObject({ messageType: 'REG', ueServiceId: 'gw-cli', answer: '2.04' });
      expect(requests[1]).not.toHaveProperty('fault');

      r.child.kill('SIGTERM');
      await expect(r.exited).resolves.toEqual({ code: 0, signal: null });
      expect(r.lines.some((l) => l['msg'] === 'MSGin5G Server stopping' && l['signal'] === 'SIGTERM')).toBe(true);
    } finally {
      r.child.kill('SIGKILL');
    }
  });

  it('prints the readiness line even at --log-level silent, and exits 0 on SIGINT', async () => {
    const r = run(['--port', '0', '--log-level', 'silent']);
    try {
      const ready = await waitForLine(r, readiness);
      await coapRequest({ host: '127.0.0.1', port: ready['port'] as number }, { body: '{"messageType":"REG","ueServiceId":"q"}' });
      r.child.kill('SIGINT');
      await expect(r.exited).resolves.toEqual({ code: 0, signal: null });
      expect(r.lines.filter((l) => l['msg'] === 'request')).toHaveLength(0);
    } finally {
      r.child.kill('SIGKILL');
    }
  });

  it('exits 1 with a clear message for a bad --fault', async () => {
    const r = run(['--port', '0', '--fault', 'delay=soon']);
    await expect(r.exited).resolves.toMatchObject({ code: 1 });
    expect(r.stderr).toContain('fault "delay=soon": delay=MS needs a whole number of milliseconds');
  });

  it('exits 1 when the port is in use (the reference server does not share ports)', async () => {
    const other = createReferenceServer({ port: 0 });
    const { port } = await other.start();
    try {
      const r = run(['--port', String(port)]);
      await expect(r.exited).resolves.toMatchObject({ code: 1 });
      expect(r.lines.find((l) => l['msg'] === 'MSGin5G Server cannot start')?.['err']).toMatch(/EADDRINUSE/);
    } finally {
      await other.stop();
    }
  });

  it('documents the fault grammar in --help', async () => {
    const child = spawn(process.execPath, [MAIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(out).toContain('SPEC := FAULT[@REG|@DEREG][*N]');
    for (const f of ['delay=MS', 'drop', 'fail=CAUSE', 'separate=MS', 'code=C.DD', 'rst', 'empty', 'badjson', 'noresult']) expect(out).toContain(f);
  });
});
