"""The hazard log (docs/safety/hazard-log.yaml) lists every hazard issue 14 names, each with
controls verified by tests that exist: a renamed or deleted test fails here."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest
import yaml

from .paths import ROOT

LOG = ROOT / "docs" / "safety" / "hazard-log.yaml"
REQUIRED = {
    "Silent non-firing", "A wrong single point of failure", "Stale knowledge", "Wrong jurisdiction",
    "Alert fatigue", "Automation bias", "A crash mid-evaluation", "A mixed-up person",
}  # fmt: skip


def hazards() -> list[dict[str, object]]:
    return list(yaml.safe_load(LOG.read_text(encoding="utf-8"))["hazards"])


@cache
def _names(path: Path) -> frozenset[str]:
    """``Class::test`` and ``test`` names defined in a test file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found.add(node.name)
        elif isinstance(node, ast.ClassDef):
            found |= {f"{node.name}::{f.name}" for f in node.body if isinstance(f, ast.FunctionDef)}
    return frozenset(found)


def missing(node_id: str) -> str | None:
    """Why ``node_id`` names no test, or None if it does."""
    file, _, name = node_id.partition("::")
    path = ROOT / file
    if not path.is_file():
        return f"{file} does not exist"
    if not name.split("::")[-1].startswith("test") or name not in _names(path):
        return f"{file} has no test {name}"
    return None


def test_every_required_hazard_is_logged() -> None:
    titles = {str(h["title"]) for h in hazards()}
    assert titles >= REQUIRED, REQUIRED - titles


def test_every_hazard_has_controls_each_verified_by_a_test() -> None:
    ids = [h["id"] for h in hazards()]
    assert len(ids) == len(set(ids))
    for hazard in hazards():
        controls = hazard["controls"]
        assert isinstance(controls, list) and controls, hazard["id"]
        for control in controls:
            assert control["control"] and control["verified_by"], (hazard["id"], control)


@pytest.mark.parametrize(
    "node_id",
    sorted({t for h in hazards() for c in h["controls"] for t in c["verified_by"]}),  # type: ignore[attr-defined]
)
def test_listed_test_exists(node_id: str) -> None:
    assert missing(node_id) is None, missing(node_id)


def test_the_check_catches_a_test_that_is_not_there() -> None:
    assert missing("tests/test_hazard_log.py::test_no_such_test") is not None
    assert missing("tests/no_such_file.py::test_x") is not None
    assert missing("tests/test_hazard_log.py::test_listed_test_exists") is None
