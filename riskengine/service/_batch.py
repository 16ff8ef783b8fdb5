"""One NDJSON line in, one NDJSON line out, in the batch engineer's record format (issue 15).

Uses :mod:`riskengine.batch.records` (the codec ``riskengine batch`` writes) when it is
installed; until then, the same record shape built here. An input line is one proposal as a
JSON object; an output line is ``{"record":1,"input":"request:N","id":...,"evaluation":{...}}``
or, for a line that cannot be evaluated, ``{...,"errors":[located diagnostics with pointer]}``.

May import: the standard library, ``riskengine`` public names, :mod:`riskengine.batch`,
and :mod:`.problems`.
"""

from __future__ import annotations

import json
from typing import Any

import riskengine

from .problems import pointer

__all__ = ["evaluate_line"]

try:
    from riskengine.batch import records as _records  # type: ignore[import-not-found,attr-defined,unused-ignore]
except ImportError:  # the batch capability has not landed
    _records = None


def evaluate_line(engine: riskengine.Engine, text: str, *, source: str, line: int) -> str:
    """The output line for one input line (ending in a newline)."""
    where = f"{source}:{line}"
    if _records is not None:
        try:
            proposal = _records.read_record(text, source=source, line=line)
        except riskengine.InputError as exc:
            return str(_records.error_line(input=where, proposal_id=getattr(exc, "record_id", None),
                                           diagnostics=exc.diagnostics))  # fmt: skip
        evaluation = engine.evaluate(proposal)
        return str(_records.result_line(input=where, proposal_id=proposal.id,
                                        evaluation_json=_records.evaluation_json(evaluation)))  # fmt: skip
    return _fallback(engine, text, where, source, line)


def _fallback(engine: riskengine.Engine, text: str, where: str, source: str, line: int) -> str:
    data: Any = None
    try:
        data = json.loads(text)
        proposal = riskengine.proposal_from_data(data)
    except json.JSONDecodeError as exc:
        errors = [{"path": source, "line": line, "column": exc.colno, "severity": "error",
                   "code": "json-syntax", "field": "", "message": exc.msg, "pointer": ""}]  # fmt: skip
        return _line({"record": 1, "input": where, "id": None, "errors": errors})
    except riskengine.InputError as exc:
        found = data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), str) else None
        errors = [{**d.to_dict(), "path": source, "line": line, "column": 0, "pointer": pointer(d.field)}
                  for d in exc.diagnostics]  # fmt: skip
        return _line({"record": 1, "input": where, "id": found, "errors": errors})
    evaluation = engine.evaluate(proposal)
    return (
        f'{{"record":1,"input":{json.dumps(where)},"id":{json.dumps(proposal.id, ensure_ascii=False)},'
        f'"evaluation":{evaluation.to_json_line()}}}\n'
    )


def _line(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n"
