"""One door in: the public API is exactly what ``riskengine.__all__`` says."""

from __future__ import annotations

import ast
from pathlib import Path

import riskengine

from .paths import ROOT


class TestPublicApi:
    def test_all_is_sorted_and_complete(self) -> None:
        """__all__ is sorted (ruff's isort style) and lists every public name the package exposes."""
        public = sorted(n for n in vars(riskengine) if not n.startswith("_") or n == "__version__")
        modules = {n for n in public if type(getattr(riskengine, n)).__name__ == "module"}
        isort_style = sorted(riskengine.__all__, key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
        assert riskengine.__all__ == isort_style  # ruff RUF022: CONSTANTS, Classes, functions
        assert set(riskengine.__all__) == set(public) - modules

    def test_one_error_root(self) -> None:
        """Every exception riskengine exports derives from RiskEngineError."""
        errors = [getattr(riskengine, n) for n in riskengine.__all__ if n.endswith("Error")]
        assert errors and all(issubclass(e, riskengine.RiskEngineError) for e in errors)

    def test_only_the_adapter_imports_durable(self) -> None:
        """durable-rules is imported by riskengine/run/backends/durable.py and nowhere else."""
        importers = []
        for path in (ROOT / "riskengine").rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module]
                if any(n.split(".")[0] in {"durable", "durable_rules_engine"} for n in names):
                    importers.append(path.relative_to(ROOT))
        assert set(importers) == {Path("riskengine/run/backends/durable.py")}

    def test_nothing_reads_the_clock_during_evaluation(self) -> None:
        """No module on the evaluation path calls date.today() or datetime.now(): as_of is the date."""
        allowed = {
            Path("riskengine/cli.py"),  # the knowledge listing's default --as-of
            Path("riskengine/training/commands.py"),  # scenario lint's (is consent in date today?)
            Path("riskengine/room/app.py"),  # the live room's export: the day its results were exported
            # The service's decision log stamps entries and its JWT check reads expiry times;
            # neither is on the evaluation path (the worker processes never read the clock).
            Path("riskengine/service/decisionlog.py"),
            Path("riskengine/service/auth.py"),
        }
        offenders = []
        for path in (ROOT / "riskengine").rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if any(call in text for call in ("date.today(", "datetime.now(", "time.time(")):
                offenders.append(path.relative_to(ROOT))
        assert set(offenders) <= allowed


class TestPackaging:
    def test_every_ruleset_file_is_installed(self) -> None:
        """pyproject's data-files patterns cover every ruleset file, so regular installs ship them all."""
        import fnmatch

        import pytest

        tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the same files ship on 3.10

        config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
        patterns = [p for group in config["tool"]["setuptools"]["data-files"].values() for p in group]
        files = [str(p.relative_to(ROOT)) for p in (ROOT / "rulesets").rglob("*.yaml")]
        uncovered = [
            f
            for f in files
            if not any(fnmatch.fnmatch(f, p) and f.count("/") == p.count("/") for p in patterns)
        ]
        assert files and not uncovered

    def test_every_subpackage_is_installed(self) -> None:
        """pyproject's package patterns take in every folder of riskengine with an __init__.py
        (today's stages and any capability added later), so a regular install is complete."""
        import fnmatch

        import pytest

        tomllib = pytest.importorskip("tomllib")
        config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
        patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
        packages = [
            ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "riskengine").rglob("__init__.py")
        ]
        assert len(packages) >= 7  # the face and the six stages at least
        assert [p for p in packages if not any(fnmatch.fnmatch(p, pat) for pat in patterns)] == []
