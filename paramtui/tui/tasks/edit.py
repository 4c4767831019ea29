"""The edit worker's body: apply an edit, or undo / redo, and post what happened.

Runs in a thread, one edit at a time (copying a large storage or pruning takes a while). It
posts EditFinished with the session's new marks, or EditFailed with a reason for the user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message_pump import MessagePump

from paramtui.core.errors import ParamtuiError
from paramtui.tui.messages import EditFailed, EditFinished, EditPreviewed
from paramtui.tui.views.edit_marks import marks_of

if TYPE_CHECKING:
    from paramtui.edits.effects import EditRecord
    from paramtui.edits.ops import Op
    from paramtui.edits.session import EditSession


def run_edit(session: EditSession, kind: str, op: Op | None, target: MessagePump) -> None:
    """`kind` is "apply" or "preview" (with `op`), "undo" or "redo"."""
    record: EditRecord | None
    try:
        if kind == "preview":
            assert op is not None
            target.post_message(EditPreviewed(session.preview(op)))
            return
        if kind == "apply":
            assert op is not None
            record = session.apply(op)
        else:
            record = session.undo() if kind == "undo" else session.redo()
        marks = marks_of(session)
    except ParamtuiError as exc:  # EditRefused included: its message says why
        target.post_message(EditFailed(str(exc)))
    except Exception as exc:  # noqa: BLE001 - report it, keep the app and the session
        target.post_message(EditFailed(f"the edit failed: {exc!r}"))
    else:
        target.post_message(EditFinished(kind, record, marks))
