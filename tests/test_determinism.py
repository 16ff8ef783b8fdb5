"""Same proposal in, byte-identical evaluation out; list order in the proposal never matters."""

from __future__ import annotations

import copy
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskengine import Engine, load_proposal, proposal_from_data

from .paths import EXAMPLES
from .strategies import proposals

_LISTS = (
    ("network",), ("links",), ("person", "strengths"), ("person", "early_warning_signs"),
    ("person", "medication"), ("proposal", "concerns"), ("proposal", "conditions_proposed"),
    ("proposal", "options_considered"), ("proposal", "hoped_for_benefits"), ("proposal", "categories"),
    ("decision_process", "participants"), ("decision_process", "disagreements"),
    ("plan", "mitigations"), ("history",),
)  # fmt: skip


def _shuffled(doc: dict[str, Any], seed: int) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    rng = random.Random(seed)
    for path in _LISTS:
        node: Any = out
        for key in path[:-1]:
            node = node.get(key, {})
        if isinstance(node.get(path[-1]), list):
            rng.shuffle(node[path[-1]])
    for link in out.get("links", []):
        rng.shuffle(link)
    return out


class TestDeterminism:
    def test_same_proposal_same_bytes(self, shipped: Engine) -> None:
        """Evaluating the full example twice gives byte-identical JSON."""
        proposal = load_proposal(EXAMPLES / "parkrun-full.yaml")
        assert shipped.evaluate(proposal).to_json() == shipped.evaluate(proposal).to_json()

    def test_fresh_engines_agree(self) -> None:
        """Two engines loaded separately give the same bytes (no hidden state between loads)."""
        proposal = load_proposal(EXAMPLES / "parkrun-full.yaml")
        first = Engine.from_paths(backend="reference").evaluate(proposal).to_json()
        assert first == Engine.from_paths(backend="reference").evaluate(proposal).to_json()

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(proposals(), st.integers(0, 2**32))
    def test_list_order_changes_nothing(self, doc: dict[str, Any], seed: int) -> None:
        """Shuffling every list in a proposal leaves the evaluation byte-identical."""
        engine = _engine()
        original = engine.evaluate(proposal_from_data(doc)).to_json()
        assert engine.evaluate(proposal_from_data(_shuffled(doc, seed))).to_json() == original


_CACHE: list[Engine] = []


def _engine() -> Engine:
    if not _CACHE:
        _CACHE.append(Engine.from_paths())
    return _CACHE[0]
