"""Unit tests of the rules stage: ruleset-level gates, shared sources, one namespace of rule
ids, and the hints conditions give. Each builds a small ruleset in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskengine import Engine, RulesetError, Severity, load_rulebook, proposal_from_data
from riskengine.rules.ir import Test
from riskengine.rules.loader import find_files

from .helpers import proposal, ruleset, write

SOURCE = """\
sources:
  - id: s
    title: "A source"
    seed: 000_b0bfa345df7592bd.txt
"""

GATED = (
    SOURCE
    + """\
applies_when:
  - proposal.activity: parkrun
rules:
  - id: g.plain
    source: s
    because: "a parkrun"
    then: {benefit: "Fresh air."}
  - id: g.restates
    source: s
    when:
      - proposal.jurisdiction: england
      - proposal.activity: parkrun
    because: "a parkrun in England"
    then: {benefit: "Local."}
"""
)


def _problems(folder: Path) -> list[str]:
    with pytest.raises(RulesetError) as caught:
        load_rulebook([folder])
    return [d.render() for d in caught.value.diagnostics]


class TestAppliesWhen:
    def test_a_gated_rule_fires_only_where_the_gate_holds(self, tmp_path: Path) -> None:
        """Rules under `applies_when` fire for a parkrun and for nothing else, on both backends."""
        ruleset(tmp_path, "gated", GATED)
        for backend in ("durable", "reference"):
            engine = Engine.from_paths([tmp_path], backend=backend)
            assert _fired(engine, "parkrun") == {"g.plain", "g.restates"}, backend
            assert _fired(engine, "bungee_jump") == set(), backend

    def test_the_gate_is_in_the_ir_first_and_apart(self, tmp_path: Path) -> None:
        """The IR carries the gate as its own field and in front of the rule's tests, once only."""
        ruleset(tmp_path, "gated", GATED)
        plain, restates = load_rulebook([tmp_path]).program.rules
        gate = Test("proposal__activity", "eq", "parkrun")
        assert plain.gate == (gate,) and plain.case_tests == (gate,)
        assert restates.gate == (gate,) and restates.case_tests[0] == gate
        assert restates.case_tests.count(gate) == 1

    def test_the_trace_names_gate_fields_first_unless_the_rule_restates_them(self, tmp_path: Path) -> None:
        """A rule that only inherits the gate lists its field first; one that restates it keeps its own order."""
        ruleset(tmp_path, "gated", GATED)
        plain, restates = load_rulebook([tmp_path]).rules
        assert plain.used_fields == ("proposal.activity",)
        assert restates.used_fields == ("proposal.jurisdiction", "proposal.activity")

    def test_a_gate_on_an_item_is_a_located_error(self, tmp_path: Path) -> None:
        """`applies_when` tests the case: an item field there is an error pointing into it."""
        ruleset(
            tmp_path, "bad", GATED.replace("proposal.activity: parkrun\nrules", "member.kind: friend\nrules")
        )
        (problem,) = _problems(tmp_path)
        assert "bad.yaml:9:5: error[unknown-field] applies_when[0].member.kind:" in problem


def _fired(engine: Engine, activity: str) -> set[str]:
    """The ids of the rules that fire for a bare proposal of ``activity``."""
    return engine.rule_ids(engine.fire(proposal_from_data(proposal(proposal={"activity": activity})))[1])


class TestSharedSources:
    LIBRARY = """\
    sources:
      - id: deck
        title: "A slide deck"
        citation: "Author A. A slide deck"
        seed: 000_b0bfa345df7592bd.txt
      - id: act
        title: "An Act"
        url: https://example.org/act
        checked: 2026-01-01
        review_by: 2027-01-01
    """

    def _ruleset(self, folder: Path, sources: str) -> None:
        body = (
            sources
            + """\
rules:
  - id: r.one
    source: slide-two
    because: "always"
    then:
      prompt: {stage: team_talk, to_practitioner: "Ask.", to_person: "Tell us."}
"""
        )
        ruleset(folder, "cites", body)

    def test_a_citation_resolves_to_the_shared_source_with_its_section(self, tmp_path: Path) -> None:
        """A ruleset cites a source of sources.yaml under a name of its own; the evaluation shows
        the shared title and citation with the part cited."""
        write(tmp_path, "sources.yaml", self.LIBRARY)
        self._ruleset(tmp_path, 'sources:\n  - act\n  - {id: slide-two, cites: deck, section: "Slide 2"}\n')
        evaluation = Engine.from_paths([tmp_path]).evaluate(proposal())
        (prompt,) = evaluation.prompts
        assert (prompt.source.title, prompt.source.citation) == ("A slide deck", "Author A. A slide deck")
        assert prompt.source.section == "Slide 2"

    def test_an_unknown_citation_is_located_with_a_hint(self, tmp_path: Path) -> None:
        """Citing an id that sources.yaml lacks is an error at the citation, with the closest id as hint."""
        write(tmp_path, "sources.yaml", self.LIBRARY)
        self._ruleset(tmp_path, "sources:\n  - {id: slide-two, cites: dek}\n")
        with pytest.raises(RulesetError) as caught:
            load_rulebook([tmp_path])
        (d,) = caught.value.diagnostics
        assert (d.code, d.field, d.location.line) == ("unknown-source", "sources[0].cites", 5)
        assert d.hint == "did you mean 'deck'?" and "did you mean" not in d.message

    def test_a_citation_may_not_take_another_sources_name(self, tmp_path: Path) -> None:
        """A citation named like a different shared source would mislead a reader: it is refused."""
        write(tmp_path, "sources.yaml", self.LIBRARY)
        self._ruleset(tmp_path, "sources:\n  - {id: act, cites: deck}\n  - {id: slide-two, cites: deck}\n")
        problems = _problems(tmp_path)
        assert any("duplicate-id] sources[0].id: 'act' is the id of another source" in p for p in problems)

    def test_a_source_listed_twice_is_an_error(self, tmp_path: Path) -> None:
        """The same name twice in one ruleset's sources is refused at the second."""
        write(tmp_path, "sources.yaml", self.LIBRARY)
        self._ruleset(
            tmp_path, "sources:\n  - {id: slide-two, cites: deck}\n  - {id: slide-two, cites: act}\n"
        )
        (problem,) = _problems(tmp_path)
        assert (
            "cites.yaml:6:10: error[duplicate-id] sources[1].id: source 'slide-two' is listed twice"
            in problem
        )

    def test_a_source_defined_in_two_libraries_names_both(self, tmp_path: Path) -> None:
        """Two folders' sources.yaml defining one id: an error at the second naming the first."""
        write(tmp_path / "a", "sources.yaml", self.LIBRARY)
        write(tmp_path / "b", "sources.yaml", self.LIBRARY + "# the same ids, a different file\n")
        self._ruleset(tmp_path / "a", "sources:\n  - {id: slide-two, cites: deck}\n")
        with pytest.raises(RulesetError) as caught:
            load_rulebook([tmp_path / "a", tmp_path / "b"])
        messages = [d.render() for d in caught.value.diagnostics if d.code == "duplicate-id"]
        assert len(messages) == 2  # deck and act
        assert all(m.startswith(str(tmp_path / "b" / "sources.yaml")) for m in messages)
        assert all(f"already defined at {tmp_path / 'a' / 'sources.yaml'}:" in m for m in messages)

    def test_a_byte_identical_copy_of_a_library_is_the_same_library(self, tmp_path: Path) -> None:
        """A copy of a rulesets folder brings a copy of its sources.yaml: one library, not two definitions."""
        write(tmp_path / "a", "sources.yaml", self.LIBRARY)
        write(tmp_path / "b", "sources.yaml", self.LIBRARY)
        self._ruleset(tmp_path / "a", "sources:\n  - {id: slide-two, cites: deck}\n")
        assert len(load_rulebook([tmp_path / "a", tmp_path / "b"]).rulesets) == 1

    def test_an_inline_definition_still_loads(self, tmp_path: Path) -> None:
        """The form before the shared file (a source defined in the ruleset) is accepted."""
        self._ruleset(
            tmp_path, 'sources:\n  - {id: slide-two, title: "Inline", seed: 000_b0bfa345df7592bd.txt}\n'
        )
        (loaded,) = load_rulebook([tmp_path]).rules
        assert loaded.sources[0].title == "Inline"

    def test_the_library_is_not_a_ruleset(self, tmp_path: Path) -> None:
        """find_files never lists sources.yaml, so it is never loaded as a ruleset."""
        write(tmp_path, "sources.yaml", self.LIBRARY)
        self._ruleset(tmp_path, "sources:\n  - {id: slide-two, cites: deck}\n")
        assert [p.name for p in find_files([tmp_path], tests=False)] == ["cites.yaml"]


class TestOneNamespaceOfRuleIds:
    def test_two_overlays_with_one_rule_id_are_refused_naming_both(self, tmp_path: Path) -> None:
        """Two organisations' overlays that both define `trust.kit` do not shadow each other: the
        second is an error at its line, naming the first's ruleset, file, line and column."""
        rule = (
            SOURCE + 'rules:\n  - id: trust.kit\n    source: s\n    because: "x"\n    then: {benefit: "y"}\n'
        )
        first = ruleset(tmp_path / "north", "north", rule)
        ruleset(tmp_path / "south", "south", rule)
        with pytest.raises(RulesetError) as caught:
            load_rulebook([tmp_path / "north", tmp_path / "south"])
        (d,) = caught.value.diagnostics
        assert d.location.path.endswith("south.yaml") and (d.location.line, d.field) == (9, "rules[0].id")
        assert d.message == f"rule id 'trust.kit' is already used in ruleset 'north' at {first}:9:9"
        assert d.severity is Severity.ERROR and "ruleset's id" in d.hint


class TestConditionHints:
    @pytest.mark.parametrize(
        ("condition", "message", "hint"),
        [
            (
                "proposal.activty: parkrun",
                "unknown field 'proposal.activty'",
                "did you mean 'proposal.activity'?",
            ),
            ("proposal.activity: {is_nt: parkrun}", "unknown operator 'is_nt'", "did you mean 'is_not'?"),
            ("proposal.activity: parkrn", "'parkrn' is not in the vocabulary", "did you mean 'parkrun'?"),
        ],
    )
    def test_typos_get_the_fix_as_a_hint(
        self, tmp_path: Path, condition: str, message: str, hint: str
    ) -> None:
        """A misspelt field, operator or value is an error whose hint, not its message, says the fix."""
        body = (
            SOURCE
            + f'rules:\n  - id: t.r\n    source: s\n    when:\n      - {condition}\n    because: "x"\n    then: {{benefit: "y"}}\n'
        )
        ruleset(tmp_path, "typo", body)
        with pytest.raises(RulesetError) as caught:
            load_rulebook([tmp_path])
        (d,) = caught.value.diagnostics
        assert (d.message, d.hint) == (message, hint)
        assert d.render().endswith(f"{message}; {hint}")
