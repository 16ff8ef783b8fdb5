"""The engine facade: load rulesets once, evaluate many proposals.

An :class:`Engine` exists only fully loaded and compiled; building one raises
:class:`~riskengine.errors.RulesetError` listing every problem in the rulesets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .assemble import assemble
from .backends import Backend, get_backend
from .evaluation import Evaluation
from .facts import FactSet, build_facts
from .ir import Firing
from .loader import RuleBook, load_rulebook
from .proposal import Proposal
from .proposals import proposal_from_data

__all__ = ["DEFAULT_BACKEND", "Engine", "default_rulesets_dir"]

DEFAULT_BACKEND = "durable"


def default_rulesets_dir() -> Path:
    """The shipped ``rulesets/`` directory (beside the package in a checkout)."""
    return Path(__file__).resolve().parent.parent / "rulesets"


class Engine:
    """Rulesets loaded and compiled for one backend."""

    def __init__(self, book: RuleBook, backend: Backend) -> None:
        self.book = book
        self.backend = backend
        backend.prepare(book.program)

    @classmethod
    def from_paths(
        cls, paths: Sequence[Path | str] | None = None, *, backend: str = DEFAULT_BACKEND
    ) -> Engine:
        """Load rulesets from ``paths`` (default: the shipped ``rulesets/``)."""
        book = load_rulebook(list(paths) if paths else [default_rulesets_dir()])
        return cls(book, get_backend(backend))

    def evaluate(self, proposal: Proposal | Mapping[str, Any]) -> Evaluation:
        """Evaluate one proposal. It prompts; it never decides."""
        model = proposal if isinstance(proposal, Proposal) else proposal_from_data(proposal)
        facts = build_facts(model)
        firings = self.backend.run(self.book.program, facts)
        return assemble(self.book, model, facts, firings, self.backend.name)

    def fire(self, proposal: Proposal) -> tuple[FactSet, tuple[Firing, ...]]:
        """The facts and raw firings for ``proposal`` (for rule tests and parity checks)."""
        facts = build_facts(proposal)
        return facts, self.backend.run(self.book.program, facts)

    def rule_ids(self, firings: Sequence[Firing]) -> set[str]:
        """The ids of the rules in ``firings``."""
        return {self.book.program.rules[index].rule_id for index, _ in firings}
