#!/usr/bin/env bash
# Usage-page figures: the org usage and spend page at 1M calls + 1M lookup events + 100k SMS vs 10k
# of each (p50 ratio, this month and 90 days). Uses a fresh database (phonehub_bench) in the local
# cluster, or BENCH_DATABASE_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/db.sh start >/dev/null
base=$(scripts/db.sh url phonehub)
base=${base%/*}
export DATABASE_URL=${BENCH_DATABASE_URL:-$base/phonehub_bench}
export SQLX_OFFLINE=true
DATABASE_URL=$DATABASE_URL cargo run -q -p dbctl -- reset
cargo build -q --release -p server --bin phonehub --example bench_usage
PHONEHUB_BIN=target/release/phonehub ./target/release/examples/bench_usage
