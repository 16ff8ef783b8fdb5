"""The shape stage: plain data to pydantic models, with every problem located.

pydantic reports problems by ``loc``; this module walks that ``loc`` through the
data to find the real field, looks its position up in the :class:`SourceMap`, and
adds a "did you mean" hint for unknown fields and values outside a vocabulary.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from riskengine.errors import QUOTED_CHARS, Diagnostic, closest, quoted
from riskengine.read.source import SourceMap, YamlPath, dotted

__all__ = ["validate_model"]

M = TypeVar("M", bound=BaseModel)

_QUOTED = re.compile(r"'([^']*)'")


def validate_model(model: type[M], data: Any, source: SourceMap) -> tuple[M | None, list[Diagnostic]]:
    """Validate ``data`` as ``model``; return the model or the located problems."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, _diagnostics(exc, model, data, source)


def _diagnostics(
    exc: ValidationError, model: type[BaseModel], data: Any, source: SourceMap
) -> list[Diagnostic]:
    by_path: dict[YamlPath, list[dict[str, Any]]] = {}
    for error in exc.errors(include_url=False):
        path = _data_path(data, error["loc"])
        by_path.setdefault(path, []).append(dict(error))
    return [_one(path, errors, model, source) for path, errors in by_path.items()]


def _data_path(data: Any, loc: tuple[Any, ...]) -> YamlPath:
    """Keep the parts of ``loc`` that index into ``data`` (drops union member tags)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and not path_is_tag(part):
            path.append(part)  # a missing required key, or an unknown one
            node = None
            continue
        else:
            continue
        path.append(part)
    return tuple(path)


def path_is_tag(part: str) -> bool:
    """pydantic names union members and validators in ``loc``; they are not fields."""
    return any(ch in part for ch in "[](),") or part in {"str", "int", "date", "bool"}


def _one(
    path: YamlPath, errors: list[dict[str, Any]], model: type[BaseModel], source: SourceMap
) -> Diagnostic:
    first = errors[0]
    kind = first["type"]
    if kind == "extra_forbidden":
        known = _fields_of(model, path[:-1])
        message = f"unknown field {quoted(path[-1])}"
        where = source.locate(path, key=True)
        return Diagnostic(where, "unknown-field", dotted(path), message, hint=closest(path[-1], known))
    if kind == "missing":
        message = "this field is required"
        return Diagnostic(source.locate(path[:-1]), "missing-field", dotted(path), message)
    if kind in {"literal_error", "enum"}:
        choices = _QUOTED.findall(str(first.get("ctx", {}).get("expected", "")))
        value = first.get("input")
        hint = closest(value, choices)
        if not hint and 1 < len(choices) <= _LISTED:  # nothing close: a short list says what would do
            hint = f"choose one of: {', '.join(choices)}"
        message = f"{quoted(value)} is not in the vocabulary"
        return Diagnostic(source.locate(path), "unknown-value", dotted(path), message, hint=hint)
    message = "; or ".join(dict.fromkeys(_message(e) for e in errors))
    return Diagnostic(source.locate(path), "invalid-value", dotted(path), message)


_LISTED = 8  # vocabularies this short are listed in full when nothing is close
_PATTERNS = {
    r"^[a-z0-9]([a-z0-9_.\-]*[a-z0-9])?$": "use lower-case letters, digits, dots, dashes or underscores",
    r"^\d+\.\d+\.\d+$": "use a version like 1.0.0",
    r"^\d{3}_[0-9a-f]{16}\.txt$": "name a seed file, like 000_b0bfa345df7592bd.txt",
    r"^\S(.*\S)?$": "no spaces at the start or end",
}
_PLAIN = {
    "int_type": "should be a whole number",
    "int_parsing": "should be a whole number",
    "bool_type": "should be true or false",
    "bool_parsing": "should be true or false",
    "string_type": "should be text",
    "tuple_type": "should be a list",
    "list_type": "should be a list",
    "dict_type": "should be a mapping of fields",
    "model_type": "should be a mapping of fields",
    "model_attributes_type": "should be a mapping of fields",
    "date_type": "should be a date like 2026-11-22",
    "date_parsing": "should be a date like 2026-11-22",
    "date_from_datetime_parsing": "should be a date like 2026-11-22",
    "date_from_datetime_inexact": "should be a date like 2026-11-22, without a time",
}


def _message(error: dict[str, Any]) -> str:
    value = error.get("input")
    kind, ctx = error["type"], error.get("ctx", {})
    if isinstance(value, str) and (kind == "string_too_long" or len(value) > QUOTED_CHARS):
        shown = f"text of {len(value):,} characters"  # never a person's words at length
    else:
        shown = repr(value) if isinstance(value, str | int | float | bool) else _kind(value)
    if kind in _PLAIN:
        text = _PLAIN[kind]
    elif kind == "string_pattern_mismatch":
        text = _PATTERNS.get(str(ctx.get("pattern")), f"should match {ctx.get('pattern')}")
    elif kind == "too_short":
        least = ctx.get("min_length")
        entries = "one entry" if least == 1 else f"{least} entries"
        text = f"needs at least {entries}" if isinstance(value, list | tuple) else "is too short"
    else:
        text = str(error["msg"]).removeprefix("Value error, ").removeprefix("Input ")
        text = f"{text[0].lower()}{text[1:]}"
    return f"{text} (got {shown})"


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", type(None): "nothing"}.get(type(value), type(value).__name__)


def _fields_of(model: type[BaseModel], path: YamlPath) -> list[str]:
    """Names (aliases where set) of the model found at ``path`` below ``model``."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            current = _model_in(current)
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = _field_by_name(current, part)
        current = _model_in(info.annotation) if info else None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _field_by_name(model: type[BaseModel], name: str) -> Any:
    for field_name, info in model.model_fields.items():
        if name in {field_name, info.alias}:
            return info
    return None


def _model_in(annotation: Any) -> Any:
    """Find a model class inside ``X | None``, ``tuple[X, ...]``, ``Annotated[X, ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in {typing.Union, types.UnionType, tuple, list, typing.Annotated}:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
