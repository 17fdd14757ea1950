#!/usr/bin/env python3
"""Finds import circles between the modules of app/src and server/src (issue 23 §3).

A module depends on another when its code names it: `use crate::x::Y`, `use super::x`, a path
such as `crate::x::y::f()` or `super::x::Y` in the code, or a path through a module it imported
(`use super::db;` then `db::users::by_id`) or declared (`mod calls;` then `calls::f`). A path to
an item is followed through `pub use` re-exports to the module that defines the item, so a parent
that only re-exports its children is not counted as a hub. Test code (`#[cfg(test)]` items) is
left out, and so are paths into other crates (the crates cannot depend on each other in a
circle).

A module's uses of its own ancestors and descendants (a child using `super::Shared`, a parent
composing its children) are containment, not counted; `--strict` counts them too.

Prints each group of modules that reach each other (a knot) and a shortest circle through each
dependency inside it (as `a -> b -> a`), and exits 1 if there is any; otherwise prints a one-line
summary and exits 0. Python 3, standard library only. Run from anywhere.
"""

import pathlib
import re
import signal
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRATES = {"app": "app/src", "server": "server/src"}

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
ITEM_DEF = re.compile(
    r"\b(?:struct|enum|union|trait|type|fn|const|static|mod)\s+(" + IDENT + r")"
    r"|\bmacro_rules!\s*(" + IDENT + r")"
)


def strip_comments_and_strings(text):
    """The code with comments removed and string and character literals emptied, so that paths
    written in them are not read as dependencies. Newlines are kept."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if text[i] == "\n":
                        out.append("\n")
                    i += 1
            continue
        m = re.compile(r'b?r(#*)"').match(text, i)
        if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = text.find('"' + m.group(1), m.end())
            end = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""' + "\n" * text.count("\n", i, end))
            i = end
            continue
        if c == '"' or (c == "b" and text.startswith('b"', i)):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
            continue
        if c == "'":
            m = re.compile(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'\n])'").match(text, i)
            if m:
                out.append("' '")
                i = m.end()
                continue
        out.append(c)
        i += 1
    return "".join(out)


def matching_brace(text, open_at):
    """The index just past the `}` that closes the `{` at `open_at`."""
    depth = 0
    for j in range(open_at, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j + 1
    return len(text)


def item_end(text, start):
    """The index just past the item starting at `start` (ends at `;` or a balanced `{...}`)."""
    depth_paren = 0
    for j in range(start, len(text)):
        ch = text[j]
        if ch in "([":
            depth_paren += 1
        elif ch in ")]":
            depth_paren -= 1
        elif ch == ";" and depth_paren <= 0:
            return j + 1
        elif ch == "{" and depth_paren <= 0:
            return matching_brace(text, j)
    return len(text)


CFG_TEST = re.compile(r"#\[cfg\((?:test|all\(test[^\]]*\))\)\]")


def drop_test_items(text):
    """The code without `#[cfg(test)]` items (test modules, test-only imports and helpers)."""
    while True:
        m = CFG_TEST.search(text)
        if not m:
            return text
        j = m.end()
        # Further attributes on the same item.
        while True:
            a = re.compile(r"\s*#\[").match(text, j)
            if not a:
                break
            j = text.find("]", a.end())
            depth = text.count("[", a.end(), j) + 1
            k = a.end()
            while depth and k < len(text):
                if text[k] == "[":
                    depth += 1
                elif text[k] == "]":
                    depth -= 1
                k += 1
            j = k
        end = item_end(text, j)
        text = text[: m.start()] + "\n" * text.count("\n", m.start(), end) + text[end:]


def split_use_tree(tree):
    """The paths a `use` tree names, each as (segments, alias or None); `*` is a segment and
    `a::{self}` names `a`."""
    tokens = re.findall(IDENT + r"|::|[{},*]", tree)
    pos = 0
    out = []

    def walk(prefix):
        # One tree: segments, then `{...}`, `*`, or a last segment with an optional `as` alias.
        nonlocal pos
        segs = list(prefix)
        while pos < len(tokens):
            tok = tokens[pos]
            if tok == "::":
                pos += 1
            elif tok == "{":
                pos += 1
                while pos < len(tokens) and tokens[pos] != "}":
                    if tokens[pos] == ",":
                        pos += 1
                        continue
                    walk(segs)
                pos += 1
                return
            elif tok in ",}":
                break
            elif tok == "as":
                alias = tokens[pos + 1] if pos + 1 < len(tokens) else None
                pos += 2
                if segs and segs[-1] == "self":
                    segs = segs[:-1]
                out.append((segs, None if alias == "_" else alias))
                return
            else:
                segs.append(tok)
                pos += 1
        if segs and segs[-1] == "self":
            segs = segs[:-1]
        out.append((segs, None))

    walk([])
    return out


class Module:
    def __init__(self, crate, path, file, code):
        self.crate = crate
        self.path = path  # tuple of segments below the crate root
        self.file = file
        self.code = code
        self.children = {}  # name -> path
        self.uses = []  # (segments as written, alias or None, is_pub)
        self.defs = set()

    @property
    def name(self):
        return "::".join((self.crate,) + self.path)


def file_module_path(src, f):
    rel = f.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "mod" or (len(parts) == 1 and parts[0] in ("lib", "main")):
        parts = parts[:-1]
    return tuple(parts)


INLINE_MOD = re.compile(r"\b(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*\{")
MOD_DECL = re.compile(r"\b(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;")
USE = re.compile(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([^;]*);")


def load_modules():
    modules = {}
    for crate, src_rel in CRATES.items():
        src = ROOT / src_rel
        files = sorted(src.rglob("*.rs"))
        if "bin" in [p.name for p in src.iterdir() if p.is_dir()]:
            files = [f for f in files if (src / "bin") not in f.parents]
        files = [f for f in files if f.name != "main.rs" or f.parent != src]
        declared = set()
        texts = {}
        for f in files:
            code = drop_test_items(strip_comments_and_strings(f.read_text()))
            texts[f] = code
            base = file_module_path(src, f)
            for m in MOD_DECL.finditer(code):
                declared.add(base + (m.group(1),))
        for f in files:
            path = file_module_path(src, f)
            if path and path not in declared:
                continue  # a test-only module file, or one no module declares
            add_module(modules, crate, path, str(f.relative_to(ROOT)), texts[f])
    for mod in modules.values():
        for other in modules.values():
            if other.crate == mod.crate and other.path[:-1] == mod.path and other.path:
                mod.children[other.path[-1]] = other.path
    return modules


def add_module(modules, crate, path, file, code):
    """Adds the module and its inline (non-test) submodules."""
    while True:
        m = INLINE_MOD.search(code)
        if not m:
            break
        end = matching_brace(code, m.end() - 1)
        add_module(modules, crate, path + (m.group(1),), file, code[m.end() : end - 1])
        code = code[: m.start()] + "\n" * code.count("\n", m.start(), end) + code[end:]
    mod = Module(crate, path, file, code)
    for m in USE.finditer(code):
        for segs, alias in split_use_tree(m.group(2)):
            mod.uses.append((segs, alias, bool(m.group(1))))
    for m in ITEM_DEF.finditer(code):
        mod.defs.add(m.group(1) or m.group(2))
    modules[(crate, path)] = mod


def absolute(mod, segs, modules):
    """The crate-relative segments a path written in `mod` means, or None (another crate)."""
    if not segs:
        return None
    path = list(mod.path)
    i = 0
    if segs[0] == "crate":
        path, i = [], 1
    elif segs[0] == "self":
        i = 1
    elif segs[0] == "super":
        while i < len(segs) and segs[i] == "super":
            path = path[:-1]
            i += 1
    elif segs[0] in mod.children:
        pass  # a child module named without `self::`
    else:
        # A name the module imported (`use super::db;` then `db::x`).
        for useg, alias, _ in mod.uses:
            name = alias or (useg[-1] if useg else None)
            local = useg and (useg[0] in ("crate", "self", "super") or useg[0] in mod.children)
            if name == segs[0] and local and useg[-1] != "*":
                base = absolute(mod, useg, modules)
                if base is None:
                    return None
                return base + list(segs[1:])
        return None
    return path + list(segs[i:])


def target(crate, segs, modules, seen=None):
    """The module that defines what the crate-relative path `segs` names, following `pub use`
    re-exports and glob re-exports."""
    seen = seen or set()
    # The longest prefix that is a module.
    k = len(segs)
    while k > 0 and (crate, tuple(segs[:k])) not in modules:
        k -= 1
    mod = modules.get((crate, tuple(segs[:k])))
    if mod is None:
        return None
    rest = segs[k:]
    if not rest or rest[0] == "*" or rest[0] in mod.defs:
        return mod
    key = (mod.path, rest[0])
    if key in seen:
        return mod
    seen.add(key)
    name = rest[0]
    for useg, alias, is_pub in mod.uses:
        if not is_pub or not useg:
            continue
        if useg[-1] == "*":
            base = absolute(mod, useg[:-1], modules)
            if base is None:
                continue
            glob = modules.get((crate, tuple(base)))
            if glob is not None and (name in glob.defs or name in glob.children):
                found = target(crate, base + [name] + rest[1:], modules, seen)
                if found is not None:
                    return found
            continue
        if (alias or useg[-1]) == name:
            base = absolute(mod, useg, modules)
            if base is None:
                return mod
            return target(crate, base + rest[1:], modules, seen) or mod
    return mod


# With --strict, a module's uses of its ancestors and descendants count too (a parent composing
# its children while they use its shared items is then a circle).
STRICT = "--strict" in sys.argv[1:]

PATH = re.compile(r"(?<![A-Za-z0-9_:])(" + IDENT + r"(?:\s*::\s*(?:" + IDENT + r"|\*))+)")


def edges_of(mod, modules):
    """The modules `mod` depends on."""
    found = set()
    paths = []
    code_without_uses = USE.sub(lambda m: "\n" * m.group(0).count("\n"), mod.code)
    words = set(re.findall(IDENT, code_without_uses))
    for segs, alias, is_pub in mod.uses:
        # A re-export is followed by the modules that use it; it counts for the re-exporting
        # module only when that module's own code uses the name too.
        if not is_pub or (segs and (alias or segs[-1]) in words):
            paths.append(segs)
    for m in PATH.finditer(code_without_uses):
        paths.append([s.strip() for s in m.group(1).split("::")])
    for segs in paths:
        if not segs:
            continue
        abs_segs = absolute(mod, segs, modules)
        if abs_segs is None:
            continue
        if abs_segs and abs_segs[-1] == "*":
            abs_segs = abs_segs[:-1]
        t = target(mod.crate, abs_segs, modules)
        if t is None or t is mod:
            continue
        if not STRICT and (is_within(t, mod) or is_within(mod, t)):
            continue
        found.add(t)
    return found


def is_within(inner, outer):
    """Whether `inner` is `outer` or one of its descendants."""
    return inner.crate == outer.crate and inner.path[: len(outer.path)] == outer.path


def cycles(graph):
    """The strongly connected components with more than one module (Tarjan), each with one
    circle through it."""
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        work = [(v, iter(sorted(graph[v], key=lambda m: m.name)))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w], key=lambda m: m.name))))
                    advanced = True
                    break
                elif w in on:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w is node:
                        break
                if len(comp) > 1:
                    comps.append(comp)

    for v in sorted(graph, key=lambda m: m.name):
        if v not in index:
            strong(v)
    return comps


def shortest_path(graph, members, start, goal):
    """A shortest path from `start` to `goal` through `members` (both ends included)."""
    prev = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        if v is goal:
            path = [v]
            while prev[path[-1]] is not None:
                path.append(prev[path[-1]])
            return list(reversed(path))
        for w in sorted(graph[v], key=lambda m: m.name):
            if w in members and w not in prev:
                prev[w] = v
                queue.append(w)
    return None


def circles_in(comp, graph):
    """A shortest circle through each dependency inside the component, each circle once (written
    from its first module by name)."""
    members = set(comp)
    found = {}
    for u in comp:
        for v in graph[u]:
            if v not in members:
                continue
            back = shortest_path(graph, members, v, u)
            ring = [u] + back[:-1]
            k = min(range(len(ring)), key=lambda i: ring[i].name)
            ring = ring[k:] + ring[:k]
            found[tuple(m.name for m in ring)] = ring
    return sorted(found.values(), key=lambda r: (len(r), [m.name for m in r]))


def main():
    modules = load_modules()
    graph = {m: edges_of(m, modules) for m in modules.values()}
    comps = cycles(graph)
    edges = sum(len(v) for v in graph.values())
    if not comps:
        print(f"Import circles: none among {len(graph)} modules ({edges} dependencies)")
        return 0
    circles = sum(len(circles_in(c, graph)) for c in comps)
    print(f"Import circles: {circles} in {len(comps)} knot(s) among {len(graph)} modules")
    for comp in sorted(comps, key=lambda c: min(m.name for m in c)):
        names = sorted(m.name for m in comp)
        print(f"- {len(comp)} modules, each reaching every other: {', '.join(names)}")
        for ring in circles_in(comp, graph):
            print("  " + " -> ".join(m.name for m in ring + [ring[0]]))
    return 1


if __name__ == "__main__":
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into `head`
    sys.exit(main())
