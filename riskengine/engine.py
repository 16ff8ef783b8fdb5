"""The engine facade: load rulesets once, evaluate many proposals.

An :class:`Engine` exists only fully loaded and compiled; building one raises
:class:`~riskengine.errors.RulesetError` listing every problem in the rulesets.

Thread safety: durable-rules keeps its rulesets in one process-wide table with no locking,
and its C engine can crash the process when two threads use it at once. So every run of
every :class:`Engine` in a process is serialised by one process-wide lock: calling
:meth:`Engine.evaluate` from several threads is safe and gives the same results as calling
it from one, but gains no speed. For parallel work use processes, each with its own
Engine (as ``riskengine serve`` does).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .assemble import RuleOutputs, assemble, need_requests
from .backends import Backend, get_backend
from .evaluation import Evaluation
from .facts import FactSet, build_facts, with_safety_net
from .ir import Firing
from .loader import RuleBook, load_rulebook
from .proposal import Proposal
from .proposals import proposal_from_data
from .safety_net import SafetyNetAnalysis, analyse

__all__ = ["DEFAULT_BACKEND", "Engine", "default_rulesets_dir"]

DEFAULT_BACKEND = "durable"
# One lock for the whole process, not one per Engine: durable-rules' ruleset table is global,
# so two Engines in two threads would still share (and corrupt) it.
_RUN_LOCK = threading.RLock()


def default_rulesets_dir() -> Path:
    """The shipped rulesets: ``rulesets/`` beside the package in a checkout or editable
    install, else ``<prefix>/share/riskengine/rulesets`` where a regular install puts them."""
    checkout = Path(__file__).resolve().parent.parent / "rulesets"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "riskengine" / "rulesets"


class Engine:
    """Rulesets loaded and compiled for one backend.

    Evaluation runs in two phases. Phase 1 runs the rules that read only the
    proposal; the needs they declare are matched against the network
    (:mod:`riskengine.safety_net`). Phase 2 runs the rules that read that
    analysis (``safety_net.*``, ``for_each: need``) on the same facts plus the
    analysis. Assembly merges the firings of both.

    Thread safety: an Engine may be shared between threads. Its runs (``evaluate``, ``fire``)
    are serialised by a process-wide lock, because durable-rules is not thread-safe; the
    loaded rulesets are never changed after construction. Evaluations are independent: no
    state is kept from one to the next. A forked child must build its own Engine.
    """

    def __init__(self, book: RuleBook, backend: Backend) -> None:
        self.book = book
        self.backend = backend
        self.outputs = RuleOutputs(book)
        backend.prepare(book.program)
        if book.late_program.rules:
            backend.prepare(book.late_program)

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
        with _RUN_LOCK:  # re-entrant: _run takes it again
            facts, firings, analysis = self._run(model)
            return assemble(
                self.book, model, facts, firings, self.backend.name, analysis.safety_net, outputs=self.outputs
            )

    def fire(self, proposal: Proposal) -> tuple[FactSet, tuple[Firing, ...]]:
        """The (second-phase) facts and the firings of both phases, indexed into ``book.rules``."""
        facts, firings, _ = self._run(proposal)
        return facts, firings

    def rule_ids(self, firings: Sequence[Firing]) -> set[str]:
        """The ids of the rules in ``firings``."""
        return {self.book.rules[index].rule.id for index, _ in firings}

    def _run(self, model: Proposal) -> tuple[FactSet, tuple[Firing, ...], SafetyNetAnalysis]:
        with _RUN_LOCK:
            return self._run_locked(model)

    def _run_locked(self, model: Proposal) -> tuple[FactSet, tuple[Firing, ...], SafetyNetAnalysis]:
        facts = build_facts(model)
        early = self.backend.run(self.book.program, facts)
        analysis = analyse(model, need_requests(self.book, facts, early))
        facts = with_safety_net(
            facts,
            analysis.safety_net,
            services_reachable=analysis.services_reachable,
            service_cut_points=len(analysis.service_cut_points),
        )
        if not self.book.late_program.rules:
            return facts, early, analysis
        offset = len(self.book.program.rules)
        late = self.backend.run(self.book.late_program, facts)
        return facts, early + tuple((offset + i, item) for i, item in late), analysis
