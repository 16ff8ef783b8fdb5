"""Same proposal in, byte-identical evaluation out; list order in the proposal never matters."""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskengine import Engine, RulesetError, load_proposal, load_rulebook, proposal_from_data

from .paths import EXAMPLES, ROOT, SHIPPED
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


_OVERLAY = """\
id: example-trust.local
version: 1.0.0
title: An organisation's own rules
origin: example-trust
sources:
  - {id: policy, title: "Example Trust positive risk-taking policy"}
rules:
  - id: example-trust.peer-offer
    source: policy
    because: "the trust offers peer support to everyone"
    then:
      prompt:
        stage: option_talk
        to_practitioner: "Offer the peer support team."
        to_person: "Would you like to talk to someone who has been there?"
        principles: [felton.3]
"""


def _evaluate_in_process(args: list[str], cwd: Path, seed: int, stdin: bytes | None = None) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    done = subprocess.run([sys.executable, "-m", "riskengine", "evaluate", *args], cwd=cwd, env=env,
                          input=stdin, capture_output=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


class TestBytesDependOnlyOnContent:
    """The evaluation's bytes depend on the proposal, the rulesets' content and the engine version:
    not on the path the rulesets or the proposal are read from, nor on Python's hash seed."""

    def test_shipped_rulesets_through_any_path_and_seed(self, tmp_path: Path) -> None:
        """Default, relative, absolute, a symlink and a copy of the shipped rulesets, a relative and an
        absolute proposal path and stdin, under five PYTHONHASHSEED values: one set of bytes."""
        shutil.copytree(SHIPPED, tmp_path / "copy")
        (tmp_path / "link").symlink_to(SHIPPED)
        proposal = EXAMPLES / "parkrun-full.yaml"
        relative = str(proposal.relative_to(ROOT))
        first = _evaluate_in_process([relative], ROOT, 0)
        runs = [_evaluate_in_process([str(proposal)], tmp_path, seed) for seed in (1, 2, 3, 4)]
        runs += [
            _evaluate_in_process([relative, "--rulesets", "rulesets"], ROOT, 5),
            _evaluate_in_process([str(proposal), "--rulesets", str(SHIPPED)], tmp_path, 6),
            _evaluate_in_process([str(proposal), "--rulesets", "link"], tmp_path, 7),
            _evaluate_in_process([str(proposal), "--rulesets", "copy"], tmp_path, 8),
            _evaluate_in_process(["-", "--rulesets", "copy"], tmp_path, 9, proposal.read_bytes()),
        ]
        assert all(run == first for run in runs)
        origins = {r["origin"] for r in json.loads(first)["provenance"]["rulesets"]}
        assert origins == {"shipped"}

    def test_an_overlay_through_any_path_and_seed(self, tmp_path: Path) -> None:
        """An overlay read from its folder, a copy and a symlink, relative or absolute, gives the same
        bytes; its origin is the name it declares and no path appears anywhere in the output."""
        overlay = tmp_path / "overlay"
        overlay.mkdir()
        (overlay / "local.yaml").write_text(_OVERLAY, encoding="utf-8")
        shutil.copytree(overlay, tmp_path / "copy")
        (tmp_path / "link").symlink_to(overlay)
        proposal = str(EXAMPLES / "parkrun-full.yaml")
        outputs = [
            _evaluate_in_process([proposal, "--rulesets", str(SHIPPED), "--rulesets", where], cwd, seed)
            for seed, (where, cwd) in enumerate(
                [("overlay", tmp_path), (str(overlay), ROOT), ("copy", tmp_path), ("link", tmp_path),
                 ("../overlay", tmp_path / "copy"), ("overlay", tmp_path)]
            )
        ]  # fmt: skip
        assert all(out == outputs[0] for out in outputs)
        provenance = json.loads(outputs[0])["provenance"]["rulesets"]
        assert {r["origin"] for r in provenance if r["id"] == "example-trust.local"} == {"example-trust"}
        assert str(tmp_path).encode() not in outputs[0] and str(ROOT).encode() not in outputs[0]


class TestOrigin:
    def test_a_changed_copy_of_a_shipped_ruleset_is_not_shipped(self, tmp_path: Path) -> None:
        """'shipped' is earned by content: a copy with one byte changed is an overlay."""
        text = (SHIPPED / "packs" / "parkrun.yaml").read_text(encoding="utf-8")
        (tmp_path / "parkrun.yaml").write_text(text + "\n", encoding="utf-8")
        book = load_rulebook([tmp_path])
        assert [r.origin for r in book.rulesets] == ["overlay"]

    @pytest.mark.parametrize("claimed", ["shipped", "overlay"])
    def test_shipped_and_overlay_cannot_be_declared(self, tmp_path: Path, claimed: str) -> None:
        (tmp_path / "local.yaml").write_text(
            _OVERLAY.replace("example-trust\n", f"{claimed}\n"), encoding="utf-8"
        )
        with pytest.raises(RulesetError) as caught:
            load_rulebook([SHIPPED, tmp_path])
        assert [d.field for d in caught.value.diagnostics] == ["origin"]
