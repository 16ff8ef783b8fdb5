"""``riskengine impact``: which proposals a ruleset change (or a date) would evaluate differently.

Every proposal of the corpus is read once and evaluated under the *before* rulesets and the
*after* rulesets, on the same executor as ``riskengine batch`` (a process pool, or Dask); the
two evaluations are compared on the worker (:mod:`riskengine.batch.diff`), so only the diff
travels back. With ``as_of`` there is one set of rulesets: each evaluation is compared with
itself as it would mark knowledge on that date (what stale knowledge would newly mark).

The report streams: each changed proposal's diff is written to the JSON report as it comes,
in input order; the corpus figures are folded in memory bounded by the number of rules and
items; the markdown report shows the first :data:`~riskengine.batch.report.SHOWN` changed
proposals in full.

May import: ``riskengine`` public names and the batch modules.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import riskengine

from . import records
from .diff import Aggregate, ProposalDiff, compare, failed, restale
from .executor import Executor, InlineExecutor, LocalExecutor, RulesetSpec, Task, engines_for
from .inputs import Item, check_inputs, iter_items
from .report import SHOWN, ImpactJson, impact_markdown

__all__ = ["ImpactRun", "Outcome", "impact_as_of", "impact_item", "producers_of", "run_impact"]

Producers = dict[tuple[str, str], tuple[str, ...]]
_PRODUCERS: dict[tuple[int, ...], Producers] = {}  # per worker process, by the engines' identities


@dataclass(frozen=True, slots=True)
class Outcome:
    """One proposal's result, as it travels back from a worker."""

    diff: ProposalDiff
    fired_before: dict[str, int]
    fired_after: dict[str, int]


def impact_item(engines: tuple[riskengine.Engine, ...], item: Item) -> Outcome:
    """The task for a ruleset change: the proposal under ``engines[0]`` and ``engines[1]``."""
    before_engine, after_engine = engines
    proposal, label_id, problem = _read(item)
    if proposal is None:
        return Outcome(failed(label_id, problem, problem), {}, {})
    before, error_before = _evaluate(before_engine, proposal)
    after, error_after = _evaluate(after_engine, proposal)
    if before is None or after is None:
        return Outcome(
            failed(proposal.id, error_before, error_after),
            _fired(before) if before else {},
            _fired(after) if after else {},
        )
    fired_before, fired_after = _fired(before), _fired(after)
    if fired_before == fired_after and _unchanged(before, after):
        return Outcome(ProposalDiff(proposal.id), fired_before, fired_after)  # the common case
    diff = compare(_data(before), _data(after), producers=_producers(engines))
    return Outcome(diff, fired_before, fired_after)


def _unchanged(before: riskengine.Evaluation, after: riskengine.Evaluation) -> bool:
    """Equal but for what names the rulesets (provenance, and the trace's ``ruleset@version``):
    a cheap test on the models that spares most proposals the comparison of documents."""
    return before.model_copy(update={"provenance": after.provenance, "trace": after.trace}) == after


def impact_as_of(as_of: dt.date, engines: tuple[riskengine.Engine, ...], item: Item) -> Outcome:
    """The task for ``--as-of``: the evaluation against itself with knowledge marked on ``as_of``."""
    proposal, label_id, problem = _read(item)
    if proposal is None:
        return Outcome(failed(label_id, problem, problem), {}, {})
    evaluation, error = _evaluate(engines[0], proposal)
    if evaluation is None:
        return Outcome(failed(proposal.id, error, error), {}, {})
    fired = _fired(evaluation)
    if not any(_newly_stale(k, as_of) for k in evaluation.knowledge):
        return Outcome(ProposalDiff(proposal.id), fired, fired)
    before = _data(evaluation)
    return Outcome(compare(before, restale(before, as_of), producers=_producers(engines)), fired, fired)


def _newly_stale(knowledge: Any, as_of: dt.date) -> bool:
    return knowledge.source.review_by is not None and (as_of > knowledge.source.review_by) != knowledge.stale


def producers_of(books: Sequence[riskengine.RuleBook]) -> Producers:
    """Which rules can put each ``(kind, id)`` item into an evaluation, over ``books``."""
    found: dict[tuple[str, str], list[str]] = {}
    for book in books:
        for loaded in book.rules:
            for key in _outputs(loaded.rule):
                rules = found.setdefault(key, [])
                if loaded.rule.id not in rules:
                    rules.append(loaded.rule.id)
    return {key: tuple(rules) for key, rules in found.items()}


def _outputs(rule: Any) -> Iterator[tuple[str, str]]:
    then = rule.then
    if then.prompt is not None:
        yield ("prompt", then.prompt.id or rule.id)
        yield ("prompt_set_aside", then.prompt.id or rule.id)
        for tension in then.prompt.tensions:
            yield ("tension", tension)
        for principle in then.prompt.principles:
            yield ("principle", principle)
    if then.mitigation is not None:
        yield ("mitigation", then.mitigation.id or rule.id)
    if then.knowledge is not None:
        yield ("knowledge", then.knowledge.id or rule.id)
    for principle in (*then.supports, *then.gap):
        yield ("principle", principle)
    for tension in then.tension:
        yield ("tension", tension)
    if then.benefit is not None:
        yield ("benefit", f"rules: {then.benefit.text}")
    if then.safety_net_need is not None:
        yield ("need", f"{then.safety_net_need.role}/{then.safety_net_need.when}")
    if then.living_your_life is not None:
        yield ("living_your_life", "-")


def _producers(engines: Sequence[riskengine.Engine]) -> Producers:
    key = tuple(id(e) for e in engines)
    found = _PRODUCERS.get(key)
    if found is None:
        found = _PRODUCERS[key] = producers_of([e.book for e in engines])
    return found


def _read(item: Item) -> tuple[riskengine.Proposal | None, str, str | None]:
    """The proposal, or None with the record's id (or input) and why it cannot be read."""
    if item.unreadable:
        return None, item.label, f"{item.label}: {item.unreadable}"
    try:
        return records.read_record(item.text, source=item.source, line=item.line), item.label, None
    except records.RecordError as exc:
        return None, exc.record_id or item.label, riskengine.diagnostics_text(exc.diagnostics).strip()


def _evaluate(
    engine: riskengine.Engine, proposal: riskengine.Proposal
) -> tuple[riskengine.Evaluation | None, str | None]:
    try:
        return engine.evaluate(proposal), None
    except riskengine.RiskEngineError as exc:
        return None, riskengine.diagnostics_text(exc.diagnostics).strip()


def _data(evaluation: riskengine.Evaluation) -> dict[str, Any]:
    """The evaluation as its JSON document (what ``riskengine evaluate`` prints), as data."""
    data: dict[str, Any] = evaluation.model_dump(mode="json", by_alias=True)
    return data


def _fired(evaluation: riskengine.Evaluation) -> dict[str, int]:
    return dict(Counter(entry.rule for entry in evaluation.trace))


@dataclass(slots=True)
class ImpactRun:
    """What an impact run found: the corpus figures, the first changed proposals, the time."""

    summary: Aggregate = field(default_factory=Aggregate)
    shown: list[ProposalDiff] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return self.summary.changed.count > 0

    def line(self) -> str:
        s = self.summary
        rate = f" ({s.proposals / self.seconds:,.0f}/s)" if self.seconds else ""
        return (
            f"impact: {s.proposals:,} proposals in {self.seconds:.1f} s{rate}: {s.changed.count:,} changed, "
            f"{s.brief_changed.count:,} with a different brief, {len(s.changed_rules()):,} rules firing differently"
        )


def run_impact(
    corpus: Sequence[str],
    *,
    before: Sequence[Path | str] | None,
    after: Sequence[Path | str] | None = None,
    as_of: dt.date | None = None,
    backend: str = riskengine.DEFAULT_BACKEND,
    workers: int | None = None,
    executor: Executor | None = None,
    json_out: Path | str | None = None,
    markdown_out: Path | str | None = None,
    progress: Callable[[ImpactRun], None] | None = None,
) -> tuple[ImpactRun, str]:
    """Compare every proposal of ``corpus``; return the run and the markdown report.

    Raise for invalid inputs or rulesets (before any work). ``workers`` 0 runs in this
    process; ``executor`` (a Dask executor) overrides ``workers``.
    """
    check_inputs(corpus)
    task, sides = _task(before, after, as_of, backend)
    engines_for(task.rulesets)  # invalid rulesets stop here (exit 2)
    run = ImpactRun()
    started = time.monotonic()
    pool = executor or (InlineExecutor() if workers == 0 else LocalExecutor(workers))
    header = {"impact": 1, **{label: text for label, text in sides}}
    try:
        with _json_report(json_out, header) as report:
            for outcome in pool.map_ordered(task, iter_items(corpus)):
                _fold(run, outcome, report)
                if progress is not None and run.summary.proposals % 256 == 0:
                    progress(run)
            run.seconds = time.monotonic() - started
            if report is not None:
                report.close(run.summary)
    finally:
        if executor is None:
            pool.close()
    if not run.summary.proposals:
        raise riskengine.InputError(
            [
                riskengine.Diagnostic(
                    riskengine.Location(", ".join(corpus)), "no-proposals", "", "no proposals found"
                )
            ]
        )
    title = f"Knowledge due for re-checking on {as_of}" if as_of else "Impact of the ruleset change"
    text = impact_markdown(run.summary, run.shown, title=title, sides=sides)
    if markdown_out is not None:
        riskengine.write_file_atomically(markdown_out, text)
    return run, text


def _task(
    before: Sequence[Path | str] | None,
    after: Sequence[Path | str] | None,
    as_of: dt.date | None,
    backend: str,
) -> tuple[Task[Outcome], list[tuple[str, str]]]:
    first = RulesetSpec.of(before, backend)
    if as_of is not None:
        if after:
            raise _usage("--as-of compares one set of rulesets with itself on a date: leave out --after")
        sides = [("rulesets", _describe(first)), ("as_of", as_of.isoformat())]
        return Task(functools.partial(impact_as_of, as_of), (first,)), sides
    if not after:
        raise _usage("give --after DIR (the rulesets after the change), or --as-of DATE")
    second = RulesetSpec.of(after, backend)
    return Task(impact_item, (first, second)), [("before", _describe(first)), ("after", _describe(second))]


def _describe(spec: RulesetSpec) -> str:
    where = ", ".join(spec.paths) or "the shipped rulesets"
    return f"{where} (hash {spec.digest[:12]}, backend {spec.backend})"


def _fold(run: ImpactRun, outcome: Outcome, report: ImpactJson | None) -> None:
    run.summary.add(outcome.diff, outcome.fired_before, outcome.fired_after)
    if outcome.diff.changed:
        if report is not None:
            report.add(outcome.diff)
        if len(run.shown) < SHOWN:
            run.shown.append(outcome.diff)


class _NoReport:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _json_report(target: Path | str | None, header: dict[str, Any]) -> Any:
    return _NoReport() if target is None else ImpactJson.to_file(target, header)


def _usage(message: str) -> riskengine.InputError:
    return riskengine.InputError(
        [riskengine.Diagnostic(riskengine.Location("riskengine impact"), "usage", "", message)]
    )
