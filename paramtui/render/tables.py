"""Rich renderables for `paramtui summary`. Every piece of file data goes in as a Text object
(never as markup), after safe_text, so names like "[bold]x" print literally."""

from __future__ import annotations

from collections.abc import Iterable

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from paramtui.analysis.summary import GroupRow, Summary
from paramtui.core.counts import RoleCounts
from paramtui.core.model import MetaEntry
from paramtui.core.roots import RootCounts
from paramtui.render.format import human_bytes, human_count, safe_text


def data(value: object) -> Text:
    """A cell holding data from a file: shown exactly, never parsed as markup."""
    return Text(safe_text(str(value)))


def summary_renderable(summary: Summary) -> RenderableType:
    parts: list[RenderableType] = [overview_table(summary)]
    if len(summary.roots) > 1:
        parts.append(roots_table(summary.roots))
    parts.append(group_table("By dtype", "dtype", summary.dtypes, summary.logical_nbytes))
    parts.append(group_table("By role", "role", summary.roles, summary.logical_nbytes))
    parts.append(group_table("Top level", "name", summary.modules, summary.logical_nbytes))
    if summary.metadata:
        parts.append(MetadataTable(summary.metadata))
    if summary.file_metadata:
        parts.append(pairs_table("File metadata", summary.file_metadata))
    if summary.notes:
        parts.append(notes_text(summary.notes))
    spaced: list[RenderableType] = []
    for part in parts:
        spaced.extend([part, Text("")])
    return Group(*spaced[:-1])


def overview_table(s: Summary) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    rows: list[tuple[str, Text]] = [
        ("checkpoint", data(s.path)),
        ("format", data(s.format)),
        ("tensors", Text(f"{s.num_tensors:,}{_shared_note(s.shared_groups)}")),
        ("parameters", Text(_numel_line(s))),
        ("size", Text(_size_line(s))),
        ("devices", data(_devices_line(s.devices))),
    ]
    if len(s.files) > 1:
        rows.insert(1, ("files", Text(f"{len(s.files)} files")))
    for label, value in rows:
        grid.add_row(label, value)
    return grid


def _shared_note(groups: int) -> str:
    if not groups:
        return ""
    plural = "storage is" if groups == 1 else "storages are"
    return f" ({groups} {plural} shared by several names)"


def _numel_line(s: Summary) -> str:
    """The primary model's parameters, then what else its file holds."""
    model = next((r for r in s.roots if r.kind == "model"), None)
    line = _count(s.parameter_numel)
    if model is not None and model.name:
        line += f" in '{safe_text(model.name)}'"
    extras = [f"{human_count(n)} {what}" for what, n in _extras(s.roots, model)]
    if extras:
        line += "; " + ", ".join(extras)
    return line


def _extras(roots: Iterable[RootCounts], model: RootCounts | None) -> list[tuple[str, int]]:
    """Buffers of the model, then every other root's elements by what they are."""
    out: list[tuple[str, int]] = []
    if model is not None and model.counts.buffers.numel:
        out.append(("buffers", model.counts.buffers.numel))
    for root in roots:
        if root is model:
            continue
        what = {"ema": "in an EMA copy", "optimizer": "of optimizer state"}.get(root.kind)
        if root.counts.headline:
            out.append((what or f"in '{safe_text(root.name) or 'the rest'}'", root.counts.headline))
    return out


def roots_table(roots: Iterable[RootCounts]) -> Table:
    """One row per model, EMA copy, optimizer and other part: elements by role."""
    table = titled_table("By part (tied weights once)")
    table.add_column("part")
    table.add_column("kind")
    for name in ("tensors", "parameters", "buffers", "optimizer", "other"):
        table.add_column(name, justify="right")
    for root in roots:
        c: RoleCounts = root.counts
        cells = [c.parameters, c.buffers, c.optimizer_state, c.other]
        table.add_row(
            data(root.name or "(top level)"),
            root.kind,
            f"{c.tensors:,}",
            *(human_count(t.numel) if t.numel else "-" for t in cells),
        )
    return table


def _count(n: int) -> str:
    short = human_count(n)
    return short if short == str(n) else f"{short} ({n:,})"


def _size_line(s: Summary) -> str:
    line = f"{human_bytes(s.storage_nbytes)} of tensor data on disk"
    if s.logical_nbytes != s.storage_nbytes:
        line += f" ({human_bytes(s.logical_nbytes)} counting every name on its own)"
    return line


def _devices_line(devices: Iterable[tuple[str | None, int]]) -> str:
    parts = [f"{d if d is not None else 'not recorded'} ({n:,})" for d, n in devices]
    return ", ".join(parts) or "-"


def group_table(title: str, label: str, rows: Iterable[GroupRow], total_bytes: int) -> Table:
    table = titled_table(title)
    table.add_column(label)
    for name in ("tensors", "elements", "size", "share"):
        table.add_column(name, justify="right")
    for row in rows:
        share = f"{100 * row.nbytes / total_bytes:.1f}%" if total_bytes else "-"
        table.add_row(
            data(row.name),
            f"{row.tensors:,}",
            human_count(row.numel),
            human_bytes(row.nbytes),
            share,
        )
    return table


class MetadataTable:
    """Non-tensor entries: names and types in full, each value a one-line preview cut to fit
    the width (a plain Table would squeeze the names to nothing beside long previews)."""

    def __init__(self, entries: Iterable[MetaEntry]) -> None:
        self.entries = list(entries)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        name_width = min(max((len(e.name) for e in self.entries), default=4), 48, width // 2)
        type_width = min(max((len(e.type_name) for e in self.entries), default=4), width // 4)
        longest_value = max((len(e.preview) for e in self.entries), default=5)
        value_width = max(8, min(longest_value, width - name_width - type_width - 4))
        table = titled_table("Metadata (non-tensor entries)")
        table.add_column("name", overflow="fold", width=name_width)
        table.add_column("type", overflow="fold", width=type_width)
        table.add_column("value", no_wrap=True, width=value_width)
        for e in self.entries:
            value = data(e.preview)
            value.truncate(value_width, overflow="ellipsis")
            table.add_row(data(e.name), data(e.type_name), value)
        yield table


def pairs_table(title: str, pairs: Iterable[tuple[str, str]]) -> Table:
    table = titled_table(title)
    table.add_column("key")
    table.add_column("value", overflow="fold")
    for key, value in pairs:
        table.add_row(data(key), data(value))
    return table


def notes_text(notes: Iterable[str]) -> Text:
    text = Text("Notes\n", style="bold")
    for note in notes:
        text.append(f"  - {safe_text(note)}\n")
    return text


def titled_table(title: str) -> Table:
    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
