"""Render an evaluation as the practitioner's text report.

The text report follows the conversation: is this just living your life, what the
principles ask, which tensions are live, what to ask (by stage), what could help,
what the law and guidance say, what could go well, who the plan leans on, and how
it will be reviewed.
"""

from __future__ import annotations

import textwrap

from riskengine.documents.evaluation import Evaluation, SafetyNet

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
        ("Most people do this without being assessed. " if e.living_your_life.everyday else "")
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
    knowledge = []
    for k in e.knowledge:
        stale = " [due for re-checking]" if k.stale else ""
        knowledge += _wrap(f"- [{k.weight}] {k.topic}: {k.text} ({k.source.title}){stale}")
    lines += _or_none(knowledge, "nothing specific to this decision")
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


def _safety_net(net: SafetyNet) -> list[str]:
    lines = _heading("Who the plan leans on")
    if not net.needs:
        lines.append("  no safety-net needs found")
    for n in net.needs:
        who = ", ".join(n.filled_by) or "nobody yet"
        issues = f" - {', '.join(i.replace('_', ' ') for i in n.issues)}" if n.issues else ""
        lines += _wrap(
            f"- {n.role.replace('_', ' ')} ({n.when}): {n.status.replace('_', ' ')}; {who}{issues}"
        )
        lines += _wrap(f"why: {n.why}", "    ")
    for s in net.single_points_of_failure:
        lines += _wrap(f"! {s.member} carries {', '.join(s.carries)}: {s.because}")
    for c in net.consent_conflicts:
        lines += _wrap(f"! {c.member} for {c.role}: {c.because}")
    return lines
