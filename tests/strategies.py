"""Hypothesis strategies for valid proposals (and ways to break them)."""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

from hypothesis import strategies as st

from riskengine.documents import vocab

WORDS = st.sampled_from(
    ["insight", "compliance", "walking", "blamed", "unwise", "Sam", "with a friend", "not now",
     "later", "sleeping badly", "INSIGHT into illness", "café", "running", "money", "scrutiny"]
)  # fmt: skip
TEXT = st.lists(WORDS, min_size=1, max_size=4).map(" ".join)
IDS = st.sampled_from(["sam", "jo", "dad", "gp", "kw", "ann", "mo", "lee"])


def _opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


@st.composite
def members(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(IDS, unique=True, max_size=6))
    out = []
    for member_id in ids:
        out.append(_drop_none({
            "id": member_id,
            "kind": draw(st.sampled_from(vocab.NETWORK_KINDS)),
            "closeness": draw(_opt(st.integers(1, 5))),
            "contact": draw(_opt(st.sampled_from(["daily", "weekly", "monthly", "less_than_monthly", "none"]))),
            "known_for_months": draw(_opt(st.integers(0, 400))),
            "steadiness": draw(_opt(st.sampled_from(["consistent", "on_and_off", "new", "strained"]))),
            "knows_about_plan": draw(_opt(st.booleans())),
            "agreed_to_help": draw(_opt(st.booleans())),
            "legal_roles": draw(st.lists(st.sampled_from(["nearest_relative", "deputy"]), unique=True, max_size=1)),
        }))  # fmt: skip
    return out


@st.composite
def proposals(draw: st.DrawFn) -> dict[str, Any]:
    """A valid proposal document, sparse or full."""
    network = draw(members())
    ids = [m["id"] for m in network]
    activity = draw(st.sampled_from(vocab.ACTIVITIES))
    categories = draw(st.lists(st.sampled_from(["social", "alcohol", "medication", "volunteering"]), unique=True, max_size=3))
    if activity == "other" and not categories:
        categories = ["volunteering"]
    person = _drop_none({
        "legal_context": draw(_opt(st.sampled_from(get_args(vocab.LegalContext)))),
        "capacity": draw(_opt(st.sampled_from(get_args(vocab.CapacityStatus)).map(lambda s: {"status": s}))),
        "preferred_decision_role": draw(_opt(st.sampled_from(get_args(vocab.DecisionRole)))),
        "what_matters": draw(_opt(TEXT)),
        "strengths": draw(st.lists(TEXT, max_size=3)),
        "early_warning_signs": draw(st.lists(TEXT, max_size=2)),
        "medication": draw(st.lists(st.builds(lambda m, changing: _drop_none({**m, "changing": changing}), st.sampled_from([
            {"name": "lithium", "class": "mood_stabiliser"}, {"name": "sertraline", "class": "antidepressant"},
            {"name": "clozapine", "class": "antipsychotic"}]), _opt(st.booleans())), unique_by=lambda m: m["name"], max_size=2)),
        "recent_crisis_days": draw(_opt(st.integers(0, 2000))),
        "advance_statement": draw(_opt(st.builds(lambda who, ok: {"exists": True, "information_sharing": [
            {"with": who, "allowed": ok, "note": "not about medication"}]}, st.sampled_from(ids or ["family"]), st.booleans()))),
        "crisis_plan": draw(_opt(st.builds(lambda r: {"exists": True, "route_back": r}, TEXT))),
    })  # fmt: skip
    details = _drop_none({
        "activity": activity,
        "categories": categories,
        "initiated_by": draw(_opt(st.sampled_from(["person", "practitioner", "family", "joint"]))),
        "goal": draw(_opt(TEXT)),
        "hoped_for_benefits": draw(st.lists(TEXT, unique=True, max_size=3)),
        "concerns": draw(st.lists(st.builds(lambda k, r, t: {"kind": k, "raised_by": r, "text": t},
            st.sampled_from(get_args(vocab.ConcernKind)), st.sampled_from(get_args(vocab.RaisedBy)), TEXT), max_size=4)),
        "concerns_asked": draw(_opt(st.booleans())),
        "conditions_proposed": draw(st.lists(st.builds(lambda t: {"by": "practitioner", "text": t}, TEXT), max_size=2)),
        "options_considered": draw(st.lists(TEXT, unique=True, max_size=3)),
    })  # fmt: skip
    owners = st.sampled_from([*ids, "person", "the team"])
    doc = {
        "schema_version": 1,
        "id": "prop-h",
        "jurisdiction": draw(st.sampled_from(vocab.JURISDICTIONS)),
        "as_of": dt.date(2026, 11, 22),
        "person": person,
        "network": network,
        "proposal": details,
        "decision_process": _drop_none({
            "participants": draw(st.lists(st.sampled_from(["person", *ids]), unique=True, max_size=4)),
            "person_view_recorded": draw(_opt(st.booleans())),
            "disagreements": draw(st.lists(TEXT, max_size=2)),
        }),
        "plan": _drop_none({
            "mitigations": draw(st.lists(st.builds(lambda t, o: {"text": t, "owner": o}, TEXT, owners), max_size=4)),
            "contingency": draw(_opt(TEXT)),
            "review_on": draw(_opt(st.dates(dt.date(2026, 11, 23), dt.date(2027, 12, 31)))),
        }),
        "history": draw(st.lists(st.builds(lambda w, o: {"what": w, "outcome": o}, TEXT,
                                           st.sampled_from(["positive", "mixed", "negative"])), max_size=3)),
    }
    if len(ids) >= 2:
        doc["links"] = draw(st.lists(st.sampled_from([[a, b] for a in ids for b in ids if a < b]), unique_by=tuple, max_size=3))
    return doc
