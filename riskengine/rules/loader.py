"""Load rulesets: parse → shape → semantics → compile, collecting every problem.

Rulesets load from one or more directories (shipped first, then local overlays).
Any ruleset may switch off rules of another by id with a reason (``disable:``);
what was switched off, by whom and why is kept for the evaluation's provenance.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from riskengine.documents.evaluation import DisabledRule, RulesetRef
from riskengine.documents.ruleset import Rule, Ruleset, Source
from riskengine.documents.vocab import NETWORK_KINDS
from riskengine.errors import Diagnostic, InputError, Location, RulesetError, did_you_mean
from riskengine.read.shape import validate_model
from riskengine.read.source import Document, SourceMap, YamlPath, dotted, read_document
from riskengine.rules.conditions import compile_conditions, resolve_field
from riskengine.rules.fields import CASE_SCOPES, PHASE2_SCOPES
from riskengine.rules.ir import CompiledRule, Program
from riskengine.rules.shipped import origin_of
from riskengine.rules.templates import placeholder_names

__all__ = ["LoadedRule", "LoadedRuleset", "RuleBook", "find_files", "load_rulebook"]

_RULE_FILE = re.compile(r".*\.ya?ml$")


@dataclass(frozen=True, slots=True)
class LoadedRuleset:
    """A ruleset file that loaded, with where it came from and its hash."""

    model: Ruleset
    path: str
    origin: str
    sha256: str
    source: SourceMap

    @property
    def ref(self) -> str:
        """``id@version``, as the trace names it."""
        return f"{self.model.id}@{self.model.version}"

    def provenance(self) -> RulesetRef:
        """The provenance entry for this ruleset."""
        return RulesetRef(
            id=self.model.id, version=self.model.version, sha256=self.sha256, origin=self.origin
        )


@dataclass(frozen=True, slots=True)
class LoadedRule:
    """An enabled rule with its ruleset, its sources and the fields it tests."""

    rule: Rule
    ruleset: LoadedRuleset
    sources: tuple[Source, ...]
    used_fields: tuple[str, ...]
    position: int
    phase: int = 1


@dataclass(frozen=True, slots=True)
class RuleBook:
    """Everything loaded: rulesets, enabled rules and the two programs.

    ``program`` holds the first-phase rules; ``late_program`` the second-phase
    rules, which test the safety-net analysis (``safety_net.*``, ``need.*``).
    ``rules`` lists first-phase rules, then second-phase ones, so a firing's
    index into ``rules`` is its index in ``program``, or ``len(program.rules)``
    plus its index in ``late_program``.
    """

    rulesets: tuple[LoadedRuleset, ...]
    rules: tuple[LoadedRule, ...]
    disabled: tuple[DisabledRule, ...]
    program: Program
    late_program: Program = field(default_factory=lambda: Program((), ""))
    warnings: tuple[Diagnostic, ...] = ()  # worth a look, not errors (e.g. a value that never matches)


def find_files(paths: Iterable[Path | str], *, tests: bool) -> list[Path]:
    """Ruleset files (or, with ``tests``, their ``*.test.yaml`` files) under ``paths``."""
    found: list[Path] = []
    for root in map(Path, paths):
        candidates = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in candidates:
            if (
                path.is_file()
                and _RULE_FILE.match(path.name)
                and path.name.endswith((".test.yaml", ".test.yml")) == tests
            ):
                found.append(path)
    return found


def load_rulebook(directories: Sequence[Path | str]) -> RuleBook:
    """Load every ruleset under ``directories``; raise :class:`RulesetError` listing all problems."""
    problems: list[Diagnostic] = []
    loaded: list[LoadedRuleset] = []
    for directory in directories:
        if not Path(directory).exists():
            problems.append(
                Diagnostic(Location(str(directory)), "not-found", "", "no such file or directory")
            )
            continue
        origin = origin_of(Path(directory))
        for path in find_files([directory], tests=False):
            ruleset = _load_file(path, origin, problems)
            if ruleset is not None:
                loaded.append(ruleset)
    if not loaded and not problems:
        where = ", ".join(map(str, directories))
        problems.append(Diagnostic(Location(where), "no-rulesets", "", "no ruleset files found"))
    problems.extend(_check_unique_rulesets(loaded))
    book = _semantics(loaded, problems)
    if any(p.severity == "error" for p in problems):
        raise RulesetError(problems)
    return replace(book, warnings=tuple(problems)) if problems else book


def _load_file(path: Path, origin: str, problems: list[Diagnostic]) -> LoadedRuleset | None:
    try:
        document = read_document(path)
    except InputError as exc:
        problems.extend(exc.diagnostics)
        return None
    model, shape_problems = validate_model(Ruleset, document.data, document.source)
    problems.extend(shape_problems)
    if model is None:
        return None
    return _loaded(model, document, origin)


def _loaded(model: Ruleset, document: Document, origin: str) -> LoadedRuleset:
    digest = hashlib.sha256(document.text.encode("utf-8")).hexdigest()
    return LoadedRuleset(model, document.source.path, origin, digest, document.source)


def _check_unique_rulesets(loaded: list[LoadedRuleset]) -> list[Diagnostic]:
    seen: dict[str, LoadedRuleset] = {}
    problems = []
    for ruleset in loaded:
        first = seen.setdefault(ruleset.model.id, ruleset)
        if first is not ruleset:
            message = f"ruleset id '{ruleset.model.id}' is already used by {first.path}"
            problems.append(_diag(ruleset, ("id",), "duplicate-id", message))
    return problems


def _diag(ruleset: LoadedRuleset, path: YamlPath, code: str, message: str) -> Diagnostic:
    return Diagnostic(ruleset.source.locate(path), code, dotted(path), message)


def _semantics(loaded: list[LoadedRuleset], problems: list[Diagnostic]) -> RuleBook:
    owners: dict[str, tuple[LoadedRuleset, int]] = {}
    for ruleset in loaded:
        for i, rule in enumerate(ruleset.model.rules):
            if rule.id in owners:
                first = owners[rule.id][0]
                message = f"rule id '{rule.id}' is already used in {first.path}"
                problems.append(_diag(ruleset, ("rules", i, "id"), "duplicate-id", message))
            else:
                owners[rule.id] = (ruleset, i)
    disabled = _disabled(loaded, owners, problems)
    problems.extend(_check_outcome_ids(loaded))
    rules: list[LoadedRule] = []
    compiled: list[CompiledRule] = []
    for ruleset in loaded:
        for i, rule in enumerate(ruleset.model.rules):
            if rule.id in {d.rule for d in disabled} or owners.get(rule.id, (None, -1))[0] is not ruleset:
                continue
            result = _compile_rule(ruleset, i, rule, len(compiled), problems)
            if result is not None:
                rules.append(result[0])
                compiled.append(result[1])
    fingerprint = hashlib.sha256(
        "|".join([r.sha256 for r in loaded] + [d.rule for d in disabled]).encode()
    ).hexdigest()
    early = [(r, c) for r, c in zip(rules, compiled, strict=True) if r.phase == 1]
    late = [(r, c) for r, c in zip(rules, compiled, strict=True) if r.phase == 2]
    program = Program(tuple(replace(c, index=i) for i, (_, c) in enumerate(early)), fingerprint)
    late_fingerprint = hashlib.sha256(f"{fingerprint}:phase2".encode()).hexdigest()
    late_program = Program(tuple(replace(c, index=i) for i, (_, c) in enumerate(late)), late_fingerprint)
    ordered = tuple(r for r, _ in early + late)
    disabled_sorted = tuple(sorted(disabled, key=lambda d: d.rule))
    return RuleBook(tuple(loaded), ordered, disabled_sorted, program, late_program)


def _disabled(
    loaded: list[LoadedRuleset],
    owners: dict[str, tuple[LoadedRuleset, int]],
    problems: list[Diagnostic],
) -> list[DisabledRule]:
    out: list[DisabledRule] = []
    for ruleset in loaded:
        for i, entry in enumerate(ruleset.model.disable):
            if entry.rule not in owners:
                message = f"no rule '{entry.rule}' to disable{did_you_mean(entry.rule, list(owners))}"
                problems.append(_diag(ruleset, ("disable", i, "rule"), "unknown-rule", message))
                continue
            target = owners[entry.rule][0]
            out.append(DisabledRule(rule=entry.rule, ruleset=target.ref, by=ruleset.ref, reason=entry.reason))
    return out


def _check_outcome_ids(loaded: list[LoadedRuleset]) -> list[Diagnostic]:
    """Explicit prompt, mitigation and knowledge ids must not collide with another item's."""
    seen: dict[tuple[str, str], str] = {}
    problems = []
    for ruleset in loaded:
        for i, rule in enumerate(ruleset.model.rules):
            for kind in ("prompt", "mitigation", "knowledge"):
                item = getattr(rule.then, kind)
                if item is None:
                    continue
                item_id = item.id or rule.id
                first = seen.setdefault((kind, item_id), rule.id)
                if first != rule.id:
                    message = f"{kind} id '{item_id}' is also produced by rule '{first}'"
                    problems.append(_diag(ruleset, ("rules", i, "then", kind), "duplicate-id", message))
    return problems


def _compile_rule(
    ruleset: LoadedRuleset, i: int, rule: Rule, index: int, problems: list[Diagnostic]
) -> tuple[LoadedRule, CompiledRule] | None:
    base: YamlPath = ("rules", i)
    before = len(problems)
    sources = _sources(ruleset, rule, base, problems)
    _check_outcomes(ruleset, rule, base, problems)
    _check_templates(ruleset, rule, base, problems)
    tests, found = compile_conditions(rule.when, rule.for_each, (*base, "when"), ruleset.source)
    problems.extend(found)
    if any(p.severity == "error" for p in problems[before:]):
        return None
    compiled = CompiledRule(index, rule.id, ruleset.ref, rule.for_each, tuple(tests.case), tuple(tests.item))
    used = tuple(dict.fromkeys(tests.used))
    phase = _phase(ruleset, rule, base, used, problems)
    if phase is None:
        return None
    return LoadedRule(rule, ruleset, sources, used, i, phase), compiled


def _phase(
    ruleset: LoadedRuleset, rule: Rule, base: YamlPath, used: tuple[str, ...], problems: list[Diagnostic]
) -> int | None:
    """2 when the rule tests or names the safety-net analysis; such a rule may not declare a need."""
    named = [*used, *(n for _, text in _templates(rule) for n in placeholder_names(text))]
    late = [n for n in named if n.partition(".")[0] in PHASE2_SCOPES]
    if rule.for_each in PHASE2_SCOPES:
        late.insert(0, f"for_each: {rule.for_each}")
    if not late:
        return 1
    if rule.then.safety_net_need is not None:
        message = (
            f"this rule reads the safety-net analysis ({late[0]}), so it runs after needs are "
            "matched and cannot declare a safety_net_need; move the need to a rule that does not"
        )
        problems.append(_diag(ruleset, (*base, "then", "safety_net_need"), "need-cycle", message))
        return None
    return 2


def _sources(
    ruleset: LoadedRuleset, rule: Rule, base: YamlPath, problems: list[Diagnostic]
) -> tuple[Source, ...]:
    by_id = {s.id: s for s in ruleset.model.sources}
    found = []
    for j, source_id in enumerate(rule.source):
        if source_id in by_id:
            found.append(by_id[source_id])
        else:
            message = (
                f"no source '{source_id}' in this ruleset's sources{did_you_mean(source_id, list(by_id))}"
            )
            problems.append(_diag(ruleset, (*base, "source", j), "unknown-source", message))
    return tuple(found)


def _check_outcomes(ruleset: LoadedRuleset, rule: Rule, base: YamlPath, problems: list[Diagnostic]) -> None:
    by_id = {s.id: s for s in ruleset.model.sources}
    knowledge = rule.then.knowledge
    if knowledge is not None:
        where = (*base, "then", "knowledge", "source")
        source = by_id.get(knowledge.source)
        if source is None:
            hint = did_you_mean(knowledge.source, list(by_id))
            problems.append(_diag(ruleset, where, "unknown-source", f"no source '{knowledge.source}'{hint}"))
        elif not (source.checked and source.review_by and (source.url or source.citation)):
            message = f"knowledge needs a source with url or citation, checked and review_by; '{source.id}' lacks one"
            problems.append(_diag(ruleset, where, "unsourced-knowledge", message))
    need = rule.then.safety_net_need
    for j, kind in enumerate(need.kinds or () if need else ()):
        if kind not in NETWORK_KINDS:
            where = (*base, "then", "safety_net_need", "kinds", j)
            message = f"'{kind}' is not a relationship kind{did_you_mean(kind, NETWORK_KINDS)}"
            problems.append(_diag(ruleset, where, "unknown-value", message))


def _templates(rule: Rule) -> list[tuple[YamlPath, str]]:
    """Texts that may name facts in braces, with where they are in the rule."""
    texts: list[tuple[YamlPath, str]] = [(("because",), rule.because)]
    if rule.then.safety_net_need is not None:
        texts.append((("then", "safety_net_need", "why"), rule.then.safety_net_need.why))
    if rule.then.prompt is not None:
        for voice in ("to_practitioner", "to_person"):
            texts.append((("then", "prompt", voice), getattr(rule.then.prompt, voice)))
    return texts


def _check_templates(ruleset: LoadedRuleset, rule: Rule, base: YamlPath, problems: list[Diagnostic]) -> None:
    for where, text in _templates(rule):
        path = (*base, *where)
        in_prompt = where[:2] == ("then", "prompt")
        for name in placeholder_names(text):
            resolved = resolve_field(name, rule.for_each)
            if isinstance(resolved, str):
                problems.append(_diag(ruleset, path, "unknown-field", f"placeholder {{{name}}}: {resolved}"))
            elif in_prompt and resolved[0] not in CASE_SCOPES and resolved[0] != "safety_net":
                message = f"placeholder {{{name}}}: a prompt is shown once, so it may name only case fields (put item fields in `because`)"
                problems.append(_diag(ruleset, path, "bad-template", message))
        if text.count("{") != text.count("}"):
            problems.append(_diag(ruleset, path, "bad-template", "unbalanced { } in text"))
