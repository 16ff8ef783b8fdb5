"""The reference evaluator: the same compiled rules, in a few lines of plain Python.

It is the oracle the durable-rules adapter is tested against, and a fallback where
durable-rules cannot be installed.
"""

from __future__ import annotations

from riskengine.rules.ir import Firing, Program, holds
from riskengine.run.facts import FactSet

__all__ = ["ReferenceBackend"]


class ReferenceBackend:
    """Evaluate rules directly over the facts."""

    name = "reference"

    def prepare(self, program: Program) -> None:
        """Nothing to prepare: the IR is run as it is."""

    def run(self, program: Program, facts: FactSet) -> tuple[Firing, ...]:
        """Fire each rule whose case tests hold, once per matching item if it has a scope."""
        firings: list[Firing] = []
        for rule in program.rules:
            if not all(holds(t, facts.case) for t in rule.case_tests):
                continue
            if rule.scope is None:
                firings.append((rule.index, None))
                continue
            for item in facts.items.get(rule.scope, ()):
                if all(holds(t, item) for t in rule.item_tests):
                    firings.append((rule.index, item["id"]))
        return tuple(sorted(firings, key=_order))


def _order(firing: Firing) -> tuple[int, str]:
    return firing[0], firing[1] or ""
