"""Where the tests find things."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CORE = FIXTURES / "rulesets" / "core"
OVERLAY = FIXTURES / "rulesets" / "overlay"
# Copies of the contract's examples, so the tests stand on their own in a lone clone; the
# contract folder beside the repository stays the reference (tests/test_fixture_copies.py).
EXAMPLES = FIXTURES / "examples"
CONTRACT_EXAMPLES = ROOT.parent / "shared" / "contract" / "examples"
SHIPPED = ROOT / "rulesets"
SCENARIO_PROPOSALS = ROOT / "scenarios" / "proposals"
