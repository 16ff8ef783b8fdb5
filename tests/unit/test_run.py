"""Unit tests of the run stage: facts, the two-phase run, and how the durable adapter picks the
shards a proposal needs from the declared gates."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskengine import Engine, load_rulebook, proposal_from_data
from riskengine.rules.ir import AnyOf, CompiledRule, Program, Test
from riskengine.run.backends import durable_compile
from riskengine.run.backends.reference import ReferenceBackend
from riskengine.run.facts import build_facts
from riskengine.run.two_phase import run_two_phases

from .helpers import proposal, ruleset

ACTIVITY = Test("proposal__activity", "eq", "parkrun")
CATEGORY = Test("proposal__categories", "includes", "alcohol")


def _rule(index: int, case: tuple[Test | AnyOf, ...], gate: tuple[Test | AnyOf, ...] = ()) -> CompiledRule:
    return CompiledRule(index, f"r{index}", "x@1.0.0", None, case, (), gate)


def _openings(*rules: CompiledRule) -> list[tuple[tuple[tuple[str, object], ...], list[str]]]:
    """(what opens each shard, the rules in it) for a program of ``rules``."""
    program = Program(rules, "0" * 64)
    definitions = {
        r.index: durable_compile.rule_definition(r.scope, r.case_tests, r.item_tests) for r in rules
    }
    return [
        (opened, [r.rule_id for r in members])
        for opened, members in durable_compile.packed(program, definitions)
    ]


class TestFacts:
    def test_text_is_folded_to_single_spaces(self) -> None:
        """Facts hold text with runs of spaces, tabs and newlines folded, so `mentions` sees words."""
        facts = build_facts(
            proposal_from_data(proposal(proposal={"activity": "parkrun", "goal": " run\n  with\tJay "}))
        )
        assert facts.case["proposal__goal"] == "run with Jay"

    def test_find_returns_each_fact_by_id_and_refuses_a_stale_one(self) -> None:
        """`find` gives the case or an item by id; an id of the right form that is not the fact's fails."""
        p = proposal_from_data(
            proposal(network=[{"id": "jay", "kind": "friend"}, {"id": "mo", "kind": "family"}])
        )
        facts = build_facts(p)
        assert facts.find("case") is facts.case
        first = facts.items["member"][0]
        assert facts.find(first["id"]) is first
        with pytest.raises(KeyError):
            facts.find("member:" + first["id"].partition(":")[2] + "0")


class TestTwoPhases:
    def test_a_second_phase_rule_reads_the_needs_the_first_declared(self, tmp_path: Path) -> None:
        """Phase 1 declares a need, the safety net matches it, and phase 2 fires on what it found."""
        ruleset(
            tmp_path,
            "net",
            """\
            sources:
              - {id: s, title: "S", seed: 000_b0bfa345df7592bd.txt}
            rules:
              - id: n.ask
                source: s
                because: "always"
                then:
                  safety_net_need: {role: route_back, when: ongoing, why: "a way back"}
              - id: n.missing
                source: s
                for_each: need
                when:
                  - need.status: missing
                because: "nobody for {need.role}"
                then: {benefit: "x"}
            """,
        )
        book = load_rulebook([tmp_path])
        result = run_two_phases(book, ReferenceBackend(), proposal_from_data(proposal()))
        fired = {book.rules[i].rule.id for i, _ in result.firings}
        assert fired == {"n.ask", "n.missing"}
        assert [n.status for n in result.analysis.safety_net.needs] == ["missing"]


class TestDurableGates:
    def test_the_declared_gate_opens_the_shard(self) -> None:
        """A rule with a declared gate goes in a shard opened by the gate's value only."""
        assert _openings(_rule(0, (ACTIVITY,), gate=(ACTIVITY,))) == [
            ((("proposal__activity", "parkrun"),), ["r0"])
        ]

    def test_an_any_gate_opens_on_each_of_its_values(self) -> None:
        """A gate of several activity or category tests opens its shard on any of their values."""
        either = AnyOf((ACTIVITY, CATEGORY))
        ((opened, members),) = _openings(_rule(0, (either,), gate=(either,)))
        assert set(opened) == {("proposal__activity", "parkrun"), ("proposal__categories", "alcohol")}
        assert members == ["r0"]

    def test_a_gate_on_something_else_leaves_the_rule_always_run(self) -> None:
        """A declared gate that is not an activity or category test cannot index: the rule always runs."""
        legal = Test("person__legal_context", "eq", "detained")
        assert _openings(_rule(0, (legal,), gate=(legal,))) == [((), ["r0"])]

    def test_without_a_declared_gate_the_rules_own_test_indexes_it(self) -> None:
        """An overlay written without applies_when still has its activity test used as the index."""
        legal = Test("person__legal_context", "eq", "detained")
        assert _openings(_rule(0, (legal, ACTIVITY))) == [((("proposal__activity", "parkrun"),), ["r0"])]

    def test_gated_and_ungated_rules_give_the_same_answers(self, tmp_path: Path) -> None:
        """Indexing changes which shards run, never what fires: durable agrees with the reference."""
        ruleset(
            tmp_path,
            "mixed",
            """\
            sources:
              - {id: s, title: "S", seed: 000_b0bfa345df7592bd.txt}
            applies_when:
              - proposal.categories: {includes_any: [alcohol, physical_activity]}
            rules:
              - {id: m.a, source: s, because: "x", then: {benefit: "a"}}
              - {id: m.b, source: s, when: [proposal.activity: parkrun], because: "x", then: {benefit: "b"}}
            """,
        )
        for activity in ("parkrun", "drinks_with_friends", "bungee_jump"):
            p = proposal_from_data(proposal(proposal={"activity": activity}))
            answers = [
                Engine.from_paths([tmp_path], backend=b).rule_ids(
                    Engine.from_paths([tmp_path], backend=b).fire(p)[1]
                )
                for b in ("durable", "reference")
            ]
            assert answers[0] == answers[1], activity
