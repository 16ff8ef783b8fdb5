"""Every fixture's evaluation JSON matches its recorded golden byte for byte.

The goldens were recorded before the package was re-laid by stage (issue 9), so this proves
the move changed no behaviour; a deliberate change to the output regenerates them with
``pytest --regen-goldens`` and the diff is reviewed in the commit. A missing golden fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from riskengine import Engine, load_proposal

from .paths import FIXTURES, ROOT, SCENARIO_PROPOSALS

GOLDENS = FIXTURES / "goldens"


def _proposals() -> list[Path]:
    activity = [p for p in (FIXTURES / "activities").rglob("*.yaml") if not p.name.endswith(".expect.yaml")]
    return sorted(activity) + sorted(SCENARIO_PROPOSALS.glob("*.yaml"))


def _golden_for(path: Path) -> Path:
    return GOLDENS / path.relative_to(ROOT).with_suffix(".json")


@pytest.mark.parametrize("path", _proposals(), ids=lambda p: str(p.relative_to(ROOT)))
def test_evaluation_matches_golden(path: Path, shipped: Engine, request: pytest.FixtureRequest) -> None:
    actual = shipped.evaluate(load_proposal(path)).to_json() + "\n"
    golden = _golden_for(path)
    if request.config.getoption("--regen-goldens"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    assert golden.exists(), f"no golden for {path.name}: run pytest --regen-goldens and review the diff"
    assert actual == golden.read_text(encoding="utf-8")
