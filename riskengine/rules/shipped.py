"""Where the shipped rulesets are, and whether a rulesets folder is them."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["default_rulesets_dir", "origin_of"]


def default_rulesets_dir() -> Path:
    """The shipped rulesets: ``rulesets/`` beside the package in a checkout or editable
    install, else ``<prefix>/share/riskengine/rulesets`` where a regular install puts them."""
    checkout = Path(__file__).resolve().parents[2] / "rulesets"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "riskengine" / "rulesets"


def origin_of(directory: Path) -> str:
    """The rulesets' logical source, never a path: the same rulesets give the same bytes
    wherever they are read from. ``shipped`` for the shipped folder (or a file in it)."""
    shipped = default_rulesets_dir().resolve()
    where = directory.resolve()
    return "shipped" if where == shipped or shipped in where.parents else "overlay"
