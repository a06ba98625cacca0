#!/usr/bin/env bash
# Makes throwaway certificates for the SDK suites' TLS tests (the TypeScript
# suites use test/harness/certs.ts): in <dir>, a CA (ca.crt, ca.key), a
# server certificate for 127.0.0.1, ::1 and localhost (server.crt,
# server.key), a client certificate (client.crt, client.key, and client.pfx
# without a password for .NET), and an unrelated CA (other-ca.crt) that a
# client must not accept the server with. Nothing made here is committed.
#   bash scripts/test-certs.sh <dir>
set -euo pipefail
dir=${1:?usage: test-certs.sh <dir>}
mkdir -p "$dir"
cd "$dir"
ssl() { openssl "$@" 2>/dev/null; }

ca() { # <name> <common name>
  ssl ecparam -name prime256v1 -genkey -noout -out "$1.key"
  ssl req -x509 -new -key "$1.key" -sha256 -days 1 -subj "/CN=$2" -out "$1.crt"
}
issue() { # <name> <extensions>
  ssl ecparam -name prime256v1 -genkey -noout -out "$1.key"
  ssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr"
  printf '%b' "$2" > "$1.ext"
  ssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" -days 1 -sha256 \
    -extfile "$1.ext" -out "$1.crt"
  rm -f "$1.csr" "$1.ext"
}

ca ca larder-test-ca
ca other-ca another-ca
issue server 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n'
issue client 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n'
ssl pkcs12 -export -in client.crt -inkey client.key -out client.pfx -passout pass:
