"""riskengine.training: "What would you do?" scenarios for co-produced risk training.

A scenario (YAML, ``schema_version: 1``) tells a composite or consented story in stages.
At each decision point the room chooses what it would do; then it hears what actually
happened; then the engine shows, side by side, what the principles ask of each plan, on
what was known at that point (no hindsight). Never a right answer, never a score.

The public API (the live-room capability builds on these names)::

    from riskengine.training import load_scenario, debrief

    scenario = load_scenario("scenarios/training/first-parkrun.scenario.yaml")
    for state in scenario.points.values():          # each decision point, in story order
        print(state.decision_point.prompt, [p.key for p in state.plans])
    result = debrief(scenario, "dp1")               # evaluates every plan at dp1
    for row in result.principles:                   # by principle, plan by plan
        print(row.title, {k: c.lacking for k, c in row.cells.items()})

:func:`lint` returns located errors and warnings without raising; :func:`render_pack` gives
the facilitator pack as HTML and :func:`write_pack` writes it as HTML or PDF (PDF needs the
``training`` extra); :func:`play` runs a solo play-through in a terminal.

Every name loads on first use, so ``riskengine evaluate`` (whose command line registers the
``scenario`` commands) pays nothing for this package.

Imports: :mod:`riskengine` public names; internal engine names only through ``_core``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .debriefing import (
        FRAMING,
        DebriefResult,
        PlanDebrief,
        PrincipleRow,
        SectionDiff,
        debrief,
        default_engine,
    )
    from .linting import lint
    from .load import (
        AS_KNOWN,
        HAPPENED,
        LoadedScenario,
        Plan,
        PointState,
        load_scenario,
        parse_scenario,
        scenario_from_data,
    )
    from .model import Consent, Credit, DecisionPoint, Fact, Option, Reveal, Scenario, Stage
    from .pack import render_pack, write_pack
    from .solo import play

_WHERE = {
    **dict.fromkeys(
        [
            "FRAMING",
            "DebriefResult",
            "PlanDebrief",
            "PrincipleRow",
            "SectionDiff",
            "debrief",
            "default_engine",
        ],
        "debriefing",
    ),
    **dict.fromkeys(
        [
            "AS_KNOWN",
            "HAPPENED",
            "LoadedScenario",
            "Plan",
            "PointState",
            "load_scenario",
            "parse_scenario",
            "scenario_from_data",
        ],
        "load",
    ),
    **dict.fromkeys(
        ["Consent", "Credit", "DecisionPoint", "Fact", "Option", "Reveal", "Scenario", "Stage"], "model"
    ),
    "lint": "linting",
    "play": "solo",
    "render_pack": "pack",
    "write_pack": "pack",
}

__all__ = [
    "AS_KNOWN",
    "FRAMING",
    "HAPPENED",
    "Consent",
    "Credit",
    "DebriefResult",
    "DecisionPoint",
    "Fact",
    "LoadedScenario",
    "Option",
    "Plan",
    "PlanDebrief",
    "PointState",
    "PrincipleRow",
    "Reveal",
    "Scenario",
    "SectionDiff",
    "Stage",
    "debrief",
    "default_engine",
    "lint",
    "load_scenario",
    "parse_scenario",
    "play",
    "render_pack",
    "scenario_from_data",
    "write_pack",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'riskengine.training' has no attribute '{name}'")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
