#!/usr/bin/env bash
# Outage figures: a release server whose database goes behind a black hole for 10 s. Held
# lookups through the pages, 503 times for everything else, recovery, and whether every lookup
# answered during the outage was written afterwards. Uses a fresh database (phonehub_bench) in the
# local cluster, or BENCH_DATABASE_URL.
set -euo pipefail
exec "$(dirname "$0")/run-example.sh" bench_outage
