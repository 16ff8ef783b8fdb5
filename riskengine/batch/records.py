"""The batch record codec: one proposal in (a YAML/JSON file or an NDJSON line), one line out.

An output line is one JSON object, with its keys in this order::

    {"record":1,"input":"corpus.ndjson:12","id":"prop-2041","evaluation":{...}}
    {"record":1,"input":"plans/a.yaml","id":null,"errors":[{...located diagnostic...}]}

``record`` is the format's version; ``input`` is the file, or ``file:line`` for an NDJSON line;
``id`` is the proposal's id (``null`` when it cannot be read); ``evaluation`` is the evaluation
exactly as ``riskengine evaluate`` prints it, in compact JSON; ``errors`` are the diagnostics
of ``riskengine validate --format json`` plus an RFC 6901 ``pointer`` into the record, located
in the input file (for an NDJSON line: that line, and the column within it).

Reading never writes anything (riskengine keeps no parse of a proposal), and every record is
held to a proposal's limits (size, characters, nesting) as ``riskengine evaluate`` holds a file.

May import: the standard library, orjson, ``riskengine`` public names, :mod:`._core`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson

import riskengine

from ._core import check_json_text, check_nesting, validate_located

__all__ = [
    "RECORD_VERSION",
    "RecordError",
    "error_line",
    "evaluate_record",
    "evaluation_json",
    "read_record",
    "result_line",
]

RECORD_VERSION = 1


class RecordError(riskengine.InputError):
    """A record that cannot be evaluated, with its proposal id when that much could be read."""

    def __init__(self, diagnostics: Iterable[riskengine.Diagnostic], record_id: str | None = None) -> None:
        super().__init__(diagnostics)
        self.record_id = record_id


def read_record(text: str, *, source: str, line: int | None) -> riskengine.Proposal:
    """The proposal in one record; raise :class:`RecordError` with located diagnostics.

    ``line`` is the record's line in an NDJSON file (1-based), or None for a whole file. A whole
    file is read as ``riskengine evaluate`` reads it (:func:`riskengine.parse_proposal`: YAML,
    or strict JSON if its name ends in ``.json``, within a proposal's limits, never cached). An
    NDJSON line is checked against the same limits and read with orjson.
    """
    if line is None:
        try:
            return riskengine.parse_proposal(text, source)
        except riskengine.InputError as exc:
            raise RecordError(exc.diagnostics) from None
    data: Any = None
    try:
        text = check_json_text(text, source)
        data = _read_json(text, source, line)
        return validate_located(data, source, text)
    except RecordError:
        raise
    except riskengine.InputError as exc:
        raise RecordError(_relocated(exc.diagnostics, source, line), _id_of(data)) from None


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
        check_nesting(text, source)  # before json recurses (orjson stops at 1,024 levels by itself)
        return json.loads(text, object_pairs_hook=_refuse_duplicates)
    except riskengine.InputError as exc:
        raise RecordError(_relocated(exc.diagnostics, source, line)) from None
    except json.JSONDecodeError as exc:
        where = riskengine.Location(source, (line or 1) + exc.lineno - 1, exc.colno)
        raise RecordError([riskengine.Diagnostic(where, "json-syntax", "", exc.msg)]) from None
    except _Duplicate as exc:
        raise RecordError(_duplicate(text, source, line, exc.key)) from None


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
    """The evaluation as ``riskengine evaluate`` prints it, in compact JSON (the same writer)."""
    return evaluation.to_json_line()


def result_line(*, input: str, proposal_id: str | None, evaluation_json: str) -> str:
    """The output line for an evaluated record (ending in a newline)."""
    return f'{{"record":{RECORD_VERSION},"input":{_string(input)},"id":{_string(proposal_id)},"evaluation":{evaluation_json}}}\n'


def error_line(*, input: str, proposal_id: str | None, diagnostics: Iterable[riskengine.Diagnostic]) -> str:
    """The output line for a record that could not be evaluated (ending in a newline)."""
    errors = [{**d.to_dict(), "pointer": riskengine.json_pointer(d.field)} for d in diagnostics]
    body = {"record": RECORD_VERSION, "input": input, "id": proposal_id, "errors": errors}
    return orjson.dumps(body).decode("utf-8") + "\n"


def _string(value: str | None) -> str:
    return orjson.dumps(value).decode("utf-8")


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
