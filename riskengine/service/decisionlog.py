"""The decision log: append-only JSON lines, hash-chained, fsynced before a response.

Each line is one entry (an evaluation, or the feedback on one) as compact JSON with sorted
keys. Every entry carries ``seq`` (0, 1, 2, ... across all files), ``prev`` (the ``hash``
of the entry before it; 64 zeros for the first) and ``hash``, the SHA-256 of the entry's
canonical JSON without ``hash``. Editing, deleting, inserting or reordering any entry breaks
the chain, and :func:`verify` finds it. (Cutting entries off the end cannot be seen from
the file alone: ``verify`` prints the head hash so it can be recorded elsewhere and checked
with ``--expect-head``.)

Writes go through one thread that groups what is waiting into one ``write`` and one
``fsync`` (group commit), and a caller's entry is acknowledged only after its ``fsync``: a
crash loses nothing a client was told about. When the active file passes ``max_bytes`` it is
renamed ``PATH.N`` (N = 1, 2, ... oldest first) and a new ``PATH`` continues the same chain.

May import: the standard library and orjson (``riskengine log verify`` needs no extras).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import queue
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "GENESIS",
    "DecisionLog",
    "DecisionLogError",
    "VerifyReport",
    "entry_hash",
    "mask",
    "segments",
    "verify",
]

GENESIS = "0" * 64
_SEGMENT = re.compile(r"\.(\d+)$")


class DecisionLogError(Exception):
    """The decision log cannot be opened or written."""


def canonical(entry: Mapping[str, Any]) -> bytes:
    """The bytes an entry is hashed and written as: compact JSON, keys sorted."""
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 of the entry without its own ``hash`` field."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def segments(path: Path) -> list[Path]:
    """The files of one log, oldest first: ``PATH.1``, ``PATH.2``, ..., then ``PATH``."""
    numbered: list[tuple[int, Path]] = []
    if path.parent.is_dir():
        for candidate in path.parent.iterdir():
            if candidate.name.startswith(path.name + "."):
                match = _SEGMENT.search(candidate.name[len(path.name) :])
                if match and candidate.name == f"{path.name}.{match.group(1)}":
                    numbered.append((int(match.group(1)), candidate))
    ordered = [p for _, p in sorted(numbered)]
    return [*ordered, path] if path.exists() else ordered


def mask(data: Any, patterns: Sequence[str]) -> Any:
    """A copy of ``data`` with the values at each JSON-pointer pattern replaced by ``"[masked]"``.

    A pattern is a JSON pointer whose segments may be ``*`` (any key or index), e.g.
    ``/person/ref`` or ``/prefetch/*/entry/*/resource/name``.
    """
    for pattern in patterns:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pattern.split("/")[1:]]
        data = _mask(data, parts)
    return data


def _mask(data: Any, parts: list[str]) -> Any:
    if not parts:
        return "[masked]"
    head, rest = parts[0], parts[1:]
    if isinstance(data, Mapping):
        return {k: (_mask(v, rest) if head in ("*", k) else v) for k, v in data.items()}
    if isinstance(data, list):
        return [(_mask(v, rest) if head in ("*", str(i)) else v) for i, v in enumerate(data)]
    return data


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Pending:
    entry: dict[str, Any]
    loop: asyncio.AbstractEventLoop | None
    future: asyncio.Future[dict[str, Any]] | None
    done: threading.Event = field(default_factory=threading.Event)
    result: dict[str, Any] | None = None
    error: BaseException | None = None


class DecisionLog:
    """One writer of one log (a second process opening the same log is refused)."""

    def __init__(self, path: Path | str, *, max_bytes: int = 64 * 1024 * 1024, fsync: bool = True) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.fsync = fsync
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._fd = -1
        self._lock_fd = -1
        self.seq = 0
        self.head = GENESIS

    # -- opening ----------------------------------------------------------------------------
    def open(self) -> None:
        """Lock the log, pick up its chain where it ends, and start the writer thread."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DecisionLogError(f"{self.path} is in use by another riskengine serve") from None
        except OSError as exc:
            raise DecisionLogError(f"{self.path}: {exc.strerror or exc}") from None
        self._recover()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        _fsync_dir(self.path.parent)
        self._thread = threading.Thread(target=self._writer, name="decision-log", daemon=True)
        self._thread.start()

    def _recover(self) -> None:
        """Continue the chain from the last complete entry; set a torn last line aside."""
        for segment in reversed(segments(self.path)):
            data = segment.read_bytes()
            if not data.strip():
                continue
            if not data.endswith(b"\n"):  # a write cut short by power loss: never acknowledged
                cut = data.rfind(b"\n") + 1
                aside = segment.with_name(
                    f"{segment.name}.torn-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}"
                )
                aside.write_bytes(data[cut:])
                with segment.open("r+b") as handle:
                    handle.truncate(cut)
                    os.fsync(handle.fileno())
                data = data[:cut]
                if not data.strip():
                    continue
            last = orjson.loads(data.rstrip(b"\n").rsplit(b"\n", 1)[-1])
            self.seq, self.head = int(last["seq"]) + 1, str(last["hash"])
            return

    def close(self) -> None:
        """Finish what is queued, stop the writer and release the log."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        for fd in (self._fd, self._lock_fd):
            if fd >= 0:
                os.close(fd)
        self._fd = self._lock_fd = -1

    # -- writing ----------------------------------------------------------------------------
    async def write(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append ``entry``; return it with ``seq``, ``time``, ``prev``, ``hash`` once fsynced."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._queue.put(_Pending(entry, loop, future))
        return await future

    def write_sync(self, entry: dict[str, Any]) -> dict[str, Any]:
        """The same as :meth:`write`, for a caller without an event loop."""
        pending = _Pending(entry, None, None)
        self._queue.put(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def _writer(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            with contextlib.suppress(queue.Empty):
                while len(batch) < 512:
                    item = self._queue.get_nowait()
                    if item is None:
                        self._queue.put(None)
                        break
                    batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        seq, head = self.seq, self.head
        lines: list[bytes] = []
        done: list[dict[str, Any]] = []
        for pending in batch:
            entry = {**pending.entry, "seq": seq, "time": pending.entry.get("time") or _now(), "prev": head}
            entry["hash"] = head = entry_hash(entry)
            seq += 1
            lines.append(canonical(entry) + b"\n")
            done.append(entry)
        error: BaseException | None = None
        before = -1
        try:
            before = os.fstat(self._fd).st_size
            _write_all(self._fd, b"".join(lines))
            if self.fsync:
                os.fsync(self._fd)
            self.seq, self.head = seq, head
            if os.fstat(self._fd).st_size >= self.max_bytes:
                self._rotate()
        except OSError as exc:
            error = DecisionLogError(f"{self.path}: {exc.strerror or exc}")
            if before >= 0:  # cut back to what was acknowledged, so the chain stays whole
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, before)
        for pending, entry in zip(batch, done, strict=True):
            _settle(pending, entry, error)

    def _rotate(self) -> None:
        os.close(self._fd)
        existing = [int(m.group(1)) for p in segments(self.path) if (m := _SEGMENT.search(p.name))]
        number = max(existing, default=0) + 1
        os.replace(self.path, f"{self.path}.{number}")
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        _fsync_dir(self.path.parent)


def _settle(pending: _Pending, entry: dict[str, Any], error: BaseException | None) -> None:
    pending.result, pending.error = entry, error
    if pending.future is not None and pending.loop is not None:
        future = pending.future

        def resolve() -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(entry)

        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
            pending.loop.call_soon_threadsafe(resolve)
    pending.done.set()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- verifying --------------------------------------------------------------------------------
@dataclass
class VerifyReport:
    """What :func:`verify` found: entries checked, the head hash, and every problem located."""

    files: list[str]
    entries: int = 0
    evaluations: int = 0
    feedback: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the chain is whole."""
        return not self.problems


def _lines(files: Iterable[Path]) -> Iterator[tuple[str, int, bytes, bool]]:
    for path in files:
        data = path.read_bytes()
        lines = data.split(b"\n")
        complete = data.endswith(b"\n") or not data
        for number, line in enumerate(lines[:-1] if complete else lines, 1):
            last = number == len(lines) and not complete
            yield str(path), number, line, last


def verify(path: Path | str, *, expect_head: str | None = None) -> VerifyReport:
    """Check every entry of the log at ``path`` (all its rotated files) against the chain."""
    files = segments(Path(path))
    report = VerifyReport([str(f) for f in files])
    if not files:
        report.problems.append(f"{path}: no such decision log")
        return report
    prev, seq = GENESIS, 0
    for name, number, line, torn in _lines(files):
        where = f"{name}:{number}"
        if torn:
            report.problems.append(f"{where}: the last line is incomplete (a write was cut short)")
            break
        try:
            entry = orjson.loads(line)
            if not isinstance(entry, dict):
                raise ValueError("not an object")
        except ValueError:
            report.problems.append(f"{where}: not a JSON entry (edited or damaged)")
            prev, seq = "?", seq + 1
            continue
        report.problems += _check(entry, where, prev, seq)
        prev = str(entry.get("hash"))
        seq = (entry["seq"] if isinstance(entry.get("seq"), int) else seq) + 1
        report.entries += 1
        report.evaluations += entry.get("kind") == "evaluation"
        report.feedback += entry.get("kind") == "feedback"
    report.head = prev
    if expect_head is not None and expect_head != prev:
        report.problems.append(
            f"the head is {prev}, not the expected {expect_head} (entries cut off the end?)"
        )
    return report


def _check(entry: dict[str, Any], where: str, prev: str, seq: int) -> list[str]:
    problems = []
    if entry.get("hash") != entry_hash(entry):
        problems.append(f"{where}: the entry does not match its hash (edited)")
    if prev != "?" and entry.get("prev") != prev:
        what = "the first entry does not start the chain" if prev == GENESIS else "the chain is broken"
        problems.append(f"{where}: {what} (an entry before it was deleted, inserted or moved)")
    if entry.get("seq") != seq:
        problems.append(f"{where}: entry number {entry.get('seq')} where {seq} was expected")
    return problems
