"""NDJSON lines in, NDJSON lines out, in the batch record format (issue 15).

An input line is one proposal as a JSON object; an output line is
``{"record":1,"input":"request:N","id":...,"evaluation":{...}}`` or, for a line that cannot be
evaluated, ``{...,"errors":[located diagnostics with pointer]}``: exactly what
``riskengine batch`` writes (:mod:`riskengine.batch.records`).

A worker evaluates a chunk of lines at a time (:func:`evaluate_chunk`): the lines' bytes in,
the answers' bytes out, each as one buffer, so neither side touches a line more than once.

May import: the standard library, orjson, ``riskengine`` public names, :mod:`riskengine.batch`.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

import riskengine
from riskengine.batch import records

__all__ = ["error_line", "evaluate_chunk"]


def error_line(line: int, code: str, message: str) -> bytes:
    """The output line for request line ``line`` that could not be evaluated at all."""
    error = {"path": "request", "line": line, "column": 0, "severity": "error", "code": code, "field": "",
             "message": message, "pointer": ""}  # fmt: skip
    return orjson.dumps({"record": 1, "input": f"request:{line}", "id": None, "errors": [error]}) + b"\n"


def evaluate_chunk(
    engine: riskengine.Engine, numbers: Sequence[int], sizes: Sequence[int], lines: bytes
) -> tuple[bytes, list[tuple[int, bool]]]:
    """The answers to ``lines`` (request lines ``numbers``, of ``sizes`` bytes, one after another).

    Returns the output lines as one buffer, and each one's size and whether it is an evaluation.
    """
    out: list[bytes] = []
    index: list[tuple[int, bool]] = []
    start = 0
    for number, size in zip(numbers, sizes, strict=True):
        raw, start = lines[start : start + size], start + size
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            answer, evaluated = error_line(number, "bad-encoding", "the line is not UTF-8"), False
        else:
            line, evaluated = records.evaluate_record(engine, text, source="request", line=number)
            answer = line.encode("utf-8")
        out.append(answer)
        index.append((len(answer), evaluated))
    return b"".join(out), index
