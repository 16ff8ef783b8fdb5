"""Proportion: for an everyday activity, prompts for fuller planning are set aside, not lost.

The living-your-life judgement says when an activity is one most people do without
being assessed. Prompts a ruleset marks ``everyday: set_aside`` then leave the main
list for ``prompts_set_aside``: still in the evaluation (missing information is still
a prompt), still traced, and asked if the person wants to plan in more detail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from riskengine import Engine, RulesetError
from riskengine.documents.evaluation import Evaluation
from riskengine.read.proposal_files import proposal_from_data
from riskengine.report.text import evaluation_text

RULESET = """\
id: proportion-test
version: 1.0.0
title: Proportion test
sources:
  - {id: seed, title: "Positive risk-taking in mental health (slides)", seed: 000_b0bfa345df7592bd.txt}
rules:
  - id: t.everyday
    source: seed
    when: [{proposal.activity: parkrun}]
    because: "a parkrun"
    then: {living_your_life: {everyday: true, note: "Most people just go."}}
  - id: t.detained
    source: seed
    when: [{person.legal_context: detained}]
    because: "detained"
    then: {living_your_life: {everyday: false, note: "Leave conditions apply."}}
  - id: t.core
    source: seed
    because: "always"
    then:
      prompt: {stage: team_talk, to_practitioner: "Ask what matters.", to_person: "What matters to you?",
               principles: [felton.1]}
  - id: t.fuller
    source: seed
    because: "no review date"
    then:
      tension: prm.3.3
      prompt: {stage: decision_talk, everyday: set_aside, to_practitioner: "Set a review date.",
               to_person: "When shall we look back?", principles: [felton.4], tensions: [prm.3.3]}
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("proportion")
    (folder / "proportion.yaml").write_text(RULESET, encoding="utf-8")
    return Engine.from_paths([folder])


def _evaluate(engine: Engine, **parts: Any) -> Evaluation:
    doc: dict[str, Any] = {
        "schema_version": 1, "id": "p", "jurisdiction": "england", "as_of": "2026-11-30",
        "proposal": {"activity": "parkrun", **parts.pop("proposal", {})}, **parts,
    }  # fmt: skip
    return engine.evaluate(proposal_from_data(doc))


def _ids(prompts: Any) -> list[str]:
    return [p.id for p in prompts]


def test_an_everyday_activity_sets_fuller_planning_aside(engine: Engine) -> None:
    """The review prompt leaves the main list for the set-aside one; the core prompt stays."""
    e = _evaluate(engine)
    assert e.living_your_life.everyday
    assert _ids(e.prompts) == ["t.core"]
    assert _ids(e.prompts_set_aside) == ["t.fuller"]


def test_set_aside_prompts_are_still_traced_and_their_evidence_kept(engine: Engine) -> None:
    """What the rules found is still reported: the tension stays, the trace names every rule."""
    e = _evaluate(engine)
    assert {t.id for t in e.tensions} == {"prm.3.3"}
    assert "t.fuller" in {t.rule for t in e.trace}


def test_principles_and_tensions_point_only_at_prompts_in_the_main_list(engine: Engine) -> None:
    """A consumer that does not know prompts_set_aside never meets an id it cannot find."""
    e = _evaluate(engine)
    shown = set(_ids(e.prompts))
    assert all(set(p.prompts) <= shown for p in e.principles)
    assert all(set(t.prompts) <= shown for t in e.tensions)
    assert next(p for p in e.principles if p.id == "felton.1").prompts == ("t.core",)
    assert next(t for t in e.tensions if t.id == "prm.3.3").prompts == ()


def test_when_the_legal_context_makes_it_more_than_everyday_nothing_is_set_aside(engine: Engine) -> None:
    e = _evaluate(engine, person={"legal_context": "detained"})
    assert not e.living_your_life.everyday
    assert _ids(e.prompts) == ["t.core", "t.fuller"] and e.prompts_set_aside == ()
    assert next(t for t in e.tensions if t.id == "prm.3.3").prompts == ("t.fuller",)


def test_the_text_report_lists_them_under_their_own_heading(engine: Engine) -> None:
    text = evaluation_text(_evaluate(engine), full=True)
    assert "If you want to plan in more detail" in text
    assert text.index("What matters to you?") < text.index("If you want to plan in more detail")
    assert text.index("If you want to plan in more detail") < text.index("When shall we look back?")


def test_an_unknown_choice_is_a_located_ruleset_error(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(RULESET.replace("everyday: set_aside", "everyday: skip", 1), encoding="utf-8")
    with pytest.raises(RulesetError) as caught:
        Engine.from_paths([tmp_path])
    (problem,) = caught.value.diagnostics
    assert problem.field.endswith("then.prompt.everyday") and problem.location.line == 28
    assert problem.message == "'skip' is not in the vocabulary; choose one of: ask, set_aside"


class TestShipped:
    def test_a_bare_everyday_proposal_asks_the_core_and_sets_the_rest_aside(self, shipped: Engine) -> None:
        """A bare parkrun: the core asks stay (the person's view, strengths, gains, worries, cost of not
        doing it, steps, plan B); formal planning moves aside, including writing down a route back,
        which the practitioner review (2026-12, defect 7) found over-planned an everyday activity;
        nothing is asked twice."""
        e = shipped.evaluate(proposal_from_data(
            {"schema_version": 1, "id": "b", "jurisdiction": "england", "as_of": "2026-11-30",
             "proposal": {"activity": "parkrun"}}
        ))  # fmt: skip
        shown, aside = set(_ids(e.prompts)), set(_ids(e.prompts_set_aside))
        assert {"felton.joint.own-words-missing", "felton.strengths.none-recorded", "felton.achieve.gains-missing",
                "felton.info.concerns-not-talked", "felton.achieve.cost-of-not-doing", "felton.plan.no-steps",
                "felton.plan.contingency-missing"} <= shown  # fmt: skip
        assert {"felton.info.sure-not-done", "felton.plan.review-missing", "felton.joint.role-not-stated",
                "prm.learning.no-history", "felton.plan.route-back-missing"} <= aside  # fmt: skip
        assert not shown & aside and len(shown) < 20
        texts = [p.to_person for p in (*e.prompts, *e.prompts_set_aside)]
        assert len(texts) == len(set(texts))

    def test_the_same_plan_on_section_17_leave_is_planned_in_full(self, shipped: Engine) -> None:
        e = shipped.evaluate(proposal_from_data(
            {"schema_version": 1, "id": "b", "jurisdiction": "england", "as_of": "2026-11-30",
             "person": {"legal_context": "s17_leave"}, "proposal": {"activity": "parkrun"}}
        ))  # fmt: skip
        assert not e.living_your_life.everyday and e.prompts_set_aside == ()
        assert {"felton.info.sure-not-done", "felton.plan.review-missing"} <= set(_ids(e.prompts))
