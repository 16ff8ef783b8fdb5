"""The impact report: a JSON document streamed to disk, and a markdown report for people and terminals.

The JSON document is ``{"impact": 1, "before": [...], "after": [...], "proposals": [...],
"summary": {...}}``: ``proposals`` holds the diff of every proposal whose evaluation changed,
in input order, written as it is found (so memory does not grow with the corpus), and
``summary`` the corpus figures of :class:`~riskengine.batch.diff.Aggregate`.

The markdown report opens with the figures, then the rules whose firings changed (with how
many proposals each affects), the items that changed, and the first proposals' diffs with
their brief before and after. It reads as plain text on a terminal.

May import: the door (``riskengine``) and :mod:`riskengine.batch.diff`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from riskengine import open_atomically
from riskengine.batch.diff import Aggregate, BriefEntry, ProposalDiff

__all__ = ["ImpactJson", "impact_markdown"]

SHOWN = 20  # proposals shown in full in the markdown report


class ImpactJson:
    """Streams the JSON report: ``add`` each changed proposal, ``close`` with the summary."""

    def __init__(self, out: IO[bytes], header: dict[str, Any]) -> None:
        self._out = out
        self._first = True
        head = json.dumps(header, indent=None, ensure_ascii=False)[:-1]  # keep the object open
        out.write(f'{head}, "proposals": [\n'.encode())

    def add(self, diff: ProposalDiff) -> None:
        line = json.dumps(diff.to_json(), ensure_ascii=False, sort_keys=False)
        self._out.write(((" " if self._first else ",") + line + "\n").encode())
        self._first = False

    def close(self, summary: Aggregate) -> None:
        tail = json.dumps(summary.to_json(), indent=1, ensure_ascii=False)
        self._out.write(f'], "summary": {tail}}}\n'.encode())

    @classmethod
    @contextlib.contextmanager
    def to_file(cls, target: Path | str, header: dict[str, Any]) -> Iterator[ImpactJson]:
        """The report written atomically to ``target``: nothing replaces it if the run fails."""
        with open_atomically(target) as out:
            yield cls(out, header)


def impact_markdown(
    summary: Aggregate, shown: Sequence[ProposalDiff], *, title: str, sides: Sequence[tuple[str, str]]
) -> str:
    """The readable report. ``sides`` are (label, description) pairs: what was compared."""
    lines = [f"# {title}", ""]
    lines += [f"- **{label}:** {text}" for label, text in sides]
    lines += ["", _figures(summary), ""]
    lines += _rules_section(summary)
    lines += _items_section(summary)
    lines += _proposals_section(summary, shown)
    return "\n".join(lines).rstrip() + "\n"


def _figures(s: Aggregate) -> str:
    text = (
        f"{s.proposals:,} proposals compared: {s.changed.count:,} would get a different evaluation, "
        f"{s.brief_changed.count:,} a different brief."
    )
    if s.failed_before.count or s.failed_after.count:
        text += f" Could not be evaluated: {s.failed_before.count:,} before, {s.failed_after.count:,} after."
    if not s.changed.count:
        text += " Nothing changes."
    return text


def _rules_section(s: Aggregate) -> list[str]:
    rules = s.changed_rules()
    if not rules:
        return []
    lines = ["## Rules whose firings changed", "", "| rule | fired before | fired after | proposals affected |",
             "|---|---:|---:|---:|"]  # fmt: skip
    lines += [f"| `{rule}` | {t.before:,} | {t.after:,} | {t.affected.count:,} |" for rule, t in rules]
    return [*lines, ""]


def _items_section(s: Aggregate) -> list[str]:
    items = s.changed_items()
    if not items:
        return []
    lines = [
        "## Items that changed",
        "",
        "| kind | id | change | from rules | proposals |",
        "|---|---|---|---|---:|",
    ]
    for (kind, item_id, change), tally in items:
        rules = ", ".join(f"`{r}`" for r in s.item_rules[(kind, item_id)]) or "not recorded"
        fields = s.item_fields.get((kind, item_id), ()) if change == "changed" else ()
        what = f"{change}: {', '.join(fields)}" if fields else change
        lines.append(f"| {kind} | `{item_id}` | {what} | {rules} | {tally.count:,} |")
    return [*lines, ""]


def _proposals_section(s: Aggregate, shown: Sequence[ProposalDiff]) -> list[str]:
    if not shown:
        return []
    lines = ["## Proposals", ""]
    for diff in shown:
        lines += _proposal(diff)
    if s.changed.count > len(shown):
        lines.append(f"… and {s.changed.count - len(shown):,} more proposals in the JSON report (`--json`).")
    return lines


def _proposal(d: ProposalDiff) -> list[str]:
    lines = [f"### {d.proposal_id}", ""]
    if d.error_before is not None or d.error_after is not None:
        lines += [f"- could not be evaluated before: {d.error_before or 'no, it was'}",
                  f"- could not be evaluated after: {d.error_after or 'no, it was'}"]  # fmt: skip
    for item in d.items:
        fields = f" ({', '.join(item.fields)})" if item.fields else ""
        rules = f" from {', '.join(f'`{r}`' for r in item.rules)}" if item.rules else ""
        lines.append(f"- {item.change} {item.kind} `{item.id}`{fields}{rules}")
    for count in d.firings:
        lines.append(f"- rule `{count.rule}` fired {count.before} before, {count.after} after")
    if d.brief_before is not None and d.brief_after is not None:
        lines += ["", "Brief before:", *_brief(d.brief_before), "", "Brief after:", *_brief(d.brief_after)]
    return [*lines, ""]


def _brief(entries: Sequence[BriefEntry]) -> list[str]:
    if not entries:
        return ["  (empty)"]
    return [f"  {n}. [{e.kind}] {e.to_practitioner}" for n, e in enumerate(entries, 1)]
