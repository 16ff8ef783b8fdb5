"""The package's import order cannot decay: stages import downward only, capabilities use the door.

Every ``import`` in ``riskengine/`` (lazy ones inside functions included) is read from the AST
and checked against the layer table below. A module outside the table fails, so a new module
has to be given a place.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .paths import ROOT

PACKAGE = ROOT / "riskengine"

# The stages, lowest first; a module may import its own layer and the layers below it.
LAYERS: dict[str, int] = {
    "riskengine.errors": 0,
    "riskengine.version": 0,
    "riskengine.files": 0,
    "riskengine.documents": 1,
    "riskengine.read": 2,
    "riskengine.rules": 3,
    "riskengine.analysis": 4,
    "riskengine.run": 5,
    "riskengine.report": 6,
    "riskengine.engine": 7,
    "riskengine.rule_tests": 8,
    "riskengine": 9,  # the door: riskengine/__init__.py
    "riskengine.cli": 10,
    "riskengine.__main__": 11,
}
# Capabilities import the core through the door (``riskengine``), each other's door
# (``riskengine.training``), and their own modules. A capability's ``_core.py`` is its one
# documented internal interface to the stages: the only module of it that may import them.
CAPABILITIES = ("training", "room", "service", "fhir", "batch")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import of the package in ``path``."""
    return _imports_in(path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py")


def _imports_in(text: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    tree = ast.parse(text)
    here = module.split(".")
    package = here if is_package else here[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join([*base, *([node.module] if node.module else [])])
            if node.module is None or name == "riskengine":  # from . import x: x may be a module
                found += [(node.lineno, f"{name}.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, name))
    return [(line, name) for line, name in found if name == "riskengine" or name.startswith("riskengine.")]


def _layer_of(name: str) -> int | None:
    """The layer of a module name: its longest prefix in the table."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        layer = LAYERS.get(".".join(parts[:end]))
        if layer is not None:
            return layer
    return None


def _capability(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in CAPABILITIES else None


def _target(name: str) -> str:
    """``riskengine.x`` for ``riskengine.x`` and for a name imported from the door (``riskengine.Engine``)."""
    parts = name.split(".")
    if len(parts) == 2 and not (PACKAGE / parts[1]).exists() and not (PACKAGE / f"{parts[1]}.py").exists():
        return "riskengine"
    return name


def _problem(module: str, imported: str) -> str | None:
    target = _target(imported)
    own = _capability(module)
    if own is not None:
        theirs = _capability(target)
        if target == "riskengine" or theirs == own:
            return None
        if theirs is not None:
            return None if target == f"riskengine.{theirs}" else "another capability's internals"
        return None if module == f"riskengine.{own}._core" else "a stage, not through the door or _core.py"
    if _capability(target) is not None:
        return None if module == "riskengine.cli" else "a capability, from the core"
    mine, theirs_layer = _layer_of(module), _layer_of(target)
    if mine is None:
        return "an unplaced module (add it to LAYERS)"
    if theirs_layer is None:
        return "an unplaced module"
    return "a higher layer" if theirs_layer > mine else None


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_go_downward_only(path: Path) -> None:
    module = _module_name(path)
    if _capability(module) is None:
        assert _layer_of(module) is not None, f"{module} has no layer: add it to LAYERS"
    wrong = [
        f"line {line}: {name} is {why}"
        for line, name in _imports(path)
        if (why := _problem(module, name)) is not None
    ]
    assert not wrong, f"{module} imports upward:\n" + "\n".join(wrong)


class TestTheCheckItself:
    """The checker catches what it must (so a green run means something)."""

    def test_a_stage_importing_a_higher_stage_is_caught(self) -> None:
        assert _problem("riskengine.read.source", "riskengine.report.text") == "a higher layer"

    def test_a_lower_or_same_stage_is_allowed(self) -> None:
        assert _problem("riskengine.report.text", "riskengine.documents.evaluation") is None
        assert _problem("riskengine.run.facts", "riskengine.run.backends.base") is None

    def test_a_capability_must_use_the_door(self) -> None:
        assert _problem("riskengine.batch.pool", "riskengine") is None
        assert _problem("riskengine.batch.pool", "riskengine.Engine") is None
        assert _problem("riskengine.batch.pool", "riskengine.run.facts") is not None
        assert _problem("riskengine.batch._core", "riskengine.run.facts") is None
        assert _problem("riskengine.room.app", "riskengine.training") is None
        assert _problem("riskengine.room.app", "riskengine.training.debrief") is not None

    def test_the_core_never_imports_a_capability(self) -> None:
        assert _problem("riskengine.engine", "riskengine.service") is not None

    def test_lazy_and_relative_imports_are_read(self) -> None:
        text = "import os\ndef f():\n    from ..report import text\n    from . import cache\n"
        found = _imports_in(text, "riskengine.read.source", is_package=False)
        assert found == [(3, "riskengine.report"), (4, "riskengine.read.cache")]
        assert _problem("riskengine.read.source", found[0][1]) == "a higher layer"
