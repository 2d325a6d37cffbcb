/**
 * Child process of W4 (run with `--expose-gc`): fills a registration store with N mappings and
 * prints heap and RSS per device after GC as one JSON line. Also `prefill N PATH` for W5.
 *
 * `node --expose-gc memory-child.js memory|sqlite|prefill N [PATH]`
 */
import { InMemoryRegistrationStore, must, parseRegistrationId, type ApplicationId, type Layer2Id, type LinkId, type Registration, type RegistrationStore, type UeServiceId } from '@msgin5g/core';
import { SqliteRegistrationStore } from '@msgin5g/store-sqlite';

/** Device `i`: a distinct Layer-2 ID and Application ID, IDs shaped as the gateway makes them. */
export function mapping(i: number, now: number): Registration {
  const layer2Id = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:5691` as Layer2Id;
  // Below 60 000: W5's live devices use 60 000 and up (an Application ID is held by one device at a time).
  const applicationId = (i % 60_000) as ApplicationId;
  return {
    registrationId: must(parseRegistrationId((0x1000000000000000n + BigInt(i) * 7919n).toString(16))),
    applicationId,
    layer2Id,
    link: 'udp' as LinkId,
    ueServiceId: `msgin5g-gateway-1/${layer2Id}/${applicationId}` as UeServiceId,
    state: 'REGISTERED',
    createdAt: now,
    updatedAt: now,
    expiresAt: now + 86_400_000,
  };
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) g();
}

async function fill(store: RegistrationStore, n: number): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < n; i++) await store.insert(mapping(i, now));
  await store.sync();
}

async function run(): Promise<void> {
  const [kind, nText, path] = process.argv.slice(2);
  const n = Number(nText);
  if (!(n > 0 && n <= 1_000_000)) throw new Error(`N must be 1..1000000, got ${nText}`);
  if (kind === 'prefill') {
    const store = SqliteRegistrationStore.open(path!, { synchronous: 'NORMAL' });
    await fill(store, n);
    await store.close();
    return;
  }
  const store: RegistrationStore = kind === 'memory' ? new InMemoryRegistrationStore() : SqliteRegistrationStore.open(path!, { synchronous: 'NORMAL' });
  await store.count();
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  await fill(store, n);
  if ((await store.count()) !== n) throw new Error('store count mismatch');
  gc();
  const heap1 = process.memoryUsage().heapUsed;
  const rss1 = process.memoryUsage().rss;
  process.stdout.write(`${JSON.stringify({ heapBytesPerDevice: Math.round((heap1 - heap0) / n), rssBytesPerDevice: Math.round((rss1 - rss0) / n) })}\n`);
  await store.close();
}

run().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
