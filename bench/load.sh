#!/usr/bin/env bash
# Server memory under a 60 s load of 64 signed-in clients (release build, fresh database): see
# server/examples/bench_load.rs. BENCH_SECONDS shortens the run.
set -euo pipefail
exec "$(dirname "$0")/run-example.sh" bench_load
