"""The durable-rules 2.0.28 adapter. The only module in riskengine that imports durable.

durable-rules is unmaintained and has real defects (``shared/reference/engine-anchors.md``
§1.4 to 1.7). This adapter drives its C Rete engine (``durable_rules_engine``) directly, in
the narrow way that is known to be safe, and never uses its Python ``Host``:

* no ``Host`` means no background dispatcher threads (which run deferred actions late
  and race with ``delete_state``: D2, D8) and no swallowed action errors: our own loop
  reads each match, so an error is ours and becomes :class:`BackendError`;
* exactly one live session per durable ruleset at a time, behind a process-wide lock,
  deleted after each run, so sessions never meet through their 32-bit hash (D3) nor
  reach the 1,024 limit;
* explicit fact ids, checked for distinct hashes (D4), so no content-hash identity and
  no "already observed" errors;
* the case (context) fact asserted before item facts; no negation is ever emitted;
* a never-firing catch-all join so no fact is "unhandled" (which would defer actions);
* a sentinel rule that fires once per session on the case fact: deleting a session in
  which no action ever ran frees uninitialised memory and segfaults (D5, seen here with
  a bare proposal), and a missing sentinel match exposes a broken run;
* no ``$and`` mixed with references to another fact (D1): rules never correlate;
* no ``$imt`` at all (D6, and durable's regex engine was most of its time here): for
  ``mentions``, each shard's facts carry which of its terms a text contains (the IR's own
  definition, :func:`~riskengine.ir.mentioned`), and rules test that list with ``$iany``;
* limits checked before ``create_ruleset``: at most :data:`MAX_RULES_PER_SHARD` rules
  per durable ruleset (64 simultaneous alpha matches per fact, 512 children per node),
  at most 253 properties per fact, no colliding property-name hashes (D4);
* a rule matched through two ``$or`` branches is reported once, as the IR requires;
* rules are grouped into shards by their *gate* (the activity or category test most
  pack rules start with), and a shard none of whose gates hold for the case is not
  run at all: an exact necessary condition, like a Rete alpha-memory index, checked
  with the reference semantics and covered by the parity tests.

The Python layer of durable-rules (``durable.engine``) costs about ten times the C
engine's own time per evaluation (a JSON round trip of the session state per action);
driving the C API keeps an evaluation of several hundred rules within a few milliseconds.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import durable_rules_engine as dre

from ..errors import BackendError, RulesetError
from ..facts import FactSet
from ..fields import CASE_SCOPES, FIELDS, ITEM_SCOPES, fact_key
from ..ir import AnyOf, CompiledRule, Firing, Predicate, Program, Test, holds, mentioned

__all__ = ["MAX_PROPERTIES", "MAX_RULES_PER_SHARD", "DurableBackend", "compile_program"]

MAX_RULES_PER_SHARD = 56  # well under 64 simultaneous alpha matches (with catch-all, sentinel)
MAX_PROPERTIES = 253  # per fact, including id, t and sid
_NEVER = "__riskengine_never__"
_CATCH_ALL = {"all": [{"a": {"$ex": {"t": 1}}}, {"b": {"t": _NEVER}}]}
_SENTINEL = {"all": [{"c": {"t": "case"}}]}


@dataclass(frozen=True, slots=True)
class _Shard:
    name: str
    definition: str  # durable-rules' JSON; created in the engine the first time it runs
    scoped: frozenset[str]  # rule names whose matches carry an item fact
    keys: frozenset[str]  # fact properties its rules test (plus id and t)
    scopes: frozenset[str]  # item scopes its rules match
    gates: tuple[Test, ...]  # empty: always run; else run only if one of these holds
    mentions: tuple[tuple[str, frozenset[str]], ...] = ()  # text key -> terms its rules look for


class _Registry:
    """The process's durable rulesets (shards), one per program chunk, and the session counter."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.shards: dict[str, list[_Shard]] = {}
        self.handles: dict[str, int] = {}
        self.terms: dict[str, tuple[tuple[str, frozenset[str]], ...]] = {}  # per program
        self.sid = 0


_REGISTRY = _Registry()


@contextmanager
def _mapped(what: str) -> Iterator[None]:
    """Translate every durable-rules failure into BackendError, keeping the cause."""
    try:
        yield
    except (dre.error, MemoryError, KeyError, TypeError, ValueError) as exc:
        raise BackendError(f"durable-rules failed while {what}: {exc}") from exc


class DurableBackend:
    """Run compiled rules on durable-rules' C engine, defensively."""

    name = "durable"

    def prepare(self, program: Program) -> None:
        """Check limits and compile the program's durable rulesets (once per process)."""
        with _REGISTRY.lock:
            _shards(program)

    def run(self, program: Program, facts: FactSet) -> tuple[Firing, ...]:
        """Assert the facts into a fresh session per shard and collect what fires."""
        batch = facts.all()
        if len({_fnv1a_32(f["id"]) for f in batch}) != len(batch):  # D4: ids compared by hash
            raise BackendError("two fact ids share a durable-rules hash")
        fired: set[Firing] = set()
        case = batch[0]
        with _REGISTRY.lock:
            shards = _shards(program)
            found = _found_terms(_REGISTRY.terms[program.fingerprint], batch)
            for shard in shards:
                if shard.gates and not any(holds(g, case) for g in shard.gates):
                    continue
                _REGISTRY.sid += 1
                sid = str(_REGISTRY.sid)
                fired.update(_run_shard(shard, _payload(shard, batch, found, sid), sid))
        return tuple(sorted(fired, key=lambda f: (f[0], f[1] or "")))


def _program_terms(shards: list[_Shard]) -> tuple[tuple[str, frozenset[str]], ...]:
    """Every ``mentions`` term of a program, by text property (the union of its shards')."""
    wanted: dict[str, set[str]] = {}
    for shard in shards:
        for key, terms in shard.mentions:
            wanted.setdefault(key, set()).update(terms)
    return tuple((key, frozenset(terms)) for key, terms in sorted(wanted.items()))


def _found_terms(
    wanted: tuple[tuple[str, frozenset[str]], ...], batch: list[dict[str, Any]]
) -> dict[tuple[int, str], frozenset[str]]:
    """For each fact and text property, which of the program's ``mentions`` terms it contains."""
    found: dict[tuple[int, str], frozenset[str]] = {}
    for i, fact in enumerate(batch):
        for key, terms in wanted:
            if key in fact:
                hits = frozenset(mentioned(fact[key], terms))
                if hits:
                    found[i, key] = hits
    return found


def _payload(
    shard: _Shard, batch: list[dict[str, Any]], found: dict[tuple[int, str], frozenset[str]], sid: str
) -> str:
    """The facts a shard needs, with only the properties its rules test; the case fact first."""
    keep = shard.keys
    rows = []
    for i, fact in enumerate(batch):
        if i and fact["t"] not in shard.scopes:
            continue
        row = {k: v for k, v in fact.items() if k in keep}
        for key, terms in shard.mentions:
            hits = found.get((i, key))
            if hits and hits & terms:
                row[key + _MENTIONED] = sorted(hits & terms)
        row["sid"] = sid
        rows.append(row)
    return json.dumps(rows)


def _mention_terms(rules: list[CompiledRule]) -> tuple[tuple[str, frozenset[str]], ...]:
    terms: dict[str, set[str]] = {}
    for rule in rules:
        for predicate in (*rule.case_tests, *rule.item_tests):
            for test in _tests(predicate):
                if test.op == "mentions":
                    terms.setdefault(test.key, set()).update(test.value)
    return tuple((key, frozenset(found)) for key, found in sorted(terms.items()))


def _shards(program: Program) -> list[_Shard]:
    if program.fingerprint not in _REGISTRY.shards:
        created = []
        by_name = {f"r{r.index}": r for r in program.rules}
        for name, rules in compile_program(program).items():
            members = [by_name[r] for r in rules if r in by_name]
            gates = tuple(dict.fromkeys(g for g in map(_gate, members) if g is not None))
            if any(_gate(r) is None for r in members):
                gates = ()
            scoped = frozenset(f"r{r.index}" for r in members if r.scope is not None)
            keys = {"id", "t"} | {
                t.key for r in members for p in (*r.case_tests, *r.item_tests) for t in _tests(p)
            }
            scopes = frozenset(r.scope for r in members if r.scope is not None)
            mentions = _mention_terms(members)
            keys |= {key + _MENTIONED for key, _ in mentions}
            _check_keys(keys)
            created.append(_Shard(name, json.dumps(rules), scoped, frozenset(keys), scopes, gates, mentions))
        _REGISTRY.shards[program.fingerprint] = created
        _REGISTRY.terms[program.fingerprint] = _program_terms(created)
    return _REGISTRY.shards[program.fingerprint]


_MENTIONED = "__mentions"


def _check_keys(keys: set[str]) -> None:
    """A fact with these properties (plus ``sid``) fits durable's limit, and no two names share
    its 32-bit hash (D4)."""
    if len(keys | {"id", "t", "sid"}) > MAX_PROPERTIES:
        raise RulesetError(f"a fact would carry more than {MAX_PROPERTIES} properties")
    seen: dict[int, str] = {}
    for key in sorted(keys | {"sid"}):
        other = seen.setdefault(_fnv1a_32(key), key)
        if other != key:
            raise RulesetError(f"fact properties '{other}' and '{key}' share a durable-rules hash")


_GATE_KEYS = frozenset({"proposal__activity", "proposal__categories"})
_GATE_OPS = frozenset({"eq", "in", "includes", "includes_any"})


def _gate(rule: CompiledRule) -> Test | None:
    """The first case test on the activity or categories: the rule cannot fire unless it holds."""
    return next(
        (t for t in rule.case_tests if isinstance(t, Test) and t.key in _GATE_KEYS and t.op in _GATE_OPS),
        None,
    )


def _tests(predicate: Predicate) -> tuple[Test, ...]:
    return predicate.tests if isinstance(predicate, AnyOf) else (predicate,)


def _handle(shard: _Shard) -> int:
    """The shard's ruleset in durable-rules, created on first use (most gated shards never run)."""
    handle = _REGISTRY.handles.get(shard.name)
    if handle is None:
        with _mapped("creating rules"):
            handle = _REGISTRY.handles[shard.name] = dre.create_ruleset(shard.name, shard.definition)
    return handle


def _run_shard(shard: _Shard, payload: str, sid: str) -> list[Firing]:
    """One session: assert, read every match, delete. Never leaves the session alive."""
    handle = _handle(shard)
    fired: list[Firing] = []
    sentinels = 0
    try:
        with _mapped("evaluating"):
            code, state = dre.assert_facts(handle, payload)
            if code != 0:
                raise BackendError(f"durable-rules refused the facts (code {code})")
            started = dre.start_action_for_state(handle, state)
            message = started[1] if started else None
            while message:
                rule, item = _one_match(message, shard)
                if rule == "sentinel":
                    sentinels += 1
                else:
                    fired.append((int(rule[1:]), item))
                message = dre.complete_and_start_action(handle, state)
        if sentinels != 1:
            raise BackendError(f"durable-rules matched the sentinel {sentinels} times, not once")
    finally:
        with _mapped("deleting the session"):
            dre.delete_state(handle, sid)
    return fired


_RULE = re.compile(r'\{"(r\d+|sentinel)":\{"c":\{')
_ITEM = '"i":{"id": "'


def _one_match(message: str, shard: _Shard) -> tuple[str, str | None]:
    """The rule name and item id of one match, read without decoding the whole message.

    durable-rules hands back each fact as the JSON text we asserted, so the layout is ours:
    the item fact starts with its id, and ids never contain quotes. A bare ``"i":{"id": "``
    cannot occur inside a JSON string (its quotes would be escaped), so the last one is the
    item's. Anything unexpected is decoded in full and checked.
    """
    found = _RULE.match(message)
    if found is None:
        return _decoded(message, shard)
    rule = found.group(1)
    if rule not in shard.scoped:
        return rule, None
    start = message.rfind(_ITEM)
    if start < 0:
        return _decoded(message, shard)
    start += len(_ITEM)
    return rule, message[start : message.index('"', start)]


def _decoded(message: str, shard: _Shard) -> tuple[str, str | None]:
    decoded = json.loads(message)
    if not isinstance(decoded, dict) or len(decoded) != 1:
        raise BackendError(f"unexpected match from durable-rules: {message[:200]}")
    ((rule, match),) = decoded.items()
    return rule, (match["i"]["id"] if rule in shard.scoped else None)


def compile_program(program: Program) -> dict[str, dict[str, dict[str, Any]]]:
    """Durable-rules' dict form of ``program``, in shards; raise if a limit would break."""
    _check_properties()
    shards: dict[str, dict[str, dict[str, Any]]] = {}
    # Ungated rules first, then gated ones grouped by gate, so shards can be skipped whole.
    rules = sorted(program.rules, key=lambda r: (_gate(r) is not None, repr(_gate(r)), r.index))
    for start in range(0, len(rules), MAX_RULES_PER_SHARD):
        chunk = rules[start : start + MAX_RULES_PER_SHARD]
        name = f"riskengine_{program.fingerprint[:12]}_{start // MAX_RULES_PER_SHARD}"
        # Action names are global to the host: prefix them so two programs never share one.
        shard = {f"r{r.index}": _rule(r.scope, r.case_tests, r.item_tests) for r in chunk}
        shards[name] = {**shard, **_fixed_rules()}
    if not shards:
        shards[f"riskengine_{program.fingerprint[:12]}_0"] = _fixed_rules()
    return shards


def _fixed_rules() -> dict[str, dict[str, Any]]:
    """The catch-all (every fact is handled) and the once-per-session sentinel."""
    return {"noop": _CATCH_ALL, "sentinel": _SENTINEL}


def _rule(scope: str | None, case: tuple[Predicate, ...], item: tuple[Predicate, ...]) -> dict[str, Any]:
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
        return _either([{"$iany": {key + _MENTIONED: {"$i": term}}} for term in value])
    if test.op == "recorded":
        return {"$ex": {key: 1}}
    if test.op == "missing":
        return {"$nex": {key: 1}}
    raise RulesetError(f"the durable adapter cannot compile operator '{test.op}'")


@lru_cache(maxsize=65536)
def _fnv1a_32(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def _check_properties() -> None:
    """The largest facts the schema allows (the case fact of either phase, each item scope) fit."""
    case = {fact_key(s, n) for s in CASE_SCOPES for n in FIELDS[s]}
    _check_keys(case)
    for scope in ITEM_SCOPES:
        _check_keys({fact_key(scope, n) for n in FIELDS[scope]})
