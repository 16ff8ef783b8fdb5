"""Rules and proposals stay inside what both backends handle identically, or are refused.

durable-rules compares string lengths as 16-bit numbers, cannot read numbers written with an
exponent (its error 204), takes 64-bit integers only, crashed on a 16 MiB fact, and orjson
writes infinity as ``null``. Each of these once made the backends disagree silently or the
process fail; each is now a located error at load (or a clean error at run), and property
tests over the edges prove that whatever loads, both backends fire alike.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskengine import Engine, InputError, RulesetError, load_rulebook, proposal_from_data
from riskengine.rules.conditions import MAX_VALUE_CHARS

from .paths import SCENARIO_PROPOSALS

PARKRUN = SCENARIO_PROPOSALS / "parkrun-with-a-friend.yaml"


def _ruleset(
    tmp_path: Path, *conditions: Any, any_group: bool = False, name: str = "edge", for_each: str | None = None
) -> Path:
    """A one-rule overlay whose `when` holds ``conditions`` (or one `any` group of them)."""
    when = [{"any": list(conditions)}] if any_group else list(conditions)
    doc = {
        "id": name, "version": "1.0.0", "title": "edge cases",
        "sources": [{"id": "s", "title": "a test"}],
        "rules": [{"id": f"{name}.rule", "source": "s", "because": "edge", "when": when,
                   "then": {"benefit": "something good"}, **({"for_each": for_each} if for_each else {})}],
    }  # fmt: skip
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, width=10**9), encoding="utf-8")
    return path


def _refusal(path: Path) -> str:
    with pytest.raises(RulesetError) as caught:
        Engine.from_paths([path], backend="durable")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.location.path == str(path) and diagnostic.location.line > 0
    return diagnostic.render()


class TestRefusedAtLoad:
    @pytest.mark.parametrize("value", [float("inf"), float("-inf")])
    def test_an_infinite_threshold_is_refused(self, tmp_path: Path, value: float) -> None:
        """orjson writes infinity as null, so durable compared against null."""
        text = _refusal(_ruleset(tmp_path, {"proposal.concerns_count": {"at_least": value}}))
        assert "out-of-range" in text and "finite" in text

    @pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
    def test_an_integer_beyond_64_bits_is_refused(self, tmp_path: Path, value: int) -> None:
        text = _refusal(_ruleset(tmp_path, {"proposal.concerns_count": {"at_most": value}}))
        assert "64 bits" in text

    @pytest.mark.parametrize("value", [1.0e20, 1.0e-7, 123456789012345678.0])
    def test_a_number_written_with_an_exponent_is_refused(self, tmp_path: Path, value: float) -> None:
        """durable-rules cannot read 1e+20 (its error 204 on every evaluation)."""
        text = _refusal(_ruleset(tmp_path, {"proposal.concerns_count": {"at_least": value}}))
        assert "out-of-range" in text

    def test_an_equality_value_of_65536_characters_is_refused(self, tmp_path: Path) -> None:
        """durable-rules compares string lengths as 16-bit numbers."""
        text = _refusal(_ruleset(tmp_path, {"mitigation.owner": "a" * 65_536}, for_each="mitigation"))
        assert f"{MAX_VALUE_CHARS:,} characters" in text and "65,536" in text
        assert "a" * 100 not in text  # the message never echoes the value in full

    def test_a_mentions_term_of_65536_characters_is_refused(self, tmp_path: Path) -> None:
        text = _refusal(_ruleset(tmp_path, {"proposal.goal": {"mentions": "a" * 65_536}}))
        assert "65,536" in text

    def test_a_when_of_3000_conditions_is_a_located_error(self, tmp_path: Path) -> None:
        """It was a RecursionError in the alpha-network model."""
        conditions = [{"proposal.concerns_count": {"at_least": i}} for i in range(3000)]
        assert "too-many-conditions" in _refusal(_ruleset(tmp_path, *conditions))

    def test_an_any_group_of_3000_entries_is_a_located_error(self, tmp_path: Path) -> None:
        conditions = [{"proposal.concerns_count": {"at_least": i}} for i in range(3000)]
        assert "too-many-conditions" in _refusal(_ruleset(tmp_path, *conditions, any_group=True))

    def test_a_rule_too_wide_for_durable_names_its_file_line_and_reason(self, tmp_path: Path) -> None:
        """It used to be reported at '<riskengine>', with no place, and once with no reason."""
        wide = {"proposal.categories": {"includes_any": [f"c{i}" for i in range(70)]}}
        text = _refusal(_ruleset(tmp_path, wide))
        assert "error[too-wide]" in text and "alpha nodes pending" in text

    def test_validate_catches_what_durable_refuses(self, tmp_path: Path) -> None:
        """`riskengine validate` compiles on the default backend, so it fails where evaluate would."""
        wide = {"proposal.categories": {"includes_any": [f"c{i}" for i in range(70)]}}
        path = _ruleset(tmp_path, wide)
        done = subprocess.run(
            [sys.executable, "-m", "riskengine", "validate", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2 and "too-wide" in done.stderr


class TestNeverMatches:
    def test_a_capitalised_value_for_a_lower_cased_field_is_a_warning(self, tmp_path: Path) -> None:
        """Medicine names are lower-cased in the facts: `includes: Lithium` could never fire."""
        path = _ruleset(tmp_path, {"person.medication_names": {"includes": "Lithium"}})
        book = load_rulebook([path])
        (warning,) = book.warnings
        assert warning.severity == "warning" and warning.code == "never-matches"
        assert "'lithium'" in warning.message and warning.location.line > 0
        assert [r.rule.id for r in book.rules] == ["edge.rule"]  # a warning does not drop the rule


class TestRunBackstop:
    def test_a_huge_fact_is_a_clean_error_not_a_crash(self) -> None:
        """A categories list of about 16 MiB segfaulted the process in durable-rules
        (getNextResultInState, exit 139). Now it is refused, as input or by the backend."""
        script = textwrap.dedent(
            """
            import sys
            from riskengine import Engine, InputError, BackendError, load_proposal
            proposal = load_proposal(sys.argv[1]).model_dump(by_alias=True, mode="json", exclude_none=True)
            proposal["proposal"]["categories"] = [f"{i:06d}" + "x" * 191 for i in range(84_000)]
            try:
                from riskengine import proposal_from_data
                Engine.from_paths().evaluate(proposal_from_data(proposal))
            except (InputError, BackendError) as exc:
                print("refused:", type(exc).__name__)
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script, str(PARKRUN)],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert done.returncode == 0, (done.returncode, done.stderr[-1000:])
        assert done.stdout.startswith("refused:")


# The edges, on the rule side: whatever loads, both backends fire alike on it.
_NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), 1.0e20, 1.0e-7, 0.0001, 1e15, 999999999999999.9]),
)
_LENGTHS = st.sampled_from([1, 255, 256, 65_535, 65_536, 70_000, MAX_VALUE_CHARS, MAX_VALUE_CHARS + 1])


def _proposals() -> list[dict[str, Any]]:
    base = yaml.safe_load(PARKRUN.read_text(encoding="utf-8"))
    counts = [
        dict(base, proposal={**base["proposal"], "concerns": [{"kind": "other", "text": "t"}] * n})
        for n in (0, 3)
    ]
    return counts


class TestEnvelopeProperty:
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        number=_NUMBERS, op=st.sampled_from(["at_least", "at_most", "more_than", "less_than", "is", "is_not"])
    )
    def test_numbers_load_only_where_both_backends_agree(self, tmp_path: Path, number: Any, op: str) -> None:
        self._agree_or_refused(tmp_path, {"proposal.concerns_count": {op: number}})

    @settings(
        max_examples=16,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(length=_LENGTHS, field=st.sampled_from(["mitigation.owner", "proposal.goal"]))
    def test_long_strings_load_only_where_both_backends_agree(
        self, tmp_path: Path, length: int, field: str
    ) -> None:
        value = "a" * length
        if field == "proposal.goal":
            self._agree_or_refused(tmp_path, {field: {"mentions": value}})
        else:
            self._agree_or_refused(tmp_path, {field: {"is_not": value}}, for_each="mitigation")

    @staticmethod
    def _agree_or_refused(tmp_path: Path, condition: dict[str, Any], for_each: str | None = None) -> None:
        path = _ruleset(tmp_path, condition, for_each=for_each)
        try:
            durable = Engine.from_paths([path], backend="durable")
        except RulesetError:
            return
        reference = Engine.from_paths([path], backend="reference")
        for doc in _proposals():
            proposal = proposal_from_data(doc)
            assert durable.fire(proposal)[1] == reference.fire(proposal)[1]


class TestProposalEdges:
    @pytest.mark.parametrize("value", [2**63, 2**64 + 5, 10**40])
    def test_an_integer_beyond_64_bits_in_a_proposal_is_a_located_input_error(self, value: int) -> None:
        """It validated, then made the durable backend fail with a bare TypeError."""
        doc = yaml.safe_load(PARKRUN.read_text(encoding="utf-8"))
        doc["network"][0]["known_for_months"] = value
        with pytest.raises(InputError) as caught:
            proposal_from_data(doc)
        assert any(d.field == "network[0].known_for_months" for d in caught.value.diagnostics)


class TestReloading:
    """Reloading changed rulesets leaked about 8.1 MiB and 8 durable rulesets each time."""

    def _engines(self, tmp_path: Path, count: int, first: int = 0) -> list[Engine]:
        """Engines over one-rule rulesets that differ, so each is a new program."""
        return [
            Engine.from_paths(
                [_ruleset(tmp_path, {"proposal.concerns_count": {"at_least": n}}, name=f"r{n}")],
                backend="durable",
            )
            for n in range(first, first + count)
        ]

    def test_old_programs_are_freed_and_still_work(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from riskengine.run.backends import durable

        monkeypatch.setattr(durable, "MAX_PROGRAMS", 3)
        engines = self._engines(tmp_path, 6)
        proposal = proposal_from_data(_proposals()[1])  # three concerns
        fired = [bool(e.fire(proposal)[1]) for e in engines]  # the first three were freed, then rebuilt
        assert fired == [True, True, True, True, False, False]
        assert len(durable._REGISTRY.programs) <= 3

    def test_a_process_that_keeps_reloading_is_stopped_with_a_clear_message(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from riskengine import BackendError
        from riskengine.run.backends import durable

        monkeypatch.setattr(durable, "MAX_COMPILED_RULES", durable._REGISTRY.compiled_rules + 2)
        self._engines(tmp_path, 2)
        with pytest.raises(BackendError, match="start a fresh process"):
            self._engines(tmp_path, 1, first=2)
