"""Render diagnostics and test reports for a terminal or as JSON.

The evaluation's text report is :mod:`riskengine.textreport` (``evaluation_text`` is
kept here as its old name); the person's own copy is :mod:`riskengine.person`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from .errors import Diagnostic
from .testing import TestReport
from .textreport import render_text as evaluation_text

__all__ = ["diagnostics_json", "diagnostics_text", "evaluation_text", "rule_tests_json", "rule_tests_text"]

def diagnostics_text(diagnostics: Iterable[Diagnostic]) -> str:
    """One ``path:line:col: error[code] field: message`` line per diagnostic."""
    return "\n".join(d.render() for d in diagnostics)


def diagnostics_json(diagnostics: Iterable[Diagnostic]) -> str:
    """Diagnostics as a JSON array."""
    return json.dumps([d.to_dict() for d in diagnostics], indent=2)


def rule_tests_text(report: TestReport) -> str:
    """Failures, known gaps, untested rules and the closing count line."""
    lines = [diagnostics_text(report.errors)] if report.errors else []
    for r in report.results:
        lines += [f"{r.location}: FAIL {r.ruleset}: {r.name}: {f}" for f in r.failures]
        lines += [f"{r.location}: known gap {r.ruleset}: {r.name}: {g}" for g in r.gaps]
    lines += [
        f"untested: rule '{rule}' in {ruleset} is fired by no case in its test file"
        for ruleset, rule in report.untested
    ]
    lines.append(report.summary())
    return "\n".join(lines) + "\n"


def rule_tests_json(report: TestReport) -> str:
    """The test report as JSON."""
    return json.dumps(
        {
            "ok": report.ok,
            "summary": report.summary(),
            "errors": [d.to_dict() for d in report.errors],
            "untested": [{"ruleset": s, "rule": r} for s, r in report.untested],
            "cases": [
                {
                    "file": r.file,
                    "line": r.location.line,
                    "ruleset": r.ruleset,
                    "name": r.name,
                    "failures": list(r.failures),
                    "known_gaps": list(r.gaps),
                }
                for r in report.results
            ],
        },
        indent=2,
    )
