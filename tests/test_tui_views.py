"""The closer views: full histogram, module table, health scan, and which keys apply where."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch
from textual.widgets import DataTable

import paramtui.analysis.scan.run as scan_module
from paramtui import open_checkpoint
from paramtui.core.tree import natural_key
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.screens.histogram import HistogramScreen, bins_for
from paramtui.tui.screens.main import MainScreen
from paramtui.tui.screens.module_table import ModuleTableScreen
from paramtui.tui.screens.scan import ScanScreen
from paramtui.tui.views.histogram_draw import ColumnLayout, HistogramInput, draw, eighths
from paramtui.tui.views.value_format import formatter
from paramtui.tui.widgets.histogram_plot import HistogramPlot
from scan_helpers import planted_state, save
from tui_helpers import SIZE, asynctest, screen_text, tree_of, wait_for, wait_for_tree
from tui_view_helpers import open_view, write_views_file


@pytest.fixture
def views(tmp_path: Path) -> tuple[Path, dict[str, torch.Tensor]]:
    path = tmp_path / "views.safetensors"
    return path, write_views_file(path)


def plot_lines(screen: HistogramScreen) -> list[str]:
    return screen.query_one(HistogramPlot).render().plain.split("\n")


@asynctest
async def test_histogram_view_bins_log_toggle_and_quantiles(views) -> None:  # type: ignore[no-untyped-def]
    path, state = views
    app = ParamtuiApp(open_checkpoint(path))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_view(pilot, "vector", "h", HistogramScreen)
        await wait_for(pilot, lambda: screen.stats is not None, timeout=60)
        await pilot.pause()
        stats = screen.stats
        assert len(stats.histogram_counts) == bins_for(SIZE[0]) > 64  # more than the pane's
        assert sum(stats.histogram_counts) == state["vector"].numel()
        linear = plot_lines(screen)
        ticks = linear[-3]
        assert ticks.count("┬") >= 5  # quantile ticks (the median may hide the zero tick)
        assert " 0 " in linear[-1]  # the zero line's label
        assert "50" in linear[-2] and "1" in linear[-2]
        low, high = formatter("float32")(stats.min), formatter("float32")(stats.max)
        assert linear[-1].startswith(low) and linear[-1].endswith(high)  # exact min and max
        assert "quantiles" in screen_text(app) and "50%" in screen_text(app)
        # the std shown is the population one (torch.std(unbiased=False)), and it says so
        expected = state["vector"].double().std(unbiased=False).item()
        assert stats.std == pytest.approx(expected, rel=1e-5)
        assert "(population: ÷ n, not n − 1)" in screen_text(app)
        await pilot.press("l")
        assert screen.query_one(HistogramPlot).log_scale
        logged = plot_lines(screen)
        assert logged != linear and logged[-3:] == linear[-3:]  # the bars change, not the axis
        assert "log scale" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


def test_histogram_drawing_merges_bins_and_marks_quantiles() -> None:
    layout = ColumnLayout.fit(128, 50)
    assert (layout.per_col, layout.columns) == (3, 43)  # whole bins per column, never split
    assert ColumnLayout.fit(16, 50).columns == 48  # 3 columns per bin
    assert eighths([0, 1, 1000], 2, log=False) == [0, 1, 16]  # a single value stays visible
    assert eighths([1, 10, 100], 4, log=True)[0] > eighths([1, 10, 100], 4, log=False)[0]
    edges = [-2.0 + i * 0.5 for i in range(9)]  # 8 bins over [-2, 2]
    data = HistogramInput(edges, [1, 2, 3, 4, 1, 3, 2, 1], -2.0, 2.0, {50.0: 0.5, 99.0: 1.9}, str)
    lines = ["".join(seg[0] for seg in line) for line in draw(data, 16, 6, False)]  # 2 cols/bin
    assert lines[-3] == "─" * 8 + "┼─┬────┬"  # zero at bin 4, median 0.5 at 5, p99 in bin 7
    assert lines[-2].split() == ["50", "99"]
    assert lines[0][7] == "█" and lines[0][8] == "│"  # the zero line above a short bar
    assert lines[-1].startswith("-2.0") and lines[-1].endswith("2.0")
    no_quantiles = HistogramInput(edges, [1] * 8, -2.0, 2.0, None, str)
    assert "┬" not in "".join(seg[0] for seg in draw(no_quantiles, 8, 6, False)[-3])


@asynctest
async def test_module_table_sorts_and_goes_to_a_tensor(views) -> None:  # type: ignore[no-untyped-def]
    path, state = views
    app = ParamtuiApp(open_checkpoint(path))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_view(pilot, "block", "t", ModuleTableScreen)
        await wait_for(pilot, lambda: screen.pending == 0, timeout=60)
        await pilot.pause()
        table = screen.query_one(DataTable)

        def order() -> list[str]:
            return [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(4)]

        names = [f"block.{i}.weight" for i in range(4)]
        assert order() == sorted(names, key=natural_key)
        norm = {n: torch.nan_to_num(state[n], nan=0.0).norm().item() for n in names}
        await pilot.press("4")  # L2 norm: largest first
        assert order() == sorted(names, key=norm.get, reverse=True)
        await pilot.press("4")  # again: smallest first
        assert order() == sorted(names, key=norm.get)
        assert "NaN" in screen_text(app)  # block.2 is flagged
        await pilot.press("2")  # flags: the NaN tensor first
        assert order()[0] == "block.2.weight"
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert tree_of(app).cursor_node.data.path == "block.0.weight"  # ties keep file order


@asynctest
async def test_scan_lists_planted_nan_and_goes_to_it(tmp_path: Path) -> None:
    path = save(planted_state(), tmp_path / "planted.pth")
    app = ParamtuiApp(open_checkpoint(path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_tree(pilot)
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, ScanScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.report is not None, timeout=120)
        await pilot.pause()
        findings = screen.query_one("#scan-findings", DataTable)
        rows = [findings.get_row_at(i) for i in range(findings.row_count)]
        kinds = {(r[1].plain, r[2].plain.split()[0]) for r in rows}
        assert ("nan", "layers.1.fc1.weight") in kinds and (
            "exploding",
            "layers.5.q_proj.weight",
        ) in kinds
        text = screen_text(app)
        assert "Trends across layers" in text and "q_proj" in text
        nan_row = next(i for i, r in enumerate(rows) if r[1].plain == "nan")
        findings.move_cursor(row=nan_row)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert tree_of(app).cursor_node.data.path == "layers.1.fc1.weight"
        assert app.workspace.scan_report is not None
        await pilot.press("S")  # the report is kept: shown at once
        await wait_for(pilot, lambda: isinstance(app.screen, ScanScreen))
        assert app.screen.report is app.workspace.scan_report


@asynctest
async def test_scan_is_cancelled_by_escape(
    views,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, _ = views
    stopped = threading.Event()

    def endless(index, progress=None, should_cancel=None, **_):  # type: ignore[no-untyped-def]
        from paramtui.analysis.stats.compute import StatsCancelled

        while not should_cancel():
            progress(1, 2, "cube")
            stopped.wait(0.01)
        stopped.set()
        raise StatsCancelled("cube")

    monkeypatch.setattr(scan_module, "scan", endless)
    app = ParamtuiApp(open_checkpoint(path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_tree(pilot)
        await pilot.press("S")
        await wait_for(pilot, lambda: "cube" in screen_text(app))
        assert not app.screen.check_action("rescan", ())  # dimmed while running
        await pilot.press("escape")
        await wait_for(pilot, lambda: stopped.is_set())
        assert isinstance(app.screen, MainScreen)
        assert app.workspace.scan_report is None


@asynctest
async def test_view_keys_are_dimmed_where_they_do_not_apply(views) -> None:  # type: ignore[no-untyped-def]
    path, _ = views
    app = ParamtuiApp(open_checkpoint(path))
    async with app.run_test(size=SIZE) as pilot:
        tree = await wait_for_tree(pilot)
        screen = app.screen
        tree.reveal("block")
        await pilot.pause()
        assert screen.check_action("histogram", ()) is None
        assert screen.check_action("values", ()) is None
        assert screen.check_action("module_table", ()) is True
        await pilot.press("h")  # dimmed: nothing opens
        assert app.screen is screen
        tree.reveal("block.0.weight")
        await pilot.pause()
        assert screen.check_action("histogram", ()) is True
        assert screen.check_action("values", ()) is True
        assert screen.check_action("module_table", ()) is None
        assert screen.check_action("scan", ()) is True


def test_finding_detail_styles_only_the_severity() -> None:
    from paramtui.analysis.scan.findings import Finding
    from paramtui.tui.views.scan_rows import finding_cells, finding_detail

    finding = Finding("nan", "error", ("a.[b]", "c"), "holds 1 NaN. More words.", {})
    text = finding_detail(finding)
    assert text.style == "" and text.plain.startswith("error nan: holds 1 NaN.")
    assert "names: a.[b], c" in text.plain  # names are data: no markup
    cells = finding_cells(finding)
    assert [c.plain for c in cells] == ["error", "nan", "a.[b] +1", "holds 1 NaN"]
