"""The safety net: the network graph, need matching, weak points, consent, and phase-2 rules."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskengine.analysis.network import PERSON, build_graph, service_cut_points
from riskengine.analysis.safety_net import NeedRequest, analyse_safety_net
from riskengine.documents import vocab
from riskengine.documents.evaluation import SafetyNet
from riskengine.documents.proposal import Proposal
from riskengine.engine import Engine
from riskengine.errors import RulesetError
from riskengine.read.proposal_files import proposal_from_data
from riskengine.rule_tests import run_rule_tests
from riskengine.rules.loader import load_rulebook

from .paths import SHIPPED

RULESET = SHIPPED / "safety-net.yaml"
TESTS = SHIPPED / "safety-net.test.yaml"
STATUS_ORDER = {"in_place": 0, "fragile": 1, "missing": 2}
SOLID = {"contact": "weekly", "steadiness": "consistent", "knows_about_plan": True, "agreed_to_help": True}
ALL_NEEDS = tuple(NeedRequest(role, when, "test") for role in vocab.ROLES for when in ("during", "ongoing"))


def doc(network: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schema_version": 1, "id": "t", "jurisdiction": "england", "as_of": "2026-11-22",
        "proposal": {"activity": "parkrun"}, "network": network or [],
    }  # fmt: skip
    return {**base, **extra}


def model(network: list[dict[str, Any]] | None = None, **extra: Any) -> Proposal:
    return proposal_from_data(doc(network, **extra))


@pytest.fixture(scope="module")
def engines() -> dict[str, Engine]:
    return {name: Engine.from_paths([RULESET], backend=name) for name in ("reference", "durable")}


# ------------------------------------------------------------------ strategies

KINDS = st.sampled_from(vocab.NETWORK_KINDS)
CONTACT = st.sampled_from(["daily", "weekly", "monthly", "less_than_monthly", "none"])
STEADY = st.sampled_from(["consistent", "on_and_off", "new", "strained"])


@st.composite
def networks(draw: st.DrawFn, max_size: int = 8) -> list[dict[str, Any]]:
    ids = draw(st.lists(st.sampled_from([f"m{i}" for i in range(12)]), unique=True, max_size=max_size))
    out = []
    for member_id in ids:
        member: dict[str, Any] = {"id": member_id, "kind": draw(KINDS)}
        for key, strategy in (
            ("closeness", st.integers(1, 5)), ("contact", CONTACT), ("steadiness", STEADY),
            ("known_for_months", st.integers(0, 120)), ("knows_about_plan", st.booleans()),
            ("agreed_to_help", st.booleans()),
        ):  # fmt: skip
            if draw(st.booleans()):
                member[key] = draw(strategy)
        out.append(member)
    return out


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    network = draw(networks())
    ids = [m["id"] for m in network]
    links = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=6)) if len(ids) > 1 else []
    links = [list(pair) for pair in links if pair[0] != pair[1]]
    refusals = draw(st.lists(st.sampled_from([*ids, "family", "friend"]), unique=True, max_size=2))
    return doc(
        network,
        links=links,
        person={
            "early_warning_signs": draw(st.lists(st.sampled_from(["sleeping less", "not eating"]), max_size=1)),
            "advance_statement": {"exists": True, "information_sharing": [
                {"with": who, "allowed": False, "note": f"not {who}"} for who in refusals
            ]},
        },
        proposal={
            "activity": draw(st.sampled_from(["parkrun", "reduce_or_stop_medication", "drinks_with_friends"])),
            "goal": draw(st.sampled_from(["run with m1", "do it together with m2", "get fitter"])),
        },
        plan={"mitigations": [
            {"text": draw(st.sampled_from(["m1 comes with me", "text m3 after", "carry water"])),
             "owner": draw(st.sampled_from([*ids, "person", "duty-team"]))},
        ]},
    )


def shuffled(data: dict[str, Any], seed: int) -> dict[str, Any]:
    rnd = random.Random(seed)
    network = list(data["network"])
    links = [list(reversed(pair)) if rnd.random() < 0.5 else list(pair) for pair in data.get("links", [])]
    rnd.shuffle(network)
    rnd.shuffle(links)
    mitigations = list(data.get("plan", {}).get("mitigations", []))
    rnd.shuffle(mitigations)
    return {**data, "network": network, "links": links, "plan": {"mitigations": mitigations}}


def statuses(net: SafetyNet) -> dict[tuple[str, str], str]:
    return {(n.role, n.when): n.status for n in net.needs}


# ------------------------------------------------------------------ the graph


class TestGraph:
    def test_nodes_cover_person_members_and_outside_owners(self) -> None:
        """The graph holds the person, every member, and mitigation owners who are not on the map."""
        p = model(
            [{"id": "sam", "kind": "friend", **SOLID}, {"id": "jo", "kind": "key_worker"}],
            plan={"mitigations": [{"text": "ring the duty team", "owner": "duty-team"},
                                  {"text": "Sam texts Jo", "owner": "sam"}]},
        )  # fmt: skip
        graph = build_graph(p)
        assert set(graph) == {PERSON, "sam", "jo", "duty-team"}
        assert graph.nodes["duty-team"]["in_network"] is False
        assert graph.has_edge("sam", "jo")  # the mitigation names jo

    def test_edges_carry_the_relationship(self) -> None:
        """Person-member edges carry closeness, contact, months known, steadiness, awareness and agreement."""
        p = model([{"id": "sam", "kind": "friend", "closeness": 4, "known_for_months": 30,
                    "does_together": ["walking"], "legal_roles": ["nearest_relative"], **SOLID}])  # fmt: skip
        edge = build_graph(p).edges[PERSON, "sam"]
        assert (edge["closeness"], edge["contact"], edge["known_for_months"]) == (4, "weekly", 30)
        assert (edge["steadiness"], edge["knows_about_plan"], edge["agreed_to_help"]) == ("consistent", True, True)
        assert edge["does_together"] == ("walking",)
        assert build_graph(p).nodes["sam"]["legal_roles"] == ("nearest_relative",)

    def test_no_contact_means_no_edge_to_the_person(self) -> None:
        """A member with contact 'none' stays on the map but is not directly joined to the person."""
        graph = build_graph(model([{"id": "dad", "kind": "family", "contact": "none"}]))
        assert "dad" in graph and not graph.has_edge(PERSON, "dad")

    def test_articulation_point_to_services(self) -> None:
        """A member through whom alone the person reaches any service is a cut point."""
        p = model(
            [{"id": "mum", "kind": "family", **SOLID}, {"id": "gp", "kind": "gp", "contact": "none"}],
            links=[["mum", "gp"]],
        )
        assert service_cut_points(build_graph(p)) == (("mum",), True)


# ------------------------------------------------------------------ matching


class TestMatching:
    def test_in_place_needs_a_solid_filler(self) -> None:
        """A need is in place when one filler knows, has agreed, is steady and in touch."""
        net = analyse_safety_net(model([{"id": "sam", "kind": "friend", **SOLID}]), [NeedRequest("check_in", "after", "x")])
        assert net.needs[0].status == "in_place"
        assert net.needs[0].issues == ("only_one",)

    def test_fragile_names_every_issue(self) -> None:
        """A need with only troubled fillers is fragile, and each member's issues are named."""
        p = model([
            {"id": "bro", "kind": "family", "contact": "monthly", "steadiness": "on_and_off", "known_for_months": 1},
            {"id": "pal", "kind": "friend", "contact": "weekly", "steadiness": "strained", "knows_about_plan": True},
        ])  # fmt: skip
        need = analyse_safety_net(p, [NeedRequest("alongside", "during", "x")]).needs[0]
        assert need.status == "fragile"
        by_member = {i.member: set(i.issues) for i in need.issues_by_member}
        assert by_member["bro"] == {"not_agreed", "not_aware", "on_and_off", "new", "rarely_in_contact"}
        assert by_member["pal"] == {"not_agreed", "strained"}
        assert need.filled_by == ("pal", "bro")  # fewer issues ranks first

    def test_missing_when_nobody_can_fill(self) -> None:
        """A need nobody's kind can fill is missing."""
        net = analyse_safety_net(model([{"id": "sam", "kind": "friend", **SOLID}]), [NeedRequest("prescribing_oversight", "ongoing", "x")])
        assert net.needs[0].status == "missing" and net.needs[0].filled_by == ()

    def test_rare_contact_matters_for_during_only(self) -> None:
        """Monthly contact is too rare for someone there during, but fine for an ongoing need."""
        p = model([{"id": "kw", "kind": "key_worker", **SOLID, "contact": "monthly"}])
        during = analyse_safety_net(p, [NeedRequest("route_back", "during", "x")]).needs[0]
        ongoing = analyse_safety_net(p, [NeedRequest("route_back", "ongoing", "x")]).needs[0]
        assert (during.status, ongoing.status) == ("fragile", "in_place")
        assert "rarely_in_contact" in during.issues

    def test_steady_need_asks_for_known_steadiness(self) -> None:
        """A need declared steady treats unrecorded steadiness as an issue."""
        p = model([{"id": "sam", "kind": "friend", "contact": "weekly", "knows_about_plan": True, "agreed_to_help": True}])
        need = analyse_safety_net(p, [NeedRequest("early_warning", "ongoing", "x", steadiness="steady")]).needs[0]
        assert need.status == "fragile" and "not_known" in need.issues

    def test_requests_merge_by_role_and_time(self) -> None:
        """Two rules asking for the same role at the same time make one need with both reasons."""
        net = analyse_safety_net(model(), [NeedRequest("route_back", "ongoing", "b"), NeedRequest("route_back", "ongoing", "a")])
        assert len(net.needs) == 1 and net.needs[0].why == "a; b"


# ------------------------------------------------------------------ weak points


class TestSinglePoints:
    def test_only_filler_of_route_back(self) -> None:
        """The only filler of route back is a single point of failure, with who else could share."""
        p = model(
            [{"id": "jo", "kind": "key_worker", **SOLID}, {"id": "sam", "kind": "friend", **SOLID}],
            links=[["jo", "sam"]],
        )
        net = analyse_safety_net(p, [NeedRequest("route_back", "ongoing", "x")])
        (spof,) = net.single_points_of_failure
        assert (spof.member, spof.carries, spof.could_share) == ("jo", ("route_back",), ("sam",))
        assert set(spof.could_share_kinds) == {"crisis_team", "gp", "helpline"}

    def test_only_filler_of_two_needs(self) -> None:
        """A member who alone holds two needs is a single point of failure."""
        p = model([{"id": "sam", "kind": "friend", **SOLID}])
        net = analyse_safety_net(p, [NeedRequest("check_in", "after", "x"), NeedRequest("alongside", "during", "y")])
        assert [s.member for s in net.single_points_of_failure] == ["sam"]

    def test_one_ordinary_need_is_not_a_single_point(self) -> None:
        """Holding one non-critical need alone is not flagged."""
        net = analyse_safety_net(model([{"id": "sam", "kind": "friend", **SOLID}]), [NeedRequest("check_in", "after", "x")])
        assert net.single_points_of_failure == ()

    def test_cut_point_to_services_is_flagged(self) -> None:
        """A member whose removal cuts the person off from every service is a single point of failure."""
        p = model(
            [{"id": "mum", "kind": "family", **SOLID}, {"id": "kw", "kind": "key_worker", "contact": "none"}],
            links=[["mum", "kw"]],
        )
        (spof,) = analyse_safety_net(p, []).single_points_of_failure
        assert spof.member == "mum" and spof.cuts_off_services and spof.could_share == ("kw",)


class TestConsent:
    def test_conflict_uses_the_persons_words(self) -> None:
        """A need that can only lean on someone the person said not to tell is a conflict in their words."""
        p = model(
            [{"id": "dad", "kind": "family", **SOLID}],
            person={"advance_statement": {"information_sharing": [
                {"with": "dad", "allowed": False, "note": "not about my medication"}]}},
        )  # fmt: skip
        net = analyse_safety_net(p, [NeedRequest("early_warning", "ongoing", "x")])
        assert net.needs[0].status == "fragile" and "consent_conflict" in net.needs[0].issues
        (conflict,) = net.consent_conflicts
        assert (conflict.member, conflict.role, conflict.person_words) == ("dad", "early_warning", "not about my medication")
        assert "not about my medication" in conflict.because

    def test_refusal_by_kind_and_mitigation(self) -> None:
        """A refusal by kind covers members of that kind, and a mitigation naming them is a conflict too."""
        p = model(
            [{"id": "mum", "kind": "family", **SOLID}, {"id": "sam", "kind": "friend", **SOLID}],
            person={"advance_statement": {"information_sharing": [{"with": "family", "allowed": False}]}},
            plan={"mitigations": [{"text": "Sam tells mum how it went", "owner": "sam"}]},
        )
        net = analyse_safety_net(p, [NeedRequest("check_in", "after", "x")])
        assert net.needs[0].status == "in_place"  # sam holds it: no need depends on telling mum
        assert [(c.member, c.role) for c in net.consent_conflicts] == [("mum", "mitigation")]

    def test_engine_prompts_but_never_resolves(self, engines: dict[str, Engine]) -> None:
        """A consent conflict produces a conversation prompt and leaves the plan's needs as they are."""
        data = doc(
            [{"id": "dad", "kind": "family", **SOLID}],
            person={"advance_statement": {"information_sharing": [{"with": "dad", "allowed": False, "note": "no"}]}},
            plan={"mitigations": [{"text": "dad drives me", "owner": "dad"}]},
        )
        evaluation = engines["reference"].evaluate(data)
        assert "net.consent-conflict" in {p.id for p in evaluation.prompts}
        assert evaluation.safety_net.consent_conflicts[0].person_words == "no"


# ------------------------------------------------------------------ promises


class TestMonotonic:
    @settings(max_examples=150, deadline=None)
    @given(network=networks(), kind=KINDS, closeness=st.integers(1, 5))
    def test_adding_a_solid_filler_never_worsens(self, network: list[dict[str, Any]], kind: str, closeness: int) -> None:
        """Adding a steady, agreed, aware member never makes any need's status worse."""
        before = analyse_safety_net(model(network), ALL_NEEDS)
        extra = {"id": "newcomer", "kind": kind, "closeness": closeness, "known_for_months": 24, **SOLID}
        after = analyse_safety_net(model([*network, extra]), ALL_NEEDS)
        for key, status in statuses(before).items():
            assert STATUS_ORDER[statuses(after)[key]] <= STATUS_ORDER[status]

    @settings(max_examples=150, deadline=None)
    @given(network=networks(), data=st.data())
    def test_removing_a_member_never_improves(self, network: list[dict[str, Any]], data: st.DataObject) -> None:
        """Removing any member never makes any need's status better."""
        if not network:
            return
        gone = data.draw(st.sampled_from([m["id"] for m in network]))
        before = analyse_safety_net(model(network), ALL_NEEDS)
        after = analyse_safety_net(model([m for m in network if m["id"] != gone]), ALL_NEEDS)
        for key, status in statuses(before).items():
            assert STATUS_ORDER[statuses(after)[key]] >= STATUS_ORDER[status]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=documents(), kind=st.sampled_from(vocab.PERSONAL_KINDS))
    def test_engine_needs_never_worsen(self, engines: dict[str, Engine], data: dict[str, Any], kind: str) -> None:
        """Through the whole engine, a new solid member never worsens a need present before and after."""
        before = engines["reference"].evaluate(data).safety_net
        extra = {"id": "zz-new", "kind": kind, "known_for_months": 24, **SOLID}
        after = engines["reference"].evaluate({**data, "network": [*data["network"], extra]}).safety_net
        later = statuses(after)
        for key, status in statuses(before).items():
            if key in later:
                assert STATUS_ORDER[later[key]] <= STATUS_ORDER[status]


class TestDeterminism:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=documents(), seed=st.integers(0, 1000))
    def test_shuffled_network_same_safety_net(self, engines: dict[str, Engine], data: dict[str, Any], seed: int) -> None:
        """Shuffling the network, links and mitigations gives byte-identical evaluations."""
        first = engines["reference"].evaluate(data).to_json()
        assert engines["reference"].evaluate(shuffled(data, seed)).to_json() == first

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=documents())
    def test_backends_agree_on_both_phases(self, engines: dict[str, Engine], data: dict[str, Any]) -> None:
        """The reference and durable backends fire the same rules in both phases."""
        p = proposal_from_data(data)
        fired = [engine.rule_ids(engine.fire(p)[1]) for engine in engines.values()]
        assert fired[0] == fired[1]


class TestSizes:
    def test_empty_network_every_need_missing(self, engines: dict[str, Engine]) -> None:
        """With nobody on the map, every need is missing and the prompts say so."""
        data = doc(
            person={"early_warning_signs": ["sleeping less"], "recent_crisis_days": 30},
            proposal={"activity": "reduce_or_stop_medication"},
        )
        evaluation = engines["durable"].evaluate(data)
        needs = evaluation.safety_net.needs
        assert needs and all(n.status == "missing" for n in needs)
        prompts = {p.id for p in evaluation.prompts}
        assert {"net.build.empty", "net.gap.route-back", "net.gap.early-warning", "net.gap.prescribing"} <= prompts
        assert "prm.3.2" in {t.id for t in evaluation.tensions}

    def test_large_network(self, engines: dict[str, Engine]) -> None:
        """A 500-member network evaluates, ranks fillers and keeps every filler."""
        network = [{"id": f"m{i:03d}", "kind": vocab.PERSONAL_KINDS[i % 6], "closeness": 1 + i % 5, **SOLID} for i in range(500)]
        links = [[f"m{i:03d}", f"m{i + 1:03d}"] for i in range(499)]
        data = doc(network, links=links, person={"early_warning_signs": ["x"]})
        evaluation = engines["durable"].evaluate(data)
        need = next(n for n in evaluation.safety_net.needs if n.role == "early_warning")
        assert need.status == "in_place" and len(need.filled_by) > 200
        assert need.filled_by[0] == "m014"  # closest first (a friend, closeness 5), then by id


# ------------------------------------------------------------------ phase 2 in the rule language


class TestPhaseTwo:
    def test_rules_reading_the_net_run_second(self) -> None:
        """Rules that test safety_net.* or for_each: need are compiled into the second-phase program."""
        book = load_rulebook([RULESET])
        late = {r.rule.id for r in book.rules if r.phase == 2}
        assert {"net.single-point", "net.gap.route-back", "net.in-place"} <= late
        assert "net.early-warning" not in late
        assert len(book.late_program.rules) == len(late)

    def test_phase_two_rule_may_not_declare_a_need(self, tmp_path: Path) -> None:
        """A rule that reads the safety net and declares a need is a located load error."""
        path = tmp_path / "cycle.yaml"
        path.write_text(
            "id: cycle\nversion: 1.0.0\ntitle: t\nsources: [{id: s, title: s}]\nrules:\n"
            "  - id: cycle.a\n    source: s\n    when:\n      - safety_net.missing_count: {at_least: 1}\n"
            "    because: b\n    then:\n      safety_net_need: {role: check_in, when: after, why: w}\n",
            encoding="utf-8",
        )
        with pytest.raises(RulesetError) as caught:
            load_rulebook([path])
        (problem,) = caught.value.diagnostics
        assert problem.code == "need-cycle" and problem.location.line == 12

    def test_rule_tests_pass_on_both_backends(self) -> None:
        """Every safety-net rule is fired by a passing case, and both backends agree."""
        report = run_rule_tests([TESTS], rulesets=[RULESET])
        assert report.ok, [r.failures for r in report.results if r.failures] + report.untested


class TestTheRecordFillsNeeds:
    """The safety net reads the record (practitioner review 2026-12, defect 1)."""

    def test_the_crisis_plans_route_back_fills_the_need_so_nobody_carries_it_alone(self) -> None:
        """A duty line named in the crisis plan holds route back beside the key worker: no single point."""
        kw = {"id": "kw", "kind": "key_worker", **SOLID}
        plan = {"crisis_plan": {"exists": True, "route_back": "ring the team's duty worker; the crisis line at night"}}
        with_plan = analyse_safety_net(model([kw], person=plan), [NeedRequest("route_back", "ongoing", "x")])
        without = analyse_safety_net(model([kw]), [NeedRequest("route_back", "ongoing", "x")])
        assert with_plan.needs[0].held_in_record == ("crisis_plan",) and with_plan.needs[0].status == "in_place"
        assert "only_one" not in with_plan.needs[0].issues and not with_plan.single_points_of_failure
        assert [s.member for s in without.single_points_of_failure] == ["kw"]  # the same net, no plan: kw alone

    def test_a_route_back_named_with_nobody_on_the_map_is_in_place(self) -> None:
        plan = {"crisis_plan": {"exists": True, "route_back": "NHS 111, mental health option"}}
        need = analyse_safety_net(model(person=plan), [NeedRequest("route_back", "ongoing", "x")]).needs[0]
        assert (need.status, need.filled_by, need.held_in_record) == ("in_place", (), ("crisis_plan",))

    def test_services_the_crisis_plan_names_fill_the_route_back(self) -> None:
        """The GP is a route back when the plan says 'the GP practice', even if a rule asked only for a helpline."""
        plan = {"crisis_plan": {"exists": True, "route_back": "book an urgent GP appointment"}}
        net = analyse_safety_net(
            model([{"id": "gp", "kind": "gp"}], person=plan), [NeedRequest("route_back", "ongoing", "x", ("helpline",))]
        )
        assert net.needs[0].filled_by == ("gp",) and "gp" in net.needs[0].fillable_by

    def test_an_inpatients_ward_is_a_route_back_and_checks_in(self) -> None:
        requests = [NeedRequest("route_back", "during", "x"), NeedRequest("check_in", "after", "x")]
        inpatient = analyse_safety_net(model(person={"legal_context": "s17_leave"}), requests)
        informal = analyse_safety_net(model(person={"legal_context": "informal"}), requests)
        assert all(n.held_in_record == ("ward",) and n.status == "in_place" for n in inpatient.needs)
        assert all(n.status == "missing" for n in informal.needs)

    @pytest.mark.parametrize("kind", ["crisis_team", "helpline", "gp", "prescriber", "responsible_clinician"])
    def test_a_service_is_never_asked_to_agree_to_the_plan(self, kind: str) -> None:
        """A service that has not 'agreed' or is new fills a need by its role, without an issue."""
        member = {"id": "svc", "kind": kind, "steadiness": "new", "known_for_months": 1, "contact": "none"}
        role = "prescribing_oversight" if kind in ("gp", "prescriber", "responsible_clinician") else "route_back"
        need = analyse_safety_net(model([member]), [NeedRequest(role, "ongoing", "x")]).needs[0]
        assert (need.status, need.issues_by_member) == ("in_place", ())

    def test_a_service_the_person_said_not_to_tell_keeps_that_issue(self) -> None:
        refusal = {"advance_statement": {"exists": True, "information_sharing": [{"with": "gp", "allowed": False}]}}
        need = analyse_safety_net(
            model([{"id": "gp", "kind": "gp"}], person=refusal), [NeedRequest("prescribing_oversight", "ongoing", "x")]
        ).needs[0]
        assert need.status == "fragile" and need.issues_by_member[0].issues == ("consent_conflict",)

    @pytest.mark.parametrize("label", ["consultant psychiatrist", "non-medical prescriber", "psychiatrist"])
    def test_whoever_prescribes_fills_prescribing_oversight(self, label: str) -> None:
        member = {"id": "dr", "kind": label}  # outside the vocabulary: kind other, kept as the label
        need = analyse_safety_net(model([member]), [NeedRequest("prescribing_oversight", "ongoing", "x")]).needs[0]
        assert need.filled_by == ("dr",) and need.status == "in_place"

    def test_a_friend_is_not_a_prescriber(self) -> None:
        member = {"id": "pal", "kind": "other", "kind_label": "neighbour's son"}
        need = analyse_safety_net(model([member]), [NeedRequest("prescribing_oversight", "ongoing", "x")]).needs[0]
        assert need.status == "missing"


class TestNeedText:
    """The text names the members who have an issue, and 'only one' follows one name (defect 2)."""

    def test_each_member_is_shown_with_their_own_issues(self) -> None:
        from riskengine.report.text import _need_line

        net = analyse_safety_net(
            model([
                {"id": "jay", "kind": "friend", **SOLID},
                {"id": "mum", "kind": "family", **SOLID, "agreed_to_help": False},
                {"id": "tw", "kind": "community_member", "contact": "less_than_monthly"},
            ]),
            [NeedRequest("alongside", "during", "x")],
        )  # fmt: skip
        line = _need_line(net.needs[0])
        assert line.startswith("- alongside (during): in place; jay (the only one so far); also mum (not agreed)")
        assert "jay (not" not in line and "tw, " not in line and line.count("only one") == 1

    def test_offered_needs_are_not_gaps(self, engines: dict[str, Engine]) -> None:
        """A route back asked for only by the kind of activity is an offer, never a gap to fill first."""
        e = engines["reference"].evaluate(model(proposal={"activity": "drinks_with_friends"}))
        need = next(n for n in e.safety_net.needs if n.role == "route_back")
        ids = {p.id for p in e.prompts}
        assert need.offered and "net.offer.route-back" in ids and "net.gap.route-back" not in ids
        assert all("before going ahead" not in p.to_practitioner for p in e.prompts)
