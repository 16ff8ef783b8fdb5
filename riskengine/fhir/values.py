"""Small readers of FHIR datatypes (CodeableConcept, Reference, dates, extensions) that never raise.

Imports nothing from riskengine; ``read`` for paths.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from .read import Problems, at, iter_dicts

__all__ = [
    "coded",
    "date_of",
    "extensions",
    "months_between",
    "reference_of",
    "start_of",
    "sub_value",
    "text_of",
    "value_of",
]

VALUE_KEYS = {
    "string": "valueString",
    "code": "valueCode",
    "boolean": "valueBoolean",
    "integer": "valueInteger",
    "date": "valueDate",
    "reference": "valueReference",
}
_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "code": str,
    "boolean": bool,
    "integer": int,
    "date": str,
    "reference": dict,
}


def coded(concept: Any, system: str, path: str) -> Iterator[tuple[str, str]]:
    """``(fhir path of the code, code)`` for each coding of ``concept`` in ``system``."""
    if isinstance(concept, Mapping):
        for i, coding in iter_dicts(concept.get("coding")):
            code = coding.get("code")
            if coding.get("system") == system and isinstance(code, str) and code:
                yield at(path, "coding", i, "code"), code


def text_of(concept: Any) -> str | None:
    """A CodeableConcept's text, else its first coding's display."""
    if not isinstance(concept, Mapping):
        return None
    text = concept.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    for _, coding in iter_dicts(concept.get("coding")):
        display = coding.get("display")
        if isinstance(display, str) and display.strip():
            return display.strip()
    return None


def reference_of(value: Any) -> str | None:
    """The ``reference`` string of a Reference, if it has one."""
    if isinstance(value, Mapping):
        ref = value.get("reference")
        if isinstance(ref, str) and ref:
            return ref
    return None


def date_of(value: Any) -> dt.date | None:
    """The date of a FHIR date or dateTime, if it names a whole day."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def start_of(value: Any) -> dt.date | None:
    """The first day a FHIR date names, partial dates included (``2023`` → 1 January 2023)."""
    if not isinstance(value, str):
        return None
    whole = date_of(value)
    if whole:
        return whole
    for text, fill in ((value[:7], "-01"), (value[:4], "-01-01")):
        try:
            return dt.date.fromisoformat(text + fill)
        except ValueError:
            continue
    return None


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from ``start`` to ``end`` (0 if ``end`` is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)
    return max(months, 0)


def extensions(element: Mapping[str, Any], url: str, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(fhir path, extension)`` for each extension of ``element`` with ``url``."""
    for i, ext in iter_dicts(element.get("extension")):
        if ext.get("url") == url:
            yield at(path, "extension", i), ext


def value_of(ext: Mapping[str, Any], kind: str, path: str, problems: Problems) -> Any:
    """The ``value[x]`` of an extension, of the expected kind; a located error otherwise."""
    if kind == "scalar":  # a year, a date or words ("2024", "last spring")
        kind = next((k for k in ("integer", "date", "string") if VALUE_KEYS[k] in ext), "string")
    key = VALUE_KEYS[kind]
    value = ext.get(key)
    # bool is an int in Python: an integer extension must not take true/false
    ok = isinstance(value, _TYPES[kind]) and not (kind == "integer" and isinstance(value, bool))
    if value is None or not ok:
        problems.error(path, "invalid-extension", f"extension {ext.get('url')} takes {key}")
        return None
    if kind == "date":
        day = date_of(value)
        if day is None:
            problems.error(at(path, key), "invalid-value", "expected a whole date (YYYY-MM-DD)")
        return day
    return value


def sub_value(
    ext: Mapping[str, Any], name: str, kind: str, path: str, problems: Problems
) -> list[tuple[str, Any]]:
    """Values of the sub-extensions called ``name`` of a complex extension."""
    found = []
    for where, sub in extensions(ext, name, path):
        value = value_of(sub, kind, where, problems)
        if value is not None:
            key = next((k for k in VALUE_KEYS.values() if k in sub), VALUE_KEYS.get(kind, "value"))
            found.append((at(where, key), value))
    return found
