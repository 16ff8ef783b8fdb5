"""The one module of :mod:`riskengine.training` that imports the engine's internal names.

Everything else in the package imports public names from ``riskengine`` or from here, so
when the core moves only this file changes. Internal names used: the located YAML reading
(``read.source``: ``SourceMap``, ``YamlPath``, ``dotted``, and ``_located``, the reading that
keeps every position and is never written to the parse cache), the shaping of
pydantic errors into located diagnostics (``read.shape.validate_model``), "did you mean"
(``errors.did_you_mean``), the Flesch measure (``report.readability``), the vocabularies
(``documents.vocab``) and the text report's names for principles and tensions
(``report.text``).
"""

from __future__ import annotations

from pathlib import Path

from riskengine import (
    Diagnostic,
    Document,
    InputError,
    Location,
    diagnostics_json,
    diagnostics_text,
    write_file_atomically,
)
from riskengine.documents.vocab import PRINCIPLES, TENSIONS, PrincipleId, TensionId
from riskengine.errors import did_you_mean
from riskengine.read.shape import validate_model
from riskengine.read.source import SourceMap, YamlPath, _located, dotted
from riskengine.report.readability import flesch_reading_ease
from riskengine.report.text import _PRINCIPLE_TITLES, _TENSION_TITLES

__all__ = [
    "PRINCIPLES",
    "PRINCIPLE_TITLES",
    "TENSIONS",
    "TENSION_TITLES",
    "Document",
    "PrincipleId",
    "SourceMap",
    "TensionId",
    "YamlPath",
    "diagnostics_json",
    "diagnostics_text",
    "did_you_mean",
    "dotted",
    "flesch_reading_ease",
    "parse_uncached",
    "read_uncached",
    "validate_model",
    "write_file_atomically",
]

PRINCIPLE_TITLES: dict[str, str] = dict(_PRINCIPLE_TITLES)
TENSION_TITLES: dict[str, str] = dict(_TENSION_TITLES)


def parse_uncached(text: str, name: str) -> Document:
    """Parse YAML with every position kept, never through the parse cache: a scenario may hold a
    storyteller's own words, and nothing personal is written to disk unless configured."""
    return _located(text, name)


def read_uncached(path: Path | str) -> Document:
    """Read a file and :func:`parse_uncached` it, with I/O and encoding problems as diagnostics."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError([Diagnostic(Location(str(path)), "unreadable", "", reason)]) from None
    return parse_uncached(text, str(path))
