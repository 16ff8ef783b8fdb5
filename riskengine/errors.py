"""Errors as data, and the one exception tree.

Every problem riskengine finds in its input is a :class:`Diagnostic`: a code, a
message, the dotted field it concerns, a :class:`Severity`, a ``hint`` (a likely fix,
such as "did you mean 'x'?", kept apart from the message so tools can offer it) and,
where the input came from a file, the 1-based line and column. Stages collect all their
diagnostics and raise one exception carrying them, so a user fixes everything in one pass.

This module imports nothing from riskengine: every stage may import it.

::

    RiskEngineError                 base; only the CLI catches it wholesale
    ├── InputError                  a proposal or test file is malformed
    ├── RulesetError                rulesets do not load, validate or compile
    └── EvaluationError             evaluation failed at run time
        └── BackendError            the rule backend misbehaved (cause chained)
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import Enum

__all__ = [
    "EXIT_INTERNAL",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_TEST_FAILURES",
    "MAX_PROBLEMS",
    "QUOTED_CHARS",
    "BackendError",
    "Diagnostic",
    "EvaluationError",
    "InputError",
    "Location",
    "RiskEngineError",
    "RuleRefused",
    "RulesetError",
    "Severity",
    "at_most",
    "closest",
    "diagnostics_json",
    "diagnostics_text",
    "did_you_mean",
    "json_pointer",
    "quoted",
]

EXIT_OK = 0
EXIT_TEST_FAILURES = 1
EXIT_INVALID = 2
EXIT_INTERNAL = 3

# The most problems one document (a proposal) or one load (rulesets) reports: enough to fix in
# one pass, never megabytes of them.
MAX_PROBLEMS = 100


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A place in an input file. ``line`` and ``column`` are 1-based; 0 means unknown."""

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}:{self.column}"
        return self.path


class Severity(str, Enum):
    """How much a diagnostic matters: an ``error`` stops the input being used; a ``warning`` does not."""

    ERROR = "error"
    WARNING = "warning"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """One problem found in an input, with where it is and, if known, a fix (``hint``)."""

    location: Location
    code: str
    field: str
    message: str
    severity: Severity = dataclass_field(default=Severity.ERROR, compare=False)
    hint: str = dataclass_field(default="", compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.severity, Severity):  # accept "error" / "warning" from callers
            object.__setattr__(self, "severity", Severity(self.severity))

    def render(self) -> str:
        """Format as ``path:line:col: error[code] field: message; hint``."""
        where = f" {self.field}:" if self.field else ""
        hint = f"; {self.hint}" if self.hint else ""
        return f"{self.location}: {self.severity}[{self.code}]{where} {self.message}{hint}"

    def to_dict(self) -> dict[str, object]:
        """Serialise for ``--format json`` (``hint`` is ``""`` when there is none)."""
        return {
            "path": self.location.path,
            "line": self.location.line,
            "column": self.location.column,
            "severity": self.severity.value,
            "code": self.code,
            "field": self.field,
            "message": self.message,
            "hint": self.hint,
        }


class RiskEngineError(Exception):
    """Root of every error riskengine raises on purpose."""

    exit_code = EXIT_INVALID

    def __init__(self, diagnostics: Iterable[Diagnostic] | str) -> None:
        if isinstance(diagnostics, str):
            diagnostics = [Diagnostic(Location("<riskengine>"), "error", "", diagnostics)]
        self.diagnostics: tuple[Diagnostic, ...] = tuple(sorted(diagnostics))
        super().__init__("\n".join(d.render() for d in self.diagnostics))


class InputError(RiskEngineError):
    """A proposal, a rule test file or another input document is malformed."""


class RulesetError(RiskEngineError):
    """One or more rulesets failed to parse, validate or compile."""


class RuleRefused(RulesetError):
    """A backend cannot run one rule (e.g. too wide for durable-rules): the engine locates it."""

    def __init__(self, rule_id: str, ruleset: str, reason: str) -> None:
        self.rule_id, self.ruleset, self.reason = rule_id, ruleset, reason
        super().__init__(f"rule '{rule_id}' ({ruleset}) {reason}")


class EvaluationError(RiskEngineError):
    """Evaluation failed after the inputs were accepted."""


class BackendError(EvaluationError):
    """The rule backend failed or broke one of its invariants."""


QUOTED_CHARS = 80  # the most of a value a message repeats


def quoted(value: object) -> str:
    """``value`` for a message, in single quotes, cut to at most 80 characters of it.

    Free text (a person's words) is never quoted at all: say which field and how long it is.
    """
    text = value if isinstance(value, str) else repr(value)
    if len(text) > QUOTED_CHARS:
        text = f"{text[: QUOTED_CHARS - 1]}… ({len(text):,} characters)"
    return f"'{text}'"


def closest(value: object, choices: Sequence[str]) -> str:
    """The hint ``"did you mean 'x'?"`` for the closest choice, or ``""`` (for ``Diagnostic.hint``)."""
    if (
        not isinstance(value, str) or len(value) > 200
    ):  # nothing that long is a near miss (and difflib is quadratic)
        return ""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def did_you_mean(value: object, choices: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` to append to a message, or ``""``.

    Kept for callers that build one message; new code puts :func:`closest` in ``Diagnostic.hint``.
    """
    hint = closest(value, choices)
    return f"; {hint}" if hint else ""


def diagnostics_text(diagnostics: Iterable[Diagnostic]) -> str:
    """One ``path:line:col: error[code] field: message`` line per diagnostic."""
    return "\n".join(d.render() for d in diagnostics)


def diagnostics_json(diagnostics: Iterable[Diagnostic]) -> str:
    """Diagnostics as a JSON array."""
    return json.dumps([d.to_dict() for d in diagnostics], indent=2)


def json_pointer(field: str) -> str:
    """RFC 6901 JSON pointer for a dotted field path: ``network[0].kind`` -> ``/network/0/kind``."""
    if not field:
        return ""
    parts: list[str] = []
    for chunk in field.split("."):
        name, _, rest = chunk.partition("[")
        if name:
            parts.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            parts.append(index)
            rest = rest.removeprefix("[")
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def at_most(problems: Iterable[Diagnostic], where: Location, limit: int = MAX_PROBLEMS) -> list[Diagnostic]:
    """The first ``limit`` problems in file order and, if there were more, a ``more-problems``
    note at ``where`` saying how many are not shown."""
    found = sorted(problems)
    if len(found) <= limit:
        return found
    message = f"{len(found) - limit:,} more problems are not shown; fix these first"
    return [*found[:limit], Diagnostic(where, "more-problems", "", message)]
