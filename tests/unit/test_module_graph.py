"""The module graph of repack: no module reaches into another's private names, and no
modules import each other (an import inside a function hides a cycle, it does not remove
it, so every import counts, wherever it is written)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "repack"

# Owned by the publish branch (repack/publish/*), which untangles it; nothing may join it.
KNOWN_CYCLES: list[set[str]] = [{"repack.publish.security", "repack.publish.yum"}]


def modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = ast.parse(path.read_text(), str(path))
    return out


MODULES = modules()


def imports(tree: ast.Module) -> Iterator[tuple[str, str | None, str]]:
    """(module imported, name taken from it or None, the local name) for every import."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, None, a.asname or a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                yield node.module, a.name, a.asname or a.name


def edges(name: str) -> set[str]:
    out = set()
    for module, taken, _ in imports(MODULES[name]):
        sub = f"{module}.{taken}"
        target = sub if sub in MODULES else module
        if target in MODULES and target not in (name, "repack"):
            out.add(target)
    return out


def cycles() -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    graph = {m: edges(m) for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in graph:
        if v not in index:
            visit(v)
    return found


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_imports_another_modules_private_names() -> None:
    bad = []
    for name, tree in MODULES.items():
        aliases = set()
        for module, taken, local in imports(tree):
            if not module.startswith("repack"):
                continue
            if taken is None or f"{module}.{taken}" in MODULES:
                aliases.add(local)          # a repack module, used as local.attr
            elif private(taken):
                bad.append(f"{name}: from {module} import {taken}")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and private(node.attr)
                    and isinstance(node.value, ast.Name) and node.value.id in aliases):
                bad.append(f"{name}: {node.value.id}.{node.attr}")
    assert bad == []


def test_no_import_cycles() -> None:
    assert [sorted(c) for c in cycles() if c not in KNOWN_CYCLES] == []


def test_the_graph_is_read() -> None:
    """The graph is real: the pipeline reaches both families through repack.family."""
    assert {"repack.family", "repack.context", "repack.buildcache"} <= edges("repack.pipeline")
    assert {"repack.deb.family", "repack.rpm.family"} <= edges("repack.family")
    assert "repack.pipeline" not in edges("repack.plan.plans")
