"""The code base's shape, checked: no import cycle, imports only downwards through the layers of
docs/architecture.md, and plugin registries built only at the application edge.

The import graph is read statically with :mod:`ast` (nothing is imported). It counts **every**
import statement in a module: at module level, inside functions and methods (a deferred import
is still a dependency, only a later one), inside ``try``; it leaves out imports under
``if TYPE_CHECKING:``, which never run. An edge goes from the importing module to the module
named: ``from a.b import c`` points at ``a.b.c`` when that is a module, else at ``a.b``.
The implicit run of a package's ``__init__`` on the way (``a`` for ``a.b``) is not an edge of
its own: those files only re-export, and counting them would make every package that a
sub-module of another imports into one cycle. The package direction is checked by the layer
test below instead.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "ebi_mapper"


def _modules(root: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package ``__init__``)."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_package)
    return out


def _type_checking_only(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: module level, in functions, in ``try``; not under TYPE_CHECKING."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            for child in getattr(node, "orelse", []):  # the else branch does run
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, dict[str, int]]:
    """module -> {imported module of the package: line of the first import}."""
    modules = _modules(root, package)
    graph: dict[str, dict[str, int]] = {}
    for name, (path, is_package) in modules.items():
        edges: dict[str, int] = {}
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in modules else prefix for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    edges.setdefault(target, node.lineno)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, {})))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _describe(component: list[str], graph: dict[str, dict[str, int]]) -> str:
    members = set(component)
    lines = [f"{a} (line {line}) imports {b}" for a in component for b, line in sorted(graph[a].items()) if b in members]
    return "import cycle among " + ", ".join(component) + ":\n  " + "\n  ".join(lines)


def test_no_import_cycle():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "\n".join(_describe(c, graph) for c in found)


def test_the_graph_sees_deferred_imports_and_cycles(tmp_path):
    """The checker itself: a cycle closed by an import inside a function is found; TYPE_CHECKING is not an edge."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import x\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n")
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.a"] == {"pkg.sub.b": 1} and graph["pkg.sub.b"] == {"pkg.a": 2} and graph["pkg.c"] == {}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b"]]


# The layers of docs/architecture.md, lowest first. A top-level module or package may import its
# own layer's and lower layers' modules, never a higher layer's.
LAYERS: list[tuple[str, set[str]]] = [
    ("base", {"errors", "locations", "outcomes", "extensions", "hookspecs", "secrets", "sink_options",
              "rejection_codes", "cpus"}),
    ("plugin machinery and facts", {"plugins", "catalog", "schemas", "expressions"}),
    ("mapping file", {"mapping"}),
    ("engine", {"engine"}),
    ("lint", {"lint"}),
    ("delivery", {"delivery", "sandbox"}),
    ("built-in plugins", {"default_plugins", "plugin_kit"}),
    ("application edge", {"app"}),
    ("services", {"serve", "scaleout"}),  # long-running: webhook intake, Redis streams and workers
    ("test kit", {"testing"}),  # a pytest plugin: an entry point like a command, built on the edge
    ("commands", {"cli", "__main__", ""}),  # "" is ebi_mapper/__init__.py: the public API re-exports
]
# Known arrows the wrong way, each a debt with its reason; the test fails on any other one.
KNOWN_UPWARD: set[tuple[str, str]] = set()


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_imports_go_down_the_layers():
    level = {top: i for i, (_, tops) in enumerate(LAYERS) for top in tops}
    graph = import_graph()
    unplaced = sorted({_top(m) for m in graph} - set(level))
    assert not unplaced, f"place these in a layer of docs/architecture.md and LAYERS here: {unplaced}"
    upward = defaultdict(list)
    for module, edges in graph.items():
        for target, line in edges.items():
            a, b = _top(module), _top(target)
            if level[b] > level[a] and (a, b) not in KNOWN_UPWARD:
                upward[(a, b)].append(f"{module}:{line} imports {target}")
    assert not upward, "imports up the layers (docs/architecture.md):\n  " + "\n  ".join(
        f"{LAYERS[level[a]][0]} -> {LAYERS[level[b]][0]}: " + "; ".join(v) for (a, b), v in sorted(upward.items()))


def test_layers_are_documented():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for name, tops in LAYERS:
        for top in tops - {"", "__main__"}:
            assert f"{top}" in doc, f"docs/architecture.md does not place {top!r} (layer {name!r})"


@pytest.mark.parametrize("forbidden_in", ["engine", "delivery", "default_plugins", "mapping", "expressions"])
def test_only_the_edge_builds_registries(forbidden_in):
    """The engine, delivery and the built-in plugins are handed a registry; they never make one."""
    offenders = []
    for path in sorted((ROOT / PACKAGE / forbidden_in).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and any(a.name == "make_registry" for a in node.names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Name) and node.id == "make_registry":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"make_registry used below the application edge: {offenders}"


# What a built-in plugin may import from ebi_mapper: the hook specs, the data types and errors, and
# the plugin kit, as a third-party plugin does (docs/writing-plugins.md), plus its own package.
PLUGIN_API = {"ebi_mapper", "ebi_mapper.hookspecs", "ebi_mapper.extensions", "ebi_mapper.outcomes", "ebi_mapper.errors",
              "ebi_mapper.locations", "ebi_mapper.rejection_codes", "ebi_mapper.secrets", "ebi_mapper.plugin_kit",
              "ebi_mapper.sink_options"}
# Known exceptions, each with its reason; the test fails on any other import and on a stale entry.
BUILTIN_EXCEPTIONS: set[str] = set()


def test_builtins_use_only_the_plugin_api():
    graph = import_graph()
    used_exceptions = set()
    offenders = []
    for module, edges in sorted(graph.items()):
        if not module.startswith("ebi_mapper.default_plugins"):
            continue
        for target, line in sorted(edges.items()):
            if target in PLUGIN_API or target.startswith("ebi_mapper.default_plugins"):
                continue
            if target in BUILTIN_EXCEPTIONS:
                used_exceptions.add(target)
                continue
            offenders.append(f"{module}:{line} imports {target}")
    assert not offenders, "built-in plugins import past the plugin API (use ebi_mapper.plugin_kit):\n  " + "\n  ".join(offenders)
    assert used_exceptions == BUILTIN_EXCEPTIONS, f"stale exceptions: {BUILTIN_EXCEPTIONS - used_exceptions}"
