"""Lint a scenario: every loading error, plus warnings a trainer should see before a session.

Errors (the scenario cannot be used as it is): anything :func:`.load.build` finds (unknown
fields and tags, patches that do not apply, plans that are not valid proposals, circular
stages), consent that is missing for a real story or has expired, and a seed person's real
name where consent does not cover it. Warnings: decision points without a reveal or a
debrief, options without principle tags, options whose plans are the same, unreachable
stages, sensitive topics without a content note, consent used outside its scope, and
person-facing text below the readability floor.

Lint only reads: it never rewrites a file.

Imports: :mod:`riskengine` public names, :mod:`._core`, :mod:`.load`, :mod:`.model`, :mod:`.names`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from riskengine import Diagnostic, RiskEngineError, Severity

from ._core import SourceMap, YamlPath, dotted, flesch_reading_ease, read_document
from .load import LoadedScenario, build
from .model import SENSITIVE_TOPICS, Scenario
from .names import SEED_PEOPLE

__all__ = ["CODES", "DEFAULT_READABILITY_FLOOR", "lint", "lint_data"]

# Every code lint reports beyond the proposal's own (unknown-field, unknown-value, invalid-value,
# missing-field, unknown-member, duplicate-key ...); docs/scenarios.md explains each one.
CODES: tuple[str, ...] = (
    "patch-does-not-apply", "missing-file", "duplicate-id", "unknown-stage", "circular-stage",
    "unknown-option", "no-reveal", "no-consent", "consent-expired", "consent-not-yet", "outside-consent",
    "seed-name", "no-debrief", "no-principles", "same-plan", "no-patch", "unreachable-stage",
    "no-content-note", "hard-to-read",
)  # fmt: skip

# Flesch reading ease below 50 is "fairly difficult" and worse: hard going for a mixed room
# read aloud or on a projector. The engine's own person-facing prompts keep to 40 and over.
DEFAULT_READABILITY_FLOOR = 50.0


def lint(
    path: Path | str, *, as_of: dt.date, readability_floor: float = DEFAULT_READABILITY_FLOOR
) -> list[Diagnostic]:
    """Every error and warning for one scenario file, sorted by place; consent is judged as of ``as_of``
    (the command line passes today: nothing else in riskengine reads the clock)."""
    try:
        document = read_document(path)
    except RiskEngineError as exc:
        return list(exc.diagnostics)
    return lint_data(
        document.data,
        document.source,
        base_dir=Path(path).parent,
        as_of=as_of,
        readability_floor=readability_floor,
    )


def lint_data(
    data: Any,
    source: SourceMap,
    *,
    base_dir: Path,
    as_of: dt.date,
    readability_floor: float = DEFAULT_READABILITY_FLOOR,
) -> list[Diagnostic]:
    """Lint scenario data already parsed."""
    loaded, problems = build(data, source, base_dir)
    if loaded is None:
        return sorted(problems)
    checks = _Checks(loaded, source)
    checks.consent(as_of)
    checks.seed_names(data)
    checks.points()
    checks.stages()
    checks.topics()
    checks.readability(readability_floor)
    return sorted(checks.found)


class _Checks:
    def __init__(self, loaded: LoadedScenario, source: SourceMap) -> None:
        self.loaded = loaded
        self.s: Scenario = loaded.scenario
        self.source = source
        self.found: list[Diagnostic] = []

    def add(
        self, path: YamlPath, code: str, message: str, severity: str = "warning", *, key: bool = False
    ) -> None:
        self.found.append(
            Diagnostic(self.source.locate(path, key=key), code, dotted(path), message, Severity(severity))
        )

    def consent(self, day: dt.date) -> None:
        c = self.s.consent
        if c is None:
            if self.s.origin == "real_with_consent":
                self.add(
                    ("origin",),
                    "no-consent",
                    "a real person's story needs a consent record (consent:)",
                    "error",
                )
            return
        if c.review_by < day:
            message = f"consent was due for review on {c.review_by.isoformat()} and has expired (as of {day.isoformat()}); renew it with the storyteller before using the story"
            self.add(("consent", "review_by"), "consent-expired", message, "error")
        if c.granted > day:
            self.add(
                ("consent", "granted"),
                "consent-not-yet",
                f"consent is dated {c.granted.isoformat()}, after {day.isoformat()}",
            )
        needs = {
            "storyteller_live": "live_with_storyteller",
            "recorded": "recorded",
            "text": "text_without_storyteller",
        }
        for i, stage in enumerate(self.s.stages):
            dp = stage.decision_point
            if dp is None or dp.reveal is None:
                continue
            scope = needs[dp.reveal.delivery]
            if scope not in c.scope:
                where = ("stages", i, "decision_point", "reveal", "delivery")
                self.add(
                    where,
                    "outside-consent",
                    f"a reveal delivered as {dp.reveal.delivery} needs consent scope '{scope}'",
                )

    def seed_names(self, data: Any) -> None:
        covered = set()
        if self.s.origin == "real_with_consent" and self.s.consent is not None:
            covered = {c.name.lower() for c in self.s.credits if c.display == "full_name" and c.name}
        for path, text in _strings(data, ()):
            if path[:1] == ("sources",):
                continue
            for name, seed in SEED_PEOPLE:
                if name.lower() in covered or not re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE):
                    continue
                message = f"'{name}' is a real person named in seed {seed}; a scenario may use a real name only when the story is real_with_consent and a full_name credit and consent record cover it"
                self.add(path, "seed-name", message, "error")

    def points(self) -> None:
        for i, stage in enumerate(self.s.stages):
            dp = stage.decision_point
            if dp is None:
                continue
            where: YamlPath = ("stages", i, "decision_point")
            if dp.reveal is None:
                self.add(
                    (*where, "id"),
                    "no-reveal",
                    f"decision point '{dp.id}' has no reveal (what actually happened)",
                )
            if dp.debrief is None:
                self.add(
                    (*where, "id"), "no-debrief", f"decision point '{dp.id}' has no debrief (PEARLS prompts)"
                )
            for j, option in enumerate(dp.options):
                if not option.principles:
                    message = f"option '{option.id}' has no principle tags (felton.1 to felton.5)"
                    self.add((*where, "options", j, "id"), "no-principles", message)
            if dp.id in self.loaded.points:
                self._same_plans(dp.id, where)

    def _same_plans(self, dp_id: str, where: YamlPath) -> None:
        state = self.loaded.points[dp_id]
        seen: dict[str, str] = {}
        for j, plan in enumerate(p for p in state.plans if p.kind == "option"):
            text = plan.proposal.model_dump_json()
            if text in seen:
                message = f"option '{plan.key}' makes the same plan as option '{seen[text]}': the debrief will show no difference"
                self.add((*where, "options", j, "patch"), "same-plan", message, key=True)
            seen.setdefault(text, plan.key)
            if plan.option is not None and not plan.option.patch:
                self.add(
                    (*where, "options", j, "id"),
                    "no-patch",
                    f"option '{plan.key}' does not change the proposal",
                )

    def stages(self) -> None:
        told = set(self.loaded.stage_order)
        for i, stage in enumerate(self.s.stages):
            if stage.id not in told:
                self.add(
                    ("stages", i, "id"),
                    "unreachable-stage",
                    f"stage '{stage.id}' is never reached (a 'next' jumps over it)",
                )

    def topics(self) -> None:
        notes = set(self.s.content_notes)
        for path, topic in _topics(self.s):
            if topic in SENSITIVE_TOPICS and topic not in notes:
                self.add(
                    path,
                    "no-content-note",
                    f"'{topic}' is a sensitive topic: add it to content_notes so people can prepare or opt out",
                )

    def readability(self, floor: float) -> None:
        for path, text in _person_texts(self.s):
            ease = flesch_reading_ease(text)
            if ease < floor:
                message = f"reads as hard going (Flesch reading ease {ease:.0f}, floor {floor:.0f}): shorter sentences and everyday words help a mixed room"
                self.add(path, "hard-to-read", message)


def _strings(node: Any, path: YamlPath) -> Iterator[tuple[YamlPath, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, (*path, i))
    elif isinstance(node, str):
        yield path, node


def _topics(s: Scenario) -> Iterator[tuple[YamlPath, str]]:
    for i, stage in enumerate(s.stages):
        sp: YamlPath = ("stages", i)
        yield from (((*sp, "topics", k), t) for k, t in enumerate(stage.topics))
        for j, fact in enumerate(stage.facts):
            yield from (((*sp, "facts", j, "topics", k), t) for k, t in enumerate(fact.topics))
        dp = stage.decision_point
        if dp is None:
            continue
        for j, option in enumerate(dp.options):
            yield from (
                ((*sp, "decision_point", "options", j, "topics", k), t) for k, t in enumerate(option.topics)
            )
        if dp.reveal is not None:
            yield from (
                ((*sp, "decision_point", "reveal", "topics", k), t) for k, t in enumerate(dp.reveal.topics)
            )


def _person_texts(s: Scenario) -> Iterator[tuple[YamlPath, str]]:
    """Text the room reads or hears: the story, facts, prompts, options and reveals."""
    for i, stage in enumerate(s.stages):
        sp: YamlPath = ("stages", i)
        yield (*sp, "text"), stage.text
        yield from (((*sp, "facts", j, "text"), f.text) for j, f in enumerate(stage.facts))
        dp = stage.decision_point
        if dp is None:
            continue
        yield (*sp, "decision_point", "prompt"), dp.prompt
        yield from (((*sp, "decision_point", "options", j, "text"), o.text) for j, o in enumerate(dp.options))
        if dp.reveal is not None:
            yield (*sp, "decision_point", "reveal", "what_happened"), dp.reveal.what_happened
