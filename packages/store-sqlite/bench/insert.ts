/**
 * How long 10,000 inserts take, one commit each (the gateway commits every registration on its
 * own before answering), for each `synchronous` level, on a file next to the working directory
 * (pass another directory as the first argument) and in memory.
 *
 * Run: `pnpm --filter @msgin5g/store-sqlite bench [dir] [count]`. Prints numbers; asserts nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ApplicationId, Layer2Id, LinkId, RegistrationId, UeServiceId } from '@msgin5g/core';
import { SqliteRegistrationStore, type SqliteSynchronous } from '@msgin5g/store-sqlite';

const baseDir = resolve(process.argv[2] ?? '.');
const count = Number(process.argv[3] ?? 10_000);

async function run(label: string, open: () => SqliteRegistrationStore): Promise<void> {
  const store = open();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    await store.insert({
      registrationId: i.toString(16).padStart(16, '0') as RegistrationId,
      applicationId: (i % 65536) as ApplicationId,
      layer2Id: `10.0.${(i >> 8) & 255}.${i & 255}:5690` as Layer2Id,
      link: 'udp' as LinkId,
      ueServiceId: `gw-1/${i}` as UeServiceId,
      state: 'REGISTERED',
      createdAt: 1_800_000_000_000 + i,
      updatedAt: 1_800_000_000_000 + i,
      expiresAt: 1_800_086_400_000 + i,
    });
  }
  const ms = performance.now() - t0;
  await store.close();
  console.log(`${label.padEnd(28)} ${count} inserts: ${ms.toFixed(0).padStart(6)} ms  (${((ms * 1000) / count).toFixed(1)} µs/insert, ${Math.round((count * 1000) / ms)}/s)`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(baseDir, 'msgin5g-bench-'));
  try {
    console.log(`directory: ${dir}`);
    await run('memory', () => SqliteRegistrationStore.open(':memory:'));
    for (const synchronous of ['NORMAL', 'FULL'] as SqliteSynchronous[]) {
      await run(`file, WAL, ${synchronous}`, () => SqliteRegistrationStore.open(join(dir, `${synchronous}.db`), { synchronous }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
