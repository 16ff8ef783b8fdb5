"""The proposal's JSON Schema and the engine agree on every field, and both backends take
everything the schema admits.

Hypothesis generates proposal documents (valid ones, and valid ones with fields set to edge
values, removed or added) and each is given to a JSON Schema validator (draft 2020-12, formats
checked, patterns read as ECMA-262 reads them) and to the engine. Both must accept it or both
reject it. The one kind of rule the schema cannot say is a reference between values (a member
id used twice, a participant or link naming nobody in the network): a document the schema
accepts may fail those checks, and nothing else.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, ValidationError, validators

from riskengine import Engine, InputError, Proposal, json_schema, proposal_from_data

from .paths import EXAMPLES, SCENARIO_PROPOSALS
from .strategies import proposals

SCHEMA = json_schema(Proposal, "proposal")
CROSS_REFERENCES = {"duplicate-id", "unknown-member"}  # what a JSON Schema cannot express


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """``pattern`` as JSON Schema means it (ECMA-262): ``$`` is the end of the string. Python's
    ``re`` also lets ``$`` match before a final newline, which no other validator does."""
    if validator.is_type(instance, "string"):
        python = pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith(r"\$") else pattern
        if not re.search(python, instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})  # type: ignore[no-untyped-call]
VALIDATOR = _Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _as_json(data: Any) -> Any:
    """A document as JSON carries it: dates as text."""
    return json.loads(json.dumps(data, default=lambda v: v.isoformat() if isinstance(v, dt.date) else str(v)))


def _examples() -> list[dict[str, Any]]:
    files = [*EXAMPLES.glob("*.yaml"), *SCENARIO_PROPOSALS.glob("*.yaml")]
    return [_as_json(yaml.safe_load(p.read_text(encoding="utf-8"))) for p in sorted(files)]


EXAMPLE_DOCS = _examples()


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].split("/")[-1]]
    return node


def _field_paths() -> dict[tuple[str, ...], list[Any]]:
    """Every field the schema names, as a path (``*`` for any list item), with its listed values."""
    found: dict[tuple[str, ...], list[Any]] = {}

    def walk(node: dict[str, Any], path: tuple[str, ...], depth: int) -> None:
        node = _resolve(node)
        if depth > 6:
            return
        for option in node.get("anyOf", []):
            walk(option, path, depth + 1)
        if "items" in node:
            walk(node["items"], (*path, "*"), depth + 1)
        for key, child in node.get("properties", {}).items():
            found.setdefault((*path, key), [])
            resolved = _resolve(child)
            for option in [resolved, *map(_resolve, resolved.get("anyOf", []))]:
                found[(*path, key)] += option.get("enum", []) + (
                    [option["const"]] if "const" in option else []
                )
            walk(child, (*path, key), depth + 1)

    walk(SCHEMA, (), 0)
    return found


FIELDS = _field_paths()
EDGES: list[Any] = [
    None, True, False, 0, 1, -1, 5, 5.0, 5.5, -0.0, 1e300, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**30,
    "", " ", "x", "x ", " x", "x\n", "a\nb", "2026-11-22", "2026-02-30", "2026-11-22T10:00:00", "20261122",
    "+02026-11-22", "x" * 4000, "x" * 4001, "é" * 200, "é" * 201, "\u0000", "\ud7ff", [], [1], ["x"], ["x", "x"],
    {}, {"x": 1}, [[]], [["sam", "jo"]], ["sam", "sam"],
]  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


def _concrete(doc: Any, path: tuple[str, ...], draw: st.DrawFn) -> list[str | int] | None:
    """``path`` with each ``*`` replaced by an index of a list the document has, or None."""
    out: list[str | int] = []
    node = doc
    for part in path:
        if part == "*":
            if not isinstance(node, list) or not node:
                return None
            index = draw(st.integers(0, len(node) - 1))
            out.append(index)
            node = node[index]
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _set(doc: Any, path: list[str | int], value: Any, *, delete: bool = False) -> None:
    node = doc
    for part in path[:-1]:
        if isinstance(node, dict):
            if not isinstance(node.get(part), dict | list):
                node[part] = {}
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int):
            node = node[part]
        else:
            return
    last = path[-1]
    if isinstance(node, dict) and isinstance(last, str):
        if delete:
            node.pop(last, None)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and not delete:
        node[last] = value


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """A proposal document: valid, or valid with one to three fields changed, removed or added."""
    base = draw(st.sampled_from(EXAMPLE_DOCS) | proposals().map(_as_json))
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(sorted(FIELDS)))
        concrete = _concrete(doc, path, draw)
        if concrete is None:
            continue
        action = draw(st.sampled_from(["listed", "edge", "edge", "any", "delete", "extra"]))
        if action == "delete":
            _set(doc, concrete, None, delete=True)
        elif action == "extra":
            _set(doc, [*concrete[:-1], draw(st.sampled_from(["extra", "Id", "with_", "class_"]))], "x")
        else:
            choices = {"listed": FIELDS[path] or EDGES, "edge": EDGES}.get(action)
            _set(doc, concrete, draw(st.sampled_from(choices)) if choices else draw(JSON_VALUES))
    return doc


def _schema_accepts(doc: Any) -> bool:
    return bool(VALIDATOR.is_valid(doc))


def _engine_verdict(doc: Any) -> tuple[bool, set[str]]:
    try:
        proposal_from_data(doc)
    except InputError as exc:
        return False, {d.code for d in exc.diagnostics}
    return True, set()


KNOWN = [  # the cases the issue found, and one of each fix
    {"closeness": 5.0},
    {"closeness": 5.5},
    {"schema_version": True},
    {"schema_version": 1.0},
    {"as_of": 20261122},
    {"as_of": "2026-11-22T00:00:00"},
    {"id": "p-1\n"},
    {"kind": "next-door neighbour"},
    {"kind": ""},
]


def _known(change: dict[str, Any]) -> Any:
    doc = copy.deepcopy(EXAMPLE_DOCS[0])
    ((key, value),) = change.items()
    if key in {"closeness", "kind"}:
        doc["network"][0][key] = value
    else:
        doc[key] = value
    return doc


@pytest.mark.parametrize("change", KNOWN, ids=[json.dumps(k) for k in KNOWN])
def test_the_cases_the_issue_found_agree(change: dict[str, Any]) -> None:
    doc = _known(change)
    accepted, codes = _engine_verdict(doc)
    assert _schema_accepts(doc) == accepted, (change, codes)


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(documents())
@example(_known({"closeness": 5.0}))
@example(_known({"schema_version": True}))
def test_the_schema_and_the_engine_agree(doc: Any) -> None:
    """Accepted by both or rejected by both; the schema may accept what fails a cross-reference check only."""
    schema_ok = _schema_accepts(doc)
    engine_ok, codes = _engine_verdict(doc)
    if schema_ok and not engine_ok:
        assert codes <= CROSS_REFERENCES, (codes, [e.message for e in VALIDATOR.iter_errors(doc)][:3])
    else:
        assert schema_ok == engine_ok, (codes, [e.message[:200] for e in VALIDATOR.iter_errors(doc)][:3])


_ENGINES: dict[str, Engine] = {}


def _engine(backend: str) -> Engine:
    if backend not in _ENGINES:
        _ENGINES[backend] = Engine.from_paths(backend=backend)
    return _ENGINES[backend]


def _at_the_edges() -> Any:
    """Every whole number at the end of its range, whole numbers written as 5.0, and text at its
    longest in characters that take four bytes each."""
    doc = copy.deepcopy(EXAMPLE_DOCS[0])
    doc["person"]["recent_crisis_days"] = 2**63 - 1
    doc["person"]["what_matters"] = "\U0001f600" * 4000
    doc["network"][0].update(known_for_months=float(2**53), closeness=5.0, kind="x" * 200)
    doc["proposal"]["goal"] = "é" * 4000
    doc["history"] = [{"what": "y" * 4000, "when": -(2**63)}, {"what": "z", "when": 2**63 - 1}]
    return doc


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(documents())
@example(_at_the_edges())
def test_both_backends_take_every_document_the_schema_admits(doc: Any) -> None:
    """Whatever the schema and the engine accept, the durable and reference backends both evaluate, alike."""
    if not _schema_accepts(doc) or not _engine_verdict(doc)[0]:
        return
    proposal = proposal_from_data(doc)
    durable, reference = (
        json.loads(_engine(b).evaluate(proposal).to_json()) for b in ("durable", "reference")
    )
    assert (
        durable["provenance"].pop("backend") == "durable"
        and reference["provenance"].pop("backend") == "reference"
    )
    assert durable == reference
