"""Read a scenario: parse → shape → structure → the proposal at every decision point.

The story is told in stage order (``next`` may jump forward). At each decision point the
proposal **as known then** is the base proposal, plus the facts of the stages told so far,
plus what actually happened at the decision points before: never a fact told later. Each
option's plan is that proposal with the option's patch; what happened is that proposal with
the mapped option's patch and the reveal's patch. Every plan is validated as a proposal
here, so a scenario that loads has a valid proposal for every option.

Imports: :mod:`riskengine` public names, :mod:`._core`, :mod:`.model`, :mod:`.patch`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskengine import (
    Diagnostic,
    InputError,
    Location,
    Proposal,
    RiskEngineError,
    proposal_from_data,
)

from ._core import SourceMap, YamlPath, did_you_mean, dotted, parse_document, read_document, validate_model
from .model import DecisionPoint, Option, Scenario, Stage
from .patch import Layer, Merged, apply_patch

__all__ = [
    "HAPPENED",
    "LoadedScenario",
    "Plan",
    "PointState",
    "load_scenario",
    "parse_scenario",
    "scenario_from_data",
]

HAPPENED = "happened"  # the plan key of what actually happened
AS_KNOWN = "as_known"  # the plan key of the proposal as known, before any option


@dataclass(frozen=True)
class Plan:
    """One plan at a decision point: an option, or what actually happened."""

    key: str
    label: str
    kind: str  # "option" | "happened" | "as_known"
    proposal: Proposal
    option: Option | None = None


@dataclass(frozen=True)
class PointState:
    """A decision point with everything known at it, and the plans to compare."""

    decision_point: DecisionPoint
    stage: Stage
    known_facts: tuple[tuple[str, str], ...]  # (fact id, text), in the order told
    as_known: Proposal
    plans: tuple[Plan, ...]

    def plan(self, key: str) -> Plan:
        """The plan with this key (an option id, ``happened`` or ``as_known``)."""
        if key == AS_KNOWN:
            return Plan(AS_KNOWN, "The proposal as known, before any plan", AS_KNOWN, self.as_known)
        for plan in self.plans:
            if plan.key == key:
                return plan
        raise KeyError(key)


@dataclass(frozen=True, eq=False)
class LoadedScenario:
    """A validated scenario, its base proposal and the state at each decision point."""

    scenario: Scenario
    path: str
    base: Proposal
    stage_order: tuple[str, ...]
    points: Mapping[str, PointState]
    source: SourceMap = field(repr=False)

    @property
    def id(self) -> str:
        """The scenario's id."""
        return self.scenario.id

    def stages(self) -> tuple[Stage, ...]:
        """The stages in the order they are told."""
        by_id = {s.id: s for s in self.scenario.stages}
        return tuple(by_id[i] for i in self.stage_order)

    def point(self, dp_id: str) -> PointState:
        """The state at a decision point; :class:`InputError` naming the known ones if absent."""
        if dp_id not in self.points:
            known = list(self.points)
            message = f"no decision point '{dp_id}'{did_you_mean(dp_id, known)}; this scenario has: {', '.join(known)}"
            raise InputError([Diagnostic(Location(self.path), "unknown-decision-point", "", message)])
        return self.points[dp_id]


def load_scenario(path: Path | str) -> LoadedScenario:
    """Read and validate a scenario file; raise :class:`InputError` with every problem located."""
    document = read_document(path)
    return scenario_from_data(document.data, document.source, base_dir=Path(path).parent)


def parse_scenario(text: str, name: str = "<scenario>", *, base_dir: Path | None = None) -> LoadedScenario:
    """Validate a scenario given as YAML text."""
    document = parse_document(text, name)
    return scenario_from_data(document.data, document.source, base_dir=base_dir or Path.cwd())


def scenario_from_data(
    data: Any, source: SourceMap | None = None, *, base_dir: Path | None = None
) -> LoadedScenario:
    """Validate plain data as a scenario; raise :class:`InputError` with every problem."""
    loaded, problems = build(data, source or SourceMap("<scenario>"), base_dir or Path.cwd())
    errors = [p for p in problems if p.severity == "error"]
    if errors or loaded is None:
        raise InputError(errors or problems)
    return loaded


def build(data: Any, source: SourceMap, base_dir: Path) -> tuple[LoadedScenario | None, list[Diagnostic]]:
    """Everything :func:`scenario_from_data` does, returning the problems instead of raising."""
    if not isinstance(data, Mapping):
        return None, [Diagnostic(source.locate(()), "not-a-mapping", "", "a scenario is a mapping of fields")]
    model, problems = validate_model(Scenario, data, source)
    if model is None:
        return None, problems
    problems = _structure(model, source)
    base, base_problems = _base(model, data, source, base_dir)
    problems += base_problems
    order, order_problems = _order(model, source)
    problems += order_problems
    if problems or base is None:
        return None, problems
    points, point_problems = _points(model, data, source, base, order)
    if point_problems:
        return None, point_problems
    return LoadedScenario(model, source.path, base[0], order, points, source), []


def _stage_path(scenario: Scenario, stage_id: str) -> YamlPath:
    return ("stages", next(i for i, s in enumerate(scenario.stages) if s.id == stage_id))


def _structure(s: Scenario, source: SourceMap) -> list[Diagnostic]:
    """Ids are unique, and references (next, maps_to, compare) name something that exists."""
    problems: list[Diagnostic] = []

    def fail(path: YamlPath, code: str, message: str) -> None:
        problems.append(Diagnostic(source.locate(path), code, dotted(path), message))

    seen: dict[str, YamlPath] = {}
    stage_ids = [st.id for st in s.stages]
    for i, stage in enumerate(s.stages):
        sp: YamlPath = ("stages", i)
        owned: list[tuple[str, YamlPath]] = [(stage.id, (*sp, "id"))]
        owned += [(f.id, (*sp, "facts", j, "id")) for j, f in enumerate(stage.facts)]
        dp = stage.decision_point
        if dp is not None:
            owned.append((dp.id, (*sp, "decision_point", "id")))
            if dp.reveal is not None:
                owned.append((dp.reveal.id, (*sp, "decision_point", "reveal", "id")))
        for ident, path in owned:
            if ident in seen:
                fail(path, "duplicate-id", f"id '{ident}' is already used at {dotted(seen[ident])}")
            seen.setdefault(ident, path)
        if stage.next is not None and stage.next not in stage_ids:
            fail(
                (*sp, "next"),
                "unknown-stage",
                f"no stage '{stage.next}'{did_you_mean(stage.next, stage_ids)}",
            )
        if dp is not None:
            problems += _point_structure(dp, (*sp, "decision_point"), source)
    return problems


def _point_structure(dp: DecisionPoint, path: YamlPath, source: SourceMap) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    option_ids = [o.id for o in dp.options]
    for j, ident in enumerate(option_ids):
        if ident in option_ids[:j] or ident in {HAPPENED, AS_KNOWN}:
            where = (*path, "options", j, "id")
            message = f"option id '{ident}' is used twice in this decision point or is reserved"
            problems.append(Diagnostic(source.locate(where), "duplicate-id", dotted(where), message))
    reveal = dp.reveal
    if reveal is not None and reveal.maps_to is not None and reveal.maps_to not in option_ids:
        where = (*path, "reveal", "maps_to")
        message = f"no option '{reveal.maps_to}' here{did_you_mean(reveal.maps_to, option_ids)}"
        problems.append(Diagnostic(source.locate(where), "unknown-option", dotted(where), message))
    plans = [*option_ids, HAPPENED, AS_KNOWN]
    for j, key in enumerate(dp.debrief.compare if dp.debrief else ()):
        where = (*path, "debrief", "compare", j)
        if key not in plans:
            message = f"'{key}' is not an option here, 'happened' or 'as_known'{did_you_mean(key, plans)}"
            problems.append(Diagnostic(source.locate(where), "unknown-option", dotted(where), message))
        elif key == HAPPENED and reveal is None:
            message = "'happened' needs a reveal at this decision point"
            problems.append(Diagnostic(source.locate(where), "no-reveal", dotted(where), message))
    return problems


def _order(s: Scenario, source: SourceMap) -> tuple[tuple[str, ...], list[Diagnostic]]:
    """The stages in telling order, following ``next``; a loop is an error at the ``next`` that closes it."""
    ids = [st.id for st in s.stages]
    index = {ident: i for i, ident in enumerate(ids)}
    order: list[str] = []
    i: int | None = 0
    while i is not None:
        stage = s.stages[i]
        if stage.id in order:
            return tuple(order), []  # unreachable: a loop is caught at the jump below
        order.append(stage.id)
        if stage.next is not None and stage.next in index:
            target = index[stage.next]
            if stage.next in order:
                where: YamlPath = ("stages", i, "next")
                chain = " → ".join([*order[order.index(stage.next) :], stage.next])
                message = (
                    f"stage '{stage.id}' goes back to '{stage.next}', a circular stage reference ({chain})"
                )
                return tuple(order), [
                    Diagnostic(source.locate(where), "circular-stage", dotted(where), message)
                ]
            i = target
        else:
            i = i + 1 if i + 1 < len(ids) and stage.next is None else None
    return tuple(order), []


def _base(
    s: Scenario, data: Mapping[str, Any], source: SourceMap, base_dir: Path
) -> tuple[tuple[Proposal, Merged] | None, list[Diagnostic]]:
    """The base proposal, validated on its own, and the data patches start from."""
    if s.proposal_file is not None:
        target = base_dir / s.proposal_file
        if not target.is_file():
            where = ("proposal_file",)
            shown = Path(source.path).parent / s.proposal_file
            message = f"no proposal file '{s.proposal_file}' (looked for {shown.as_posix()})"
            return None, [Diagnostic(source.locate(where), "missing-file", dotted(where), message)]
        try:
            document = read_document(target)
            proposal = proposal_from_data(document.data, document.source)
        except RiskEngineError as exc:
            return None, list(exc.diagnostics)
        return (proposal, Merged(dict(document.data))), []
    raw = dict(data["proposal"])
    sub = source.sub(("proposal",))
    try:
        proposal = proposal_from_data(raw, sub)
    except RiskEngineError as exc:
        return None, [_prefixed(d, "proposal") for d in exc.diagnostics]
    return (proposal, Merged(raw)), []


def _prefixed(d: Diagnostic, prefix: str) -> Diagnostic:
    field_ = f"{prefix}.{d.field}" if d.field else prefix
    return Diagnostic(d.location, d.code, field_, d.message, d.severity)


def _points(
    s: Scenario,
    data: Mapping[str, Any],
    source: SourceMap,
    base: tuple[Proposal, Merged],
    order: tuple[str, ...],
) -> tuple[dict[str, PointState], list[Diagnostic]]:
    """Walk the story, keeping what is known; build and validate every plan at every decision point."""
    problems: list[Diagnostic] = []
    points: dict[str, PointState] = {}
    known = base[1]
    known_proposal = base[0]
    told: list[tuple[str, str]] = []
    for stage_id in order:
        sp = _stage_path(s, stage_id)
        stage = s.stages[int(sp[1])]
        for j, fact in enumerate(stage.facts):
            layer = Layer(fact.patch, (*sp, "facts", j, "patch"), source, f"fact '{fact.id}'")
            known, failed = apply_patch(known, layer)
            problems += failed
            told.append((fact.id, fact.text))
        dp = stage.decision_point
        if stage.facts and not problems:
            validated, bad = _validated(
                known, source.path, f"the proposal after the facts of stage '{stage.id}'"
            )
            problems += bad
            known_proposal = validated or known_proposal
        if dp is None or problems:
            continue
        state, after, bad = _point(dp, stage, (*sp, "decision_point"), source, known, known_proposal, told)
        problems += bad
        if state is not None:
            points[dp.id] = state
            known, known_proposal = after
    return points, problems


def _point(
    dp: DecisionPoint,
    stage: Stage,
    path: YamlPath,
    source: SourceMap,
    known: Merged,
    known_proposal: Proposal,
    told: list[tuple[str, str]],
) -> tuple[PointState | None, tuple[Merged, Proposal], list[Diagnostic]]:
    problems: list[Diagnostic] = []
    plans: list[Plan] = []
    patched: dict[str, Merged] = {}
    for j, option in enumerate(dp.options):
        label = f"option '{option.id}' of '{dp.id}'"
        merged, failed = apply_patch(
            known, Layer(option.patch, (*path, "options", j, "patch"), source, label)
        )
        problems += failed
        patched[option.id] = merged
        if not failed:
            proposal, bad = _validated(merged, source.path, f"the plan of {label}")
            problems += bad
            if proposal is not None:
                plans.append(Plan(option.id, option.text, "option", proposal, option))
    after = (known, known_proposal)
    reveal = dp.reveal
    if reveal is not None and not problems:
        start = patched[reveal.maps_to] if reveal.maps_to else known
        label = f"the reveal '{reveal.id}'"
        merged, failed = apply_patch(start, Layer(reveal.patch, (*path, "reveal", "patch"), source, label))
        problems += failed
        if not failed:
            proposal, bad = _validated(
                merged, source.path, f"the plan of what happened at '{dp.id}' ({label})"
            )
            problems += bad
            if proposal is not None:
                plans.append(Plan(HAPPENED, _short(reveal.what_happened), HAPPENED, proposal))
                after = (merged, proposal)
    if problems:
        return None, after, problems
    return PointState(dp, stage, tuple(told), known_proposal, tuple(plans)), after, []


def _short(text: str, limit: int = 160) -> str:
    """The start of a text, cut at a word, for naming a plan."""
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: words.rfind(" ", 0, limit)] + " …"


def _validated(merged: Merged, path: str, what: str) -> tuple[Proposal | None, list[Diagnostic]]:
    try:
        return proposal_from_data(merged.data, merged.source_map(path)), []
    except RiskEngineError as exc:
        return None, [_in(d, what) for d in exc.diagnostics]


def _in(d: Diagnostic, what: str) -> Diagnostic:
    return Diagnostic(
        d.location, d.code, d.field, f"{what} is not a valid proposal: {d.message}", d.severity, d.hint
    )


def all_plans(loaded: LoadedScenario) -> Iterable[tuple[str, Plan]]:
    """Every (decision point id, plan) pair, in story order."""
    for dp_id, state in loaded.points.items():
        for plan in state.plans:
            yield dp_id, plan
