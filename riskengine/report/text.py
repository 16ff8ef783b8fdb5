"""The practitioner's text report: the brief first, a few questions for today, the rest on request.

The default view is what a ten-minute review can use: the brief (at most five items, each
in both voices with the ids it stands for), the living-your-life note, up to five
questions for today, and one line saying what ``--full`` adds. ``full=True`` shows every
section in conversation order. Sources and ids stay in this report; the person's own copy
(:mod:`riskengine.report.person`) leaves them out. No principle status word is printed: the
statuses are in the JSON for integrators, and read as a mark sheet here.

May import: ``riskengine.documents``, the standard library.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from riskengine.documents.evaluation import BriefItem, Evaluation, Prompt, SafetyNet, SafetyNetNeed
from riskengine.documents.vocab import ACTIVITIES

__all__ = [
    "EVERYDAY_QUESTION",
    "QUESTIONS_FOR_TODAY",
    "evaluation_text",
    "questions_for_today",
    "render_text",
]

QUESTIONS_FOR_TODAY = 5
_WIDTH = 88
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
_BRIEF_TITLES = {
    "consent_conflict": "Consent",
    "legal_must": "The law says must",
    "not_agreed": "Not yet agreed",
    "persons_words": "In their words",
    "next_review": "Review",
}
_ACTIVITY_PACKS = frozenset(f"packs.{a}" for a in ACTIVITIES)
# The seed slide asks "risk-taking or living your life?" as a question for the person and the
# team, not a verdict (practitioner review 2026-12, seed 000).
EVERYDAY_QUESTION = "Most people do this without being assessed: how fully do you want to plan it? "
_HELD = {"crisis_plan": "the crisis plan's route back", "ward": "the ward"}
_ISSUE_WORDS = {"consent_conflict": "the person has said not to tell them"}


def questions_for_today(e: Evaluation, limit: int = QUESTIONS_FOR_TODAY) -> tuple[Prompt, ...]:
    """The few prompts a short meeting starts with, in conversation order.

    Prompts the brief already stands for are left out. The rest are taken in this order:
    prompts from the activity's own pack (the most specific to this decision), then
    prompts that help with a live tension, then the others, then review prompts (for the
    day they look back), each group in conversation order; the first ``limit`` are kept.
    """
    in_brief = {i for item in e.brief for i in item.stands_for}
    ruleset = {t.rule: t.ruleset.partition("@")[0] for t in e.trace}
    live = {t.id for t in e.tensions}
    candidates = [p for p in e.prompts if p.id not in in_brief]

    def rank(prompt: Prompt) -> int:
        if prompt.stage == "review":
            return 3  # for the day they look back, not for today
        if ruleset.get(prompt.id) in _ACTIVITY_PACKS:
            return 0
        return 1 if live & set(prompt.tensions) else 2

    chosen = {p.id for p in sorted(candidates, key=rank)[:limit]}  # sorted() is stable
    return tuple(p for p in candidates if p.id in chosen)


def render_text(evaluation: Evaluation, *, full: bool = False) -> str:
    """The practitioner's report: short by default, everything with ``full=True``."""
    e = evaluation
    lines = [f"riskengine evaluation of {e.proposal_id} (as of {e.as_of.isoformat()})"]
    lines += ["It supports a conversation. It does not decide, and it gives no risk score."]
    lines += _brief(e)
    lines += _heading("Living your life?")
    lines += _wrap((EVERYDAY_QUESTION if e.living_your_life.everyday else "") + e.living_your_life.note)
    if full:
        lines += _everything(e)
    else:
        lines += _today(e)
    return "\n".join(lines) + "\n"


def _wrap(text: str, indent: str = "  ") -> list[str]:
    return textwrap.wrap(
        text, _WIDTH, initial_indent=indent, subsequent_indent=indent + "  ", break_on_hyphens=False
    ) or [indent]


def _heading(title: str) -> list[str]:
    return ["", title, "-" * len(title)]


def _brief(e: Evaluation) -> list[str]:
    lines = _heading("Start here")
    for number, item in enumerate(e.brief, 1):
        lines += _brief_item(number, item, e)
    return lines


def _brief_item(number: int, item: BriefItem, e: Evaluation) -> list[str]:
    lines = _wrap(f"{number}. {_BRIEF_TITLES[item.kind]}: {item.to_practitioner}")
    if item.kind == "legal_must":
        for k in e.knowledge:
            if k.id in item.stands_for:
                lines += _wrap(f"- {k.topic}: {k.text}", "     ")
    lines += _wrap(f"to the person: {item.to_person}", "     ")
    if item.stands_for:
        lines += _wrap(f"stands for: {', '.join(item.stands_for)}", "     ")
    return lines


def _question(p: Prompt) -> list[str]:
    also = f"; also {', '.join(p.stands_for)}" if p.stands_for else ""
    return [
        *_wrap(f"* {p.to_person}"),
        *_wrap(f"for the practitioner: {p.to_practitioner} [{p.id}{also}]", "    "),
    ]


def _today(e: Evaluation) -> list[str]:
    chosen = questions_for_today(e)
    lines = _heading("Questions for today")
    lines += [line for p in chosen for line in _question(p)] or ["  none beyond the brief"]
    more = _more(e, len(chosen))
    if more:
        lines += _heading("More with --full")
        lines += _wrap("; ".join(more) + ".")
    lines += ["", "The person's own copy, to print or hand over: --format person."]
    return lines


def _more(e: Evaluation, shown: int) -> list[str]:
    in_brief = {i for item in e.brief for i in item.stands_for}
    counts = [
        (len([p for p in e.prompts if p.id not in in_brief]) - shown, "more question", "more questions"),
        (
            len(e.prompts_set_aside),
            "question set aside as fuller planning",
            "questions set aside as fuller planning",
        ),
        (len(e.tensions), "tension to talk through", "tensions to talk through"),
        (len(e.knowledge), "note on law, guidance and evidence", "notes on law, guidance and evidence"),
        (len(e.mitigations), "suggestion that could help", "suggestions that could help"),
        (len(e.benefits), "thing that could go well", "things that could go well"),
        (len(e.safety_net.needs), "safety-net need", "safety-net needs"),
    ]
    out = [f"{n} {one if n == 1 else many}" for n, one, many in counts if n > 0]
    return [*out, "what the five principles ask, and the trace"] if out else out


def _everything(e: Evaluation) -> list[str]:
    lines = _principles(e)
    lines += _heading("Tensions to talk through")
    if not e.tensions:
        lines.append("  none found")
    for t in e.tensions:
        lines.append(f"  {t.id} {_TENSION_TITLES[t.id]}")
        lines += [line for b in t.because for line in _wrap(f"- {b}", "    ")]
    lines += _prompts(e)
    lines += _heading("What could help")
    lines += [
        ln
        for m in e.mitigations
        for ln in _wrap(f"- {m.text}" + (f" (owner: {m.suggested_owner})" if m.suggested_owner else ""))
    ] or ["  none suggested by the rules"]
    lines += _heading("What the law and guidance say")
    lines += _knowledge_lines(e, "law_or_guidance") or ["  nothing specific to this decision"]
    evidence = _knowledge_lines(e, "evidence")
    if evidence:
        lines += _heading("What research has found (evidence for the practitioner)")
        lines += evidence
    lines += _heading("What could go well")
    lines += [
        line
        for b in e.benefits
        for line in _wrap(f"+ {b.text}" + (" (the person's words)" if b.from_ == "person" else ""))
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
        "form traces each item to its rule and lists every ruleset with its hash.",
    ]
    return lines


def _knowledge_lines(e: Evaluation, kind: str) -> list[str]:
    lines: list[str] = []
    for k in e.knowledge:
        if k.kind == kind:
            stale = " [due for re-checking]" if k.stale else ""
            lines += _wrap(f"- {k.topic} ({k.weight}): {k.text} ({k.source.title}; {k.id}){stale}")
    return lines


def _principles(e: Evaluation) -> list[str]:
    lines = _heading("What the five principles ask")
    for p in e.principles:
        lines.append(f"  {p.id} {_PRINCIPLE_TITLES[p.id]}")
        lines += [line for b in p.because for line in _wrap(f"+ {b}", "    ")]
        lines += [line for g in p.gaps for line in _wrap(f"? {g}", "    ")]
        if not p.because and not p.gaps:
            lines.append("    nothing on record yet")
    return lines


def _prompts(e: Evaluation) -> list[str]:
    lines: list[str] = []
    for stage, title in _STAGE_TITLES.items():
        prompts = [p for p in e.prompts if p.stage == stage]
        if prompts:
            lines += _heading(title)
            lines += [line for p in prompts for line in _question(p)]
    if e.prompts_set_aside:
        lines += _heading("If you want to plan in more detail")
        lines += _wrap(
            "This is an everyday activity, so these questions are set aside. Ask them only if the "
            "person wants to plan it more fully:"
        )
        lines += [line for p in e.prompts_set_aside for line in _wrap(f"- {p.to_person} [{p.id}]", "    ")]
    return lines


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


evaluation_text = render_text  # the name this report had before the brief
