"""Issue 11: fit for a ten-minute review and for the person to take home.

Over every shipped proposal and activity fixture: the brief leads with what matters and
has at most five items; the person's own copy is plain, short and free of ids, status
words, engine words and relationship labels; no two person-facing texts make the same
point; and a consent conflict is never contradicted. Plus the rule-language ``topic`` key
on a ruleset of its own, and the calibration of the word-overlap test on known pairs.
"""

from __future__ import annotations

import itertools
import re
import statistics
from functools import cache, lru_cache
from pathlib import Path

import pytest

import riskengine
from riskengine import Engine, Evaluation, load_proposal, proposal_from_data, render_person, render_text
from riskengine.report.person import person_facing_texts
from riskengine.report.readability import flesch_reading_ease, same_point

from .paths import FIXTURES, SCENARIO_PROPOSALS, SHIPPED

CASES = sorted(SCENARIO_PROPOSALS.glob("*.yaml")) + sorted(
    p for p in (FIXTURES / "activities").rglob("*.yaml") if not p.name.endswith(".expect.yaml")
)
IDS = [str(p.relative_to(FIXTURES.parent.parent)) for p in CASES]
KINDS = ("consent_conflict", "legal_must", "not_agreed", "persons_words", "next_review")
STATUS_WORDS = re.compile(
    r"\b(evident|partly evident|not yet evident|partly_evident|not_yet_evident)\b", re.I
)
ENGINE_WORDS = re.compile(
    r"route_back|check_in|early_warning|prescribing_oversight|community_link|\[must\]|\[should\]|"
    r"\[consider\]|\bfragile\b|consent conflict|consent_conflict|\bonly one\b|prm\.\d|felton\.\d",
    re.I,
)
RELATIONSHIP_LABELS = re.compile(
    r"\b(strained|on and off|on_and_off|not aware|not agreed|not_agreed|not_aware|rarely in contact)\b"
    r"|\w - (new|strained|not)",
    re.I,
)
PROMISES = re.compile(r"will respect that|stick to that|we will keep to", re.I)


@lru_cache(maxsize=1)
def _engine() -> Engine:
    return Engine.from_paths()


@cache
def _evaluate(case: Path) -> Evaluation:
    return _engine().evaluate(load_proposal(case))


def _rule_ids() -> set[str]:
    book = _engine().book
    return {r.rule.id for r in book.rules} | {
        r.rule.then.prompt.id for r in book.rules if r.rule.then.prompt and r.rule.then.prompt.id
    }


def _topic_of_prompt() -> dict[str, str]:
    return {
        (r.rule.then.prompt.id or r.rule.id): r.rule.topic
        for r in _engine().book.rules
        if r.rule.topic and r.rule.then.prompt is not None
    }


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_brief_leads_with_what_matters(case: Path) -> None:
    """At most five items, one per kind, in the order that matters, each in both voices; the
    ids each stands for are in the evaluation; a consent conflict, when there is one, leads."""
    e = _evaluate(case)
    kinds = [item.kind for item in e.brief]
    assert len(e.brief) <= 5
    assert kinds == sorted(set(kinds), key=KINDS.index), kinds
    assert {"persons_words", "next_review"} <= set(kinds)  # always: the person's words and the review
    known = (
        {p.id for p in (*e.prompts, *e.prompts_set_aside)}
        | {k.id for k in e.knowledge}
        | {m.id for m in e.mitigations}
        | {f"{n.role}/{n.when}" for n in e.safety_net.needs}
    )
    for item in e.brief:
        assert item.to_practitioner.strip() and item.to_person.strip()
        assert set(item.stands_for) <= known, (item.kind, set(item.stands_for) - known)
    if e.safety_net.consent_conflicts:
        assert kinds[0] == "consent_conflict"
    else:
        assert "consent_conflict" not in kinds
    musts = {k.id for k in e.knowledge if k.weight == "must" and k.kind == "law_or_guidance"}
    legal = next((item for item in e.brief if item.kind == "legal_must"), None)
    assert (legal is not None) == bool(musts)
    assert legal is None or musts <= set(legal.stands_for)


def test_a_plan_step_that_breaks_the_persons_sharing_rule_leads_the_brief() -> None:
    """The fixture made for it: dad checking the tablets, when dad is not to know about medication."""
    e = _evaluate(FIXTURES / "activities" / "overnight_stay" / "sisters-plan-tells-dad.yaml")
    first = e.brief[0]
    assert first.kind == "consent_conflict"
    assert "Dad is not to be told about my medication" in first.to_person
    assert "dad drives me there" in first.to_practitioner and "net.consent-conflict" in first.stands_for


def test_a_consent_conflict_is_never_contradicted() -> None:
    """Where the plan would tell someone the person said not to tell, no text promises to respect it."""
    conflicted = [e for e in map(_evaluate, CASES) if e.safety_net.consent_conflicts]
    assert len(conflicted) >= 2  # the fixtures hold such cases, so this test can fail
    for e in conflicted:
        texts = [t for _, t in person_facing_texts(e)] + [render_person(e), render_text(e, full=True)]
        assert not [t for t in texts if PROMISES.search(t)], e.proposal_id


def test_without_a_conflict_the_promise_can_stand(shipped: Engine) -> None:
    """The 'plan will respect that' prompt is withheld only when the plan breaks the rule."""
    base = {
        "schema_version": 1, "id": "c", "jurisdiction": "england", "as_of": "2026-11-30",
        "person": {"advance_statement": {"exists": True, "information_sharing": [
            {"with": "dad", "allowed": False, "note": "nothing about medication"}]}},
        "network": [
            {"id": "dad", "kind": "family", "steadiness": "strained"},
            {"id": "ana", "kind": "friend", "steadiness": "consistent", "knows_about_plan": True, "agreed_to_help": True},
        ],
        "proposal": {"activity": "drinks_with_friends"},
    }  # fmt: skip
    calm = shipped.evaluate(proposal_from_data(base))
    assert not calm.safety_net.consent_conflicts
    assert "personalisation.decision.sharing-refused" in {p.id for p in calm.prompts}
    base["plan"] = {"mitigations": [{"text": "dad reminds me to take my tablets", "owner": "dad"}]}
    breach = shipped.evaluate(proposal_from_data(base))
    assert breach.safety_net.consent_conflicts and breach.brief[0].kind == "consent_conflict"
    assert "personalisation.decision.sharing-refused" not in {p.id for p in breach.prompts}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_persons_copy_is_safe_to_print(case: Path) -> None:
    """No rule ids, status words, engine words or relationship labels; about a page; plain English."""
    full_copy = render_person(_evaluate(case))
    copy = re.sub(r'"[^"]*"', '"..."', full_copy)  # the person's own words may say anything
    rule_ids = [i for i in _rule_ids() if re.search(rf"(?<![\w.-]){re.escape(i)}(?![\w-])", copy)]
    assert not rule_ids
    assert not STATUS_WORDS.search(copy)
    assert not ENGINE_WORDS.search(copy), ENGINE_WORDS.search(copy)
    assert not RELATIONSHIP_LABELS.search(copy), RELATIONSHIP_LABELS.search(copy)
    assert "_" not in copy  # no vocabulary values (route_back, s17_leave) leak through
    assert len(full_copy.split()) <= 600
    assert flesch_reading_ease(full_copy) >= 50


def test_the_persons_copies_meet_their_targets() -> None:
    """Over every fixture: person copy median <= 400 words and reading ease median >= 70."""
    copies = [render_person(_evaluate(case)) for case in CASES]
    assert statistics.median(len(c.split()) for c in copies) <= 400
    assert statistics.median(flesch_reading_ease(c) for c in copies) >= 70


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_practitioner_report_is_short_by_default_and_grades_nothing(case: Path) -> None:
    """The default view opens with the brief and has at most five questions; --full shows every
    prompt with its id; neither view prints a principle status word."""
    e = _evaluate(case)
    short, full = render_text(e), render_text(e, full=True)
    assert short.index("Start here") < short.index("Questions for today")
    questions = short.split("Questions for today", 1)[1].split("More with --full", 1)[0]
    assert questions.count("\n  * ") <= 5
    assert not STATUS_WORDS.search(short) and not STATUS_WORDS.search(full)
    assert all(f"[{p.id}" in full for p in e.prompts)
    assert len(short.split()) < len(full.split())


def test_the_practitioner_default_view_is_short_enough_for_a_meeting() -> None:
    """Median default view <= 1,000 words over every fixture."""
    assert statistics.median(len(render_text(_evaluate(c)).split()) for c in CASES) <= 1000


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_point_is_said_once(case: Path) -> None:
    """No two person-facing texts make the same point: no shown prompts share a rule topic,
    no two texts are near-duplicates by content words (unless one brief item stands for
    both), and no two items of the person's copy are near-duplicates."""
    e = _evaluate(case)
    topic = _topic_of_prompt()
    shown = [p.id for p in (*e.prompts, *e.prompts_set_aside) if p.id in topic]
    assert not [(a, b) for a, b in itertools.combinations(shown, 2) if topic[a] == topic[b]]
    together = [set(item.stands_for) for item in e.brief]
    texts = person_facing_texts(e)

    def behind_one_item(a: str, b: str) -> bool:
        ia, ib = a.split(" ", 1)[-1], b.split(" ", 1)[-1]
        return any(ia in ids and ib in ids for ids in together)

    pairs = [
        (a, b) for (a, ta), (b, tb) in itertools.combinations(texts, 2)
        if (ta == tb or same_point(ta, tb)) and not behind_one_item(a, b)
    ]  # fmt: skip
    assert not pairs
    local = [p for p in e.prompts if p.id.startswith("local-rules")]
    assert len(local) <= 1 and all(p.id == "local-rules" and p.stands_for for p in local)


def test_the_word_overlap_test_catches_the_known_pairs_that_share_words() -> None:
    """Calibration: pairs the practitioner review found, read from the shipped rules, are caught;
    an unrelated pair that shares a few words is not."""
    texts = {}
    for loaded in _engine().book.rules:
        then = loaded.rule.then
        if then.prompt is not None:
            texts[loaded.rule.id] = then.prompt.to_person
        if then.knowledge is not None and then.knowledge.to_person:
            texts[f"knowledge:{loaded.rule.id}"] = then.knowledge.to_person
    caught = [
        ("prm.relational.no-personal-ties", "net.build.services-only"),
        ("felton.joint.started-by-others", "prm.aims.whose-goal"),
        ("coproduction.advocacy.offer", "knowledge:coproduction.advocacy.imha"),
    ]
    for a, b in caught:
        assert same_point(texts[a], texts[b]), (a, b)
    assert not same_point(texts["bungee.operator-code"], texts["bungee.health-questions"])
    assert not same_point(texts["medication.pace-set-by-person"], texts["medication.review"])


def test_every_duplicate_pair_the_review_listed_shares_a_topic() -> None:
    """The pairs the review listed that word overlap cannot see are tied by topic, so a change to
    one rule's wording cannot bring the repetition back."""
    topic = {r.rule.id: r.rule.topic for r in _engine().book.rules}
    pairs = [
        ("felton.plan.route-back-named", "net.route-back.named"),
        ("felton.strengths.person-owns-no-step", "prm.responsibility.no-part-for-person"),
        ("prm.relational.not-agreed", "net.fragile.not-asked"),
        ("prm.relational.unsteady", "net.fragile.unsteady"),
        ("prm.relational.unsteady", "prm.relational.worker-new"),
        ("prm.relational.no-personal-ties", "net.build.services-only"),
        ("felton.joint.started-by-others", "prm.aims.whose-goal"),
        ("felton.achieve.success-not-described", "prm.aims.safeguards-only"),
        ("coproduction.cto.conditions", "overnight.know.cto-conditions"),
        ("net.consent-conflict", "personalisation.decision.sharing-refused"),
    ]
    for a, b in pairs:
        assert topic[a] is not None and topic[a] == topic[b], (a, b)


TOPIC_RULESETS = {
    "general.yaml": """
id: general
version: 1.0.0
title: general rules
sources: [{id: s, title: a source, citation: "A 2020"}]
rules:
  - id: general.ask-first
    topic: who-comes
    source: s
    because: "always"
    then:
      tension: prm.3.2
      prompt: {stage: team_talk, to_practitioner: "Ask who could come.", to_person: "Who could come with you?",
               principles: [felton.1], tensions: [prm.3.2]}
""",
    "packs/parkrun.yaml": """
id: packs.parkrun
version: 1.0.0
title: parkrun
sources: [{id: s, title: a source, citation: "A 2020"}]
rules:
  - id: parkrun.who-comes
    topic: who-comes
    source: s
    when: [{proposal.activity: parkrun}]
    because: "a parkrun"
    then:
      prompt: {stage: option_talk, to_practitioner: "Ask who might run with them.",
               to_person: "Who would you like to go round with?", principles: [felton.3]}
""",
}


def test_a_topic_keeps_the_best_placed_rule_and_names_the_other(tmp_path: Path) -> None:
    """Two rules in different rulesets share a topic: the activity's own pack wins although it
    comes later in the conversation; its prompt stands for the other and serves its principles;
    both stay in the trace. Without the pack's activity, the general rule speaks."""
    for name, text in TOPIC_RULESETS.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    engine = Engine.from_paths([tmp_path])
    doc = {"schema_version": 1, "id": "t", "jurisdiction": "england", "as_of": "2026-11-30"}
    e = engine.evaluate(proposal_from_data({**doc, "proposal": {"activity": "parkrun"}}))
    (prompt,) = e.prompts
    assert prompt.id == "parkrun.who-comes" and prompt.stands_for == ("general.ask-first",)
    assert set(prompt.principles) == {"felton.3", "felton.1"} and prompt.tensions == ("prm.3.2",)
    assert {t.rule for t in e.trace} == {"general.ask-first", "parkrun.who-comes"}
    other = engine.evaluate(proposal_from_data({**doc, "proposal": {"activity": "bungee_jump"}}))
    assert [p.id for p in other.prompts] == ["general.ask-first"] and other.prompts[0].stands_for == ()


def test_one_local_rules_prompt_lists_every_note_not_checked_here() -> None:
    """Northern Ireland: one "check local rules" prompt naming each note, instead of one per note."""
    e = _evaluate(FIXTURES / "activities" / "firearm_licence" / "shotgun-ni-not-recorded.yaml")
    (local,) = [p for p in e.prompts if p.id.startswith("local-rules")]
    assert set(local.stands_for) >= {"uk.firearms.medical-proforma", "uk.firearms.gp-marker"}
    assert "Northern Ireland" in local.to_practitioner and "medical" in local.to_practitioner
    assert "Northern Ireland" not in local.to_person and len(local.to_person.split()) < 20


def test_both_renderers_are_public_and_read_the_same_evaluation() -> None:
    """render_text and render_person are exported, and both say the person's own words."""
    assert riskengine.render_text is render_text and riskengine.render_person is render_person
    e = _evaluate(SCENARIO_PROPOSALS / "parkrun-with-a-friend.yaml")
    words = "get round the 5k with Jay"
    assert words in render_text(e) and words in render_person(e)


def test_legal_musts_have_a_plain_english_version() -> None:
    """Every shipped legal must has a to_person text that reads easily, for the brief and the copy."""
    for loaded in Engine.from_paths([SHIPPED]).book.rules:
        k = loaded.rule.then.knowledge
        if k is not None and k.weight == "must":
            assert k.to_person, loaded.rule.id
            assert flesch_reading_ease(k.to_person) >= 60, (loaded.rule.id, k.to_person)


GAPS_RULESET = """
id: gaps
version: 1.0.0
title: gaps behind set-aside prompts
sources: [{id: s, title: a source, citation: "A 2020"}]
rules:
  - id: g.everyday
    source: s
    when: [{proposal.activity: parkrun}]
    because: "a parkrun"
    then: {living_your_life: {everyday: true, note: "Most people just go."}}
  - id: g.detained
    source: s
    when: [{person.legal_context: detained}]
    because: "detained"
    then: {living_your_life: {everyday: false, note: "Leave conditions apply."}}
  - id: g.plan-b
    source: s
    because: "there is a plan B"
    then: {supports: felton.4}
  - id: g.no-review
    source: s
    because: "no review date is set"
    then:
      gap: felton.4
      prompt: {stage: review, everyday: set_aside, to_practitioner: "Set a review date.",
               to_person: "When shall we look back?", principles: [felton.4]}
"""


def test_principle_statuses_ignore_gaps_whose_prompts_were_set_aside(tmp_path: Path) -> None:
    """A parkrun with no review date is not 'partly' planned for lacking one: the engine set the
    question aside; with a legal context that makes it more than everyday, the gap counts."""
    (tmp_path / "gaps.yaml").write_text(GAPS_RULESET, encoding="utf-8")
    engine = Engine.from_paths([tmp_path])
    doc = {"schema_version": 1, "id": "g", "jurisdiction": "england", "as_of": "2026-11-30",
           "proposal": {"activity": "parkrun"}}  # fmt: skip
    everyday = next(p for p in engine.evaluate(proposal_from_data(doc)).principles if p.id == "felton.4")
    assert everyday.status == "evident" and everyday.gaps == ()
    detained = engine.evaluate(proposal_from_data({**doc, "person": {"legal_context": "detained"}}))
    principle = next(p for p in detained.principles if p.id == "felton.4")
    assert principle.status == "partly_evident" and principle.gaps == ("no review date is set",)
