"""The durable-rules 2.0.28 adapter. The only module in riskengine that imports durable.

This module creates, runs and retires durable-rules' rulesets and sessions; compiling the IR
to durable's JSON and packing it into shards is pure Python, in
:mod:`riskengine.run.backends.durable_compile`.

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
from collections import OrderedDict
from typing import Any

import durable_rules_engine as dre
import orjson

from riskengine.errors import BackendError
from riskengine.rules.ir import Firing, Program, mentioned
from riskengine.run.backends.durable_compile import (
    MENTIONED,
    SID,
    Compiled,
    Shard,
    fnv1a_32,
    packed,
    program_terms,
    rule_definition,
    shard_of,
)
from riskengine.run.facts import FactSet

__all__ = [
    "MAX_COMPILED_RULES",
    "MAX_PAYLOAD_BYTES",
    "MAX_PROGRAMS",
    "MAX_RETIRED",
    "DurableBackend",
    "compile_program",
]

MAX_RETIRED = 8  # rulesets given up after failures before the backend refuses to go on
# The facts one shard's run may carry. durable-rules crashed the process (in
# getNextResultInState) on a fact of about 16 MiB; the proposal limits keep real facts far
# below this, and this backstop turns anything that slips through into an error, not a crash.
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
# Compiled programs kept at once (an engine has two); the least recently run are freed.
MAX_PROGRAMS = 16
# Rules one process may compile in its life. durable-rules does not return all the memory of
# a deleted ruleset (about 3 MiB stays for each reload of the shipped 450 rules), so a process
# that keeps reloading changed rulesets is stopped with a clear message instead of growing
# without bound (this allows about 64 such reloads): a long-lived service recycles workers.
MAX_COMPILED_RULES = 30_000


class _Registry:
    """The process's compiled programs, their durable rulesets, and how many were retired."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.programs: OrderedDict[str, Compiled] = OrderedDict()  # least recently used first
        self.handles: dict[str, int] = {}  # shard name -> its live durable ruleset
        self.retired = 0  # rulesets given up after a failure
        self.compiled_rules = 0  # rules compiled in this process


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
        if len({fnv1a_32(f["id"]) for f in batch}) != len(batch):  # D4: ids compared by hash
            raise BackendError("two fact ids share a durable-rules hash")
        fired: set[Firing] = set()
        with _REGISTRY.lock:
            compiled = _compiled(program)
            found = _found_terms(compiled.terms, batch)
            for shard in compiled.live(batch[0]):
                payload = _payload(shard, batch, found)
                if len(payload) > MAX_PAYLOAD_BYTES:
                    raise BackendError(
                        f"the facts of this proposal ({len(payload):,} bytes) are too large for "
                        f"durable-rules (at most {MAX_PAYLOAD_BYTES:,}): use the reference backend"
                    )
                fired.update(_run_shard(shard, payload))
        return tuple(sorted(fired, key=lambda f: (f[0], f[1] or "")))


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


def _payload(shard: Shard, batch: list[dict[str, Any]], found: dict[tuple[int, str], frozenset[str]]) -> str:
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
                row[key + MENTIONED] = sorted(hits & terms)
        row["sid"] = SID
        rows.append(row)
    return orjson.dumps(rows).decode()


def _compiled(program: Program) -> Compiled:
    """The program's shards and their index, built (and limits checked) once per process."""
    compiled = _REGISTRY.programs.get(program.fingerprint)
    if compiled is not None:
        _REGISTRY.programs.move_to_end(program.fingerprint)
    else:
        if _REGISTRY.compiled_rules + len(program.rules) > MAX_COMPILED_RULES:
            raise BackendError(
                f"this process has already compiled {_REGISTRY.compiled_rules:,} rules on durable-rules, "
                "which does not return all their memory: start a fresh process to load changed "
                "rulesets again, or use the reference backend"
            )
        _REGISTRY.compiled_rules += len(program.rules)
        definitions = {r.index: rule_definition(r.scope, r.case_tests, r.item_tests) for r in program.rules}
        shards = [
            shard_of(f"riskengine_{program.fingerprint[:12]}_{n}", members, opened_by, definitions)
            for n, (opened_by, members) in enumerate(packed(program, definitions))
        ]
        opened: dict[tuple[str, Any], list[int]] = {}
        for position, shard in enumerate(shards):
            for key in shard.opened_by:
                opened.setdefault(key, []).append(position)
        compiled = _REGISTRY.programs[program.fingerprint] = Compiled(
            tuple(shards),
            program_terms(shards),
            tuple(i for i, shard in enumerate(shards) if not shard.opened_by),
            {key: tuple(found) for key, found in opened.items()},
        )
        while len(_REGISTRY.programs) > MAX_PROGRAMS:
            _evict(_REGISTRY.programs.popitem(last=False)[1])
    return compiled


def _evict(compiled: Compiled) -> None:
    """Free the durable rulesets of a program no engine has run for longest.

    Reloading changed rulesets in one process made a new program each time and kept every
    old one (about 8 MiB and 8 durable rulesets a reload). Only rulesets whose session has
    run are ever live here (creation is lazy and a failed one is retired, never deleted),
    so deleting them is safe; an engine that still holds the program recompiles it on its
    next run.
    """
    for shard in compiled.shards:
        handle = _REGISTRY.handles.pop(shard.name, None)
        if handle is not None:
            try:
                dre.delete_ruleset(handle)
            except _FAILURES as exc:
                raise _failed("freeing rules no longer used", exc) from exc


def compile_program(program: Program) -> dict[str, dict[str, dict[str, Any]]]:
    """Durable-rules' dict form of ``program``: each shard's name and ruleset definition."""
    return {shard.name: json.loads(shard.definition) for shard in _compiled(program).shards}


def _handle(shard: Shard) -> int:
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


def _run_shard(shard: Shard, payload: str) -> list[Firing]:
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


def _retire(shard: Shard) -> None:
    """Never use this shard's durable ruleset again (its failed session stays in it)."""
    _REGISTRY.handles.pop(shard.name, None)
    _REGISTRY.retired += 1


def _matches(shard: Shard, handle: int, payload: str) -> list[Firing]:
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


def _one_match(message: str, shard: Shard) -> tuple[str, str | None]:
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


def _decoded(message: str, shard: Shard) -> tuple[str, str | None]:
    decoded = json.loads(message)
    if not isinstance(decoded, dict) or len(decoded) != 1:
        raise BackendError(f"unexpected match from durable-rules: {message[:200]}")
    ((rule, match),) = decoded.items()
    return rule, (match["i"]["id"] if rule in shard.scoped else None)
