"""The batch's progress display: a rich progress bar on a terminal, nothing otherwise.

rich comes with the ``batch`` extra; without it a terminal gets a plain one-line counter.
Progress goes to stderr only when stderr is a terminal, so logs and pipes stay clean.

May import: the standard library, rich (optional).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TextIO

__all__ = ["progress_bar"]


class _Counts(Protocol):
    evaluated: int
    failed: int
    kept: int


Update = Callable[[Any], None]


@contextlib.contextmanager
def progress_bar(err: TextIO) -> Iterator[Update | None]:
    """A progress callback for :func:`riskengine.batch.pipeline.run_batch`, or None off a terminal."""
    if not (hasattr(err, "isatty") and err.isatty()):
        yield None
        return
    try:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    except ImportError:
        yield from _plain(err)
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(file=err), transient=True) as bar:
        task = bar.add_task("batch", total=None, counts="")

        def update(summary: _Counts) -> None:
            bar.update(task, counts=_text(summary))

        yield update


def _plain(err: TextIO) -> Iterator[Update]:
    last = [0.0]

    def update(summary: _Counts) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5:
            last[0] = now
            err.write(f"\r{_text(summary)}")
            err.flush()

    yield update
    err.write("\r\x1b[K")


def _text(summary: _Counts) -> str:
    kept = f", {summary.kept:,} kept" if summary.kept else ""
    return f"{summary.evaluated:,} evaluated, {summary.failed:,} failed{kept}"
