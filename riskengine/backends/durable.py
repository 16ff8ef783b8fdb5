"""The durable-rules 2.0.28 adapter. The only module in riskengine that imports durable.

durable-rules is unmaintained and has real defects (``shared/reference/engine-anchors.md``
§1.4–1.7). This adapter uses it in the narrow way that is known to be safe:

* one engine host per process, its background dispatcher threads switched off
  (they run deferred actions late and race with ``delete_state``: D2, D8);
* exactly one live session at a time, behind a lock, deleted after each run, so
  sessions never meet through their 32-bit hash (D3) nor hit the 1,024 limit;
* explicit fact ids (no content-hash identity, no "already observed" errors);
* the case (context) fact asserted before item facts; no negation is ever emitted;
* a never-firing catch-all join so no fact is "unhandled" (which would defer actions);
* a sentinel rule that fires once per session on the case fact: deleting a session
  in which no action ever ran frees uninitialised memory and segfaults (D5, seen
  here with a bare proposal), and a missing sentinel firing exposes a broken run;
* no ``$and`` mixed with references to another fact (D1): rules never correlate;
* ``$imt`` only on properties that the fact builder guarantees are strings (D6);
* limits checked before ``create_ruleset``: at most :data:`MAX_RULES_PER_SHARD`
  rules per durable ruleset (64 alpha matches per fact, 512 children per node),
  at most 253 properties per fact, no colliding property-name hashes (D4);
* action errors, which durable-rules swallows into session state, are read back
  and raised as :class:`~riskengine.errors.BackendError`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import durable_rules_engine
from durable import engine as durable_engine

from ..errors import BackendError, RulesetError
from ..facts import FactSet
from ..fields import FIELDS, fact_key
from ..ir import AnyOf, Firing, Predicate, Program, Test

__all__ = ["MAX_PROPERTIES", "MAX_RULES_PER_SHARD", "DurableBackend", "compile_program"]

MAX_RULES_PER_SHARD = 56  # well under 64 simultaneous alpha matches (with catch-all, sentinel)
MAX_PROPERTIES = 253  # per fact, including id, t and sid
_NEVER = "__riskengine_never__"
_CATCH_ALL = {"all": [{"a": {"$ex": {"t": 1}}}, {"b": {"t": _NEVER}}], "run": "noop"}
_SENTINEL = {"all": [{"c": {"t": "case"}}], "run": "sentinel"}


class _QuietHost(durable_engine.Host):  # type: ignore[misc]
    """A Host without the timer threads that run deferred actions behind our back."""

    def __init__(self) -> None:
        self.actions: dict[str, Callable[[Any], None]] = {}
        super().__init__()

    def _run(self) -> None:
        """Start no dispatcher threads (durable-rules offers no switch for this)."""

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        return self.actions[action_name]


class _Session:
    """The process's one host and the shards registered on it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.host = _QuietHost()
        self.shards: dict[str, list[str]] = {}
        self.fired: list[Firing] = []
        self.sentinels = 0
        self.sid = 0


_SESSION: _Session | None = None
_SESSION_LOCK = threading.Lock()


def _session() -> _Session:
    global _SESSION  # noqa: PLW0603 - one durable host per process, by design
    with _SESSION_LOCK:
        if _SESSION is None:
            _SESSION = _Session()
        return _SESSION


@contextmanager
def _mapped(what: str) -> Iterator[None]:
    """Translate every durable-rules failure into BackendError, keeping the cause."""
    try:
        yield
    except (
        durable_rules_engine.error,
        durable_engine.MessageNotHandledException,
        durable_engine.MessageObservedException,
        MemoryError,
        KeyError,
        TypeError,
        ValueError,
    ) as exc:
        raise BackendError(f"durable-rules failed while {what}: {exc}") from exc


class DurableBackend:
    """Run compiled rules on durable-rules, defensively."""

    name = "durable"

    def prepare(self, program: Program) -> None:
        """Check limits and register the program's shards (once per process)."""
        session = _session()
        with session.lock:
            self._register(session, program)

    def run(self, program: Program, facts: FactSet) -> tuple[Firing, ...]:
        """Assert the facts into a fresh session per shard and collect what fires."""
        session = _session()
        with session.lock:
            names = self._register(session, program)
            session.fired = []
            for name in names:
                self._run_shard(session, name, facts)
            return tuple(sorted(session.fired, key=lambda f: (f[0], f[1] or "")))

    def _register(self, session: _Session, program: Program) -> list[str]:
        if program.fingerprint in session.shards:
            return session.shards[program.fingerprint]
        definitions = compile_program(program)
        for rules in definitions.values():
            for name, rule in rules.items():
                session.host.actions[rule["run"]] = _recorder(session, name, program)
        with _mapped("registering rules"):
            session.host.register_rulesets(definitions)
        session.shards[program.fingerprint] = sorted(definitions)
        return session.shards[program.fingerprint]

    def _run_shard(self, session: _Session, name: str, facts: FactSet) -> None:
        session.sid += 1
        sid = str(session.sid)
        batch = [{**fact, "sid": sid} for fact in facts.all()]
        before = session.sentinels
        if len({_fnv1a_32(f["id"]) for f in batch}) != len(batch):  # D4: ids compared by hash
            raise BackendError("two fact ids share a durable-rules hash")
        try:
            with _mapped("evaluating"):
                session.host.assert_facts(name, batch)
                state = session.host.get_state(name, sid)
            if "exception" in state:
                raise BackendError(f"a rule action failed inside durable-rules: {state['exception']}")
            if session.sentinels != before + 1:
                raise BackendError("durable-rules did not run the session's actions")
        finally:
            with _mapped("deleting the session"):
                session.host.delete_state(name, sid)


def _recorder(session: _Session, name: str, program: Program) -> Callable[[Any], None]:
    if name == "noop":
        return lambda _c: None
    if name == "sentinel":

        def sentinel(_c: Any) -> None:
            session.sentinels += 1

        return sentinel
    index = int(name.removeprefix("r"))
    scoped = program.rules[index].scope is not None

    def record(c: Any) -> None:
        session.fired.append((index, c.i["id"] if scoped else None))

    return record


def compile_program(program: Program) -> dict[str, dict[str, dict[str, Any]]]:
    """Durable-rules' dict form of ``program``, in shards; raise if a limit would break."""
    _check_properties()
    shards: dict[str, dict[str, dict[str, Any]]] = {}
    rules = program.rules
    for start in range(0, len(rules), MAX_RULES_PER_SHARD):
        chunk = rules[start : start + MAX_RULES_PER_SHARD]
        name = f"riskengine_{program.fingerprint[:12]}_{start // MAX_RULES_PER_SHARD}"
        shard = {f"r{r.index}": _rule(r.scope, r.case_tests, r.item_tests, f"r{r.index}") for r in chunk}
        shards[name] = {**shard, **_fixed_rules()}
    if not shards:
        shards[f"riskengine_{program.fingerprint[:12]}_0"] = _fixed_rules()
    return shards


def _fixed_rules() -> dict[str, dict[str, Any]]:
    """Fresh copies (durable-rules mutates definitions) of the catch-all and the sentinel."""
    return {
        "noop": {"all": [dict(p) for p in _CATCH_ALL["all"]], "run": "noop"},
        "sentinel": {"all": [dict(p) for p in _SENTINEL["all"]], "run": "sentinel"},
    }


def _rule(
    scope: str | None, case: tuple[Predicate, ...], item: tuple[Predicate, ...], action: str
) -> dict[str, Any]:
    patterns: list[dict[str, Any]] = [{"c": _pattern("case", case)}]
    if scope is not None:
        patterns.append({"i": _pattern(scope, item)})
    return {"all": patterns, "run": action}


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
    if test.op == "mentions":
        return _either([{"$imt": {key: f".*{term}.*"}} for term in value])
    if test.op == "recorded":
        return {"$ex": {key: 1}}
    if test.op == "missing":
        return {"$nex": {key: 1}}
    raise RulesetError(f"the durable adapter cannot compile operator '{test.op}'")


def _fnv1a_32(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def _check_properties() -> None:
    """Facts stay under durable's property limit and property names never share a hash."""
    case_keys = [fact_key(s, n) for s, names in FIELDS.items() if s in _CASE for n in names]
    item_widths = [len(names) for s, names in FIELDS.items() if s not in _CASE]
    if len(case_keys) + 3 > MAX_PROPERTIES or max(item_widths) + 3 > MAX_PROPERTIES:
        raise RulesetError(f"a fact would carry more than {MAX_PROPERTIES} properties")
    keys = {fact_key(s, n) for s, names in FIELDS.items() for n in names} | {"id", "t", "sid"}
    hashes: dict[int, str] = {}
    for key in sorted(keys):
        other = hashes.setdefault(_fnv1a_32(key), key)
        if other != key:
            raise RulesetError(f"fact properties '{other}' and '{key}' share a durable-rules hash")


_CASE = frozenset({"person", "proposal", "decision", "plan", "network", "history"})
