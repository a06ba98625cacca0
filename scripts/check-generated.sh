#!/usr/bin/env bash
# Fails when generated code differs from what `buf generate` makes of the
# protos, so that the protos stay the one source of truth.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npx buf generate --output "$tmp"
status=0
for dir in $(sed -n 's/^ *out: *//p' buf.gen.yaml | sort -u); do
  # __pycache__: Python writes bytecode next to the generated modules it imports.
  if ! diff -r -x __pycache__ "$tmp/$dir" "$dir" >/dev/null 2>&1; then
    echo "generated code in $dir is out of date: run npm run generate and commit the result" >&2
    diff -r -x __pycache__ "$tmp/$dir" "$dir" | head -20 >&2 || true
    status=1
  fi
done
[ "$status" = 0 ] && echo "generated code is in sync with proto/"
exit "$status"
