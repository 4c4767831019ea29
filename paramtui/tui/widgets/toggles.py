"""Radio buttons and checkboxes that read the same without colour.

Textual draws an off toggle and an on toggle with the same glyph in different colours; in a
16-colour or colourless terminal they look alike. These leave the inside blank when off."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Checkbox, RadioButton


class LegibleRadioButton(RadioButton):
    @property
    def _button(self) -> Content:
        return _blank_when_off(self, super()._button)


class LegibleCheckbox(Checkbox):
    @property
    def _button(self) -> Content:
        return _blank_when_off(self, super()._button)


class DialogCheckbox(LegibleCheckbox, inherit_bindings=False):
    """A check box in a dialog whose default button says "(enter)": space toggles it, enter
    is left to the dialog."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_button", "Toggle", show=False),
    ]


def _blank_when_off(toggle: RadioButton | Checkbox, button: Content) -> Content:
    """The button with its middle cell replaced by a space while the toggle is off."""
    if toggle.value or len(button.plain) != 3:
        return button
    text = button.plain
    return Content(text[0] + " " + text[2], spans=list(button.spans))
