"""A cache of parsed YAML, so a command-line run does not re-parse unchanged rulesets.

Parsing the shipped rulesets is most of the time it takes to load them (libyaml still
builds a Python node for every scalar). The same text always parses to the same data,
so the parse of each file is kept, keyed by a hash of its text and the versions of
everything that reads it, under ``$RISKENGINE_CACHE_DIR`` (default: a folder named for those versions and a
hash of the reading code, in ``$XDG_CACHE_HOME/riskengine`` or ``~/.cache/riskengine``). Set
``RISKENGINE_CACHE_DIR`` to an empty string to turn the cache off.

The cache is a convenience and never a source of truth:

* entries are JSON (read with orjson), never pickle or marshal, so a file planted in
  the cache directory can at worst hold wrong data for a text whose hash it names, not
  run code or crash the process; dates are tagged, and data that JSON cannot carry
  exactly (non-finite floats, very large integers, sets, bytes, keys that clash with
  the tags) is simply not cached;
* an entry is written to a temporary file and moved into place, so a reader sees a
  whole entry or none; any problem reading or writing one is ignored and the file is
  parsed as usual.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
import yaml

from riskengine.version import __version__

__all__ = ["ENV", "cache_dir", "entry", "load", "store"]

ENV = "RISKENGINE_CACHE_DIR"
_DATE, _DATETIME = "\x00date", "\x00datetime"
_LIMIT = 2**63  # orjson's integers are 64-bit
_NONE = object()


def cache_dir() -> Path | None:
    """Where parsed files are kept, or None when the cache is off."""
    configured = os.environ.get(ENV)
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        home = os.path.expanduser("~")
        if home.startswith("~"):  # no home folder (a service account, say): no cache, no stray folder
            return None
        base = os.path.join(home, ".cache")
    return Path(base) / "riskengine" / _version()


@functools.cache
def _version() -> str:
    """What a cached parse depends on: the versions, and the code that reads YAML (a checkout may change it)."""
    code = hashlib.sha256()
    for module in ("source.py", "cache.py"):
        code.update((Path(__file__).parent / module).read_bytes())
    python = f"{sys.version_info[0]}{sys.version_info[1]}"
    return f"parsed-{__version__}-yaml{yaml.__version__}-py{python}-{code.hexdigest()[:12]}"


def entry(text: str) -> Path | None:
    """The cache file for ``text`` (it may not exist yet), or None when the cache is off."""
    where = cache_dir()
    if where is None:
        return None
    return where / (hashlib.sha256(text.encode("utf-8")).hexdigest() + ".json")


def load(entry: Path | None) -> Any:
    """The parse kept in ``entry``, or :data:`None` if there is none (or it cannot be read)."""
    if entry is None:
        return None
    try:
        found = orjson.loads(entry.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(found, dict) or "data" not in found:
        return None
    try:
        return _thawed(found["data"]) if found.get("tagged") else found["data"]
    except ValueError:  # a damaged date: parse as usual
        return None


def store(entry: Path | None, data: Any) -> None:
    """Keep a parse in ``entry``, if it can be kept exactly; never raises."""
    if entry is None:
        return
    tagged = [False]
    frozen = _frozen(data, tagged)
    if frozen is _NONE:
        return
    try:
        payload = orjson.dumps({"tagged": tagged[0], "data": frozen})
        entry.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=entry.parent, suffix=".tmp")
    except (OSError, orjson.JSONEncodeError):
        return
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
        os.replace(temporary, entry)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _frozen(value: Any, tagged: list[bool]) -> Any:
    """``value`` as JSON-ready data with dates tagged, or :data:`_NONE` if JSON cannot carry it exactly."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        return value if -_LIMIT <= value < _LIMIT else _NONE
    if kind is float:
        return value if math.isfinite(value) else _NONE
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str or key in (_DATE, _DATETIME):
                return _NONE
            frozen = _frozen(item, tagged)
            if frozen is _NONE:
                return _NONE
            out[key] = frozen
        return out
    if kind is list:
        items = [_frozen(item, tagged) for item in value]
        return _NONE if any(item is _NONE for item in items) else items
    if kind is dt.datetime:
        tagged[0] = True
        return {_DATETIME: value.isoformat()}
    if kind is dt.date:
        tagged[0] = True
        return {_DATE: value.isoformat()}
    return _NONE


def _thawed(value: Any) -> Any:
    if type(value) is dict:
        if len(value) == 1:
            if _DATE in value:
                return dt.date.fromisoformat(value[_DATE])
            if _DATETIME in value:
                return dt.datetime.fromisoformat(value[_DATETIME])
        return {key: _thawed(item) for key, item in value.items()}
    if type(value) is list:
        return [_thawed(item) for item in value]
    return value
