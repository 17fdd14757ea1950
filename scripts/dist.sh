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

# Debian's rustc builds std for wasm32 (see README). immediate-abort drops the panic machinery,
# location-detail and fmt-debug the file names and Debug impls nobody reads in a browser;
# erase_components makes each component's view one type-erased view (Leptos's own switch),
# instead of a nested generic type per page compiled into its own copy of the hydration code.
RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/bin/wasm-ld-22 \
RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none --cfg erase_components" \
  /usr/bin/cargo -Zbuild-std=std,panic_abort build -p frontend --lib \
  --target wasm32-unknown-unknown --profile wasm-release --target-dir target/front

stage=target/dist-stage
rm -rf "$stage" && mkdir -p "$stage"
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-name phonehub --out-dir "$stage" \
  target/front/wasm32-unknown-unknown/wasm-release/frontend.wasm
# The features LLVM's generic wasm32 CPU emits (and every current browser runs).
node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers \
  --enable-bulk-memory --enable-bulk-memory-opt --enable-call-indirect-overlong \
  --enable-multivalue --enable-mutable-globals --enable-nontrapping-float-to-int \
  --enable-reference-types --enable-sign-ext \
  -o "$stage/phonehub_bg.opt.wasm" "$stage/phonehub_bg.wasm"
mv "$stage/phonehub_bg.opt.wasm" "$stage/phonehub_bg.wasm"
npx tailwindcss -i style/main.css -o "$stage/phonehub.css" --minify

rm -rf dist && mkdir -p dist/site/pkg
node scripts/bundle.mjs "$stage" dist/site
cp target/release/phonehub dist/phonehub
strip dist/phonehub
cp deploy/phonehub.service deploy/phonehub.env.example dist/

echo "dist/ built in $(( $(date +%s) - started )) s:"
ls -l dist dist/site/pkg | sed 's/^/  /'
