"""No output string ends with a stray newline or space.

YAML's folded block scalars (``>``) end with a newline, which used to reach every prompt, note
and knowledge item written that way, and from them the JSON, the texts and the rule test report.
Every string an evaluation, a renderer, a diagnostic or the rule test report gives is checked
here; a document as a whole ends with exactly one newline.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from riskengine import (
    Engine,
    InputError,
    load_proposal,
    proposal_warnings,
    read_document,
    render_person,
    render_text,
    rule_tests_json,
    rule_tests_text,
    run_rule_tests,
)
from riskengine.cli import main

from .paths import FIXTURES, ROOT, SCENARIO_PROPOSALS, SHIPPED

PROPOSALS = sorted(
    [p for p in (FIXTURES / "activities").rglob("*.yaml") if not p.name.endswith(".expect.yaml")]
    + list(SCENARIO_PROPOSALS.glob("*.yaml"))
)


def _strings(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{where}[{i}]")


def _stray(value: str) -> bool:
    return value != value.rstrip() or value != value.lstrip()


def test_no_evaluation_string_has_stray_whitespace(shipped: Engine) -> None:
    """Every string in every fixture's evaluation JSON, the person's own words aside."""
    found = []
    for path in PROPOSALS:
        evaluation = json.loads(shipped.evaluate(load_proposal(path)).to_json())
        found += [(path.name, where) for where, text in _strings(evaluation) if _stray(text)]
    assert found == []


def test_every_rendered_text_ends_with_one_newline_and_no_line_with_a_space(shipped: Engine) -> None:
    found = []
    for path in PROPOSALS:
        evaluation = shipped.evaluate(load_proposal(path))
        for name, text in [("text", render_text(evaluation)), ("full", render_text(evaluation, full=True)),
                           ("person", render_person(evaluation))]:  # fmt: skip
            if not text.endswith("\n") or text.endswith("\n\n"):
                found.append((path.name, name, "end"))
            found += [(path.name, name, line) for line in text.splitlines() if line != line.rstrip()]
    assert found == []


def test_no_diagnostic_message_or_hint_has_stray_whitespace() -> None:
    """Errors and warnings from the bad fixtures, and warnings from every proposal."""
    diagnostics = []
    for path in sorted((FIXTURES / "bad").rglob("*.yaml")):
        try:
            document = read_document(path)
            diagnostics += proposal_warnings(load_proposal(path), document.source)
        except InputError as exc:
            diagnostics += exc.diagnostics
    for path in PROPOSALS:
        diagnostics += proposal_warnings(load_proposal(path), read_document(path).source)
    assert len(diagnostics) > 10
    assert [d.render() for d in diagnostics if _stray(d.message) or _stray(d.hint)] == []


def test_rule_test_notes_and_report_have_no_stray_newlines() -> None:
    """Known gap notes are printed one to a line, with no blank line after each."""
    report = run_rule_tests([SHIPPED])
    text = rule_tests_text(report)
    assert "known gap" in text and "\n\n" not in text.rstrip("\n")
    gaps = [g for r in json.loads(rule_tests_json(report))["cases"] for g in r["known_gaps"]]
    assert gaps and [g for g in gaps if _stray(g)] == []


@pytest.mark.parametrize("fmt", ["json", "text", "person"])
def test_the_cli_writes_each_document_with_one_final_newline(fmt: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    path = SCENARIO_PROPOSALS / "parkrun-with-a-friend.yaml"
    assert main(["evaluate", str(path), "--format", fmt], stdout=out, stderr=err) == 0
    assert out.getvalue().endswith("\n") and not out.getvalue().endswith("\n\n"), fmt
    assert str(ROOT) not in out.getvalue()
