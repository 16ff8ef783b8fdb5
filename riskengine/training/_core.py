"""The one module of :mod:`riskengine.training` that imports the engine's internal names.

Everything else in the package imports public names from ``riskengine`` or from here, so
when the core moves only this file changes. Internal names used: the YAML reading
(``read.source``: ``SourceMap``, ``YamlPath``, ``dotted``, ``parse_document`` and
``read_document``, within the rulesets' limits; outside the rule loader nothing is written to
the parse cache, so a storyteller's words never reach the disk), the shaping of
pydantic errors into located diagnostics (``read.shape.validate_model``), "did you mean"
(``errors.did_you_mean``), the Flesch measure (``report.readability``), the vocabularies
(``documents.vocab``) and the text report's names for principles and tensions
(``report.text``).
"""

from __future__ import annotations

from riskengine import (
    Document,
    diagnostics_json,
    diagnostics_text,
    write_file_atomically,
)
from riskengine.documents.vocab import PRINCIPLES, TENSIONS, PrincipleId, TensionId
from riskengine.errors import did_you_mean
from riskengine.read.shape import validate_model
from riskengine.read.source import SourceMap, YamlPath, dotted, parse_document, read_document
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
    "parse_document",
    "read_document",
    "validate_model",
    "write_file_atomically",
]

PRINCIPLE_TITLES: dict[str, str] = dict(_PRINCIPLE_TITLES)
TENSION_TITLES: dict[str, str] = dict(_TENSION_TITLES)
