#!/usr/bin/env bash
# Runs one server benchmark (server/examples/<name>.rs) against a release build and a fresh
# database (phonehub_bench) in the local cluster, or BENCH_DATABASE_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
example=$1
scripts/db.sh start >/dev/null
base=$(scripts/db.sh url phonehub)
base=${base%/*}
export DATABASE_URL=${BENCH_DATABASE_URL:-$base/phonehub_bench}
export SQLX_OFFLINE=true
cargo run -q -p dbctl -- reset
# As `make dist` builds it (the same flags share one release build).
RUSTFLAGS="--cfg erase_components" cargo build -q --release -p server --bin phonehub --example "$example"
PHONEHUB_BIN=target/release/phonehub "./target/release/examples/$example"
