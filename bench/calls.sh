#!/usr/bin/env bash
# Call-history figures: the history page at 1M vs 10k calls (p50 ratio, also filtered and one page
# deep) and the streamed CSV export of 1M calls (rows/s, server memory). Uses a fresh database
# (phonehub_bench) in the local cluster, or BENCH_DATABASE_URL.
set -euo pipefail
exec "$(dirname "$0")/run-example.sh" bench_calls
