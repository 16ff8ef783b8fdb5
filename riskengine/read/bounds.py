"""The checks behind :mod:`riskengine.read.limits`, each done before the work it bounds.

* :func:`decoded`: the size of the bytes, then UTF-8 (a bad byte located by line and column);
* :func:`check_text`: the size of a text and the characters in it (NUL and other control
  characters, lone surrogates), before any parser sees it;
* :func:`check_yaml`: YAML's events, before anything is built: nesting, aliases (and what they
  would expand to), list and mapping sizes, string and key lengths. libyaml's parser is a state
  machine, so this pass cannot recurse; the composer after it can (100,000 nested lists crash
  it), which is why nothing is composed until this pass is done;
* :func:`check_json_nesting`: the same nesting bound for JSON, by a scan of its brackets;
* :func:`check_data`: the same bounds over plain data (from JSON, or given to the Python API),
  and whole numbers within 64 bits.

Each is one pass, linear in the input, without recursion; each raises an
:class:`~riskengine.errors.InputError` with one located ``too-large`` (or ``bad-text``,
``out-of-range``) diagnostic at the first thing over a limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from riskengine.errors import Diagnostic, InputError, Location
from riskengine.read.limits import INT_MAX, INT_MIN, Limits

__all__ = ["BigNumber", "check_data", "check_json_nesting", "check_text", "check_yaml", "decoded", "position"]

Path = tuple[str | int, ...]
Locate = Callable[[Path], Location]

# Outside YAML's printable set (and so never in a proposal's text): C0 controls but tab, line feed
# and carriage return; DEL and the C1 controls but NEL; lone surrogates; U+FFFE and U+FFFF.
_BAD = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Every byte but the C0 controls (tab, line feed and carriage return aside) and DEL: what
# ``bytes.translate`` deletes to find, at memory speed, whether a text may hold a bad character.
_FINE_BYTES = bytes(b for b in range(256) if b in (9, 10, 13) or 0x20 <= b < 0x7F or b >= 0x80)
# The UTF-8 lead bytes of the bad characters above U+007F: C1 controls (c2), surrogates (ed), U+FFFE/F (ef bf).
_MAYBE_BAD = (b"\xc2", b"\xed", b"\xef\xbf")
_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}
_NAMES = {0: "NUL", 7: "BEL", 8: "backspace", 0x1B: "escape", 0x7F: "DEL"}


def _dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _too_large(where: Location, path: Path, limits: Limits, name: str, message: str) -> InputError:
    detail = f"{message} (the {limits.kind} limit {name} is {getattr(limits, name):,})"
    field = _dotted(path)
    field = field if len(field) <= _FIELD_CHARS else f"{field[: _FIELD_CHARS - 1]}…"
    return InputError([Diagnostic(where, "too-large", field, detail, hint=limits.hint(name))])


_FIELD_CHARS = 120  # a path 32 lists deep is named by its start


def position(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of character ``index`` in ``text``."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def first_bad(text: str) -> int | None:
    """Where ``text`` first holds a character that cannot be in a file (see ``_BAD``), or None."""
    data = text.encode("utf-8", "surrogatepass")
    if not data.translate(None, _FINE_BYTES) and (text.isascii() or not any(b in data for b in _MAYBE_BAD)):
        return None
    found = _BAD.search(text)
    return None if found is None else found.start()


def _character(char: str) -> str:
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return f"a lone surrogate U+{code:04X} (half of a character)"
    name = _NAMES.get(code, "a control character" if code < 0xA0 else "a non-character")
    return f"U+{code:04X} ({name})" if code in _NAMES else f"{name} U+{code:04X}"


def decoded(data: bytes, path: str, limits: Limits, size: int = 0) -> str:
    """``data`` (the first bytes of a file of ``size`` bytes) as text: within the size limit, and
    UTF-8 (a leading UTF-8 byte-order mark is dropped)."""
    size = max(size, len(data))
    if size > limits.file_bytes:
        message = f"the file is {size:,} bytes"
        raise _too_large(Location(path, 1, 1), (), limits, "file_bytes", message)
    for bom, name in _BOMS.items():
        if data.startswith(bom):
            message = f"the file is {name} (it starts with a {name} byte-order mark); save it as UTF-8"
            raise InputError([Diagnostic(Location(path, 1, 1), "not-utf8", "", message)])
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        start = exc.start
        line_start = data.rfind(b"\n", 0, start) + 1
        line = data.count(b"\n", 0, start) + 1
        column = len(data[line_start:start].decode("utf-8", "replace")) + 1
        message = f"byte 0x{data[start]:02x} is not UTF-8 ({exc.reason})"
        hint = "save the file as UTF-8 (it may be Latin-1 or Windows-1252)"
        raise InputError(
            [Diagnostic(Location(path, line, column), "not-utf8", "", message, hint=hint)]
        ) from None


def check_text(text: str, path: str, limits: Limits) -> str:
    """``text`` without a leading byte-order mark, once its size and characters are known to be fine."""
    text = text.removeprefix("\ufeff")
    size = len(text) if len(text) > limits.file_bytes else len(text.encode("utf-8", "surrogatepass"))
    if size > limits.file_bytes:
        message = f"the text is {size:,} {'characters' if size == len(text) else 'bytes'}"
        raise _too_large(Location(path, 1, 1), (), limits, "file_bytes", message)
    bad = first_bad(text)
    if bad is not None:
        where = Location(path, *position(text, bad))
        message = f"{_character(text[bad])} cannot be in the file"
        hint = "remove it, or save the file again as UTF-8 text"
        raise InputError([Diagnostic(where, "bad-text", "", message, hint=hint)])
    return text


@dataclass(slots=True)
class _Open:
    """A list or mapping the YAML pass is inside."""

    mapping: bool
    part: str | int | None  # where it sits in its parent
    anchor: str | None
    nodes_before: int
    count: int = 0  # events among its children (a mapping's keys and values both count)
    key: str | int | None = None
    deepest: int = 0  # the nesting below it, counting what aliases repeat

    def child_part(self) -> str | int | None:
        return self.key if self.mapping else self.count


def check_yaml(
    text: str, path: str, limits: Limits, loader: Any, then: Callable[[Any, Any], None] | None = None
) -> bool:
    """Walk YAML's events and stop at the first thing over a limit; pass each event that is within
    them on to ``then(parser, event)`` (which may build the data). False if a syntax error ended
    the pass: the parse after it reports the error, located, and reads no further than this did.
    """
    parser = loader(text)
    walk = _EventWalk(path, limits)
    try:
        while parser.check_event():
            event = parser.get_event()
            walk.step(event)
            if then is not None:
                then(parser, event)
    except yaml.MarkedYAMLError as exc:
        if exc.problem_mark is not None and "nesting depth" in (exc.problem or ""):
            # PyYAML 6.0.4 and later stop at their own bound (1,000 levels) while scanning ahead,
            # before the events reach this pass: the same error as this pass's, at PyYAML's place.
            mark = exc.problem_mark
            raise _too_deep(Location(path, mark.line + 1, mark.column + 1), (), limits) from None
        return False
    except yaml.YAMLError:
        return False
    finally:
        parser.dispose()
    return True


def _too_deep(where: Location, path: Path, limits: Limits) -> InputError:
    return _too_large(
        where, path, limits, "depth", f"lists and mappings nest more than {limits.depth} levels deep here"
    )


class _EventWalk:
    """The state of one pass over YAML's events: the collections open, the anchors seen, the counts."""

    def __init__(self, path: str, limits: Limits) -> None:
        self.path, self.limits = path, limits
        self.stack: list[_Open] = []
        self.anchors: dict[str, tuple[int, int]] = {}  # name -> (values it holds, nesting below it)
        self.nodes = self.aliases = 0

    def fail(self, event: Any, name: str, message: str, *, own: bool = True) -> InputError:
        """The error at ``event``, named by its path (or its mapping's, for a key: ``own=False``)."""
        parts = tuple(o.part for o in self.stack[1:])
        here = (self.stack[-1].child_part(),) if self.stack and own else ()
        where = tuple(p for p in (*parts, *here) if p is not None)
        at = Location(self.path, event.start_mark.line + 1, event.start_mark.column + 1)
        return _too_large(at, where, self.limits, name, message)

    def step(self, event: Any) -> None:
        kind = type(event)
        if kind is yaml.ScalarEvent:
            self._scalar(event)
        elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
            self._end()
        elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent or kind is yaml.AliasEvent:
            self._node(event)

    def _end(self) -> None:
        done = self.stack.pop()
        if done.anchor is not None:
            self.anchors[done.anchor] = (self.nodes - done.nodes_before, done.deepest + 1)
        if self.stack:
            self.stack[-1].deepest = max(self.stack[-1].deepest, done.deepest + 1)
            _advance(self.stack[-1], None)

    def _room(self, event: Any, parent: _Open | None) -> bool:
        """Whether ``event`` is a mapping's key; refuse it if its list or mapping is full."""
        if parent is None:
            return False
        limits = self.limits
        if not parent.mapping:
            if parent.count >= limits.list_items:
                raise self.fail(event, "list_items", f"this list has more than {limits.list_items:,} entries")
            return False
        if parent.count % 2:
            return False
        if parent.count // 2 >= limits.mapping_keys:
            message = f"this mapping has more than {limits.mapping_keys:,} fields"
            raise self.fail(event, "mapping_keys", message, own=False)
        return True

    def _counted(self, event: Any) -> None:
        self.nodes += 1
        if self.nodes > self.limits.nodes:
            raise self.fail(
                event, "nodes", f"the {self.limits.kind} holds more than {self.limits.nodes:,} values"
            )
        if event.anchor is not None and self.limits.aliases == 0:
            message = f"an anchor (&name): a {self.limits.kind} may not use YAML anchors or aliases"
            raise self.fail(event, "aliases", message)

    def _scalar(self, event: Any) -> None:
        parent = self.stack[-1] if self.stack else None
        is_key = self._room(event, parent)
        self._counted(event)
        length, limits = len(event.value), self.limits
        if is_key and length > limits.key_chars:
            raise self.fail(event, "key_chars", f"a field name of {length:,} characters", own=False)
        if not is_key and length > limits.string_chars:
            raise self.fail(event, "string_chars", f"a value of {length:,} characters")
        if event.anchor is not None:
            self.anchors[event.anchor] = (1, 0)
        if parent is not None:
            if is_key:
                parent.key = event.value
            parent.count += 1

    def _node(self, event: Any) -> None:
        parent = self.stack[-1] if self.stack else None
        self._room(event, parent)
        if type(event) is yaml.AliasEvent:
            if self.limits.aliases == 0:
                message = f"an alias (*name): a {self.limits.kind} may not use YAML anchors or aliases"
                raise self.fail(event, "aliases", message)
            self._alias(event, parent)
            return
        self._counted(event)
        if len(self.stack) + 1 > self.limits.depth:
            raise self.fail(
                event, "depth", f"lists and mappings nest more than {self.limits.depth} levels deep here"
            )
        part = parent.child_part() if parent is not None else None
        self.stack.append(_Open(type(event) is yaml.MappingStartEvent, part, event.anchor, self.nodes - 1))

    def _alias(self, event: Any, parent: _Open | None) -> None:
        """An alias counts as all it repeats: its values, and its nesting where it stands."""
        limits = self.limits
        self.aliases += 1
        if self.aliases > limits.aliases:
            raise self.fail(event, "aliases", f"more than {limits.aliases:,} aliases")
        if event.anchor not in self.anchors:
            message = "an alias to an anchor that is not defined before it (or that encloses it)"
            raise self.fail(event, "aliases", message)
        size, below = self.anchors[event.anchor]
        self.nodes += size
        if self.nodes > limits.nodes:
            message = f"the aliases here would expand to more than {limits.nodes:,} values"
            raise self.fail(event, "nodes", message)
        if len(self.stack) + below > limits.depth:
            raise self.fail(event, "depth", f"this alias would nest more than {limits.depth} levels deep")
        if parent is not None:
            parent.deepest = max(parent.deepest, below)
            _advance(parent, None)


def _advance(frame: _Open, key: str | None) -> None:
    """One more child of ``frame`` seen; a mapping's key is kept to name the value after it."""
    if frame.mapping and frame.count % 2 == 0:
        frame.key = key if key is not None else "?"
    frame.count += 1


def check_json_nesting(text: str, path: str, limits: Limits) -> None:
    """Refuse JSON nested deeper than the limit before :mod:`json` recurses into it."""
    depth = 0
    for found in _JSON_TOKENS.finditer(text):
        char = found.group()[0]
        if char == '"':
            continue
        if char in "[{":
            depth += 1
            if depth > limits.depth:
                raise _too_deep(Location(path, *position(text, found.start())), (), limits)
        else:
            depth -= 1


_JSON_TOKENS = re.compile(r'"(?:[^"\\]+|\\.)*"?|[\[\]{}]', re.DOTALL)


@dataclass(frozen=True, slots=True)
class BigNumber:
    """A JSON whole number too long to read as one (Python refuses more than 4,300 digits)."""

    digits: int


def check_data(data: Any, limits: Limits, locate: Locate, *, json_text: str | None = None) -> None:
    """The limits over plain data, iteratively: stop at the first thing over one.

    ``json_text`` is the JSON text ``data`` was parsed from, if it was: then cheap tests of the
    text and a walk over the lists and mappings alone (:func:`_surely_within`) settle the usual
    record, and only one they cannot clear is walked value by value (which finds and locates
    what is over a limit).
    """
    if json_text is not None and _surely_within(data, json_text, limits):
        return
    stack: list[tuple[Any, Path]] = [(data, ())]
    nodes = 0
    while stack:
        value, path = stack.pop()
        nodes += 1
        if nodes > limits.nodes:
            raise _too_large(locate(path), path, limits, "nodes", f"more than {limits.nodes:,} values")
        kind = type(value)
        if kind is str:
            _check_string(value, path, limits, locate)
        elif kind is BigNumber or (
            kind is int and limits.kind == "proposal"
        ):  # a rule's numbers: rules.conditions
            _check_int(value, path, locate)
        elif kind is dict or kind is list or kind is tuple:
            if len(path) + 1 > limits.depth:
                raise _too_deep(locate(path), path, limits)
            stack.extend(_children(value, path, limits, locate))


def _surely_within(data: Any, text: str, limits: Limits) -> bool:
    """Whether ``data``, parsed from the JSON ``text``, is within every limit by tests that never
    pass what the full walk would refuse (False only means: walk it all).

    With no backslash in the text, every string and key is a piece of the text as written, so
    the text's own check covers their characters, and a string is no longer than the longest run
    of characters between two quotes. Every value starts at a character of its own, so there are
    no more values than characters; a whole number outside 64 bits has at least 19 digits. What
    is left is the shape: nesting, entries per list, fields per mapping and field names' lengths.
    """
    if (
        "\\" in text
        or len(text) > limits.nodes
        or type(data) not in (dict, list)
        or first_bad(text) is not None
    ):
        return False
    if limits.kind == "proposal" and _LONG_DIGITS.search(text) is not None:
        return False
    if len(text) > limits.string_chars + 2 and re.search(f'[^"]{{{limits.string_chars + 1}}}', text):
        return False
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limits.depth:
            return False
        if type(value) is dict:
            if len(value) > limits.mapping_keys or (value and max(map(len, value)) > limits.key_chars):
                return False
            value = value.values()
        elif len(value) > limits.list_items:
            return False
        for child in value:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return True


_LONG_DIGITS = re.compile(r"\d{19}")


def _children(value: Any, path: Path, limits: Limits, locate: Locate) -> list[tuple[Any, Path]]:
    if type(value) is not dict:
        if len(value) > limits.list_items:
            where = (*path, limits.list_items)
            message = f"this list has {len(value):,} entries"
            raise _too_large(locate(where), path, limits, "list_items", message)
        return [(item, (*path, i)) for i, item in enumerate(value)]
    if len(value) > limits.mapping_keys:
        message = f"this mapping has {len(value):,} fields"
        raise _too_large(locate(path), path, limits, "mapping_keys", message)
    out: list[tuple[Any, Path]] = []
    for key, item in value.items():
        if isinstance(key, str) and len(key) > limits.key_chars:
            raise _too_large(
                locate(path), path, limits, "key_chars", f"a field name of {len(key):,} characters"
            )
        out.append((item, (*path, key)))
    return out


def _check_string(value: str, path: Path, limits: Limits, locate: Locate) -> None:
    if len(value) > limits.string_chars:
        message = f"a value of {len(value):,} characters"
        raise _too_large(locate(path), path, limits, "string_chars", message)
    bad = first_bad(value)
    if bad is not None:
        message = f"the text holds {_character(value[bad])} at character {bad + 1:,}"
        diagnostic = Diagnostic(locate(path), "bad-text", _dotted(path), message, hint="remove it")
        raise InputError([diagnostic])


def _check_int(value: int | BigNumber, path: Path, locate: Locate) -> None:
    if isinstance(value, BigNumber) or not INT_MIN <= value <= INT_MAX:
        size = f"{value.digits:,} digits" if isinstance(value, BigNumber) else f"{value.bit_length():,} bits"
        message = f"a whole number of {size}: it must fit in 64 bits (at most {INT_MAX})"
        raise InputError([Diagnostic(locate(path), "out-of-range", _dotted(path), message)])
