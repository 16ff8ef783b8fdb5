"""The compiled backend: each program turned once into one straight-line Python function.

Where the reference backend interprets the IR (a call per test, an operator looked up in a
table), this one writes the same tests out as Python source, one ``if`` per rule, and
compiles it when the program is prepared. The expressions are the reference semantics
written inline (:data:`~riskengine.rules.ir.OPS`), operator for operator:

* a test on an absent property is false, except ``missing``; facts never hold ``None``
  (the derive stage leaves unknown values out), so ``key in fact`` is the presence test;
* ``in`` and ``not_in`` test membership of the rule's tuple, ``includes`` membership of
  the fact's list, ``includes_any`` and ``excludes`` each of the rule's values in turn
  (as ``any(...)`` does, stopping at the first), ``mentions`` is
  :func:`~riskengine.rules.ir.mentioned`;
* firings come back sorted by (rule index, item id), as every backend returns them.

Rule values never appear in the source: each is a name bound to the value in the
function's namespace, so nothing an overlay writes can become code. Fact keys are written
as string literals (``repr``), and they come from the field table, not from rule text.

It agrees with the reference and durable backends on every shipped proposal, on random
proposals and on random programs (tests/test_backends.py); ``benchmarks/bench_floor.py``
runs the same function, bare, as the floor that evaluation is measured against.
Programs are compiled once per process and kept by fingerprint (the last
:data:`MAX_PROGRAMS`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from riskengine.rules.ir import AnyOf, Firing, Predicate, Program, Test, mentioned
from riskengine.run.facts import FactSet

__all__ = ["MAX_PROGRAMS", "CompiledBackend", "compile_program", "program_source"]

MAX_PROGRAMS = 16

Fact = dict[str, Any]
_Run = Callable[[Fact, dict[str, list[Fact]]], list[Firing]]
_COMPARE = {"eq": "==", "ne": "!=", "ge": ">=", "le": "<=", "gt": ">", "lt": "<"}


class _Writer:
    """The source of one program's function, and the values its names stand for."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def value(self, value: Any) -> str:
        name = f"_v{len(self.values)}"
        self.values[name] = value
        return name

    def test(self, t: Test, fact: str) -> str:
        key = repr(t.key)
        if t.op == "missing":
            return f"{key} not in {fact}"
        if t.op == "recorded":
            return f"{key} in {fact}"
        return f"({key} in {fact} and {self._holds(t, f'{fact}[{key}]')})"

    def _holds(self, t: Test, have: str) -> str:
        if t.op in _COMPARE:
            return f"{have} {_COMPARE[t.op]} {self.value(t.value)}"
        if t.op == "in":
            return f"{have} in {self.value(tuple(t.value))}"
        if t.op == "not_in":
            return f"{have} not in {self.value(tuple(t.value))}"
        if t.op == "includes":
            return f"{self.value(t.value)} in {have}"
        if t.op in {"includes_any", "excludes"}:
            some = " or ".join(f"{self.value(w)} in {have}" for w in t.value) or "False"
            return f"({some})" if t.op == "includes_any" else f"not ({some})"
        if t.op == "mentions":
            return f"_mentioned({have}, {self.value(tuple(t.value))})"
        raise ValueError(f"the compiled backend has no operator '{t.op}'")

    def predicate(self, p: Predicate, fact: str) -> str:
        if isinstance(p, AnyOf):
            return "(" + " or ".join(self.test(t, fact) for t in p.tests) + ")"
        return self.test(p, fact)

    def all_of(self, predicates: tuple[Predicate, ...], fact: str) -> str:
        return " and ".join(self.predicate(p, fact) for p in predicates) or "True"


def program_source(program: Program) -> tuple[str, dict[str, Any]]:
    """The Python source of ``program``'s function, and the values its names are bound to."""
    writer = _Writer()
    lines = ["def run(c, items):", "    out = []", "    fire = out.append"]
    for rule in program.rules:
        case = writer.all_of(rule.case_tests, "c")
        if rule.scope is None:
            lines += [f"    if {case}:", f"        fire(({rule.index}, None))"]
            continue
        item = writer.all_of(rule.item_tests, "f")
        lines += [
            f"    if {case}:",
            f"        for f in items.get({rule.scope!r}, ()):",
            f"            if {item}:",
            f"                fire(({rule.index}, f['id']))",
        ]
    lines += ["    out.sort(key=_order)", "    return out"]
    return "\n".join(lines) + "\n", writer.values


def _mentioned(have: Any, terms: tuple[str, ...]) -> bool:
    return bool(mentioned(have, terms))


def _order(firing: Firing) -> tuple[int, str]:
    return firing[0], firing[1] or ""


def compile_program(program: Program) -> _Run:
    """``program`` as a fresh Python function of ``(case facts, items by scope)``, uncached."""
    source, values = program_source(program)
    namespace: dict[str, Any] = {**values, "_mentioned": _mentioned, "_order": _order}
    exec(compile(source, f"<riskengine rules {program.fingerprint[:12]}>", "exec"), namespace)
    run: _Run = namespace["run"]
    return run


_LOCK = threading.Lock()
_PROGRAMS: OrderedDict[str, _Run] = OrderedDict()  # least recently used first


def _function(program: Program) -> _Run:
    with _LOCK:
        run = _PROGRAMS.get(program.fingerprint)
        if run is None:
            run = _PROGRAMS[program.fingerprint] = compile_program(program)
            while len(_PROGRAMS) > MAX_PROGRAMS:
                _PROGRAMS.popitem(last=False)
        else:
            _PROGRAMS.move_to_end(program.fingerprint)
        return run


class CompiledBackend:
    """Run each program as the Python function compiled from it."""

    name = "compiled"

    def prepare(self, program: Program) -> None:
        """Compile the program's function (once per process)."""
        _function(program)

    def run(self, program: Program, facts: FactSet) -> tuple[Firing, ...]:
        """Every ``(rule index, item id)`` that fires, sorted."""
        return tuple(_function(program)(facts.case, facts.items))
