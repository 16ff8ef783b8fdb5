"""CDS Hooks cards from an evaluation: one per brief item or conversation stage, never a grade.

Every card's ``indicator`` is ``info``: a ``warning`` or ``critical`` card would grade the
person's choice, which riskengine never does (and alert inflation is a hazard of its own).
Summaries are built from fixed wording and counts only, so they never carry a name, an id
or anything the person said; the detail (markdown) carries the prompts in both voices.

May import: the standard library and ``riskengine`` public names.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import riskengine

__all__ = [
    "OVERRIDE_REASONS",
    "SUMMARY_LIMIT",
    "cards_for",
    "not_evaluated_card",
    "wrong_person_card",
]

SUMMARY_LIMIT = 140
OVERRIDE_SYSTEM = "urn:riskengine:cds:override-reason"
OVERRIDE_REASONS: tuple[dict[str, str], ...] = tuple(
    {"system": OVERRIDE_SYSTEM, "code": code, "display": display}
    for code, display in (
        ("already-talked-through", "Already talked through with the person"),
        ("person-chose-otherwise", "The person chose differently"),
        ("not-relevant-now", "Not relevant to this decision now"),
        ("information-wrong", "The information behind this is wrong or out of date"),
        ("other", "Another reason (see comment)"),
    )
)
_STAGES = {
    "team_talk": "Team talk: making it a shared decision",
    "option_talk": "Option talk: the choices and what each could bring",
    "decision_talk": "Decision talk: what matters most, and deciding",
    "review": "Review: looking back together",
}
_BRIEF = {
    "consent_conflict": "Sharing: part of the plan relies on telling someone the person has not agreed to tell",
    "legal_must": "Law and guidance: something this plan has to take into account",
    "not_agreed": "Not yet agreed: the plan leans on people not yet recorded as knowing about it and agreeing",
    "persons_words": "The person's own words about what matters to them",
    "next_review": "Review: when and how to look back on this decision together",
}


def _card(summary: str, detail: str, label: str, **extra: Any) -> dict[str, Any]:
    if len(summary) > SUMMARY_LIMIT:  # fixed wording; a guard, not a truncation of anyone's words
        summary = summary[: SUMMARY_LIMIT - 1] + "…"
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": summary,
        "detail": detail,
        "indicator": "info",
        "source": {"label": label},
        "overrideReasons": list(OVERRIDE_REASONS),
    }
    card.update(extra)
    return card


def _md(text: str) -> str:
    """Text from a ruleset or the person, safe inside markdown (no links, images or HTML)."""
    out = text.replace("\\", "\\\\")
    for char in "<>[]`*_#|":
        out = out.replace(char, "\\" + char)
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def cards_for(
    evaluation: riskengine.Evaluation,
    resources: Sequence[Mapping[str, Any]],
    *,
    label: str,
    links: Sequence[Mapping[str, str]],
) -> list[dict[str, Any]]:
    """The cards for one evaluation: brief items (or else stages), law and guidance, the plan."""
    cards = _brief_cards(evaluation, label, links) or _stage_cards(evaluation, label, links)
    cards += _knowledge_card(evaluation, label, links)  # where sources and review dates are said
    plan = _plan_card(evaluation, resources, label, links)
    if plan is not None:
        cards.append(plan)
    return cards


def _footer(evaluation: riskengine.Evaluation) -> str:
    return (
        "\n\n---\nriskengine prompts a conversation; it does not decide and gives no risk score. "
        f"Evaluated as of {evaluation.as_of.isoformat()}."
    )


def _brief_cards(
    evaluation: riskengine.Evaluation, label: str, links: Sequence[Mapping[str, str]]
) -> list[dict[str, Any]]:
    cards = []
    for item in evaluation.brief:
        detail = (
            f"{_md(item.to_practitioner)}\n\n*For the person:* {_md(item.to_person)}"
            + (
                f"\n\nBehind this: {', '.join(f'`{_md(s)}`' for s in item.stands_for)}"
                if item.stands_for
                else ""
            )
            + _footer(evaluation)
        )
        cards.append(
            _card(_BRIEF.get(item.kind, "Something to talk through"), detail, label, links=list(links))
        )
    return cards


def _stage_cards(
    evaluation: riskengine.Evaluation, label: str, links: Sequence[Mapping[str, str]]
) -> list[dict[str, Any]]:
    by_stage: dict[str, list[Any]] = {}
    for prompt in evaluation.prompts:
        by_stage.setdefault(prompt.stage, []).append(prompt)
    cards = []
    for stage, title in _STAGES.items():
        prompts = by_stage.get(stage)
        if not prompts:
            continue
        lines = [
            f"- {_md(p.to_practitioner)}\n  *For the person:* {_md(p.to_person)} (`{_md(p.id)}`)"
            for p in prompts
        ]
        summary = f"{title} ({_plural(len(prompts), 'prompt')})"
        cards.append(_card(summary, "\n".join(lines) + _footer(evaluation), label, links=list(links)))
    return cards


def _knowledge_card(
    evaluation: riskengine.Evaluation, label: str, links: Sequence[Mapping[str, str]]
) -> list[dict[str, Any]]:
    items = evaluation.knowledge
    if not items:
        return []
    stale = sum(1 for k in items if k.stale)
    lines = [
        f"- **{k.weight}** {_md(k.text)} (`{_md(k.id)}`; checked for {', '.join(k.jurisdictions)})"
        + (" **Past its review date: check the source before relying on it.**" if k.stale else "")
        for k in items
    ]
    summary = f"Law and guidance: {_plural(len(items), 'item')} this decision touches"
    if stale:
        summary += f" ({stale} past review date)"
    return [_card(summary, "\n".join(lines) + _footer(evaluation), label, links=list(links))]


def _plan_card(
    evaluation: riskengine.Evaluation,
    resources: Sequence[Mapping[str, Any]],
    label: str,
    links: Sequence[Mapping[str, str]],
) -> dict[str, Any] | None:
    mitigations, needs = evaluation.mitigations, evaluation.safety_net.needs
    if not (mitigations or needs or resources):
        return None
    lines = [f"- {_md(m.text)} (`{_md(m.id)}`)" for m in mitigations]
    lines += [
        f"- Safety net, {n.role.replace('_', ' ')} ({n.when}): {n.status.replace('_', ' ')}" for n in needs
    ]
    summary = (
        f"Plan: {_plural(len(mitigations), 'possible mitigation')} and "
        f"{_plural(len(needs), 'safety-net need')} to agree together"
    )
    extra: dict[str, Any] = {"links": list(links)}
    if resources:
        extra["selectionBehavior"] = "any"
        extra["suggestions"] = [
            {
                "label": "Add these to the record as a draft plan, to change with the person",
                "uuid": str(uuid.uuid4()),
                "isRecommended": False,
                "actions": [
                    {
                        "type": "create",
                        "description": f"Draft {r.get('resourceType', 'resource')}",
                        "resource": dict(r),
                    }
                    for r in resources
                ],
            }
        ]
    return _card(summary, "\n".join(lines) + _footer(evaluation), label, **extra)


def not_evaluated_card(
    missing_keys: Iterable[str], diagnostics: Iterable[Mapping[str, Any]], label: str
) -> dict[str, Any]:
    """The one card for a hook call that could not be evaluated: what is missing, where."""
    keys = list(missing_keys)
    lines = []
    if keys:
        lines.append("These prefetch items were not sent (this service fetches nothing itself):")
        lines += [f"- `{_md(k)}`" for k in keys]
    problems = [d for d in diagnostics]
    if problems:
        lines.append("What could not be read, by FHIR path:")
        lines += [
            f"- `{_md(str(d.get('field') or d.get('path') or ''))}`: {_md(str(d.get('message', '')))}"
            for d in problems
        ]
    lines.append(
        "\nNothing was evaluated. Recording the missing information (or sending the prefetch) "
        "lets riskengine offer its prompts; a gap is a question to ask, never a finding."
    )
    return _card("riskengine could not review this plan: some information was not sent or could not be read",
                 "\n".join(lines), label)  # fmt: skip


def wrong_person_card(label: str, paths: Iterable[str]) -> dict[str, Any]:
    """The card when the records sent are not all about the patient in context."""
    listed = "\n".join(f"- `{_md(p)}`" for p in paths)
    detail = (
        "Some of the records sent refer to a different person than the one open in the record, "
        f"so nothing was evaluated:\n{listed}\n\nCheck the record before using any decision support."
    )
    return _card("riskengine did not review this plan: the records sent are not all about the same person",
                 detail, label)  # fmt: skip
