"""Writing output files safely: never through a path someone else prepared.

An output is written to a new temporary file created exclusively (``O_EXCL``, a random name)
in the target's own folder, flushed to disk, and renamed over the target, so a reader sees
the old file or the new one, never half of one; a symbolic link planted at the target is
refused rather than followed. The eco-map, the facilitator pack and the decision log use it;
``open_atomically`` streams a large output (the impact report) the same way.

May import: :mod:`riskengine.errors`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NoReturn

from riskengine.errors import Diagnostic, Location, RiskEngineError

__all__ = ["open_atomically", "write_file_atomically"]


def write_file_atomically(target: Path | str, data: str | bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` (text is UTF-8) to ``target`` atomically; raise a located error if it cannot."""
    with open_atomically(target, mode=mode) as out:
        out.write(data.encode("utf-8") if isinstance(data, str) else data)


@contextlib.contextmanager
def open_atomically(target: Path | str, *, mode: int = 0o644) -> Iterator[BinaryIO]:
    """A binary file to stream an output into; it replaces ``target`` only when the block ends
    without an exception (an exception leaves ``target`` as it was and removes the temporary)."""
    path = Path(target)
    if path.is_symlink():
        _refuse(path, "unsafe-path", "is a symbolic link: riskengine does not write through links")
    if path.exists() and not path.is_file():
        _refuse(path, "unsafe-path", "exists and is not a regular file")
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        _refuse(path, "unwritable", exc.strerror or str(exc))
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        _refuse(path, "unwritable", exc.strerror or str(exc))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (where the platform allows opening a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _refuse(path: Path, code: str, message: str) -> NoReturn:
    raise RiskEngineError([Diagnostic(Location(str(path)), code, "", message)])
