"""The FHIR R4 mapping (riskengine.fhir): bundles in, resources out, problems located by FHIR path.

Every produced resource is checked with fhir.resources' R4B models (the closest to R4 in 8.x);
the synthetic bundles are in tests/fixtures/fhir/. Goldens there (``*.proposal.json``,
``broken.diagnostics.json``) are rewritten with ``pytest --regen-goldens``.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskengine
from riskengine import fhir

from .paths import EXAMPLES, FIXTURES, SCENARIO_PROPOSALS
from .strategies import proposals
from .test_promises import BANNED, _strings

FHIR = FIXTURES / "fhir"
GOOD = ["england-parkrun", "wales-cto-medication", "scotland-consent-sharing"]
GRADING_KEYS = {"prediction", "probability", "probabilityDecimal", "probabilityRange", "qualitativeRisk",
                "relativeRisk", "priority", "indicator"}  # fmt: skip


def _load(name: str) -> Any:
    return json.loads((FHIR / f"{name}.json").read_text(encoding="utf-8"))


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair and every string in a JSON tree (strings as ("", s))."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, str):
        yield "", node


def _grading_text(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Strings of produced resources that grade, rate, colour or decide. Citations of sources
    (``documentation``) are titles of law and guidance, left out as the rule files' sources are."""
    return [(p, s) for p, s in _strings(resources) if BANNED.search(s) and ".documentation" not in p]


def _golden(request: pytest.FixtureRequest, name: str, actual: str) -> None:
    path = FHIR / name
    if request.config.getoption("--regen-goldens"):
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no golden {name}: run pytest --regen-goldens and review the diff"
    assert actual == path.read_text(encoding="utf-8")


def _as_prefetch(bundle: dict[str, Any]) -> dict[str, Any]:
    """The same resources as a CDS Hooks prefetch: the Patient alone, the rest as searchsets."""
    keys = {"Patient": "patient", "RelatedPerson": "relatedPersons", "CareTeam": "careTeams",
            "Consent": "consents", "CarePlan": "carePlans", "Goal": "goals", "Condition": "conditions",
            "MedicationStatement": "medications", "Medication": "medications", "Flag": "flags",
            "Basic": "flags", "Observation": "observations"}  # fmt: skip
    # a search with no results is an empty searchset; null means "not prefetched"
    prefetch: dict[str, Any] = {key: {"resourceType": "Bundle", "type": "searchset"} for key in fhir.PREFETCH}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        key = keys[resource["resourceType"]]
        if key == "patient":
            prefetch[key] = resource
        else:
            prefetch.setdefault(key, {"resourceType": "Bundle", "type": "searchset"})
            prefetch[key].setdefault("entry", []).append({"fullUrl": entry["fullUrl"], "resource": resource})
    return prefetch


@pytest.fixture(scope="module", params=GOOD)
def case(request: pytest.FixtureRequest, shipped: riskengine.Engine) -> dict[str, Any]:
    """A good bundle, its mapping, evaluation and produced resources."""
    bundle = _load(request.param)
    mapping = fhir.map_bundle(bundle, source=f"{request.param}.json")
    evaluation = shipped.evaluate(mapping.proposal)
    resources = fhir.resources_for(evaluation, mapping.proposal, references=mapping.references)
    return {"name": request.param, "bundle": bundle, "mapping": mapping, "evaluation": evaluation,
            "resources": resources}  # fmt: skip


class TestRoundTrip:
    def test_bundle_maps_to_the_recorded_proposal(
        self, case: dict[str, Any], request: pytest.FixtureRequest
    ) -> None:
        """Each synthetic bundle maps to a valid proposal, pinned as a golden (review its diff)."""
        proposal = case["mapping"].proposal
        text = (
            json.dumps(proposal.model_dump(mode="json", by_alias=True, exclude_defaults=True), indent=2)
            + "\n"
        )
        _golden(request, f"{case['name']}.proposal.json", text)
        assert riskengine.proposal_from_data(json.loads(text)) == proposal

    def test_every_produced_resource_validates_as_r4b(self, case: dict[str, Any]) -> None:
        """Every resource resources_for produces passes fhir.resources' R4B model validation."""
        kinds = [r["resourceType"] for r in case["resources"]]
        assert {"CarePlan", "RequestGroup", "CareTeam", "Provenance"} <= set(kinds)
        for resource in case["resources"]:
            model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            assert model.model_dump(mode="json")["resourceType"] == resource["resourceType"]

    def test_prefetch_maps_like_the_bundle(self, case: dict[str, Any]) -> None:
        """The same resources sent as a CDS Hooks prefetch give the same proposal."""
        prefetch = _as_prefetch(copy.deepcopy(case["bundle"]))
        assert fhir.proposal_from_prefetch(prefetch) == case["mapping"].proposal

    def test_entry_order_does_not_change_the_evaluation(
        self, case: dict[str, Any], shipped: riskengine.Engine
    ) -> None:
        """Shuffled entries give a byte-identical evaluation (the engine's order promise holds through FHIR)."""
        bundle = copy.deepcopy(case["bundle"])
        random.Random(7).shuffle(bundle["entry"])
        shuffled = fhir.proposal_from_bundle(bundle)
        assert shipped.evaluate(shuffled).to_json() == case["evaluation"].to_json()

    def test_resources_are_deterministic(self, case: dict[str, Any]) -> None:
        """Same evaluation, same resources, ids included."""
        again = fhir.resources_for(
            case["evaluation"], case["mapping"].proposal, references=case["mapping"].references
        )
        assert json.dumps(again, sort_keys=True) == json.dumps(case["resources"], sort_keys=True)


class TestWhatIsRead:
    def test_england_network_kinds_ties_and_links(self) -> None:
        """v3 RoleCodes, riskengine codes and exact role phrases give kinds; CareTeam members are linked."""
        mapping = fhir.map_bundle(_load("england-parkrun"))
        p = mapping.proposal
        members = {m.id: m for m in p.network}
        assert {k: m.kind for k, m in members.items()} == {
            "jay": "friend", "mum": "family", "tail-walker": "community_member",
            "kw": "key_worker", "lw": "social_prescriber", "gp": "gp",
        }  # fmt: skip
        assert members["mum"].legal_roles == ("nearest_relative",)
        assert members["jay"].known_for_months == 180  # RelatedPerson.period.start 2011-11 to as_of 2026-11
        assert members["kw"].known_for_months == 14  # CareTeam.participant.period.start
        assert ("kw", "lw") in p.links
        assert mapping.references["lw"] == "Practitioner/lw" and mapping.subject == "Patient/pt-2041"

    def test_england_diagnosis_is_not_read_and_says_so(self) -> None:
        """A diagnosis without a riskengine category is skipped with a located warning, never guessed into tags."""
        mapping = fhir.map_bundle(_load("england-parkrun"))
        assert "schizophrenia" not in json.dumps(mapping.proposal.model_dump(mode="json"))
        assert any(w.field == "Bundle.entry[10].resource.category" for w in mapping.warnings)
        assert any(
            w.field == "Bundle.entry[19].resource" and "Observation" in w.message for w in mapping.warnings
        )

    def test_wales_medication_change_and_legal_context(self, shipped: riskengine.Engine) -> None:
        """The CarePlan activity's product marks the medicine changing; the CTO comes from a Flag."""
        p = fhir.proposal_from_bundle(_load("wales-cto-medication"))
        assert p.jurisdiction == "wales" and p.person.legal_context == "community_treatment_order"
        assert {m.name: m.changing for m in p.person.medication} == {
            "sertraline": True,
            "aripiprazole depot": None,
        }
        knowledge = {k.id for k in shipped.evaluate(p).knowledge}
        assert "medication.nice-antidepressant-taper" in knowledge  # speaks to the medicine that changes

    @pytest.mark.parametrize(
        ("code", "expected"),
        [
            ({"coding": [{"system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-LegalStatusClassificationWales", "code": "35"}]},
             "community_treatment_order"),
            ({"coding": [{"system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-LegalStatusClassificationEngland", "code": "35"}]},
             "guardianship"),
            ({"coding": [{"system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-LegalStatusClassificationEngland", "code": "03"}]},
             "detained"),
            ({"text": "CTO"}, "community_treatment_order"),
            ({"coding": [{"system": f"{fhir.CANONICAL}/CodeSystem/legal-context", "code": "s17_leave"}]}, "s17_leave"),
            ({"text": "risk to others"}, "unknown"),
        ],
    )  # fmt: skip
    def test_legal_context_codes_are_read_by_their_system(self, code: dict[str, Any], expected: str) -> None:
        """The same UK Core code means guardianship in England's list and a CTO in Wales's; other flags are not read."""
        bundle = _load("wales-cto-medication")
        flag = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Flag")
        flag["code"] = code
        mapping = fhir.map_bundle(bundle)
        assert mapping.proposal.person.legal_context == expected
        assert (expected == "unknown") == any(
            w.field.endswith("resource.code") and w.code == "not-read" for w in mapping.warnings
        )

    def test_scotland_consent_rules_reach_the_safety_net(self, shipped: riskengine.Engine) -> None:
        """Consent provisions become the person's sharing rules, and a plan step against one is surfaced."""
        p = fhir.proposal_from_bundle(_load("scotland-consent-sharing"))
        statement = p.person.advance_statement
        assert statement is not None and statement.exists is True
        assert [(r.with_, r.allowed, r.note) for r in statement.information_sharing] == [
            ("mum", False, "not about my medication or the hospital stay"),
            ("aisha", True, None),
        ]
        conflicts = shipped.evaluate(p).safety_net.consent_conflicts
        assert [c.member for c in conflicts] == ["mum"]

    def test_names_and_nhs_numbers_never_travel(self, case: dict[str, Any]) -> None:
        """The Patient's name and NHS number are in the bundle but in neither the proposal nor the resources."""
        out = case["mapping"].proposal.model_dump_json() + json.dumps(case["resources"])
        assert "9990000000" in json.dumps(case["bundle"]) and "Synthetic" in json.dumps(case["bundle"])
        assert "9990000000" not in out and "Synthetic" not in out
        assert case["mapping"].proposal.person.ref.startswith("P-")  # type: ignore[union-attr]


class TestValidationCache:
    def test_a_resource_changed_after_passing_is_checked_again(self) -> None:
        """The cache of resources that passed is keyed by content: an edit to a passed resource is
        still caught, and a bad resource fails every time."""
        from riskengine.fhir import read

        bundle = _load("england-parkrun")
        fhir.map_bundle(bundle)
        assert read._valid  # the good resources were remembered (as digests)
        assert all(isinstance(k, bytes) and len(k) == 16 for k in read._valid)
        bundle["entry"][1]["resource"]["active"] = "sometimes"
        for _ in range(2):
            with pytest.raises(riskengine.InputError) as caught:
                fhir.map_bundle(bundle)
            assert "Bundle.entry[1].resource.active" in {d.field for d in caught.value.diagnostics}

    def test_the_cache_is_bounded(self) -> None:
        from riskengine.fhir import read

        for n in range(read.VALID_CACHE_SIZE + 50):
            read.validate("Flag", {"resourceType": "Flag", "id": f"f{n}", "status": "active", "code": {"text": "x"},
                                   "subject": {"reference": "Patient/p"}}, "Flag", read.Problems("<t>"))  # fmt: skip
        assert len(read._valid) == read.VALID_CACHE_SIZE


class TestJurisdiction:
    def _bundle_with_country(self, country: str) -> dict[str, Any]:
        bundle = _load("england-parkrun")
        bundle["entry"][0]["resource"]["address"][0]["country"] = country
        return bundle

    def test_configured_jurisdiction_wins_and_a_difference_is_a_warning(self) -> None:
        mapping = fhir.map_bundle(self._bundle_with_country("GB-WLS"), jurisdiction="england")
        assert mapping.proposal.jurisdiction == "england"
        assert [
            w.code for w in mapping.warnings if w.field == "Bundle.entry[0].resource.address[0].country"
        ] == ["jurisdiction-differs"]

    def test_an_address_of_the_uk_only_needs_configuration(self) -> None:
        with pytest.raises(riskengine.InputError) as caught:
            fhir.map_bundle(self._bundle_with_country("GB"))
        assert [d.code for d in caught.value.diagnostics if d.severity == "error"] == ["no-jurisdiction"]
        assert (
            fhir.map_bundle(self._bundle_with_country("GB"), jurisdiction="wales").proposal.jurisdiction
            == "wales"
        )


class TestLocatedProblems:
    def test_broken_bundle_lists_every_problem_by_fhir_path(self, request: pytest.FixtureRequest) -> None:
        """One InputError carries all the problems, each at its FHIR path; pinned as a golden."""
        with pytest.raises(riskengine.InputError) as caught:
            fhir.map_bundle(_load("broken"), source="broken.json")
        found = [d.to_dict() for d in caught.value.diagnostics]
        _golden(request, "broken.diagnostics.json", json.dumps(found, indent=2) + "\n")
        errors = {(d["field"], d["code"]) for d in found if d["severity"] == "error"}
        assert {
            ("Bundle.entry[1].resource.relationshp", "invalid-fhir"),
            ("Bundle.entry[2].resource.active", "invalid-fhir"),
            (
                "Bundle.entry[4].resource.participant[0].extension[0].extension[0].valueInteger",
                "invalid-value",
            ),
            ("Bundle.entry[5].resource.subject.reference", "other-person"),
            ("Bundle.entry[6].resource.provision.actor[0].reference", "unknown-member"),
            ("Bundle.entry[8].resource.activity[0].detail.code.coding[0].code", "unknown-value"),
            ("Bundle.entry[0].resource.address", "no-jurisdiction"),
        } <= errors
        hint = next(d for d in found if d["field"].endswith("detail.code.coding[0].code"))
        assert "did you mean 'parkrun'" in hint["message"]

    def test_two_patients_are_refused(self) -> None:
        """A bundle about two people is an error (a mixed-up person is a listed hazard)."""
        bundle = _load("england-parkrun")
        other = copy.deepcopy(bundle["entry"][0])
        other["resource"]["id"], other["fullUrl"] = "pt-other", "urn:uuid:patient-other"
        bundle["entry"].append(other)
        with pytest.raises(riskengine.InputError) as caught:
            fhir.map_bundle(bundle)
        assert {d.code for d in caught.value.diagnostics if d.severity == "error"} == {"two-people"}

    def test_missing_prefetch_keys_are_warnings_not_errors(self) -> None:
        """An absent prefetch key says what was not prefetched; the proposal is still built."""
        prefetch = _as_prefetch(_load("england-parkrun"))
        prefetch["relatedPersons"] = None
        del prefetch["flags"]
        mapping = fhir.map_prefetch(prefetch)
        missing = {w.field for w in mapping.warnings if w.code == "not-prefetched"}
        assert missing == {"prefetch.relatedPersons", "prefetch.flags"}
        assert "jay" not in {m.id for m in mapping.proposal.network}

    def test_problems_in_a_prefetch_are_located_by_prefetch_key(self) -> None:
        """In a CDS Hooks prefetch the path starts at the key: prefetch.relatedPersons.entry[0]...."""
        prefetch = _as_prefetch(_load("england-parkrun"))
        prefetch["relatedPersons"]["entry"][0]["resource"]["active"] = "sometimes"
        prefetch["carePlans"]["entry"][0]["resource"]["activity"][0]["detail"]["code"]["coding"][0][
            "code"
        ] = "parkrn"
        with pytest.raises(riskengine.InputError) as caught:
            fhir.map_prefetch(prefetch)
        assert {d.field for d in caught.value.diagnostics if d.severity == "error"} == {
            "prefetch.relatedPersons.entry[0].resource.active",
            "prefetch.carePlans.entry[0].resource.activity[0].detail.code.coding[0].code",
        }

    def test_a_resource_nested_too_deeply_is_one_located_error(self) -> None:
        """Thousands of nested Consent provisions: a located error in bounded time, not a crash."""
        bundle = _load("scotland-consent-sharing")
        consent = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Consent")
        node: dict[str, Any] = {"type": "deny"}
        for _ in range(5000):
            node = {"type": "permit", "provision": [node]}
        consent["provision"] = node
        with pytest.raises(riskengine.InputError) as caught:
            fhir.map_bundle(bundle)
        assert [(d.field, d.code) for d in caught.value.diagnostics if d.severity == "error"] == [
            ("Bundle.entry[5].resource", "too-deep")
        ]

    def test_no_careplan_is_one_located_error(self) -> None:
        bundle = _load("england-parkrun")
        bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "CarePlan"]
        with pytest.raises(riskengine.InputError) as caught:
            fhir.map_bundle(bundle)
        assert {d.code for d in caught.value.diagnostics if d.severity == "error"} == {
            "no-proposal",
            "no-date",
        }


class TestNoGrades:
    def test_no_risk_assessment_and_no_grading_element(self, case: dict[str, Any]) -> None:
        """Never a RiskAssessment, never prediction, probability, qualitativeRisk or priority."""
        assert all(r["resourceType"] != "RiskAssessment" for r in case["resources"])
        keys = {key for key, _ in _walk(case["resources"]) if key}
        assert not keys & GRADING_KEYS

    def test_no_grading_words_in_what_is_produced(self, case: dict[str, Any]) -> None:
        """No string of the produced resources scores, rates, colours or decides."""
        hits = [
            s for key, s in _walk(case["resources"]) if not key and isinstance(s, str) and BANNED.search(s)
        ]
        assert not hits

    def test_the_scan_would_catch_a_risk_assessment(self) -> None:
        """The checks above fail on what they forbid."""
        bad = [{"resourceType": "RiskAssessment", "prediction": [{"qualitativeRisk": {"text": "high risk"}}]}]
        assert {key for key, _ in _walk(bad)} & GRADING_KEYS
        assert _grading_text(bad)


class TestProvenance:
    def test_each_resource_has_one_provenance_naming_rules_and_ruleset_hashes(
        self, case: dict[str, Any]
    ) -> None:
        resources = case["resources"]
        evaluation: riskengine.Evaluation = case["evaluation"]
        made = {f"{r['resourceType']}/{r['id']}" for r in resources if r["resourceType"] != "Provenance"}
        provenances = [r for r in resources if r["resourceType"] == "Provenance"]
        targets = [t["reference"] for p in provenances for t in p["target"]]
        assert sorted(targets) == sorted(made)
        hashes = {f"{r.id}@{r.version}": r.sha256 for r in evaluation.provenance.rulesets}
        careplan = next(r for r in resources if r["resourceType"] == "CarePlan")
        prov = next(p for p in provenances if p["target"][0]["reference"] == f"CarePlan/{careplan['id']}")
        rules = {
            e["what"]["identifier"]["value"]
            for e in prov["entity"]
            if e["what"]["identifier"]["system"] == fhir.NS.RULE
        }
        assert rules == {m.id for m in evaluation.mitigations}
        for entity in prov["entity"]:
            if entity["what"]["identifier"]["system"] == fhir.NS.RULESET:
                ruleset = entity["what"]["identifier"]["value"]
                assert entity["what"]["extension"][0]["valueString"] == hashes[ruleset]


class TestWhatIsProduced:
    def test_careplan_carries_mitigations_and_the_review(self, case: dict[str, Any]) -> None:
        evaluation: riskengine.Evaluation = case["evaluation"]
        proposal: riskengine.Proposal = case["mapping"].proposal
        careplan = next(r for r in case["resources"] if r["resourceType"] == "CarePlan")
        assert (careplan["status"], careplan["intent"]) == ("draft", "proposal")
        parts = [a["detail"]["code"]["coding"][-1]["code"] for a in careplan["activity"]]
        assert parts.count("mitigation") == len(evaluation.mitigations) + len(proposal.plan.mitigations)
        review = [
            a["detail"] for a in careplan["activity"] if a["detail"]["code"]["coding"][-1]["code"] == "review"
        ]
        assert review[0]["scheduledPeriod"]["start"] == evaluation.review.on.isoformat()  # type: ignore[union-attr]

    def test_goals_are_the_persons_hoped_for_benefits(self, case: dict[str, Any]) -> None:
        evaluation: riskengine.Evaluation = case["evaluation"]
        goals = [r for r in case["resources"] if r["resourceType"] == "Goal"]
        benefits = [
            g["description"]["text"]
            for g in goals
            if g["category"][0]["coding"][0]["code"] == "hoped-for-benefit"
        ]
        assert sorted(benefits) == sorted(b.text for b in evaluation.benefits if b.from_ == "person")

    def test_careteam_shows_every_need_with_who_fills_it(self, case: dict[str, Any]) -> None:
        evaluation: riskengine.Evaluation = case["evaluation"]
        team = next(r for r in case["resources"] if r["resourceType"] == "CareTeam")
        roles = [p["role"][0]["coding"][0]["code"] for p in team.get("participant", [])]
        assert set(roles) == {n.role for n in evaluation.safety_net.needs}
        expected = sum(max(len(n.filled_by), 1) for n in evaluation.safety_net.needs)
        assert len(roles) == expected

    def test_request_group_holds_every_prompt_in_two_voices(self, case: dict[str, Any]) -> None:
        evaluation: riskengine.Evaluation = case["evaluation"]
        group = next(r for r in case["resources"] if r["resourceType"] == "RequestGroup")
        actions = [a for stage in group["action"] for a in stage.get("action", [])]
        prompts = {
            a["code"][1]["coding"][0]["code"]: a
            for a in actions
            if a["code"][0]["coding"][0]["code"] == "prompt"
        }
        assert set(prompts) == {p.id for p in evaluation.prompts}
        first = evaluation.prompts[0]
        assert prompts[first.id]["textEquivalent"] == " ".join(first.to_person.split())


# ---- proposal -> bundle -> proposal ------------------------------------------------------

PROPOSAL_FILES = (
    sorted(SCENARIO_PROPOSALS.glob("*.yaml"))
    + sorted(p for p in (FIXTURES / "activities").rglob("*.yaml") if not p.name.endswith(".expect.yaml"))
    + sorted(EXAMPLES.glob("*.yaml"))
)


def _normal(p: riskengine.Proposal, ref: str | None) -> dict[str, Any]:
    """A proposal as data with the network and links in one order (FHIR keeps no member order)."""
    data = p.model_dump(mode="json", by_alias=True)
    data["network"] = sorted(data["network"], key=lambda m: m["id"])
    data["links"] = sorted(sorted(pair) for pair in data["links"])
    data["person"]["ref"] = ref if ref is not None else data["person"]["ref"]
    return data


def _round_trip(p: riskengine.Proposal) -> riskengine.Proposal:
    bundle = fhir.bundle_for(p)
    for entry in bundle["entry"]:
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    mapping = fhir.map_bundle(bundle)
    assert not [w for w in mapping.warnings if w.code != "not-read"], mapping.warnings
    return mapping.proposal


@pytest.mark.parametrize("path", PROPOSAL_FILES, ids=lambda p: p.name)
def test_every_proposal_survives_fhir_and_evaluates_the_same(path: Any, shipped: riskengine.Engine) -> None:
    """Each scenario, fixture and contract example → bundle_for (valid R4B) → map_bundle: the same
    proposal (network order aside) and a byte-identical evaluation. The mapping loses nothing."""
    original = riskengine.load_proposal(path)
    back = _round_trip(original)
    ref = back.person.ref if original.person.ref is None else None  # no ref in: a pseudonym out
    assert _normal(back, None) == _normal(original, ref)
    assert shipped.evaluate(back).to_json() == shipped.evaluate(original).to_json()


@pytest.mark.parametrize("path", PROPOSAL_FILES, ids=lambda p: p.name)
def test_resources_for_every_proposal_are_valid_and_never_grade(
    path: Any, shipped: riskengine.Engine
) -> None:
    """Straight from a YAML proposal (no FHIR references known): every resource valid R4B, members
    named by id, no RiskAssessment, no grading element or word."""
    proposal = riskengine.load_proposal(path)
    resources = fhir.resources_for(shipped.evaluate(proposal), proposal)
    for resource in resources:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    assert all(r["resourceType"] != "RiskAssessment" for r in resources)
    assert not {key for key, _ in _walk(resources) if key} & GRADING_KEYS
    assert not _grading_text(resources)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(proposals())
def test_generated_proposals_survive_fhir(doc: dict[str, Any]) -> None:
    """Random valid proposals, sparse or full, come back from FHIR as they went in."""
    original = riskengine.proposal_from_data(doc)
    back = _round_trip(original)
    ref = back.person.ref if original.person.ref is None else None
    assert _normal(back, None) == _normal(original, ref)


# ---- junk in, only InputError out --------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25,
)
TYPES = st.sampled_from(["Patient", "RelatedPerson", "CareTeam", "Consent", "Goal", "CarePlan", "Condition",
                         "MedicationStatement", "Flag", "Basic", "Bundle", "Nonsense"])  # fmt: skip
ELEMENTS = st.sampled_from(["id", "status", "subject", "patient", "relationship", "participant", "provision",
                            "activity", "extension", "category", "code", "address", "goal", "period"])  # fmt: skip
RESOURCE = st.builds(
    lambda t, body: {**body, "resourceType": t}, TYPES, st.dictionaries(ELEMENTS, JSON, max_size=5)
)


def _only_input_errors(call: Any) -> None:
    try:
        call()
    except riskengine.InputError as exc:
        assert exc.diagnostics
        assert all(isinstance(d.field, str) for d in exc.diagnostics)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_junk_json_never_raises_anything_but_input_error(junk: Any) -> None:
    """Arbitrary JSON as a bundle or a prefetch: a proposal or an InputError, never another exception."""
    _only_input_errors(lambda: fhir.map_bundle(junk))
    _only_input_errors(lambda: fhir.map_prefetch(junk))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RESOURCE, max_size=6), st.sampled_from([None, "england"]))
def test_junk_resources_in_a_bundle_never_raise_anything_but_input_error(
    resources: list[Any], where: str | None
) -> None:
    """Resources with FHIR-like elements holding junk reach validation and mapping; still only InputError."""
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    _only_input_errors(lambda: fhir.map_bundle(bundle, jurisdiction=where))
    prefetch = {"patient": resources[0] if resources else None, "carePlans": bundle}
    _only_input_errors(lambda: fhir.map_prefetch(prefetch, jurisdiction=where))


def test_docs_name_every_riskengine_code_system_and_extension() -> None:
    """docs/fhir.md lists every CodeSystem and extension the mapping reads or writes (no silent drift)."""
    from .paths import ROOT

    text = (ROOT / "docs" / "fhir.md").read_text(encoding="utf-8")
    for holder in (fhir.CS, fhir.EXT):
        for name, url in vars(holder).items():
            if name.isupper():
                assert f"`{url.rsplit('/', 1)[-1]}`" in text, url


def test_the_docs_python_example_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example at the top of docs/fhir.md runs as written and yields valid resources."""
    import re

    from .paths import ROOT

    text = (ROOT / "docs" / "fhir.md").read_text(encoding="utf-8")
    example = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert example is not None
    monkeypatch.chdir(ROOT)
    scope: dict[str, Any] = {}
    exec(compile(example.group(1), "docs/fhir.md", "exec"), scope)
    assert scope["resources"] and scope["mapping"].proposal.proposal.activity == "parkrun"
    assert "Observation is not part of the mapping" in capsys.readouterr().out


def test_prefetch_templates_ask_only_for_what_the_mapping_reads() -> None:
    """Each prefetch template is scoped to the patient in context and names a resource type the mapping reads."""
    from riskengine.fhir.inbound import READ_TYPES

    for key, template in fhir.PREFETCH.items():
        assert "{{context.patientId}}" in template, key
        assert template.split("?")[0].split("/")[0] in READ_TYPES, key


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a node in a JSON tree (the root excluded)."""
    found: list[tuple[Any, ...]] = [here] if here else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*here, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*here, i))
    return found


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(GOOD), st.lists(st.tuples(st.integers(min_value=0), JSON), min_size=1, max_size=3))
def test_mutated_bundles_never_raise_anything_but_input_error(
    name: str, mutations: list[tuple[int, Any]]
) -> None:
    """A real bundle with a few nodes replaced by junk reaches deep into the mapping; still only InputError."""
    bundle = _load(name)
    for pick, junk in mutations:
        paths = _paths(bundle)
        _replace(bundle, paths[pick % len(paths)], junk)
    _only_input_errors(lambda: fhir.map_bundle(bundle))


class TestCommands:
    def _run(self, *argv: str) -> tuple[int, str, str]:
        import io

        from riskengine.cli import main

        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    def test_read_prints_the_proposal_and_warnings_by_fhir_path(self) -> None:
        code, out, err = self._run(
            "fhir", "read", str(FHIR / "wales-cto-medication.json"), "--format", "json"
        )
        assert code == 0
        assert riskengine.proposal_from_data(json.loads(out)) == fhir.proposal_from_bundle(
            _load("wales-cto-medication")
        )
        assert "Bundle.entry[8].resource.status" in err

    def test_read_of_a_broken_bundle_exits_2_with_every_problem(self) -> None:
        code, out, err = self._run("fhir", "read", str(FHIR / "broken.json"))
        assert (code, out) == (2, "")
        assert err.count("error[") == 10 and "did you mean 'parkrun'" in err

    def test_a_whole_cds_hooks_request_is_read_with_prefetch(self, tmp_path: Any) -> None:
        request = {"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
                   "context": {"userId": "Practitioner/kw", "patientId": "pt-2041"},
                   "prefetch": _as_prefetch(_load("england-parkrun"))}  # fmt: skip
        path = tmp_path / "hook.json"
        path.write_text(json.dumps(request), encoding="utf-8")
        code, out, _ = self._run("fhir", "read", str(path), "--prefetch", "--format", "json")
        assert code == 0 and json.loads(out)["proposal"]["activity"] == "parkrun"

    def test_resources_prints_a_bundle_of_valid_resources(self) -> None:
        code, out, _ = self._run("fhir", "resources", str(FHIR / "scotland-consent-sharing.json"))
        assert code == 0
        bundle = json.loads(out)
        get_fhir_model_class("Bundle").model_validate(bundle)
        assert {e["resource"]["resourceType"] for e in bundle["entry"]} >= {
            "CarePlan",
            "CareTeam",
            "Provenance",
        }

    def test_bundle_then_read_gives_the_proposal_back(self, tmp_path: Any) -> None:
        source = SCENARIO_PROPOSALS / "clay-shooting-certificate.yaml"
        code, out, _ = self._run("fhir", "bundle", str(source))
        assert code == 0
        path = tmp_path / "bundle.json"
        path.write_text(out, encoding="utf-8")
        code, out, _ = self._run("fhir", "read", str(path), "--format", "json")
        assert code == 0
        back = riskengine.proposal_from_data(json.loads(out))
        assert _normal(back, None) == _normal(riskengine.load_proposal(source), None)

    def test_the_cli_does_not_load_fhir_models_until_asked(self) -> None:
        """Building the command line imports neither fhir.resources nor the mapping (cold start stays light)."""
        import subprocess
        import sys

        code = ("import sys, riskengine.cli as c; c._parser(); "
                "print(any(m.startswith(('fhir', 'riskengine.fhir.inbound')) for m in sys.modules))")  # fmt: skip
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert result.stdout.strip() == "False"
