#!/usr/bin/env bash
# The browser bundle as `make dist` ships it, in the directory given (default target/dist-stage):
# the frontend crate built for size, wasm-bindgen, wasm-opt -Oz; then its size, raw and brotli,
# against the budget. Prints the sizes as its last line. Alone (`make wasm-size`) it measures what
# a change does to the bundle without building the server.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${1:-target/dist-stage}

# Debian's rustc builds std for wasm32 (see README). immediate-abort drops the panic machinery,
# location-detail and fmt-debug the file names and Debug impls nobody reads in a browser;
# erase_components makes each component's view one type-erased view (Leptos's own switch),
# instead of a nested generic type per page compiled into its own copy of the hydration code.
# std's optimize_for_size picks its smaller integer formatting, sorting and float parsing (and, as
# the only std feature, leaves out backtrace support, which wasm32 has no use for).
RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/bin/wasm-ld-22 \
RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none --cfg erase_components" \
  /usr/bin/cargo -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size \
  build -p frontend --lib \
  --target wasm32-unknown-unknown --profile wasm-release --target-dir target/front

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

# The wasm's budget: at most 1,850 kB raw and 440 kB brotli (kB = 1000 bytes; brotli at
# the quality scripts/bundle.mjs writes the served copy with). Both figures are printed with the
# budget; over either, the build fails (and `make dist` leaves dist/ as it was). Issue 23 set
# 1,500 kB raw; issue 24's four pages (budgets, notifications, webhooks, destinations) took it to
# 1,626 kB raw, 388 kB brotli, and the raw figure was raised to 1,700 kB: what is downloaded
# (brotli) stays within 400 kB. Issue 25's two pages (opt-outs, compliance) took it to 1,814 kB
# raw, 426 kB brotli; the budget became 1,850 kB raw and 440 kB brotli until the pages are split
# into lazily loaded routes (the next thing to do for this figure: most pages are admin pages
# most visitors never open).
if ! wasm_sizes=$(node - "$stage/phonehub_bg.wasm" 1850 440 <<'JS'
const { readFileSync } = require("node:fs");
const { brotliCompressSync, constants } = require("node:zlib");
const [file, maxRaw, maxBrotli] = process.argv.slice(-3);
const bytes = readFileSync(file);
const brotli = brotliCompressSync(bytes, {
  params: {
    [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
    [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
  },
}).length;
const kb = (n) => (n / 1000).toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const budget = `${Number(maxRaw).toLocaleString("en-US")} kB raw and ${maxBrotli} kB brotli`;
const sizes = `${kb(bytes.length)} kB raw and ${kb(brotli)} kB brotli`;
const over = [];
if (bytes.length > maxRaw * 1000) over.push(`raw by ${kb(bytes.length - maxRaw * 1000)} kB`);
if (brotli > maxBrotli * 1000) over.push(`brotli by ${kb(brotli - maxBrotli * 1000)} kB`);
if (over.length > 0) {
  console.log(`the wasm bundle is ${sizes}, over its budget of ${budget} (${over.join(", ")})`);
  process.exit(1);
}
console.log(`the wasm bundle is ${sizes}, within its budget of ${budget}`);
JS
); then
  echo "FAILED: $wasm_sizes." >&2
  exit 1
fi
echo "$wasm_sizes"
