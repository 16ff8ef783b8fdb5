"""One NDJSON line in, one NDJSON line out, in the batch record format (issue 15).

An input line is one proposal as a JSON object; an output line is
``{"record":1,"input":"request:N","id":...,"evaluation":{...}}`` or, for a line that cannot be
evaluated, ``{...,"errors":[located diagnostics with pointer]}``: exactly what
``riskengine batch`` writes (:mod:`riskengine.batch.records`).

May import: the standard library, ``riskengine`` public names, :mod:`riskengine.batch`.
"""

from __future__ import annotations

import riskengine
from riskengine.batch import records

__all__ = ["evaluate_line"]


def evaluate_line(engine: riskengine.Engine, text: str, *, source: str, line: int) -> str:
    """The output line for one input line (ending in a newline)."""
    return records.evaluate_record(engine, text, source=source, line=line)[0]
