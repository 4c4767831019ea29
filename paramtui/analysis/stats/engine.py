"""Runs an accumulator over a tensor's chunks: on several threads when the accumulator can merge.

The calling thread and a few helper threads take chunks (zero-copy views of the mapped file, or
materialised blocks of strided tensors) from one shared iterator; each adds them to its own
accumulator with torch limited to one thread (two threads per core would fight, and a chunk must
reduce to the same numbers whichever thread takes it), and the accumulators are merged at the end.
The calling thread alone asks should_cancel(), reports progress and drops the pages that every
thread has finished with. Memory stays at a chunk or two per thread.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

MAX_WORKERS = 8
WORKERS: int | None = None  # None: one per torch thread, up to MAX_WORKERS
PROGRESS_STEPS = 40  # at most this many progress calls per pass


class StatsCancelled(Exception):
    """should_cancel() said stop; the statistics were abandoned between two chunks."""


class Accumulator(Protocol):
    parallel: bool

    def add(self, index: int, x: Any) -> None: ...


@dataclass
class Hooks:
    numel: int
    progress: Callable[[float], None] | None = None
    should_cancel: Callable[[], bool] | None = None
    released: Callable[[int], None] | None = None  # elements all workers are done with


def run(
    chunks: Iterable[Any], make: Callable[[], Any], hooks: Hooks, chunk: int, serial: bool = False
) -> Any:
    """Add every chunk to accumulators from `make` and return one merged accumulator (on this
    thread alone when `serial`: GPU chunks gain nothing from more threads)."""
    workers = worker_count()
    first = make()
    if serial or not first.parallel or workers < 2 or hooks.numel <= chunk:
        return _run_here(first, chunks, hooks)
    return _Pool(first, make, workers, hooks).run(chunks)


def worker_count() -> int:
    import torch

    wanted = WORKERS if WORKERS is not None else torch.get_num_threads()
    return max(1, min(wanted, MAX_WORKERS))


def _run_here(acc: Any, chunks: Iterable[Any], hooks: Hooks) -> Any:
    meter = _Meter(hooks)
    for index, x in enumerate(chunks):
        meter.check_cancel()
        acc.add(index, x)
        meter.finished(index, x.numel())
    meter.check_cancel()
    return acc


class _Pool:
    """The calling thread and `workers - 1` helpers take chunks from one shared iterator; the
    calling thread alone talks to the caller (cancel, progress, release) between its chunks."""

    def __init__(self, first: Any, make: Callable[[], Any], workers: int, hooks: Hooks) -> None:
        self.accs = [first] + [make() for _ in range(workers - 1)]
        self.meter = _Meter(hooks)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.finished: deque[tuple[int, int]] = deque()  # (index, size), from any thread

    def run(self, chunks: Iterable[Any]) -> Any:
        import torch

        self.chunks = enumerate(chunks)
        helpers = [
            threading.Thread(target=self._help, args=(acc,), daemon=True) for acc in self.accs[1:]
        ]
        own = torch.get_num_threads()
        torch.set_num_threads(1)  # every chunk is reduced alike, whichever thread takes it
        try:
            for thread in helpers:
                thread.start()
            self._lead(self.accs[0])
        finally:
            self.stop.set()
            for thread in helpers:
                thread.join()
            torch.set_num_threads(own)
        if self.errors:
            raise self.errors[0]
        self._report()
        self.meter.check_cancel()
        first = self.accs[0]
        for other in self.accs[1:]:
            first.merge(other)
        return first

    def _lead(self, acc: Any) -> None:
        while not self.stop.is_set():
            self._report()
            self.meter.check_cancel()
            if not self._one(acc):
                return

    def _help(self, acc: Any) -> None:
        import torch

        torch.set_num_threads(1)
        try:
            while not self.stop.is_set() and self._one(acc):
                pass
        except BaseException as exc:  # handed to the calling thread
            self.errors.append(exc)
            self.stop.set()

    def _one(self, acc: Any) -> bool:
        """Reduce the next chunk; False when there is none left."""
        with self.lock:
            item = next(self.chunks, None)
            if item is None:
                return False
            self.meter.sizes.append(item[1].numel())
        acc.add(*item)
        self.finished.append((item[0], item[1].numel()))
        return True

    def _report(self) -> None:
        while self.finished:
            index, size = self.finished.popleft()
            self.meter.finished(index, size)


class _Meter:
    """Progress, cancellation and the release watermark, on the calling thread."""

    def __init__(self, hooks: Hooks) -> None:
        self.hooks = hooks
        self.sizes: list[int] = []
        self.count = 0  # chunks finished
        self.elements = 0
        self.reported = 0.0
        self.failed = False
        self._finished: set[int] = set()
        self._mark = 0  # chunks before this are all finished
        self._marked_elements = 0

    def check_cancel(self) -> None:
        if self.hooks.should_cancel is not None and self.hooks.should_cancel():
            self.failed = True
            raise StatsCancelled

    def finished(self, index: int, size: int) -> None:
        self.count += 1
        self.elements += size
        numel, progress = self.hooks.numel, self.hooks.progress
        if (
            progress is not None
            and numel
            and self.elements / numel - self.reported >= (1 / PROGRESS_STEPS)
        ):
            self.reported = self.elements / numel
            progress(self.reported)
        if self.hooks.released is not None:
            self._advance(index, size)

    def _advance(self, index: int, size: int) -> None:
        if index != self._mark:
            self._finished.add(index)
            return
        self._mark += 1
        self._marked_elements += size
        while self._mark in self._finished:
            self._finished.remove(self._mark)
            self._marked_elements += self.sizes[self._mark] if self._mark < len(self.sizes) else 0
            self._mark += 1
        assert self.hooks.released is not None
        self.hooks.released(self._marked_elements)
