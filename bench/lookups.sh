#!/usr/bin/env bash
# Lookup figures: single-flight across two server processes, cached lookups/s against a bare
# axum + sqlx handler, and the admin lookups page at 1M vs 10k events. Uses a fresh database
# (phonehub_bench) in the local cluster, or BENCH_DATABASE_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/db.sh start >/dev/null
base=$(scripts/db.sh url phonehub)
base=${base%/*}
export DATABASE_URL=${BENCH_DATABASE_URL:-$base/phonehub_bench}
export SQLX_OFFLINE=true
DATABASE_URL=$DATABASE_URL cargo run -q -p dbctl -- reset
cargo build -q --release -p server --bin phonehub --example bench_lookups
PHONEHUB_BIN=target/release/phonehub ./target/release/examples/bench_lookups
