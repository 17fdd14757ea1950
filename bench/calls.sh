#!/usr/bin/env bash
# Call-history figures: the history page at 1M vs 10k calls (p50 ratio, also filtered and one page
# deep) and the streamed CSV export of 1M calls (rows/s, server memory). Uses a fresh database
# (phonehub_bench) in the local cluster, or BENCH_DATABASE_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/db.sh start >/dev/null
base=$(scripts/db.sh url phonehub)
base=${base%/*}
export DATABASE_URL=${BENCH_DATABASE_URL:-$base/phonehub_bench}
export SQLX_OFFLINE=true
DATABASE_URL=$DATABASE_URL cargo run -q -p dbctl -- reset
cargo build -q --release -p server --bin phonehub --example bench_calls
PHONEHUB_BIN=target/release/phonehub ./target/release/examples/bench_calls
