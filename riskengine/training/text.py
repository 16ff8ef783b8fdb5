"""The engine debrief as terminal text, for solo play and ``riskengine scenario debrief``.

Imports: the standard library, :mod:`.debrief`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from .debriefing import DebriefResult, PlanDebrief

__all__ = ["WIDTH", "debrief_text", "plan_name", "wrap"]

WIDTH = 88


def wrap(text: str, indent: str = "", width: int = WIDTH) -> list[str]:
    """Wrap one paragraph, hanging further lines under the first."""
    return textwrap.wrap(
        " ".join(text.split()), width, initial_indent=indent, subsequent_indent=indent + "  "
    ) or [indent]


def plan_name(plan: PlanDebrief) -> str:
    """How a plan is named in the debrief: its option id, or what happened."""
    if plan.kind == "happened":
        return "what happened" + (f" (closest to {plan.close_to})" if plan.close_to else "")
    if plan.kind == "as_known":
        return "as known"
    return f"option {plan.key}"


def debrief_text(result: DebriefResult, keys: Sequence[str] | None = None) -> str:
    """What the principles ask of each plan, side by side, then what differs by section."""
    result = result.only(keys) if keys else result
    plans = list(result.shown())
    lines = ["What the principles ask of each plan", "=" * 36, *wrap(result.framing)]
    lines += ["", "Known at this point:"]
    lines += [ln for _, text in result.known_facts for ln in wrap(f"- {text}", "  ")] or [
        "  nothing beyond the story so far"
    ]
    lines += ["", "The plans:"]
    lines += [ln for p in plans for ln in wrap(f"{plan_name(p)}: {p.label}", "  ")]
    life = next(d for d in result.diffs if d.section == "living_your_life")
    lines += ["", life.title]
    lines += [ln for item in life.shared for ln in wrap(f"every plan: {item}", "  ")]
    lines += [ln for p in plans for item in life.only[p.key] for ln in wrap(f"{plan_name(p)}: {item}", "  ")]
    for row in result.principles:
        lines += ["", f"{row.id} {row.title}"]
        for p in plans:
            on_record, lacking = row.differs(p.key)
            if on_record or lacking:
                lines.append(f"  {plan_name(p)}:")
                lines += [ln for b in on_record for ln in wrap(f"+ {b}", "    ")]
                lines += [ln for g in lacking for ln in wrap(f"? {g}", "    ")]
        lines += [ln for b in row.on_record_in_all for ln in wrap(f"+ in every plan: {b}", "  ")]
        lines += [ln for g in row.lacking_in_all for ln in wrap(f"? in every plan: {g}", "  ")]
    for section in result.diffs:
        if section.section in {"principles", "living_your_life"}:
            continue
        only = {k: v for k, v in section.only.items() if v}
        lines += ["", f"{section.title}: {len(section.shared)} the same in every plan"]
        if not only:
            lines.append("  no differences between the plans")
        for key, items in only.items():
            lines.append(f"  only in {plan_name(result.plan(key))}:")
            lines += [ln for item in items for ln in wrap(f"- {item}", "    ")]
    return "\n".join(lines) + "\n"
