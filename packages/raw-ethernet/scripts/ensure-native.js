'use strict';
/**
 * `pnpm run build` step: builds the native addon when `build/Release/raw_ethernet.node` is missing
 * or older than its sources (`native/*.c`, `binding.gyp`).
 * `pnpm install` builds it (`"gypfile": true`), but skips lifecycle scripts when node_modules is
 * already up to date, so a deleted `build/` would otherwise stay missing. pnpm puts its bundled
 * node-gyp on PATH for scripts. Node headers: `npm_config_nodedir` (default /usr when the headers
 * are installed there), so node-gyp never downloads them.
 */
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
const addon = join(root, 'build', 'Release', 'raw_ethernet.node');
const sources = [join(root, 'binding.gyp'), ...readdirSync(join(root, 'native')).map((f) => join(root, 'native', f))];
if (existsSync(addon) && sources.every((f) => statSync(f).mtimeMs <= statSync(addon).mtimeMs)) process.exit(0);
const env = { ...process.env };
if (env.npm_config_nodedir === undefined && existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr';
console.log('raw-ethernet: native addon missing or older than its sources, running node-gyp rebuild');
const r = spawnSync('node-gyp', ['rebuild'], { cwd: root, stdio: 'inherit', env });
if (r.error !== undefined) {
  console.error(`raw-ethernet: cannot run node-gyp (${r.error.message}); run \`pnpm install\` or \`pnpm --filter @msgin5g/raw-ethernet run build\``);
  process.exit(1);
}
process.exit(r.status ?? 1);
