"""The copies of the contract's examples in tests/fixtures/examples/ match the contract.

The tests read the copies, so they pass in a clone without ``../shared/contract``; where the
contract folder is present (the development layout), this test holds the copies to it, so
a change to the contract's examples cannot leave stale copies behind.
"""

from __future__ import annotations

import pytest

from .paths import CONTRACT_EXAMPLES, EXAMPLES

COPIES = sorted(EXAMPLES.glob("*.yaml"))


def test_the_copies_are_there() -> None:
    """The tests have their own examples to read: the three of contract v1."""
    assert [p.name for p in COPIES] == ["medication-bare.yaml", "other-activity.yaml", "parkrun-full.yaml"]


@pytest.mark.skipif(
    not CONTRACT_EXAMPLES.is_dir(), reason="../shared/contract/examples is not beside this clone"
)
def test_the_copies_match_the_contract() -> None:
    """Every contract example has a copy, byte for byte, and there is no copy of anything else."""
    reference = sorted(CONTRACT_EXAMPLES.glob("*.yaml"))
    assert [p.name for p in reference] == [p.name for p in COPIES]
    stale = [p.name for p in reference if p.read_bytes() != (EXAMPLES / p.name).read_bytes()]
    assert stale == [], f"copy the contract's examples again: cp {CONTRACT_EXAMPLES}/*.yaml {EXAMPLES}/"
