"""The backend interface and the registry of backends by name."""

from __future__ import annotations

from typing import Protocol

from ..errors import RiskEngineError
from ..facts import FactSet
from ..ir import Firing, Program

__all__ = ["BACKENDS", "Backend", "get_backend"]

BACKENDS = ("durable", "reference")


class Backend(Protocol):
    """Runs compiled rules over facts and returns sorted firings."""

    name: str

    def prepare(self, program: Program) -> None:
        """Check limits and compile ``program`` ahead of the first evaluation."""

    def run(self, program: Program, facts: FactSet) -> tuple[Firing, ...]:
        """Every ``(rule index, item id)`` that fires, sorted."""


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (``durable`` or ``reference``)."""
    if name == "reference":
        from .reference import ReferenceBackend

        return ReferenceBackend()
    if name == "durable":
        from .durable import DurableBackend

        return DurableBackend()
    raise RiskEngineError(f"unknown backend '{name}'; choose one of: {', '.join(BACKENDS)}")
