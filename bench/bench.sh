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
# ioredis baseline, which --quick does not run.
missing=()
command -v h2load >/dev/null 2>&1 || missing+=(nghttp2-client)
if [ "$quick" = false ]; then
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bench: missing ${missing[*]} (install with: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

bash scripts/setup.sh

# The bench compiles its own sources plus the generated code and SDK sources
# it imports; any of them changing means a rebuild.
entry=bench/dist/bench/run.js
if [ ! -f "$entry" ] || [ -n "$(find bench server/gen sdk/ts/src sdk/ts/gen tsconfig.json tsconfig.bench.json \
    -path bench/dist -prune -o -path bench/results -prune -o \( -name '*.ts' -o -name '*.json' \) -newer "$entry" -print -quit)" ]; then
  echo "bench: compiling" >&2
  npx tsc -p tsconfig.bench.json
fi

exec node "$entry" "$@"
