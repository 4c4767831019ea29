"""What the detail pane says about a tensor, a module or the whole file, as rich renderables.

Pure functions of the index: no widgets, no I/O, so they are easy to test. Every name from the
file goes through Text (never markup)."""

from __future__ import annotations

import os

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from paramtui.core.counts import RoleCounts
from paramtui.core.model import CheckpointIndex, TensorInfo
from paramtui.core.roots import RootCounts, count_roots
from paramtui.core.tree import ModuleNode
from paramtui.tui.views import fmt
from paramtui.tui.views.dotted import DottedName
from paramtui.tui.views.edit_marks import EDITED, FROZEN, TRAINABLE, EditMarks
from paramtui.tui.views.module_summary import tensor_table, training_rows

NOT_RECORDED = "not recorded"
MAX_META_ROWS = 60
PART_NAMES = {"model": "model", "ema": "EMA copy", "optimizer": "optimizer", "other": "other"}

Row = tuple[str, str | Text | DottedName]


def rows_table(rows: list[Row]) -> Table:
    """Two columns: a dim key and its value."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, Text(value) if isinstance(value, str) else value)
    return table


TextRow = tuple[str, str | Text]


def assignments(rows: list[TextRow]) -> Text:
    """`key = value` lines for entries whose keys can be long (metadata); lines wrap as text."""
    out = Text()
    for i, (key, value) in enumerate(rows):
        out.append("\n" if i else "")
        out.append(key, style="dim")
        out.append(" = ", style="dim")
        out.append(value if isinstance(value, Text) else Text(value))
    return out


def section(title: str, body: RenderableType) -> Group:
    return Group(Text(title, style="bold underline"), body, Text(""))


NO_MARKS = EditMarks()


def tensor_rows(info: TensorInfo, index: CheckpointIndex, marks: EditMarks = NO_MARKS) -> list[Row]:
    edited = info.name in marks.edited
    rows: list[Row] = [("name", DottedName(fmt.printable(info.name), style="bold"))]
    if edited:
        rows.append(("values", Text(f"{EDITED} edited in this session", style="bold")))
    return rows + [
        ("shape", f"{list(info.shape)}"),
        ("dtype", info.dtype if info.layout == "strided" else f"{info.dtype} ({info.layout})"),
        ("saved on", info.device or NOT_RECORDED),
        ("elements", fmt.grouped(info.numel)),
        ("bytes", f"{fmt.size(info.nbytes)} ({fmt.grouped(info.nbytes)})"),
        ("layout", _layout(info)),
        ("storage", _sharing(info, index)),
        ("role", info.role if info.role_recorded else f"{info.role} (from name)"),
        ("trainable", _trainable_now(info, marks)),
        ("gradient", _gradient(info.has_grad)),
        ("file", Text("in memory (edited copy)") if edited else _where(info, index)),
    ]


def _layout(info: TensorInfo) -> str:
    text = f"stride {list(info.stride)}, "
    text += "contiguous" if info.is_contiguous else "not contiguous"
    if info.storage_offset:
        text += f", storage offset {fmt.grouped(info.storage_offset)}"
    return text


def _sharing(info: TensorInfo, index: CheckpointIndex) -> Text:
    if info.name not in index.tensors:
        return Text("its own storage (created by an edit)")
    others = index.shared_with(info.name)
    if not others:
        return Text("its own storage")
    shown = ", ".join(fmt.printable(n) for n in others[:3])
    more = f" (+{len(others) - 3} more)" if len(others) > 3 else ""
    verb = "tied with" if all(index.tensors[n].shape == info.shape for n in others) else "shares"
    return Text(f"{verb} {shown}{more}")


def _trainable(requires_grad: bool | None) -> str:
    if requires_grad is None:
        return NOT_RECORDED
    return "trainable (requires_grad)" if requires_grad else "frozen (requires_grad=False)"


def _trainable_now(info: TensorInfo, marks: EditMarks) -> Text:
    intent = marks.intents.get(info.name)
    if intent is None:
        return Text(_trainable(info.requires_grad))
    state = f"{TRAINABLE} trainable" if intent else f"{FROZEN} frozen"
    return Text(f"{state} (edited; requires_grad={intent})", style="bold")


def _gradient(has_grad: bool | None) -> str:
    if has_grad is None:
        return NOT_RECORDED
    return "saved with a .grad" if has_grad else "no .grad saved"


def _where(info: TensorInfo, index: CheckpointIndex) -> Text:
    if index.live is not None:  # a live nn.Module (core.live)
        return Text(f"in memory on {fmt.printable(info.device or '?')}")
    if info.location is None:
        return Text("bytes cannot be mapped")
    name = fmt.printable(os.path.basename(info.location.path))
    if len(index.files) <= 1:
        return Text(f"byte offset {fmt.grouped(info.location.offset)}")
    return Text(f"{name} @ {fmt.grouped(info.location.offset)}")


def module_rows(node: ModuleNode, root: ModuleNode, marks: EditMarks = NO_MARKS) -> list[Row]:
    """A module's aggregate; `root` (the whole checkpoint) gives the shares."""
    rows: list[Row] = (
        [("module", DottedName(fmt.printable(node.path), style="bold"))] if node.path else []
    )
    rows += [
        ("tensors", fmt.grouped(node.num_tensors)),
        *([("holds", counts_text(node.counts))] if node is not root else []),
        ("elements", f"{fmt.grouped(node.numel)} ({fmt.count(node.numel)})"),
        ("bytes", f"{fmt.size(node.nbytes)} ({fmt.grouped(node.nbytes)})"),
    ]
    if node is not root:
        rows.append(("share", _share(node, root.numel, root.nbytes)))
    if marks.any:
        rows.extend(_edit_rows(node.path, marks))
    for i, (dtype, nbytes) in enumerate(node.bytes_by_dtype().items()):
        value = f"{dtype} {fmt.size(nbytes)} ({fmt.percent(nbytes, node.nbytes)})"
        rows.append(("by dtype" if i == 0 else "", value))
    return rows


def _edit_rows(path: str, marks: EditMarks) -> list[Row]:
    edited, frozen, unfrozen = marks.count_under(path)
    parts = [
        f"{glyph} {n:,} {what}"
        for glyph, n, what in (
            (EDITED, edited, "tensors edited"),
            (FROZEN, frozen, "frozen"),
            (TRAINABLE, unfrozen, "unfrozen"),
        )
        if n
    ]
    return [("edits", Text(" · ".join(parts) + " in this session", style="bold"))] if parts else []


def _share(node: ModuleNode, total_numel: int, total_bytes: int) -> str:
    return (
        f"{fmt.percent(node.numel, total_numel)} of elements, "
        f"{fmt.percent(node.nbytes, total_bytes)} of bytes"
    )


def counts_text(counts: RoleCounts) -> str:
    """`207K params · 1.2K buffers · 313K optimizer state`: elements by role, tied weights once."""
    parts = [
        f"{fmt.count(tally.numel)} {what}"
        for what, tally in (
            ("params", counts.parameters),
            ("buffers", counts.buffers),
            ("optimizer state", counts.optimizer_state),
            ("other", counts.other),
        )
        if tally.numel
    ]
    return " · ".join(parts) or "no elements"


def part_rows(roots: tuple[RootCounts, ...]) -> list[Row]:
    """One row per model, EMA copy, optimizer and other part (a plain state dict: one)."""
    rows: list[Row] = []
    for root in roots:
        where = f"'{fmt.printable(root.name)}': " if root.name not in ("", root.kind) else ""
        rows.append((PART_NAMES.get(root.kind, root.kind), where + counts_text(root.counts)))
    return rows


def file_rows(index: CheckpointIndex, root: ModuleNode | None = None) -> list[Row]:
    """The file; with the tree's `root`, what each part of it holds."""
    rows: list[Row] = [
        ("file", Text(fmt.printable(os.path.basename(index.path.rstrip("/"))))),
        ("format", index.format),
        ("tensors", fmt.grouped(len(index.tensors))),
        *(part_rows(count_roots(index, root)) if root is not None else []),
        ("on disk", f"{fmt.size(index.storage_nbytes)} of tensor data"),
    ]
    if len(index.files) > 1:
        rows.append(("files", f"{len(index.files)} shards"))
    rows.extend(("note", Text(note)) for note in index.notes)
    return rows


def metadata_rows(
    index: CheckpointIndex, prefix: str, skip: frozenset[str] = frozenset()
) -> list[TextRow]:
    """Non-tensor entries (epoch, hyper-parameters) under `prefix`, shallow names first, minus
    those under the top-level modules in `skip` (shown when that module is selected); at the
    top, also the file's own metadata."""
    rows: list[TextRow] = []
    entries = sorted(index.metadata.values(), key=lambda e: e.name.count("."))
    for entry in entries:
        inside = not prefix or entry.name.startswith(prefix + ".")
        if inside and entry.name.split(".", 1)[0] not in skip:
            value = Text(fmt.printable(entry.preview))
            value.append(f"  ({entry.type_name})", style="dim")
            rows.append((fmt.printable(entry.name[len(prefix) + 1 if prefix else 0 :]), value))
    if not prefix:
        for key, text in sorted(index.file_metadata.items()):  # writers store them unordered
            rows.append((fmt.printable(key), Text(fmt.printable(text))))
    if len(rows) > MAX_META_ROWS:
        rows = rows[:MAX_META_ROWS] + [("…", f"{len(rows) - MAX_META_ROWS} more entries")]
    return rows


def describe(
    node: ModuleNode, root: ModuleNode, index: CheckpointIndex, marks: EditMarks = NO_MARKS
) -> RenderableType:
    """Everything the detail pane shows above the statistics."""
    parts: list[RenderableType] = []
    if node.tensor is not None:
        parts.append(section("Tensor", rows_table(tensor_rows(node.tensor, index, marks))))
    if not node.is_leaf:
        title = "Checkpoint" if node.path == "" else "Module"
        rows = module_rows(node, root, marks)
        if node is not root:
            rows += training_rows(node, marks.intents)
        parts.append(section(title, rows_table(rows)))
        tensors = tensor_table(node) if node is not root else None
        if tensors is not None:
            parts.append(section("Tensors", tensors))
    if node.path == "":
        rows = file_rows(index, root)
        if marks.dirty:
            rows.append(("edits", Text("unsaved — s saves an edited copy", style="bold")))
        parts.append(section("File", rows_table(rows)))
    skip = frozenset(c.name for c in node.children) if node.path == "" else frozenset()
    meta = metadata_rows(index, node.path, skip)
    if meta and (node.path == "" or not node.is_leaf):
        parts.append(section("Metadata", assignments(meta)))
    return Group(*parts)
