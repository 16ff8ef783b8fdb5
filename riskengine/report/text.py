"""Render an evaluation as the practitioner's text report.

The text report follows the conversation: is this just living your life, what the
principles ask, which tensions are live, what to ask (by stage), what could help,
what the law and guidance say, what could go well, who the plan leans on, and how
it will be reviewed.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from riskengine.documents.evaluation import Evaluation, SafetyNet, SafetyNetNeed

__all__ = ["evaluation_text"]

_STAGE_TITLES = {
    "team_talk": "Team talk: making it a shared decision",
    "option_talk": "Option talk: the choices and what each could bring",
    "decision_talk": "Decision talk: what matters most, and deciding",
    "review": "Review: looking back together",
}
_PRINCIPLE_TITLES = {
    "felton.1": "Deciding together",
    "felton.2": "Sharing information clearly",
    "felton.3": "Drawing on strengths",
    "felton.4": "Planning for how it goes",
    "felton.5": "Counting what could go well",
}
_TENSION_TITLES = {
    "prm.1.1": "empowerment and recovery",
    "prm.1.2": "prescribing risk management",
    "prm.1.3": "aiding or demonstrating recovery",
    "prm.1.4": "avoiding harm and risk",
    "prm.2.1": "the right to risk",
    "prm.2.2": "for everyone, but not all",
    "prm.2.3": "insight as a necessity",
    "prm.3.1": "(not) every clinician's responsibility",
    "prm.3.2": "relational risk management",
    "prm.3.3": "learning from experience",
}
_STATUS = {"evident": "evident", "partly_evident": "partly evident", "not_yet_evident": "not yet evident"}
_WIDTH = 88
# The seed slide asks "risk-taking or living your life?" as a question for the person and the
# team, not a verdict (practitioner review 2026-12, seed 000).
_EVERYDAY_QUESTION = "Most people do this without being assessed: how fully do you want to plan it? "


def _wrap(text: str, indent: str = "  ") -> list[str]:
    return textwrap.wrap(text, _WIDTH, initial_indent=indent, subsequent_indent=indent + "  ") or [indent]


def _heading(title: str) -> list[str]:
    return ["", title, "-" * len(title)]


def evaluation_text(evaluation: Evaluation) -> str:
    """A readable report, in conversation order."""
    e = evaluation
    lines = [f"riskengine evaluation of {e.proposal_id} (as of {e.as_of.isoformat()})"]
    lines += ["It supports a conversation. It does not decide, and it gives no risk score."]
    lines += _heading("Living your life?")
    lines += _wrap(
        (_EVERYDAY_QUESTION if e.living_your_life.everyday else "")
        + e.living_your_life.note
    )
    lines += _heading("What the five principles ask")
    for p in e.principles:
        lines.append(f"  {p.id} {_PRINCIPLE_TITLES[p.id]}: {_STATUS[p.status]}")
        lines += [line for b in p.because for line in _wrap(f"+ {b}", "    ")]
        lines += [line for g in p.gaps for line in _wrap(f"? {g}", "    ")]
    lines += _heading("Tensions to talk through")
    if not e.tensions:
        lines.append("  none found")
    for t in e.tensions:
        lines.append(f"  {t.id} {_TENSION_TITLES[t.id]}")
        lines += [line for b in t.because for line in _wrap(f"- {b}", "    ")]
    lines += _prompts(e)
    lines += _heading("What could help")
    lines += _or_none(
        [ln for m in e.mitigations for ln in _wrap(_mitigation_line(m.text, m.suggested_owner))]
    )
    lines += _heading("What the law and guidance say")
    lines += _or_none(_knowledge_lines(e, "law_or_guidance"), "nothing specific to this decision")
    evidence = _knowledge_lines(e, "evidence")
    if evidence:
        lines += _heading("What research has found (evidence for the practitioner)")
        lines += evidence
    lines += _heading("What could go well")
    lines += [
        line
        for b in e.benefits
        for line in _wrap(f"+ {b.text}" + (" (your words)" if b.from_ == "person" else ""))
    ]
    lines += _safety_net(e.safety_net)
    lines += _heading("Review")
    lines.append(f"  on: {e.review.on.isoformat() if e.review.on else 'no date yet'}")
    lines += _wrap(f"success looks like: {e.review.success_looks_like or 'not written yet'}")
    lines += _wrap("look back at: " + "; ".join(e.review.look_back_at))
    fired = len({t.ruleset for t in e.trace})
    lines += [
        "",
        f"{len(e.trace)} rule firings from {fired} of {len(e.provenance.rulesets)} rulesets; the JSON",
    ]
    lines += ["form traces each item to its rule and lists every ruleset with its hash."]
    return "\n".join(lines) + "\n"


def _knowledge_lines(e: Evaluation, kind: str) -> list[str]:
    lines: list[str] = []
    for k in e.knowledge:
        if k.kind == kind:
            stale = " [due for re-checking]" if k.stale else ""
            lines += _wrap(f"- [{k.weight}] {k.topic}: {k.text} ({k.source.title}){stale}")
    return lines


def _or_none(lines: list[str], words: str = "none suggested by the rules") -> list[str]:
    return lines or [f"  {words}"]


def _mitigation_line(text: str, owner: str | None) -> str:
    return f"- {text}" + (f" (owner: {owner})" if owner else "")


def _prompts(e: Evaluation) -> list[str]:
    lines: list[str] = []
    for stage, title in _STAGE_TITLES.items():
        prompts = [p for p in e.prompts if p.stage == stage]
        if not prompts:
            continue
        lines += _heading(title)
        for p in prompts:
            lines += _wrap(f"* {p.to_person}")
            lines += _wrap(f"for the practitioner: {p.to_practitioner}", "    ")
    if e.prompts_set_aside:
        lines += _heading("If you want to plan in more detail")
        lines += _wrap(
            "This is an everyday activity, so these questions are set aside. Ask them only if the "
            "person wants to plan it more fully:"
        )
        lines += [line for p in e.prompts_set_aside for line in _wrap(f"- {p.to_person}", "    ")]
    return lines


_HELD = {"crisis_plan": "the crisis plan's route back", "ward": "the ward"}
_ISSUE_WORDS = {"consent_conflict": "the person has said not to tell them"}


def _safety_net(net: SafetyNet) -> list[str]:
    lines = _heading("Who the plan leans on")
    if not net.needs:
        lines.append("  no safety-net needs found")
    for n in net.needs:
        lines += _wrap(_need_line(n))
        lines += _wrap(f"why: {n.why}", "    ")
    for s in net.single_points_of_failure:
        carries = ", ".join(r.replace("_", " ") for r in s.carries)
        lines += _wrap(f"! {s.member} carries {carries}: {s.because}")
    for c in net.consent_conflicts:
        lines += _wrap(f"! {c.member} for {c.role.replace('_', ' ')}: {c.because}")
    return lines


def _need_line(n: SafetyNetNeed) -> str:
    """Who holds a need without an issue first, then each other filler with its own issues.

    The issues are the member's own (``issues_by_member``), never the need's pooled list, so
    a member who agreed is never shown as not agreed, and "only one" follows one name only.
    """
    troubled = {entry.member: entry.issues for entry in n.issues_by_member}
    holders = [_HELD[r] for r in n.held_in_record] + [m for m in n.filled_by if m not in troubled]
    others = [f"{m} ({_issue_list(troubled[m])})" for m in n.filled_by if m in troubled]
    head = f"- {n.role.replace('_', ' ')} ({n.when}): {n.status.replace('_', ' ')}; "
    text = head + (", ".join(holders) if holders else "nobody without a question yet")
    if len(holders) == 1:
        text += " (the only one so far)"
    if others:
        text += ("; also " if holders else ": ") + ", ".join(others)
    return text


def _issue_list(issues: Iterable[str]) -> str:
    return ", ".join(_ISSUE_WORDS.get(i, i.replace("_", " ")) for i in issues if i != "only_one")
