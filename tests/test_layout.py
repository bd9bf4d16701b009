"""The shape of the code: layers, import cycles, module sizes (see the README's layout)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "discovery", "features", "graph", "benchmarks", "scripts")
#: what the entry points reach only through the workspace
BELOW_THE_WORKSPACE = ("graph.store", "graph.loading", "graph.embedded", "graph.neo4j_store")
LAYERS = {"graph": 0, "features": 1, "discovery": 2, "api": 3}
MAX_LINES = 500


def modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if ".venv" in path.parts or ("peers" in path.parts and ".venvs" in str(path)):
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def imports(path: Path, name: str, *, lazy: bool) -> set[str]:
    """Modules `path` imports (every import when `lazy`, else those run at import time)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                if lazy:
                    visit(child, top)
                continue
            inner = top and not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            if isinstance(child, ast.Import) and (inner or lazy):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom) and (inner or lazy):
                base = child.module or ""
                if child.level:
                    up = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*up, base] if base else up)
                found.add(base)
                found.update(f"{base}.{a.name}" for a in child.names)
            visit(child, inner)

    visit(tree, True)
    return found


def project_graph(lazy: bool) -> nx.DiGraph:
    mods = modules()
    graph = nx.DiGraph()
    for name, path in mods.items():
        graph.add_node(name)
        for target in imports(path, name, lazy=lazy):
            if target in mods and target != name:
                graph.add_edge(name, target)
    return graph


def test_the_entry_points_reach_the_store_and_features_only_through_the_workspace() -> None:
    offenders = []
    for name, path in modules().items():
        if not (name.startswith("api") or name == "discovery.cli"):
            continue
        for target in imports(path, name, lazy=True):
            if target.startswith(BELOW_THE_WORKSPACE) or target.split(".")[0] == "features":
                offenders.append(f"{name} imports {target}")
    assert offenders == []


def test_layers_depend_downward_only() -> None:
    offenders = []
    for name, path in modules().items():
        layer = LAYERS.get(name.split(".")[0])
        if layer is None:
            continue
        for target in imports(path, name, lazy=True):
            other = LAYERS.get(target.split(".")[0])
            if other is not None and other > layer:
                offenders.append(f"{name} imports {target}")
    assert offenders == []


@pytest.mark.parametrize("lazy", [False, True], ids=["at-import", "including-lazy"])
def test_no_import_cycles(lazy: bool) -> None:
    cycles = [
        c
        for c in nx.simple_cycles(project_graph(lazy))
        # a package importing its own submodule (and back) is how lazy packages work
        if not any(
            a.startswith(b + ".") or b.startswith(a + ".")
            for a, b in zip(c, c[1:] + c[:1], strict=True)
        )
    ]
    assert cycles == []


def test_no_module_is_over_500_lines() -> None:
    long = {
        name: n
        for name, path in modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_checks_see_the_project() -> None:
    """The walk finds the modules it should, so the checks above could fail."""
    mods = modules()
    assert {"api.main", "discovery.cli", "discovery.workspace", "graph.store"} <= mods.keys()
    assert "graph.store" in imports(mods["graph.embedded"], "graph.embedded", lazy=False)
