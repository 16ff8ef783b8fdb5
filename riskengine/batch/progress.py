"""The batch's progress display: a rich progress bar on a terminal, nothing otherwise.

rich comes with the ``batch`` extra; without it a terminal gets a plain one-line counter.
Progress goes to stderr only when stderr is a terminal, so logs and pipes stay clean.

May import: the standard library, rich (optional), :mod:`.inputs`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

__all__ = ["progress_bar"]


class _Counts(Protocol):
    evaluated: int
    failed: int
    kept: int


Update = Callable[[Any], None]


@contextlib.contextmanager
def progress_bar(err: TextIO, inputs: Sequence[str] = ()) -> Iterator[Update | None]:
    """A progress callback for :func:`riskengine.batch.pipeline.run_batch`, or None off a terminal.

    With rich, the bar gets a total (and a time left) once a background count of the records in
    ``inputs`` is done; standard input cannot be counted ahead, so the bar then only pulses.
    """
    if not (hasattr(err, "isatty") and err.isatty()):
        yield None
        return
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
    except ImportError:
        yield from _plain(err)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[counts]}"),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=Console(file=err), transient=True) as bar:
        task = bar.add_task("batch", total=None, counts="")
        if inputs and "-" not in inputs:
            counter = threading.Thread(
                target=lambda: bar.update(task, total=count_records(inputs)), daemon=True
            )
            counter.start()

        def update(summary: _Counts) -> None:
            bar.update(
                task, completed=summary.evaluated + summary.failed + summary.kept, counts=_text(summary)
            )

        yield update


def count_records(inputs: Sequence[str]) -> int:
    """About how many records ``inputs`` hold (an NDJSON file's lines, one per other file), cheaply."""
    from .inputs import iter_files

    total = 0
    for path in iter_files(inputs):
        if path.name.endswith((".ndjson", ".jsonl")):
            total += _lines_in(path)
        else:
            total += 1
    return total


def _lines_in(path: Path) -> int:
    lines = 0
    with contextlib.suppress(OSError), path.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
    return lines


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
