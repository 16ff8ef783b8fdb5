"""Compile ``when`` conditions to IR tests, checking every field and value at load time.

A condition is a one-key mapping: ``field: value`` (equals), ``field: [a, b]`` (one
of), ``field: {operator: value}``, or ``any: [conditions…]``. Fields are
``scope.field`` from ``fields.FIELDS``. Problems become diagnostics with codes
``unknown-field``, ``unknown-value``, ``type-mismatch``, ``bad-condition``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from riskengine.errors import Diagnostic, did_you_mean
from riskengine.read.source import SourceMap, YamlPath, dotted
from riskengine.rules.fields import CASE_SCOPES, FIELDS, FieldSpec, fact_key
from riskengine.rules.ir import AnyOf, Op, Predicate, Test, tests_of

__all__ = ["OPERATORS", "CompiledConditions", "compile_conditions", "resolve_field"]

OPERATORS: dict[str, Op] = {
    "is": "eq",
    "is_not": "ne",
    "one_of": "in",
    "not_one_of": "not_in",
    "at_least": "ge",
    "at_most": "le",
    "more_than": "gt",
    "less_than": "lt",
    "includes": "includes",
    "includes_any": "includes_any",
    "includes_none": "excludes",
    "mentions": "mentions",
    "recorded": "recorded",
}
_ALLOWED: dict[str, frozenset[str]] = {
    "enum": frozenset({"eq", "ne", "in", "not_in", "recorded"}),
    "name": frozenset({"eq", "ne", "in", "not_in", "recorded"}),
    "number": frozenset({"eq", "ne", "in", "not_in", "ge", "le", "gt", "lt", "recorded"}),
    "bool": frozenset({"eq", "ne", "recorded"}),
    "text": frozenset({"mentions", "recorded"}),
    "list": frozenset({"includes", "includes_any", "excludes", "recorded"}),
}
_TERM = re.compile(r"^[a-z0-9]+( [a-z0-9]+)*$")
# What both backends handle identically (durable-rules' envelope): integers of 64 bits, finite
# numbers that JSON writes without an exponent (durable reads 1e+20 as its error 204), and
# strings well inside durable's 16-bit lengths (it compares lengths as 16-bit numbers).
INT_RANGE = (-(2**63), 2**63 - 1)
MAX_VALUE_CHARS = 10_000
# Bounds on a rule's shape, checked before anything is compiled: well above any shipped rule
# (at most 4 conditions, 4 alternatives, 36 values) and well inside what durable can hold.
MAX_CONDITIONS = 32  # conditions in one `when`
MAX_ALTERNATIVES = 32  # entries in one `any` group
MAX_VALUES = 256  # values in one list operand (one_of, includes_any, mentions, ...)
ALL_FIELDS = tuple(f"{scope}.{name}" for scope, names in FIELDS.items() for name in names)


@dataclass
class CompiledConditions:
    """The tests of one rule, split by the fact they apply to, and the fields used."""

    case: list[Predicate] = field(default_factory=list)
    item: list[Predicate] = field(default_factory=list)
    used: list[str] = field(default_factory=list)


@dataclass
class _Ctx:
    scope: str | None
    source: SourceMap
    problems: list[Diagnostic]

    def fail(self, path: YamlPath, code: str, message: str, *, key: bool = False) -> None:
        self.problems.append(Diagnostic(self.source.locate(path, key=key), code, dotted(path), message))

    def warn(self, path: YamlPath, code: str, message: str) -> None:
        self.problems.append(Diagnostic(self.source.locate(path), code, dotted(path), message, "warning"))


def resolve_field(name: str, scope: str | None) -> tuple[str, FieldSpec] | str:
    """Return ``(scope, spec)`` for ``scope.field``, or a message saying what is wrong."""
    head, _, tail = name.partition(".")
    if head in FIELDS and tail in FIELDS[head]:
        if head not in CASE_SCOPES and head != scope:
            return f"'{name}' needs `for_each: {head}` on the rule"
        return head, FIELDS[head][tail]
    return f"unknown field '{name}'{did_you_mean(name, ALL_FIELDS)}"


def compile_conditions(
    conditions: tuple[dict[str, Any], ...], scope: str | None, path: YamlPath, source: SourceMap
) -> tuple[CompiledConditions, list[Diagnostic]]:
    """Compile a rule's ``when`` list; return the tests and any problems."""
    ctx = _Ctx(scope, source, [])
    out = CompiledConditions()
    if len(conditions) > MAX_CONDITIONS:
        message = f"a rule may have at most {MAX_CONDITIONS} conditions (this one has {len(conditions):,}); split it into several rules"
        ctx.fail(path, "too-many-conditions", message)
        return out, ctx.problems
    for i, condition in enumerate(conditions):
        compiled = _condition(condition, (*path, i), ctx, out.used)
        if compiled is not None:
            target, predicate = compiled
            (out.item if target != "case" else out.case).append(predicate)
    return out, ctx.problems


def _condition(
    condition: dict[str, Any], path: YamlPath, ctx: _Ctx, used: list[str]
) -> tuple[str, Predicate] | None:
    if len(condition) != 1:
        ctx.fail(path, "bad-condition", "a condition has exactly one field (use a new line for each)")
        return None
    ((name, value),) = condition.items()
    if name == "any":
        return _any(value, (*path, "any"), ctx, used)
    return _field_test(name, value, path, ctx, used)


def _any(value: Any, path: YamlPath, ctx: _Ctx, used: list[str]) -> tuple[str, Predicate] | None:
    if not isinstance(value, list) or len(value) < 2:
        ctx.fail(path, "bad-condition", "`any` takes a list of two or more conditions")
        return None
    if len(value) > MAX_ALTERNATIVES:
        message = f"an `any` group may have at most {MAX_ALTERNATIVES} entries (this one has {len(value):,})"
        ctx.fail(path, "too-many-conditions", message)
        return None
    parts: list[tuple[str, Predicate]] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or "any" in item:
            ctx.fail((*path, i), "bad-condition", "each `any` entry is one `field: value` condition")
            continue
        compiled = _condition(item, (*path, i), ctx, used)
        if compiled is not None:
            parts.append(compiled)
    targets = {target for target, _ in parts}
    if len(targets) > 1:
        ctx.fail(path, "bad-condition", "an `any` group tests either the case or the item, not both")
        return None
    if len(parts) != len(value):
        return None
    tests = tuple(t for _, p in parts for t in tests_of(p))
    return targets.pop(), AnyOf(tests)


def _field_test(
    name: str, value: Any, path: YamlPath, ctx: _Ctx, used: list[str]
) -> tuple[str, Predicate] | None:
    resolved = resolve_field(name, ctx.scope)
    key_path = (*path, name)
    if isinstance(resolved, str):
        ctx.fail(key_path, "unknown-field", resolved, key=True)
        return None
    scope, spec = resolved
    op, operand, value_path = _operator(value, key_path, ctx)
    if op is None:
        return None
    if op not in _ALLOWED[spec.type]:
        allowed = ", ".join(k for k, v in OPERATORS.items() if v in _ALLOWED[spec.type])
        ctx.fail(value_path, "type-mismatch", f"'{name}' is {spec.type}; use one of: {allowed}")
        return None
    checked = _check_value(op, operand, spec, value_path, ctx)
    if checked is _BAD:
        return None
    used.append(name)
    target = "case" if scope in CASE_SCOPES else "item"
    key = fact_key(scope, name.partition(".")[2])
    if op == "recorded":
        return target, Test(key, "recorded" if checked else "missing")
    if op == "excludes":  # an empty (unrecorded) list includes none of anything
        return target, AnyOf((Test(key, "missing"), Test(key, op, checked)))
    return target, Test(key, op, checked)


def _operator(value: Any, path: YamlPath, ctx: _Ctx) -> tuple[Op | None, Any, YamlPath]:
    if isinstance(value, dict):
        if len(value) != 1:
            ctx.fail(path, "bad-condition", "give one operator, e.g. {at_least: 2}")
            return None, None, path
        ((word, operand),) = value.items()
        if word not in OPERATORS:
            ctx.fail(
                (*path, word),
                "bad-condition",
                f"unknown operator '{word}'{did_you_mean(word, list(OPERATORS))}",
                key=True,
            )
            return None, None, path
        return OPERATORS[word], operand, (*path, word)
    if value is None:
        ctx.fail(path, "bad-condition", "give a value; to test for absence use {recorded: false}")
        return None, None, path
    return ("in" if isinstance(value, list) else "eq"), value, path


class _Bad:
    pass


_BAD = _Bad()


def _check_value(op: Op, operand: Any, spec: FieldSpec, path: YamlPath, ctx: _Ctx) -> Any:
    if op == "recorded":
        return operand if isinstance(operand, bool) else _fail(ctx, path, "`recorded` takes true or false")
    if op == "mentions":
        return _terms(operand, path, ctx)
    many = op in {"in", "not_in", "includes_any", "excludes"}
    values = operand if many else [operand]
    if many and (not isinstance(operand, list) or not operand):
        return _fail(ctx, path, "give a list of one or more values")
    if many and len(operand) > MAX_VALUES:
        return _fail(
            ctx, path, f"a list may have at most {MAX_VALUES} values (this one has {len(operand):,})"
        )
    for i, v in enumerate(values):
        where = (*path, i) if many else path
        if not _value_ok(v, spec, where, ctx):
            return _BAD
    return tuple(values) if many else operand


def _value_ok(value: Any, spec: FieldSpec, path: YamlPath, ctx: _Ctx) -> bool:
    kind = spec.type
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "bool":
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        expected = {"number": "a number", "bool": "true or false"}.get(kind, "a word")
        ctx.fail(path, "type-mismatch", f"expected {expected}, got {_quoted(value)}")
        return False
    problem = _outside_envelope(value)
    if problem is not None:
        ctx.fail(path, "out-of-range", problem)
        return False
    if spec.lower and isinstance(value, str) and value != value.lower():
        ctx.warn(
            path,
            "never-matches",
            f"{_quoted(value)} can never match: this field's facts are lower-case; write '{value.lower()[:80]}'",
        )
    if spec.vocab is not None and value not in spec.vocab:
        ctx.fail(
            path, "unknown-value", f"'{value}' is not in the vocabulary{did_you_mean(value, spec.vocab)}"
        )
        return False
    return True


def _outside_envelope(value: Any) -> str | None:
    """Why a rule value is outside what both backends handle identically, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not INT_RANGE[0] <= value <= INT_RANGE[1]:
        return "a whole number in a rule must fit in 64 bits (at most 9223372036854775807)"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "a number in a rule must be finite (not .inf or .nan)"
        if "e" in repr(value) or abs(value) >= 1e15:
            return f"{value!r} is too large or too small to compare exactly; write a number between 0.0001 and 10^15"
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return f"a value in a rule may be at most {MAX_VALUE_CHARS:,} characters (this one is {len(value):,})"
    return None


def _quoted(value: Any) -> str:
    """A value for a message: at most 80 characters of it."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _terms(operand: Any, path: YamlPath, ctx: _Ctx) -> Any:
    terms = [operand] if isinstance(operand, str) else operand
    if not isinstance(terms, list) or not terms:
        return _fail(ctx, path, "`mentions` takes a word or a list of words")
    if len(terms) > MAX_VALUES:
        return _fail(ctx, path, f"a list may have at most {MAX_VALUES} terms (this one has {len(terms):,})")
    for i, term in enumerate(terms):
        if isinstance(term, str) and len(term) > MAX_VALUE_CHARS:
            where = (*path, i) if isinstance(operand, list) else path
            return _fail(
                ctx,
                where,
                f"a term may be at most {MAX_VALUE_CHARS:,} characters (this one is {len(term):,})",
            )
        if not isinstance(term, str) or not _TERM.match(term):
            where = (*path, i) if isinstance(operand, list) else path
            return _fail(ctx, where, "write terms in lower-case letters, digits and single spaces")
    return tuple(terms)


def _fail(ctx: _Ctx, path: YamlPath, message: str) -> _Bad:
    ctx.fail(path, "bad-condition", message)
    return _BAD
