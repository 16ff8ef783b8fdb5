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

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from riskengine.analysis.safety_net import SafetyNetAnalysis
from riskengine.documents.evaluation import Evaluation
from riskengine.documents.proposal import Proposal
from riskengine.errors import Diagnostic, Location, RuleRefused, RulesetError
from riskengine.read.proposal_files import proposal_from_data
from riskengine.report.assemble import RuleOutputs, assemble
from riskengine.rules.ir import Firing
from riskengine.rules.loader import RuleBook, load_rulebook
from riskengine.rules.shipped import default_rulesets_dir
from riskengine.run.backends import Backend, get_backend
from riskengine.run.facts import FactSet
from riskengine.run.two_phase import run_two_phases

__all__ = ["DEFAULT_BACKEND", "Engine", "default_rulesets_dir"]

DEFAULT_BACKEND = "durable"
# One lock for the whole process, not one per Engine: durable-rules' ruleset table is global,
# so two Engines in two threads would still share (and corrupt) it.
_RUN_LOCK = threading.RLock()


class Engine:
    """Rulesets loaded and compiled for one backend.

    Evaluation runs in two phases. Phase 1 runs the rules that read only the
    proposal; the needs they declare are matched against the network
    (:mod:`riskengine.analysis.safety_net`). Phase 2 runs the rules that read that
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
        try:
            backend.prepare(book.program)
            if book.late_program.rules:
                backend.prepare(book.late_program)
        except RuleRefused as exc:
            raise RulesetError([_located(book, exc)]) from None

    @classmethod
    def from_paths(
        cls, paths: Sequence[Path | str] | None = None, *, backend: str = DEFAULT_BACKEND
    ) -> Engine:
        """Load rulesets from ``paths`` (default: the shipped ``rulesets/``)."""
        book = load_rulebook(list(paths) if paths else [default_rulesets_dir()])
        return cls(book, get_backend(backend))

    @classmethod
    def from_book(cls, book: RuleBook, *, backend: str = DEFAULT_BACKEND) -> Engine:
        """Compile rulesets already loaded (``riskengine validate`` uses it to catch what a
        backend refuses, such as a rule too wide for durable-rules)."""
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
            result = run_two_phases(self.book, self.backend, model)
        return result.facts, result.firings, result.analysis


def _located(book: RuleBook, exc: RuleRefused) -> Diagnostic:
    """The backend's refusal of a rule, at the rule's place in its ruleset file."""
    for loaded in book.rules:
        if loaded.rule.id == exc.rule_id and loaded.ruleset.ref == exc.ruleset:
            where = loaded.ruleset.source.locate(("rules", loaded.position))
            return Diagnostic(
                where, "too-wide", f"rules[{loaded.position}]", f"rule '{exc.rule_id}' {exc.reason}"
            )
    return Diagnostic(Location("<riskengine>"), "too-wide", "", str(exc))
