"""`[` / `]` move the split between the tree and the detail pane; the width lasts the session.

The detail pane's share of the screen is one attribute, `detail_percent`, so a config file can
set it before the screen is shown."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from paramtui.tui.screens.main.host import ScreenHost

DEFAULT_PERCENT = 50
STEP = 5
LIMITS = (20, 80)  # the narrower side keeps a fifth of the screen


def clamp(percent: int) -> int:
    return max(LIMITS[0], min(LIMITS[1], percent))


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

    detail_percent = DEFAULT_PERCENT  # the session's width: kept across screens and reopenings

    def __init__(self, host: ScreenHost) -> None:
        self.host = host

    def apply(self) -> None:
        SplitController.detail_percent = clamp(SplitController.detail_percent)
        self.host.detail.styles.width = f"{SplitController.detail_percent}%"

    def move(self, cells: int) -> None:
        SplitController.detail_percent = clamp(SplitController.detail_percent + cells)
        self.apply()
