#!/usr/bin/env bash
# Fails when the layers are crossed (issue 23's end states that hold): the pages' server
# functions (app/src/api) and the public API (server/src/v1) are adapters over one use-case layer
# (app/src/ssr), which alone reaches the database functions (app/src/ssr/db); the domain never
# reaches up into the adapters; every audit action is written in one place; one visibility rule.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
check() { # what, then the offending lines (empty: fine)
    if [ -n "$2" ]; then
        echo "$1:"
        echo "$2"
        fail=1
    fi
}
code() { grep -vE '^[^:]+:[0-9]+:\s*//' || true; }

check "/v1 reaches into the pages' server functions (call the use case in app/src/ssr instead)" \
    "$(grep -rn 'app::api' server/src/v1 | code)"
check "Database functions outside the use-case layer (add or call a function in app/src/ssr)" \
    "$(grep -rnE '\bdb::' app/src/api server/src | code)"
check "ssr::db is public (only the use-case layer reaches the database functions; tests use ssr::fixtures)" \
    "$(grep -n '^pub mod db;' app/src/ssr/mod.rs || true)"
check "Tests or benchmarks reach into ssr::db (add what they need to ssr::fixtures)" \
    "$(grep -rn 'ssr::db' server/tests server/examples | code)"
check "The use-case layer reaches up into the adapters (app/src/api)" \
    "$(grep -rn 'crate::api' app/src/ssr | code)"
check "Visibility decided outside OrgCtx::sees_all / own_rows_only" \
    "$(grep -rn 'oversees()' app/src/api app/src/ssr server/src | grep -v 'app/src/ssr/guard.rs' | code)"

# Each audit action is written by one file: `action: "x.y"` or `.audit(db, "x.y", ...)`.
dupes=$(python3 - <<'PY'
import pathlib, re, collections
where = collections.defaultdict(set)
pat = re.compile(r'(?:action:\s*|\.audit\(\s*[^,()]+(?:\([^()]*\))?,\s*)"([a-z_]+\.[a-z_]+)"', re.S)
for root in ["app/src", "server/src"]:
    for f in pathlib.Path(root).rglob("*.rs"):
        text = f.read_text()
        text = text.split("#[cfg(test)]")[0]
        for m in pat.finditer(text):
            where[m.group(1)].add(str(f))
for action, files in sorted(where.items()):
    if len(files) > 1:
        print(f"{action}: {', '.join(sorted(files))}")
PY
)
check "Audit actions written in more than one place (write each in its use case)" "$dupes"

# Dependencies point one way: no import circles between modules (scripts/circles.py).
circles=$(python3 scripts/circles.py) || check "Import circles (move what both sides need into the lower module)" "$circles"
# Functions and files stay small enough to read (scripts/sizes.py).
sizes=$(python3 scripts/sizes.py) || check "Sizes" "$sizes"

if [ "$fail" -ne 0 ]; then
    exit 1
fi
echo "Layers: adapters over one use-case layer; each audit action written once; one visibility rule"
echo "$circles"
echo "$sizes"
