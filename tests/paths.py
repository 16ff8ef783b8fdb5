"""Where the tests find things."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CORE = FIXTURES / "rulesets" / "core"
OVERLAY = FIXTURES / "rulesets" / "overlay"
EXAMPLES = ROOT.parent / "shared" / "contract" / "examples"
SHIPPED = ROOT / "rulesets"
SCENARIO_PROPOSALS = ROOT / "scenarios" / "proposals"
