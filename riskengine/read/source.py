"""Read YAML (or JSON) into plain data plus a map of where every key and value stood.

The map lets later stages turn a pydantic ``loc`` into ``path:line:col``. PyYAML
silently keeps the last of two duplicate keys; here a duplicate key is an error,
because in a case-management export it would quietly erase a relationship.

Every reading is bounded first (:mod:`riskengine.read.limits`, checked by
:mod:`riskengine.read.bounds`): the size, the characters, then YAML's events or JSON's
brackets, before anything is built; then the data. A ``.json`` file is read as strict JSON
(no trailing commas, no ``yes`` for true, no ``NaN``, no duplicate keys), its errors located
by line and column; everything else as YAML.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from riskengine.errors import Diagnostic, InputError, Location, quoted
from riskengine.read import cache
from riskengine.read.bounds import (
    BigNumber,
    check_data,
    check_json_nesting,
    check_text,
    check_yaml,
    decoded,
    position,
)
from riskengine.read.jsonmap import positions
from riskengine.read.limits import Kind, Limits, limits_for

__all__ = ["Document", "SourceMap", "YamlPath", "kind_of", "parse_document", "read_document"]

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
    json: bool = field(default=False, compare=False, repr=False)  # ``text`` is JSON, not YAML
    # sub()'s index: per prefix length, the positions grouped by their prefix (built once the
    # map is complete, on the first sub() of that length)
    _groups: dict[int, tuple[_Grouped, _Grouped]] = field(default_factory=dict, compare=False, repr=False)

    def _ensure(self) -> None:
        if self.text is not None and not self.values:
            located = (
                positions(self.text) if self.json else _located(self.text, self.path, checked=True).source
            )
            self.values.update(located.values)
            self.keys.update(located.keys)

    def sub(self, prefix: YamlPath) -> SourceMap:
        """The map of the part of the file under ``prefix``, with paths relative to it.

        The positions are grouped by prefix once per prefix length, so taking the maps of many
        parts (a rule test file's cases) costs the size of each part, not of the file each time.
        """
        self._ensure()
        n = len(prefix)
        groups = self._groups.get(n)
        if groups is None:
            groups = self._groups[n] = (_grouped(self.values, n), _grouped(self.keys, n))
        values, keys = (dict(group.get(prefix, ())) for group in groups)
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


_Grouped = dict[YamlPath, list[tuple[YamlPath, tuple[int, int]]]]


def _grouped(table: dict[YamlPath, tuple[int, int]], n: int) -> _Grouped:
    """``table``'s entries at least ``n`` deep, by their first ``n`` parts, each relative to them."""
    out: _Grouped = {}
    for path, where in table.items():
        if len(path) >= n:
            out.setdefault(path[:n], []).append((path[n:], where))
    return out


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
            self._problem(where, "bad-value", path, _unreadable(str(node.value), exc))
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
                message = f"duplicate key {quoted(key)} (first at line {first[0]})"
                self._problem(where, "duplicate-key", (*path, key), message)
                continue
            self.source.keys[(*path, key)] = where
            result[key] = self.build(value_node, (*path, key))
        return result

    def _problem(self, where: tuple[int, int], code: str, path: YamlPath, message: str) -> None:
        location = Location(self.source.path, *where)
        self.problems.append(Diagnostic(location, code, dotted(path), message))


_DIGITS = re.compile(r"^[-+]?[0-9_]+$")


def _unreadable(value: str, exc: Exception) -> str:
    """Why a scalar could not be read, quoting at most 80 characters of it."""
    if _DIGITS.match(value):  # Python reads at most 4,300 digits
        return f"a whole number of {len(value):,} digits: it must fit in 64 bits (at most {2**63 - 1})"
    return f"{quoted(value)} cannot be read: {str(exc)[:200]}"


def dotted(path: YamlPath) -> str:
    """Render ``("network", 0, "kind")`` as ``network[0].kind``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _NeedsPositions(Exception):
    """The fast reading met something only the located reading reports properly."""


_NO_KEY = object()
_STR = "tag:yaml.org,2002:str"
_TAGS = {yaml.SequenceStartEvent: "tag:yaml.org,2002:seq", yaml.MappingStartEvent: "tag:yaml.org,2002:map"}


class _EventBuilder:
    """The fast reading: the data built from the events the limits pass has just let through,
    so a file is scanned once. Keys are taken as written; a duplicate key, a key that is not a
    plain scalar, a merge key, a tagged collection, a value that cannot be constructed or a
    second document stops the building (``ok`` is False) and the located reading reports it.
    """

    def __init__(self) -> None:
        self.stack: list[Any] = []  # the lists and dicts being filled
        self.keys: list[Any] = []  # the key waiting for its value, per open collection
        self.anchored: dict[str, Any] = {}
        self.documents = 0
        self.root: Any = None
        self.ok = True

    def __call__(self, loader: Any, event: Any) -> None:
        if not self.ok:
            return
        try:
            self._step(loader, event)
        except (_NeedsPositions, ValueError, OverflowError, KeyError, yaml.YAMLError):
            self.ok = False
            self.stack.clear()

    def _step(self, loader: Any, event: Any) -> None:
        kind = type(event)
        if kind is yaml.ScalarEvent:
            self._scalar(loader, event)
        elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
            if self._wants_key() or event.tag not in (None, "!", _TAGS[kind]):
                raise _NeedsPositions
            container: Any = [] if kind is yaml.SequenceStartEvent else {}
            if event.anchor is not None:
                self.anchored[event.anchor] = container
            self._add(container)
            self.stack.append(container)
            self.keys.append(_NO_KEY)
        elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
            self.stack.pop()
            self.keys.pop()
        elif kind is yaml.AliasEvent:
            if self._wants_key():
                raise _NeedsPositions
            self._add(self.anchored[event.anchor])
        elif kind is yaml.DocumentStartEvent:
            self.documents += 1
            if self.documents > 1:
                raise _NeedsPositions

    def _scalar(self, loader: Any, event: Any) -> None:
        if self._wants_key():
            key = str(event.value)
            if key == "<<" or key in self.stack[-1]:
                raise _NeedsPositions
            self.keys[-1] = key
            return
        tag = event.tag
        if tag is None or tag == "!":
            tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR:  # most values: SafeConstructor gives the text as it is
            value: Any = event.value
        else:
            node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
            value = loader.construct_object(node)
        if event.anchor is not None:
            self.anchored[event.anchor] = value
        self._add(value)

    def _wants_key(self) -> bool:
        return bool(self.stack) and type(self.stack[-1]) is dict and self.keys[-1] is _NO_KEY

    def _add(self, value: Any) -> None:
        if not self.stack:
            self.root = value
        elif type(self.stack[-1]) is list:
            self.stack[-1].append(value)
        else:
            self.stack[-1][self.keys[-1]] = value
            self.keys[-1] = _NO_KEY


def parse_document(text: str, path: str, limits: Limits | None = None) -> Document:
    """Parse one YAML or JSON document within ``limits``; raise :class:`InputError` with locations.

    ``limits`` defaults to the rulesets' (:func:`~riskengine.read.limits.limits_for`); the proposal
    readers pass a proposal's. The usual case takes the fast reading (or its result from
    :mod:`riskengine.read.cache`), with positions worked out only if a later stage reports a
    problem; anything unusual takes the located reading, which is never cached.
    """
    limits = limits or limits_for("ruleset")
    text = check_text(text, path, limits)
    if path.endswith(".json"):
        return _parse_json(text, path, limits)
    kept = cache.entry(text, limits) if limits.kind == "ruleset" else None  # a proposal is never kept
    data = cache.load(kept)  # kept only once within these limits (they are part of its key)
    source = SourceMap(path, text=text)
    if data is None:
        built = _EventBuilder()  # SafeLoader's resolver and constructor: no arbitrary objects
        if not check_yaml(text, path, limits, _Loader, built) or not built.ok:
            document = _located(text, path, checked=True)
            check_data(document.data, limits, document.source.locate)
            return document
        data = built.root
        if data is None:
            return _located(text, path, checked=True)
        check_data(data, limits, source.locate)
        cache.store(kept, data)
    return Document(data, source, text)


def _located(text: str, path: str, *, checked: bool = False) -> Document:
    """Parse keeping every key's and value's position, rejecting duplicate keys.

    Unless the text was ``checked`` already, it is checked first, within the rulesets' limits.
    """
    if not checked:
        limits = limits_for("ruleset")
        text = check_text(text, path, limits)
        check_yaml(text, path, limits, _Loader)
    source = SourceMap(path)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError([Diagnostic(Location(path, 1, 1), "empty", "", "the file is empty")])
        builder = _Builder(loader, source)
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        problem = exc.problem or exc.context or "not valid YAML"
        if exc.context and exc.problem and exc.context_mark is not None:
            problem += f" ({exc.context} that starts at line {exc.context_mark.line + 1})"
        raise InputError([Diagnostic(location, "yaml-syntax", "", problem)]) from None
    except yaml.YAMLError as exc:
        raise InputError([Diagnostic(Location(path), "yaml-syntax", "", str(exc)[:200])]) from None
    finally:
        loader.dispose()
    if builder.problems:
        raise InputError(builder.problems)
    return Document(data, source, text)


class _DuplicateKey(Exception):
    """Two equal keys in one JSON object: the YAML reading of the same text locates them."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateKey
    return result


def _whole(digits: str) -> int | BigNumber:
    """A JSON whole number; one too long for Python to read is kept as its length, refused later."""
    return int(digits) if len(digits) <= 64 else BigNumber(len(digits.lstrip("-")))


_CONSTANT = re.compile(r"-?Infinity|NaN")


def _constant(name: str) -> NoReturn:
    raise ValueError(name)


def _parse_json(text: str, path: str, limits: Limits) -> Document:
    """Strict JSON (RFC 8259): what :mod:`json` accepts, less NaN, Infinity and duplicate keys."""
    if not text.strip():
        raise InputError([Diagnostic(Location(path, 1, 1), "empty", "", "the file is empty")])
    check_json_nesting(text, path, limits)
    try:
        data = json.loads(text, object_pairs_hook=_unique, parse_int=_whole, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        location = Location(path, exc.lineno, exc.colno)
        raise InputError([Diagnostic(location, "json-syntax", "", exc.msg)]) from None
    except _DuplicateKey:
        raise InputError(_duplicates(text, path)) from None
    except ValueError as exc:  # NaN or Infinity, which JSON does not have
        found = _CONSTANT.search(text)
        location = Location(path, *position(text, found.start())) if found else Location(path)
        hint = "write a finite number"
        raise InputError([Diagnostic(location, "json-syntax", "", f"{exc} is not JSON", hint=hint)]) from None
    source = SourceMap(path, text=text, json=True)
    check_data(data, limits, source.locate, json_text=text)
    return Document(data, source, text)


def _duplicates(text: str, path: str) -> list[Diagnostic]:
    out = []
    for where, at, first in positions(text).duplicates:
        message = f"duplicate key {quoted(where[-1])} (first at line {first})"
        out.append(Diagnostic(Location(path, *at), "duplicate-key", dotted(where), message))
    return out or [Diagnostic(Location(path), "duplicate-key", "", "a key is used twice in one object")]


def read_document(path: Path | str, limits: Limits | None = None) -> Document:
    """Read and parse a file within ``limits`` (by default the rulesets'; see :func:`parse_document`).

    No more than the size limit is read; I/O and encoding problems become located diagnostics.
    """
    name = str(path)
    limits = limits or limits_for("ruleset")
    try:
        with open(path, "rb") as handle:
            data = handle.read(limits.file_bytes + 1)
            size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError([Diagnostic(Location(name), "unreadable", "", reason)]) from None
    return parse_document(decoded(data, name, limits, size), name, limits)


_RULESET_KEYS = re.compile(rb'^(?:rules|sources)[ \t]*:|"(?:rules|sources)"\s*:', re.MULTILINE)


def kind_of(path: Path | str) -> Kind:
    """``ruleset`` for a file with top-level ``rules`` or ``sources``, else ``proposal``: which
    limits a reader that takes either (``riskengine validate``) holds a file to. Only a regular
    file is looked into: a pipe (``/dev/stdin``) can be read once, by the reader itself."""
    if not os.path.isfile(path):
        return "proposal"
    try:
        with open(path, "rb") as handle:
            head = handle.read(limits_for("ruleset").file_bytes)
    except OSError:
        return "proposal"
    return "ruleset" if _RULESET_KEYS.search(head) else "proposal"
