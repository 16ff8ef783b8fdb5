"""Where the shipped rulesets are, and whether a rulesets folder is them."""

from __future__ import annotations

import functools
import hashlib
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


def origin_of(path: Path, sha256: str, declared: str | None) -> str:
    """A ruleset's logical source, never a path, so the same rulesets give the same bytes
    wherever they are read from: ``shipped`` for a ruleset whose text is one riskengine ships
    (in the shipped folder, or a copy of it anywhere), else the overlay's declared ``origin``,
    else ``overlay``."""
    shipped = default_rulesets_dir().resolve()
    if shipped in path.resolve().parents or sha256 in _shipped_digests():
        return "shipped"
    return declared or "overlay"


@functools.cache
def _shipped_digests() -> frozenset[str]:
    """The SHA-256 of every shipped ruleset file's text (as the loader hashes it)."""
    root = default_rulesets_dir()
    files = sorted(p for p in root.rglob("*.y*ml") if p.is_file()) if root.is_dir() else []
    return frozenset(hashlib.sha256(p.read_text(encoding="utf-8").encode("utf-8")).hexdigest() for p in files)
