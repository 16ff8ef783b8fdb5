"""What changes between two evaluations of the same proposal, and over a whole corpus.

Pure functions over evaluation documents as JSON data (the ``riskengine evaluate`` and
``riskengine batch`` output), so a comparison needs no engine and no rulesets.

An evaluation's *items* are everything it says that a rule put there, each with a kind and an
id that is stable from one evaluation to the next:

========================  =========================================================
kind                      id
========================  =========================================================
``prompt``                ``prompts[].id``
``prompt_set_aside``      ``prompts_set_aside[].id``
``mitigation``            ``mitigations[].id``
``knowledge``             ``knowledge[].id``
``tension``               ``tensions[].id``
``principle``             ``principles[].id``
``need``                  ``safety_net.needs[]`` as ``role/when`` (as the brief names it)
``single_point``          ``safety_net.single_points_of_failure[].member``
``consent_conflict``      ``safety_net.consent_conflicts[]`` as ``member/role``
``benefit``               ``benefits[]`` as ``from: text``
``living_your_life``      ``-`` (one per evaluation)
``review``                ``-`` (one per evaluation)
========================  =========================================================

An item is *added*, *removed*, or *changed* (same kind and id, different content: the
fields that differ are named). The *firings* are the trace's rule ids counted: a rule
fires once per proposal, or once per need for ``for_each: need`` rules. The *brief* is
compared whole, and shown before and after only when it differs.

:class:`Aggregate` folds per-proposal diffs into corpus figures in memory bounded by the
number of rules and items, not proposals: per rule, the firings before and after and the
proposals whose firing count changed; per item, the proposals where it was added, removed or
changed; the proposals whose brief changed. It keeps the first few proposal ids of each as
examples, never all of them.

May import: the standard library only (a capability module with no engine dependency).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Aggregate",
    "BriefEntry",
    "ItemChange",
    "ProposalDiff",
    "RuleCount",
    "compare",
    "evaluation_items",
    "failed",
    "firings",
    "restale",
]

Change = Literal["added", "removed", "changed"]
Doc = Mapping[str, Any]
Producers = Mapping[tuple[str, str], tuple[str, ...]]
EXAMPLES = 10  # proposal ids kept per rule, item and brief figure in the aggregate

_LISTS: tuple[tuple[str, tuple[str, ...], Callable[[Doc], str]], ...] = (
    ("prompt", ("prompts",), lambda x: str(x["id"])),
    ("prompt_set_aside", ("prompts_set_aside",), lambda x: str(x["id"])),
    ("mitigation", ("mitigations",), lambda x: str(x["id"])),
    ("knowledge", ("knowledge",), lambda x: str(x["id"])),
    ("tension", ("tensions",), lambda x: str(x["id"])),
    ("principle", ("principles",), lambda x: str(x["id"])),
    ("need", ("safety_net", "needs"), lambda x: f"{x['role']}/{x['when']}"),
    ("single_point", ("safety_net", "single_points_of_failure"), lambda x: str(x["member"])),
    ("consent_conflict", ("safety_net", "consent_conflicts"), lambda x: f"{x['member']}/{x['role']}"),
    ("benefit", ("benefits",), lambda x: f"{x['from']}: {x['text']}"),
)
_SINGLE = (("living_your_life", "living_your_life"), ("review", "review"))


@dataclass(frozen=True)
class ItemChange:
    """One item added, removed or changed, with the rules that produce it (when known)."""

    kind: str
    id: str
    change: Change
    fields: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "change": self.change, "fields": list(self.fields),
                "rules": list(self.rules)}  # fmt: skip


@dataclass(frozen=True)
class RuleCount:
    """A rule whose number of firings differs: ``before`` and ``after`` (0 for not fired)."""

    rule: str
    before: int
    after: int

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class BriefEntry:
    """One brief item as the report shows it: its kind, the practitioner's text, its ids."""

    kind: str
    to_practitioner: str
    stands_for: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "to_practitioner": self.to_practitioner,
            "stands_for": list(self.stands_for),
        }


@dataclass(frozen=True)
class ProposalDiff:
    """How one proposal's evaluation changes. ``brief_before``/``after`` are set only if it changed.

    ``error_before``/``error_after`` hold the error message when the proposal could not be
    evaluated under that side's rulesets (its items are then not compared).
    """

    proposal_id: str
    items: tuple[ItemChange, ...] = ()
    firings: tuple[RuleCount, ...] = ()
    brief_before: tuple[BriefEntry, ...] | None = None
    brief_after: tuple[BriefEntry, ...] | None = None
    error_before: str | None = None
    error_after: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.items or self.firings or self.brief_changed or self.error_before != self.error_after)

    @property
    def brief_changed(self) -> bool:
        return self.brief_before is not None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "proposal_id": self.proposal_id,
            "items": [i.to_json() for i in self.items],
            "firings": [f.to_json() for f in self.firings],
            "brief": None,
        }
        if self.brief_before is not None and self.brief_after is not None:
            out["brief"] = {"before": [b.to_json() for b in self.brief_before],
                            "after": [b.to_json() for b in self.brief_after]}  # fmt: skip
        if self.error_before is not None or self.error_after is not None:
            out["error"] = {"before": self.error_before, "after": self.error_after}
        return out


def evaluation_items(doc: Doc) -> dict[tuple[str, str], Any]:
    """Every item of an evaluation document by ``(kind, id)``; a repeated id gets ``#2``, ``#3``."""
    found: dict[tuple[str, str], Any] = {}
    for kind, path, key in _LISTS:
        for item in _at(doc, path):
            item_id = key(item)
            n = 1
            while (kind, _nth(item_id, n)) in found:
                n += 1
            found[(kind, _nth(item_id, n))] = item
    for kind, name in _SINGLE:
        if doc.get(name) is not None:
            found[(kind, "-")] = doc[name]
    return found


def firings(doc: Doc) -> Counter[str]:
    """How many times each rule fired, from the trace."""
    return Counter(str(entry["rule"]) for entry in doc.get("trace", ()))


def compare(before: Doc, after: Doc, *, producers: Producers | None = None) -> ProposalDiff:
    """How ``after`` differs from ``before`` (two evaluations of the same proposal).

    ``producers`` maps ``(kind, id)`` to the rules that can put that item there (from the
    rulesets). An item is tied to those of its producers whose firing changed, else those
    that fired, else all of them; without a producer, to the rule of the same id if it fired.
    """
    fired_before, fired_after = firings(before), firings(after)
    fired = set(fired_before) | set(fired_after)
    counts = tuple(
        RuleCount(rule, fired_before[rule], fired_after[rule])
        for rule in sorted(fired)
        if fired_before[rule] != fired_after[rule]
    )
    moved = {c.rule for c in counts}

    def rules_of(kind: str, item_id: str) -> tuple[str, ...]:
        base = item_id.split("#", 1)[0]
        named = producers.get((kind, base), ()) if producers is not None else ()
        for pool in (moved, fired):
            hit = tuple(r for r in named if r in pool)
            if hit:
                return hit
        return named or ((base,) if base in fired else ())

    briefs = _briefs(before, after)
    return ProposalDiff(
        proposal_id=str(after.get("proposal_id", before.get("proposal_id", ""))),
        items=tuple(_item_changes(evaluation_items(before), evaluation_items(after), rules_of)),
        firings=counts,
        brief_before=briefs[0],
        brief_after=briefs[1],
    )


def failed(proposal_id: str, error_before: str | None, error_after: str | None) -> ProposalDiff:
    """The diff of a proposal that could not be evaluated on one side or both."""
    return ProposalDiff(proposal_id, error_before=error_before, error_after=error_after)


def restale(doc: Doc, as_of: dt.date) -> dict[str, Any]:
    """The evaluation as it would mark knowledge on ``as_of``: ``stale`` recomputed from review-by.

    The engine marks a knowledge item stale when the proposal's ``as_of`` is past the item's
    source ``review_by``; nothing else in an evaluation reads that flag, so this is exactly
    what re-evaluating on ``as_of`` would mark, without re-evaluating.
    """
    knowledge = []
    for item in doc.get("knowledge", ()):
        review_by = (item.get("source") or {}).get("review_by")
        stale = review_by is not None and as_of > dt.date.fromisoformat(str(review_by))
        knowledge.append({**item, "stale": stale})
    return {**doc, "knowledge": knowledge}


def _item_changes(
    before: dict[tuple[str, str], Any],
    after: dict[tuple[str, str], Any],
    rules_of: Callable[[str, str], tuple[str, ...]],
) -> Iterator[ItemChange]:
    for key in sorted(before.keys() | after.keys()):
        kind, item_id = key
        if key not in after:
            yield ItemChange(kind, item_id, "removed", rules=rules_of(kind, item_id))
        elif key not in before:
            yield ItemChange(kind, item_id, "added", rules=rules_of(kind, item_id))
        elif before[key] != after[key]:
            fields = _differing(before[key], after[key])
            yield ItemChange(kind, item_id, "changed", fields, rules_of(kind, item_id))


def _differing(a: Any, b: Any) -> tuple[str, ...]:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return tuple(sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k)))
    return ()


def _briefs(before: Doc, after: Doc) -> tuple[tuple[BriefEntry, ...] | None, tuple[BriefEntry, ...] | None]:
    a, b = before.get("brief") or [], after.get("brief") or []
    return (None, None) if a == b else (_brief(a), _brief(b))


def _brief(items: Sequence[Doc]) -> tuple[BriefEntry, ...]:
    return tuple(
        BriefEntry(str(i.get("kind")), str(i.get("to_practitioner")), tuple(i.get("stands_for") or ()))
        for i in items
    )


def _at(doc: Doc, path: tuple[str, ...]) -> Iterable[Doc]:
    value: Any = doc
    for name in path:
        value = value.get(name) if isinstance(value, Mapping) else None
    return value if isinstance(value, list | tuple) else ()


def _nth(item_id: str, n: int) -> str:
    return item_id if n == 1 else f"{item_id}#{n}"


@dataclass
class _Tally:
    """Proposals counted for one figure, with the first few ids as examples."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, proposal_id: str) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(proposal_id)

    def to_json(self) -> dict[str, Any]:
        return {"proposals": self.count, "examples": list(self.examples)}


@dataclass
class _RuleTally:
    before: int = 0
    after: int = 0
    affected: _Tally = field(default_factory=_Tally)


@dataclass
class Aggregate:
    """Corpus figures folded from :class:`ProposalDiff` values, in memory bounded by rules and items.

    ``add`` every proposal's diff (changed or not) with its firing counts on both sides, so
    that a rule's totals are over the whole corpus.
    """

    proposals: int = 0
    changed: _Tally = field(default_factory=_Tally)
    brief_changed: _Tally = field(default_factory=_Tally)
    failed_before: _Tally = field(default_factory=_Tally)
    failed_after: _Tally = field(default_factory=_Tally)
    rules: dict[str, _RuleTally] = field(default_factory=dict)
    items: dict[tuple[str, str, Change], _Tally] = field(default_factory=dict)
    item_rules: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    item_fields: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)  # first seen

    def add(
        self, diff: ProposalDiff, fired_before: Mapping[str, int], fired_after: Mapping[str, int]
    ) -> None:
        pid = diff.proposal_id
        self.proposals += 1
        if diff.changed:
            self.changed.add(pid)
        if diff.brief_changed:
            self.brief_changed.add(pid)
        if diff.error_before is not None:
            self.failed_before.add(pid)
        if diff.error_after is not None:
            self.failed_after.add(pid)
        for rule, n in fired_before.items():
            self.rules.setdefault(rule, _RuleTally()).before += n
        for rule, n in fired_after.items():
            self.rules.setdefault(rule, _RuleTally()).after += n
        for count in diff.firings:
            self.rules.setdefault(count.rule, _RuleTally()).affected.add(pid)
        for item in diff.items:
            self.items.setdefault((item.kind, item.id, item.change), _Tally()).add(pid)
            self.item_rules.setdefault((item.kind, item.id), item.rules)
            if item.fields:
                self.item_fields.setdefault((item.kind, item.id), item.fields)

    def changed_rules(self) -> list[tuple[str, _RuleTally]]:
        """Rules whose firings changed on at least one proposal, most proposals first."""
        found = [(rule, t) for rule, t in self.rules.items() if t.affected.count]
        return sorted(found, key=lambda rt: (-rt[1].affected.count, rt[0]))

    def changed_items(self) -> list[tuple[tuple[str, str, Change], _Tally]]:
        return sorted(self.items.items(), key=lambda kt: (-kt[1].count, kt[0]))

    def to_json(self) -> dict[str, Any]:
        """The summary: every figure, each rule and item with its proposal count and examples."""
        return {
            "proposals": self.proposals,
            "changed": self.changed.to_json(),
            "brief_changed": self.brief_changed.to_json(),
            "failed_before": self.failed_before.to_json(),
            "failed_after": self.failed_after.to_json(),
            "rules": [
                {"rule": rule, "fired_before": t.before, "fired_after": t.after, **t.affected.to_json()}
                for rule, t in self.changed_rules()
            ],
            "items": [
                {
                    "kind": kind,
                    "id": item_id,
                    "change": change,
                    "rules": list(self.item_rules[(kind, item_id)]),
                    "fields": list(self.item_fields.get((kind, item_id), ())),
                    **t.to_json(),
                }
                for (kind, item_id, change), t in self.changed_items()
            ],
        }
