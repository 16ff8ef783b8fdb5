"""``riskengine scenario lint|play|debrief|pack``: the training capability's commands.

Nothing heavy is imported here: each handler imports what it needs when it runs, so
``riskengine evaluate`` starts as fast as before.

Imports at module level: the standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

__all__ = ["register", "scenario_schema"]

EXIT_OK, EXIT_INVALID = 0, 2


def scenario_schema() -> dict[str, object]:
    """The scenario document's JSON Schema (``riskengine schema scenario``)."""
    import riskengine

    from .model import Scenario

    return riskengine.json_schema(Scenario, "scenario")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2026-11-22") from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``scenario`` and its subcommands."""
    scenario = sub.add_parser("scenario", help="training scenarios: lint, play, debrief, facilitator pack")
    verbs = scenario.add_subparsers(dest="verb", required=True, metavar="VERB")

    lint = verbs.add_parser("lint", help="check scenarios; errors and warnings with file, line and field")
    lint.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    lint.add_argument("--format", choices=("text", "json"), default="text")
    lint.add_argument(
        "--as-of",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="judge consent dates by this day (default: today)",
    )
    lint.add_argument("--strict", action="store_true", help="warnings fail too")
    lint.set_defaults(handler=_lint)

    play = verbs.add_parser("play", help="play a scenario in the terminal for self-study")
    play.add_argument("file", type=Path)
    play.add_argument("--choices", default=None, metavar="dp1=b,dp2=a", help="play through without asking")
    play.set_defaults(handler=_play, format="text")

    debrief = verbs.add_parser("debrief", help="the engine debrief at one decision point")
    debrief.add_argument("file", type=Path)
    debrief.add_argument("decision_point", metavar="DECISION_POINT")
    debrief.add_argument("--format", choices=("text", "json"), default="text")
    debrief.set_defaults(handler=_debrief)

    pack = verbs.add_parser("pack", help="write the facilitator pack as print HTML or PDF")
    pack.add_argument("file", type=Path)
    pack.add_argument("-o", "--output", type=Path, required=True, metavar="pack.html|pack.pdf")
    pack.set_defaults(handler=_pack, format="text")


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files += sorted(path.rglob("*.scenario.yaml")) if path.is_dir() else [path]
    return files


def _lint(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._core import diagnostics_json, diagnostics_text
    from .linting import lint

    day = args.as_of or dt.date.today()  # is the consent in date today? (the one clock read in training)
    found = [d for path in _expand(args.paths) for d in lint(path, as_of=day)]
    if found:
        err.write((diagnostics_json(found) if args.format == "json" else diagnostics_text(found)) + "\n")
    errors = sum(d.severity == "error" for d in found)
    warnings = len(found) - errors
    if errors or (args.strict and warnings):
        return EXIT_INVALID
    out.write(f"ok: {len(_expand(args.paths))} scenarios, {warnings} warnings\n")
    return EXIT_OK


def _play(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .load import load_scenario
    from .solo import parse_choices, play

    scenario = load_scenario(args.file)
    choices = parse_choices(args.choices, scenario) if args.choices is not None else None
    return play(scenario, out, choices=choices, ask=_asker(out))


def _asker(out: TextIO) -> Callable[[str], str]:
    def ask(prompt: str) -> str:
        out.write(prompt)
        out.flush()
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    return ask


def _debrief(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .debriefing import debrief
    from .load import load_scenario
    from .text import debrief_text

    result = debrief(load_scenario(args.file), args.decision_point)
    out.write(
        json.dumps(result.to_dict(), indent=2) + "\n" if args.format == "json" else debrief_text(result)
    )
    return EXIT_OK


def _pack(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .load import load_scenario
    from .pack import write_pack

    write_pack(load_scenario(args.file), args.output)
    out.write(f"wrote {args.output}\n")
    return EXIT_OK
