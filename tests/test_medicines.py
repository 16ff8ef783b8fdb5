"""Medicines by group: guidance goes only to the kind of medicine that is changing (review 2026-12, defect 4)."""

from __future__ import annotations

from typing import Any

import pytest

from riskengine.read.proposal_files import proposal_from_data
from riskengine.run.medicines import changing_medicines, medicine_groups, named_in_words


def _proposal(medication: list[dict[str, Any]], **details: Any) -> Any:
    return proposal_from_data({
        "schema_version": 1, "id": "m", "jurisdiction": "england", "as_of": "2026-12-03",
        "person": {"medication": medication},
        "proposal": {"activity": "reduce_or_stop_medication", **details},
    })  # fmt: skip


@pytest.mark.parametrize(
    ("medicine", "groups"),
    [
        ({"name": "Priadel", "class": "mood_stabiliser"}, ["lithium"]),
        ({"name": "sertraline"}, ["antidepressant"]),
        ({"name": "paliperidone depot", "class": "antipsychotic"}, ["antipsychotic", "depot"]),
        ({"name": "clozapine", "class": "antipsychotic"}, ["antipsychotic", "clozapine"]),
        ({"name": "zopiclone"}, ["benzodiazepine"]),
        ({"name": "levothyroxine"}, []),
    ],
)
def test_a_medicine_is_grouped_by_its_class_or_name(medicine: dict[str, Any], groups: list[str]) -> None:
    p = _proposal([medicine])
    assert medicine_groups(p, p.person.medication) == groups


def test_the_title_says_which_unmarked_medicine_is_changing() -> None:
    p = _proposal([{"name": "lithium"}, {"name": "sertraline"}], title="Coming off lithium")
    changing, marked = changing_medicines(p)
    assert [m.name for m in changing] == ["lithium"] and not marked and named_in_words(p)


def test_a_group_word_in_the_goal_picks_the_medicines_of_that_group() -> None:
    p = _proposal([{"name": "olanzapine", "class": "antipsychotic"}, {"name": "sertraline"}], goal="cut my antidepressant")
    assert [m.name for m in changing_medicines(p)[0]] == ["sertraline"]


def test_a_marked_medicine_wins_over_the_words() -> None:
    p = _proposal([{"name": "lithium"}, {"name": "sertraline", "changing": True}], title="Coming off lithium")
    assert [m.name for m in changing_medicines(p)[0]] == ["sertraline"]


def test_with_nothing_said_every_medicine_not_ruled_out_may_be_the_one() -> None:
    p = _proposal([{"name": "lithium", "changing": False}, {"name": "sertraline"}, {"name": "olanzapine"}])
    assert [m.name for m in changing_medicines(p)[0]] == ["sertraline", "olanzapine"] and not named_in_words(p)


def test_with_no_medicine_recorded_the_goal_names_the_group() -> None:
    p = _proposal([], goal="come off lithium over the spring")
    assert medicine_groups(p, []) == ["lithium"]


def test_a_cto_recorded_in_northern_ireland_is_a_located_warning() -> None:
    """NI has no CTOs: the record is never silently accepted (review 2026-12, defect 9)."""
    text = (
        "schema_version: 1\nid: ni\njurisdiction: northern_ireland\nas_of: 2026-12-03\n"
        "person:\n  legal_context: community_treatment_order\nproposal: {activity: overnight_stay}\n"
    )
    england = text.replace("northern_ireland", "england")
    found = _warnings(text)
    assert [(d.code, d.field, d.location.line) for d in found] == [("no-such-order", "person.legal_context", 6)]
    assert _warnings(england) == []


def _warnings(text: str) -> list[Any]:
    from riskengine.read.proposal_files import proposal_warnings
    from riskengine.read.source import parse_document

    document = parse_document(text, "ni.yaml")
    return proposal_warnings(proposal_from_data(document.data, document.source), document.source)
