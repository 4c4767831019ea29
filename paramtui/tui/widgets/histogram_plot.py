"""The full histogram of one tensor, drawn to the widget's size (see histogram_draw).

The screen sets `data` and `log_scale`; the widget lays the drawing out for its current size and
styles each part (bars, zero line, quantile ticks, axis) from its component classes."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from paramtui.tui.views.histogram_draw import AXIS, BAR, MARK, ZERO, HistogramInput, draw

ROLE_CLASSES = {
    BAR: "histogram-plot--bar",
    ZERO: "histogram-plot--zero",
    MARK: "histogram-plot--mark",
    AXIS: "histogram-plot--axis",
}


class HistogramPlot(Widget):
    """Bars of a histogram with quantile ticks, a zero line and exact axis labels."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(ROLE_CLASSES.values())

    data: reactive[HistogramInput | None] = reactive(None)
    log_scale: reactive[bool] = reactive(False)

    def render(self) -> Text:
        data = self.data
        if data is None:
            return Text("")
        lines = draw(data, self.size.width, self.size.height, self.log_scale)
        text = Text()
        for i, line in enumerate(lines):
            if i:
                text.append("\n")
            for chunk, role in line:
                style = self.get_component_rich_style(ROLE_CLASSES[role]) if role else ""
                text.append(chunk, style=style)
        return text
