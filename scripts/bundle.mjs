// Names the browser bundle by its content and writes brotli and gzip copies of each file:
//   node scripts/bundle.mjs <dir with phonehub.js, phonehub_bg.wasm, phonehub.css> <site root>
// Writes <site root>/pkg/phonehub.<hash>{.js,_bg.wasm,.css}{,.br,.gz} and <site root>/bundle-name,
// which the server reads to link the bundle (one hash for the three: they only work together).
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const [stage, site] = process.argv.slice(2);
if (!stage || !site) {
  console.error("usage: node scripts/bundle.mjs <stage dir> <site root>");
  process.exit(2);
}
const parts = [
  ["phonehub.js", ".js"],
  ["phonehub_bg.wasm", "_bg.wasm"],
  ["phonehub.css", ".css"],
].map(([file, suffix]) => [readFileSync(join(stage, file)), suffix]);

const hash = createHash("sha256");
for (const [bytes] of parts) hash.update(bytes);
const name = `phonehub.${hash.digest("hex").slice(0, 16)}`;

const pkg = join(site, "pkg");
mkdirSync(pkg, { recursive: true });
for (const [bytes, suffix] of parts) {
  const file = join(pkg, name + suffix);
  writeFileSync(file, bytes);
  writeFileSync(
    file + ".br",
    brotliCompressSync(bytes, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    }),
  );
  writeFileSync(file + ".gz", gzipSync(bytes, { level: 9 }));
}
writeFileSync(join(site, "bundle-name"), name + "\n");
console.log(`bundle: ${name}`);
