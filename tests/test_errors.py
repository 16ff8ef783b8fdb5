"""Bad input gets a located error naming file, line, column and field — pinned by golden files.

Each file under ``tests/fixtures/bad/`` has ``<name>.expected.txt`` (what a person sees) and
``<name>.expected.json`` (what a machine reads) beside it. Regenerate on purpose with
``RISKENGINE_UPDATE_GOLDEN=1 pytest tests/test_errors.py`` and review the diff.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskengine import InputError, proposal_from_data
from riskengine.cli import main
from riskengine.read.source import parse_document

from .paths import FIXTURES, ROOT
from .strategies import proposals

BAD = sorted(p for p in (FIXTURES / "bad").rglob("*.yaml"))


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        code = main(list(argv), stdout=out, stderr=err)
    finally:
        os.chdir(cwd)
    return code, out.getvalue(), err.getvalue()


def _golden(path: Path, suffix: str, actual: str) -> str:
    golden = path.with_name(path.name.removesuffix(".yaml") + suffix)
    if os.environ.get("RISKENGINE_UPDATE_GOLDEN") or not golden.exists():
        golden.write_text(actual, encoding="utf-8")
    return golden.read_text(encoding="utf-8")


class TestGoldenErrors:
    @pytest.mark.parametrize("path", BAD, ids=lambda p: f"{p.parent.name}/{p.name}")
    def test_text_errors(self, path: Path) -> None:
        """`riskengine validate` prints every problem as path:line:col: error[code] field: message."""
        code, out, err = _run("validate", str(path.relative_to(ROOT)))
        assert code == 2 and not out
        assert "Traceback" not in err
        assert err == _golden(path, ".expected.txt", err)
        assert all(line.count(":") >= 3 for line in err.splitlines())

    @pytest.mark.parametrize("path", BAD, ids=lambda p: f"{p.parent.name}/{p.name}")
    def test_json_errors(self, path: Path) -> None:
        """With --format json the same problems come as data with path, line, column, code and field."""
        code, _, err = _run("validate", "--format", "json", str(path.relative_to(ROOT)))
        assert code == 2
        assert err == _golden(path, ".expected.json", err)


_BREAKS: list[tuple[str, Any]] = [
    ("jurisdiction", "engalnd"), ("as_of", "22/11/2026"), ("schema_version", 2),
    ("person", {"legal_context": "sectioned"}), ("person", {"recent_crisis_days": -3}),
    ("network", [{"id": "x", "kind": "friend", "closeness": 9}]), ("proposal", {"activity": "parkrn"}),
    ("proposal", {"activity": "other"}), ("surprise", 1), ("network", [{"kind": "friend"}]),
    ("decision_process", {"participants": ["nobody"]}), ("plan", {"review_on": "soon"}),
]  # fmt: skip


class TestInvalidProposals:
    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(proposals(), st.sampled_from(_BREAKS))
    def test_broken_proposals_give_located_errors(self, doc: dict[str, Any], brk: tuple[str, Any]) -> None:
        """Breaking a valid proposal always raises InputError naming the field, never anything else."""
        key, value = brk
        doc = {**doc, key: value}
        with pytest.raises(InputError) as caught:
            proposal_from_data(doc)
        assert caught.value.diagnostics
        assert all(d.field for d in caught.value.diagnostics)

    def test_positions_come_from_the_file(self) -> None:
        """A problem deep in a YAML file is reported at its own line and column."""
        text = "schema_version: 1\nid: x\njurisdiction: wales\nas_of: 2026-11-22\nproposal:\n  activity: parkrun\n  concerns:\n    - {kind: moneyy}\n"
        document = parse_document(text, "mem.yaml")
        with pytest.raises(InputError) as caught:
            proposal_from_data(document.data, document.source)
        (d,) = caught.value.diagnostics
        assert (d.location.line, d.location.column, d.field) == (8, 14, "proposal.concerns[0].kind")
        assert "did you mean 'money'" in d.message

    def test_missing_file_is_a_located_error(self) -> None:
        """A proposal path that does not exist is an error naming the path, exit code 2."""
        code, out, err = _run("evaluate", "--format", "text", "no/such/file.yaml")
        assert code == 2 and not out
        assert err.startswith("no/such/file.yaml: error[unreadable]")

    def test_duplicate_keys_are_errors(self) -> None:
        """A repeated key is an error at the second one, not a silent overwrite."""
        with pytest.raises(InputError) as caught:
            parse_document("a: 1\nb: 2\na: 3\n", "dup.yaml")
        (d,) = caught.value.diagnostics
        assert (d.location.line, d.code) == (3, "duplicate-key")


_VALID = (FIXTURES.parent.parent / "scenarios" / "proposals" / "parkrun-with-a-friend.yaml").read_text(encoding="utf-8")


class TestFuzzedInput:
    @settings(max_examples=400, deadline=None)
    @given(st.text(max_size=300))
    def test_any_text_parses_or_is_a_located_error(self, text: str) -> None:
        """Arbitrary text either parses and validates, or raises InputError: nothing else escapes."""
        try:
            document = parse_document(text, "fuzz.yaml")
            proposal_from_data(document.data, document.source)
        except InputError as exc:
            assert exc.diagnostics

    @settings(max_examples=400, deadline=None)
    @given(st.integers(0, len(_VALID) - 1), st.sampled_from(list(":-[]{}'\"#&*!|>%@`\t\n 0123456789x")))
    def test_mutated_proposals_fail_cleanly(self, position: int, char: str) -> None:
        """A realistic proposal with one character changed still gives a proposal or located errors."""
        text = _VALID[:position] + char + _VALID[position + 1 :]
        try:
            document = parse_document(text, "mutated.yaml")
            proposal_from_data(document.data, document.source)
        except InputError as exc:
            assert all(d.location.path == "mutated.yaml" for d in exc.diagnostics)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.data())
    def test_mutated_rulesets_fail_cleanly(self, tmp_path: Path, data: st.DataObject) -> None:
        """A shipped ruleset with one character changed loads, or gives located RulesetErrors only."""
        from riskengine import RulesetError, load_rulebook

        original = (ROOT / "rulesets" / "prm-tensions.yaml").read_text(encoding="utf-8")
        position = data.draw(st.integers(0, len(original) - 1))
        char = data.draw(st.sampled_from(list(":-[]{}'\"#&*!|>%@\t\n 0123456789x")))
        target = tmp_path / f"m{position}.yaml"
        target.write_text(original[:position] + char + original[position + 1 :], encoding="utf-8")
        try:
            load_rulebook([target])
        except RulesetError as exc:
            assert exc.diagnostics and all(d.location.path == str(target) for d in exc.diagnostics)
        finally:
            target.unlink()
