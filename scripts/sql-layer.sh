#!/usr/bin/env bash
# Fails when SQL appears outside the SQL layer: every statement of the app lives in
# app/src/ssr/db/<feature>.rs (tests, benchmarks and the migration tool aside).
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='sqlx::query|query(_as|_scalar)?!\s*\('
found=$(grep -rnE "$pattern" --include='*.rs' app/src server/src telephony/src \
    | grep -v '^app/src/ssr/db/' \
    | grep -vE '^[^:]+:[0-9]+:\s*//' || true)
if [ -n "$found" ]; then
    echo "SQL outside app/src/ssr/db/ (move it into the feature's module there):"
    echo "$found"
    exit 1
fi
echo "SQL layer: every statement is in app/src/ssr/db/"
