"""``riskengine batch``: inputs → executor → output, streaming, in order, resumable.

Memory holds the chunks in flight and nothing else: items are read as the executor asks for
them, results are written a chunk at a time, and ``--resume`` reads the earlier output line by
line alongside the inputs. Resuming continues the same inputs in the same order: the records
already in the output are matched with the inputs by position and checked by their ``input``
(so an error line with no readable id is skipped as surely as an evaluated one, and the final
file is the one an uninterrupted run writes).

May import: the standard library, ``riskengine`` public names, the batch modules.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import riskengine

from . import records
from .executor import Executor, InlineExecutor, LocalExecutor, RulesetSpec, Task, engines_for
from .inputs import Item, check_inputs, iter_items
from .output import Output, Written, open_output, refuse

__all__ = ["Summary", "evaluate_item", "run_batch"]


@dataclass(slots=True)
class Summary:
    """What a batch run did."""

    evaluated: int = 0
    failed: int = 0
    kept: int = 0  # records already in the output (--resume), not evaluated again
    kept_failed: int = 0
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0

    @property
    def all_evaluated(self) -> bool:
        """True when no record in the output is an error line."""
        return not (self.failed or self.kept_failed)

    def line(self, out: str) -> str:
        """The one-line summary for stderr."""
        rate = (
            f" ({self.evaluated + self.failed:,.0f} records at {(self.evaluated + self.failed) / self.seconds:,.0f}/s)"
            if self.seconds
            else ""
        )
        kept = (
            f"; {self.kept:,} already in {out} kept ({self.kept_failed:,} of them errors)"
            if self.kept
            else ""
        )
        return f"batch: {self.evaluated:,} evaluated, {self.failed:,} failed in {self.seconds:.1f} s{rate}{kept} -> {out}"


def evaluate_item(engines: tuple[riskengine.Engine, ...], item: Item) -> tuple[bytes, bool]:
    """The batch task: the output line for one item (encoded in the worker), and whether it was evaluated."""
    line, ok = records.evaluate_record(
        engines[0], item.text, source=item.source, line=item.line, unreadable=item.unreadable
    )
    return line.encode("utf-8"), ok


def run_batch(
    inputs: Sequence[str],
    out: str,
    *,
    rulesets: Sequence[Path | str] | None = None,
    backend: str = riskengine.DEFAULT_BACKEND,
    workers: int | None = None,
    resume: bool = False,
    stdin: BinaryIO | None = None,
    executor: Executor | None = None,
    progress: Callable[[Summary], None] | None = None,
    function: Callable[[tuple[riskengine.Engine, ...], Item], tuple[bytes, bool]] | None = None,
) -> Summary:
    """Evaluate every record of ``inputs`` into ``out``; raise for invalid inputs or rulesets.

    ``workers`` 0 runs in this process; None uses every core. ``executor`` overrides both (the
    Dask executor comes in this way). ``progress`` is called after every chunk written.
    ``function`` replaces :func:`evaluate_item` (a module-level function giving a line and
    whether it counts as evaluated; the benchmark times the plumbing alone with one).
    """
    check_inputs(inputs)
    spec = RulesetSpec.of(rulesets, backend)
    engines_for([spec])  # invalid rulesets stop the batch here (exit 2), before any output
    summary = Summary()
    output = open_output(out, resume=resume)
    exclude = None if out == "-" else Path(out)
    items = _after_kept(iter_items(inputs, stdin=stdin, exclude=exclude), output, summary)
    pool = executor or (InlineExecutor() if workers == 0 else LocalExecutor(workers))
    try:
        for results in pool.map_chunks(Task(function or evaluate_item, (spec,)), items):
            output.write([line for line, _ in results])
            ok = sum(evaluated for _, evaluated in results)
            summary.evaluated += ok
            summary.failed += len(results) - ok
            if progress is not None:
                progress(summary)
    finally:
        summary.seconds = time.monotonic() - summary.started
        if executor is None:
            pool.close()
        output.close()
    if not (summary.evaluated or summary.failed or summary.kept):
        refuse(", ".join(inputs), "no-proposals", "no proposals found in the inputs")
    return summary


def _after_kept(items: Iterable[Item], output: Output, summary: Summary) -> Iterator[Item]:
    """The items after those already in the output, which must be the same inputs in order."""
    earlier = output.written()
    stream = iter(items)
    for item in stream:
        record = next(earlier, None)
        if record is None:
            yield item
            yield from stream
            return
        _same_input(record, item, output.path, summary.kept + 1)
        summary.kept += 1
        summary.kept_failed += not record.ok
    extra = next(earlier, None)
    if extra is not None:
        refuse(f"{output.path}:{summary.kept + 1}", "resume-mismatch",
               f"holds more records than the inputs give (this one is for '{extra.input}'): --resume continues the same inputs")  # fmt: skip


def _same_input(record: Written, item: Item, path: str, number: int) -> None:
    if record.input != item.label:
        refuse(f"{path}:{number}", "resume-mismatch",
               f"is the record for '{record.input}' but the inputs give '{item.label}' here: "
               "--resume continues the same inputs in the same order")  # fmt: skip
