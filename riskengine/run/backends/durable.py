"""The durable-rules 2.0.28 adapter. The only module in riskengine that imports durable.

durable-rules is unmaintained and has real defects (``shared/reference/engine-anchors.md``
§1.4 to 1.7). This adapter drives its C Rete engine (``durable_rules_engine``) directly, in
the narrow way that is known to be safe, and never uses its Python ``Host``:

* no ``Host`` means no background dispatcher threads (which run deferred actions late
  and race with ``delete_state``: D2, D8) and no swallowed action errors: our own loop
  reads each match, so an error is ours and becomes :class:`BackendError`;
* one session per durable ruleset, ever (sid :data:`SID`), behind a process-wide lock:
  each run asserts the facts, reads every match and retracts the same facts, and the
  session is checked to hold no facts after. So sessions never meet through
  their 32-bit hash (D3) nor reach the 1,024 limit, no session is ever deleted (D5),
  and no run pays for creating one (durable-rules zeroes 8 KiB per beta node for each
  new session). A session in which durable-rules failed is never touched again: its
  ruleset is retired and a fresh copy serves later runs, and after
  :data:`MAX_RETIRED` failures the backend refuses to go on;
* explicit fact ids, checked for distinct hashes (D4), so no content-hash identity and
  no "already observed" errors;
* the case (context) fact asserted before item facts; no negation is ever emitted;
* a never-firing catch-all join so no fact is "unhandled" (which would defer actions);
* a sentinel rule that fires once per run on the case fact, so a run that went quiet
  (no sentinel match) is an error, not an empty answer;
* no ``$and`` mixed with references to another fact (D1): rules never correlate;
* no ``$imt`` at all (D6, and durable's regex engine was most of its time here): for
  ``mentions``, each shard's facts carry which of its terms a text contains (the IR's own
  definition, :func:`~riskengine.rules.ir.mentioned`), and rules test that list with ``$iany``;
* limits checked before ``create_ruleset``: each durable ruleset is packed so that no
  fact can leave more than :data:`STACK_BUDGET` alpha nodes pending in its walk of the
  network (durable-rules' fixed stack holds 64; one more is its error 303), worked out
  from a model of the network durable-rules builds (:mod:`riskengine.run.backends.alpha`),
  and within its per-node limits; at most 253 properties per fact, no colliding
  property-name hashes (D4);
* a rule matched through two ``$or`` branches is reported once, as the IR requires;
* rules are grouped by their *gate* (the activity or category test most pack rules
  start with), each group packed into as few shards as the budget allows, and a gated
  shard runs only when the case's activity or one of its categories opens it, found by
  dictionary lookup: an exact necessary condition, like a Rete alpha-memory index,
  covered by the parity tests. So a session never carries rules that cannot fire.

The Python layer of durable-rules (``durable.engine``) costs about ten times the C
engine's own time per evaluation (a JSON round trip of the session state per action);
driving the C API keeps an evaluation of several hundred rules within a few milliseconds.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import durable_rules_engine as dre
import orjson

from riskengine.errors import BackendError, RulesetError
from riskengine.rules.fields import CASE_SCOPES, FIELDS, ITEM_SCOPES, fact_key
from riskengine.rules.ir import AnyOf, CompiledRule, Firing, Predicate, Program, Test, mentioned, tests_of
from riskengine.run.backends.alpha import AlphaNetwork
from riskengine.run.facts import FactSet

__all__ = ["MAX_PROPERTIES", "MAX_RETIRED", "SID", "STACK_BUDGET", "DurableBackend", "compile_program"]

# Alpha nodes one fact may leave pending in a shard, by the model (durable-rules allows 64;
# the model is an upper bound, found exact to within one by tests/test_alpha_model.py).
STACK_BUDGET = 60
MAX_PROPERTIES = 253  # per fact, including id, t and sid
MAX_RETIRED = 8  # rulesets given up after failures before the backend refuses to go on
SID = "1"  # the one session of every durable ruleset, reused run after run
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
    opened_by: tuple[tuple[str, Any], ...]  # (case property, value) pairs that open it; empty: always runs
    mentions: tuple[tuple[str, frozenset[str]], ...] = ()  # text key -> terms its rules look for


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A program's shards, its ``mentions`` terms, and which shards run for which case."""

    shards: tuple[_Shard, ...]
    terms: tuple[tuple[str, frozenset[str]], ...]
    always: tuple[int, ...]  # shard positions that run for every case
    opened: dict[tuple[str, Any], tuple[int, ...]]  # (case property, value) -> positions it opens

    def live(self, case: dict[str, Any]) -> list[_Shard]:
        """The shards that can fire for ``case``: ungated ones and those its activity or categories open."""
        chosen = set(self.always)
        for key in _GATE_KEYS:
            have = case.get(key)
            for value in have if isinstance(have, list) else (have,):
                chosen.update(self.opened.get((key, value), ()))
        return [self.shards[i] for i in sorted(chosen)]


class _Registry:
    """The process's compiled programs, their durable rulesets, and how many were retired."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.programs: dict[str, _Compiled] = {}
        self.handles: dict[str, int] = {}  # shard name -> its live durable ruleset
        self.retired = 0  # rulesets given up after a failure


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
        """Assert the facts into each live shard's session, collect what fires, and clear it."""
        batch = facts.all()
        if len({_fnv1a_32(f["id"]) for f in batch}) != len(batch):  # D4: ids compared by hash
            raise BackendError("two fact ids share a durable-rules hash")
        fired: set[Firing] = set()
        with _REGISTRY.lock:
            compiled = _compiled(program)
            found = _found_terms(compiled.terms, batch)
            for shard in compiled.live(batch[0]):
                fired.update(_run_shard(shard, _payload(shard, batch, found)))
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


def _payload(shard: _Shard, batch: list[dict[str, Any]], found: dict[tuple[int, str], frozenset[str]]) -> str:
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
        row["sid"] = SID
        rows.append(row)
    return orjson.dumps(rows).decode()


def _mention_terms(rules: list[CompiledRule]) -> tuple[tuple[str, frozenset[str]], ...]:
    terms: dict[str, set[str]] = {}
    for rule in rules:
        for predicate in (*rule.case_tests, *rule.item_tests):
            for test in tests_of(predicate):
                if test.op == "mentions":
                    terms.setdefault(test.key, set()).update(test.value)
    return tuple((key, frozenset(found)) for key, found in sorted(terms.items()))


def _compiled(program: Program) -> _Compiled:
    """The program's shards and their index, built (and limits checked) once per process."""
    compiled = _REGISTRY.programs.get(program.fingerprint)
    if compiled is None:
        definitions = {r.index: _rule(r.scope, r.case_tests, r.item_tests) for r in program.rules}
        shards = [
            _shard(f"riskengine_{program.fingerprint[:12]}_{n}", members, opened_by, definitions)
            for n, (opened_by, members) in enumerate(_packed(program, definitions))
        ]
        opened: dict[tuple[str, Any], list[int]] = {}
        for position, shard in enumerate(shards):
            for key in shard.opened_by:
                opened.setdefault(key, []).append(position)
        compiled = _REGISTRY.programs[program.fingerprint] = _Compiled(
            tuple(shards),
            _program_terms(shards),
            tuple(i for i, shard in enumerate(shards) if not shard.opened_by),
            {key: tuple(found) for key, found in opened.items()},
        )
    return compiled


def compile_program(program: Program) -> dict[str, dict[str, dict[str, Any]]]:
    """Durable-rules' dict form of ``program``: each shard's name and ruleset definition."""
    return {shard.name: json.loads(shard.definition) for shard in _compiled(program).shards}


def _packed(
    program: Program, definitions: dict[int, dict[str, Any]]
) -> list[tuple[tuple[Any, ...], list[CompiledRule]]]:
    """The program's rules in shards, each with the gate values that open it (none: always runs).

    Rules are grouped by gate, ungated rules first, and each group goes into as few
    shards as the alpha budget allows (each rule in the first shard it fits). A shard
    holds one gate only, so a session never carries rules that cannot fire.
    """
    _check_properties()
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
                raise RulesetError(
                    f"rule '{rule.rule_id}' ({rule.ruleset}) is too wide for durable-rules: "
                    f"{'; '.join(alone.problems(STACK_BUDGET))}. Split its long lists of values or words, "
                    "or its 'any' groups, into several rules, or use the reference backend"
                )
            shards.append((network, [rule]))
    return [members for _, members in shards]


def _shard(
    name: str,
    members: list[CompiledRule],
    opened_by: tuple[tuple[str, Any], ...],
    definitions: dict[int, dict[str, Any]],
) -> _Shard:
    """A shard of rules, with what its facts must carry."""
    tested = {t.key for r in members for p in (*r.case_tests, *r.item_tests) for t in tests_of(p)}
    mentions = _mention_terms(members)
    keys = ("id", "t", *sorted(tested - {"id", "t"}))
    _check_keys({*keys, *(key + _MENTIONED for key, _ in mentions)})
    rules = {f"r{r.index}": definitions[r.index] for r in members}
    return _Shard(
        name,
        orjson.dumps({**rules, **_fixed_rules()}).decode(),
        frozenset(f"r{r.index}" for r in members if r.scope is not None),
        keys,
        frozenset(r.scope for r in members if r.scope is not None),
        opened_by,
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


def _run_shard(shard: _Shard, payload: str) -> list[Firing]:
    """One run in the shard's session: assert, read every match, retract the same facts.

    The session is kept for the life of the process and left empty after each run
    (checked): creating one zeroes 8 KiB for every beta node of the ruleset (about
    1.4 MiB an evaluation, and all the caches with it), and deleting one in which no
    action ran frees uninitialised memory (D5). If anything fails in a run, the session
    is not touched again: its ruleset is *retired* and a fresh copy serves the next run
    (deleting a session after durable-rules failed inside it, for example with its
    error 303, frees memory twice and crashes the process).
    """
    handle = _handle(shard)
    try:
        fired = _matches(shard, handle, payload)
        _clear(handle, payload)
    except BaseException as exc:
        _retire(shard)
        if isinstance(exc, _FAILURES):
            raise _failed("evaluating", exc) from exc
        raise
    return fired


def _clear(handle: int, payload: str) -> None:
    """Retract the facts of a run and check that the session holds none."""
    code, _ = dre.retract_facts(handle, payload)
    if code != 0:
        raise BackendError(f"durable-rules refused to retract the facts (code {code})")
    left = dre.get_facts(handle, SID)
    if left != "[]":
        raise BackendError(f"durable-rules kept facts after they were retracted: {left[:200]}")


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
_ITEM = '"i":{"id":"'


def _one_match(message: str, shard: _Shard) -> tuple[str, str | None]:
    """The rule name and item id of one match, read without decoding the whole message.

    durable-rules hands back each fact as the JSON text we asserted, so the layout is ours
    (orjson's compact form): the item fact starts with its id, and ids never contain
    quotes. A bare ``"i":{"id":"`` cannot occur inside a JSON string (its quotes would be
    escaped), so the last one is the item's. Anything unexpected is decoded in full and
    checked.
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
