"""The analyse stage: firings from a backend become the evaluation document.

Everything here is ordered by stable keys (conversation stage, ruleset load order,
rule position, item content), never by the order lists had in the proposal, so
the same proposal always gives the same bytes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, cast

from riskengine.documents.evaluation import (
    Benefit,
    Evaluation,
    KnowledgeItem,
    LivingYourLife,
    MitigationItem,
    Principle,
    PrincipleStatus,
    Prompt,
    Provenance,
    Review,
    SafetyNet,
    SourceRef,
    Tension,
    TraceEntry,
)
from riskengine.documents.proposal import Proposal
from riskengine.documents.ruleset import KnowledgeOut, MitigationOut, Source, Then
from riskengine.documents.vocab import PRINCIPLES, STAGES, TENSIONS, PrincipleId, TensionId
from riskengine.report.brief import build_brief
from riskengine.rules.fields import CASE_SCOPES, fact_key
from riskengine.rules.ir import Firing
from riskengine.rules.loader import LoadedRule, RuleBook
from riskengine.rules.templates import Template
from riskengine.run.facts import Fact, FactSet
from riskengine.version import __version__

__all__ = ["RuleOutputs", "assemble"]

LOOK_BACK_AT = ("what went well", "what the person learned", "what the team learned")
NO_JUDGEMENT = (
    "No rule judged whether most people do this without being assessed. "
    "Talk together about how much planning this really needs."
)


@dataclass(frozen=True, slots=True)
class _Knowledge:
    """A rule's knowledge item with its source, and the reference an evaluation shows for it."""

    out: KnowledgeOut
    source: Source
    ref: SourceRef  # the source, narrowed to the item's section if it names one


@dataclass(frozen=True, slots=True)
class _Static:
    """What a rule adds that does not depend on the proposal, built once per engine."""

    index: int  # its position in ``book.rules``, as firings name it
    rule_id: str
    trace_order: int  # its id's place among all rule ids (ids are global), to sort the trace by
    ruleset: str
    then: Then
    source: SourceRef
    because: Template
    used: tuple[tuple[str, bool, str], ...]  # (field name, is a case field, fact key)
    prompt: Prompt | None
    prompt_order: tuple[int, tuple[int, int]]  # (conversation stage, (ruleset order, rule position))
    prompt_texts: tuple[Template, Template] | None  # only when the prompt names fields
    knowledge: _Knowledge | None
    set_aside: bool  # the prompt is set aside for everyday activities
    topic: str | None  # the point the rule makes, shared with rules that make the same one
    ruleset_id: str
    applies: bool  # its ``then`` adds something besides a prompt (see _apply)
    says_because: bool  # what it adds quotes its filled-in ``because`` text
    living: tuple[bool, str] | None  # (everyday, note): its judgement of the activity, if it makes one


class RuleOutputs:
    """Every enabled rule's static outputs, indexed like ``book.rules``. Build once, reuse."""

    def __init__(self, book: RuleBook) -> None:
        order = {r.path: i for i, r in enumerate(book.rulesets)}
        ids = {rule_id: i for i, rule_id in enumerate(sorted(loaded.rule.id for loaded in book.rules))}
        self.rules = tuple(
            _static(loaded, index, order[loaded.ruleset.path], ids[loaded.rule.id])
            for index, loaded in enumerate(book.rules)
        )
        self.provenance_rulesets = tuple(r.provenance() for r in book.rulesets)


def _static(loaded: LoadedRule, index: int, ruleset_order: int, trace_order: int) -> _Static:
    rule = loaded.rule
    source = _source_ref(loaded.sources[0])
    prompt = prompt_texts = None
    stage = 0
    if rule.then.prompt is not None:
        p = rule.then.prompt
        prompt = Prompt.build(
            id=p.id or rule.id, stage=p.stage, to_practitioner=p.to_practitioner, to_person=p.to_person,
            principles=p.principles, tensions=p.tensions, source=source,
        )  # fmt: skip
        stage = STAGES.index(p.stage)
        texts = (Template.parse(p.to_practitioner), Template.parse(p.to_person))
        prompt_texts = texts if texts[0].slots or texts[1].slots else None
    used = []
    for name in loaded.used_fields:
        scope, _, field_name = name.partition(".")
        used.append((name, scope in CASE_SCOPES, fact_key(scope, field_name)))
    living = rule.then.living_your_life
    return _Static(
        index,
        rule.id,
        trace_order,
        loaded.ruleset.ref,
        rule.then,
        source,
        Template.parse(rule.because),
        tuple(used),
        prompt,
        (stage, (ruleset_order, loaded.position)),
        prompt_texts,
        _knowledge_of(loaded),
        rule.then.prompt is not None and rule.then.prompt.everyday == "set_aside",
        rule.topic,
        loaded.ruleset.model.id,
        _applies(rule.then),
        bool(rule.then.supports or rule.then.gap or rule.then.tension or rule.then.knowledge),
        None if living is None else (living.everyday, living.note),
    )


def _applies(then: Then) -> bool:
    """Whether :func:`_apply` has anything to add for a rule with this ``then``."""
    return bool(
        then.supports or then.gap or then.tension or then.mitigation or then.knowledge or then.benefit
    )


def _knowledge_of(loaded: LoadedRule) -> _Knowledge | None:
    k = loaded.rule.then.knowledge
    if k is None:
        return None
    source = loaded.ruleset.cited_source(k.source)
    ref = _source_ref(source)
    if k.section:
        ref = SourceRef.build(**{**dict(ref), "section": k.section})
    return _Knowledge(k, source, ref)


@dataclass
class _Acc:
    # prompt id -> (conversation order, prompt, set aside for everyday activities)
    prompts: dict[str, tuple[tuple[int, tuple[int, int | str]], Prompt, bool]] = field(default_factory=dict)
    supports: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    gaps: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    topics: dict[str, str] = field(default_factory=dict)  # prompt id -> its rule's topic
    asked_with: dict[str, str] = field(default_factory=dict)  # knowledge id -> its rule's prompt id
    tensions: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    tension_prompts: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    mitigations: dict[str, MitigationItem] = field(default_factory=dict)
    knowledge: dict[str, tuple[_Knowledge, list[str]]] = field(default_factory=dict)
    benefits: list[str] = field(default_factory=list)


def assemble(
    book: RuleBook,
    proposal: Proposal,
    facts: FactSet,
    firings: Sequence[Firing],
    backend: str,
    safety_net: SafetyNet,
    *,
    outputs: RuleOutputs | None = None,
) -> Evaluation:
    """Build the evaluation for ``proposal`` from what fired (both phases).

    ``safety_net`` is the analysis the run made between the phases. ``outputs`` is the engine's
    table of static rule outputs (built here if not given). Every value below comes
    from validated proposals and rulesets, so models are constructed without
    re-validation; the tests validate whole evaluations against the schema.
    """
    outputs = outputs or RuleOutputs(book)
    acc = _Acc()
    case = facts.case
    fired, trace, judged, topical = _fired(outputs, facts, firings)
    living = _living(judged)
    everyday = living.everyday
    behind = _said_once(topical, f"packs.{proposal.proposal.activity}", everyday)
    for static, item in fired:
        if static.index in behind:
            continue  # its point is made by the best-placed rule of its topic
        if static.applies:  # most rules only ask: nothing to add, no text to fill
            because = static.because.fill(case, item) if static.says_because else ""
            _apply(acc, static, because, proposal, everyday)
        if static.prompt is not None:
            _prompt(acc, static, static.prompt, case)
    _stand_behind(acc, outputs, behind)
    knowledge = _knowledge(acc, proposal)
    prompts, set_aside = _split_prompts(acc, living.everyday)
    shown = {p.id for p in prompts}
    review = Review.build(
        on=proposal.plan.review_on,
        success_looks_like=proposal.plan.success_looks_like,
        look_back_at=LOOK_BACK_AT,
    )
    return Evaluation.build(
        schema_version=1,
        proposal_id=proposal.id,
        as_of=proposal.as_of,
        provenance=Provenance.build(
            engine_version=__version__,
            backend=backend,
            rulesets=outputs.provenance_rulesets,
            disabled_rules=book.disabled,
        ),
        living_your_life=living,
        brief=build_brief(
            proposal,
            prompts,
            knowledge,
            safety_net,
            review,
            living.everyday,
            {p: t for p, t in acc.topics.items() if p in shown},
            {k: p for k, p in acc.asked_with.items() if p in shown},
        ),
        principles=_principles(acc, prompts),
        tensions=tuple(
            Tension.build(
                id=cast("TensionId", t),
                because=tuple(dict.fromkeys(acc.tensions[t])),
                prompts=tuple(sorted(acc.tension_prompts[t] & shown)),
            )
            for t in TENSIONS
            if t in acc.tensions
        ),
        prompts=prompts,
        prompts_set_aside=set_aside,
        mitigations=tuple(acc.mitigations.values()),
        knowledge=knowledge,
        benefits=_benefits(proposal, acc.benefits),
        safety_net=safety_net,
        review=review,
        trace=trace,
    )


def _fired(
    outputs: RuleOutputs, facts: FactSet, firings: Sequence[Firing]
) -> tuple[list[tuple[_Static, Fact | None]], tuple[TraceEntry, ...], list[tuple[bool, str]], list[_Static]]:
    """One pass over what fired: each firing's rule and item, the trace, and what the rest needs.

    Gives the firings as (rule's static outputs, matched item or None), the trace in rule id
    then item id order, the rules' judgements of the activity (``living_your_life``) and the
    rules with a topic.
    """
    rules, case, find = outputs.rules, facts.case, facts.find
    fired: list[tuple[_Static, Fact | None]] = []
    trace: list[tuple[tuple[int, str], TraceEntry]] = []
    judged: list[tuple[bool, str]] = []
    topical: list[_Static] = []
    for rule_index, item_id in firings:
        static = rules[rule_index]
        item = find(item_id) if item_id else None  # an item's id is its fact's id, canonical
        fired.append((static, item))
        trace.append(((static.trace_order, item_id or ""), _trace(static, case, item)))
        if static.living is not None:
            judged.append(static.living)
        if static.topic is not None:
            topical.append(static)
    trace.sort(key=_KEY)
    return fired, tuple(map(_ENTRY, trace)), judged, topical


_KEY, _ENTRY = itemgetter(0), itemgetter(1)


def _trace(static: _Static, case: Fact, item: Fact | None) -> TraceEntry:
    """The trace entry of one firing: the rule, and the value of each field it tests."""
    fact = item or _NO_ITEM
    matched = {}
    for name, is_case, key in static.used:
        value = (case if is_case else fact).get(key)
        matched[name] = _NOT_RECORDED if value is None else value
    return TraceEntry.from_fields({"rule": static.rule_id, "ruleset": static.ruleset, "because": matched})


_NO_ITEM: dict[str, Any] = {}
_NOT_RECORDED = "not recorded"


def _prompt(acc: _Acc, static: _Static, prompt: Prompt, case: dict[str, Any]) -> None:
    """Add the rule's prompt, filled in from the facts of the first firing that shows it."""
    if prompt.id not in acc.prompts:
        acc.prompts[prompt.id] = (
            static.prompt_order,
            _filled(prompt, static.prompt_texts, case),
            static.set_aside,
        )
        if static.topic is not None:
            acc.topics[prompt.id] = static.topic
    for tension in prompt.tensions:
        acc.tension_prompts[tension].add(prompt.id)


def _apply(acc: _Acc, static: _Static, because: str, proposal: Proposal, everyday: bool) -> None:
    """Add what the rule's ``then`` says; an item with an id is kept as it first came.

    A gap whose prompt is set aside for an everyday activity is not counted against the
    principle: the engine itself has said that planning is not needed.
    """
    then = static.then
    for principle in then.supports:
        acc.supports[principle].append(because)
    if not (everyday and static.set_aside):
        for principle in then.gap:
            acc.gaps[principle].append(because)
    for tension in then.tension:
        acc.tensions[tension].append(because)
        if static.prompt is not None:
            acc.tension_prompts[tension].add(static.prompt.id)
    if then.mitigation is not None:
        item_id = then.mitigation.id or static.rule_id
        if item_id not in acc.mitigations:
            acc.mitigations[item_id] = _mitigation(item_id, then.mitigation, proposal, static.source)
    if static.knowledge is not None:
        item_id = static.knowledge.out.id or static.rule_id
        acc.knowledge.setdefault(item_id, (static.knowledge, []))[1].append(because)
        if static.prompt is not None:
            acc.asked_with.setdefault(item_id, static.prompt.id)
    if then.benefit is not None:
        acc.benefits.append(then.benefit.text)


def _said_once(topical: Sequence[_Static], pack: str, everyday: bool) -> dict[int, int]:
    """Rules that stand behind another of their topic: ``{rule index: the kept rule's index}``.

    Of the fired rules sharing a ``topic`` (``topical``, in firing order), the best-placed one
    is kept: one that is asked (not set aside for an everyday activity), then one with a legal
    must (it leads the brief), then one from the activity's own pack, then one with a prompt,
    then the first in conversation order (stage, ruleset load order, rule position).
    """
    best: dict[str, tuple[tuple[bool, bool, bool, bool, tuple[int, tuple[int, int]]], int]] = {}
    fired: dict[int, str] = {}
    for static in topical:
        rule_index, topic = static.index, cast("str", static.topic)
        if rule_index in fired:
            continue
        fired[rule_index] = topic
        must = static.knowledge is not None and static.knowledge.out.weight == "must"
        key = (
            everyday and static.set_aside,  # asked, not set aside
            not must,  # a legal must: it leads the brief
            static.ruleset_id != pack,  # the activity's own pack
            static.prompt is None,  # a question to ask
            static.prompt_order,  # first in conversation order
        )
        found = best.get(topic)
        if found is None or key < found[0]:
            best[topic] = (key, rule_index)
    return {i: best[t][1] for i, t in fired.items() if best[t][1] != i}


def _stand_behind(acc: _Acc, outputs: RuleOutputs, behind: dict[int, int]) -> None:
    """The kept prompt of a topic names the prompts it stands for, and serves their principles."""
    for rule_index, kept_index in sorted(behind.items()):
        loser, kept = outputs.rules[rule_index], outputs.rules[kept_index].prompt
        if kept is None or kept.id not in acc.prompts:
            continue
        dropped = loser.prompt
        ids = {dropped.id} if dropped is not None else set()
        if loser.then.mitigation is not None:
            ids.add(loser.then.mitigation.id or loser.rule_id)
        if loser.knowledge is not None:
            ids.add(loser.knowledge.out.id or loser.rule_id)
        order, prompt, aside = acc.prompts[kept.id]
        principles, tensions = (dropped.principles, dropped.tensions) if dropped else ((), ())
        merged = Prompt.build(**{
            **prompt.__dict__,
            "principles": tuple(dict.fromkeys((*prompt.principles, *principles))),
            "tensions": tuple(dict.fromkeys((*prompt.tensions, *tensions))),
            "stands_for": tuple(sorted({*prompt.stands_for, *ids} - {kept.id})),
        })  # fmt: skip
        acc.prompts[kept.id] = (order, merged, aside)
        for tension in tensions:
            acc.tension_prompts[tension].add(kept.id)


def _filled(prompt: Prompt, texts: tuple[Template, Template] | None, case: dict[str, Any]) -> Prompt:
    """The prompt with any ``{case.field}`` placeholders filled in (loader allows only case fields)."""
    if texts is None:
        return prompt
    to_practitioner, to_person = (t.fill(case, None) for t in texts)
    return Prompt.build(**{**prompt.__dict__, "to_practitioner": to_practitioner, "to_person": to_person})


def _source_ref(source: Source) -> SourceRef:
    return SourceRef.build(
        title=source.title, seed=source.seed, citation=source.citation, url=source.url,
        section=source.section, checked=source.checked, review_by=source.review_by,
    )  # fmt: skip


def _mitigation(item_id: str, m: MitigationOut, proposal: Proposal, source: SourceRef) -> MitigationItem:
    draws_on = list(m.draws_on)
    if m.draws_on_strengths:
        draws_on.extend(sorted(set(proposal.person.strengths)))
    return MitigationItem.build(
        id=item_id, text=m.text, addresses=m.addresses, suggested_owner=m.suggested_owner,
        draws_on=tuple(dict.fromkeys(draws_on)), source=source,
    )  # fmt: skip


def _knowledge(acc: _Acc, proposal: Proposal) -> tuple[KnowledgeItem, ...]:
    items = []
    elsewhere: list[tuple[str, _Knowledge]] = []
    for item_id, (known, because) in acc.knowledge.items():
        k, review_by = known.out, known.source.review_by
        if proposal.jurisdiction not in k.jurisdictions:
            elsewhere.append((item_id, known))
            continue
        items.append(KnowledgeItem.build(
            id=item_id, topic=k.topic, text=k.text, applies_because=tuple(dict.fromkeys(because)),
            weight=k.weight, jurisdictions=k.jurisdictions, source=known.ref,
            stale=bool(review_by and proposal.as_of > review_by), to_person=k.to_person, kind=k.kind,
        ))  # fmt: skip
    if elsewhere:
        _local_rules_prompt(acc, elsewhere, proposal)
    return tuple(items)


def _local_rules_prompt(acc: _Acc, elsewhere: list[tuple[str, _Knowledge]], proposal: Proposal) -> None:
    """One prompt to check local rules, listing every note not checked for this nation."""
    here = _nation(proposal.jurisdiction)
    notes = "; ".join(
        f"{known.out.topic} (checked for {', '.join(map(_nation, known.out.jurisdictions))})"
        for _, known in elsewhere
    )
    prompt = Prompt.build(
        id="local-rules",
        stage="option_talk",
        to_practitioner=(
            f"These notes have not been checked for {here}, so they are not shown as facts: {notes}. "
            f"Check what applies in {here} before relying on any of them."
        ),
        to_person="Some rules can be different where you live. We will check which ones apply to you.",
        principles=("felton.2",),
        tensions=(),
        source=_source_ref(elsewhere[0][1].source),
        stands_for=tuple(item_id for item_id, _ in elsewhere),
    )
    acc.prompts[prompt.id] = ((STAGES.index(prompt.stage), (10_000, 0)), prompt, False)


def _nation(jurisdiction: str) -> str:
    return jurisdiction.replace("_", " ").title()


def _split_prompts(acc: _Acc, everyday: bool) -> tuple[tuple[Prompt, ...], tuple[Prompt, ...]]:
    """The prompts in conversation order: those to ask, and those set aside for an everyday activity.

    A prompt is set aside when the activity is everyday and its rule says so (a prompt id
    belongs to one rule; the loader checks); principles and tensions point only at the
    prompts to ask.
    """
    ordered = sorted(acc.prompts.values(), key=itemgetter(0))
    if not everyday:
        return tuple(p for _, p, _ in ordered), ()
    return tuple(p for _, p, aside in ordered if not aside), tuple(p for _, p, aside in ordered if aside)


def _principles(acc: _Acc, shown: Sequence[Prompt]) -> tuple[Principle, ...]:
    prompts: defaultdict[str, set[str]] = defaultdict(set)
    for prompt in shown:
        for principle in prompt.principles:
            prompts[principle].add(prompt.id)
    out = []
    for pid in PRINCIPLES:
        supports = tuple(dict.fromkeys(acc.supports.get(pid, [])))
        gaps = tuple(dict.fromkeys(acc.gaps.get(pid, [])))
        status = "not_yet_evident" if not supports else ("partly_evident" if gaps else "evident")
        out.append(
            Principle.build(
                id=cast("PrincipleId", pid),
                status=cast("PrincipleStatus", status),
                because=supports,
                gaps=gaps,
                prompts=tuple(sorted(prompts[pid])),
            )
        )
    return tuple(out)


def _living(found: list[tuple[bool, str]]) -> LivingYourLife:
    if not found:
        return LivingYourLife.build(everyday=False, note=NO_JUDGEMENT)
    everyday = all(flag for flag, _ in found)
    notes = [note for flag, note in found if flag == everyday]
    return LivingYourLife.build(everyday=everyday, note=" ".join(dict.fromkeys(notes)))


def _benefits(proposal: Proposal, from_rules: list[str]) -> tuple[Benefit, ...]:
    person = [
        Benefit.build(text=t, from_="person") for t in sorted(set(proposal.proposal.hoped_for_benefits))
    ]
    rules = [Benefit.build(text=t, from_="rules") for t in dict.fromkeys(from_rules)]
    return tuple(person + rules)
