"""The help screen's key table is generated from the real bindings: none can be left out."""

from __future__ import annotations

from pathlib import Path

from textual.binding import Binding

from paramtui import open_checkpoint
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.screens.help import HelpScreen, help_bindings
from paramtui.tui.screens.main import MainScreen
from paramtui.tui.views.help_keys import HELP_TEXT, help_id, key_display, key_rows
from paramtui.tui.widgets.module_tree import ModuleTree
from tui_helpers import asynctest, screen_text, wait_for, wait_for_tree, write_safetensors

TEXTS = {i: text for ids, text in HELP_TEXT for i in ids}


def _row_of(rows: list[tuple[str, str]], binding: Binding) -> tuple[str, str]:
    keys = key_display(binding)
    found = [row for row in rows if keys in row[0].split(" / ")]
    assert found, f"{binding.key!r} ({help_id(binding)}) is missing from the help"
    return found[0]


def test_every_binding_of_the_main_screen_is_in_the_help() -> None:
    bindings = help_bindings(ParamtuiApp)
    rows = key_rows(bindings)
    for binding in bindings:
        _, text = _row_of(rows, binding)
        assert text == TEXTS.get(help_id(binding), binding.description)
    # the sources are the real ones: the screen's, the tree's and the app's bindings
    assert set(MainScreen.BINDINGS) | set(ModuleTree.BINDINGS) | set(ParamtuiApp.BINDINGS) <= set(
        bindings
    )


def test_a_binding_without_help_text_shows_its_description() -> None:
    extra = Binding("ctrl+k", "keep", "Keep it", id="main.keep")
    rows = key_rows([*help_bindings(ParamtuiApp), extra])
    assert _row_of(rows, extra) == ("ctrl+k", "Keep it")


def test_the_help_text_names_only_real_bindings() -> None:
    known = {help_id(b) for b in help_bindings(ParamtuiApp)}
    assert set(TEXTS) <= known, set(TEXTS) - known


def test_keys_are_shown_as_typed() -> None:
    assert key_display(Binding("u,ctrl+z", "undo")) == "u, ctrl+z"
    assert key_display(Binding("shift+up", "x")) == "shift+↑"
    assert key_display(Binding("escape,q,question_mark", "x")) == "esc, q, ?"
    rows = key_rows([Binding("escape", "a", id="main.clear_filter"), Binding("escape", "b")])
    assert rows[0] == ("esc", "clear the filter")


@asynctest
async def test_the_help_screen_lists_the_keys(tmp_path: Path) -> None:
    path = tmp_path / "tiny.safetensors"
    write_safetensors(path)
    app = ParamtuiApp(open_checkpoint(path))
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_for_tree(pilot)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        shown = screen_text(app)
        for keys in ("u, ctrl+z", "shift+↑ / shift+↓", "tab / shift+tab", "ctrl+p"):
            assert keys in shown
        for keys in ("PgUp / PgDn", "Home / End"):  # the tree's own paging keys
            assert keys in shown
        assert "undo the last edit" in shown and "previous / next sibling" in shown


def test_the_collapse_key_says_what_it_does() -> None:
    """E collapses the module under the cursor (a tensor's parent) and everything below it."""
    text = TEXTS["tree.collapse_all"]
    assert "and everything below it" in text and "a tensor's parent" in text
