"""The durable-rules 2.0.28 adapter. The only module in riskengine that imports durable.

durable-rules is unmaintained and has real defects (``shared/reference/engine-anchors.md``
§1.4 to 1.7). This adapter drives its C Rete engine (``durable_rules_engine``) directly, in
the narrow way that is known to be safe, and never uses its Python ``Host``:

* no ``Host`` means no background dispatcher threads (which run deferred actions late
  and race with ``delete_state``: D2, D8) and no swallowed action errors: our own loop
  reads each match, so an error is ours and becomes :class:`BackendError`;
* exactly one live session per durable ruleset at a time, behind a process-wide lock,
  deleted after each run, so sessions never meet through their 32-bit hash (D3) nor
  reach the 1,024 limit; a session in which durable-rules failed is *not* deleted
  (that frees memory twice and crashes the process, found here after its error 303):
  its ruleset is retired and a fresh copy serves later runs, and after
  :data:`MAX_RETIRED` failures the backend refuses to go on;
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
* each shard holds rules of one *gate* only (the activity or category test most pack
  rules start with; ungated rules have their own shards), and a gated shard runs only
  when the case's activity or one of its categories opens it, found by dictionary
  lookup: an exact necessary condition, like a Rete alpha-memory index, covered by the
  parity tests. So no session carries rules that cannot fire, and rules whose gates
  all hold (a case with many categories) never pile up in one session past durable's
  64 simultaneous alpha matches (error 303, which mixed-gate shards did hit).

The Python layer of durable-rules (``durable.engine``) costs about ten times the C
engine's own time per evaluation (a JSON round trip of the session state per action);
driving the C API keeps an evaluation of several hundred rules within a few milliseconds.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import durable_rules_engine as dre

from ..errors import BackendError, RulesetError
from ..facts import FactSet
from ..fields import CASE_SCOPES, FIELDS, ITEM_SCOPES, fact_key
from ..ir import AnyOf, CompiledRule, Firing, Predicate, Program, Test, mentioned

__all__ = ["MAX_PROPERTIES", "MAX_RETIRED", "MAX_RULES_PER_SHARD", "DurableBackend", "compile_program"]

# At most 64 alpha nodes may be pending for one fact (durable's error 303). A rule can add
# one per matching ``$or`` branch, so this cap alone does not bound them: one gate per shard
# and the every-rule-opened test in tests/test_backends.py do, for the shipped rulesets.
MAX_RULES_PER_SHARD = 56
MAX_PROPERTIES = 253  # per fact, including id, t and sid
MAX_RETIRED = 8  # rulesets given up after failures before the backend refuses to go on
_NEVER = "__riskengine_never__"
_CATCH_ALL = {"all": [{"a": {"$ex": {"t": 1}}}, {"b": {"t": _NEVER}}]}
_SENTINEL = {"all": [{"c": {"t": "case"}}]}


@dataclass(frozen=True, slots=True)
class _Shard:
    name: str
    definition: str  # durable-rules' JSON; created in the engine the first time it runs
    scoped: frozenset[str]  # rule names whose matches carry an item fact
    keys: tuple[str, ...]  # fact properties its rules test, "id" and "t" first
    scopes: frozenset[str]  # item scopes its rules match
    gate: Test | None  # None: always run; else run only if this holds for the case
    mentions: tuple[tuple[str, frozenset[str]], ...] = ()  # text key -> terms its rules look for


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A program's shards, its ``mentions`` terms, and which shards each gate value opens."""

    shards: tuple[_Shard, ...]
    terms: tuple[tuple[str, frozenset[str]], ...]
    ungated: frozenset[int]  # shard positions that always run
    opened: dict[tuple[str, Any], frozenset[int]]  # (gate key, case value) -> shard positions

    def live(self, case: dict[str, Any]) -> list[_Shard]:
        """The shards that can fire for ``case``: ungated ones and those whose gate holds."""
        chosen = set(self.ungated)
        for key in _GATE_KEYS:
            have = case.get(key)
            for value in have if isinstance(have, list) else (have,):
                chosen |= self.opened.get((key, value), frozenset())
        return [self.shards[i] for i in sorted(chosen)]


class _Registry:
    """The process's compiled programs, their durable rulesets, and the session counter."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.programs: dict[str, _Compiled] = {}
        self.handles: dict[str, int] = {}  # shard name -> its live durable ruleset
        self.retired = 0  # rulesets given up after a failure
        self.sid = 0


_REGISTRY = _Registry()
_FAILURES = (dre.error, MemoryError, KeyError, TypeError, ValueError)


def _failed(what: str, exc: BaseException) -> BackendError:
    """A durable-rules failure as a BackendError (raise it ``from exc`` to keep the cause)."""
    return BackendError(f"durable-rules failed while {what}: {exc}")


class DurableBackend:
    """Run compiled rules on durable-rules' C engine, defensively."""

    name = "durable"

    def prepare(self, program: Program) -> None:
        """Check limits and compile the program's durable rulesets (once per process)."""
        with _REGISTRY.lock:
            _compiled(program)

    def run(self, program: Program, facts: FactSet) -> tuple[Firing, ...]:
        """Assert the facts into a fresh session per live shard and collect what fires."""
        batch = facts.all()
        if len({_fnv1a_32(f["id"]) for f in batch}) != len(batch):  # D4: ids compared by hash
            raise BackendError("two fact ids share a durable-rules hash")
        fired: set[Firing] = set()
        with _REGISTRY.lock:
            compiled = _compiled(program)
            found = _found_terms(compiled.terms, batch)
            for shard in compiled.live(batch[0]):
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
    keys = shard.keys
    rows = []
    for i, fact in enumerate(batch):
        if i and fact["t"] not in shard.scopes:
            continue
        row = {k: fact[k] for k in keys if k in fact}
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


def _compiled(program: Program) -> _Compiled:
    """The program's shards and gate index, built (and limits checked) once per process."""
    compiled = _REGISTRY.programs.get(program.fingerprint)
    if compiled is None:
        by_name = {f"r{r.index}": r for r in program.rules}
        shards = [
            _shard(name, [by_name[r] for r in rules if r in by_name], rules)
            for name, rules in compile_program(program).items()
        ]
        opened: dict[tuple[str, Any], set[int]] = {}
        for position, shard in enumerate(shards):
            if shard.gate is not None:
                for value in _gate_values(shard.gate):
                    opened.setdefault((shard.gate.key, value), set()).add(position)
        compiled = _REGISTRY.programs[program.fingerprint] = _Compiled(
            tuple(shards),
            _program_terms(shards),
            frozenset(i for i, shard in enumerate(shards) if shard.gate is None),
            {key: frozenset(found) for key, found in opened.items()},
        )
    return compiled


def _shard(name: str, members: list[CompiledRule], rules: dict[str, dict[str, Any]]) -> _Shard:
    """A shard of rules that share one gate (or none), with what its facts must carry."""
    tested = {t.key for r in members for p in (*r.case_tests, *r.item_tests) for t in _tests(p)}
    mentions = _mention_terms(members)
    keys = ("id", "t", *sorted(tested - {"id", "t"}))
    _check_keys({*keys, *(key + _MENTIONED for key, _ in mentions)})
    return _Shard(
        name,
        json.dumps(rules),
        frozenset(f"r{r.index}" for r in members if r.scope is not None),
        keys,
        frozenset(r.scope for r in members if r.scope is not None),
        _gate(members[0]) if members else None,
        mentions,
    )


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


_GATE_KEYS = ("proposal__activity", "proposal__categories")
_GATES = frozenset(
    {("proposal__activity", "eq"), ("proposal__activity", "in"),
     ("proposal__categories", "includes"), ("proposal__categories", "includes_any")}
)  # fmt: skip


def _gate(rule: CompiledRule) -> Test | None:
    """The first case test of the activity or the categories: the rule cannot fire unless it holds."""
    return next((t for t in rule.case_tests if isinstance(t, Test) and (t.key, t.op) in _GATES), None)


def _gate_values(gate: Test) -> tuple[Any, ...]:
    """The case values (the activity, or one of the categories) for which ``gate`` holds."""
    return (gate.value,) if gate.op in ("eq", "includes") else tuple(gate.value)


def _tests(predicate: Predicate) -> tuple[Test, ...]:
    return predicate.tests if isinstance(predicate, AnyOf) else (predicate,)


def _handle(shard: _Shard) -> int:
    """The shard's ruleset in durable-rules, created on first use (most gated shards never run)."""
    handle = _REGISTRY.handles.get(shard.name)
    if handle is None:
        if _REGISTRY.retired > MAX_RETIRED:
            raise BackendError(
                f"durable-rules failed {_REGISTRY.retired} times in this process and its memory can no "
                "longer be trusted: restart the process, or use the reference backend"
            )
        name = f"{shard.name}~{_REGISTRY.retired}" if _REGISTRY.retired else shard.name
        try:
            handle = _REGISTRY.handles[shard.name] = dre.create_ruleset(name, shard.definition)
        except _FAILURES as exc:
            raise _failed("creating rules", exc) from exc
    return handle


def _run_shard(shard: _Shard, payload: str, sid: str) -> list[Firing]:
    """One session: assert, read every match, delete.

    A session that failed is never deleted and its ruleset is never used again (it is
    *retired*; the next run creates a fresh copy): deleting a session after durable-rules
    failed inside it, for example with its error 303, frees memory twice and crashes the
    process, as deleting one in which no action ran does (D5).
    """
    handle = _handle(shard)
    try:
        fired = _matches(shard, handle, payload)
        dre.delete_state(handle, sid)
    except BaseException as exc:
        _retire(shard)
        if isinstance(exc, _FAILURES):
            raise _failed("evaluating", exc) from exc
        raise
    return fired


def _retire(shard: _Shard) -> None:
    """Never use this shard's durable ruleset again (its failed session stays in it)."""
    _REGISTRY.handles.pop(shard.name, None)
    _REGISTRY.retired += 1


def _matches(shard: _Shard, handle: int, payload: str) -> list[Firing]:
    """Assert ``payload`` and read every match; the sentinel must match exactly once."""
    code, state = dre.assert_facts(handle, payload)
    if code != 0:
        raise BackendError(f"durable-rules refused the facts (code {code})")
    fired: list[Firing] = []
    sentinels = 0
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
    """Durable-rules' dict form of ``program``, in shards; raise if a limit would break.

    Rules are grouped by gate (ungated first), and each group is split into as few
    shards as the limit allows, of even size. A case then runs the ungated shards and
    only the shards of gates that hold for it, with no rule in them that cannot fire.
    """
    _check_properties()
    shards: dict[str, dict[str, dict[str, Any]]] = {}
    prefix = f"riskengine_{program.fingerprint[:12]}"
    for chunk in _chunks(_by_gate(program.rules)):
        # Action names are global to the host: prefix them so two programs never share one.
        shard = {f"r{r.index}": _rule(r.scope, r.case_tests, r.item_tests) for r in chunk}
        shards[f"{prefix}_{len(shards)}"] = {**shard, **_fixed_rules()}
    if not shards:
        shards[f"{prefix}_0"] = _fixed_rules()
    return shards


def _by_gate(rules: tuple[CompiledRule, ...]) -> list[list[CompiledRule]]:
    """The rules grouped by gate in a stable order: ungated rules first, then by gate."""
    groups: dict[Test | None, list[CompiledRule]] = {}
    for rule in rules:
        groups.setdefault(_gate(rule), []).append(rule)
    return [groups[g] for g in sorted(groups, key=lambda g: (g is not None, repr(g)))]


def _chunks(groups: list[list[CompiledRule]]) -> Iterator[list[CompiledRule]]:
    """Each group in the fewest chunks of at most :data:`MAX_RULES_PER_SHARD` rules, evenly sized."""
    for group in groups:
        count = -(-len(group) // MAX_RULES_PER_SHARD)
        size = -(-len(group) // count)
        for start in range(0, len(group), size):
            yield group[start : start + size]


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
