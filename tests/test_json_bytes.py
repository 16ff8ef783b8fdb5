"""The evaluation's JSON is written by orjson, and it is the same bytes pydantic writes.

``Evaluation.to_json`` (and ``to_json_line``, the NDJSON form) went from pydantic's serialiser
to orjson for speed (issue 15). These tests prove the bytes did not change: on every fixture's
evaluation, on both backends, and on generated trace values (any text, floats, integers of
every size, nested lists) where the two writers could differ. The goldens test the same for
the shipped fixtures against recorded files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskengine import Engine, load_proposal
from riskengine.documents.evaluation import Benefit, Evaluation, TraceEntry, dumps

from .paths import FIXTURES, SCENARIO_PROPOSALS


def _proposals() -> list[Path]:
    activity = [p for p in (FIXTURES / "activities").rglob("*.yaml") if not p.name.endswith(".expect.yaml")]
    return sorted(activity) + sorted(SCENARIO_PROPOSALS.glob("*.yaml"))


@pytest.fixture(scope="module")
def reference() -> Engine:
    return Engine.from_paths(backend="reference")


@pytest.mark.parametrize("backend", ["durable", "reference"])
def test_every_fixture_serialises_as_pydantic_does(backend: str, shipped: Engine, reference: Engine) -> None:
    engine = shipped if backend == "durable" else reference
    assert engine.backend.name == backend
    for path in _proposals():
        evaluation = engine.evaluate(load_proposal(path))
        assert evaluation.to_json() == evaluation.model_dump_json(by_alias=True, indent=2), path
        assert evaluation.to_json_line() == evaluation.model_dump_json(by_alias=True), path


VALUES = st.one_of(  # what a trace value may be: str | int | float | bool | list[str]
    st.text(),
    st.booleans(),
    st.integers(),  # beyond 64 bits orjson refuses: the fallback writes it
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.text(), max_size=4),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), VALUES, max_size=5), st.text())
def test_generated_values_serialise_as_pydantic_does(because: dict[str, Any], text: str) -> None:
    entry = TraceEntry.build(rule=text, ruleset="r@1", because=because)
    assert dumps(entry, indent=True) == entry.model_dump_json(by_alias=True, indent=2)
    assert dumps(entry, indent=False) == entry.model_dump_json(by_alias=True)


def test_aliases_and_field_order_follow_the_schema(shipped: Engine) -> None:
    """A field given out of order, or by its Python name, is written as pydantic writes it."""
    benefit = Benefit.build(from_="person", text="company on a Saturday")  # declared: text, then from
    assert dumps(benefit, indent=False) == '{"text":"company on a Saturday","from":"person"}'
    evaluation = shipped.evaluate(load_proposal(SCENARIO_PROPOSALS / "parkrun-with-a-friend.yaml"))
    shuffled = Evaluation.build(**dict(reversed(list(dict(evaluation).items()))))
    assert shuffled.to_json() == evaluation.to_json()
