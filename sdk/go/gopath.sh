#!/usr/bin/env bash
# Runs a go command on this module in GOPATH mode over Debian's Go packages
# (/usr/share/gocode: golang-google-grpc-dev, golang-google-protobuf-dev),
# for machines without access to the Go module proxy:
#
#   bash sdk/go/gopath.sh go test ./...
#   bash sdk/go/gopath.sh go run ./cmd/larder-interop get <url> <ns> <key>
#
# The module's import path is resolved through a symlink in a GOPATH of its
# own, kept between runs (in $LARDER_GOPATH, default a folder under /tmp) so
# that builds stay cached.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd -P)"
gopath="${LARDER_GOPATH:-${TMPDIR:-/tmp}/larder-gopath-$(id -u)}"
link="$gopath/src/github.com/larder/larder/sdk/go"
mkdir -p "$(dirname "$link")"
ln -sfn "$here" "$link"
export GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOFLAGS=
export GOCACHE="${GOCACHE:-$gopath/cache}"
# The symlinked directory, not the real one: GOPATH mode derives the import
# path from the working directory.
cd "$link"
exec "$@"
