#!/usr/bin/env bash
# Cached lookups through the public API against the lookup page's server function, same run
# (release build, fresh database): see server/examples/bench_api.rs.
set -euo pipefail
exec "$(dirname "$0")/run-example.sh" bench_api
