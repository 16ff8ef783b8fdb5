"""The ``riskengine`` command line. The one place that turns errors into exit codes.

Exit codes: 0 ok, 1 test failures, 2 invalid input or rulesets, 3 internal error.
Errors and warnings go to stderr, never as a traceback: as text lines,
``path:line:col: error[code] field: message``, or as a JSON array when ``--format json`` is
given, or when a command whose output is JSON by default (``evaluate``) writes to a stderr
that is not a terminal (a program is reading it). A proposal argument of ``-`` is read from
standard input, once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

from riskengine import (
    BACKENDS,
    DEFAULT_BACKEND,
    EXIT_INTERNAL,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_TEST_FAILURES,
    Diagnostic,
    Engine,
    Evaluation,
    Location,
    Proposal,
    RiskEngineError,
    Ruleset,
    RuleTestFile,
    Severity,
    __version__,
    diagnostics_json,
    diagnostics_text,
    json_schema,
    knowledge_catalogue,
    load_rulebook,
    load_test_file,
    proposal_from_data,
    proposal_warnings,
    read_input,
    read_proposal_input,
    render_person,
    render_text,
    rule_tests_json,
    rule_tests_text,
    run_rule_tests,
    write_file_atomically,
)
from riskengine.read.limits import limits_for
from riskengine.read.source import kind_of

__all__ = ["main"]

Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]
# Each capability adds its own commands: the module's ``register(sub)`` adds subparsers
# with ``set_defaults(handler=...)``. These modules import nothing heavy at import time
# (the handler imports its extra's libraries, and says which extra to install if absent).
CAPABILITY_COMMANDS: tuple[str, ...] = (
    "riskengine.fhir.commands",
    "riskengine.training.commands",
    "riskengine.service.commands",
    "riskengine.batch.commands",
    "riskengine.room.commands",
)
SCHEMAS: dict[str, Callable[[], dict[str, object]]] = {
    "proposal": lambda: json_schema(Proposal, "proposal"),
    "evaluation": lambda: json_schema(Evaluation, "evaluation"),
    "ruleset": lambda: json_schema(Ruleset, "ruleset"),
    "rule-test": lambda: json_schema(RuleTestFile, "rule-test"),
    "scenario": lambda: importlib.import_module("riskengine.training.commands").scenario_schema(),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="riskengine",
        description="Positive risk-taking decision support. It prompts; it never decides or grades.",
    )
    parser.add_argument("--version", action="version", version=f"riskengine {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    evaluate = sub.add_parser("evaluate", help="evaluate a proposal and print the evaluation")
    evaluate.add_argument("file", type=Path, help="proposal file (YAML or JSON); - reads standard input")
    _common(evaluate, formats=("json", "text", "person"), default="json")
    evaluate.add_argument(
        "--full", action="store_true",
        help="with --format text: every section, not only the brief and the questions for today",
    )  # fmt: skip
    _rulesets(evaluate)

    validate = sub.add_parser("validate", help="check rulesets, rule tests and proposals")
    validate.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="files or folders; - reads a proposal from standard input",
    )
    _common(validate, formats=("text", "json"), default="text")

    test = sub.add_parser("test", help="run the rule tests beside rulesets")
    test.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    _common(test, formats=("text", "json"), default="text")
    _rulesets(test)

    ecomap = sub.add_parser("ecomap", help="draw the person's safety net as an SVG eco-map")
    ecomap.add_argument("file", type=Path, help="proposal file (YAML or JSON); - reads standard input")
    ecomap.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.svg")
    _rulesets(ecomap)

    knowledge = sub.add_parser(
        "knowledge", help="list knowledge items and when their sources must be re-checked"
    )
    knowledge.add_argument("--stale", action="store_true", help="only items past their review-by date")
    knowledge.add_argument(
        "--as-of",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="the date to judge by (default: today)",
    )
    _common(knowledge, formats=("text", "json"), default="text")
    _rulesets(knowledge)

    schema = sub.add_parser("schema", help="print a JSON Schema")
    schema.add_argument("name", choices=sorted(SCHEMAS))
    for module in CAPABILITY_COMMANDS:
        importlib.import_module(module).register(sub)
    _mark_format_defaults(parser)
    return parser


class _Default(str):
    """A ``--format`` value that was not given on the command line, but is the command's default."""

    __slots__ = ()


def _mark_format_defaults(parser: argparse.ArgumentParser) -> None:
    """Mark every command's ``--format`` default, so :func:`diagnostics_format` knows what was asked for."""
    for action in parser._actions:
        if action.dest == "format" and isinstance(action.default, str):
            action.default = _Default(action.default)
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _mark_format_defaults(child)


def diagnostics_format(args: argparse.Namespace, err: TextIO) -> str:
    """``json`` or ``text``: how errors and warnings go to stderr for this command.

    JSON when ``--format json`` is given; text for any other format; for a command whose output
    is JSON by default, text on a terminal (a person is reading) and JSON otherwise (a program is).
    """
    fmt = getattr(args, "format", "text")
    if fmt != "json":
        return "text"
    if isinstance(fmt, _Default):
        return "text" if _is_terminal(err) else "json"
    return "json"


def _is_stdin(path: Path) -> bool:
    return str(path) == "-"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real stream
        return False


def _write_diagnostics(args: argparse.Namespace, err: TextIO, diagnostics: Sequence[Diagnostic]) -> None:
    if diagnostics:
        as_json = diagnostics_format(args, err) == "json"
        err.write((diagnostics_json(diagnostics) if as_json else diagnostics_text(diagnostics)) + "\n")


def _common(parser: argparse.ArgumentParser, *, formats: tuple[str, ...], default: str) -> None:
    parser.add_argument("--format", choices=formats, default=default)


def _rulesets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rulesets", action="append", type=Path, metavar="DIR",
        help="a rulesets directory (repeatable; later ones overlay earlier ones; default: the shipped rulesets)",
    )  # fmt: skip
    parser.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        msg = f"'{text}' is not a date like 2026-11-22"
        raise argparse.ArgumentTypeError(msg) from None


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: BinaryIO | None = None,
) -> int:
    """Run the command line; return the exit code. ``stdin`` is where ``-`` reads from."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = _parser().parse_args(argv)
    args.stdin = stdin if stdin is not None else sys.stdin.buffer
    try:
        handler: Handler = getattr(args, "handler", None) or COMMANDS[args.command]
        return handler(args, out, err)
    except RiskEngineError as exc:
        _write_diagnostics(args, err, exc.diagnostics)
        return exc.exit_code
    except Exception as exc:
        if os.environ.get("RISKENGINE_DEBUG"):
            raise
        err.write(f"riskengine: internal error: {type(exc).__name__}: {exc}\n")
        err.write("Please report this; set RISKENGINE_DEBUG=1 to see the traceback.\n")
        return EXIT_INTERNAL


def _evaluate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    proposal, warnings = read_proposal_input(args.file, args.stdin)
    engine = Engine.from_paths(args.rulesets, backend=args.backend)
    _write_diagnostics(args, err, warnings)
    evaluation = engine.evaluate(proposal)
    if args.format == "json":
        out.write(evaluation.to_json() + "\n")
    elif args.format == "person":
        out.write(render_person(evaluation))
    else:
        out.write(render_text(evaluation, full=args.full))
    return EXIT_OK


def _validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    problems: list[Diagnostic] = []
    counts = {"rulesets": 0, "rules": 0, "rule test files": 0, "proposals": 0}
    ruleset_files: list[Path] = []
    for path in _input_files(args.paths, problems):
        problems += _validate_file(path, counts, ruleset_files, args.stdin)
    if ruleset_files:
        try:
            book = load_rulebook(ruleset_files)
            counts["rulesets"], counts["rules"] = len(book.rulesets), len(book.rules)
            problems += book.warnings
            Engine.from_book(book)  # what loads must also compile on the default backend
        except RiskEngineError as exc:
            problems += exc.diagnostics
    _write_diagnostics(args, err, problems)
    if any(p.severity is Severity.ERROR for p in problems):
        return EXIT_INVALID
    out.write("ok: " + (", ".join(f"{n} {k}" for k, n in counts.items() if n) or "nothing to check") + "\n")
    return EXIT_OK


def _input_files(paths: Sequence[Path], problems: list[Diagnostic]) -> list[Path]:
    files: list[Path] = []
    for path in dict.fromkeys(paths):  # each once: standard input can be read only once
        if _is_stdin(path):
            files.append(path)
        elif path.is_dir():
            files += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix in {".yaml", ".yml", ".json"}
            )
        elif path.exists():
            files.append(path)
        else:
            problems.append(Diagnostic(Location(str(path)), "not-found", "", "no such file or directory"))
    return files


def _validate_file(
    path: Path, counts: dict[str, int], ruleset_files: list[Path], stdin: BinaryIO
) -> list[Diagnostic]:
    """Check one file by what it is: a rule test file, a ruleset (loaded later, together) or a proposal."""
    try:
        if path.name.endswith((".test.yaml", ".test.yml")):
            load_test_file(path)
            counts["rule test files"] += 1
            return []
        if path.name.endswith(
            (".scenario.yaml", ".scenario.yml")
        ):  # training (riskengine scenario lint says more)
            importlib.import_module("riskengine.training").load_scenario(path)
            counts["scenarios"] = counts.get("scenarios", 0) + 1
            return []
        document = read_input(
            path, stdin, limits_for("proposal" if _is_stdin(path) else kind_of(path))
        )  # a proposal is held to a proposal's limits
        if (
            not _is_stdin(path)
            and isinstance(document.data, dict)
            and {"rules", "sources"} & document.data.keys()
        ):
            ruleset_files.append(path)
            return []
        proposal = proposal_from_data(document.data, document.source)
        counts["proposals"] += 1
        return proposal_warnings(proposal, document.source)
    except RiskEngineError as exc:
        return list(exc.diagnostics)


def _test(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    report = run_rule_tests(args.paths, rulesets=args.rulesets)
    text = rule_tests_json(report) if args.format == "json" else rule_tests_text(report)
    out.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK if report.ok else EXIT_TEST_FAILURES


def _ecomap(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from riskengine.report.ecomap import render_ecomap  # the one internal: drawing stays out of the door

    proposal, warnings = read_proposal_input(args.file, args.stdin)
    evaluation = Engine.from_paths(args.rulesets, backend=args.backend).evaluate(proposal)
    _write_diagnostics(args, err, warnings)
    write_file_atomically(args.output, render_ecomap(proposal, evaluation))
    out.write(f"wrote {args.output}\n")
    return EXIT_OK


def _knowledge(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    book = Engine.from_paths(args.rulesets, backend="reference").book
    as_of = args.as_of or dt.date.today()  # the one place riskengine reads the clock: a maintenance listing
    entries = [e for e in knowledge_catalogue(book) if e.stale(as_of) or not args.stale]
    if args.format == "json":
        out.write(json.dumps([e.to_dict() for e in entries], indent=2) + "\n")
        return EXIT_OK
    for e in entries:
        flag = "STALE " if e.stale(as_of) else ""
        when = e.review_by.isoformat() if e.review_by else "no date"
        out.write(
            f"{flag}{e.id}  review by {when}  [{', '.join(e.jurisdictions)}]  {e.topic}: {e.source_title}\n"
        )
    what = "stale " if args.stale else ""
    out.write(f"{len(entries)} {what}knowledge items as of {as_of.isoformat()}\n")
    return EXIT_OK


def _schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    out.write(json.dumps(SCHEMAS[args.name](), indent=2, sort_keys=True) + "\n")
    return EXIT_OK


COMMANDS: dict[str, Handler] = {
    "evaluate": _evaluate,
    "validate": _validate,
    "test": _test,
    "schema": _schema,
    "ecomap": _ecomap,
    "knowledge": _knowledge,
}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
