"""Cards never grade, never carry identifiable data in a summary, and stay few: checked over every
example proposal and activity fixture, with and without brief items."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import riskengine
from riskengine.service import cards as card_module
from riskengine.service.cards import SUMMARY_LIMIT, cards_for, not_evaluated_card, wrong_person_card

from .paths import ROOT

PROPOSALS = sorted((ROOT / "scenarios" / "proposals").glob("*.yaml")) + sorted(
    p
    for p in (ROOT / "tests" / "fixtures" / "activities").rglob("*.yaml")
    if not p.name.endswith(".expect.yaml")
)
LINKS = [
    {
        "label": "Full practitioner report",
        "url": "http://127.0.0.1:1/v1/reports/x/practitioner",
        "type": "absolute",
    }
]


@pytest.fixture(scope="module")
def shipped() -> riskengine.Engine:
    return riskengine.Engine.from_paths()


def _free_text(data: Any) -> list[str]:
    """Every string in the proposal that a person or practitioner typed (and every id)."""
    found: list[str] = []
    if isinstance(data, dict):
        for value in data.values():
            found += _free_text(value)
    elif isinstance(data, list):
        for value in data:
            found += _free_text(value)
    elif isinstance(data, str) and len(data) >= 4 and not re.fullmatch(r"[a-z_]+|\d{4}-\d\d-\d\d", data):
        found.append(data)
    return found


@pytest.mark.parametrize("path", PROPOSALS, ids=lambda p: p.stem)
def test_cards_are_info_short_and_free_of_the_persons_details(shipped: riskengine.Engine, path: Path) -> None:
    proposal = riskengine.load_proposal(path)
    evaluation = shipped.evaluate(proposal)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    secrets = [*_free_text(data), proposal.id, proposal.person.ref or ""]
    cards = cards_for(evaluation, [{"resourceType": "CarePlan"}], label="riskengine test", links=LINKS)
    assert 1 <= len(cards) <= 7  # few cards: alert fatigue is a hazard
    for card in cards:
        assert card["indicator"] == "info"
        assert len(card["summary"]) <= SUMMARY_LIMIT
        leaked = [s for s in secrets if s and s.lower() in card["summary"].lower()]
        assert not leaked, (card["summary"], leaked)
        for suggestion in card.get("suggestions", []):
            assert suggestion["isRecommended"] is False  # the clinician chooses: no nudge (automation bias)
        assert "does not decide" in card["detail"]


def test_brief_items_become_one_card_each_with_fixed_summaries(shipped: riskengine.Engine) -> None:
    evaluation = shipped.evaluate(riskengine.load_proposal(PROPOSALS[0]))
    brief = tuple(
        riskengine.Evaluation.model_fields["brief"].annotation.__args__[0](  # type: ignore[union-attr]
            kind=kind,
            to_practitioner=f"Practitioner words {i}",
            to_person=f"Person words {i}",
            stands_for=(f"x.{i}",),
        )
        for i, kind in enumerate(
            ["consent_conflict", "legal_must", "not_agreed", "persons_words", "next_review"]
        )
    )
    with_brief = evaluation.model_copy(update={"brief": brief})
    cards = cards_for(with_brief, [], label="L", links=LINKS)
    briefed = [c for c in cards if "Practitioner words" in c["detail"]]
    assert len(briefed) == 5
    assert all("words" not in c["summary"].lower() or "own words" in c["summary"] for c in briefed)
    assert all(c["indicator"] == "info" for c in cards)


def test_stale_knowledge_is_said_on_the_card(shipped: riskengine.Engine) -> None:
    evaluation = shipped.evaluate(
        riskengine.load_proposal(ROOT / "scenarios" / "proposals" / "clay-shooting-certificate.yaml")
    )
    item = evaluation.knowledge[0].model_copy(update={"stale": True})
    stale = evaluation.model_copy(update={"knowledge": (item, *evaluation.knowledge[1:])})
    [card] = [
        c for c in cards_for(stale, [], label="L", links=[]) if c["summary"].startswith("Law and guidance")
    ]
    assert "(1 past review date)" in card["summary"] and "Past its review date" in card["detail"]


def test_the_failure_cards_are_info_too() -> None:
    for card in (not_evaluated_card(["patient"], [{"field": "Patient.address", "message": "x"}], "L"),
                 wrong_person_card("L", ["conditions.entry[0].resource.subject.reference"])):  # fmt: skip
        assert card["indicator"] == "info" and len(card["summary"]) <= SUMMARY_LIMIT


def test_no_indicator_but_info_is_ever_written() -> None:
    """The card module holds no other indicator value anywhere in its code."""
    tree = ast.parse(Path(card_module.__file__).read_text(encoding="utf-8"))
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert "info" in strings
    assert not strings & {"warning", "critical"}


def test_markdown_in_free_text_cannot_make_links_or_html() -> None:
    escaped = card_module._md("[click](http://x) <script>alert(1)</script> **bold**")
    assert "](" not in escaped.replace("\\](", "") and "<script>" not in escaped
