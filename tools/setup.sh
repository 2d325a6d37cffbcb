#!/usr/bin/env bash
# Sets up this repository on a fresh machine (Node 20.19+ with npm, python3, make, g++):
# pnpm 12.4.2, every dependency (better-sqlite3 is compiled against the local Node headers),
# and a build of every package. With --demo it then runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_nodedir="${npm_config_nodedir:-/usr}"   # pnpm's node-gyp would otherwise download headers
export TURBO_TELEMETRY_DISABLED=1
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "12.4.2" ]; then
  echo "setup: installing pnpm 12.4.2"
  npm install --global --save-exact pnpm@12.4.2 >/dev/null
fi
echo "setup: installing dependencies"
pnpm install --frozen-lockfile
echo "setup: building"
pnpm run build
if [ "${1:-}" = "--demo" ]; then
  exec pnpm --silent demo
fi
