"""Proposal patches: how a fact, an option or a reveal changes the proposal, with positions kept.

A patch is a mapping in the proposal's own shape, merged into it:

* a mapping merges key by key; a plain value replaces the value there;
* ``null`` removes the key (it must be there);
* a list adds its items to the list there; an item with an ``id`` that the list already
  has (a network member) is merged into that item instead, and ``{id: x, $remove: true}``
  removes it;
* ``{$replace: [...]}`` replaces a list (or anything) wholesale.

A patch that cannot apply (a mapping where the proposal has a list, a removal of
something that is not there) is a located ``patch-does-not-apply`` error. Every value a
patch writes remembers where in the scenario file it was written, so when the merged
proposal does not validate, the error points at the patch, not at a temporary file.

Imports: the standard library and :mod:`riskengine.training._core`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from riskengine import Diagnostic, Location

from ._core import SourceMap, YamlPath, did_you_mean, dotted

__all__ = ["Layer", "Merged", "apply_patch"]

Position = tuple[int, int]
REMOVE = "$remove"
REPLACE = "$replace"


@dataclass(frozen=True)
class Layer:
    """One patch, where it sits in the scenario file, and what it is (for messages)."""

    data: Mapping[str, Any]
    at: YamlPath
    source: SourceMap
    label: str

    def positions(self) -> tuple[dict[YamlPath, Position], dict[YamlPath, Position]]:
        """Positions of the patch's values and keys, relative to the patch."""
        sub = self.source.sub(self.at)
        return dict(sub.values), dict(sub.keys)

    def root(self) -> Position:
        """Where the patch is (its key), or its owner when it has none."""
        location = self.source.locate(self.at, key=True)
        return (location.line, location.column)


@dataclass
class Merged:
    """Proposal data plus where in the scenario file each patched part was written."""

    data: dict[str, Any]
    values: dict[YamlPath, Position] = field(default_factory=dict)
    keys: dict[YamlPath, Position] = field(default_factory=dict)
    root: Position = (0, 0)

    def copy(self) -> Merged:
        """A deep copy to patch further."""
        return Merged(copy.deepcopy(self.data), dict(self.values), dict(self.keys), self.root)

    def source_map(self, path: str) -> SourceMap:
        """A map for validating the merged proposal: patched parts at their patch, the rest at
        the last patch's root."""
        values = dict(self.values)
        values[()] = self.root
        return SourceMap(path, values, dict(self.keys))


class _Apply:
    def __init__(self, merged: Merged, layer: Layer) -> None:
        self.merged = merged
        self.layer = layer
        self.pvalues, self.pkeys = layer.positions()
        self.problems: list[Diagnostic] = []

    def problem(self, spath: YamlPath, message: str) -> None:
        where = self.pvalues.get(spath) or self.pkeys.get(spath) or self.layer.root()
        location = Location(self.layer.source.path, *where)
        full = dotted((*self.layer.at, *spath))
        self.problems.append(
            Diagnostic(location, "patch-does-not-apply", full, f"{self.layer.label}: {message}")
        )

    def place(self, spath: YamlPath, dpath: YamlPath) -> None:
        """The patch's positions under ``spath`` now describe the proposal under ``dpath``."""
        n = len(spath)
        for table, positions in ((self.pvalues, self.merged.values), (self.pkeys, self.merged.keys)):
            for path, where in table.items():
                if path[:n] == spath:
                    positions[(*dpath, *path[n:])] = where

    def forget(self, dpath: YamlPath) -> None:
        n = len(dpath)
        for positions in (self.merged.values, self.merged.keys):
            for path in [p for p in positions if p[:n] == dpath]:
                del positions[path]

    def renumber(self, dpath: YamlPath, removed: int) -> None:
        """Items after ``removed`` in the list at ``dpath`` moved up by one."""
        n = len(dpath)
        for positions in (self.merged.values, self.merged.keys):
            moved = {}
            for path in list(positions):
                index = path[n] if path[:n] == dpath and len(path) > n else None
                if isinstance(index, int) and index > removed:
                    moved[(*dpath, index - 1, *path[n + 1 :])] = positions.pop(path)
            positions.update(moved)

    def mapping(self, dst: dict[str, Any], src: Mapping[str, Any], dpath: YamlPath, spath: YamlPath) -> None:
        for key, value in src.items():
            sp, dp = (*spath, key), (*dpath, key)
            if value is None:
                if key not in dst:
                    self.problem(sp, f"removes '{dotted(dp)}', which the proposal does not have")
                else:
                    del dst[key]
                    self.forget(dp)
                continue
            if isinstance(value, dict) and set(value) == {REPLACE}:
                self.forget(dp)
                dst[key] = copy.deepcopy(value[REPLACE])
                self.place((*sp, REPLACE), dp)
                continue
            if key not in dst:
                dst[key] = copy.deepcopy(value)
                self.place(sp, dp)
                continue
            self.merge_into(dst, key, value, dp, sp)

    def merge_into(self, dst: dict[str, Any], key: str, value: Any, dp: YamlPath, sp: YamlPath) -> None:
        current = dst[key]
        if isinstance(value, dict):
            if not isinstance(current, dict):
                self.problem(
                    sp, f"'{dotted(dp)}' is {_kind(current)} in the proposal; this patch gives a mapping"
                )
                return
            self._mark(sp, dp)
            self.mapping(current, value, dp, sp)
        elif isinstance(value, list):
            if not isinstance(current, list):
                self.problem(
                    sp, f"'{dotted(dp)}' is {_kind(current)} in the proposal; this patch gives a list"
                )
                return
            self._mark(sp, dp)
            self.sequence(current, value, dp, sp)
        elif isinstance(current, dict | list):
            self.problem(
                sp, f"'{dotted(dp)}' is {_kind(current)} in the proposal; this patch gives one value"
            )
        else:
            dst[key] = value
            self.place(sp, dp)

    def _mark(self, sp: YamlPath, dp: YamlPath) -> None:
        for table, positions in ((self.pvalues, self.merged.values), (self.pkeys, self.merged.keys)):
            if sp in table:
                positions[dp] = table[sp]

    def sequence(self, dst: list[Any], src: list[Any], dpath: YamlPath, spath: YamlPath) -> None:
        for j, item in enumerate(src):
            sp = (*spath, j)
            found = _index_by_id(dst, item)
            if found is not None and isinstance(item, dict):
                if item.get(REMOVE) is True:
                    if set(item) != {"id", REMOVE}:
                        self.problem(sp, "an item to remove has only 'id' and '$remove: true'")
                        continue
                    del dst[found]
                    self.forget((*dpath, found))
                    self.renumber(dpath, found)
                else:
                    self.mapping(dst[found], item, (*dpath, found), sp)
            elif isinstance(item, dict) and REMOVE in item:
                ids = [str(x["id"]) for x in dst if isinstance(x, dict) and "id" in x]
                hint = did_you_mean(str(item.get("id")), ids)
                self.problem(sp, f"removes '{item.get('id')}', which '{dotted(dpath)}' does not have{hint}")
            else:
                dst.append(copy.deepcopy(item))
                self.place(sp, (*dpath, len(dst) - 1))


def _index_by_id(items: list[Any], item: Any) -> int | None:
    if not isinstance(item, dict) or "id" not in item:
        return None
    for i, existing in enumerate(items):
        if isinstance(existing, dict) and existing.get("id") == item["id"]:
            return i
    return None


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "a single value"


def apply_patch(merged: Merged, layer: Layer) -> tuple[Merged, list[Diagnostic]]:
    """Apply one patch to a copy of ``merged``; return the result and what did not apply."""
    result = merged.copy()
    result.root = layer.root()
    if not isinstance(layer.data, Mapping):
        return result, []  # the scenario model already reported a patch that is not a mapping
    work = _Apply(result, layer)
    work.mapping(result.data, layer.data, (), ())
    return result, work.problems
