#!/usr/bin/env bash
# Telephony layer figures: signature checks/s and lookups/s against the sandbox vs a bare handler.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q --release -p telephony --features sandbox --example bench_sandbox
