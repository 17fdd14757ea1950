#!/usr/bin/env bash
# `make dist`: the deployable build in dist/ — a release server, the browser bundle built for size
# (wasm-release profile, names stripped, wasm-opt -Oz, minified CSS), content-hashed file names,
# brotli and gzip copies of every asset, the systemd unit and an example environment file.
# Needs no database: queries are checked against the committed .sqlx/ data.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
scripts/deps.sh

export SQLX_OFFLINE=true
# The server renders with the same erased component views the bundle hydrates (see below);
# bench/run-example.sh builds with the same flag, so the two share one release build.
RUSTFLAGS="--cfg erase_components" cargo build --release -p server --bin phonehub

# The browser bundle, built for size and measured against its budget (scripts/wasm-release.sh).
stage=target/dist-stage
wasm_sizes=$(scripts/wasm-release.sh "$stage" | tail -n 1)
npx tailwindcss -i style/main.css -o "$stage/phonehub.css" --minify

rm -rf dist && mkdir -p dist/site/pkg
node scripts/bundle.mjs "$stage" dist/site
cp target/release/phonehub dist/phonehub
strip dist/phonehub
cp deploy/phonehub.service deploy/phonehub.env.example dist/

echo "dist/ built in $(( $(date +%s) - started )) s:"
ls -l dist dist/site/pkg | sed 's/^/  /'
echo "$wasm_sizes"
