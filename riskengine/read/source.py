"""Read YAML (or JSON) into plain data plus a map of where every key and value stood.

The map lets later stages turn a pydantic ``loc`` into ``path:line:col``. PyYAML
silently keeps the last of two duplicate keys; here a duplicate key is an error,
because in a case-management export it would quietly erase a relationship.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from riskengine.errors import Diagnostic, InputError, Location
from riskengine.read import cache

__all__ = ["Document", "SourceMap", "YamlPath", "parse_document", "read_document"]

# libyaml's parser, when PyYAML was built with it, is ten times faster and keeps the same marks.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

YamlPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class SourceMap:
    """Positions (1-based line and column) of keys and values in one file.

    Positions are only needed to report a problem, so a map made from ``text``
    reads them the first time it is asked (most files have no problems).
    """

    path: str
    values: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)
    text: str | None = field(default=None, compare=False, repr=False)

    def _ensure(self) -> None:
        if self.text is not None and not self.values:
            located = _located(self.text, self.path).source
            self.values.update(located.values)
            self.keys.update(located.keys)

    def sub(self, prefix: YamlPath) -> SourceMap:
        """The map of the part of the file under ``prefix``, with paths relative to it."""
        self._ensure()
        n = len(prefix)
        values = {k[n:]: v for k, v in self.values.items() if k[:n] == prefix}
        keys = {k[n:]: v for k, v in self.keys.items() if k[:n] == prefix}
        return SourceMap(self.path, values, keys)

    def locate(self, loc: YamlPath, *, key: bool = False) -> Location:
        """Find the most specific known position for ``loc``."""
        self._ensure()
        table = self.keys if key else self.values
        if loc in table:
            return Location(self.path, *table[loc])
        for end in range(len(loc), -1, -1):
            prefix = loc[:end]
            for candidate in (self.values, self.keys):
                if prefix in candidate:
                    return Location(self.path, *candidate[prefix])
        return Location(self.path)


@dataclass(frozen=True, slots=True)
class Document:
    """Parsed data with its source map and the raw text (for hashing)."""

    data: Any
    source: SourceMap
    text: str


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, source: SourceMap) -> None:  # or CSafeLoader
        self.loader = loader
        self.source = source
        self.problems: list[Diagnostic] = []

    def build(self, node: yaml.Node, path: YamlPath) -> Any:
        self.source.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:  # e.g. a date like 2026-02-30
            where = (node.start_mark.line + 1, node.start_mark.column + 1)
            self._problem(where, "bad-value", path, f"'{node.value}' cannot be read: {exc}")
            return None

    def _mapping(self, node: yaml.MappingNode, path: YamlPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
                self._problem(where, "yaml-key", path, "keys must be plain names")
                continue
            key = str(key_node.value)
            if key in result:
                first = self.source.keys[(*path, key)]
                message = f"duplicate key '{key}' (first at line {first[0]})"
                self._problem(where, "duplicate-key", (*path, key), message)
                continue
            self.source.keys[(*path, key)] = where
            result[key] = self.build(value_node, (*path, key))
        return result

    def _problem(self, where: tuple[int, int], code: str, path: YamlPath, message: str) -> None:
        location = Location(self.source.path, *where)
        self.problems.append(Diagnostic(location, code, dotted(path), message))


def dotted(path: YamlPath) -> str:
    """Render ``("network", 0, "kind")`` as ``network[0].kind``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _NeedsPositions(Exception):
    """The fast reading met something only the located reading reports properly."""


class _FastLoader(_Loader):  # type: ignore[misc,valid-type]
    """libyaml's loader, with keys taken as written and duplicate keys refused."""


def _fast_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<" or key_node.value in result:
            raise _NeedsPositions
        result[str(key_node.value)] = loader.construct_object(value_node, deep=True)
    return result


_FastLoader.add_constructor("tag:yaml.org,2002:map", _fast_mapping)


def parse_document(text: str, path: str) -> Document:
    """Parse one YAML or JSON document; raise :class:`InputError` with locations.

    The usual case takes the fast reading (or its result from :mod:`riskengine.read.cache`),
    with positions worked out only if a later stage reports a problem; anything unusual
    takes the located reading, which is never cached.
    """
    kept = cache.entry(text)
    data = cache.load(kept)
    if data is None:
        try:
            data = yaml.load(text, Loader=_FastLoader)  # a SafeLoader subclass: no arbitrary objects
        except (_NeedsPositions, yaml.YAMLError, ValueError, OverflowError):
            return _located(text, path)
        if data is None:
            return _located(text, path)
        cache.store(kept, data)
    return Document(data, SourceMap(path, text=text), text)


def _located(text: str, path: str) -> Document:
    """Parse keeping every key's and value's position, rejecting duplicate keys."""
    source = SourceMap(path)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError([Diagnostic(Location(path, 1, 1), "empty", "", "the file is empty")])
        builder = _Builder(loader, source)
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        if path.endswith(".json"):
            return _parse_json(text, path)
        mark = exc.problem_mark or exc.context_mark
        location = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        problem = exc.problem or exc.context or "not valid YAML"
        if exc.context and exc.problem and exc.context_mark is not None:
            problem += f" ({exc.context} that starts at line {exc.context_mark.line + 1})"
        raise InputError([Diagnostic(location, "yaml-syntax", "", problem)]) from None
    except yaml.YAMLError as exc:
        raise InputError([Diagnostic(Location(path), "yaml-syntax", "", str(exc))]) from None
    finally:
        loader.dispose()
    if builder.problems:
        raise InputError(builder.problems)
    return Document(data, source, text)


def _parse_json(text: str, path: str) -> Document:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        location = Location(path, exc.lineno, exc.colno)
        raise InputError([Diagnostic(location, "json-syntax", "", exc.msg)]) from None
    return Document(data, SourceMap(path), text)


def read_document(path: Path | str) -> Document:
    """Read and parse a file, turning I/O and encoding problems into diagnostics."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError([Diagnostic(Location(name), "unreadable", "", reason)]) from None
    return parse_document(text, name)
