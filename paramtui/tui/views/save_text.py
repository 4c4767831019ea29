"""What the save-as dialog says: the format a path implies and the report of a finished save.

Pure functions over paths and SaveReport; no widgets, no I/O beyond os.path checks."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rich.text import Text

from paramtui.tui.views import fmt

if TYPE_CHECKING:
    from paramtui.io.save import SaveReport

FORMAT_NAMES = {"torch": "torch zip", "safetensors": "safetensors", "dcp": "DCP folder"}
SHARDED_HINT = "→ sharded safetensors folder (5 GB shards + model.safetensors.index.json)"


def same_file(a: str, b: str) -> bool:
    """True when both paths name one file (or, if missing, the same absolute path)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def destination(text: str) -> str:
    """The absolute path typed in the dialog, keeping a trailing separator (a folder)."""
    text = text.strip()
    if not text:
        return ""
    path = os.path.abspath(os.path.expanduser(text))
    return path + os.sep if text.endswith(("/", os.sep)) else path


def format_hint(
    text: str, source: str, dcp: bool = False, source_format: str | None = None
) -> Text:
    """'→ torch zip' / '→ safetensors' / '→ DCP folder' (when `dcp` is ticked), or what is wrong
    with the path, and an overwrite note. An extension that does not tell the format (`.tar`)
    keeps the source's (`source_format`, the index's): the hint says so."""
    from paramtui.core.errors import SaveRefused
    from paramtui.io.destination import is_folder, output_format, output_format_of_name

    path = destination(text)
    if not path:
        return Text("type a file name", style="italic")
    if not dcp and is_folder(path):
        hint = Text(SHARDED_HINT)
    else:
        try:
            kind = "dcp" if dcp else output_format(path, source_format=source_format)
        except SaveRefused:
            return Text(
                "end the name with .pth .pt .bin .ckpt or .safetensors, or / for a folder",
                style="bold",
            )
        hint = Text(f"→ {FORMAT_NAMES[kind]}")
        if not dcp and output_format_of_name(path) is None:
            hint.append(" (as the source: the extension does not say)")
    if same_file(path, source):
        hint.append("  (overwrites the open checkpoint: asks first)", style="bold")
    elif os.path.exists(path):
        hint.append("  (exists: asks before replacing it)", style="bold")
    return hint


def report_text(report: SaveReport, intents: int = 0) -> Text:
    """Where, how big, how long, and whether the reopened output matched."""
    text = Text("✓ saved ", style="bold")
    text.append(fmt.printable(report.path))
    text.append(f"\n  {FORMAT_NAMES.get(report.format, report.format)} ({report.method})")
    text.append(f" · {fmt.size(report.bytes_written)} · {report.seconds:.2f} s")
    if report.verified:
        text.append(f"\n  verified ✓ {fmt.grouped(report.checks)} tensors checked", style="bold")
    else:
        text.append("\n  verification FAILED ✗ — see the notes", style="bold reverse")
    if report.files:
        text.append(f"\n  {len(report.files)} shard(s) + {fmt.printable(report.index_file)}")
    edited = len(report.edited)
    text.append(f"\n  {edited} edited tensor{'' if edited == 1 else 's'} written")
    if intents:
        text.append(f", requires_grad recorded for {intents}")
    for note in report.notes:
        text.append(f"\n  · {fmt.printable(note)}", style="italic")
    return text
