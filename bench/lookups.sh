#!/usr/bin/env bash
# Lookup figures: single-flight across two server processes, cached lookups/s against a bare
# axum + sqlx handler, and the admin lookups page at 1M vs 10k events. Uses a fresh database
# (phonehub_bench) in the local cluster, or BENCH_DATABASE_URL.
set -euo pipefail
exec "$(dirname "$0")/run-example.sh" bench_lookups
