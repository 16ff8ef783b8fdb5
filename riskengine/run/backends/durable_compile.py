"""Compile the IR to durable-rules' JSON rulesets, packed into shards within its limits.

Pure Python: nothing here imports durable-rules, so the compiled form can be checked (by the
alpha-network model, :mod:`riskengine.run.backends.alpha`) before the C engine ever sees it.
The adapter (:mod:`riskengine.run.backends.durable`) creates, runs and retires the shards.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from riskengine.errors import RuleRefused, RulesetError
from riskengine.rules.fields import CASE_SCOPES, FIELDS, ITEM_SCOPES, fact_key
from riskengine.rules.ir import AnyOf, CompiledRule, Predicate, Program, Test, tests_of
from riskengine.run.backends.alpha import AlphaNetwork

__all__ = [
    "GATE_KEYS", "MAX_PROPERTIES", "MENTIONED", "SID", "STACK_BUDGET", "Compiled", "Shard",
    "check_properties", "fnv1a_32", "packed", "program_terms", "rule_definition", "shard_of",
]  # fmt: skip

# Alpha nodes one fact may leave pending in a shard, by the model (durable-rules allows 64;
# the model is an upper bound, found exact to within one by tests/test_alpha_model.py).
STACK_BUDGET = 60


MAX_PROPERTIES = 253  # per fact, including id, t and sid


SID = "1"  # the one session of every durable ruleset, reused run after run


_NEVER = "__riskengine_never__"


_CATCH_ALL = {"all": [{"a": {"$ex": {"t": 1}}}, {"b": {"t": _NEVER}}]}


_SENTINEL = {"all": [{"c": {"t": "case"}}]}


@dataclass(frozen=True, slots=True)
class Shard:
    name: str
    definition: str  # durable-rules' JSON; created in the engine the first time it runs
    scoped: frozenset[str]  # rule names whose matches carry an item fact
    keys: tuple[str, ...]  # fact properties its rules test, "id" and "t" first
    scopes: frozenset[str]  # item scopes its rules match
    opened_by: tuple[tuple[str, Any], ...]  # (case property, value) pairs that open it; empty: always runs
    mentions: tuple[tuple[str, frozenset[str]], ...] = ()  # text key -> terms its rules look for


@dataclass(frozen=True, slots=True)
class Compiled:
    """A program's shards, its ``mentions`` terms, and which shards run for which case."""

    shards: tuple[Shard, ...]
    terms: tuple[tuple[str, frozenset[str]], ...]
    always: tuple[int, ...]  # shard positions that run for every case
    opened: dict[tuple[str, Any], tuple[int, ...]]  # (case property, value) -> positions it opens

    def live(self, case: dict[str, Any]) -> list[Shard]:
        """The shards that can fire for ``case``: ungated ones and those its activity or categories open."""
        chosen = set(self.always)
        for key in GATE_KEYS:
            have = case.get(key)
            for value in have if isinstance(have, list) else (have,):
                chosen.update(self.opened.get((key, value), ()))
        return [self.shards[i] for i in sorted(chosen)]


def program_terms(shards: list[Shard]) -> tuple[tuple[str, frozenset[str]], ...]:
    """Every ``mentions`` term of a program, by text property (the union of its shards')."""
    wanted: dict[str, set[str]] = {}
    for shard in shards:
        for key, terms in shard.mentions:
            wanted.setdefault(key, set()).update(terms)
    return tuple((key, frozenset(terms)) for key, terms in sorted(wanted.items()))


def _mention_terms(rules: list[CompiledRule]) -> tuple[tuple[str, frozenset[str]], ...]:
    terms: dict[str, set[str]] = {}
    for rule in rules:
        for predicate in (*rule.case_tests, *rule.item_tests):
            for test in tests_of(predicate):
                if test.op == "mentions":
                    terms.setdefault(test.key, set()).update(test.value)
    return tuple((key, frozenset(found)) for key, found in sorted(terms.items()))


def packed(
    program: Program, definitions: dict[int, dict[str, Any]]
) -> list[tuple[tuple[Any, ...], list[CompiledRule]]]:
    """The program's rules in shards, each with the gate values that open it (none: always runs).

    Rules are grouped by gate, ungated rules first, and each group goes into as few
    shards as the alpha budget allows (each rule in the first shard it fits). A shard
    holds one gate only, so a session never carries rules that cannot fire.
    """
    check_properties()
    groups: dict[Test | None, list[CompiledRule]] = {}
    for rule in program.rules:
        groups.setdefault(_gate(rule), []).append(rule)
    packed = [
        (() if gate is None else _opening(gate), shard)
        for gate in sorted(groups, key=lambda g: (g is not None, repr(g)))
        for shard in _first_fit(groups[gate], definitions)
    ]
    return packed or [((), [])]


def _opening(gate: Test) -> tuple[tuple[str, Any], ...]:
    """The (case property, value) pairs that open a gate: the activity, or one of the categories."""
    values = (gate.value,) if gate.op in ("eq", "includes") else tuple(gate.value)
    return tuple((gate.key, value) for value in values)


def _first_fit(rules: list[CompiledRule], definitions: dict[int, dict[str, Any]]) -> list[list[CompiledRule]]:
    """Each rule in the first shard whose alpha network stays within the budget with it.

    A group that fits in one shard (most gated groups) is built once, without trials.
    """
    whole = AlphaNetwork.of({**_fixed_rules(), **{f"r{r.index}": definitions[r.index] for r in rules}})
    if not whole.limits.problems(STACK_BUDGET) and not whole.crowded():
        return [rules] if rules else []
    shards: list[tuple[AlphaNetwork, list[CompiledRule]]] = []
    for rule in rules:
        definition = definitions[rule.index]
        for network, members in shards:
            if network.fits(definition, STACK_BUDGET):
                members.append(rule)
                break
        else:
            network = AlphaNetwork.of(_fixed_rules())
            if not network.fits(definition, STACK_BUDGET):
                alone = AlphaNetwork.of({**_fixed_rules(), "rule": definition}).limits
                why = "; ".join(alone.problems(STACK_BUDGET)) or (
                    f"with riskengine's own two rules it would leave more than {STACK_BUDGET} alpha nodes pending"
                )
                raise RuleRefused(
                    rule.rule_id,
                    rule.ruleset,
                    f"is too wide for durable-rules: {why}. Split its long lists of values or words, "
                    "or its 'any' groups, into several rules, or use the reference backend",
                )
            shards.append((network, [rule]))
    return [members for _, members in shards]


def shard_of(
    name: str,
    members: list[CompiledRule],
    opened_by: tuple[tuple[str, Any], ...],
    definitions: dict[int, dict[str, Any]],
) -> Shard:
    """A shard of rules, with what its facts must carry."""
    tested = {t.key for r in members for p in (*r.case_tests, *r.item_tests) for t in tests_of(p)}
    mentions = _mention_terms(members)
    keys = ("id", "t", *sorted(tested - {"id", "t"}))
    _check_keys({*keys, *(key + MENTIONED for key, _ in mentions)})
    rules = {f"r{r.index}": definitions[r.index] for r in members}
    return Shard(
        name,
        orjson.dumps({**rules, **_fixed_rules()}).decode(),
        frozenset(f"r{r.index}" for r in members if r.scope is not None),
        keys,
        frozenset(r.scope for r in members if r.scope is not None),
        opened_by,
        mentions,
    )


MENTIONED = "__mentions"


def _check_keys(keys: set[str]) -> None:
    """A fact with these properties (plus ``sid``) fits durable's limit, and no two names share
    its 32-bit hash (D4)."""
    if len(keys | {"id", "t", "sid"}) > MAX_PROPERTIES:
        raise RulesetError(f"a fact would carry more than {MAX_PROPERTIES} properties")
    seen: dict[int, str] = {}
    for key in sorted(keys | {"sid"}):
        other = seen.setdefault(fnv1a_32(key), key)
        if other != key:
            raise RulesetError(f"fact properties '{other}' and '{key}' share a durable-rules hash")


GATE_KEYS = ("proposal__activity", "proposal__categories")


_GATES = frozenset(
    {("proposal__activity", "eq"), ("proposal__activity", "in"),
     ("proposal__categories", "includes"), ("proposal__categories", "includes_any")}
)  # fmt: skip


def _gate(rule: CompiledRule) -> Test | None:
    """The first case test of the activity or the categories: the rule cannot fire unless it holds."""
    return next((t for t in rule.case_tests if isinstance(t, Test) and (t.key, t.op) in _GATES), None)


def _fixed_rules() -> dict[str, dict[str, Any]]:
    """The catch-all (every fact is handled) and the once-per-session sentinel."""
    return {"noop": _CATCH_ALL, "sentinel": _SENTINEL}


def rule_definition(
    scope: str | None, case: tuple[Predicate, ...], item: tuple[Predicate, ...]
) -> dict[str, Any]:
    patterns: list[dict[str, Any]] = [{"c": _pattern("case", case)}]
    if scope is not None:
        patterns.append({"i": _pattern(scope, item)})
    return {"all": patterns}


def _pattern(fact_type: str, tests: tuple[Predicate, ...]) -> dict[str, Any]:
    exprs = [{"t": fact_type}, *(_expr(t) for t in tests)]
    return exprs[0] if len(exprs) == 1 else {"$and": exprs}


def _expr(predicate: Predicate) -> dict[str, Any]:
    if isinstance(predicate, AnyOf):
        return _either([_expr(t) for t in predicate.tests])
    return _test(predicate)


def _either(exprs: list[dict[str, Any]]) -> dict[str, Any]:
    return exprs[0] if len(exprs) == 1 else {"$or": exprs}


def _test(test: Test) -> dict[str, Any]:
    key, value = test.key, test.value
    simple = {"ne": "$neq", "ge": "$gte", "le": "$lte", "gt": "$gt", "lt": "$lt"}
    if test.op == "eq":
        return {key: value}
    if test.op in simple:
        return {simple[test.op]: {key: value}}
    if test.op == "in":
        return _either([{key: v} for v in value])
    if test.op == "not_in":
        parts = [{"$neq": {key: v}} for v in value]
        return parts[0] if len(parts) == 1 else {"$and": parts}
    if test.op == "includes":
        return {"$iany": {key: {"$i": value}}}
    if test.op == "includes_any":
        return _either([{"$iany": {key: {"$i": v}}} for v in value])
    if test.op == "excludes":  # never on an empty list: the fact builder leaves those out
        parts = [{"$iall": {key: {"$neq": {"$i": v}}}} for v in value]
        return parts[0] if len(parts) == 1 else {"$and": parts}
    if test.op == "mentions":
        return _either([{"$iany": {key + MENTIONED: {"$i": term}}} for term in value])
    if test.op == "recorded":
        return {"$ex": {key: 1}}
    if test.op == "missing":
        return {"$nex": {key: 1}}
    raise RulesetError(f"the durable adapter cannot compile operator '{test.op}'")


@lru_cache(maxsize=65536)
def fnv1a_32(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def check_properties() -> None:
    """The largest facts the schema allows (the case fact of either phase, each item scope) fit."""
    case = {fact_key(s, n) for s in CASE_SCOPES for n in FIELDS[s]}
    _check_keys(case)
    for scope in ITEM_SCOPES:
        _check_keys({fact_key(scope, n) for n in FIELDS[scope]})
