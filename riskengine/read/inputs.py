"""Read a command's input once, from a file or, for ``-``, from standard input.

Standard input can be read only once, so its text is read here a single time and every
later step (parsing, shaping, the positions of errors and warnings) works from that one
text. Problems are located in ``<stdin>`` by line and column.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

from riskengine.documents.proposal import Proposal
from riskengine.errors import Diagnostic
from riskengine.read.bounds import decoded
from riskengine.read.limits import Limits, limits_for
from riskengine.read.proposal_files import proposal_from_data, proposal_warnings
from riskengine.read.source import Document, parse_document, read_document

__all__ = ["STDIN", "STDIN_NAME", "is_stdin", "read_input", "read_proposal_input"]

STDIN = "-"
STDIN_NAME = "<stdin>"


def is_stdin(path: Path | str) -> bool:
    """Whether ``path`` is ``-``, the usual name for standard input."""
    return str(path) == STDIN


def read_input(path: Path | str, stdin: BinaryIO | None = None, limits: Limits | None = None) -> Document:
    """Parse the file at ``path``, or standard input (``stdin``, default ``sys.stdin``) for ``-``,
    within ``limits`` (a proposal's by default): no more than the size limit is read."""
    limits = limits or limits_for("proposal")
    if not is_stdin(path):
        return read_document(path, limits)
    stream = stdin if stdin is not None else sys.stdin.buffer
    data = stream.read(limits.file_bytes + 1)
    return parse_document(decoded(data, STDIN_NAME, limits), STDIN_NAME, limits)


def read_proposal_input(path: Path | str, stdin: BinaryIO | None = None) -> tuple[Proposal, list[Diagnostic]]:
    """The proposal at ``path`` (``-``: standard input) and its warnings, all from one reading."""
    document = read_input(path, stdin)
    proposal = proposal_from_data(document.data, document.source)
    return proposal, proposal_warnings(proposal, document.source)
