"""RFC 9457 problem details: every error the service sends, with located diagnostics.

A diagnostic from riskengine (``path``, ``line``, ``column``, dotted ``field``) becomes one
entry of ``diagnostics`` with an RFC 6901 JSON ``pointer`` into the request body; for YAML
bodies ``line`` and ``column`` say where in the text. ``type`` is a URN naming the problem,
``title`` is constant per type, ``detail`` says what happened this time.

May import: the standard library, pydantic, orjson.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from riskengine import json_pointer

__all__ = [
    "PROBLEM_JSON",
    "Problem",
    "ProblemDiagnostic",
    "ProblemError",
    "diagnostics_from",
    "problem_body",
]

PROBLEM_JSON = "application/problem+json"
_TYPE = "urn:riskengine:problem:"
# Syntax problems are 400 (the body cannot be read); everything else about a readable body is 422.
SYNTAX_CODES = frozenset({"yaml-syntax", "json-syntax", "empty", "bad-encoding", "yaml-key", "duplicate-key"})


class ProblemDiagnostic(BaseModel):
    """One problem in the request, located."""

    model_config = ConfigDict(extra="forbid")

    pointer: str = Field(description="RFC 6901 JSON pointer into the request body ('' = the whole body)")
    line: int | None = Field(default=None, description="1-based line in the body, where known")
    column: int | None = Field(default=None, description="1-based column in the body, where known")
    field: str = Field(description="the dotted field path (or FHIR path), '' for the whole document")
    code: str
    severity: str = "error"
    message: str
    hint: str | None = Field(default=None, description="a likely fix, such as the nearest allowed value")


class Problem(BaseModel):
    """An RFC 9457 problem details object, sent as application/problem+json."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="a URN naming the kind of problem")
    title: str
    status: int
    detail: str
    instance: str | None = None
    diagnostics: list[ProblemDiagnostic] = Field(default_factory=list)


class ProblemError(Exception):
    """Raise to answer with a problem; ``headers`` go on the response (Retry-After, ...)."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        diagnostics: Iterable[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.diagnostics = [dict(d) for d in diagnostics]
        self.headers = dict(headers or {})

    def body(self, instance: str | None = None) -> bytes:
        """The problem as JSON bytes."""
        return problem_body(self.status, self.code, self.title, self.detail, instance, self.diagnostics)


def problem_body(
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str | None = None,
    diagnostics: Iterable[Mapping[str, Any]] = (),
) -> bytes:
    """Problem details as JSON bytes."""
    body: dict[str, Any] = {"type": _TYPE + code, "title": title, "status": status, "detail": detail}
    if instance is not None:
        body["instance"] = instance
    body["diagnostics"] = list(diagnostics)
    return orjson.dumps(body)


def diagnostics_from(raw: Iterable[Mapping[str, Any]], *, located: bool) -> list[dict[str, Any]]:
    """Problem diagnostics from ``Diagnostic.to_dict()`` dicts; ``located``: keep line and column."""
    out = []
    for d in raw:
        field = str(d.get("field", ""))
        line, column = int(d.get("line") or 0), int(d.get("column") or 0)
        entry: dict[str, Any] = {
            "pointer": str(d["pointer"]) if "pointer" in d else json_pointer(field),
            "field": field,
            "code": str(d.get("code", "error")),
            "severity": str(d.get("severity", "error")),
            "message": str(d.get("message", "")),
        }
        if d.get("hint"):
            entry["hint"] = str(d["hint"])
        if located and line:
            entry["line"], entry["column"] = line, column or None
        out.append(entry)
    return out


def status_for(raw: Iterable[Mapping[str, Any]]) -> int:
    """400 when the body could not be read as a document, else 422."""
    return 400 if any(d.get("code") in SYNTAX_CODES for d in raw) else 422
