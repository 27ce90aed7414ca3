#!/usr/bin/env python3
"""Fails when a crate of the workspace has a file-level import cycle.

    ./deploy/check-cycles.py            # check the workspace, exit 1 on a cycle
    ./deploy/check-cycles.py --self-test

Builds, per crate, a graph whose nodes are the module files (foo.rs or
foo/mod.rs) and whose edges are the paths a file names: `use crate::...`,
`use super::...`, `use self::...`, `use child::...` trees (braces expanded)
and `crate::...`, `super::...`, `self::...`, `child::...` paths in code. A
path resolves to the deepest module file it names (`crate::a::b::Item` is
a/b.rs if that exists, else a.rs or a/mod.rs).

Test code is left out: `#[cfg(test)]` items (a `mod x;` so marked, and its
file; an inline `mod tests { ... }`; a test-only fn or use), `tests/`
directories of modules and `*_tests.rs` files.

A module's face is not a dependency: `mod child;` and `pub use child::X`
(a re-export of a descendant) do not make the parent depend on the child,
unless the parent's own code also names what it re-exports. Anything else
the parent does with a child (a private `use child::X`, a call
`child::f()`) is an edge.

A child's use of its ancestors is not an edge: a module and its
submodules are one unit, the submodules implementing what the parent
declares (`impl Wg` split over wg/send.rs and wg/receive.rs), so the
parent calling into a child that names the parent's types is not a cycle.
Cycles are between files none of which contains the others: siblings,
cousins, or unrelated modules.

Every strongly connected component of more than one file is printed with
the names that tie it (file -> file: names).
"""

import os
import re
import sys
import tempfile

CRATES = ["src", "routing/src", "uring/src", "ifaces/src", "linkemu/src"]

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
CFG_TEST = re.compile(r"#\[cfg\((?:all\()?\s*test\b[^\]]*\]")
MOD_DECL = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;", re.M)
USE_STMT = re.compile(r"(?<![A-Za-z0-9_])(pub(?:\s*\([^)]*\))?\s+)?use\s+([^;]*);")
CODE_PATH = re.compile(
    r"(?<![A-Za-z0-9_:])(" + IDENT + r")((?:\s*::\s*" + IDENT + r")+)"
)


def strip_comments_and_strings(text):
    """The code with comments removed and string/char literals emptied
    (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c == "/" and nxt == "*":
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
        elif c == "r" and re.match(r'r#*"', text[i:i + 260]) and (
            i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
        ):
            m = re.match(r'r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            j = n if j < 0 else j + len(end)
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'":
            if nxt == "\\":
                j = text.find("'", i + 2)
                i = n if j < 0 else j + 1
                out.append("' '")
            elif i + 2 < n and text[i + 2] == "'":
                out.append("' '")
                i += 3
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def item_end(code, start):
    """End of the item starting at `start`: after its `;` or its balanced
    `{...}` block, whichever comes first."""
    i, n = start, len(code)
    while i < n:
        c = code[i]
        if c == ";":
            return i + 1
        if c == "{":
            depth = 0
            while i < n:
                if code[i] == "{":
                    depth += 1
                elif code[i] == "}":
                    depth -= 1
                    if depth == 0:
                        return i + 1
                i += 1
            return n
        i += 1
    return n


def remove_test_items(code):
    """The code without its `#[cfg(test)]` items, and the names of the
    modules so declared (`#[cfg(test)] mod x;`)."""
    test_mods = set()
    while True:
        m = CFG_TEST.search(code)
        if not m:
            return code, test_mods
        start = m.end()
        # Other attributes between the cfg and the item.
        while True:
            a = re.match(r"\s*#\[[^\]]*\]", code[start:])
            if not a:
                break
            start += a.end()
        mm = re.match(r"\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;", code[start:])
        if mm:
            test_mods.add(mm.group(1))
        end = item_end(code, start)
        code = code[: m.start()] + "\n" * code.count("\n", m.start(), end) + code[end:]


def split_top(s, sep=","):
    parts, depth, cur = [], 0, []
    for c in s:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if c == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def expand_use(tree):
    """`a::{b, c::{d, self}}` -> [[a,b], [a,c,d], [a,c]]; `as` renames
    dropped, a glob kept as its module."""
    tree = re.sub(r"\s+", " ", tree).strip()
    if tree.startswith("::"):
        tree = tree[2:]
    brace = tree.find("{")
    if brace < 0:
        tree = re.sub(r"\s+as\s+" + IDENT + r"$", "", tree)
        segs = [s.strip() for s in tree.split("::") if s.strip()]
        if segs and segs[-1] == "*":
            segs = segs[:-1]
        if segs and segs[-1] == "self":
            segs = segs[:-1]
        return [segs] if segs else []
    prefix = [s.strip() for s in tree[:brace].split("::") if s.strip()]
    inner = tree[brace + 1 : tree.rfind("}")]
    paths = []
    for part in split_top(inner):
        for sub in expand_use(part) or [[]]:
            paths.append(prefix + sub)
    return paths


class Crate:
    def __init__(self, root):
        self.root = root
        self.modules = {}  # tuple(path) -> file
        self.files = {}  # file -> tuple(path)
        self.excluded = set()
        for dirpath, dirnames, filenames in os.walk(root):
            rel = os.path.relpath(dirpath, root)
            parts = () if rel == "." else tuple(rel.split(os.sep))
            if "tests" in parts:
                continue
            for f in filenames:
                if not f.endswith(".rs") or f.endswith("_tests.rs"):
                    continue
                path = os.path.join(dirpath, f)
                stem = f[:-3]
                if stem in ("lib", "main") and not parts:
                    mod = ()
                elif stem == "mod":
                    mod = parts
                else:
                    mod = parts + (stem,)
                if parts and parts[0] == "bin" and stem != "mod":
                    mod = ("<bin>",) + mod  # own crate roots: no `crate::` target
                self.files[path] = mod
                if mod not in self.modules or stem in ("lib", "mod"):
                    self.modules[mod] = path

    def resolve(self, segs):
        """The deepest module file `segs` (absolute) names, and the name
        after it."""
        for k in range(len(segs), -1, -1):
            f = self.modules.get(tuple(segs[:k]))
            if f:
                name = segs[k] if k < len(segs) else (segs[-1] if segs else "crate")
                return f, name
        return None, None


def absolute(mod, is_dir_mod, segs, children):
    """`segs` as an absolute module path from the file of module `mod`, or
    None for an external crate / std path."""
    if not segs:
        return None
    head = segs[0]
    if head == "crate":
        return list(segs[1:])
    if head in ("self", "super"):
        base = list(mod)
        rest = list(segs)
        if rest[0] == "self":
            rest = rest[1:]
        while rest and rest[0] == "super":
            if not base:
                return None
            base = base[:-1]
            rest = rest[1:]
        return base + rest
    if head in children:
        return list(mod) + list(segs)
    return None


def is_descendant(target_mod, mod):
    return len(target_mod) > len(mod) and tuple(target_mod[: len(mod)]) == tuple(mod)


def analyse(crate):
    """edges: file -> {file: set(names)}"""
    edges = {}
    test_files = set()
    sources = {}
    for path, mod in crate.files.items():
        with open(path, encoding="utf-8") as fh:
            code = strip_comments_and_strings(fh.read())
        code = re.sub(r"(?<![A-Za-z0-9_])r#(?=[A-Za-z_])", "", code)
        code, test_mods = remove_test_items(code)
        for t in test_mods:
            f = crate.modules.get(tuple(mod) + (t,))
            if f:
                test_files.add(f)
        sources[path] = code
    for path, code in sources.items():
        if path in test_files:
            continue
        mod = crate.files[path]
        is_dir = os.path.basename(path) in ("mod.rs", "lib.rs", "main.rs")
        children = set(MOD_DECL.findall(code))
        out = edges.setdefault(path, {})

        def add(segs, face_names=None):
            a = absolute(mod, is_dir, segs, children)
            if a is None:
                return
            f, name = crate.resolve(a)
            if f is None or f == path or f in test_files:
                return
            # A child building on its ancestor (a submodule implementing
            # its parent's type, using its parent's items) is the parent's
            # own inside: not an edge between rooms.
            target = crate.files.get(f)
            if target is not None and is_descendant(mod, target):
                return
            out.setdefault(f, set()).add(name)

        body = code
        reexports = []  # (segs, visible name)
        for m in USE_STMT.finditer(code):
            public = m.group(1) is not None
            for segs in expand_use(m.group(2)):
                a = absolute(mod, is_dir, segs, children)
                if a is None:
                    continue
                if public and is_descendant(a[: len(mod) + 1], mod) and len(a) > len(mod):
                    reexports.append(segs)
                else:
                    add(segs)
        body = USE_STMT.sub(lambda m: "\n" * m.group(0).count("\n"), code)
        body = MOD_DECL.sub("", body)
        for m in CODE_PATH.finditer(body):
            segs = [m.group(1)] + [s.strip() for s in m.group(2).split("::") if s.strip()]
            add(segs)
        # A re-export counts when the file's own code names it too.
        for segs in reexports:
            name = segs[-1]
            if re.search(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])", body):
                add(segs)
    return {f: e for f, e in edges.items() if f not in test_files}


def tarjan(edges):
    index, low, on, stack, sccs = {}, {}, set(), [], []
    counter = [0]
    nodes = set(edges) | {t for e in edges.values() for t in e}

    def strong(v):
        # Iterative Tarjan (deep module trees must not hit the recursion limit).
        work = [(v, iter(sorted(edges.get(v, {}))))]
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
                    work.append((w, iter(sorted(edges.get(w, {})))))
                    advanced = True
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                sccs.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            strong(v)
    return [c for c in sccs if len(c) > 1]


def check(base, crates=CRATES, out=sys.stdout):
    found = 0
    for rel in crates:
        root = os.path.join(base, rel)
        if not os.path.isdir(root):
            continue
        crate = Crate(root)
        edges = analyse(crate)
        for comp in tarjan(edges):
            found += 1
            members = set(comp)
            short = lambda f: os.path.relpath(f, base)
            print(f"cycle in {rel}: " + ", ".join(short(f) for f in comp), file=out)
            for f in comp:
                for t in sorted(edges.get(f, {})):
                    if t in members:
                        names = ", ".join(sorted(edges[f][t]))
                        print(f"    {short(f)} -> {short(t)}: {names}", file=out)
    return found


def self_test():
    files = {
        # A cycle a.rs <-> b.rs through names.
        "src/lib.rs": "mod a;\nmod b;\nmod face;\nmod caller;\nmod t;\nmod sib;\n",
        # Siblings that import each other (through their parent's path).
        "src/sib/mod.rs": "mod left;\nmod right;\n",
        "src/sib/left.rs": "use super::right::R;\npub struct L;\n",
        "src/sib/right.rs": "pub struct R(crate::sib::left::L);\n",
        "src/a.rs": "use crate::b::Thing;\npub struct Other;\n",
        "src/b.rs": "pub struct Thing;\npub fn f() -> super::a::Other { todo!() }\n",
        # A face: mod.rs re-exports its child, the child imports the parent.
        "src/face/mod.rs": "mod inner;\npub use inner::Api;\npub struct Shared;\n",
        "src/face/inner.rs": "use super::Shared;\npub struct Api(Shared);\n",
        # Not a cycle: mod.rs calls into its child, the child uses mod.rs's type.
        "src/caller/mod.rs": "mod worker;\npub struct Core;\npub fn run() { worker::go() }\n",
        "src/caller/worker.rs": "use super::Core; // crate::a::Other in a comment\npub fn go() {}\n",
        # Test code only: no cycle.
        "src/t/mod.rs": "mod x;\n#[cfg(test)]\nmod x_tests;\n#[cfg(test)]\nmod tests { use super::x::X; }\n",
        "src/t/x.rs": "use super::T;\npub struct X;\n#[cfg(test)]\nmod tests { use crate::t::Y; }\n",
        "src/t/x_tests.rs": "use super::x::X;\n",
        "src/t/tests/more.rs": "use crate::t::x::X;\n",
    }
    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in files.items():
            p = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w", encoding="utf-8") as fh:
                fh.write(text)
        import io

        buf = io.StringIO()
        n = check(tmp, ["src"], out=buf)
        text = buf.getvalue()
        expected = [
            "cycle in src: src/a.rs, src/b.rs",
            "    src/a.rs -> src/b.rs: Thing",
            "    src/b.rs -> src/a.rs: Other",
            "cycle in src: src/sib/left.rs, src/sib/right.rs",
            "    src/sib/left.rs -> src/sib/right.rs: R",
            "    src/sib/right.rs -> src/sib/left.rs: L",
        ]
        lines = sorted(text.splitlines())
        if n != 2 or lines != sorted(expected):
            print("check-cycles self-test FAILED; got:\n" + text, file=sys.stderr)
            return 1
    print("check-cycles self-test ok")
    return 0


def main():
    if "--self-test" in sys.argv[1:]:
        return self_test()
    base = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    n = check(base)
    if n:
        print(f"{n} import cycle(s)", file=sys.stderr)
        return 1
    print("no import cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
