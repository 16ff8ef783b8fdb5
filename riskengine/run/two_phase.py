"""The two-phase run, in the order it happens.

1. **Phase 1** runs the rules that read only the proposal, on the facts derived from it.
2. **Need requests**: the safety-net needs those firings declare, with their reasons filled in.
3. **The safety-net phase** matches the needs against the person's network
   (:mod:`riskengine.analysis.safety_net`) and adds what it found to the facts.
4. **Phase 2** runs the rules that read that analysis (``safety_net.*``, ``for_each: need``).

The firings of both phases come back together, indexed into ``book.rules``; assembly
(:mod:`riskengine.report.assemble`) turns them into the evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from riskengine.analysis.safety_net import NeedRequest, SafetyNetAnalysis, analyse
from riskengine.documents.proposal import Proposal
from riskengine.documents.ruleset import NeedOut
from riskengine.rules.ir import Firing
from riskengine.rules.loader import LoadedRule, RuleBook
from riskengine.rules.templates import fill_text
from riskengine.run.backends import Backend
from riskengine.run.facts import FactSet, build_facts, with_safety_net

__all__ = ["RunResult", "need_requests", "run_two_phases"]


@dataclass(frozen=True, slots=True)
class RunResult:
    """What the run found: the (second-phase) facts, every firing, and the safety-net analysis."""

    facts: FactSet
    firings: tuple[Firing, ...]
    analysis: SafetyNetAnalysis


def run_two_phases(book: RuleBook, backend: Backend, proposal: Proposal) -> RunResult:
    """Run both phases for ``proposal`` on a backend that has prepared ``book``'s programs."""
    facts = build_facts(proposal)
    early = backend.run(book.program, facts)
    analysis = analyse(proposal, need_requests(book, facts, early))
    facts = with_safety_net(
        facts,
        analysis.safety_net,
        services_reachable=analysis.services_reachable,
        service_cut_points=len(analysis.service_cut_points),
    )
    if not book.late_program.rules:
        return RunResult(facts, early, analysis)
    offset = len(book.program.rules)
    late = backend.run(book.late_program, facts)
    return RunResult(facts, early + tuple((offset + i, item) for i, item in late), analysis)


def need_requests(book: RuleBook, facts: FactSet, firings: Sequence[Firing]) -> list[NeedRequest]:
    """The safety-net needs the (first-phase) firings declare, with their reasons filled in."""
    needs = _needs_of(book.rules)
    out = []
    for rule_index, item_id in firings:
        need = needs[rule_index]
        if need is not None:
            item = facts.find(item_id) if item_id else None
            why = fill_text(need.why, facts.case, item)
            out.append(NeedRequest(need.role, need.when, why, need.kinds, need.steadiness, need.offered))
    return out


# The last few books' needs by rule index, each beside the rules it was read from (which keeps
# those alive, so an id is never reused while its entry stands).
_NEEDS: dict[int, tuple[tuple[LoadedRule, ...], tuple[NeedOut | None, ...]]] = {}


def _needs_of(rules: tuple[LoadedRule, ...]) -> tuple[NeedOut | None, ...]:
    """Each rule's ``safety_net_need`` (or None), by rule index: read once per rule book, not per firing."""
    found = _NEEDS.get(id(rules))
    if found is not None and found[0] is rules:
        return found[1]
    needs = tuple(r.rule.then.safety_net_need for r in rules)
    if len(_NEEDS) >= 8:  # engines are few; a reloaded one replaces its book
        _NEEDS.clear()
    _NEEDS[id(rules)] = (rules, needs)
    return needs
