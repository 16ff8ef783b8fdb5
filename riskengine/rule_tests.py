"""Run the rule tests that sit beside rulesets (``x.yaml`` + ``x.test.yaml``).

Each case is a (partial) proposal with the rules that must fire, must not fire,
and known gaps. Every case runs on both backends, which must agree. A rule that
no case of its own ruleset's test file lists under ``fires`` is reported as
untested: every rule is exercised, or the run fails.

The run ends with a *stress case* per activity: a generated proposal that carries
every listed value and every word the loaded rules look for, in every legal context.
It opens as many rules at once as any proposal can, so rules that would push a
durable-rules session past its limits (its error 303) fail here, not in service.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from riskengine.documents.ruleset import RuleTestCase, RuleTestFile
from riskengine.documents.vocab import Activity, ConcernKind, LegalContext
from riskengine.engine import Engine
from riskengine.errors import BackendError, Diagnostic, InputError, Location, diagnostics_text, did_you_mean
from riskengine.read.proposal_files import proposal_from_data
from riskengine.read.shape import validate_model
from riskengine.read.source import SourceMap, dotted, read_document
from riskengine.rules.ir import Program, tests_of
from riskengine.rules.loader import RuleBook, find_files, load_rulebook
from riskengine.run.backends import get_backend

__all__ = [
    "CASE_DEFAULTS",
    "STRESS_FILE",
    "CaseResult",
    "TestReport",
    "load_test_file",
    "rule_tests_json",
    "rule_tests_text",
    "run_rule_tests",
    "stress_proposal",
]

STRESS_FILE = "(generated)"  # where stress case results say they come from
CASE_DEFAULTS: dict[str, Any] = {
    "schema_version": 1,
    "id": "rule-test",
    "jurisdiction": "england",
    "as_of": "2026-11-22",
}


@dataclass(frozen=True, slots=True)
class CaseResult:
    """The outcome of one test case."""

    file: str
    location: Location
    ruleset: str
    name: str
    failures: tuple[str, ...]
    gaps: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """No failures (known gaps do not fail)."""
        return not self.failures


@dataclass
class TestReport:
    """Every case result, the rules no case exercises, and malformed test files."""

    __test__ = False  # not a pytest test class

    results: list[CaseResult] = field(default_factory=list)
    untested: list[tuple[str, str]] = field(default_factory=list)
    errors: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Everything passed and every rule is exercised."""
        return not self.errors and not self.untested and all(r.passed for r in self.results)

    def summary(self) -> str:
        """The closing line: ``N passed, N failed`` for the cases in test files, then the stress cases."""
        cases = [r.passed for r in self.results if r.file != STRESS_FILE]
        stress = [r.passed for r in self.results if r.file == STRESS_FILE]
        line = f"{sum(cases)} passed, {len(cases) - sum(cases)} failed"
        return line + (
            f"; stress cases: {sum(stress)} passed, {len(stress) - sum(stress)} failed" if stress else ""
        )


def load_test_file(path: Path) -> tuple[RuleTestFile, SourceMap]:
    """Read and shape-check one ``*.test.yaml``."""
    document = read_document(path)
    model, problems = validate_model(RuleTestFile, document.data, document.source)
    if model is None:
        raise InputError(problems)
    return model, document.source


def run_rule_tests(
    paths: Sequence[Path | str], *, rulesets: Sequence[Path | str] | None = None
) -> TestReport:
    """Run every test file under ``paths`` against the rulesets (default: the same paths)."""
    book = load_rulebook(list(rulesets or paths))
    engines = [Engine(book, get_backend(name)) for name in ("durable", "reference")]
    report = TestReport()
    exercised: set[tuple[str, str]] = set()
    for path in find_files(paths, tests=True):
        try:
            tests, source = load_test_file(path)
        except InputError as exc:
            report.errors.extend(exc.diagnostics)
            continue
        _run_file(tests, source, engines, book, report, exercised)
    report.results.extend(_stress(engines, book))
    owned = {(r.ruleset.model.id, r.rule.id) for r in book.rules}
    report.untested = sorted(owned - exercised)
    return report


def _run_file(
    tests: RuleTestFile,
    source: SourceMap,
    engines: list[Engine],
    book: RuleBook,
    report: TestReport,
    exercised: set[tuple[str, str]],
) -> None:
    known = {r.rule.id for r in book.rules} | {d.rule for d in book.disabled}
    if tests.ruleset not in {r.model.id for r in book.rulesets}:
        message = (
            f"no ruleset '{tests.ruleset}'{did_you_mean(tests.ruleset, [r.model.id for r in book.rulesets])}"
        )
        report.errors.append(Diagnostic(source.locate(("ruleset",)), "unknown-ruleset", "ruleset", message))
        return
    for i, case in enumerate(tests.cases):
        path = ("cases", i)
        unknown = _unknown_rules(case, known, source, path)
        if unknown:
            report.errors.extend(unknown)
            continue
        result = _run_case(case, source, path, engines, tests.ruleset, report)
        if result is None:
            continue
        report.results.append(result)
        if result.passed:
            exercised.update((tests.ruleset, rule) for rule in case.fires)


def _unknown_rules(
    case: RuleTestCase, known: set[str], source: SourceMap, path: tuple[Any, ...]
) -> list[Diagnostic]:
    problems = []
    named = [("fires", r) for r in case.fires] + [("does_not_fire", r) for r in case.does_not_fire]
    named += [("known_gaps", g.rule) for g in case.known_gaps]
    for key, rule in named:
        if rule not in known:
            where = (*path, key)
            message = f"no rule '{rule}'{did_you_mean(rule, sorted(known))}"
            problems.append(Diagnostic(source.locate(where), "unknown-rule", dotted(where), message))
    return problems


def _run_case(
    case: RuleTestCase,
    source: SourceMap,
    path: tuple[Any, ...],
    engines: list[Engine],
    ruleset: str,
    report: TestReport,
) -> CaseResult | None:
    data = {**CASE_DEFAULTS, **case.proposal}
    try:
        proposal = proposal_from_data(data, source.sub((*path, "proposal")))
    except InputError as exc:
        report.errors.extend(_relocate(exc.diagnostics, source, path))
        return None
    location = source.locate(path)
    try:
        fired_by = [engine.rule_ids(engine.fire(proposal)[1]) for engine in engines]
    except BackendError as exc:
        return CaseResult(source.path, location, ruleset, case.name, (str(exc),), ())
    failures = []
    if fired_by[0] != fired_by[1]:
        only = sorted(fired_by[0] ^ fired_by[1])
        failures.append(f"backends disagree about: {', '.join(only)}")
    fired = fired_by[1]
    failures += [f"expected '{r}' to fire; it did not" for r in case.fires if r not in fired]
    failures += [f"expected '{r}' not to fire; it did" for r in case.does_not_fire if r in fired]
    gaps = []
    for gap in case.known_gaps:
        behaves = (gap.rule in fired) == (gap.expected == "fires")
        if behaves:
            failures.append(f"known gap for '{gap.rule}' is fixed; move it to {gap.expected}")
        else:
            gaps.append(f"{gap.rule}: {gap.note}")
    return CaseResult(source.path, location, ruleset, case.name, tuple(failures), tuple(gaps))


def _relocate(
    diagnostics: Sequence[Diagnostic], source: SourceMap, path: tuple[Any, ...]
) -> list[Diagnostic]:
    prefix = dotted((*path, "proposal"))
    return [
        Diagnostic(d.location, d.code, f"{prefix}.{d.field}" if d.field else prefix, d.message, d.severity)
        for d in diagnostics
    ]


def stress_proposal(*programs: Program) -> dict[str, Any]:
    """A proposal (activity ``other``) carrying every value the programs' rules look for in a list
    and every word they look for in a text, so that as many rules as possible fire at once."""
    wanted: dict[str, set[str]] = {"words": set()}
    for rule in itertools.chain.from_iterable(p.rules for p in programs):
        for predicate in (*rule.case_tests, *rule.item_tests):
            for test in tests_of(predicate):
                if test.op in ("includes", "includes_any", "mentions"):
                    values = test.value if isinstance(test.value, tuple) else (test.value,)
                    wanted.setdefault("words" if test.op == "mentions" else test.key, set()).update(values)
    words = " ".join(sorted(wanted["words"])) or "anything"
    # Medicines are looked for as taken and as changing; none is marked, so all count as changing.
    names = sorted(_either(wanted, "medication_names")) or ["a medicine"]
    classes = itertools.cycle(sorted(_either(wanted, "medication_classes")) or [None])
    return {
        **CASE_DEFAULTS,
        "id": "stress",
        "person": {
            "medication": [{"name": name, "class": kind} for name, kind in zip(names, classes, strict=False)],
            "substance_use": sorted(wanted.get("person__substance_use", ())),
        },
        "proposal": {
            "activity": "other",
            "categories": sorted(wanted.get("proposal__categories", ())),
            "goal": words,
            "concerns": [{"kind": kind, "text": words} for kind in get_args(ConcernKind)],
            "conditions_proposed": [{"by": "practitioner", "text": words}],
        },
        "plan": {"mitigations": [{"text": words}], "contingency": words},
    }


def _either(wanted: dict[str, set[str]], field: str) -> set[str]:
    """The values rules look for in ``person.<field>`` or ``person.changing_<field>``."""
    return wanted.get(f"person__{field}", set()) | wanted.get(f"person__changing_{field}", set())


def _stress(engines: list[Engine], book: RuleBook) -> list[CaseResult]:
    """One result per activity: the stress proposal in every legal context, on both backends."""
    document = stress_proposal(book.program, book.late_program)
    results = []
    for activity in get_args(Activity):
        failures: list[str] = []
        for legal_context in get_args(LegalContext):
            document["proposal"]["activity"] = activity
            document["person"]["legal_context"] = legal_context
            try:
                proposal = proposal_from_data(document)
                fired_by = [engine.rule_ids(engine.fire(proposal)[1]) for engine in engines]
            except (BackendError, InputError) as exc:
                failures.append(f"{legal_context}: {exc}")
                continue
            if fired_by[0] != fired_by[1]:
                only = ", ".join(sorted(fired_by[0] ^ fired_by[1]))
                failures.append(f"{legal_context}: backends disagree about: {only}")
        name = f"stress: every listed value and word the rules look for, activity {activity}"
        results.append(
            CaseResult(STRESS_FILE, Location(STRESS_FILE), "(all rulesets)", name, tuple(failures), ())
        )
    return results


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
