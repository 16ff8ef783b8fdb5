"""The inputs of a batch, read lazily as work items: one proposal each, in a fixed order.

An INPUT is a proposal file (YAML, or JSON if it ends in ``.json``), an NDJSON file (``.ndjson``
or ``.jsonl``: one proposal per line, blank lines skipped), a directory (every such file under
it, in sorted path order, skipping hidden files, rule tests and training scenarios), or ``-``
for NDJSON on standard input. Items come one at a time, so a corpus of any size streams.

May import: the standard library, ``riskengine`` public names.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import riskengine

__all__ = ["STDIN", "Item", "check_inputs", "iter_files", "iter_items"]

STDIN = "<stdin>"
_PROPOSAL_SUFFIXES = (".yaml", ".yml", ".json")
_NDJSON_SUFFIXES = (".ndjson", ".jsonl")
_NOT_PROPOSALS = (".test.yaml", ".test.yml", ".scenario.yaml", ".scenario.yml")


@dataclass(frozen=True, slots=True)
class Item:
    """One record to evaluate: where it came from and its text (or why it could not be read)."""

    source: str
    line: int | None  # the line of an NDJSON record; None for a whole file
    text: str
    unreadable: str = ""  # why the text could not be read ("" when it was)

    @property
    def label(self) -> str:
        """``file`` or ``file:line``: the record's ``input`` in the output."""
        return self.source if self.line is None else f"{self.source}:{self.line}"


def check_inputs(paths: Sequence[str]) -> None:
    """Raise :class:`riskengine.InputError` naming every INPUT that does not exist."""
    missing = [p for p in paths if p != "-" and not Path(p).exists()]
    if missing:
        raise riskengine.InputError(
            [riskengine.Diagnostic(riskengine.Location(p), "not-found", "", "no such file or directory") for p in missing]
        )  # fmt: skip
    if sum(p == "-" for p in paths) > 1:
        where = riskengine.Location(STDIN)
        raise riskengine.InputError([riskengine.Diagnostic(where, "stdin-twice", "", "'-' is given twice")])


def iter_items(
    paths: Sequence[str], *, stdin: BinaryIO | None = None, exclude: Path | None = None
) -> Iterator[Item]:
    """Every record of ``paths`` in order; ``exclude`` (the output file) is never read as input."""
    skip = _identity(exclude) if exclude is not None else None
    for given in paths:
        if given == "-":
            yield from _ndjson(stdin or sys.stdin.buffer, STDIN)
            continue
        for file in iter_files([given]):
            if skip is None or _identity(file) != skip:
                yield from _file_items(file)


def iter_files(paths: Sequence[str]) -> Iterator[Path]:
    """The files ``paths`` name, directories expanded in sorted order (``-`` is left out)."""
    for given in paths:
        if given != "-":
            path = Path(given)
            yield from _files_under(path) if path.is_dir() else [path]


def _files_under(folder: Path) -> list[Path]:
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if name.startswith(".") or name.endswith(_NOT_PROPOSALS):
                continue
            if name.endswith(_PROPOSAL_SUFFIXES + _NDJSON_SUFFIXES):
                found.append(Path(root, name))
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def _file_items(path: Path) -> Iterator[Item]:
    name = str(path)
    if path.name.endswith(_NDJSON_SUFFIXES):
        try:
            with path.open("rb") as handle:
                yield from _ndjson(handle, name)
        except OSError as exc:
            yield Item(name, None, "", f"cannot be read: {exc.strerror or exc}")
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Item(name, None, "", f"cannot be read: {exc.strerror or exc}")
        return
    yield _decoded(data, name, None)


def _ndjson(handle: BinaryIO, name: str) -> Iterator[Item]:
    for number, raw in enumerate(handle, start=1):
        if raw.strip():
            yield _decoded(raw, name, number)


def _decoded(data: bytes, name: str, line: int | None) -> Item:
    try:  # a whole file may start with a byte-order mark, as riskengine evaluate accepts
        return Item(name, line, data.decode("utf-8" if line else "utf-8-sig"))
    except UnicodeDecodeError as exc:
        return Item(name, line, "", f"is not UTF-8 (byte {exc.start + 1})")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino
