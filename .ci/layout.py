#!/usr/bin/env python3
"""Checks the floor plan of each crate; `./test` runs it before the build.

1. No import circles between the files of a crate: file A names `crate::b…` and file B
   names `crate::a…` (directly or round a longer loop). Layers hold when there are none.
2. Only the web layer answers HTTP: no `impl IntoResponse` outside an `http/` folder.
3. One module-file convention: a module with submodules is `name/mod.rs`, never `name.rs`
   beside a `name/` folder.

    .ci/layout.py [CRATE_DIR…]     default: every workspace member with a src/

For (1):
A file's module path comes from its place under src/ (`src/wallet/oid4vci.rs` and
`src/wallet/oid4vci/mod.rs` are `wallet::oid4vci`). Every `crate::x::y` path in the file
(in `use` lines and in code) links it to the deepest file that defines a prefix of that
path. Tests are left out: `#[cfg(test)] mod tests` bodies, files named tests.rs and
files under a tests/ folder, since a test may look anywhere. `super::`, `self::` and
`use child::` paths count too. A link from a module to one of its ancestors
(`crate::wallet::Account` from `wallet/oid4vci.rs`) is how a module is split into files and
does not count; every other link does, the ancestor's links to its children included.

Exit status 1 and one line per circle when there are circles.
"""

import pathlib
import re
import os
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PATH_RE = re.compile(r"\bcrate((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
GROUP_RE = re.compile(r"\bcrate::((?:[A-Za-z_][A-Za-z0-9_]*::)*)\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}", re.S)


def rel(path: pathlib.Path) -> str:
    return os.path.relpath(path, ROOT)


def module_of(src: pathlib.Path, file: pathlib.Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def strip_tests(text: str) -> str:
    """Drops `#[cfg(test)] mod name { … }` blocks (brace-matched) and comments."""
    text = re.sub(r"//[^\n]*", "", text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def absolute(text: str, mod: tuple, children: set) -> str:
    """Rewrites `super::`, `self::` and `use child::` paths as `crate::` paths."""

    def sup(m):
        ups = m.group(0).count("super")
        base = mod[: len(mod) - ups] if ups <= len(mod) else ()
        return "crate::" + "".join(p + "::" for p in base)

    text = re.sub(r"\bsuper::(?:super::)*", sup, text)
    here = "crate::" + "".join(p + "::" for p in mod)
    text = re.sub(r"\bself::", here, text)
    if children:
        alt = "|".join(sorted(children))
        text = re.sub(r"(\buse\s+)(%s)::" % alt, lambda m: m.group(1) + here + m.group(2) + "::", text)
    return text


def paths_in(text: str):
    for m in GROUP_RE.finditer(text):
        prefix = [p for p in m.group(1).split("::") if p]
        for item in re.split(r",(?![^{]*\})", m.group(2)):
            head = re.split(r"::|\s|\{", item.strip())
            name = [p for p in head if p][:1]
            if name and name[0] != "self":
                yield tuple(prefix + name)
            elif name:
                yield tuple(prefix)
    for m in PATH_RE.finditer(text):
        yield tuple(p for p in m.group(1).split("::") if p)


def cycles(crate: pathlib.Path):
    src = crate / "src"
    files = {}
    for f in sorted(src.rglob("*.rs")):
        if f.name == "tests.rs" or "tests" in f.relative_to(src).parts[:-1]:
            continue
        if "bin" in f.relative_to(src).parts[:-1]:
            continue
        files[module_of(src, f)] = f
    graph = {m: set() for m in files}
    for mod, f in files.items():
        children = {m[-1] for m in files if len(m) == len(mod) + 1 and m[: len(mod)] == mod}
        text = absolute(strip_tests(f.read_text(encoding="utf-8")), mod, children)
        for path in paths_in(text):
            for n in range(len(path), 0, -1):
                target = path[:n]
                if target in files:
                    # A module's own tree: a child using what its ancestor declares is
                    # how a module is split into files, not a circle.
                    if target != mod[: len(target)]:
                        graph[mod].add(target)
                    break
    # Tarjan's strongly connected components.
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    name = lambda m: rel(files[m])
    return [sorted(name(m) for m in comp) for comp in found]


def responders_outside_http(crate: pathlib.Path):
    for f in sorted((crate / "src").rglob("*.rs")):
        if "http" in f.relative_to(crate / "src").parts[:-1]:
            continue
        text = strip_tests(f.read_text(encoding="utf-8"))
        for m in re.finditer(r"impl(?:<[^>]*>)?\s+(?:axum::response::)?IntoResponse\s+for\s+(\w+)", text):
            yield f"{rel(f)}: impl IntoResponse for {m.group(1)} outside http/"


def file_beside_folder(crate: pathlib.Path):
    for d in sorted((crate / "src").rglob("*")):
        if d.is_dir() and d.with_suffix(".rs").is_file():
            yield f"{rel(d.with_suffix('.rs'))} beside {rel(d)}/: make it {d.name}/mod.rs"


def main():
    crates = [pathlib.Path(a).resolve() for a in sys.argv[1:]]
    if not crates:
        crates = [d for d in sorted(ROOT.iterdir()) if (d / "src").is_dir() and (d / "Cargo.toml").is_file()]
    problems = []
    for crate in crates:
        problems += [f"import circle in {crate.name}: " + " <-> ".join(c) for c in cycles(crate)]
        problems += list(responders_outside_http(crate))
        problems += list(file_beside_folder(crate))
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(
        "layout: no import circles, IntoResponse only under http/, one module-file convention "
        f"({', '.join(c.name for c in crates)})"
    )


if __name__ == "__main__":
    main()
