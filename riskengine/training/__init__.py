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
        print(row.title, {k: c.status for k, c in row.cells.items()})

:func:`lint` returns located errors and warnings without raising; :func:`render_pack` gives
the facilitator pack as HTML and :func:`write_pack` writes it as HTML or PDF (PDF needs the
``training`` extra); :func:`play` runs a solo play-through in a terminal.

Imports: :mod:`riskengine` public names; internal engine names only through ``_core``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .debrief import FRAMING, DebriefResult, PlanDebrief, PrincipleRow, SectionDiff, debrief, default_engine
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

if TYPE_CHECKING:  # pragma: no cover
    from .lint import lint as lint
    from .pack import render_pack as render_pack
    from .pack import write_pack as write_pack
    from .play import play as play

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
    """``lint``, ``play``, ``render_pack`` and ``write_pack`` load on first use."""
    if name == "lint":
        from .lint import lint

        return lint
    if name == "play":
        from .play import play

        return play
    if name == "render_pack":
        from .pack import render_pack

        return render_pack
    if name == "write_pack":
        from .pack import write_pack

        return write_pack
    raise AttributeError(name)
