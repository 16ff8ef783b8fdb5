"""What the README and the rule tests say about the shipped rulesets is still true."""

from __future__ import annotations

import re

from riskengine import Engine, load_test_file
from riskengine.documents import vocab

from .paths import ROOT, SCENARIO_PROPOSALS, SHIPPED

README = (ROOT / "README.md").read_text(encoding="utf-8")
_NUMBERS = {"seven": 7, "seventeen": 17}


def test_the_readme_counts_the_shipped_rulesets_and_rules(shipped: Engine) -> None:
    """'The shipped rulesets today: N rulesets, M rules (K activity packs ...)' matches what loads."""
    found = re.search(
        r"The shipped rulesets today: (\d+) rulesets, (\d+) rules \((\d+) activity packs", README
    )
    assert found, "the README no longer says how many rulesets and rules ship"
    packs = [
        r
        for r in shipped.book.rulesets
        if r.path.endswith(tuple(f"/packs/{a}.yaml" for a in vocab.ACTIVITIES))
    ]
    actual = (len(shipped.book.rulesets), len(shipped.book.rules), len(packs))
    assert tuple(map(int, found.groups())) == actual


def test_the_readme_counts_the_kinds_of_decision_and_the_examples() -> None:
    kinds = re.search(r"knowledge packs for (\d+) kinds of decision", README)
    examples = re.search(r"`scenarios/proposals/` holds (\w+) realistic examples", README)
    assert kinds and examples
    assert int(kinds.group(1)) == len([a for a in vocab.ACTIVITIES if a != "other"])
    assert _NUMBERS[examples.group(1)] == len(list(SCENARIO_PROPOSALS.glob("*.yaml")))


def test_no_known_gap_is_one_a_proposal_field_has_closed() -> None:
    """`proposal.concerns_asked` records 'we asked and nobody had a concern': no rule test may still
    report that as a gap, and a case proves the rule holds back when it is recorded."""
    cases = [c for p in sorted(SHIPPED.rglob("*.test.yaml")) for c in load_test_file(p)[0].cases]
    gaps = [(c.name, g.rule) for c in cases for g in c.known_gaps]
    assert gaps and [g for g in gaps if g[1] == "felton.info.concerns-not-talked"] == []
    covered = [c for c in cases if c.proposal.get("proposal", {}).get("concerns_asked") is True]
    assert any("felton.info.concerns-not-talked" in c.does_not_fire for c in covered)
