"""The compiled form of rules that every backend runs: small, frozen, backend-neutral.

A :class:`Program` is a tuple of :class:`CompiledRule`. A rule's ``case_tests``
are tested on the case fact; if it has a ``scope``, its ``item_tests`` are tested
on each fact of that scope and it fires once per matching item. A backend returns
the firings as sorted ``(rule index, item fact id or None)`` pairs.

Semantics every backend must keep (durable-rules' own, checked by parity tests):
a test on an absent property is false, except ``missing``; ``mentions`` is an
ASCII case-insensitive substring test; ``includes`` tests list membership.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "OPS",
    "AnyOf",
    "CompiledRule",
    "Firing",
    "Op",
    "Predicate",
    "Program",
    "Test",
    "ascii_lower",
    "holds",
    "mentioned",
    "tests_of",
]

Op = Literal[
    "eq", "ne", "in", "not_in", "ge", "le", "gt", "lt",
    "includes", "includes_any", "excludes", "mentions", "recorded", "missing",
]  # fmt: skip

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class Test:
    """One test of one fact property."""

    __test__ = False  # not a pytest test class

    key: str
    op: Op
    value: Any = None


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one of these tests holds (all on the same fact)."""

    tests: tuple[Test, ...]


Predicate = Test | AnyOf
Firing = tuple[int, str | None]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule as backends see it: where it comes from and what it tests."""

    index: int
    rule_id: str
    ruleset: str
    scope: str | None
    case_tests: tuple[Predicate, ...]
    item_tests: tuple[Predicate, ...]


@dataclass(frozen=True, slots=True)
class Program:
    """Every enabled rule of every loaded ruleset, in load order."""

    rules: tuple[CompiledRule, ...]
    fingerprint: str


def tests_of(predicate: Predicate) -> tuple[Test, ...]:
    """The tests a predicate is made of: itself, or the alternatives of an ``any`` group."""
    return predicate.tests if isinstance(predicate, AnyOf) else (predicate,)


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only: ``mentions`` terms are ASCII, and no backend folds other letters."""
    return text.translate(_ASCII_LOWER)


def mentioned(text: str, terms: tuple[str, ...] | frozenset[str]) -> list[str]:
    """The terms that occur in ``text`` (the one definition of ``mentions``)."""
    folded = ascii_lower(text)
    return [term for term in terms if term in folded]


def _mentions(have: Any, terms: tuple[str, ...]) -> bool:
    return bool(mentioned(have, terms))


OPS: Mapping[str, Callable[[Any, Any], bool]] = {
    "eq": lambda have, want: have == want,
    "ne": lambda have, want: have != want,
    "in": lambda have, want: have in want,
    "not_in": lambda have, want: have not in want,
    "ge": lambda have, want: have >= want,
    "le": lambda have, want: have <= want,
    "gt": lambda have, want: have > want,
    "lt": lambda have, want: have < want,
    "includes": lambda have, want: want in have,
    "includes_any": lambda have, want: any(w in have for w in want),
    "excludes": lambda have, want: not any(w in have for w in want),
    "mentions": _mentions,
    "recorded": lambda _have, _want: True,
}


def holds(predicate: Predicate, fact: Mapping[str, Any]) -> bool:
    """Whether ``predicate`` holds for ``fact`` (the reference semantics)."""
    if isinstance(predicate, AnyOf):
        return any(holds(t, fact) for t in predicate.tests)
    if predicate.op == "missing":
        return predicate.key not in fact
    if predicate.key not in fact:
        return False
    return OPS[predicate.op](fact[predicate.key], predicate.value)
