"""Where every key and value of a JSON text stands (1-based line and column), and its duplicate keys.

:mod:`json` gives data without positions. This reads the tokens of a text that :mod:`json`
has already accepted, once, keeping a stack of the lists and objects it is in (no recursion),
so a problem found later in the data can be reported at ``path:line:col``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

__all__ = ["Positions", "positions"]

Path = tuple[str | int, ...]
_TOKEN = re.compile(r'"(?:[^"\\]+|\\.)*"|[\[\]{}:,]|[^\s\[\]{}:,"]+', re.DOTALL)


@dataclass
class Positions:
    """Positions of values and keys by path, and the duplicate keys (path, position, first line)."""

    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[tuple[Path, tuple[int, int], int]] = field(default_factory=list)


@dataclass
class _Open:
    path: Path
    is_object: bool
    index: int = 0
    key: str | None = None
    wants_key: bool = True


def positions(text: str) -> Positions:
    """The positions in ``text``, which must be valid JSON (else some are simply missing)."""
    found = Positions()
    stack: list[_Open] = []
    line, line_start, scanned = 1, 0, 0
    for token in _TOKEN.finditer(text):
        start = token.start()
        newlines = text.count("\n", scanned, start)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", scanned, start) + 1
        scanned = start
        where = (line, start - line_start + 1)
        _step(token.group(), where, stack, found)
    return found


def _step(token: str, where: tuple[int, int], stack: list[_Open], found: Positions) -> None:
    top = stack[-1] if stack else None
    if token in (",", ":"):
        if top is not None and token == ",":
            top.index += 1
            top.wants_key = top.is_object
        return
    if token in ("]", "}"):
        stack.pop()
        return
    if top is not None and top.is_object and top.wants_key:
        key = json.loads(token) if token.startswith('"') else token
        path = (*top.path, key)
        if path in found.keys:
            found.duplicates.append((path, where, found.keys[path][0]))
        else:
            found.keys[path] = where
        top.key, top.wants_key = key, False
        return
    path = () if top is None else (*top.path, top.key if top.is_object and top.key is not None else top.index)
    found.values.setdefault(path, where)
    if token in ("[", "{"):
        stack.append(_Open(path, token == "{"))
