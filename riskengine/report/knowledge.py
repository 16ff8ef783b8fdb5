"""The knowledge catalogue: every knowledge item the loaded rules can produce, with its source.

For the people who maintain a deployment: ``riskengine knowledge --stale --as-of DATE``
lists the items whose source is past its review-by date and must be re-checked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from riskengine.rules.loader import RuleBook

__all__ = ["CatalogueEntry", "knowledge_catalogue"]


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """One knowledge item, where it is defined and when its source must be re-checked."""

    id: str
    rule: str
    ruleset: str
    topic: str
    weight: str
    jurisdictions: tuple[str, ...]
    source_title: str
    source_url: str | None
    checked: dt.date | None
    review_by: dt.date | None

    def stale(self, as_of: dt.date) -> bool:
        """Whether ``as_of`` is past the review-by date."""
        return self.review_by is not None and as_of > self.review_by

    def to_dict(self) -> dict[str, object]:
        """For ``--format json``."""
        return {
            "id": self.id, "rule": self.rule, "ruleset": self.ruleset, "topic": self.topic,
            "weight": self.weight, "jurisdictions": list(self.jurisdictions),
            "source": self.source_title, "url": self.source_url,
            "checked": self.checked.isoformat() if self.checked else None,
            "review_by": self.review_by.isoformat() if self.review_by else None,
        }  # fmt: skip


def knowledge_catalogue(book: RuleBook) -> list[CatalogueEntry]:
    """Every knowledge item of every enabled rule, sorted by review-by date then id."""
    entries = []
    for loaded in book.rules:
        k = loaded.rule.then.knowledge
        if k is None:
            continue
        source = next(s for s in loaded.ruleset.model.sources if s.id == k.source)
        entries.append(CatalogueEntry(
            id=k.id or loaded.rule.id, rule=loaded.rule.id, ruleset=loaded.ruleset.ref, topic=k.topic,
            weight=k.weight, jurisdictions=k.jurisdictions, source_title=source.title,
            source_url=source.url, checked=source.checked, review_by=source.review_by,
        ))  # fmt: skip
    return sorted(entries, key=lambda e: (e.review_by or dt.date.max, e.id))
