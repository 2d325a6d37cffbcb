#!/usr/bin/env node
/**
 * `node tools/bench/dist/profile-summary.js FILE.cpuprofile [N]`: the N functions with the most
 * self time in a V8 CPU profile (from `node --cpu-prof`), as "self % function url:line". For the
 * profile notes in docs/benchmarks.md.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
}

function main(): void {
  const [file, nText] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: profile-summary FILE.cpuprofile [N]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const id of profile.samples) {
    const f = byId.get(id)?.callFrame;
    const key = f === undefined ? '?' : `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\/\.pnpm\/[^/]+\/node_modules\//, '').replace(/^.*\/work\/main\//, '')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length;
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(nText ?? 25));
  for (const [key, n] of rows) process.stdout.write(`${((100 * n) / total).toFixed(1).padStart(5)}%  ${key}\n`);
}

main();
