/**
 * How long 10,000 downlink cycles take through `SqliteRegistrationStore.messages`: enqueue a MESSAGE
 * (bounds and duplicate checked), then complete it with its delivery status report. Two ways:
 * - `synced`: `sync()` after the enqueue and after the completion, as the gateway does ("persist,
 *   then act": the 2.04 to the server, then the report), so two commits per cycle;
 * - `batched`: 100 cycles per event-loop turn, one `sync()` per turn (group commit under load).
 * For each `synchronous` level and fsync place, on a file in a fresh directory under the working
 * directory (or the first argument), and in memory.
 *
 * Run: `pnpm --filter @msgin5g/store-sqlite bench:messages [dir] [count]`. Prints numbers; asserts nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { MessageId, NewDownlinkItem, NewOutboxReport, RegistrationId, UeServiceId } from '@msgin5g/core';
import { SqliteRegistrationStore } from '@msgin5g/store-sqlite';

const baseDir = resolve(process.argv[2] ?? '.');
const count = Number(process.argv[3] ?? 10_000);
const T0 = 1_800_000_000_000;
const BOUNDS = { perDevice: 100, total: 100_000 };
const PAYLOAD = new Uint8Array(100).map((_, i) => i);

function item(i: number): NewDownlinkItem {
  return {
    recipient: (i % 1000).toString(16).padStart(16, '0') as RegistrationId,
    content: { kind: 'MESSAGE', originatorAddress: 'as-service-1', originatorType: 'AS', messageId: i.toString(16).padStart(32, '0') as MessageId, payload: PAYLOAD, deliveryStatusRequired: true },
    acceptedAt: T0 + i,
    attempts: 0,
    nextAttemptAt: T0 + i,
  };
}

function report(i: number): NewOutboxReport {
  return { originatorAddress: `gw-1/dev/${i % 1000}` as UeServiceId, targetAddress: 'as-service-1', messageId: item(i).content.messageId, deliveryStatus: 'DELIVERED', createdAt: T0 + i, attempts: 0, nextAttemptAt: T0 + i };
}

async function cycle(store: SqliteRegistrationStore, i: number, sync: boolean): Promise<void> {
  const queued = await store.messages.enqueueDownlink(item(i), BOUNDS);
  if (queued.kind !== 'QUEUED') throw new Error(`cycle ${i}: ${queued.kind}`);
  if (sync) await store.sync();
  await store.messages.completeDownlink(queued.item.seq, report(i));
  if (sync) await store.sync();
}

async function run(label: string, open: () => SqliteRegistrationStore): Promise<void> {
  for (const mode of ['synced', 'batched'] as const) {
    const store = open();
    const t0 = performance.now();
    if (mode === 'synced') {
      for (let i = 0; i < count; i++) await cycle(store, i, true);
    } else {
      for (let i = 0; i < count; i += 100) {
        const turn: Promise<void>[] = [];
        for (let j = i; j < Math.min(count, i + 100); j++) turn.push(cycle(store, j, false));
        await Promise.all(turn);
        await store.sync();
      }
    }
    const ms = performance.now() - t0;
    const depth = await store.messages.outboxDepth();
    const commits = store.stats.commits;
    await store.close();
    if (depth !== count) throw new Error(`${label} ${mode}: ${depth} reports, expected ${count}`);
    console.log(
      `${label.padEnd(34)} ${mode.padEnd(8)} ${count} cycles: ${ms.toFixed(0).padStart(6)} ms  (${((ms * 1000) / count).toFixed(1)} µs/cycle, ${commits} commits)`,
    );
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(baseDir, 'msgin5g-bench-'));
  try {
    console.log(`directory: ${dir}`);
    await run('memory', () => SqliteRegistrationStore.open(':memory:'));
    let n = 0;
    await run('file, WAL, NORMAL', () => SqliteRegistrationStore.open(join(dir, `${++n}.db`), { synchronous: 'NORMAL' }));
    await run('file, WAL, FULL, fsync off-loop', () => SqliteRegistrationStore.open(join(dir, `${++n}.db`)));
    await run('file, WAL, FULL, fsync in-commit', () => SqliteRegistrationStore.open(join(dir, `${++n}.db`), { fsync: 'in-commit' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
