"""``riskengine batch``, ``riskengine impact`` and ``riskengine synth``: the batch capability's commands.

Nothing heavy is imported here: each handler imports what it needs when it runs.

Imports at module level: the standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from .executor import CHUNK_ITEMS

__all__ = ["register"]

EXIT_OK, EXIT_SOME_FAILED, EXIT_INTERRUPTED = 0, 1, 130


def _count(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is negative")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``batch``, ``impact`` and ``synth``."""
    from riskengine import BACKENDS, DEFAULT_BACKEND

    batch = sub.add_parser(
        "batch", help="evaluate many proposals (files, directories, NDJSON) into one NDJSON file"
    )
    batch.add_argument("inputs", nargs="+", metavar="INPUT",
                       help="a proposal file, a directory of them, an NDJSON file, or - for NDJSON on stdin")  # fmt: skip
    batch.add_argument(
        "-o", "--output", required=True, metavar="OUT.ndjson", help="the output (- for stdout)"
    )
    batch.add_argument("--rulesets", action="append", type=Path, metavar="DIR",
                       help="a rulesets directory (repeatable; later ones overlay earlier ones; default: the shipped rulesets)")  # fmt: skip
    batch.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND)
    batch.add_argument("--workers", type=_count, default=None, metavar="N",
                       help="worker processes (default: every core; 0: in this process)")  # fmt: skip
    batch.add_argument("--resume", action="store_true",
                       help="continue an interrupted run: keep OUT's complete lines, evaluate the rest")  # fmt: skip
    batch.add_argument(
        "--format", choices=("text", "json"), default="text", help="how input problems are reported"
    )
    _dask_option(batch)
    batch.set_defaults(handler=_batch)
    _register_impact(sub, BACKENDS, DEFAULT_BACKEND)

    synth = sub.add_parser("synth", help="write a synthetic corpus of valid proposals (no real person)")
    synth.add_argument("--count", type=_count, required=True, metavar="N")
    synth.add_argument(
        "--seed", type=int, default=0, metavar="S", help="the same seed gives the same corpus (default 0)"
    )
    synth.add_argument(
        "-o", "--output", required=True, metavar="FILE.ndjson", help="the corpus (- for stdout)"
    )
    synth.set_defaults(handler=_synth, format="text")


def _batch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .pipeline import run_batch
    from .progress import progress_bar

    with _executor(args.dask, args.dask_chunk) as executor, progress_bar(err, args.inputs) as progress:
        try:
            summary = run_batch(
                args.inputs,
                args.output,
                rulesets=args.rulesets,
                backend=args.backend,
                workers=args.workers,
                resume=args.resume,
                stdin=sys.stdin.buffer,
                executor=executor,
                progress=progress,
            )
        except KeyboardInterrupt:
            err.write(f"batch: interrupted; {args.output} is complete up to its last line: "
                      "run the same command with --resume to continue\n")  # fmt: skip
            return EXIT_INTERRUPTED
    err.write(summary.line(args.output) + "\n")
    return EXIT_OK if summary.all_evaluated else EXIT_SOME_FAILED


def _dask_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="run on a Dask cluster: a scheduler address (tcp://host:8786), or local:N to start "
                        "N worker processes on this machine (needs the dask extra; --workers is then ignored)")  # fmt: skip
    parser.add_argument("--dask-chunk", type=_positive, default=CHUNK_ITEMS, metavar="N",
                        help=f"with --dask: records per task sent to the cluster (default {CHUNK_ITEMS}; "
                        "larger chunks spend less on the scheduler per record, see docs/batch.md)")  # fmt: skip


def _register_impact(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], backends: Sequence[str], default: str
) -> None:
    impact = sub.add_parser(
        "impact", help="which proposals a ruleset change (or a date) would evaluate differently, and how"
    )
    impact.add_argument("corpus", nargs="+", metavar="CORPUS",
                        help="proposal files, directories of them, NDJSON files, or - for NDJSON on stdin")  # fmt: skip
    impact.add_argument("--before", action="append", type=Path, metavar="DIR",
                        help="a rulesets directory before the change (repeatable, in order; default: the shipped rulesets)")  # fmt: skip
    impact.add_argument("--after", action="append", type=Path, metavar="DIR",
                        help="a rulesets directory after the change (repeatable, in order)")  # fmt: skip
    impact.add_argument("--as-of", type=_date, metavar="DATE",
                        help="instead of --after: the knowledge each evaluation would mark as due for re-checking on DATE")  # fmt: skip
    impact.add_argument(
        "--json", type=Path, metavar="OUT", help="write the full report as JSON (every changed proposal)"
    )
    impact.add_argument(
        "--markdown", type=Path, metavar="OUT", help="write the readable report to OUT instead of stdout"
    )
    impact.add_argument("--fail-on-change", action="store_true",
                        help="exit 1 if any proposal's evaluation changes (for an overlay's CI)")  # fmt: skip
    impact.add_argument("--backend", choices=backends, default=default)
    impact.add_argument("--workers", type=_count, default=None, metavar="N",
                        help="worker processes (default: every core; 0: in this process)")  # fmt: skip
    _dask_option(impact)
    impact.set_defaults(handler=_impact, format="text")


def _positive(text: str) -> int:
    value = _count(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2026-11-22") from None


@contextlib.contextmanager
def _executor(address: str | None, chunk_items: int = CHUNK_ITEMS) -> Iterator[Any]:
    """The Dask executor for ``--dask ADDRESS`` (closed afterwards), or None for the local pool."""
    if address is None:
        yield None
        return
    from .dask import DaskExecutor

    with DaskExecutor(address, chunk_items=chunk_items) as executor:
        yield executor


def _impact(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .impact import run_impact

    with _executor(args.dask, args.dask_chunk) as executor:
        try:
            run, text = run_impact(
                args.corpus,
                before=args.before,
                after=args.after,
                as_of=args.as_of,
                backend=args.backend,
                workers=args.workers,
                executor=executor,
                json_out=args.json,
                markdown_out=args.markdown,
            )
        except KeyboardInterrupt:
            err.write("impact: interrupted; no report written\n")
            return EXIT_INTERRUPTED
    if args.markdown is None:
        out.write(text)
    err.write(run.line() + "\n")
    return EXIT_SOME_FAILED if args.fail_on_change and run.changed else EXIT_OK


def _synth(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .synth import write_corpus

    write_corpus(args.output, count=args.count, seed=args.seed)
    err.write(f"synth: {args.count:,} proposals (seed {args.seed}) -> {args.output}\n")
    return EXIT_OK
