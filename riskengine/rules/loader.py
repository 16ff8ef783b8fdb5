"""Load rulesets: parse → shape → semantics → compile, collecting every problem.

Rulesets load from one or more directories (shipped first, then local overlays).
Any ruleset may switch off rules of another by id with a reason (``disable:``);
what was switched off, by whom and why is kept for the evaluation's provenance.

Sources come from ``sources.yaml`` files (the shipped one, and one at the top of each
directory loaded): each source is defined once and rulesets cite it by id. A ruleset's
``applies_when`` conditions hold for every rule in it: they are compiled in front of
each rule's own and kept apart in the IR as the rule's ``gate``.

Rule ids are global: the same id in two rulesets (two organisations' overlays, say) is
an error at the second, naming where the first is, never a silent shadowing.

May import: errors, documents, read, rules.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from riskengine.documents.evaluation import DisabledRule, RulesetRef
from riskengine.documents.ruleset import SOURCES_FILE, Citation, Rule, Ruleset, Source, SourceLibrary
from riskengine.documents.vocab import NETWORK_KINDS
from riskengine.errors import Diagnostic, InputError, Location, RulesetError, Severity, at_most, closest
from riskengine.read import cache
from riskengine.read.shape import validate_model
from riskengine.read.source import Document, SourceMap, YamlPath, dotted, read_document
from riskengine.rules.conditions import CompiledConditions, Unresolved, compile_conditions, resolve_field
from riskengine.rules.fields import CASE_SCOPES, PHASE2_SCOPES
from riskengine.rules.ir import CompiledRule, Predicate, Program
from riskengine.rules.shipped import default_rulesets_dir, origin_of
from riskengine.rules.templates import placeholder_names

__all__ = [
    "LoadedRule",
    "LoadedRuleset",
    "RuleBook",
    "SharedSource",
    "find_files",
    "load_library",
    "load_rulebook",
]

_RULE_FILE = re.compile(r".*\.ya?ml$")


@dataclass(frozen=True, slots=True)
class LoadedRuleset:
    """A ruleset file that loaded, with where it came from and its hash."""

    model: Ruleset
    path: str
    origin: str
    sha256: str
    source: SourceMap
    cited: tuple[Source, ...] = ()  # its sources, citations resolved, each under the name its rules use

    def cited_source(self, name: str) -> Source:
        """The source this ruleset's rules call ``name`` (the loader has checked it exists)."""
        return next(s for s in self.cited if s.id == name)

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


@dataclass(frozen=True, slots=True)
class SharedSource:
    """A source defined in a ``sources.yaml``, with where."""

    model: Source
    location: Location


def find_files(paths: Iterable[Path | str], *, tests: bool) -> list[Path]:
    """Ruleset files (or, with ``tests``, their ``*.test.yaml`` files) under ``paths``.

    ``sources.yaml`` is the shared sources, not a ruleset: it is never listed.
    """
    found: list[Path] = []
    for root in map(Path, paths):
        candidates = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in candidates:
            if (
                path.is_file()
                and _RULE_FILE.match(path.name)
                and path.name != SOURCES_FILE
                and path.name.endswith((".test.yaml", ".test.yml")) == tests
            ):
                found.append(path)
    return found


def _library_files(paths: Sequence[Path | str]) -> list[Path]:
    """The shipped ``sources.yaml``, then one at the top of each directory or named directly,
    each text once."""
    candidates = [default_rulesets_dir() / SOURCES_FILE]
    for path in map(Path, paths):
        candidates.append(path / SOURCES_FILE if path.is_dir() else path)
    unique = {_digest(p): p for p in candidates if p.name == SOURCES_FILE and p.is_file()}
    return list(unique.values())


def _digest(path: Path) -> str:
    """What makes two library files the same one: their bytes, wherever they are (a copy of the
    shipped rulesets folder brings a copy of the shipped sources, which is not a second definition)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return str(path.resolve())


def load_library(paths: Sequence[Path | str], problems: list[Diagnostic]) -> dict[str, SharedSource]:
    """Every shared source the rulesets under ``paths`` may cite, by id; problems are appended."""
    library: dict[str, SharedSource] = {}
    for path in _library_files(paths):
        try:
            document = _read_ruleset_file(path)
        except InputError as exc:
            problems.extend(exc.diagnostics)
            continue
        model, shape_problems = validate_model(SourceLibrary, document.data, document.source)
        problems.extend(shape_problems)
        for i, source in enumerate(model.sources if model else ()):
            where = document.source.locate(("sources", i, "id"))
            first = library.setdefault(source.id, SharedSource(source, where))
            if first.location != where:
                message = f"source id '{source.id}' is already defined at {first.location}"
                problems.append(Diagnostic(where, "duplicate-id", dotted(("sources", i, "id")), message))
    return library


def load_rulebook(directories: Sequence[Path | str]) -> RuleBook:
    """Load every ruleset under ``directories``; raise :class:`RulesetError` listing all problems."""
    problems: list[Diagnostic] = []
    loaded: list[LoadedRuleset] = []
    library = load_library(directories, problems)
    for directory in directories:
        if not Path(directory).exists():
            problems.append(
                Diagnostic(Location(str(directory)), "not-found", "", "no such file or directory")
            )
            continue
        for path in find_files([directory], tests=False):
            ruleset = _load_file(path, library, problems)
            if ruleset is not None:
                loaded.append(ruleset)
    if not loaded and not problems:
        where = ", ".join(map(str, directories))
        problems.append(Diagnostic(Location(where), "no-rulesets", "", "no ruleset files found"))
    problems.extend(_check_unique_rulesets(loaded))
    book = _semantics(loaded, problems)
    if any(p.severity is Severity.ERROR for p in problems):
        errors = [p for p in problems if p.severity is Severity.ERROR]
        raise RulesetError(at_most(errors, Location(", ".join(map(str, directories)))))
    return replace(book, warnings=tuple(problems)) if problems else book


def _load_file(
    path: Path, library: dict[str, SharedSource], problems: list[Diagnostic]
) -> LoadedRuleset | None:
    try:
        document = _read_ruleset_file(path)
    except InputError as exc:
        problems.extend(exc.diagnostics)
        return None
    model, shape_problems = validate_model(Ruleset, document.data, document.source)
    problems.extend(shape_problems)
    if model is None:
        return None
    cited = _cited(model, document.source, library, problems)
    return _loaded(model, document, path, cited)


def _read_ruleset_file(path: Path) -> Document:
    """Read a ruleset or ``sources.yaml``: the one kind of file whose parse may be cached."""
    with cache.for_rulesets():
        return read_document(path)


def _loaded(model: Ruleset, document: Document, path: Path, cited: tuple[Source, ...]) -> LoadedRuleset:
    digest = hashlib.sha256(document.text.encode("utf-8")).hexdigest()
    origin = origin_of(path, digest, model.origin)
    return LoadedRuleset(model, document.source.path, origin, digest, document.source, cited)


def _cited(
    model: Ruleset, source: SourceMap, library: dict[str, SharedSource], problems: list[Diagnostic]
) -> tuple[Source, ...]:
    """The ruleset's sources under the names its rules use: citations resolved in the library."""
    out: dict[str, Source] = {}
    for i, entry in enumerate(model.sources):
        if entry.id in out:
            where = source.locate(("sources", i, "id"))
            message = f"source '{entry.id}' is listed twice in this ruleset"
            problems.append(Diagnostic(where, "duplicate-id", dotted(("sources", i, "id")), message))
            continue
        resolved = entry if isinstance(entry, Source) else _resolve(entry, i, source, library, problems)
        if resolved is not None:
            out[entry.id] = resolved
    return tuple(out.values())


def _resolve(
    citation: Citation,
    i: int,
    source: SourceMap,
    library: dict[str, SharedSource],
    problems: list[Diagnostic],
) -> Source | None:
    """The shared source a citation names, narrowed to the part cited and when it was checked."""
    if citation.cites and citation.id in library and citation.id != citation.cites:
        path: YamlPath = ("sources", i, "id")
        message = (
            f"'{citation.id}' is the id of another source in {SOURCES_FILE}; name this citation differently"
        )
        problems.append(Diagnostic(source.locate(path), "duplicate-id", dotted(path), message))
        return None
    shared = library.get(citation.library_id)
    if shared is None:
        path = ("sources", i, "cites" if citation.cites else "id")
        message = f"no source '{citation.library_id}' in {SOURCES_FILE}"
        hint = closest(citation.library_id, sorted(library))
        problems.append(Diagnostic(source.locate(path), "unknown-source", dotted(path), message, hint=hint))
        return None
    narrowed = {k: getattr(citation, k) for k in ("section", "checked", "review_by") if getattr(citation, k)}
    return shared.model.model_copy(update={"id": citation.id, **narrowed})


def _check_unique_rulesets(loaded: list[LoadedRuleset]) -> list[Diagnostic]:
    seen: dict[str, LoadedRuleset] = {}
    problems = []
    for ruleset in loaded:
        first = seen.setdefault(ruleset.model.id, ruleset)
        if first is not ruleset:
            message = f"ruleset id '{ruleset.model.id}' is already used by {first.path}"
            problems.append(_diag(ruleset, ("id",), "duplicate-id", message))
    return problems


def _diag(ruleset: LoadedRuleset, path: YamlPath, code: str, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic(ruleset.source.locate(path), code, dotted(path), message, hint=hint)


def _semantics(loaded: list[LoadedRuleset], problems: list[Diagnostic]) -> RuleBook:
    owners = _rule_owners(loaded, problems)
    disabled = _disabled(loaded, owners, problems)
    problems.extend(_check_outcome_ids(loaded))
    off = {d.rule for d in disabled}
    rules: list[LoadedRule] = []
    compiled: list[CompiledRule] = []
    for ruleset in loaded:
        gate = _gate(ruleset, problems)
        for i, rule in enumerate(ruleset.model.rules):
            if rule.id in off or owners.get(rule.id, (None, -1))[0] is not ruleset:
                continue
            result = _compile_rule(ruleset, gate, i, rule, len(compiled), problems)
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


def _rule_owners(
    loaded: list[LoadedRuleset], problems: list[Diagnostic]
) -> dict[str, tuple[LoadedRuleset, int]]:
    """Each rule id's ruleset and position; a second use of an id is an error naming the first."""
    owners: dict[str, tuple[LoadedRuleset, int]] = {}
    for ruleset in loaded:
        for i, rule in enumerate(ruleset.model.rules):
            if rule.id not in owners:
                owners[rule.id] = (ruleset, i)
                continue
            first, j = owners[rule.id]
            where = first.source.locate(("rules", j, "id"))
            message = f"rule id '{rule.id}' is already used in ruleset '{first.model.id}' at {where}"
            hint = "rule ids are shared by every ruleset loaded: start yours with your ruleset's id"
            at = ruleset.source.locate(("rules", i, "id"))
            problems.append(Diagnostic(at, "duplicate-id", dotted(("rules", i, "id")), message, hint=hint))
    return owners


def _gate(ruleset: LoadedRuleset, problems: list[Diagnostic]) -> CompiledConditions:
    """The ruleset's ``applies_when``, compiled once: case tests every one of its rules shares."""
    gate, found = compile_conditions(
        ruleset.model.applies_when, None, ("applies_when",), ruleset.source, gate=True
    )
    problems.extend(found)
    return gate


def _disabled(
    loaded: list[LoadedRuleset],
    owners: dict[str, tuple[LoadedRuleset, int]],
    problems: list[Diagnostic],
) -> list[DisabledRule]:
    out: list[DisabledRule] = []
    for ruleset in loaded:
        for i, entry in enumerate(ruleset.model.disable):
            if entry.rule not in owners:
                message = f"no rule '{entry.rule}' to disable"
                hint = closest(entry.rule, list(owners))
                problems.append(_diag(ruleset, ("disable", i, "rule"), "unknown-rule", message, hint))
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
    ruleset: LoadedRuleset,
    gate: CompiledConditions,
    i: int,
    rule: Rule,
    index: int,
    problems: list[Diagnostic],
) -> tuple[LoadedRule, CompiledRule] | None:
    base: YamlPath = ("rules", i)
    before = len(problems)
    sources = _sources(ruleset, rule, base, problems)
    _check_outcomes(ruleset, rule, base, problems)
    _check_templates(ruleset, rule, base, problems)
    tests, found = compile_conditions(rule.when, rule.for_each, (*base, "when"), ruleset.source)
    problems.extend(found)
    if any(p.severity is Severity.ERROR for p in problems[before:]):
        return None
    gated: tuple[Predicate, ...] = tuple(gate.case)
    case = (*gated, *(t for t in tests.case if t not in gated))
    compiled = CompiledRule(index, rule.id, ruleset.ref, rule.for_each, case, tuple(tests.item), gated)
    # The trace names the gate's fields first, unless the rule restates them where it tests them.
    used = tuple(dict.fromkeys([*(f for f in gate.used if f not in tests.used), *tests.used]))
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
    by_id = {s.id: s for s in ruleset.cited}
    names = [e.id for e in ruleset.model.sources]
    found = []
    for j, source_id in enumerate(rule.source):
        if source_id in by_id:
            found.append(by_id[source_id])
        elif source_id not in names:  # a listed source that did not resolve is reported where it is listed
            message = f"no source '{source_id}' in this ruleset's sources"
            hint = closest(source_id, names)
            problems.append(_diag(ruleset, (*base, "source", j), "unknown-source", message, hint))
    return tuple(found)


def _check_outcomes(ruleset: LoadedRuleset, rule: Rule, base: YamlPath, problems: list[Diagnostic]) -> None:
    by_id = {s.id: s for s in ruleset.cited}
    names = [e.id for e in ruleset.model.sources]
    knowledge = rule.then.knowledge
    if knowledge is not None:
        where = (*base, "then", "knowledge", "source")
        source = by_id.get(knowledge.source)
        if source is None and knowledge.source not in names:
            hint = closest(knowledge.source, names)
            problems.append(_diag(ruleset, where, "unknown-source", f"no source '{knowledge.source}'", hint))
        elif source is not None and not (
            source.checked and source.review_by and (source.url or source.citation)
        ):
            message = f"knowledge needs a source with url or citation, checked and review_by; '{source.id}' lacks one"
            problems.append(_diag(ruleset, where, "unsourced-knowledge", message))
    need = rule.then.safety_net_need
    for j, kind in enumerate(need.kinds or () if need else ()):
        if kind not in NETWORK_KINDS:
            where = (*base, "then", "safety_net_need", "kinds", j)
            message = f"'{kind}' is not a relationship kind"
            problems.append(_diag(ruleset, where, "unknown-value", message, closest(kind, NETWORK_KINDS)))


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
            if isinstance(resolved, Unresolved):
                message = f"placeholder {{{name}}}: {resolved.message}"
                problems.append(_diag(ruleset, path, "unknown-field", message, resolved.hint))
            elif in_prompt and resolved[0] not in CASE_SCOPES and resolved[0] != "safety_net":
                message = f"placeholder {{{name}}}: a prompt is shown once, so it may name only case fields (put item fields in `because`)"
                problems.append(_diag(ruleset, path, "bad-template", message))
        if text.count("{") != text.count("}"):
            problems.append(_diag(ruleset, path, "bad-template", "unbalanced { } in text"))
