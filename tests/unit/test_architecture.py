"""The module structure of repack/ holds its shape (issue 12): no module uses another's private
names, and the import graph has no cycles.

Both are read from the source with `ast`, so they cost no imports and see every import
statement, including those inside functions (the usual way a cycle is hidden) and the literal
`lazy_import("repack.x")` / `importlib.import_module("repack.x")` calls.  Imports under
`if TYPE_CHECKING:` never run and are left out of the cycle check; they still may not name a
private.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "repack"

DYNAMIC_IMPORTERS = {"lazy_import", "import_module"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def repack_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@dataclass
class ModuleImports:
    """What one module imports, read from its syntax tree."""

    name: str
    modules: set[str]                  # the repack modules it needs at run time
    private: set[str] = field(default_factory=set)   # "repack.x._y" names it uses


def _resolve_from(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The absolute module an `from X import ...` statement reads from."""
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """The ids of the nodes under `if TYPE_CHECKING:`."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and (
                (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
                or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")):
            for child in node.body:
                ids.update(id(n) for n in ast.walk(child))
    return ids


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


def _dynamic_target(node: ast.expr) -> str | None:
    """"repack.x" of a literal `lazy_import("repack.x")` or `importlib.import_module(...)`."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    arg = node.args[0]
    if name in DYNAMIC_IMPORTERS and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    return None


class _Reader:
    """Walks one module's syntax tree, noting the repack modules it needs and the private
    names of other modules it uses."""

    def __init__(self, name: str, tree: ast.Module, known: set[str], is_package: bool) -> None:
        self.name, self.known, self.is_package = name, known, is_package
        self.typing_only = _type_checking_nodes(tree)
        self.out = ModuleImports(name, set())
        self.bound: dict[str, str] = {}    # local name -> the repack module it stands for

    def need(self, module: str, node: ast.AST) -> None:
        if module in self.known and module != self.name and id(node) not in self.typing_only:
            self.out.modules.add(module)

    def import_(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] == "repack":
                self.need(alias.name, node)
                self.bound[alias.asname or "repack"] = alias.name if alias.asname else "repack"

    def import_from(self, node: ast.ImportFrom) -> None:
        source = _resolve_from(node, self.name, self.is_package)
        if source.split(".")[0] != "repack":
            return
        for alias in node.names:
            sub = f"{source}.{alias.name}"
            if sub in self.known:          # `from repack.deb import naming`: a module
                self.need(sub, node)
                self.bound[alias.asname or alias.name] = sub
                continue
            self.need(source, node)
            if is_private(alias.name) and source != self.name:
                self.out.private.add(sub)

    def dynamic(self, node: ast.AST) -> None:
        if isinstance(node, ast.Call) and (target := _dynamic_target(node)):
            self.need(target, node)
        if isinstance(node, ast.Assign) and (target := _dynamic_target(node.value)):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    self.bound[t.id] = target

    def attribute(self, node: ast.Attribute) -> None:
        """`naming_deb._inner`, `repack.b._other`: a private attribute of a bound module."""
        dotted = _dotted(node.value)
        if not is_private(node.attr) or dotted is None:
            return
        head, _, rest = dotted.partition(".")
        if head in self.bound:
            module = ".".join([self.bound[head], *([rest] if rest else [])])
            if module in self.known and module != self.name:
                self.out.private.add(f"{module}.{node.attr}")


def read_imports(name: str, source: str, known: set[str], *,
                 is_package: bool = False) -> ModuleImports:
    """The repack modules `source` (module `name`) imports and the private names it uses."""
    tree = ast.parse(source)
    reader = _Reader(name, tree, known, is_package)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            reader.import_(node)
        elif isinstance(node, ast.ImportFrom):
            reader.import_from(node)
        reader.dynamic(node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            reader.attribute(node)
    return reader.out


def import_graph() -> dict[str, ModuleImports]:
    modules = repack_modules()
    known = set(modules)
    return {name: read_imports(name, path.read_text(), known,
                               is_package=path.name == "__init__.py")
            for name, path in modules.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Tarjan's strongly connected components that hold a cycle (more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def cycle_path(graph: dict[str, set[str]], component: frozenset[str]) -> list[str]:
    """One concrete cycle through the component, first module repeated at the end."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & component):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    raise AssertionError(f"no cycle in {sorted(component)}")


def cycles(imports: dict[str, ModuleImports]) -> Iterator[tuple[frozenset[str], list[str]]]:
    graph = {name: m.modules for name, m in imports.items()}
    for component in strongly_connected(graph):
        yield component, cycle_path(graph, component)


def test_no_module_uses_another_modules_private_names() -> None:
    found = sorted(f"{name} uses {used}" for name, m in import_graph().items()
                   for used in m.private)
    assert not found, ("private names of another module used (make them public or move the "
                       "code): " + "; ".join(found))


def test_no_import_cycles() -> None:
    found = sorted(" -> ".join(path) for _, path in cycles(import_graph()))
    assert not found, "import cycles: " + "; ".join(found)


def test_signing_does_not_import_publishing() -> None:
    graph = import_graph()
    for signer in ("repack.deb.sign", "repack.rpm.sign", "repack.gpg", "repack.keys"):
        assert not {m for m in graph[signer].modules if m.startswith("repack.publish")}, signer


def test_every_target_family_has_a_builder_and_a_publisher() -> None:
    from repack import targets as target_files
    from repack.family import FAMILIES
    from repack.publish.families import PUBLISHERS

    families = {target_files.load(t).family for t in target_files.available()}
    assert families == {"deb", "rpm"}
    assert families <= FAMILIES.keys() and families <= PUBLISHERS.keys()


# The checks themselves, on small made-up modules.

KNOWN = {"repack", "repack.a", "repack.b", "repack.deb", "repack.deb.naming", "repack.lazy"}


def test_private_imports_and_attributes_are_found() -> None:
    src = ("from repack.b import _hidden, shown\n"
           "from repack.deb import naming as naming_deb\n"
           "import repack.b\n"
           "def f():\n"
           "    from . import b as bee\n"
           "    return naming_deb._inner, repack.b._other, bee._third, naming_deb.public\n"
           "    return __name__, repack.b.__doc__\n")
    m = read_imports("repack.a", src, KNOWN)
    assert m.private == {"repack.b._hidden", "repack.deb.naming._inner", "repack.b._other",
                         "repack.b._third"}
    assert m.modules == {"repack.b", "repack.deb.naming"}


def test_own_private_names_and_other_libraries_are_not_offences() -> None:
    src = ("import os\nfrom os import _exit\nfrom repack.a import _mine\n"
           "def f(x):\n    return os._exit, x._private\n")
    assert read_imports("repack.a", src, KNOWN).private == set()


def test_cycles_count_function_level_and_lazy_imports_not_type_checking() -> None:
    sources = {
        "repack.a": "def f():\n    from repack import b\n",
        "repack.b": ("from typing import TYPE_CHECKING\nfrom repack.lazy import lazy_import\n"
                     "deb = lazy_import('repack.deb.naming')\n"
                     "if TYPE_CHECKING:\n    from repack.a import f\n"),
        "repack.deb.naming": "import repack.a\n",
    }
    imports = {n: read_imports(n, s, KNOWN) for n, s in sources.items()}
    assert imports["repack.b"].modules == {"repack.lazy", "repack.deb.naming"}
    assert list(cycles(imports)) == [(frozenset({"repack.a", "repack.b", "repack.deb.naming"}),
                                      ["repack.a", "repack.b", "repack.deb.naming", "repack.a"])]
    sources["repack.b"] = ("from typing import TYPE_CHECKING\n"
                           "if TYPE_CHECKING:\n    import repack.a\n")
    imports = {n: read_imports(n, s, KNOWN) for n, s in sources.items()}
    assert list(cycles(imports)) == []


def test_relative_imports_resolve_from_the_package() -> None:
    m = read_imports("repack.deb", "from .naming import _x\n", KNOWN, is_package=True)
    assert m.private == {"repack.deb.naming._x"}
    m = read_imports("repack.deb.naming", "from .. import a\nfrom . import _y\n", KNOWN)
    assert m.modules == {"repack.a", "repack.deb"}
    assert m.private == {"repack.deb._y"}


def design_table() -> dict[str, str]:
    """README's design table: each name in a row's first column -> the row's text."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Design\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = line.split("|")
        if line.startswith("| `") and len(cells) > 2:
            for name in cells[1].split("`")[1::2]:
                rows[name] = line
    return rows


def test_readme_design_table_maps_every_module() -> None:
    rows = design_table()
    missing = []
    for path in sorted(PACKAGE.iterdir()):
        if path.suffix == ".py" and path.name != "__init__.py" and path.name not in rows:
            missing.append(path.name)
        if path.is_dir() and (path / "__init__.py").is_file():
            row = rows.get(f"{path.name}/")
            if row is None:
                missing.append(f"{path.name}/")
                continue
            missing += [f"{path.name}/{m.stem}" for m in sorted(path.glob("*.py"))
                        if m.name != "__init__.py" and f"`{m.stem}`" not in row]
    assert not missing, f"README.md's design table does not say what these do: {missing}"
