"""`[` / `]` move the split between the tree and the detail pane; the width lasts the session.

The detail pane's share of the screen is a `SplitWidth` the app owns (set from the config file's
`[layout] detail_width`) and hands to every main screen it shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.binding import Binding, BindingType

from paramtui.tui.screens.main.host import ScreenHost

DEFAULT_PERCENT = 50
STEP = 5
LIMITS = (20, 80)  # the narrower side keeps a fifth of the screen


def clamp(percent: int) -> int:
    return max(LIMITS[0], min(LIMITS[1], percent))


@dataclass
class SplitWidth:
    """The detail pane's share of the screen, in percent."""

    percent: int = DEFAULT_PERCENT


class SplitController:
    """The detail pane's width, in percent of the screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "left_square_bracket",
            "detail_narrower",
            "Pane narrower",
            show=False,
            id="main.detail_narrower",
        ),  # fmt: skip
        Binding(
            "right_square_bracket", "detail_wider", "Pane wider", show=False, id="main.detail_wider"
        ),  # fmt: skip
    ]

    def __init__(self, host: ScreenHost, width: SplitWidth) -> None:
        self.host = host
        self.width = width

    def apply(self) -> None:
        self.width.percent = clamp(self.width.percent)
        self.host.detail.styles.width = f"{self.width.percent}%"

    def move(self, cells: int) -> None:
        self.width.percent = clamp(self.width.percent + cells)
        self.apply()
