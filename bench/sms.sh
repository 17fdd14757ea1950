#!/usr/bin/env bash
# SMS send throughput with budgets (three hard caps per send) against none, same run (release
# build, fresh database): see server/examples/bench_sms.rs. Target: ratio >= 0.9.
set -euo pipefail
exec "$(dirname "$0")/run-example.sh" bench_sms
