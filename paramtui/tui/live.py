"""`paramtui.browse(model, optimizer=None)`: the TUI on a live nn.Module, in this process.

It blocks like a debugger and returns when the user quits. Edits change the model at once
(under torch.no_grad()); undo puts the old values and flags back; `s` saves its state_dict."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn


def browse(model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> int:
    """Open the TUI on `model` (and `optimizer`'s state by parameter name); the exit code."""
    from paramtui.core.live import index_from_module
    from paramtui.tui.app import ParamtuiApp

    app = ParamtuiApp(index_from_module(model, optimizer))
    app.run()
    return app.return_code or 0
