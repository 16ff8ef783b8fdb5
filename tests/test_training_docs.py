"""The trainers' guide (docs/scenarios.md) stays true: its complete example lints, plays and
prints as the guide says, and every lint code the code can emit is explained in it."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

from riskengine import Engine
from riskengine.training import load_scenario
from riskengine.training.linting import lint
from riskengine.training.pack import render_pack
from riskengine.training.solo import parse_choices, play

from .paths import ROOT

GUIDE = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
CODE = ROOT / "riskengine" / "training"


def _example(tmp_path: Path) -> Path:
    block = re.search(r"## The complete example.*?```yaml\n(.*?)```", GUIDE, re.S)
    assert block, "the guide has no complete example"
    path = tmp_path / "sunday-swim.scenario.yaml"
    path.write_text(block.group(1), encoding="utf-8")
    return path


def test_the_complete_example_works_as_the_guide_says(tmp_path: Path, shipped: Engine) -> None:
    """Lint gives exactly the one warning the guide explains; scripted play ends; the pack prints."""
    path = _example(tmp_path)
    found = lint(path, as_of=dt.date(2026, 12, 3))
    assert [(d.severity, d.code) for d in found] == [("warning", "no-patch")]
    assert "warning[no-patch]" in GUIDE and "option 'a' does not change the proposal" in found[0].message
    scenario = load_scenario(path)
    assert len(scenario.points) == 2
    out = io.StringIO()
    assert play(scenario, out, choices=parse_choices("dp1=b,dp2=b", scenario), engine=shipped) == 0
    assert out.getvalue().rstrip().endswith("Thank you for taking part.")
    assert "Option cards" in render_pack(scenario, engine=shipped)


def test_every_lint_code_is_explained() -> None:
    """Each code lint can report is explained in the guide, and the list is the real one: every code
    in the bad scenarios' golden output is either on it or one of the proposal's own codes."""
    from riskengine.training.linting import CODES

    missing = [c for c in CODES if f"`{c}`" not in GUIDE]
    assert not missing, missing
    proposal_codes = {"unknown-field", "unknown-value", "invalid-value", "missing-field", "unknown-member", "duplicate-key", "yaml-syntax"}
    seen = {m for p in (ROOT / "tests" / "fixtures" / "training" / "bad").glob("*.lint.txt")
            for m in re.findall(r"(?:error|warning)\[([a-z-]+)\]", p.read_text(encoding="utf-8"))}  # fmt: skip
    assert seen - proposal_codes <= set(CODES), seen - proposal_codes - set(CODES)
    assert len(seen & set(CODES)) >= 12
