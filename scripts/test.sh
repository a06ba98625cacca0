#!/usr/bin/env bash
# Runs every test suite of Larder on a fresh machine. It installs what it
# needs (Debian packages when run as root, npm packages), checks that the
# generated code matches the protos, lints, type-checks, builds, and runs the
# suites against real servers. It fails if any test is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "system packages"
source scripts/packages.sh
need_command node nodejs
need_command redis-server redis-server
need_command redis-cli redis-tools
need_command protoc protobuf-compiler
# The benchmark's smoke test drives its load with h2load.
need_command h2load nghttp2-client
# The dashboard suite drives Debian's Chromium with playwright-core.
need_command chromium chromium
# Python and Go SDKs: buf's local plugins, then the libraries (from Debian,
# since neither PyPI nor the Go module proxy is reachable here), which have
# no command to look for.
need_command python3 python3
need_command grpc_python_plugin protobuf-compiler-grpc
need_command go golang-go
need_command protoc-gen-go protoc-gen-go
need_command protoc-gen-go-grpc protoc-gen-go-grpc
for pkg in python3-grpcio python3-protobuf python3-pytest golang-google-grpc-dev \
  golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev; do
  need_package "$pkg"
done
# The package test (test/interop/packages.test.ts) builds the Python SDK's
# wheel with the system's setuptools and installs it into a venv.
for pkg in python3-setuptools python3-wheel python3-venv; do
  need_package "$pkg"
done
install_missing "npm test"
echo "node $(node --version), $(redis-server --version | cut -d' ' -f1-3)"

step "npm packages"
if [ -n "${CI:-}" ] || [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm install, not npm ci: the lock file cannot list platform binaries that
  # the registry reachable here does not carry, and npm ci refuses that.
  npm install --no-audit --no-fund --loglevel=error
fi

step "generated code"
bash scripts/check-generated.sh

step "lint"
npx buf lint
npx buf format --diff --exit-code
npx eslint --max-warnings 0 .
echo "buf lint, buf format and eslint are clean"

step "typecheck and build"
npx tsc -p tsconfig.json --noEmit
npm run build --silent

step "TypeScript suites (vitest)"
report=$(mktemp)
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile="$report" || status=$?
node scripts/summarize-vitest.mjs "$report" || status=1

step "C# suite (dotnet test)"
# Packages come from the NuGet registry; the suite starts its own Larder
# servers (built above) and redis-server, as the vitest suites do.
if ! command -v dotnet >/dev/null 2>&1; then
  echo "missing: the .NET 10 SDK (dotnet); see https://learn.microsoft.com/dotnet/core/install/linux" >&2
  status=1
else
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
  # Both target frameworks of the client: the tests only build net10.0.
  dotnet build sdk/csharp/Larder.Client --nologo -clp:ErrorsOnly || status=1
  # The vitest report is read by now, so its temp file (removed on exit)
  # keeps this output for the skip check; tee to a file, not to /dev/stderr,
  # which would truncate a log file that stdout and stderr share.
  dotnet test sdk/csharp/Larder.Client.Tests --nologo 2>&1 | tee "$report" || status=1
  if grep -Eq 'Skipped: +[1-9]' "$report"; then
    echo "C# tests were skipped; every test must run" >&2
    status=1
  fi
fi

step "Python suite (pytest)"
# The system interpreter: Debian's python3-grpcio is not visible to a pyenv
# or virtualenv python3 that may come first on PATH. The suite starts its
# own redis-server and Larder servers (built above) on both stores.
python=/usr/bin/python3
[ -x "$python" ] || python=python3
# Any non-zero exit fails, including 5 (no tests collected).
(cd sdk/python && "$python" -m pytest -q -p no:cacheprovider -rs) 2>&1 | tee "$report" || status=1
if grep -Eq '[0-9]+ skipped' "$report"; then
  echo "Python tests were skipped; every test must run" >&2
  status=1
fi

step "Go suite (go test)"
# GOPATH mode over Debian's Go packages; see sdk/go/README.md.
bash sdk/go/gopath.sh go test -count=1 -v ./... >"$report" 2>&1 || { status=1; tail -40 "$report"; }
grep -E -- '--- FAIL|^(ok|FAIL|panic)' "$report" || true
echo "go test: $(grep -cE -- '--- PASS' "$report") passed, $(grep -cE -- '--- FAIL' "$report") failed, $(grep -cE -- '--- SKIP' "$report") skipped"
if grep -qE -- '--- SKIP' "$report"; then
  echo "Go tests were skipped; every test must run" >&2
  status=1
fi

step "fault drills, short versions (npm run drills -- --quick)"
# Each drill breaks something (kills Redis, floods the memory store) and
# fails the run when a promise Larder makes does not hold.
drills_out=$(mktemp -d)
npm run drills --silent -- --quick --out "$drills_out" 2>&1 | tail -4 || status=1
rm -rf "$drills_out"

step "benchmark smoke test (npm run bench -- --quick)"
# A few seconds that prove the harness still starts every server and load
# generator; its figures are never compared with thresholds.
bench_out=$(mktemp -d)
npm run bench --silent -- --quick --out "$bench_out" 2>&1 | tail -12 || status=1
rm -rf "$bench_out"
exit "$status"
