#!/usr/bin/env bash
# Usage-page figures: the org usage and spend page at 1M calls + 1M lookup events + 100k SMS vs 10k
# of each (p50 ratio, this month and 90 days). Uses a fresh database (phonehub_bench) in the local
# cluster, or BENCH_DATABASE_URL.
set -euo pipefail
exec "$(dirname "$0")/run-example.sh" bench_usage
