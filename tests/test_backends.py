"""The durable-rules adapter agrees with the reference evaluator, and is used safely."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
import textwrap
import typing
from typing import Any

import durable_rules_engine as dre
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskengine import BackendError, Engine, load_proposal
from riskengine.batch.synth import synthetic_proposal
from riskengine.documents.vocab import Activity, LegalContext
from riskengine.read.proposal_files import proposal_from_data
from riskengine.rule_tests import STRESS_FILE, run_rule_tests, stress_proposal
from riskengine.rules.fields import CASE_SCOPES, FIELDS, fact_key
from riskengine.rules.ir import AnyOf, CompiledRule, Op, Predicate, Program, Test
from riskengine.run.backends import durable, durable_compile
from riskengine.run.backends.alpha import AlphaNetwork
from riskengine.run.backends.compiled import CompiledBackend, program_source
from riskengine.run.backends.durable import DurableBackend, compile_program
from riskengine.run.backends.reference import ReferenceBackend
from riskengine.run.facts import build_facts

from .paths import CORE, FIXTURES, SCENARIO_PROPOSALS, SHIPPED
from .strategies import proposals

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class TestParityOnRulesets:
    @SETTINGS
    @given(proposals())
    def test_core_fixture_parity(self, doc: dict[str, Any]) -> None:
        """On random valid proposals, both backends fire exactly the same rules for the same items."""
        proposal = proposal_from_data(doc)
        durable_engine = Engine.from_paths([CORE], backend="durable")
        reference_engine = Engine.from_paths([CORE], backend="reference")
        assert durable_engine.fire(proposal)[1] == reference_engine.fire(proposal)[1]

    @SETTINGS
    @given(proposals())
    def test_shipped_rulesets_parity(self, doc: dict[str, Any]) -> None:
        """With every shipped ruleset, both backends give identical evaluations apart from the backend name."""
        proposal = proposal_from_data(doc)
        a = _shipped("durable").evaluate(proposal).model_dump()
        b = _shipped("reference").evaluate(proposal).model_dump()
        a["provenance"].pop("backend"), b["provenance"].pop("backend")
        assert a == b

    @pytest.mark.parametrize("activity", typing.get_args(Activity))
    def test_a_case_that_opens_every_rule_runs_on_durable(self, activity: str) -> None:
        """A proposal carrying every category, medication class, concern kind and word the shipped
        rules look for, in every legal context, fires the same rules on both backends: no shard
        piles up more simultaneous matches than durable-rules allows (its error 303). Mixed-gate
        shards did, on exactly this proposal."""
        book = _shipped("durable").book
        doc = stress_proposal(book.program, book.late_program)
        doc["proposal"]["activity"] = activity
        for legal_context in typing.get_args(LegalContext):
            doc["person"]["legal_context"] = legal_context
            proposal = proposal_from_data(doc)
            fired = _shipped("durable").fire(proposal)[1]
            assert fired == _shipped("reference").fire(proposal)[1]
            assert len(fired) > 100


_ENGINES: dict[str, Engine] = {}


def _shipped(backend: str) -> Engine:
    if backend not in _ENGINES:
        _ENGINES[backend] = Engine.from_paths([SHIPPED], backend=backend)
    return _ENGINES[backend]


# Random programs: every operator on every field type, compiled straight to IR.
_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "number": st.integers(-1, 5),
    "bool": st.booleans(),
    "name": st.sampled_from(["sam", "jo", "person", "positive"]),
}
_OPS: dict[str, list[Op]] = {
    "number": ["eq", "ne", "in", "not_in", "ge", "le", "gt", "lt", "recorded", "missing"],
    "bool": ["eq", "ne", "recorded", "missing"],
    "name": ["eq", "ne", "in", "not_in", "recorded", "missing"],
    "enum": ["eq", "ne", "in", "not_in", "recorded", "missing"],
    "list": ["includes", "includes_any", "excludes", "recorded", "missing"],
    "text": ["mentions", "recorded", "missing"],
}


@st.composite
def _test(draw: st.DrawFn, scope: str) -> Test:
    name, spec = draw(st.sampled_from(sorted(FIELDS[scope].items())))
    op = draw(st.sampled_from(_OPS[spec.type]))
    key = fact_key(scope, name)
    if op in {"recorded", "missing"}:
        return Test(key, op)
    if spec.type == "text":
        return Test(
            key,
            op,
            tuple(
                draw(st.lists(st.sampled_from(["insight", "sam", "not now", "a"]), min_size=1, max_size=2))
            ),
        )
    if spec.type in {"enum", "list"} and spec.vocab:
        values = st.sampled_from(spec.vocab)
    elif spec.type == "list":
        values = st.sampled_from(["social", "medication", "lithium", "sam"])
    else:
        values = _VALUES.get(spec.type, st.sampled_from(spec.vocab or ("x",)))
    if op in {"in", "not_in", "includes_any", "excludes"}:
        return Test(key, op, tuple(draw(st.lists(values, min_size=1, max_size=3, unique=True))))
    return Test(key, op, draw(values))


@st.composite
def _programs(draw: st.DrawFn) -> Program:
    rules = []
    for index in range(draw(st.integers(1, 12))):
        scope = draw(st.sampled_from([None, "concern", "member", "mitigation", "condition", "attempt"]))
        case_tests = draw(st.lists(_test(draw(st.sampled_from(CASE_SCOPES))), max_size=3))
        drawn: list[Test] = draw(st.lists(_test(scope), max_size=3)) if scope else []
        grouped = bool(drawn) and draw(st.booleans())
        item_tests: list[Predicate] = [AnyOf(tuple(drawn))] if grouped else list(drawn)
        rules.append(
            CompiledRule(index, f"r.{index}", "random@1.0.0", scope, tuple(case_tests), tuple(item_tests))
        )
    return Program(tuple(rules), fingerprint=hashlib.sha256(repr(rules).encode()).hexdigest())


class TestParityOnRandomPrograms:
    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_programs(), proposals())
    def test_random_rules_agree(self, program: Program, doc: dict[str, Any]) -> None:
        """Random tests of every operator on every field type fire identically on both backends."""
        facts = build_facts(proposal_from_data(doc))
        assert DurableBackend().run(program, facts) == ReferenceBackend().run(program, facts)


class TestSafeUse:
    def test_wide_programs_are_split_within_durable_limits(self) -> None:
        """130 rules that all end at the same alpha node are split into shards that each stay within
        durable-rules' limits by the model, and every rule is in one of them."""
        rules = tuple(CompiledRule(i, f"r.{i}", "x@1.0.0", None, (), ()) for i in range(130))
        shards = compile_program(Program(rules, "1" * 64))
        assert len(shards) > 1
        assert sorted(n for s in shards.values() for n in s if n.startswith("r")) == sorted(
            f"r{i}" for i in range(130)
        )
        for definition in shards.values():
            assert AlphaNetwork.of(definition).limits.problems(durable_compile.STACK_BUDGET) == []

    def test_every_rule_matching_one_fact_still_runs(self) -> None:
        """130 rules that all match the case fact fire (durable errors past 64 simultaneous matches)."""
        rules = tuple(CompiledRule(i, f"r.{i}", "x@1.0.0", None, (), ()) for i in range(130))
        program = Program(rules, "2" * 64)
        facts = build_facts(proposal_from_data(_bare("parkrun")))
        fired = DurableBackend().run(program, facts)
        assert fired == tuple((i, None) for i in range(130))

    def test_bare_proposal_with_nothing_firing_does_not_crash(self) -> None:
        """A session where no rule fires is deleted safely (durable D5 would segfault here)."""
        rules = (
            CompiledRule(0, "never", "x@1.0.0", None, (Test("person__recent_crisis_days", "lt", -5),), ()),
        )
        facts = build_facts(proposal_from_data(_bare("parkrun")))
        assert DurableBackend().run(Program(rules, "3" * 64), facts) == ()

    def test_engine_errors_become_backend_errors(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A failure inside durable-rules mid-run is a BackendError; the failed session is never touched
        again (deleting or retracting in it can crash the process), its ruleset is retired, and the next
        run uses a fresh one."""
        program = Program((CompiledRule(0, "boom", "x@1.0.0", None, (), ()),), "5" * 64)
        backend = DurableBackend()
        facts = build_facts(proposal_from_data(_bare("parkrun")))
        backend.run(program, facts)
        (name,) = [n for n in durable._REGISTRY.handles if n.startswith("riskengine_555555555555")]
        first = durable._REGISTRY.handles[name]
        touched: list[int] = []
        real_retract, real_complete = dre.retract_facts, dre.complete_and_start_action

        def fail(*_args: object) -> None:
            raise dre.error("boom")

        def retract(handle: int, payload: str) -> object:
            touched.append(handle)
            return real_retract(handle, payload)

        monkeypatch.setattr(dre, "complete_and_start_action", fail)
        monkeypatch.setattr(dre, "retract_facts", retract)
        monkeypatch.setattr(dre, "delete_state", fail)
        with pytest.raises(BackendError, match="boom"):
            backend.run(program, facts)
        assert touched == [] and name not in durable._REGISTRY.handles
        monkeypatch.setattr(dre, "complete_and_start_action", real_complete)
        assert backend.run(program, facts) == ((0, None),)
        assert durable._REGISTRY.handles[name] != first and touched == [durable._REGISTRY.handles[name]]

    def test_durable_error_303_does_not_crash_the_process(self) -> None:
        """Too many simultaneous matches in one durable ruleset (its error 303) is a BackendError, run
        after run, and never the crash that deleting the failed session causes (in a subprocess)."""
        script = textwrap.dedent(
            """
            from riskengine import BackendError
            from riskengine.run.backends import durable, durable_compile
            from riskengine.run.facts import build_facts
            from riskengine.rules.ir import CompiledRule, Program, Test
            from riskengine.read.proposal_files import proposal_from_data
            durable_compile.STACK_BUDGET = 1000  # lift the adapter's own limit to reach durable's
            rules = tuple(
                CompiledRule(i, f"r{i}", "x@1.0.0", "concern" if i % 3 else None,
                             (Test("proposal__activity", "ne", f"z{i}"),), ())
                for i in range(80)
            )
            facts = build_facts(proposal_from_data({
                "schema_version": 1, "id": "x", "jurisdiction": "england", "as_of": "2026-11-22",
                "proposal": {"activity": "parkrun",
                             "concerns": [{"kind": "other", "text": f"t{i}"} for i in range(5)]},
            }))
            for _ in range(durable.MAX_RETIRED + 3):
                try:
                    durable.DurableBackend().run(Program(rules, "9" * 64), facts)
                except BackendError as exc:
                    print("refused" if "restart" in str(exc) else "error 303" if "303" in str(exc) else exc)
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.splitlines() == ["error 303"] * (durable.MAX_RETIRED + 1) + ["refused"] * 2

    def test_rule_tests_end_with_a_stress_case_per_activity(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """`riskengine test` runs the stress proposal for every activity, so a deployment's own rules
        that would break a durable-rules limit fail the test run instead of an evaluation."""
        stress = [r for r in run_rule_tests([CORE]).results if r.file == STRESS_FILE]
        assert [r.name.rsplit(" ", 1)[-1] for r in stress] == list(typing.get_args(Activity))
        assert all(r.passed for r in stress)

        def refuse(*_args: object) -> None:
            raise BackendError("durable-rules failed while evaluating: error code: 303")

        monkeypatch.setattr(DurableBackend, "run", refuse)
        report = run_rule_tests([CORE])
        stress = [r for r in report.results if r.file == STRESS_FILE]
        assert not report.ok and all(len(r.failures) == len(typing.get_args(LegalContext)) for r in stress)
        assert (
            "informal: <riskengine>: error[error] durable-rules failed while evaluating"
            in stress[0].failures[0]
        )

    def test_too_many_failures_stop_the_backend(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """After MAX_RETIRED failed sessions durable-rules is not trusted again in this process."""
        program = Program((CompiledRule(0, "tired", "x@1.0.0", None, (), ()),), "7" * 64)
        monkeypatch.setattr(durable._REGISTRY, "retired", durable.MAX_RETIRED + 1)
        with pytest.raises(BackendError, match="restart the process"):
            DurableBackend().run(program, build_facts(proposal_from_data(_bare("parkrun"))))

    def test_a_missing_sentinel_is_detected(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """If the once-per-session sentinel does not match, the run fails loudly instead of going quiet."""
        program = Program((CompiledRule(0, "quiet", "x@1.0.0", None, (), ()),), "6" * 64)
        real = durable._one_match
        monkeypatch.setattr(
            durable, "_one_match", lambda m, s: ("r0", None) if real(m, s)[0] == "sentinel" else real(m, s)
        )
        with pytest.raises(BackendError, match="sentinel"):
            DurableBackend().run(program, build_facts(proposal_from_data(_bare("parkrun"))))

    def test_matches_are_read_exactly(self) -> None:
        """The fast reading of a match gives what a full JSON decode gives, even with tricky text."""
        shard = durable_compile.Shard("s", "{}", frozenset({"r3"}), (), frozenset(), ())
        tricky = '{"r3":{"c":{"id":"case","t":"case","x":"a \\"i\\":{\\"id\\":\\"no\\""},"i":{"id":"member:2","t":"member"}}}'
        assert durable._one_match(tricky, shard) == ("r3", "member:2") == durable._decoded(tricky, shard)
        assert durable._one_match('{"sentinel":{"c":{"id":"case"}}}', shard) == ("sentinel", None)

    def test_texts_that_look_like_the_match_layout_are_read_right(self) -> None:
        """Free text holding the very marker the fast reader looks for, and non-ASCII text, give the
        same firings on durable-rules as on the reference evaluator."""
        doc = _rich()
        doc["proposal"]["concerns"] = [
            {
                "kind": "stigma",
                "raised_by": "person",
                "text": 'an unwise plan, he wrote "i":{"id":"member:9"} in the notes',
            },
            {"kind": "stigma", "raised_by": "person", "text": "naïve café talk, “unwise” 🙂"},
        ]
        proposal = proposal_from_data(doc)
        fired = _shipped("durable").fire(proposal)[1]
        assert fired == _shipped("reference").fire(proposal)[1]
        assert {item for _, item in fired if item and item.startswith("concern:")} == {
            "concern:0",
            "concern:1",
        }

    def test_no_threads_and_no_host(self) -> None:
        """The adapter starts no threads and never loads durable-rules' Python Host layer."""
        import sys
        import threading

        DurableBackend().prepare(Program((), "4" * 64))
        assert not [t for t in threading.enumerate() if isinstance(t, threading.Timer)]
        assert "durable.engine" not in sys.modules

    def test_fnv_hash_matches_the_known_sid_collision(self) -> None:
        """Our FNV-1a-32 reproduces the colliding pair found in durable-rules' sid table (D3)."""
        assert durable_compile.fnv1a_32("case-478212") == durable_compile.fnv1a_32("case-1221200")

    def test_fact_properties_have_distinct_hashes(self) -> None:
        """Every fact property name hashes differently, so durable cannot confuse two (D4)."""
        durable_compile.check_properties()  # raises RulesetError on a collision or too many properties

    def test_each_run_leaves_its_one_session_empty(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Every run uses its durable ruleset's one session and leaves it holding no facts; no session
        is ever created beside it or deleted."""
        import json

        used: list[tuple[int, str]] = []
        real_assert = dre.assert_facts

        def assert_facts(handle: int, payload: str) -> object:
            used.extend((handle, fact["sid"]) for fact in json.loads(payload))
            return real_assert(handle, payload)

        def never(*_args: object) -> None:
            raise AssertionError("a session was deleted")

        monkeypatch.setattr(dre, "assert_facts", assert_facts)
        monkeypatch.setattr(dre, "delete_state", never)
        engine = Engine.from_paths([CORE], backend="durable")
        for _ in range(3):
            engine.evaluate(proposal_from_data(_bare("parkrun")))
        assert used and {sid for _, sid in used} == {durable_compile.SID}
        for handle in {handle for handle, _ in used}:
            assert dre.get_facts(handle, durable_compile.SID) == "[]"

    def test_a_reused_session_remembers_nothing(self) -> None:
        """A rich proposal then a bare one in the same sessions: the bare one fires exactly what the
        reference evaluator fires for it, so nothing carries over from the run before."""
        rich = proposal_from_data(_rich())
        bare = proposal_from_data(_bare("reduce_or_stop_medication"))
        durable_engine, reference_engine = _shipped("durable"), _shipped("reference")
        for proposal in (rich, bare, rich, bare):
            assert durable_engine.fire(proposal)[1] == reference_engine.fire(proposal)[1]

    def test_a_run_that_fails_to_clear_its_session_is_an_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """If durable-rules kept a fact after retraction, the run fails loudly and the ruleset is retired."""
        program = Program((CompiledRule(0, "sticky", "x@1.0.0", None, (), ()),), "a" * 64)
        monkeypatch.setattr(dre, "get_facts", lambda *_args: '[{"id": "case"}]')
        with pytest.raises(BackendError, match="kept facts after they were retracted"):
            DurableBackend().run(program, build_facts(proposal_from_data(_bare("parkrun"))))
        assert not [n for n in durable._REGISTRY.handles if n.startswith("riskengine_aaaaaaaaaaaa")]


def _rich() -> dict[str, Any]:
    return {
        **_bare("reduce_or_stop_medication"),
        "person": {"legal_context": "community_treatment_order", "strengths": ["keeps a diary"], "early_warning_signs": ["sleeping less"],
                   "medication": [{"name": "lithium", "class": "mood_stabiliser"}]},
        "network": [{"id": "sam", "kind": "friend", "contact": "weekly"}, {"id": "gp-1", "kind": "gp"}],
        "proposal": {"activity": "reduce_or_stop_medication", "categories": ["medication", "alcohol"],
                     "concerns": [{"kind": "relapse_or_crisis", "raised_by": "practitioner", "text": "unwise"}],
                     "conditions_proposed": [{"by": "practitioner", "text": "only if you show insight"}]},
        "plan": {"mitigations": [{"text": "sam checks in", "owner": "sam"}]},
    }  # fmt: skip


def _bare(activity: str) -> dict[str, Any]:
    return {"schema_version": 1, "id": "bare", "jurisdiction": "england", "as_of": dt.date(2026, 11, 22),
            "proposal": {"activity": activity, "categories": ["x"]}}  # fmt: skip


class TestCompiledBackend:
    """The compiled backend (one generated Python function per program) fires like the other two."""

    @SETTINGS
    @given(_programs(), proposals())
    def test_random_rules_agree(self, program: Program, doc: dict[str, Any]) -> None:
        """Random tests of every operator on every field type fire as the reference backend fires them."""
        facts = build_facts(proposal_from_data(doc))
        assert CompiledBackend().run(program, facts) == ReferenceBackend().run(program, facts)

    @SETTINGS
    @given(proposals())
    def test_shipped_rulesets_agree(self, doc: dict[str, Any]) -> None:
        """With every shipped ruleset, on random proposals: the same evaluation but for the backend name."""
        proposal = proposal_from_data(doc)
        a = _shipped("compiled").evaluate(proposal).model_dump()
        b = _shipped("reference").evaluate(proposal).model_dump()
        assert (a["provenance"].pop("backend"), b["provenance"].pop("backend")) == ("compiled", "reference")
        assert a == b

    def test_every_shipped_proposal_and_the_stress_cases_agree(self) -> None:
        """Every fixture and shipped proposal, and the case that opens every rule in every activity."""
        compiled, durable_engine = _shipped("compiled"), _shipped("durable")
        paths = [p for p in FIXTURES.rglob("*.yaml") if "activities" in p.parts or "examples" in p.parts]
        paths = [p for p in paths if not p.name.endswith(".expect.yaml")]
        paths += sorted(SCENARIO_PROPOSALS.glob("*.yaml"))
        assert len(paths) > 60
        for path in paths:
            proposal = load_proposal(path)
            assert compiled.fire(proposal)[1] == durable_engine.fire(proposal)[1], path
        book = compiled.book
        doc = stress_proposal(book.program, book.late_program)
        for activity in typing.get_args(Activity):
            doc["proposal"]["activity"] = activity
            proposal = proposal_from_data(doc)
            assert compiled.fire(proposal)[1] == durable_engine.fire(proposal)[1]

    def test_the_synthetic_corpus_evaluates_alike_on_all_three_backends(self) -> None:
        """600 synthetic proposals (the corpus batch and its benchmarks use: every activity, legal
        context and nation, networks from empty to large): the three backends give the same
        evaluation, byte for byte, but for the backend's name."""
        engines = {name: _shipped(name) for name in ("compiled", "durable", "reference")}
        for i in range(600):
            proposal = proposal_from_data(synthetic_proposal(20261203, i))
            texts = {
                name: engine.evaluate(proposal)
                .to_json_line()
                .replace(f'"backend":"{name}"', '"backend":""', 1)
                for name, engine in engines.items()
            }
            assert len(set(texts.values())) == 1, (i, {n: len(t) for n, t in texts.items()})

    def test_rule_values_never_become_code(self) -> None:
        """A value is bound to a name in the function's namespace; the source holds only the name."""
        sneaky = "x'); import os; os.system('true'); ('"
        rule = CompiledRule(0, "r.0", "x@1.0.0", None, (Test("proposal__activity", "eq", sneaky),), ())
        source, values = program_source(Program((rule,), "2" * 64))
        assert sneaky not in source and sneaky in values.values()
        facts = build_facts(proposal_from_data(_minimal()))
        assert CompiledBackend().run(Program((rule,), "2" * 64), facts) == ()


def _minimal() -> dict[str, Any]:
    return {
        "schema_version": 1, "id": "p-1", "jurisdiction": "england", "as_of": dt.date(2026, 11, 22),
        "person": {}, "network": [], "proposal": {"activity": "parkrun"}, "plan": {},
    }  # fmt: skip
