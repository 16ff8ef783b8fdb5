"""Unit tests of the read stage and of diagnostics as data: what each reader does with good and
bad text, and where it says a problem is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskengine import Diagnostic, InputError, Location, Severity, parse_proposal, proposal_warnings
from riskengine.errors import closest, diagnostics_json, did_you_mean
from riskengine.read.proposal_files import proposal_from_data
from riskengine.read.source import parse_document, read_document

from .helpers import PROPOSAL, proposal


class TestDiagnostics:
    def test_the_hint_is_data_and_the_text_reads_as_before(self) -> None:
        """A hint is its own field in JSON; the rendered line still ends with it after the message."""
        d = Diagnostic(
            Location("a.yaml", 3, 5),
            "unknown-value",
            "x",
            "'y' is not in the vocabulary",
            hint="did you mean 'z'?",
        )
        assert (
            d.render()
            == "a.yaml:3:5: error[unknown-value] x: 'y' is not in the vocabulary; did you mean 'z'?"
        )
        (data,) = json.loads(diagnostics_json([d]))
        assert (data["message"], data["hint"], data["severity"]) == (
            "'y' is not in the vocabulary",
            "did you mean 'z'?",
            "error",
        )

    def test_severity_is_an_enum_and_accepts_its_words(self) -> None:
        """`severity` is a Severity whichever way it is given, and renders as the word."""
        d = Diagnostic(Location("a.yaml"), "open-kind", "", "m", "warning")  # type: ignore[arg-type]
        assert d.severity is Severity.WARNING and d.render() == "a.yaml: warning[open-kind] m"
        with pytest.raises(ValueError, match="'fatal' is not a valid Severity"):
            Diagnostic(Location("a.yaml"), "c", "", "m", "fatal")  # type: ignore[arg-type]

    def test_closest_and_the_old_suffix_agree(self) -> None:
        """`closest` gives the hint; `did_you_mean` (kept for callers) the same, as a suffix; nothing
        when no choice is near or the value is not text."""
        assert closest("parkrn", ["parkrun", "bungee_jump"]) == "did you mean 'parkrun'?"
        assert did_you_mean("parkrn", ["parkrun"]) == "; did you mean 'parkrun'?"
        assert closest("zzz", ["parkrun"]) == "" and closest(3, ["parkrun"]) == ""


class TestReading:
    def test_a_proposal_given_as_json_text_is_read(self) -> None:
        """`parse_proposal` takes JSON as well as YAML (JSON is YAML), giving the same model."""
        assert parse_proposal(json.dumps(PROPOSAL), "p.json") == proposal_from_data(PROPOSAL)

    def test_broken_json_in_a_json_file_is_located(self, tmp_path: Path) -> None:
        """A `.json` file YAML cannot read is read as JSON, whose own line and column are reported."""
        path = tmp_path / "p.json"
        path.write_text('{"id": "x",\n  "as_of": ]\n}\n', encoding="utf-8")
        with pytest.raises(InputError) as caught:
            read_document(path)
        (d,) = caught.value.diagnostics
        assert (d.code, d.location.line, d.location.column) == ("json-syntax", 2, 12)

    def test_a_merge_key_is_refused_where_it_stands(self) -> None:
        """YAML merge keys (`<<`) would hide where a value came from: they are an error at the key."""
        with pytest.raises(InputError) as caught:
            parse_document("a: &x {b: 1}\nc:\n  <<: *x\n", "m.yaml")
        (d,) = caught.value.diagnostics
        assert (d.code, d.location.line, d.location.column) == ("yaml-key", 3, 3)

    def test_an_open_kind_is_a_warning_with_a_hint(self) -> None:
        """A relationship kind outside the vocabulary is read as 'other' and warned about, with a hint."""
        p = proposal_from_data(proposal(network=[{"id": "k", "kind": "other", "kind_label": "frend"}]))
        (d,) = proposal_warnings(p)
        assert d.severity is Severity.WARNING and d.field == "network[0].kind"
        assert d.hint == "did you mean 'friend'?"

    def test_a_nested_unknown_field_names_the_fields_of_its_own_model(self) -> None:
        """An unknown key deep in a proposal gets a hint from the fields of the model it is in."""
        with pytest.raises(InputError) as caught:
            proposal_from_data(proposal(proposal={"activity": "parkrun", "titel": "x"}))
        (d,) = caught.value.diagnostics
        assert (d.code, d.field, d.hint) == ("unknown-field", "proposal.titel", "did you mean 'title'?")


def test_a_part_of_a_source_map_holds_exactly_the_positions_under_its_prefix() -> None:
    """sub() by its grouped index gives what filtering every position by the prefix gives, for
    every prefix of up to three parts in a shipped rule test file (many cases, as the rule
    tests take them)."""
    shipped = Path(__file__).resolve().parents[2] / "rulesets" / "packs"
    path = sorted(shipped.glob("*.test.yaml"))[0]
    source = read_document(path).source
    source.locate(())  # positions are read on first use
    prefixes = {p[:n] for p in source.values for n in (1, 2, 3) if len(p) >= n}
    assert len(prefixes) > 20
    for prefix in sorted(prefixes, key=str):
        n = len(prefix)
        part = source.sub(prefix)
        assert part.values == {k[n:]: v for k, v in source.values.items() if k[:n] == prefix}, prefix
        assert part.keys == {k[n:]: v for k, v in source.keys.items() if k[:n] == prefix}, prefix
    assert source.sub(("no", "such", "part")).values == {}
