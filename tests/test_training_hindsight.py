"""No hindsight: what the room learns later never changes the debrief of an earlier decision.

The minimal scenario has a decision point at stage 2 and a fact at stage 3. Whatever that
stage-3 fact's patch says (hypothesis draws it from the parts of valid proposals), the
stage-2 debrief is the same, byte for byte. The same patch on the stage-1 fact, told before
the decision, does change what the decision is judged on: so the property is not vacuous.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from riskengine import Engine, InputError
from riskengine.training import debrief, scenario_from_data

from .paths import FIXTURES
from .strategies import proposals

BASE: dict[str, Any] = yaml.safe_load((FIXTURES / "training" / "minimal.scenario.yaml").read_text(encoding="utf-8"))


@st.composite
def patches(draw: st.DrawFn) -> dict[str, Any]:
    """A patch made of parts of a random valid proposal: people, the person, worries, plans, history."""
    doc = draw(proposals())
    keys = draw(st.sets(st.sampled_from(["person", "network", "decision_process", "plan", "history", "proposal"]), min_size=1))
    patch = {k: doc[k] for k in keys if k in doc}
    if "proposal" in patch:
        patch["proposal"] = {k: v for k, v in patch["proposal"].items() if k != "activity"}
    assume(patch)
    return patch


def _with_fact_patch(stage: int, patch: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["stages"][stage]["facts"].append({"id": "f-drawn", "text": "Something the room learns.", "patch": patch})
    return data


def _debrief_json(data: dict[str, Any], engine: Engine, dp: str) -> str:
    try:
        scenario = scenario_from_data(data, base_dir=FIXTURES / "training")
    except InputError:
        assume(False)  # a patch that makes an invalid proposal is lint's business, not this property's
        raise
    return json.dumps(debrief(scenario, dp, engine=engine).to_dict(), sort_keys=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(patches())
def test_a_later_fact_never_changes_an_earlier_debrief(shipped: Engine, patch: dict[str, Any]) -> None:
    """Any patch revealed at stage 3 leaves the stage-2 debrief exactly as it was."""
    before = _debrief_json(copy.deepcopy(BASE), shipped, "dp1")
    after = _debrief_json(_with_fact_patch(2, patch), shipped, "dp1")
    assert after == before


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(patches())
def test_an_earlier_fact_is_known_at_the_decision(shipped: Engine, patch: dict[str, Any]) -> None:
    """The same patch told at stage 1 joins every plan at the stage-2 decision (the control)."""
    data = _with_fact_patch(0, patch)
    try:
        scenario = scenario_from_data(data, base_dir=FIXTURES / "training")
    except InputError:
        assume(False)
        raise
    state = scenario.points["dp1"]
    plain = scenario_from_data(copy.deepcopy(BASE), base_dir=FIXTURES / "training").points["dp1"]
    changed = state.as_known != plain.as_known
    assume(changed)  # some patches restate what the base already says
    assert all(p.proposal != q.proposal for p, q in zip(state.plans, plain.plans, strict=True))


_BREAKS: list[tuple[str, Any]] = [
    ("jurisdiction", "engalnd"), ("as_of", "22/11/2026"), ("person", {"legal_context": "sectioned"}),
    ("person", {"recent_crisis_days": -3}), ("network", [{"id": "x", "kind": "friend", "closeness": 9}]),
    ("proposal", {"activity": "parkrn"}), ("proposal", {"activity": "other"}), ("surprise", 1),
    ("network", [{"kind": "friend"}]), ("decision_process", {"participants": ["nobody"]}),
    ("plan", {"review_on": "soon"}),
]  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patches(), st.sampled_from(_BREAKS))
def test_a_broken_option_is_located_inside_its_patch(patch: dict[str, Any], brk: tuple[str, Any]) -> None:
    """However an option's patch is broken, every error is reported at a line inside that patch."""
    key, value = brk
    text = yaml.safe_dump(_with_option_patch({**patch, key: value}), sort_keys=False)
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() in {"id: b", "- id: b"}) + 1  # option b of dp1
    end = next(i for i, line in enumerate(lines) if i > start and line.strip() in {"id: r1", "- id: r1"}) + 1  # its reveal follows
    try:
        from riskengine.training import parse_scenario

        parse_scenario(text, "broken.scenario.yaml", base_dir=FIXTURES / "training")
    except InputError as exc:
        for d in exc.diagnostics:
            assert d.location.path == "broken.scenario.yaml"
            assert start <= d.location.line <= end, (d.render(), start, end)
    else:
        raise AssertionError(f"{brk} did not break the plan")


def _with_option_patch(patch: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["stages"][1]["decision_point"]["options"][1]["patch"] = patch
    return data
