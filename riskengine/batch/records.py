"""The batch record codec: one proposal in (a YAML/JSON file or an NDJSON line), one line out.

An output line is one JSON object, with its keys in this order::

    {"record":1,"input":"corpus.ndjson:12","id":"prop-2041","evaluation":{...}}
    {"record":1,"input":"plans/a.yaml","id":null,"errors":[{...located diagnostic...}]}

``record`` is the format's version; ``input`` is the file, or ``file:line`` for an NDJSON line;
``id`` is the proposal's id (``null`` when it cannot be read); ``evaluation`` is the evaluation
exactly as ``riskengine evaluate`` prints it, in compact JSON; ``errors`` are the diagnostics
of ``riskengine validate --format json`` plus an RFC 6901 ``pointer`` into the record, located
in the input file (for an NDJSON line: that line, and the column within it).

Reading never writes anything: unlike :func:`riskengine.read_proposal`, the parse is not kept
in riskengine's parse cache (a corpus of case records must not be copied to disk).

May import: the standard library, orjson, PyYAML, ``riskengine`` public names, :mod:`._core`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson
import yaml

import riskengine

from ._core import validate_located

__all__ = [
    "RECORD_VERSION",
    "RecordError",
    "error_line",
    "evaluate_record",
    "evaluation_json",
    "pointer",
    "read_record",
    "result_line",
]

RECORD_VERSION = 1
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RecordError(riskengine.InputError):
    """A record that cannot be evaluated, with its proposal id when that much could be read."""

    def __init__(self, diagnostics: Iterable[riskengine.Diagnostic], record_id: str | None = None) -> None:
        super().__init__(diagnostics)
        self.record_id = record_id


class _Unsure(Exception):
    """The fast YAML reading met something only the located reading decides."""


def read_record(text: str, *, source: str, line: int | None) -> riskengine.Proposal:
    """The proposal in one record; raise :class:`RecordError` with located diagnostics.

    ``line`` is the record's line in an NDJSON file (1-based), or None for a whole file; a
    whole file is YAML unless its name ends in ``.json``.
    """
    if line is None and not source.endswith(".json"):
        try:
            data = _read_yaml(text)
        except _Unsure:  # riskengine's located reading says what is wrong, and where
            return _read_located(text, source)
    else:
        data = _read_json(text, source, line)
    try:
        return validate_located(data, source, text)
    except riskengine.InputError as exc:
        raise RecordError(_relocated(exc.diagnostics, source, line), _id_of(data)) from None


def _read_located(text: str, source: str) -> riskengine.Proposal:
    try:
        return riskengine.parse_proposal(text, source)
    except riskengine.InputError as exc:
        raise RecordError(exc.diagnostics) from None


def _read_json(text: str, source: str, line: int | None) -> Any:
    """JSON with every duplicate key refused, quickly in the usual case.

    In text with no backslash and no whitespace after a quote (compact JSON, as NDJSON writers
    give it), every ``":`` ends a key, once per key given; orjson's compact re-encoding has one
    per distinct key. Equal counts: no key was given twice. Other text takes the exact reading.
    """
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return _read_json_exactly(text, source, line)
    if _unsure(text) or text.count('":') != orjson.dumps(data).count(b'":'):
        return _read_json_exactly(text, source, line)
    return data


def _unsure(text: str) -> bool:
    """Whether the key count could be off: an escape, or whitespace that could follow a key.

    Single characters are found with memchr, so these tests cost little next to the parse.
    """
    if "\\" in text or "\t" in text or "\r" in text or text.find("\n", 0, len(text) - 1) >= 0:
        return True
    return '" ' in text


def _read_json_exactly(text: str, source: str, line: int | None) -> Any:
    """The standard library's reading, which locates a syntax error and sees every duplicate key."""
    try:
        return json.loads(text, object_pairs_hook=_refuse_duplicates)
    except json.JSONDecodeError as exc:
        where = riskengine.Location(source, (line or 1) + exc.lineno - 1, exc.colno)
        raise RecordError([riskengine.Diagnostic(where, "json-syntax", "", exc.msg)]) from None
    except _Duplicate as exc:
        raise RecordError(_duplicate(text, source, line, exc.key)) from None


def _read_yaml(text: str) -> Any:
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no arbitrary objects
    except (yaml.YAMLError, ValueError, OverflowError):
        raise _Unsure from None
    if data is None:
        raise _Unsure
    return data


class _StrictLoader(_Loader):  # type: ignore[misc]
    """libyaml's loader with keys taken as written, and anything unusual left to the located reading."""


def _strict_mapping(loader: Any, node: yaml.MappingNode) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<" or key_node.value in result:
            raise _Unsure
        result[str(key_node.value)] = loader.construct_object(value_node, deep=True)
    return result


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _strict_mapping)


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
    return result


def _duplicate(text: str, source: str, line: int | None, key: str) -> list[riskengine.Diagnostic]:
    """Where the duplicate key is (the located reading finds it), or at least which key it is."""
    try:
        riskengine.parse_proposal(text, source)
    except riskengine.InputError as exc:
        return _relocated(exc.diagnostics, source, line)
    where = riskengine.Location(source, line or 0)
    return [riskengine.Diagnostic(where, "duplicate-key", "", f"duplicate key '{key}'")]


def _id_of(data: Any) -> str | None:
    found = data.get("id") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None


def _relocated(
    diagnostics: Iterable[riskengine.Diagnostic], source: str, line: int | None
) -> list[riskengine.Diagnostic]:
    """Diagnostics located in a record's own text, moved to its place in the input file."""
    if line is None:
        return list(diagnostics)
    out = []
    for d in diagnostics:
        where = riskengine.Location(source, line + max(d.location.line, 1) - 1, d.location.column)
        out.append(riskengine.Diagnostic(where, d.code, d.field, d.message, d.severity, d.hint))
    return out


def evaluation_json(evaluation: riskengine.Evaluation) -> str:
    """The evaluation as ``riskengine evaluate`` prints it, in compact JSON.

    ``Evaluation.to_json_line`` (orjson, the same bytes, about twice as fast) where this
    riskengine has it, else pydantic's writer.
    """
    line = getattr(evaluation, "to_json_line", None)
    return str(line()) if callable(line) else evaluation.model_dump_json(by_alias=True)


def result_line(*, input: str, proposal_id: str | None, evaluation_json: str) -> str:
    """The output line for an evaluated record (ending in a newline)."""
    return f'{{"record":{RECORD_VERSION},"input":{_string(input)},"id":{_string(proposal_id)},"evaluation":{evaluation_json}}}\n'


def error_line(*, input: str, proposal_id: str | None, diagnostics: Iterable[riskengine.Diagnostic]) -> str:
    """The output line for a record that could not be evaluated (ending in a newline)."""
    errors = [{**d.to_dict(), "pointer": pointer(d.field)} for d in diagnostics]
    body = {"record": RECORD_VERSION, "input": input, "id": proposal_id, "errors": errors}
    return orjson.dumps(body).decode("utf-8") + "\n"


def _string(value: str | None) -> str:
    return orjson.dumps(value).decode("utf-8")


def pointer(field: str) -> str:
    """RFC 6901 JSON pointer for a dotted field path: ``network[0].kind`` -> ``/network/0/kind``."""
    if not field:
        return ""
    parts: list[str] = []
    for chunk in field.split("."):
        name, _, rest = chunk.partition("[")
        if name:
            parts.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            parts.append(index)
            rest = rest.removeprefix("[")
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def evaluate_record(
    engine: riskengine.Engine, text: str, *, source: str, line: int | None, unreadable: str = ""
) -> tuple[str, bool]:
    """The output line for one record, and whether it was evaluated. Never raises for a bad record.

    ``unreadable`` says why the record's text could not be read (it then gives an error line).
    An evaluation that fails gives an error line too; an unexpected failure is named by its type
    only (its message could quote the record).
    """
    where = source if line is None else f"{source}:{line}"
    if unreadable:
        problem = riskengine.Diagnostic(riskengine.Location(source, line or 0), "unreadable", "", unreadable)
        return error_line(input=where, proposal_id=None, diagnostics=[problem]), False
    proposal_id: str | None = None
    try:
        proposal = read_record(text, source=source, line=line)
        proposal_id = proposal.id
        evaluation = engine.evaluate(proposal)
    except RecordError as exc:
        return error_line(input=where, proposal_id=exc.record_id, diagnostics=exc.diagnostics), False
    except riskengine.RiskEngineError as exc:
        return error_line(input=where, proposal_id=proposal_id, diagnostics=exc.diagnostics), False
    except Exception as exc:
        message = f"evaluation failed: {type(exc).__name__} (a bug: please report it)"
        problem = riskengine.Diagnostic(riskengine.Location(source, line or 0), "internal", "", message)
        return error_line(input=where, proposal_id=proposal_id, diagnostics=[problem]), False
    return result_line(
        input=where, proposal_id=proposal_id, evaluation_json=evaluation_json(evaluation)
    ), True
