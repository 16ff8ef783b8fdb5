"""The one module of :mod:`riskengine.training` that imports the engine's internal names.

Everything else in the package imports public names from ``riskengine`` or from here, so
when the core moves (issue 9 re-lays it by stage) only this file changes.
"""

from __future__ import annotations

from riskengine.errors import did_you_mean
from riskengine.readability import flesch_reading_ease
from riskengine.render import _PRINCIPLE_TITLES, _STATUS, _TENSION_TITLES, diagnostics_json, diagnostics_text
from riskengine.shape import validate_model
from riskengine.source import Document, SourceMap, YamlPath, dotted, parse_document, read_document
from riskengine.vocab import PRINCIPLES, TENSIONS, PrincipleId, TensionId

__all__ = [
    "PRINCIPLES",
    "PRINCIPLE_TITLES",
    "STATUS_WORDS",
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
]

PRINCIPLE_TITLES: dict[str, str] = dict(_PRINCIPLE_TITLES)
TENSION_TITLES: dict[str, str] = dict(_TENSION_TITLES)
STATUS_WORDS: dict[str, str] = dict(_STATUS)
