#!/usr/bin/env bash
# `npm run bench [-- options]` on a fresh clone: checks the tools it drives,
# installs npm packages and builds the server (scripts/setup.sh, each only
# when out of date), compiles the bench into bench/dist/ when its sources
# changed, then runs it. Options are bench/run.ts's (`-- --help`).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=false
for arg in "$@"; do
  if [ "$arg" = "--quick" ]; then quick=true; fi
done

# h2load drives the raw gRPC load; redis-server backs the Redis store and the
# ioredis baseline, and redis-cli joins the Redis Cluster's nodes; --quick
# runs none of them.
source scripts/packages.sh
need_command h2load nghttp2-client
if [ "$quick" = false ]; then
  need_command redis-server redis-server
  need_command redis-cli redis-tools
fi
install_missing bench

bash scripts/setup.sh

# The bench compiles its own sources plus the generated code and SDK sources
# it imports; any of them changing means a rebuild.
entry=bench/dist/bench/run.js
if [ ! -f "$entry" ] || [ -n "$(find bench test/harness server/gen sdk/ts/src sdk/ts/gen tsconfig.json tsconfig.bench.json \
    -path bench/dist -prune -o -path bench/results -prune -o \( -name '*.ts' -o -name '*.json' \) -newer "$entry" -print -quit)" ]; then
  echo "bench: compiling" >&2
  npx tsc -p tsconfig.bench.json
fi

exec node "$entry" "$@"
