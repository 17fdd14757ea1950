#!/usr/bin/env python3
"""Fails when functions or files grew back (issue 23 §5): no production function over 100 lines,
at most 8 over 80, no source file whose code before its tests passes 600 lines. A function is
counted from its `fn` line to its closing brace; test modules (from the first `#[cfg(test)]`) are
left out."""
import pathlib
import re
import sys

ROOTS = ["app/src", "server/src", "telephony/src", "sms-segments/src", "tools"]
FN = re.compile(r"\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?fn\s+(\w+)")
LONGEST, LONG, MAX_LONG, MAX_FILE = 100, 80, 8, 600


def production(path):
    lines = path.read_text().split("\n")
    for i, line in enumerate(lines):
        if line.startswith("#[cfg(test)]"):
            return lines[:i]
    return lines


def functions(path, lines):
    i = 0
    while i < len(lines):
        m = FN.match(lines[i])
        if not m or lines[i].strip().startswith("//"):
            i += 1
            continue
        depth, started, j = 0, False, i
        while j < len(lines):
            depth += lines[j].count("{") - lines[j].count("}")
            started = started or "{" in lines[j]
            if (started and depth <= 0) or (not started and lines[j].rstrip().endswith(";")):
                break
            j += 1
        yield j - i + 1, f"{path}:{i + 1} {m.group(5)}"
        i = j + 1 if started else i + 1


fns, files = [], []
for root in ROOTS:
    for path in sorted(pathlib.Path(root).rglob("*.rs")):
        lines = production(path)
        if len(lines) > MAX_FILE:
            files.append((len(lines), str(path)))
        fns.extend(functions(path, lines))
fns.sort(reverse=True)
longest = [f for f in fns if f[0] > LONGEST]
long = [f for f in fns if f[0] > LONG]
fail = False
if longest:
    print(f"Functions over {LONGEST} lines (split them into named steps):")
    fail = True
if len(long) > MAX_LONG:
    print(f"{len(long)} functions over {LONG} lines (at most {MAX_LONG}):")
    fail = True
if longest or len(long) > MAX_LONG:
    for n, where in long:
        print(f"  {n} {where}")
if files:
    fail = True
    print(f"Files over {MAX_FILE} lines before their tests (split them by what they do):")
    for n, path in sorted(files, reverse=True):
        print(f"  {n} {path}")
if fail:
    sys.exit(1)
print(f"Sizes: {len(fns)} functions, none over {LONGEST} lines, {len(long)} over {LONG} "
      f"(at most {MAX_LONG}); no file over {MAX_FILE} lines before its tests")
