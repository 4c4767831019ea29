"""The main screen's banner: the index's notes in at most two lines; `i` shows them in full.

Each note is one line, cut with an ellipsis where the terminal is narrow; past two notes the
second line says how many more there are."""

from __future__ import annotations

from rich.text import Text

from paramtui.tui.views import fmt

BANNER_LINES = 2
MORE_HINT = "i: all notes · "


def banner_lines(notes: list[str]) -> list[str]:
    """The banner's lines, each meant to be drawn on one row."""
    lines = [fmt.printable(note) for note in notes[:BANNER_LINES]]
    if len(notes) > BANNER_LINES:
        lines[-1] = f"… and {len(notes) - BANNER_LINES + 1} more notes"
    return lines


def banner_text(notes: list[str]) -> Text:
    """The lines with the hint first (a line too long for the screen is cut at its end)."""
    text = Text(MORE_HINT, style="dim")
    for i, line in enumerate(banner_lines(notes)):
        text.append(("\n" if i else "") + line)
    return text
