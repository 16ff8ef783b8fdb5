"""``riskengine batch`` and ``riskengine synth``: the batch capability's commands.

Nothing heavy is imported here: each handler imports what it needs when it runs.

Imports at module level: the standard library only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

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
    """Add ``batch`` and ``synth``."""
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
    batch.set_defaults(handler=_batch)

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

    with progress_bar(err, args.inputs) as progress:
        try:
            summary = run_batch(
                args.inputs,
                args.output,
                rulesets=args.rulesets,
                backend=args.backend,
                workers=args.workers,
                resume=args.resume,
                stdin=sys.stdin.buffer,
                progress=progress,
            )
        except KeyboardInterrupt:
            err.write(f"batch: interrupted; {args.output} is complete up to its last line: "
                      "run the same command with --resume to continue\n")  # fmt: skip
            return EXIT_INTERRUPTED
    err.write(summary.line(args.output) + "\n")
    return EXIT_OK if summary.all_evaluated else EXIT_SOME_FAILED


def _synth(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .synth import write_corpus

    write_corpus(args.output, count=args.count, seed=args.seed)
    err.write(f"synth: {args.count:,} proposals (seed {args.seed}) -> {args.output}\n")
    return EXIT_OK
