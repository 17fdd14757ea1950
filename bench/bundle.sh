#!/usr/bin/env bash
# Bundle figures: the deployable bundle (dist/, from `make dist`) against the development bundle
# `make run` serves (target/site, from `make build`): sizes raw, brotli and gzip, and the login
# page's cold load until usable (hydrated) on a throttled 10 Mbit/s, 40 ms link in Chromium.
# The development bundle is measured as it was served before `make dist` existed: uncompressed.
# Targets: wasm <= 1.5 MB raw and <= 400 kB brotli; login usable <= 1.5 s.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
[ -f dist/site/bundle-name ] || { echo "no dist/: run make dist first"; exit 1; }
[ -f target/site/pkg/phonehub_bg.wasm ] || { echo "no development bundle: run make build first"; exit 1; }
name=$(cat dist/site/bundle-name)
pkg=dist/site/pkg

size() { stat -c %s "$1"; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f kB", b / 1000 }'; }
echo "deployable bundle ($name):"
for f in "$name.js" "${name}_bg.wasm" "$name.css"; do
  printf '  %-34s raw %10s   brotli %10s   gzip %10s\n' "$f" \
    "$(kb "$(size "$pkg/$f")")" "$(kb "$(size "$pkg/$f.br")")" "$(kb "$(size "$pkg/$f.gz")")"
done
wasm_raw=$(size "$pkg/${name}_bg.wasm"); wasm_br=$(size "$pkg/${name}_bg.wasm.br")
echo "  wasm: $(kb "$wasm_raw") raw (target <= 1500 kB), $(kb "$wasm_br") brotli (target <= 400 kB)"
echo "development bundle (make run): wasm $(kb "$(size target/site/pkg/phonehub_bg.wasm)") raw"

scripts/db.sh start >/dev/null
base=$(scripts/db.sh url phonehub); base=${base%/*}
export DATABASE_URL=$base/phonehub_bench
export SQLX_OFFLINE=true
cargo run -q -p dbctl -- reset >/dev/null

old_site=$(mktemp -d)
servers=()
cleanup() { for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$old_site"; }
trap cleanup EXIT
# Before: the debug bundle, served without the precompressed copies.
mkdir -p "$old_site/pkg"
cp target/site/pkg/phonehub.js target/site/pkg/phonehub_bg.wasm target/site/pkg/phonehub.css "$old_site/pkg/"

start() { # binary site_root -> sets URL
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  PHONEHUB_ENV=development PHONEHUB_SEED_DEMO=false LEPTOS_SITE_ROOT="$2" \
    LEPTOS_SITE_ADDR="127.0.0.1:$port" PHONEHUB_PUBLIC_URL="http://127.0.0.1:$port" \
    PHONEHUB_DATA_DIR="$old_site/data" RUST_LOG=warn "$1" >/dev/null 2>&1 &
  servers+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  URL="http://127.0.0.1:$port"
}
start dist/phonehub dist/site; dist_url=$URL
start target/debug/phonehub "$old_site"; old_url=$URL
echo "login page, cold, until usable (hydrated), 10 Mbit/s + 40 ms, median of $runs:"
echo "  deployable (make dist): $(node bench/pageload.mjs "$dist_url" "$runs")  (target <= 1500 ms)"
echo "  before (debug bundle, uncompressed): $(node bench/pageload.mjs "$old_url" "${OLD_RUNS:-1}")"
