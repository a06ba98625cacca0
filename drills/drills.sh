#!/usr/bin/env bash
# `npm run drills [-- --quick] [-- --only <regex>]` on a fresh clone: installs
# what the drills drive (scripts/packages.sh), builds the server and SDK
# (scripts/setup.sh), compiles the drills into drills/dist/ when their
# sources changed, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/packages.sh
need_command redis-server redis-server
install_missing drills

bash scripts/setup.sh

entry=drills/dist/drills/run.js
if [ ! -f "$entry" ] || [ -n "$(find drills bench test/harness sdk/ts/src sdk/ts/gen tsconfig.json tsconfig.drills.json \
    -path drills/dist -prune -o -path drills/results -prune -o -path bench/dist -prune -o \( -name '*.ts' -o -name '*.json' \) -newer "$entry" -print -quit)" ]; then
  echo "drills: compiling" >&2
  npx tsc -p tsconfig.drills.json
fi

exec node "$entry" "$@"
