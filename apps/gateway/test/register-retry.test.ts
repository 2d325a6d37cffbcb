/**
 * The gateway's own registration while the server does not accept it (issue 11 item 5): a warn line
 * per failed attempt (number, cause, next delay), delays doubling from `registerRetryMs` up to
 * `registerRetryMaxMs`. A real GatewayRuntime and GatewayProcedures over a scripted fake server,
 * with short timings.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayProcedures } from '@msgin5g/core';
import { FakeClock, FakeServerLink, InMemoryRegistrationStore, RecordingLogger, SequenceRegistrationIdAllocator } from '@msgin5g/core/testing';
import { firstAnswerWarnMs, GatewayRuntime, loadConfig, registerRetryDelayMs } from '@msgin5g/gateway';

describe("retry of the gateway's own registration", () => {
  it('registerRetryDelayMs doubles from the base and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 100].map((a) => registerRetryDelayMs(a, 2000, 30_000))).toEqual([2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(registerRetryDelayMs(1, 500, 200)).toBe(200);
  });

  it('defaults: registerRetryMs 2000, registerRetryMaxMs 30000; both configurable', () => {
    const defaults = loadConfig({ authorization: 'open', store: 'memory' }, {});
    expect([defaults.registerRetryMs, defaults.registerRetryMaxMs]).toEqual([2000, 30_000]);
    const dir = mkdtempSync(join(tmpdir(), 'gw-retry-'));
    try {
      const file = join(dir, 'gateway.json');
      writeFileSync(file, JSON.stringify({ registerRetryMs: 500, registerRetryMaxMs: 5000 }));
      const set = loadConfig({ authorization: 'open', store: 'memory', config: file }, {});
      expect([set.registerRetryMs, set.registerRetryMaxMs]).toEqual([500, 5000]);
      writeFileSync(file, JSON.stringify({ registerRetryMaxMs: 0 }));
      expect(() => loadConfig({ authorization: 'open', store: 'memory', config: file }, {})).toThrow(/registerRetryMaxMs: must be > 0 ms/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('logs each failed attempt with its number, cause and next delay, backing off to the cap, then registers', async () => {
    const config = { ...loadConfig({ authorization: 'open', store: 'memory', ueServiceId: 'gw-retry' }, {}), registerRetryMs: 10, registerRetryMaxMs: 40 };
    const logger = new RecordingLogger();
    const store = new InMemoryRegistrationStore();
    const unreachable = { kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: 'no answer within 30000 ms' } as const;
    const server = new FakeServerLink().answerNext(unreachable, unreachable, unreachable, { kind: 'FAILURE', reason: 'SERVER_REJECTED', cause: '4.03' }, unreachable);
    const procedures = new GatewayProcedures(
      { store, server, links: [], clock: new FakeClock(), allocator: new SequenceRegistrationIdAllocator(), authorizer: { authorize: () => ({ allowed: true }) }, logger },
      { gatewayUeServiceId: config.ueServiceId },
    );
    const runtime = new GatewayRuntime(config, logger, store, server, [], procedures);
    await runtime.start();
    await runtime.ready;
    try {
      const retries = logger.lines.filter((l) => l.message === 'MSGin5G Server did not accept the gateway registration; retrying');
      expect(retries.map((l) => [l.level, l.fields.attempt, l.fields.failureReason, l.fields.cause, l.fields.retryInMs])).toEqual([
        ['warn', 1, 'SERVER_UNREACHABLE', 'no answer within 30000 ms', 10],
        ['warn', 2, 'SERVER_UNREACHABLE', 'no answer within 30000 ms', 20],
        ['warn', 3, 'SERVER_UNREACHABLE', 'no answer within 30000 ms', 40],
        ['warn', 4, 'SERVER_REJECTED', '4.03', 40],
        ['warn', 5, 'SERVER_UNREACHABLE', 'no answer within 30000 ms', 40],
      ]);
      expect(procedures.isGatewayRegistered).toBe(true);
      expect(logger.has('gateway ready')).toBe(true);
      // One warn per failed attempt: the core's own line for an attempt is at debug.
      expect(logger.lines.filter((l) => l.level === 'warn' && l.message !== 'authorization is OPEN: every device that asks is registered')).toHaveLength(5);
      expect(logger.lines.filter((l) => l.message === 'Gateway UE registration attempt failed').map((l) => l.level)).toEqual(['debug', 'debug', 'debug', 'debug', 'debug']);
    } finally {
      await runtime.stop('test');
    }
  });

  it('firstAnswerWarnMs: 3 s, or half the deadline when that is shorter', () => {
    expect([firstAnswerWarnMs(30_000), firstAnswerWarnMs(6000), firstAnswerWarnMs(1000), firstAnswerWarnMs(1)]).toEqual([3000, 3000, 500, 0]);
  });

  it('reports a first attempt still unanswered after firstAnswerWarnMs at once, while it goes on; later attempts are not reported early', async () => {
    const base = loadConfig({ authorization: 'open', store: 'memory', ueServiceId: 'gw-slow' }, {});
    const config = { ...base, server: { ...base.server, deadlineMs: 200 }, registerRetryMs: 10, registerRetryMaxMs: 40 };
    const logger = new RecordingLogger();
    const store = new InMemoryRegistrationStore();
    const server = new FakeServerLink().hold().answerNext({ kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: 'no answer within 200 ms' });
    const procedures = new GatewayProcedures(
      { store, server, links: [], clock: new FakeClock(), allocator: new SequenceRegistrationIdAllocator(), authorizer: { authorize: () => ({ allowed: true }) }, logger },
      { gatewayUeServiceId: config.ueServiceId },
    );
    const runtime = new GatewayRuntime(config, logger, store, server, [], procedures);
    const started = Date.now();
    await runtime.start();
    try {
      for (let i = 0; i < 100 && !logger.has('no answer from the MSGin5G Server yet: is it running and reachable? still waiting'); i++) await new Promise((r) => setTimeout(r, 10));
      const early = logger.lines.find((l) => l.message === 'no answer from the MSGin5G Server yet: is it running and reachable? still waiting');
      expect(early).toMatchObject({ level: 'warn', fields: { waitedMs: 100, deadlineMs: 200 } });
      expect(Date.now() - started).toBeLessThan(1000);
      expect(server.pending).toBe(1); // the attempt goes on
      server.release(); // the first attempt fails, the second succeeds at once
      await runtime.ready;
      expect(procedures.isGatewayRegistered).toBe(true);
      expect(logger.lines.filter((l) => l.message === 'no answer from the MSGin5G Server yet: is it running and reachable? still waiting')).toHaveLength(1);
      expect(logger.lines.filter((l) => l.message === 'MSGin5G Server did not accept the gateway registration; retrying').map((l) => l.fields.attempt)).toEqual([1]);
    } finally {
      await runtime.stop('test');
    }
  });

  it('a first attempt answered in time gets no early warn', async () => {
    const base = loadConfig({ authorization: 'open', store: 'memory', ueServiceId: 'gw-fast' }, {});
    const config = { ...base, server: { ...base.server, deadlineMs: 200 } };
    const logger = new RecordingLogger();
    const store = new InMemoryRegistrationStore();
    const server = new FakeServerLink();
    const procedures = new GatewayProcedures(
      { store, server, links: [], clock: new FakeClock(), allocator: new SequenceRegistrationIdAllocator(), authorizer: { authorize: () => ({ allowed: true }) }, logger },
      { gatewayUeServiceId: config.ueServiceId },
    );
    const runtime = new GatewayRuntime(config, logger, store, server, [], procedures);
    await runtime.start();
    await runtime.ready;
    await new Promise((r) => setTimeout(r, 250));
    try {
      expect(logger.has('no answer from the MSGin5G Server yet: is it running and reachable? still waiting')).toBe(false);
    } finally {
      await runtime.stop('test');
    }
  });
});
