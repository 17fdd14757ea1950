#!/usr/bin/env bash
# Password hashing under a flood: one signed-in member sends N (64) wrong `current` passwords to
# change_password at once. Prints how the answers split and the server's resident memory before
# and at its high-water mark (VmRSS, VmHWM from /proc). PHONEHUB_BIN picks the binary (default:
# the debug build `make build` made; argon2 is optimised in debug builds too), so an older build
# can be measured the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${PHONEHUB_BIN:-target/debug/phonehub}
n=${BENCH_REQUESTS:-64}
scripts/db.sh start >/dev/null
base_url=$(scripts/db.sh url postgres)
base_url=${base_url%/*}
db="phonehub_bench_hash_$$"
export DATABASE_URL="$base_url/$db"
# An empty database: the server migrates it to its own schema (so an older binary can run too).
psql "$base_url/postgres" -q -c "CREATE DATABASE $db" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
base="http://127.0.0.1:$port"
work=$(mktemp -d)
PHONEHUB_ENV=development PHONEHUB_SEED_DEMO=true LEPTOS_SITE_ADDR="127.0.0.1:$port" \
  PHONEHUB_PUBLIC_URL="$base" PHONEHUB_DATA_DIR="$work" RUST_LOG=warn "$bin" >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  psql "$base_url/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.5
done
mem() { awk -v k="$1" '$1 == k":" {print int($2 / 1024)}' "/proc/$server/status"; }
jar="$work/cookies"
curl -fsS -c "$jar" -b "$jar" -H "Origin: $base" -o /dev/null \
  --data-urlencode "email=user@acme.test" --data-urlencode "password=phonehub-demo" "$base/api/login"
rss_before=$(mem VmRSS)
hwm_before=$(mem VmHWM)
seq 1 "$n" | xargs -P "$n" -I{} curl -s -o /dev/null -w '%{http_code}\n' -b "$jar" \
  -H "Origin: $base" --data-urlencode "current=wrong guess {}" \
  --data-urlencode "new_password=a new password 1" --data-urlencode "confirm=a new password 1" \
  "$base/api/change_password" >"$work/codes"
echo "binary: $bin"
echo "$n parallel wrong current passwords, answers by status:"
sort "$work/codes" | uniq -c | sed 's/^/  /'
echo "server memory before: VmRSS ${rss_before} MiB (VmHWM ${hwm_before} MiB)"
echo "server memory after:  VmRSS $(mem VmRSS) MiB, high-water mark VmHWM $(mem VmHWM) MiB"
echo "high-water mark rise: $(($(mem VmHWM) - hwm_before)) MiB"
