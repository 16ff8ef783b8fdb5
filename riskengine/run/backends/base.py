"""The backend interface and the registry of backends by name."""

from __future__ import annotations

from typing import Protocol

from riskengine.errors import RiskEngineError
from riskengine.rules.ir import Firing, Program
from riskengine.run.facts import FactSet

__all__ = ["BACKENDS", "Backend", "get_backend"]

BACKENDS = ("durable", "reference", "compiled")


class Backend(Protocol):
    """Runs compiled rules over facts and returns sorted firings."""

    name: str

    def prepare(self, program: Program) -> None:
        """Check limits and compile ``program`` ahead of the first evaluation."""

    def run(self, program: Program, facts: FactSet) -> tuple[Firing, ...]:
        """Every ``(rule index, item id)`` that fires, sorted."""


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (``durable``, ``reference`` or ``compiled``)."""
    if name == "reference":
        from riskengine.run.backends.reference import ReferenceBackend

        return ReferenceBackend()
    if name == "durable":
        from riskengine.run.backends.durable import DurableBackend

        return DurableBackend()
    if name == "compiled":
        from riskengine.run.backends.compiled import CompiledBackend

        return CompiledBackend()
    raise RiskEngineError(f"unknown backend '{name}'; choose one of: {', '.join(BACKENDS)}")
