"""Realistic proposals for each activity, with expectations on what the evaluation contains.

Each ``tests/fixtures/activities/<activity>/<case>.yaml`` is a proposal written as a new
user would; ``<case>.expect.yaml`` beside it names ids that must (or must not) appear.
Set ``RISKENGINE_RULESETS`` (colon-separated directories) to run against other rulesets.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from riskengine.documents.evaluation import Evaluation
from riskengine.engine import Engine
from riskengine.read.proposal_files import load_proposal

FIXTURES = Path(__file__).parent / "fixtures" / "activities"
CASES = sorted(p for p in FIXTURES.rglob("*.yaml") if not p.name.endswith(".expect.yaml"))
LISTS = {
    "prompts": lambda e: {p.id for p in e.prompts},
    "prompts_set_aside": lambda e: {p.id for p in e.prompts_set_aside},
    "knowledge": lambda e: {k.id for k in e.knowledge},
    "tensions": lambda e: {t.id for t in e.tensions},
    "mitigations": lambda e: {m.id for m in e.mitigations},
    "needs": lambda e: {f"{n.role}/{n.when}" for n in e.safety_net.needs},
    # knowledge items not checked for this nation, listed by the one "check local rules" prompt
    "local_rules": lambda e: {i for p in e.prompts if p.id == "local-rules" for i in p.stands_for},
}
ALLOWED_KEYS = {
    *LISTS, *(f"no_{k}" for k in LISTS), "living_your_life_everyday", "note",
    "need_status", "no_single_points", "text_excludes",
}  # fmt: skip


@lru_cache(maxsize=1)
def _engine() -> Engine:
    paths = os.environ.get("RISKENGINE_RULESETS")
    return Engine.from_paths(paths.split(":") if paths else None)


def _expectations(case: Path) -> dict[str, Any]:
    expect_path = case.with_name(case.name.removesuffix(".yaml") + ".expect.yaml")
    assert expect_path.exists(), f"{case} has no {expect_path.name} beside it"
    data = yaml.safe_load(expect_path.read_text(encoding="utf-8")) or {}
    unknown = set(data) - ALLOWED_KEYS
    assert not unknown, f"{expect_path}: unknown keys {sorted(unknown)}"
    return data


def _check(evaluation: Evaluation, expect: dict[str, Any]) -> list[str]:
    problems = []
    for key, found in LISTS.items():
        have = found(evaluation)
        problems += [f"missing {key[:-1]} '{i}'" for i in expect.get(key, []) if i not in have]
        problems += [f"unexpected {key[:-1]} '{i}'" for i in expect.get(f"no_{key}", []) if i in have]
    if "living_your_life_everyday" in expect:
        got = evaluation.living_your_life.everyday
        if got != expect["living_your_life_everyday"]:
            problems.append(f"living_your_life.everyday is {got}")
    return problems + _check_net(evaluation, expect) + _check_text(evaluation, expect)


def _check_net(evaluation: Evaluation, expect: dict[str, Any]) -> list[str]:
    """A need's status (``role/when: status``) and members who must not carry anything alone."""
    net = evaluation.safety_net
    status = {f"{n.role}/{n.when}": n.status for n in net.needs}
    problems = [
        f"need {need} is {status.get(need, 'absent')}, not {want}"
        for need, want in (expect.get("need_status") or {}).items()
        if status.get(need) != want
    ]
    alone = {s.member for s in net.single_points_of_failure}
    return problems + [f"unexpected single point of failure '{m}'" for m in expect.get("no_single_points", []) if m in alone]


def _check_text(evaluation: Evaluation, expect: dict[str, Any]) -> list[str]:
    """Words that must appear nowhere a reader would see them: the text report and every reason."""
    if not expect.get("text_excludes"):
        return []
    from riskengine.report.text import evaluation_text

    reasons = [b for t in evaluation.tensions for b in t.because]
    reasons += [b for p in evaluation.principles for b in (*p.because, *p.gaps)]
    reasons += [n.why for n in evaluation.safety_net.needs]
    seen = "\n".join([evaluation_text(evaluation), *reasons])
    return [f"text says '{words}'" for words in expect["text_excludes"] if words in seen]


@pytest.mark.parametrize("case", CASES, ids=[str(c.relative_to(FIXTURES)) for c in CASES])
def test_activity_fixture(case: Path) -> None:
    """The evaluation of a realistic proposal contains what a practitioner would expect."""
    expect = _expectations(case)
    problems = _check(_engine().evaluate(load_proposal(case)), expect)
    assert not problems, f"{case}: " + "; ".join(problems)


def test_every_catalogue_activity_has_fixtures() -> None:
    """Every catalogue activity, and `other`, has at least two realistic proposals of its own."""
    from riskengine.documents.vocab import ACTIVITIES

    have = {p.parent.name for p in CASES}
    missing = [a for a in ACTIVITIES if a not in have]
    assert not missing, f"activities without fixtures: {missing}"
    counts = {a: sum(p.parent.name == a for p in CASES) for a in have}
    assert all(n >= 2 for n in counts.values()), counts
