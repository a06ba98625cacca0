#!/usr/bin/env bash
# Makes a fresh clone runnable: installs npm dependencies and builds the
# server, each only when it is out of date. `npm start` runs this first.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1; then
  echo "larder: Node.js 20 or newer is missing (apt-get install nodejs)" >&2
  exit 1
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund --loglevel=error
fi
if [ ! -f dist/app/cli.js ] || [ -n "$(find server -name '*.ts' -newer dist/app/cli.js -print -quit)" ]; then
  npx tsc -p tsconfig.build.json
fi
# The dashboard's bundle, served at /dashboard.
if [ ! -f dist/dashboard/index.html ] || [ -n "$(find dashboard -newer dist/dashboard/index.html -print -quit)" ]; then
  node scripts/build-dashboard.mjs
fi
