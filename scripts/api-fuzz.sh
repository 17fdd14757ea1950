#!/usr/bin/env bash
# Fuzzes the public API against its own OpenAPI document: a fresh database with the demo data, the
# server (development, the sandbox as provider), an API key of acme's owner with every scope, and
# Schemathesis (PyPI, in .data/venv) generating requests from /v1/openapi.json, following the
# document's links (buy → get → change → release). Fails on any 5xx or any answer the document
# does not describe. Prints the run's counts.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
venv=.data/venv
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "api-fuzz: installing schemathesis $SCHEMATHESIS_VERSION (PyPI) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

scripts/db.sh start >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
base_url=$(scripts/db.sh url postgres)
base_url=${base_url%/*}
db="phonehub_fuzz_$$"
export DATABASE_URL="$base_url/$db"
cargo run -q -p dbctl -- reset

base="http://127.0.0.1:$port"
log=target/api-fuzz-server.log
work=$(mktemp -d)
PHONEHUB_ENV=development PHONEHUB_SEED_DEMO=true LEPTOS_SITE_ADDR="127.0.0.1:$port" \
  PHONEHUB_PUBLIC_URL="$base" PHONEHUB_API_REQUESTS_PER_MINUTE=1000000 \
  RUST_LOG=${RUST_LOG:-info,sqlx=warn} "${FUZZ_BIN:-./target/debug/phonehub}" >"$log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
  DATABASE_URL="$base_url/postgres" psql -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

for _ in $(seq 1 120); do
  if curl -fsS "$base/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then echo "server exited:"; cat "$log"; exit 1; fi
  sleep 0.5
done
curl -fsS "$base/healthz" >/dev/null || { echo "server did not become healthy"; cat "$log"; exit 1; }

# Sign in as acme's owner and create a key acting as them, with every scope (as the page does).
jar="$work/cookies"
curl -fsS -c "$jar" -b "$jar" -H "Origin: $base" -o /dev/null \
  --data-urlencode "email=admin@acme.test" --data-urlencode "password=phonehub-demo" "$base/api/login"
key=$(curl -fsS -c "$jar" -b "$jar" -H "Origin: $base" \
  --data-urlencode "org=acme" --data-urlencode "name=Fuzzer" \
  -d scope_lookups=on -d scope_numbers=on -d scope_calls=on -d scope_messages=on -d scope_usage=on -d scope_budgets=on -d scope_alerts=on \
  "$base/api/create_api_key" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

status=0
"$venv/bin/schemathesis" --config-file scripts/api-fuzz.toml run "$base/v1/openapi.json" \
  --header "Authorization: Bearer $key" \
  --checks all \
  --max-examples "${FUZZ_EXAMPLES:-100}" --seed "${FUZZ_SEED:-20261202}" \
  --request-timeout 20 --workers 1 --no-color \
  --report junit --report-dir "$work/report" || status=$?
if [ $status -ne 0 ]; then echo "--- server log (tail) ---"; tail -40 "$log"; fi
exit $status
