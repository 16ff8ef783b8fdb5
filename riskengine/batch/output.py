"""The batch's output file: appended a chunk at a time, valid up to its last complete line.

Each chunk's lines go to the file in one ``write`` as soon as they are in order, so a run that
is killed leaves every line before the last one whole, and at worst a partial last line, which
``--resume`` cuts off before it continues. The file is opened the way
:func:`riskengine.write_file_atomically` treats its target: a symbolic link at the path is
refused rather than followed (``O_NOFOLLOW``), and so is anything that is not a regular file.
The file cannot be written atomically as a whole (it streams), so it is synced to disk once,
at the end.

May import: the standard library, orjson, ``riskengine`` public names.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import riskengine

__all__ = ["Output", "Written", "open_output", "refuse"]

_DECODER = json.JSONDecoder()
_HEAD = '{"record":1,"input":'


@dataclass(frozen=True, slots=True)
class Written:
    """One record already in the output: its input, proposal id, and whether it was evaluated."""

    input: str
    id: str | None
    ok: bool


class Output:
    """An open output: :meth:`write` appends whole lines; :meth:`written` reads the lines kept."""

    def __init__(self, fd: int, path: str, kept: int) -> None:
        self.fd, self.path, self.kept = fd, path, kept

    def write(self, lines: list[bytes]) -> None:
        """Append ``lines`` (UTF-8, each ending in a newline) in one write."""
        view = memoryview(b"".join(lines))
        while view:
            view = view[os.write(self.fd, view) :]

    def written(self) -> Iterator[Written]:
        """The records kept from an earlier run (``--resume``), in order, read as needed."""
        if not self.kept:
            return
        with open(self.path, "rb") as handle:
            number, left = 0, self.kept
            while left > 0:
                raw = handle.readline(left)
                left -= len(raw)
                number += 1
                yield _record(raw, self.path, number)

    def close(self) -> None:
        """Sync to disk and close."""
        with contextlib.suppress(OSError):  # a pipe or a terminal cannot be synced
            os.fsync(self.fd)
        if self.fd > 2:
            os.close(self.fd)


def open_output(target: str, *, resume: bool) -> Output:
    """Open ``target`` (``-``: standard output) for the batch; with ``resume``, keep its whole lines."""
    if target == "-":
        if resume:
            refuse(target, "bad-option", "--resume needs an output file, not standard output")
        return Output(1, target, 0)
    path = Path(target)
    if path.is_symlink():
        refuse(target, "unsafe-path", "is a symbolic link: riskengine does not write through links")
    if path.exists() and not path.is_file():
        refuse(target, "unsafe-path", "exists and is not a regular file")
    flags = os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= os.O_RDWR | os.O_APPEND if resume else os.O_WRONLY | os.O_TRUNC  # resuming reads the tail
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        refuse(target, "unwritable", exc.strerror or str(exc))
    kept = _cut_partial_line(fd) if resume else 0
    return Output(fd, target, kept)


def _cut_partial_line(fd: int) -> int:
    """Truncate the file after its last newline (dropping a partial last line); its new size."""
    size = os.fstat(fd).st_size
    end = size
    while end > 0:
        start = max(0, end - 65536)
        block = os.pread(fd, end - start, start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            end = start + newline + 1
            break
        end = start
    if end != size:
        os.ftruncate(fd, end)
    return end


def _record(raw: bytes, path: str, number: int) -> Written:
    """The input, id and outcome of one output line, read without decoding its evaluation."""
    try:
        text = raw.decode("utf-8")
        if not text.startswith(_HEAD):
            raise ValueError
        label, at = _DECODER.raw_decode(text, len(_HEAD))
        if not text.startswith(',"id":', at):
            raise ValueError
        found, at = _DECODER.raw_decode(text, at + 6)
        ok = text.startswith(',"evaluation":', at)
        if not (ok or text.startswith(',"errors":', at)) or not isinstance(label, str):
            raise ValueError
    except ValueError:
        refuse(
            f"{path}:{number}",
            "not-a-record",
            "is not a batch output line: --resume continues a batch's own output",
        )
    return Written(label, found if isinstance(found, str) else None, ok)


def refuse(where: str, code: str, message: str) -> NoReturn:
    """Raise a located :class:`riskengine.InputError` (exit 2)."""
    raise riskengine.InputError([riskengine.Diagnostic(riskengine.Location(where), code, "", message)])
