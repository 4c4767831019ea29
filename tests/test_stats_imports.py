"""The analysis wings' import graph: no loops (function-level and TYPE_CHECKING imports
included) and torch-free facades."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "paramtui"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, modules: set[str]) -> set[str]:
    """Every paramtui module `path` imports, wherever the import statement is."""
    found: set[str] = set()
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in found if m in modules and m != here}


def import_graph(under: str) -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {m: imported(p, modules) for m, p in paths.items() if m.startswith(under)}


def loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """The cycles a depth-first walk meets (one per back edge)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_loop_finder_finds_a_loop() -> None:
    assert loops({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert loops({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("floor", ["paramtui.analysis", "paramtui.render"])
def test_no_import_loops(floor: str) -> None:
    graph = import_graph(floor)
    inner = {m: {n for n in deps if n.startswith(floor)} for m, deps in graph.items()}
    # a package's __init__ importing its own modules is the facade, not a loop
    for module, deps in inner.items():
        inner[module] = {d for d in deps if not module.startswith(d + ".")}
    assert loops(inner) == []


def test_render_imports_no_cli_or_tui() -> None:
    graph = import_graph("paramtui.render")
    wrong = {m: sorted(d for d in deps if d.startswith(("paramtui.cli", "paramtui.tui")))
             for m, deps in graph.items()}  # fmt: skip
    assert {m: d for m, d in wrong.items() if d} == {}


@pytest.mark.parametrize(
    ("statement", "forbidden"),
    [
        ("from paramtui.analysis.stats import compute_stats, TensorStats", ("torch", "scan")),
        ("from paramtui.analysis.scan import scan, ScanReport, KINDS, kinds_help", ("torch",)),
        ("from paramtui.analysis.optimizer import map_optimizers, optimizer_summary", ("torch",)),
    ],
)
def test_facades_import_no_torch(statement: str, forbidden: tuple[str, ...]) -> None:
    code = (
        f"import sys; {statement}; "
        "print(sorted(m for m in sys.modules "
        "if m == 'torch' or m.startswith('paramtui.analysis.scan')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = eval(out.stdout)  # a printed list of module names
    assert "torch" not in loaded
    if "scan" in forbidden:
        assert loaded == []
