"""The person's own copy: plain English, about one printed page, in "you" voice.

It renders from the same evaluation as the practitioner's report, and leaves out what
could confuse or harm on a printout someone else might see: rule ids, sources, principle
or tension labels, engine words (route_back, must, fragile), and how any relationship is
described ("strained", "not aware"). It holds the brief in the person's voice, the
living-your-life note, the few questions for today, a few facts and things that could help
and go well, the law only where a plain-English version is written (research evidence
never), and the review date.

May import: ``riskengine.documents``, ``report.brief`` (names and dates), ``report.text``
(the shared choice of questions), the standard library.
"""

from __future__ import annotations

import textwrap

from riskengine.documents.evaluation import BriefItem, Evaluation
from riskengine.report.brief import long_date
from riskengine.report.text import questions_for_today

__all__ = ["PERSON_FACTS", "PERSON_HELPS", "PERSON_QUESTIONS", "person_facing_texts", "render_person"]

PERSON_QUESTIONS = 4
PERSON_HELPS = 3
PERSON_FACTS = 3
_WIDTH = 76
_ORDER = ("persons_words", "consent_conflict", "legal_must", "not_agreed")


def render_person(evaluation: Evaluation) -> str:
    """The person's own copy of the evaluation, as plain text."""
    e = evaluation
    brief = {item.kind: item for item in e.brief}
    lines = ["Your copy", "=========", *_para(f"From our talk on {long_date(e.as_of)}.")]
    if "persons_words" in brief:
        lines += _section("What you want", [brief["persons_words"].to_person])
    first = [text for k in _ORDER[1:] if k in brief for text in _said(brief[k], e)]
    if first:
        lines += _section("Before you decide", first, bullet=True)
    lines += _section("Is this just living your life?", [_living(e)])
    questions = [p.to_person for p in questions_for_today(e, PERSON_QUESTIONS)]
    if questions:
        lines += _section("Questions to think about", questions, bullet=True)
    known = [
        k.to_person
        for k in e.knowledge
        if k.to_person and k.weight != "must" and k.kind == "law_or_guidance"  # musts are in the brief
    ]
    if known:
        lines += _section("Good to know", known[:PERSON_FACTS], bullet=True)
    helps = [m.text for m in e.mitigations[:PERSON_HELPS]]
    if helps:
        lines += _section("Things that could help", helps, bullet=True)
    yours = [b.text for b in e.benefits if b.from_ == "person"]
    well = [f"You hope for: {'; '.join(yours)}."] if yours else [b.text for b in e.benefits[:1]]
    if well:
        lines += _section("What could go well", well)
    review = brief.get("next_review")
    closing = [review.to_person] if review else []
    closing.append(
        "This copy is to help you and your team talk it through. It does not decide anything. "
        "You can ask for it in large print, easy read or another language."
    )
    lines += _section("Looking back", closing)
    return "\n".join(lines) + "\n"


def person_facing_texts(e: Evaluation) -> list[tuple[str, str]]:
    """Every text in the evaluation written for the person, as ``(where, text)``.

    The brief is left out: its items sum up others by design, and say which.
    """
    out = [("living_your_life", e.living_your_life.note)]
    out += [(f"prompt {p.id}", p.to_person) for p in (*e.prompts, *e.prompts_set_aside)]
    out += [(f"mitigation {m.id}", m.text) for m in e.mitigations]
    out += [(f"knowledge {k.id}", k.to_person) for k in e.knowledge if k.to_person]
    out += [(f"benefit {i}", b.text) for i, b in enumerate(e.benefits) if b.from_ == "rules"]
    return out


def _said(item: BriefItem, e: Evaluation) -> list[str]:
    """A brief item for the person: the legal musts one by one, the others as they are."""
    if item.kind != "legal_must":
        return [item.to_person]
    plain = [k.to_person for k in e.knowledge if k.id in item.stands_for and k.to_person]
    return (
        plain if len(plain) == len([k for k in e.knowledge if k.id in item.stands_for]) else [item.to_person]
    )


def _living(e: Evaluation) -> str:
    note = e.living_your_life.note
    if not e.living_your_life.everyday:
        return note
    return "Most people do this without anyone assessing it. How fully do you want to plan it? " + note


def _para(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, _WIDTH, initial_indent=indent, subsequent_indent=indent)


def _section(title: str, texts: list[str], *, bullet: bool = False) -> list[str]:
    lines = ["", title, "-" * len(title)]
    for text in texts:
        if bullet:
            lines += textwrap.wrap(text, _WIDTH, initial_indent="- ", subsequent_indent="  ")
        else:
            lines += _para(text)
    return lines
