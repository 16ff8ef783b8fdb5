"""``riskengine synth``: valid, varied, the same for the same seed, and about no real person."""

from __future__ import annotations

import collections
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

import riskengine
from riskengine.batch import synth
from riskengine.batch._core import VOCABULARY
from riskengine.batch.synth import corpus, synthetic_proposal, write_corpus

from .paths import ROOT

COUNT = 720  # ten turns of the activity x nation rotation


@pytest.fixture(scope="module")
def proposals() -> list[riskengine.Proposal]:
    return [riskengine.proposal_from_data(data) for data in corpus(COUNT, seed=11)]


def test_every_generated_proposal_is_valid_with_no_warning_but_open_kinds(
    proposals: list[riskengine.Proposal],
) -> None:
    assert len(proposals) == COUNT
    warnings = {w.code for p in proposals for w in riskengine.proposal_warnings(p)}
    assert warnings <= {"open-kind"}  # never Northern Ireland with a community treatment order


def test_the_spread_covers_every_activity_legal_context_and_nation(
    proposals: list[riskengine.Proposal],
) -> None:
    assert {p.proposal.activity for p in proposals} == set(VOCABULARY["activity"])
    assert {p.jurisdiction for p in proposals} == set(VOCABULARY["jurisdiction"])
    assert {p.person.legal_context for p in proposals} == set(VOCABULARY["legal_context"])
    pairs = {(p.proposal.activity, p.jurisdiction) for p in proposals}
    assert len(pairs) == len(VOCABULARY["activity"]) * len(VOCABULARY["jurisdiction"])
    for nation in VOCABULARY["jurisdiction"]:
        contexts = {p.person.legal_context for p in proposals if p.jurisdiction == nation}
        expected = set(VOCABULARY["legal_context"]) - (
            {"community_treatment_order"} if nation == "northern_ireland" else set()
        )
        assert contexts == expected, nation


def test_networks_run_from_empty_to_large_with_concerns_and_mitigations(
    proposals: list[riskengine.Proposal],
) -> None:
    sizes = collections.Counter(len(p.network) for p in proposals)
    assert sizes[0] >= 5
    assert max(sizes) >= 60
    assert sum(n for size, n in sizes.items() if 4 <= size <= 16) > COUNT / 2  # most are ordinary
    assert {m.kind for p in proposals for m in p.network} == set(VOCABULARY["network_kind"])
    assert {c.kind for p in proposals for c in p.proposal.concerns} == set(VOCABULARY["concern_kind"])
    assert {c.raised_by for p in proposals for c in p.proposal.concerns} >= set(VOCABULARY["raised_by"])
    assert sum(bool(p.proposal.concerns) for p in proposals) > COUNT * 0.6
    assert sum(bool(p.plan.mitigations) for p in proposals) > COUNT * 0.6
    assert sum(p.plan.mitigations == () for p in proposals) > COUNT * 0.05  # missing is realistic too
    assert {p.person.capacity.status for p in proposals} == set(VOCABULARY["capacity"])


def test_the_evaluations_vary_and_reach_most_of_the_shipped_rules(
    proposals: list[riskengine.Proposal],
) -> None:
    engine = riskengine.Engine.from_paths()
    every_rule = {loaded.rule.id for loaded in engine.book.rules}
    fired = [frozenset(engine.rule_ids(engine.fire(p)[1])) for p in proposals[:360]]
    assert len(set(fired)) == len(fired)  # no two alike
    assert len(frozenset().union(*fired)) >= 0.9 * len(every_rule)


def test_no_real_person_ids_are_roles_or_a_fixed_list_of_first_names(
    proposals: list[riskengine.Proposal],
) -> None:
    allowed = {
        *synth._NAMES,
        *synth._ROLE_IDS.values(),
        *(k.replace("_", "-") for k in VOCABULARY["network_kind"]),
    }
    assert {re.sub(r"-\d+$", "", m.id) for p in proposals for m in p.network} <= allowed
    assert all(p.person.ref is None or re.fullmatch(r"P-\d{6}", p.person.ref) for p in proposals)
    assert all(re.fullmatch(r"synth-11-\d{7}", p.id) for p in proposals)


def test_the_same_seed_gives_the_same_corpus_and_a_longer_one_starts_with_it(tmp_path: Path) -> None:
    first, again, longer = tmp_path / "a.ndjson", tmp_path / "b.ndjson", tmp_path / "c.ndjson"
    write_corpus(str(first), count=40, seed=3)
    command = [sys.executable, "-m", "riskengine", "synth", "--count", "40", "--seed", "3", "-o", str(again)]
    assert subprocess.run(command, cwd=ROOT, capture_output=True, check=False).returncode == 0
    write_corpus(str(longer), count=90, seed=3)
    assert first.read_bytes() == again.read_bytes()
    assert longer.read_bytes().startswith(first.read_bytes())
    assert synthetic_proposal(4, 0) != synthetic_proposal(3, 0)
    assert [orjson.loads(line)["id"] for line in first.read_bytes().splitlines()][:2] == [
        "synth-3-0000000",
        "synth-3-0000001",
    ]


def test_the_corpus_file_is_never_written_through_a_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep", encoding="utf-8")
    (tmp_path / "c.ndjson").symlink_to(target)
    with pytest.raises(riskengine.InputError):
        write_corpus(str(tmp_path / "c.ndjson"), count=2)
    assert target.read_text(encoding="utf-8") == "keep"
    assert [p.name for p in tmp_path.iterdir()] == sorted(["elsewhere", "c.ndjson"]) or len(
        list(tmp_path.iterdir())
    ) == 2
