"""The command registry: one module per subcommand, lazy imports, generated top-level help."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import paramtui.cli as cli
from paramtui.cli import overview, registry

PACKAGE = Path(cli.__file__).parent
SHARED_ARGUMENTS = {"paramtui.cli.commands.common_args", "paramtui.cli.commands.prefix_args"}
HEAVY_LAYERS = ("paramtui.analysis.scan", "paramtui.edits", "paramtui.io", "paramtui.tui")


def test_every_registered_module_declares_its_command() -> None:
    for command in registry.COMMANDS:
        module = command.load()
        assert command.name == module.NAME
        assert module.HELP and module.SYNOPSIS.startswith(f"paramtui {command.name}")
        assert module.OVERVIEW[0].startswith(f"paramtui {command.name}")
    assert registry.names() == cli.SUBCOMMANDS


def test_top_level_help_lists_every_command_from_the_registry() -> None:
    usage, epilog = overview.usage(), overview.epilog()
    for command in registry.COMMANDS:
        module = command.load()
        assert module.SYNOPSIS.splitlines()[0] in usage
        assert all(line in epilog for line in module.OVERVIEW[1])


def test_a_long_invocation_puts_its_description_on_the_next_line() -> None:
    first = "a description of fifty characters, give or take.."
    lines = overview.entry_lines("paramtui x " + "ARG " * 10, (first, "second"))
    assert lines[1:] == [" " * overview.COLUMN + first, " " * overview.COLUMN + "second"]
    assert overview.entry_lines("paramtui x", ("first",)) == ["  paramtui x".ljust(25) + "first"]


def test_parser_of_one_command_knows_only_that_command() -> None:
    ns = cli.command_parser(["stats"]).parse_args(["stats", "m.pth", "--bins", "3"])
    assert (ns.command, ns.bins) == ("stats", 3)
    with pytest.raises(cli.UsageError):
        cli.command_parser(["stats"]).parse_args(["scan", "m.pth"])


def _paramtui_modules_after(args: list[str]) -> list[str]:
    code = (
        "import sys, contextlib, io\n"
        "import paramtui.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert paramtui.cli.main({args!r}) == 0\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('paramtui'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("registry") / "small.safetensors"
    save_file({"a.weight": torch.randn(4, 4), "a.bias": torch.zeros(4)}, path)
    return str(path)


def test_stats_imports_only_its_own_command_module(small: str) -> None:
    loaded = _paramtui_modules_after(["stats", small, "-q"])
    assert "paramtui.cli.commands.stats" in loaded
    commands = {m for m in loaded if m.startswith("paramtui.cli.commands.")}
    assert commands <= {"paramtui.cli.commands.stats", *SHARED_ARGUMENTS}
    assert [
        m for m in loaded if m.startswith(("paramtui.edits", "paramtui.io", "paramtui.tui"))
    ] == []


def test_stats_imports_no_scan_edit_io_or_tui_module(small: str) -> None:
    loaded = _paramtui_modules_after(["stats", small, "a.weight", "-q"])
    assert [m for m in loaded if m.startswith(HEAVY_LAYERS)] == []


def _imports(path: Path) -> set[str]:
    """Every paramtui module `path` imports, at any level (function bodies included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("paramtui.")}


def _module_graph(root: Path, package: str) -> dict[str, set[str]]:
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join((package, *parts)).removesuffix(".__init__")
        modules[name] = path
    return {name: _imports(path) & modules.keys() for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                return [*trail, node, nxt]
            if nxt not in state and (found := visit(nxt, [*trail, node])):
                return found
        state[node] = 2
        return None

    return next((c for n in graph if n not in state and (c := visit(n, []))), None)


@pytest.mark.parametrize(
    ("folder", "package"),
    [(PACKAGE, "paramtui.cli"), (PACKAGE.parent / "core" / "formats", "paramtui.core.formats")],
)
def test_no_import_loops(folder: Path, package: str) -> None:
    graph = _module_graph(folder, package)
    graph = {name: {d for d in deps if d != package} for name, deps in graph.items()}
    assert _cycle(graph) is None


def test_cli_modules_import_each_other_at_top_level_only() -> None:
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            for node in ast.walk(func):
                if isinstance(node, ast.ImportFrom) and node.module:
                    assert not node.module.startswith("paramtui.cli"), (path, node.module)
