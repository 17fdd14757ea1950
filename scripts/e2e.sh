#!/usr/bin/env bash
# Runs the Playwright suite against a freshly started server on a free port with a fresh database.
set -euo pipefail
cd "$(dirname "$0")/.."

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
base_url=${DATABASE_URL%/*}
db="phonehub_e2e_$$"
export DATABASE_URL="$base_url/$db"
cargo run -q -p dbctl -- reset

log=target/e2e-server.log
PHONEHUB_ENV=development PHONEHUB_SEED_DEMO=true LEPTOS_SITE_ADDR="127.0.0.1:$port" \
  PHONEHUB_PUBLIC_URL="http://127.0.0.1:$port" RUST_LOG=${RUST_LOG:-info,sqlx=warn} \
  "${E2E_BIN:-./target/debug/phonehub}" >"$log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  DATABASE_URL="$base_url/postgres" psql -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then echo "server exited:"; cat "$log"; exit 1; fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "server did not become healthy"; cat "$log"; exit 1; }

export E2E_BASE_URL="http://127.0.0.1:$port"
status=0
npx playwright test -c end2end/playwright.config.ts "$@" || status=$?
if [ $status -ne 0 ]; then echo "--- server log (tail) ---"; tail -50 "$log"; fi
exit $status
