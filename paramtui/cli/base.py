"""What every command shares: usage errors, the parser class, the console, error reports,
exit codes and the one-line progress display.

stdout carries data only; progress, warnings and errors go to stderr. Under --json, errors are a
JSON document on stdout as well. Nothing here imports a command module.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, NoReturn

from paramtui.core.errors import ParamtuiError

if TYPE_CHECKING:
    from rich.console import Console

DEBUG_ENV = "PARAMTUI_DEBUG"
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141


class UsageError(ParamtuiError):
    """Bad command-line usage (argparse's errors, raised instead of exiting)."""

    exit_code = 2

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.usage = usage


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.format_usage())


def run_reported(dispatch: Callable[[list[str]], int], argv: Sequence[str]) -> int:
    """Run `dispatch(args)`, turning every way it can end into an exit code (and a message)."""
    args = list(argv)
    wants_json = "--json" in args
    try:
        return dispatch(args)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return pipe_closed()
    except ParamtuiError as exc:
        return report(str(exc), exc.exit_code, wants_json, getattr(exc, "usage", ""))
    except Exception as exc:  # never a traceback unless asked for
        return internal_error(exc, wants_json)


def console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def report(message: str, code: int, wants_json: bool, usage: str = "") -> int:
    from paramtui.render.format import safe_text

    if wants_json:
        from paramtui.render.json_out import error_json, write_json

        write_json(error_json(message, code), sys.stdout)
        sys.stdout.flush()
    sys.stderr.write(f"{usage}paramtui: error: {safe_text(message)}\n")
    return code


def internal_error(exc: Exception, wants_json: bool) -> int:
    if os.environ.get(DEBUG_ENV):
        traceback.print_exc()
    message = (
        f"internal error ({type(exc).__name__}: {exc}). This is a bug in paramtui; please report "
        f"it with the command you ran. Rerun with {DEBUG_ENV}=1 to see the traceback."
    )
    return report(message, EXIT_INTERNAL, wants_json)


def pipe_closed() -> int:
    """The reader went away (`| head`): silence the final flush instead of a second error."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_PIPE_CLOSED


class LineProgress:
    """A one-line progress display on a terminal (rewritten in place, cleared at the end)."""

    INTERVAL = 0.1  # seconds between redraws

    def __init__(self, stream: IO[str], label: str) -> None:
        self.stream, self.label = stream, label
        self.shown = False
        self.last = 0.0

    @classmethod
    def for_stderr(cls, label: str, quiet: bool) -> _Maybe:
        """Progress on stderr when it is a terminal; nothing when piped or with --quiet."""
        isatty = getattr(sys.stderr, "isatty", None)
        live = not quiet and isatty is not None and isatty()
        return _Maybe(cls(sys.stderr, label) if live else None)

    def __call__(self, done: int, total: int, name: str) -> None:
        now = time.monotonic()
        if now - self.last < self.INTERVAL and done < total:
            return
        self.last = now
        from paramtui.render.format import human_bytes, safe_text

        share = 100 * done / total if total else 100.0
        line = f"{self.label} {share:3.0f}%  {human_bytes(done)}/{human_bytes(total)}  "
        self.stream.write("\r\x1b[K" + (line + safe_text(name))[:79])
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


class _Maybe:
    """`with` wrapper yielding the progress callable (or None) and clearing its line."""

    def __init__(self, progress: LineProgress | None) -> None:
        self.progress = progress

    def __enter__(self) -> LineProgress | None:
        return self.progress

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.clear()
