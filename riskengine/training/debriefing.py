"""The engine debrief: what the principles ask of each plan, side by side, with no hindsight.

For a decision point, every plan (each option, and what actually happened) is evaluated by
the engine on the proposal **as known at that point** (see :mod:`.load`). The debrief lays
the evaluations side by side by principle (what each plan has on record and what it lacks),
with the tensions, the brief, the prompts, mitigations and safety-net needs, and what
changes between plans. It is framed as what the principles ask of each plan: there is no
right answer, no ranking and no score, and it is as deterministic and traceable as the
evaluations it is made of (each plan keeps its :class:`riskengine.Evaluation`, trace and all).

Imports: :mod:`riskengine` public names, :mod:`._core`, :mod:`.load`.
"""

from __future__ import annotations

import dataclasses
import functools
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from riskengine import Engine, Evaluation

from ._core import PRINCIPLE_TITLES, PRINCIPLES, TENSION_TITLES
from .load import AS_KNOWN, HAPPENED, LoadedScenario, Plan, PointState
from .model import Pearls

__all__ = [
    "FRAMING",
    "SECTIONS",
    "DebriefResult",
    "PlanDebrief",
    "PrincipleCell",
    "PrincipleRow",
    "SectionDiff",
    "debrief",
    "default_engine",
]

FRAMING = (
    "What the principles ask of each plan. There is no right answer here and nothing is marked or "
    "ranked: each plan is evaluated on what was known at this point, and the differences are for the "
    "room to talk through."
)
SECTIONS: tuple[tuple[str, str], ...] = (
    ("living_your_life", "Living your life, or risk-taking?"),
    ("principles", "What the principles find on record, and what they find lacking"),
    ("tensions", "Tensions the plan raises"),
    ("brief", "What a review would start with"),
    ("prompts", "Questions to ask"),
    ("mitigations", "What could help"),
    ("safety_net", "Who the plan leans on"),
    ("knowledge", "What the law and guidance say"),
)


@functools.lru_cache(maxsize=1)
def default_engine() -> Engine:
    """The shipped rulesets, loaded once per process."""
    return Engine.from_paths()


@dataclass(frozen=True)
class PlanDebrief:
    """One plan and its evaluation."""

    key: str
    label: str
    kind: str
    principles_tagged: tuple[str, ...]
    tensions_tagged: tuple[str, ...]
    evaluation: Evaluation
    close_to: str | None = None  # for what happened: the option it was closest to

    def items(self) -> dict[str, tuple[str, ...]]:
        """Each section's items as short lines, the unit the diff compares."""
        e = self.evaluation
        principles = tuple(
            [f"{p.id} on record: {b}" for p in e.principles for b in p.because]
            + [f"{p.id} lacking: {g}" for p in e.principles for g in p.gaps]
        )
        needs = tuple(
            f"{n.role.replace('_', ' ')} ({n.when}): {n.status.replace('_', ' ')}"
            + (f"; {', '.join(n.filled_by)}" if n.filled_by else "; nobody yet")
            + (f" ({', '.join(i.replace('_', ' ') for i in n.issues)})" if n.issues else "")
            for n in e.safety_net.needs
        ) + tuple(f"{s.member} carries {', '.join(s.carries)}" for s in e.safety_net.single_points_of_failure)
        life = e.living_your_life
        return {
            "living_your_life": (
                ("most people do this without being assessed: " if life.everyday else "") + life.note,
            ),
            "principles": principles,
            "tensions": tuple(f"{t.id} {TENSION_TITLES[t.id]}: {b}" for t in e.tensions for b in t.because),
            "brief": tuple(b.to_practitioner for b in e.brief),
            "prompts": tuple(p.to_person for p in e.prompts),
            "mitigations": tuple(m.text for m in e.mitigations),
            "safety_net": needs,
            "knowledge": tuple(f"{k.topic}: {k.text}" for k in e.knowledge),
        }


@dataclass(frozen=True)
class PrincipleCell:
    """What one principle finds in one plan."""

    on_record: tuple[str, ...]
    lacking: tuple[str, ...]
    prompts: tuple[str, ...]


@dataclass(frozen=True)
class PrincipleRow:
    """One principle across the plans: the same for every plan, and what differs."""

    id: str
    title: str
    cells: dict[str, PrincipleCell]
    on_record_in_all: tuple[str, ...]
    lacking_in_all: tuple[str, ...]

    def differs(self, key: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """What this plan has on record, and lacks, that not every plan shares."""
        cell = self.cells[key]
        return (
            tuple(b for b in cell.on_record if b not in self.on_record_in_all),
            tuple(g for g in cell.lacking if g not in self.lacking_in_all),
        )


@dataclass(frozen=True)
class SectionDiff:
    """One section across plans: the items every plan shares, and what only some have."""

    section: str
    title: str
    shared: tuple[str, ...]
    only: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class DebriefResult:
    """The engine debrief at one decision point."""

    scenario_id: str
    decision_point_id: str
    prompt: str
    framing: str
    known_facts: tuple[tuple[str, str], ...]
    plans: tuple[PlanDebrief, ...]
    compared: tuple[str, ...]
    principles: tuple[PrincipleRow, ...]
    diffs: tuple[SectionDiff, ...]
    pearls: Pearls

    def plan(self, key: str) -> PlanDebrief:
        """The plan with this key."""
        return next(p for p in self.plans if p.key == key)

    def shown(self) -> tuple[PlanDebrief, ...]:
        """The plans the scenario compares side by side, in its order."""
        return tuple(self.plan(k) for k in self.compared)

    def only(self, keys: Sequence[str]) -> DebriefResult:
        """The same debrief comparing only these plans (what is shared is worked out among them)."""
        plans = [self.plan(k) for k in keys]
        return dataclasses.replace(
            self, compared=tuple(keys), principles=_principles(plans), diffs=_diffs(plans)
        )

    def diff(self, a: str, b: str) -> tuple[SectionDiff, ...]:
        """What changes from plan ``a`` to plan ``b``, section by section."""
        return _diffs([self.plan(a), self.plan(b)])

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON and the live room): no evaluations, only what is shown."""
        return {
            "scenario": self.scenario_id,
            "decision_point": self.decision_point_id,
            "prompt": self.prompt,
            "framing": self.framing,
            "known_facts": [{"id": i, "text": t} for i, t in self.known_facts],
            "plans": [
                {
                    "key": p.key,
                    "label": p.label,
                    "kind": p.kind,
                    "close_to": p.close_to,
                    "principles_tagged": list(p.principles_tagged),
                    "tensions_tagged": list(p.tensions_tagged),
                    "items": {k: list(v) for k, v in p.items().items()},
                    "rules": sorted({t.rule for t in p.evaluation.trace}),
                }
                for p in self.plans
            ],
            "compared": list(self.compared),
            "principles": [
                {
                    "id": row.id,
                    "title": row.title,
                    "on_record_in_all": list(row.on_record_in_all),
                    "lacking_in_all": list(row.lacking_in_all),
                    "plans": {
                        k: {
                            "on_record": list(c.on_record),
                            "lacking": list(c.lacking),
                            "prompts": list(c.prompts),
                        }
                        for k, c in row.cells.items()
                    },
                }
                for row in self.principles
            ],
            "diffs": [
                {
                    "section": d.section,
                    "shared": list(d.shared),
                    "only": {k: list(v) for k, v in d.only.items()},
                }
                for d in self.diffs
            ],
            "pearls": self.pearls.model_dump(),
        }


# Evaluations are kept in memory per engine and scenario (never on disk): a live room asks for
# the same debrief many times, and an engine's evaluation of a proposal never changes.
_EVALUATIONS: weakref.WeakKeyDictionary[
    Engine, weakref.WeakKeyDictionary[LoadedScenario, dict[tuple[str, str], Evaluation]]
]
_EVALUATIONS = weakref.WeakKeyDictionary()


def debrief(scenario: LoadedScenario, decision_point: str, *, engine: Engine | None = None) -> DebriefResult:
    """Evaluate every plan at ``decision_point`` on what was known then, and lay them side by side."""
    state = scenario.point(decision_point)
    engine = engine or default_engine()
    kept = _EVALUATIONS.setdefault(engine, weakref.WeakKeyDictionary()).setdefault(scenario, {})
    plans = tuple(_plan(engine, plan, state, kept) for plan in _all_plans(state))
    compared = _compared(state, plans)
    shown = [p for k in compared for p in plans if p.key == k]
    dp = state.decision_point
    return DebriefResult(
        scenario_id=scenario.id,
        decision_point_id=dp.id,
        prompt=dp.prompt,
        framing=FRAMING,
        known_facts=state.known_facts,
        plans=plans,
        compared=compared,
        principles=_principles(shown),
        diffs=_diffs(shown),
        pearls=dp.debrief.pearls if dp.debrief else Pearls(),
    )


def _all_plans(state: PointState) -> list[Plan]:
    plans = list(state.plans)
    compare = state.decision_point.debrief.compare if state.decision_point.debrief else ()
    if AS_KNOWN in compare:
        plans.append(state.plan(AS_KNOWN))
    return plans


def _evaluate(
    engine: Engine, plan: Plan, state: PointState, kept: dict[tuple[str, str], Evaluation]
) -> Evaluation:
    key = (state.decision_point.id, plan.key)
    found = kept.get(key)
    if found is None:
        same = _same_as(plan, state)
        found = kept[key] = _evaluate(engine, same, state, kept) if same else engine.evaluate(plan.proposal)
    return found


def _same_as(plan: Plan, state: PointState) -> Plan | None:
    """What happened is often exactly the option it maps to: evaluate that plan once."""
    reveal = state.decision_point.reveal
    if plan.key != HAPPENED or reveal is None or reveal.maps_to is None or reveal.patch:
        return None
    return next((p for p in state.plans if p.key == reveal.maps_to), None)


def _plan(
    engine: Engine, plan: Plan, state: PointState, kept: dict[tuple[str, str], Evaluation]
) -> PlanDebrief:
    option = plan.option
    reveal = state.decision_point.reveal
    close_to = reveal.maps_to if plan.key == HAPPENED and reveal is not None else None
    return PlanDebrief(
        key=plan.key,
        label=plan.label,
        kind=plan.kind,
        principles_tagged=tuple(option.principles) if option else (),
        tensions_tagged=tuple(option.tensions) if option else (),
        evaluation=_evaluate(engine, plan, state, kept),
        close_to=close_to,
    )


def _compared(state: PointState, plans: Sequence[PlanDebrief]) -> tuple[str, ...]:
    compare = state.decision_point.debrief.compare if state.decision_point.debrief else ()
    if compare:
        return tuple(compare)
    return tuple(p.key for p in plans)


def _principles(plans: Sequence[PlanDebrief]) -> tuple[PrincipleRow, ...]:
    rows = []
    for pid in PRINCIPLES:
        cells = {}
        for plan in plans:
            found = next(p for p in plan.evaluation.principles if p.id == pid)
            cells[plan.key] = PrincipleCell(found.because, found.gaps, found.prompts)
        on_record = _in_all([c.on_record for c in cells.values()])
        lacking = _in_all([c.lacking for c in cells.values()])
        rows.append(PrincipleRow(pid, PRINCIPLE_TITLES[pid], cells, on_record, lacking))
    return tuple(rows)


def _in_all(groups: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    if not groups:
        return ()
    rest = [set(g) for g in groups[1:]]
    return tuple(item for item in dict.fromkeys(groups[0]) if all(item in r for r in rest))


def _diffs(plans: Sequence[PlanDebrief]) -> tuple[SectionDiff, ...]:
    items = {p.key: p.items() for p in plans}
    out = []
    for section, title in SECTIONS:
        groups = [items[p.key][section] for p in plans]
        shared = _in_all(groups)
        only = {
            p.key: tuple(i for i in dict.fromkeys(items[p.key][section]) if i not in shared) for p in plans
        }
        out.append(SectionDiff(section, title, shared, only))
    return tuple(out)
