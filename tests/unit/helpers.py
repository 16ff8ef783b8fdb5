"""Small rulesets written into a temporary folder, for the unit tests."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

HEADER = """\
id: {id}
version: 1.0.0
title: "A ruleset for a unit test"
"""

PROPOSAL: dict[str, Any] = {
    "schema_version": 1,
    "id": "unit",
    "jurisdiction": "england",
    "as_of": "2026-11-22",
    "proposal": {"activity": "parkrun"},
}


def write(folder: Path, name: str, text: str) -> Path:
    """Write ``text`` (dedented) as ``folder/name`` and return the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def ruleset(folder: Path, ruleset_id: str, body: str) -> Path:
    """A ruleset file ``<id>.yaml`` with a standard header and ``body`` (dedented) below it."""
    return write(folder, f"{ruleset_id}.yaml", HEADER.format(id=ruleset_id) + textwrap.dedent(body))


def proposal(**parts: Any) -> dict[str, Any]:
    """A bare parkrun proposal with ``parts`` merged into its top level."""
    return {**PROPOSAL, **parts}
