"""The analyse stage: firings from a backend become the evaluation document.

Everything here is ordered by stable keys (conversation stage, ruleset load order,
rule position, item content), never by the order lists had in the proposal, so
the same proposal always gives the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from . import __version__
from .evaluation import (
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
from .facts import FactSet
from .fields import CASE_SCOPES, fact_key
from .ir import Firing
from .loader import LoadedRule, RuleBook
from .proposal import Proposal
from .ruleset import KnowledgeOut, Source
from .safety_net import NeedRequest, analyse_safety_net
from .vocab import PRINCIPLES, STAGES, TENSIONS, PrincipleId, TensionId

__all__ = ["RuleOutputs", "assemble", "need_requests"]

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\.([a-z_]+)\}")
LOOK_BACK_AT = ("what went well", "what the person learned", "what the team learned")
NO_JUDGEMENT = (
    "No rule judged whether most people do this without being assessed. "
    "Talk together about how much planning this really needs."
)


@dataclass(frozen=True, slots=True)
class _Static:
    """What a rule adds that does not depend on the proposal, built once per engine."""

    rule_id: str
    ruleset: str
    position: tuple[int, int]
    source: SourceRef
    prompt: Prompt | None
    used: tuple[tuple[str, bool, str], ...]  # (field name, is a case field, fact key)
    knowledge_source: Source | None


class RuleOutputs:
    """Every enabled rule's static outputs, indexed like ``book.rules``. Build once, reuse."""

    def __init__(self, book: RuleBook) -> None:
        order = {r.path: i for i, r in enumerate(book.rulesets)}
        self.rules = tuple(_static(loaded, order[loaded.ruleset.path]) for loaded in book.rules)
        self.provenance_rulesets = tuple(r.provenance() for r in book.rulesets)


def _static(loaded: LoadedRule, ruleset_order: int) -> _Static:
    rule = loaded.rule
    source = _source_ref(loaded.sources[0])
    prompt = None
    if rule.then.prompt is not None:
        p = rule.then.prompt
        prompt = Prompt.build(
            id=p.id or rule.id, stage=p.stage, to_practitioner=p.to_practitioner, to_person=p.to_person,
            principles=p.principles, tensions=p.tensions, source=source,
        )  # fmt: skip
    used = []
    for name in loaded.used_fields:
        scope, _, field_name = name.partition(".")
        used.append((name, scope in CASE_SCOPES, fact_key(scope, field_name)))
    k = rule.then.knowledge
    knowledge_source = next(s for s in loaded.ruleset.model.sources if s.id == k.source) if k else None
    return _Static(
        rule.id,
        loaded.ruleset.ref,
        (ruleset_order, loaded.position),
        source,
        prompt,
        tuple(used),
        knowledge_source,
    )


@dataclass
class _Acc:
    prompts: dict[str, tuple[tuple[int, int | str], Prompt]] = field(default_factory=dict)
    supports: dict[str, list[str]] = field(default_factory=dict)
    gaps: dict[str, list[str]] = field(default_factory=dict)
    tensions: dict[str, list[str]] = field(default_factory=dict)
    tension_prompts: dict[str, set[str]] = field(default_factory=dict)
    mitigations: dict[str, MitigationItem] = field(default_factory=dict)
    knowledge: dict[str, tuple[KnowledgeOut, Source, list[str]]] = field(default_factory=dict)
    benefits: list[str] = field(default_factory=list)
    living: list[tuple[bool, str]] = field(default_factory=list)
    trace: list[tuple[str, str, TraceEntry]] = field(default_factory=list)


def need_requests(book: RuleBook, facts: FactSet, firings: Sequence[Firing]) -> list[NeedRequest]:
    """The safety-net needs the (first-phase) firings declare, with their reasons filled in."""
    out = []
    for rule_index, item_id in firings:
        need = book.rules[rule_index].rule.then.safety_net_need
        if need is not None:
            item = facts.find(item_id) if item_id else None
            out.append(
                NeedRequest(
                    need.role, need.when, render(need.why, facts.case, item), need.kinds, need.steadiness
                )
            )
    return out


def assemble(
    book: RuleBook,
    proposal: Proposal,
    facts: FactSet,
    firings: Sequence[Firing],
    backend: str,
    safety_net: SafetyNet | None = None,
    *,
    outputs: RuleOutputs | None = None,
) -> Evaluation:
    """Build the evaluation for ``proposal`` from what fired (both phases).

    ``safety_net`` is the analysis the engine made between the phases; without
    it, the needs in ``firings`` are analysed here. ``outputs`` is the engine's
    table of static rule outputs (built here if not given). Every value below comes
    from validated proposals and rulesets, so models are constructed without
    re-validation; the tests validate whole evaluations against the schema.
    """
    outputs = outputs or RuleOutputs(book)
    acc = _Acc()
    for rule_index, item_id in firings:
        item = facts.find(item_id) if item_id else None
        _apply(acc, book.rules[rule_index], outputs.rules[rule_index], facts.case, item, proposal)
    knowledge = _knowledge(acc, proposal)
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
        living_your_life=_living(acc.living),
        principles=_principles(acc),
        tensions=tuple(
            Tension.build(
                id=cast("TensionId", t),
                because=tuple(dict.fromkeys(acc.tensions[t])),
                prompts=tuple(sorted(acc.tension_prompts[t])),
            )
            for t in TENSIONS
            if t in acc.tensions
        ),
        prompts=tuple(
            p for _, p in sorted(acc.prompts.values(), key=lambda kv: (STAGES.index(kv[1].stage), kv[0]))
        ),
        mitigations=tuple(acc.mitigations.values()),
        knowledge=knowledge,
        benefits=_benefits(proposal, acc.benefits),
        safety_net=safety_net
        if safety_net is not None
        else analyse_safety_net(proposal, need_requests(book, facts, firings)),
        review=Review.build(
            on=proposal.plan.review_on,
            success_looks_like=proposal.plan.success_looks_like,
            look_back_at=LOOK_BACK_AT,
        ),
        trace=tuple(entry for *_, entry in sorted(acc.trace, key=lambda t: (t[0], t[1]))),
    )


def _apply(
    acc: _Acc,
    loaded: LoadedRule,
    static: _Static,
    case: dict[str, Any],
    item: dict[str, Any] | None,
    proposal: Proposal,
) -> None:
    then = loaded.rule.then
    because = render(loaded.rule.because, case, item)
    matched = {name: _value(case if is_case else (item or {}), key) for name, is_case, key in static.used}
    entry = TraceEntry.build(rule=static.rule_id, ruleset=static.ruleset, because=matched)
    acc.trace.append((static.rule_id, item["id"] if item else "", entry))  # item ids are canonical
    prompt_id = None
    if static.prompt is not None:
        prompt_id = static.prompt.id
        if prompt_id not in acc.prompts:
            acc.prompts[prompt_id] = (static.position, _filled(static.prompt, case))
        for tension in static.prompt.tensions:
            acc.tension_prompts.setdefault(tension, set()).add(prompt_id)
    for principle in then.supports:
        acc.supports.setdefault(principle, []).append(because)
    for principle in then.gap:
        acc.gaps.setdefault(principle, []).append(because)
    for tension in then.tension:
        acc.tensions.setdefault(tension, []).append(because)
        acc.tension_prompts.setdefault(tension, set()).update({prompt_id} if prompt_id else set())
    if then.mitigation is not None:
        _mitigation(acc, static.rule_id, then.mitigation, proposal, static.source)
    if then.knowledge is not None and static.knowledge_source is not None:
        k = then.knowledge
        known = acc.knowledge.setdefault(k.id or static.rule_id, (k, static.knowledge_source, []))
        known[2].append(because)
    if then.benefit is not None:
        acc.benefits.append(then.benefit.text)
    if then.living_your_life is not None:
        acc.living.append((then.living_your_life.everyday, then.living_your_life.note))


def _filled(prompt: Prompt, case: dict[str, Any]) -> Prompt:
    """The prompt with any ``{case.field}`` placeholders filled in (loader allows only case fields)."""
    if "{" not in prompt.to_practitioner and "{" not in prompt.to_person:
        return prompt
    texts = {
        "to_practitioner": render(prompt.to_practitioner, case, None),
        "to_person": render(prompt.to_person, case, None),
    }
    return prompt.model_copy(update=texts)


def _value(fact: dict[str, Any], key: str) -> Any:
    found = fact.get(key)
    return "not recorded" if found is None else found


def render(text: str, case: dict[str, Any], item: dict[str, Any] | None) -> str:
    """Fill ``{scope.field}`` placeholders from the matched facts."""
    if "{" not in text:
        return text

    def value(match: re.Match[str]) -> str:
        return _show(_lookup(match.group(1), match.group(2), case, item))

    return _PLACEHOLDER.sub(value, text)


def _lookup(scope: str, name: str, case: dict[str, Any], item: dict[str, Any] | None) -> Any:
    fact = case if scope in CASE_SCOPES else (item or {})
    return fact.get(fact_key(scope, name))


def _show(value: Any) -> str:
    if value is None:
        return "not recorded"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value).replace("_", " ")


def _source_ref(source: Source) -> SourceRef:
    return SourceRef.build(
        title=source.title, seed=source.seed, citation=source.citation, url=source.url,
        section=source.section, checked=source.checked, review_by=source.review_by,
    )  # fmt: skip


def _mitigation(acc: _Acc, rule_id: str, m: Any, proposal: Proposal, source: SourceRef) -> None:
    draws_on = list(m.draws_on)
    if m.draws_on_strengths:
        draws_on.extend(sorted(set(proposal.person.strengths)))
    item = MitigationItem.build(
        id=m.id or rule_id, text=m.text, addresses=m.addresses, suggested_owner=m.suggested_owner,
        draws_on=tuple(dict.fromkeys(draws_on)), source=source,
    )  # fmt: skip
    acc.mitigations.setdefault(item.id, item)


def _knowledge(acc: _Acc, proposal: Proposal) -> tuple[KnowledgeItem, ...]:
    items = []
    for item_id, (k, source, because) in acc.knowledge.items():
        if proposal.jurisdiction not in k.jurisdictions:
            _local_rules_prompt(acc, item_id, k, source, proposal)
            continue
        ref = _source_ref(source)
        if k.section:
            ref = ref.model_copy(update={"section": k.section})
        stale = bool(source.review_by and proposal.as_of > source.review_by)
        items.append(KnowledgeItem.build(
            id=item_id, topic=k.topic, text=k.text, applies_because=tuple(dict.fromkeys(because)),
            weight=k.weight, jurisdictions=k.jurisdictions, source=ref, stale=stale,
        ))  # fmt: skip
    return tuple(items)


def _local_rules_prompt(acc: _Acc, item_id: str, k: KnowledgeOut, source: Source, proposal: Proposal) -> None:
    checked = ", ".join(j.replace("_", " ").title() for j in k.jurisdictions)
    here = proposal.jurisdiction.replace("_", " ").title()
    prompt = Prompt.build(
        id=f"local-rules.{item_id}",
        stage="option_talk",
        to_practitioner=(
            f"riskengine's note on {k.topic} has been checked for {checked} only. "
            f"Check what applies in {here} before relying on it."
        ),
        to_person=f"The rules about {k.topic} can be different where you live. We will check what applies to you.",
        principles=("felton.2",),
        tensions=(),
        source=_source_ref(source),
    )
    acc.prompts.setdefault(prompt.id, ((10_000, item_id), prompt))


def _principles(acc: _Acc) -> tuple[Principle, ...]:
    out = []
    for pid in PRINCIPLES:
        supports = tuple(dict.fromkeys(acc.supports.get(pid, [])))
        gaps = tuple(dict.fromkeys(acc.gaps.get(pid, [])))
        status = "not_yet_evident" if not supports else ("partly_evident" if gaps else "evident")
        prompts = sorted(p.id for _, p in acc.prompts.values() if pid in p.principles)
        out.append(
            Principle.build(
                id=cast("PrincipleId", pid),
                status=cast("PrincipleStatus", status),
                because=supports,
                gaps=gaps,
                prompts=tuple(prompts),
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
