"""A cache of parsed rulesets, so a command-line run does not re-parse unchanged rulesets.

Parsing the shipped rulesets is most of the time it takes to load them (libyaml still
builds a Python node for every scalar). The same text always parses to the same data, so
the parse of each ruleset file is kept. What is cached, where, and how it is kept:

* **Rulesets only.** The cache is consulted only inside :func:`for_rulesets`, which the rule
  loader enters while it reads ruleset and ``sources.yaml`` files. Proposals, rule test
  files and scenarios are never cached, valid or not, from the command line or the Python
  API: nothing a person said is written to disk.
* **Where.** ``$RISKENGINE_CACHE_DIR`` if set (an empty value turns the cache off), else
  ``rulesets/`` in the platform's user cache folder (``platformdirs``: ``~/.cache/riskengine``
  on Linux, ``~/Library/Caches/riskengine`` on macOS, ``%LOCALAPPDATA%\\riskengine\\Cache`` on
  Windows). With no home folder there is no cache.
* **Bounded.** At most ``$RISKENGINE_CACHE_MAX_BYTES`` (default 64 MiB) in all; after each
  write the least recently used entries (by modification time, which a hit refreshes) are
  removed until the folder is within it.
* **Private and whole.** The folder is made 0700 (a folder not owned by the user, or one
  others may write to that cannot be made private, turns the cache off) and each entry is
  0600, written to a temporary file and renamed into place, so a reader sees a whole entry
  or none.
* **Never trusted.** Each entry starts with an HMAC-SHA256 of its payload, keyed by the
  SHA-256 of the source text and the engine version (riskengine, PyYAML, Python and the
  reading code). An entry that was edited, cut short, planted or written by another
  version fails the check and the file is parsed afresh. The key is not secret (anyone who
  can read the rulesets can work it out), so this detects damage, stale and planted entries
  and edits made without recomputing it, not someone who can already write to the user's
  private cache folder and takes that trouble: that is someone acting as the user. Entries are JSON (read with orjson), never pickle, so an entry cannot run code.
  Data JSON cannot carry exactly (non-finite floats, very large integers, sets, bytes, keys
  that clash with the date tags) is simply not cached.
* **Old caches cleared.** Earlier versions kept every parsed file, proposals
  included, in ``parsed-*`` folders of the same user cache folder; the first write removes them.

Any problem reading or writing the cache is ignored: the file is parsed as usual.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import hashlib
import hmac
import math
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import platformdirs
import yaml

from riskengine.errors import RiskEngineError
from riskengine.files import write_file_atomically
from riskengine.read.limits import Limits
from riskengine.version import __version__

__all__ = [
    "ENV",
    "MAX_BYTES_ENV",
    "Entry",
    "cache_dir",
    "entry",
    "for_rulesets",
    "load",
    "max_bytes",
    "store",
]

ENV = "RISKENGINE_CACHE_DIR"
MAX_BYTES_ENV = "RISKENGINE_CACHE_MAX_BYTES"
DEFAULT_MAX_BYTES = 64 * 2**20
SUFFIX = ".parse"
_DATE, _DATETIME = "\x00date", "\x00datetime"
_LIMIT = 2**63  # orjson's integers are 64-bit
_NONE = object()
_MAC_LENGTH = 64  # hex digits of an HMAC-SHA256
_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar("riskengine_ruleset_cache", default=False)


@contextlib.contextmanager
def for_rulesets() -> Iterator[None]:
    """Within this block (the rule loader reading rulesets), parses may be cached; nowhere else."""
    token = _ENABLED.set(True)
    try:
        yield
    finally:
        _ENABLED.reset(token)


def cache_dir() -> Path | None:
    """Where parsed rulesets are kept, or None when the cache is off."""
    configured = os.environ.get(ENV)
    if configured is not None:
        return Path(configured) if configured else None
    home = os.path.expanduser("~")
    if home.startswith("~"):  # no home folder (a service account, say): no cache, no stray folder
        return None
    return Path(platformdirs.user_cache_dir("riskengine", appauthor=False)) / "rulesets"


def max_bytes() -> int:
    """The most the cache folder may hold, in bytes (``$RISKENGINE_CACHE_MAX_BYTES``, default 64 MiB)."""
    configured = os.environ.get(MAX_BYTES_ENV, "")
    return int(configured) if configured.isdigit() else DEFAULT_MAX_BYTES


@functools.cache
def _version() -> str:
    """What a cached parse depends on: the versions, and the code that reads YAML (a checkout may change it)."""
    code = hashlib.sha256()
    for module in ("source.py", "cache.py"):
        code.update((Path(__file__).parent / module).read_bytes())
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return f"riskengine {__version__} pyyaml {yaml.__version__} python {python} code {code.hexdigest()}"


def _key(text: str, limits: Limits) -> bytes:
    """The HMAC key of an entry: the source text's SHA-256, the engine version, and the limits
    the parse was checked within (so a parse kept under looser limits is not used under tighter
    ones: the text is read and checked afresh)."""
    source = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return f"{source}\n{_version()}\n{limits!r}".encode()


@dataclass(frozen=True, slots=True)
class Entry:
    """Where the parse of one text is kept, and the key its integrity check uses."""

    path: Path
    key: bytes = field(repr=False)

    def mac(self, payload: bytes) -> bytes:
        return hmac.new(self.key, payload, hashlib.sha256).hexdigest().encode("ascii")


def entry(text: str, limits: Limits) -> Entry | None:
    """The cache entry for the ruleset ``text`` read within ``limits`` (it may not exist yet), or
    None when not caching here."""
    if not _ENABLED.get():
        return None
    where = cache_dir()
    if where is None:
        return None
    key = _key(text, limits)
    return Entry(where / (hashlib.sha256(key).hexdigest() + SUFFIX), key)


def load(entry: Entry | None) -> Any:
    """The parse kept in ``entry``, or :data:`None` if there is none or it fails the integrity check."""
    if entry is None:
        return None
    try:
        raw = entry.path.read_bytes()
    except OSError:
        return None
    mac, newline, payload = raw[:_MAC_LENGTH], raw[_MAC_LENGTH : _MAC_LENGTH + 1], raw[_MAC_LENGTH + 1 :]
    if newline != b"\n" or not hmac.compare_digest(mac, entry.mac(payload)):
        return None
    try:
        found = orjson.loads(payload)
        data = _thawed(found["data"]) if found.get("tagged") else found["data"]
    except (orjson.JSONDecodeError, ValueError, KeyError, TypeError, AttributeError):
        return None
    with contextlib.suppress(OSError):
        os.utime(entry.path)  # recently used: evicted last
    return data


def store(entry: Entry | None, data: Any) -> None:
    """Keep a parse in ``entry``, if it can be kept exactly; never raises."""
    if entry is None:
        return
    tagged = [False]
    frozen = _frozen(data, tagged)
    if frozen is _NONE:
        return
    try:
        payload = orjson.dumps({"tagged": tagged[0], "data": frozen})
    except orjson.JSONEncodeError:
        return
    limit = max_bytes()
    folder = entry.path.parent
    if len(payload) + _MAC_LENGTH + 1 > limit or not _private_folder(folder):
        return
    try:
        write_file_atomically(entry.path, entry.mac(payload) + b"\n" + payload, mode=0o600)
    except RiskEngineError:
        return
    _evict(folder, limit)
    if os.environ.get(ENV) is None:
        _forget_old_layout(folder.parent)


@functools.cache
def _forget_old_layout(root: Path) -> None:
    """Remove the folders earlier versions kept every parsed file in, proposals included
    (``parsed-<versions>/*.json`` beside this folder): they may hold a person's words."""
    with contextlib.suppress(OSError):
        for old in root.glob("parsed-*"):
            if old.is_dir() and not old.is_symlink():
                for item in old.iterdir():
                    if item.suffix in {".json", ".tmp"} and not item.is_symlink():
                        with contextlib.suppress(OSError):
                            item.unlink()
                with contextlib.suppress(OSError):
                    old.rmdir()


def _private_folder(folder: Path) -> bool:
    """Make ``folder`` (0700) or check it is the user's own and private; False means do not cache."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode):
            return False
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            return False
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(folder, 0o700)
    except OSError:
        return False
    return True


def _evict(folder: Path, limit: int) -> None:
    """Remove the least recently used entries until the folder holds at most ``limit`` bytes."""
    entries: list[tuple[float, int, Path]] = []
    try:
        with os.scandir(folder) as found:
            for item in found:
                if item.name.endswith(SUFFIX) and item.is_file(follow_symlinks=False):
                    info = item.stat(follow_symlinks=False)
                    entries.append((info.st_mtime, info.st_size, Path(item.path)))
    except OSError:
        return
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries, key=lambda e: (e[0], e[2].name)):
        if total <= limit:
            break
        with contextlib.suppress(OSError):
            path.unlink()
            total -= size


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
