"""FHIR R4 resources → a proposal (contract v1), every problem located by FHIR path.

The mapping table is ``docs/fhir.md``. Names, dates of birth, identifiers (NHS numbers) and
displays of references are never read: the proposal is pseudonymous.

May import ``riskengine`` public names and this package's modules.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import riskengine

from . import _core
from .codes import (
    CONSENT_SCOPE,
    CS,
    EXT,
    KIND_SYNONYMS,
    LEGAL_CONTEXT_SYNONYMS,
    NS,
    UKCORE_LEGAL_STATUS,
    V3_ROLE_CODE,
    V3_ROLE_KINDS,
)
from .read import Problems, Resource, at, iter_dicts, key_of, validate
from .values import (
    coded,
    date_of,
    extensions,
    months_between,
    reference_of,
    start_of,
    sub_value,
    text_of,
    value_of,
)

__all__ = ["FhirMapping", "map_resources"]

READ_TYPES = frozenset(
    {"Patient", "RelatedPerson", "CareTeam", "Consent", "Goal", "CarePlan", "Condition",
     "MedicationStatement", "Medication", "Flag", "Basic"}
)  # fmt: skip
QUIET_TYPES = frozenset({"OperationOutcome", "Practitioner", "PractitionerRole", "Organization"})
JURISDICTION_NAMES = {
    "gb-eng": "england", "england": "england",
    "gb-wls": "wales", "wales": "wales", "cymru": "wales",
    "gb-sct": "scotland", "scotland": "scotland",
    "gb-nir": "northern_ireland", "northern ireland": "northern_ireland",
}  # fmt: skip
AUTHOR_INITIATOR = {"Patient": "person", "RelatedPerson": "family"}
ASSERTER_RAISED_BY = {"Patient": "person", "RelatedPerson": "family", "Practitioner": "practitioner",
                      "PractitionerRole": "practitioner"}  # fmt: skip
TAKEN_STATUSES = frozenset({"active", "intended", "on-hold"})
# (extension, proposal field, value kind) read from the draft CarePlan, one value each
SCALAR_EXTENSIONS = (
    (EXT.WHAT_MATTERS, "person.what_matters", "string"),
    (EXT.RECENT_CRISIS_DAYS, "person.recent_crisis_days", "integer"),
    (EXT.DECISION_ROLE, "person.preferred_decision_role", "code"),
    (EXT.CAPACITY, "person.capacity.status", "code"),
    (EXT.CAPACITY_NOTE, "person.capacity.note", "string"),
    (EXT.ADVANCE_STATEMENT, "person.advance_statement.exists", "boolean"),
    (EXT.INITIATED_BY, "proposal.initiated_by", "code"),
    (EXT.CONCERNS_ASKED, "proposal.concerns_asked", "boolean"),
    (EXT.PERSON_VIEW_RECORDED, "decision_process.person_view_recorded", "boolean"),
    (EXT.SUCCESS_LOOKS_LIKE, "plan.success_looks_like", "string"),
)
# (extension, proposal field) of strings, repeating
REPEATING_EXTENSIONS = (
    (EXT.STRENGTH, "person.strengths"),
    (EXT.INTEREST, "person.interests"),
    (EXT.EARLY_WARNING_SIGN, "person.early_warning_signs"),
    (EXT.OPTION_CONSIDERED, "proposal.options_considered"),
)
UNIT_REPEATS = {"d": "daily", "wk": "weekly", "mo": "monthly", "a": "yearly"}
_ID_SAFE = re.compile(r"[^A-Za-z0-9.\-_]")


@dataclass(frozen=True)
class FhirMapping:
    """A proposal read from FHIR, with what was skipped and how members map back to FHIR.

    ``references`` maps ``person`` and each network id to the FHIR reference it came from
    (``RelatedPerson/sam``), for :func:`riskengine.fhir.resources_for`; ``subject`` is the
    Patient reference, if there was a Patient.
    """

    proposal: riskengine.Proposal
    warnings: tuple[riskengine.Diagnostic, ...]
    references: Mapping[str, str]
    subject: str | None


class _Mapper:
    """One reading of one set of resources. Short-lived: build, map, throw away."""

    def __init__(self, resources: list[Resource], problems: Problems) -> None:
        self.problems = problems
        self.data: dict[str, Any] = {"schema_version": 1}
        self.origins: dict[str, str] = {}
        self.by_key: dict[str, Resource] = {}
        self.by_type: dict[str, list[Resource]] = {}
        self.members: dict[str, dict[str, Any]] = {}
        self.member_of: dict[str, str] = {}  # Type/id → member id
        self.references: dict[str, str] = {}
        self.links: set[tuple[str, str]] = set()
        self.knows: list[tuple[dict[str, Any], str, Mapping[str, Any]]] = []  # member, where, Reference
        self.patient: Resource | None = None
        self.careplan: Resource | None = None
        self.as_of: dt.date | None = None
        self._index(resources)

    # ---- bookkeeping -------------------------------------------------------------------

    def origin(self, proposal_field: str, fhir_path: str) -> None:
        """Remember where a proposal field came from, to locate its validation errors."""
        self.origins.setdefault(proposal_field, fhir_path)

    def _index(self, resources: list[Resource]) -> None:
        for r in resources:
            if r.type not in READ_TYPES:
                if r.type not in QUIET_TYPES:
                    self.problems.warn(r.path, "not-read", f"{r.type} is not part of the mapping; skipped")
                continue
            keys = [k for k in (r.key, r.full_url) if k]
            if any(k in self.by_key for k in keys):
                self.problems.warn(
                    r.path, "duplicate-resource", f"{r.key or r.full_url} appears twice; the first is read"
                )
                continue
            if not validate(r.type, r.data, r.path, self.problems):
                continue
            for k in keys:
                self.by_key[k] = r
            self.by_type.setdefault(r.type, []).append(r)

    def resolve(self, reference: str | None) -> Resource | None:
        """The resource a reference names, if it is in the input."""
        if reference is None:
            return None
        return self.by_key.get(reference) or self.by_key.get(key_of(reference))

    def of_type(self, name: str) -> list[Resource]:
        """The valid resources of one type, in input order."""
        return self.by_type.get(name, [])

    # ---- the patient, the plan, the date -----------------------------------------------

    def pick_patient(self, jurisdiction: str | None) -> None:
        patients = self.of_type("Patient")
        for extra in patients[1:]:
            self.problems.error(
                extra.path, "two-people", "more than one Patient: a proposal is about one person"
            )
        if patients:
            self.patient = patients[0]
            given = _identifier(self.patient.data, NS.PERSON_PSEUDONYM)
            if given:
                self.data["person"] = {"ref": given[1]}
                self.origin("person.ref", self.patient.at("identifier", given[0], "value"))
            else:
                ident = self.patient.id or self.patient.full_url or self.patient.path
                pseudonym = hashlib.sha256(f"riskengine.fhir:{ident}".encode()).hexdigest()[:12]
                self.data["person"] = {"ref": f"P-{pseudonym}"}
                self.origin("person.ref", self.patient.at("id"))
            self.references["person"] = self.patient.key or self.patient.full_url or ""
        self.data["jurisdiction"] = self._jurisdiction(jurisdiction)

    def _jurisdiction(self, configured: str | None) -> str | None:
        from_address = self._address_jurisdiction()
        if configured is not None:
            if from_address and from_address[1] != configured:
                self.problems.warn(
                    from_address[0], "jurisdiction-differs",
                    f"the address says {from_address[1]}; the configured jurisdiction {configured} is used",
                )  # fmt: skip
            return configured
        if from_address:
            self.origin("jurisdiction", from_address[0])
            return from_address[1]
        where = self.patient.at("address") if self.patient else "Patient"
        self.problems.error(
            where, "no-jurisdiction",
            "no address names a UK nation (country GB-ENG, GB-WLS, GB-SCT or GB-NIR) and no jurisdiction is configured",
        )  # fmt: skip
        return None

    def _address_jurisdiction(self) -> tuple[str, str] | None:
        if self.patient is None:
            return None
        addresses = list(iter_dicts(self.patient.data.get("address")))
        addresses.sort(key=lambda ia: 0 if ia[1].get("use") == "home" else 1)
        for i, address in addresses:
            for name in ("country", "state"):
                value = address.get(name)
                found = JURISDICTION_NAMES.get(value.strip().lower()) if isinstance(value, str) else None
                if found:
                    return self.patient.at("address", i, name), found
        return None

    def pick_careplan(self) -> None:
        plans = self.of_type("CarePlan")
        tagged = [p for p in plans if self._is_decision_plan(p)]
        drafts = [p for p in tagged if p.data.get("status") == "draft"] or tagged
        if not drafts:
            self.problems.error(
                "CarePlan", "no-proposal",
                "no draft CarePlan with a riskengine activity code or the positive-risk-taking category: "
                "nothing says what the person wants to do",
            )  # fmt: skip
            return
        for extra in drafts[1:]:
            self.problems.error(
                extra.path, "two-proposals", "more than one draft CarePlan describes a decision; send one"
            )
        self.careplan = drafts[0]
        for other in plans:
            if other is not self.careplan:
                self.problems.warn(
                    other.path, "not-read", "a CarePlan other than the draft decision; skipped"
                )

    def _is_decision_plan(self, plan: Resource) -> bool:
        for _, category in iter_dicts(plan.data.get("category")):
            if any(code == "positive-risk-taking" for _, code in coded(category, CS.CATEGORY, "")):
                return True
        return any(
            list(coded(activity.get("detail", {}).get("code"), CS.ACTIVITY, ""))
            for _, activity in iter_dicts(plan.data.get("activity"))
        )

    def pick_date_and_id(self, as_of: dt.date | None, proposal_id: str | None) -> None:
        plan = self.careplan
        if as_of is None and plan is not None:
            as_of = date_of(plan.data.get("created"))
            if as_of:
                self.origin("as_of", plan.at("created"))
        if as_of is None:
            where = plan.at("created") if plan else "CarePlan.created"
            self.problems.error(where, "no-date", "no as_of given and the draft CarePlan has no created date")
        self.as_of = as_of
        self.data["as_of"] = as_of.isoformat() if as_of else None
        if proposal_id is None and plan is not None:
            for i, ident in iter_dicts(plan.data.get("identifier")):
                if ident.get("system") == NS.PROPOSAL and isinstance(ident.get("value"), str):
                    proposal_id = ident["value"]
                    self.origin("id", plan.at("identifier", i, "value"))
                    break
        if proposal_id is None and plan is not None:
            proposal_id = (
                plan.id or "fhir-" + hashlib.sha256(repr(sorted(plan.data.items())).encode()).hexdigest()[:12]
            )
            self.origin("id", plan.at("id"))
        self.data["id"] = proposal_id or "fhir-proposal"

    def check_subjects(self) -> None:
        """Every resource read must be about the one Patient (a mixed-up person is a hazard)."""
        if self.patient is None:
            return
        mine = {k for k in (self.patient.key, self.patient.full_url) if k}
        for resources in self.by_type.values():
            for r in resources:
                for name in ("subject", "patient"):
                    ref = reference_of(r.data.get(name))
                    if ref and ref not in mine and key_of(ref) not in mine:
                        self.problems.error(
                            r.at(name, "reference"), "other-person",
                            f"refers to {key_of(ref)}, not to the Patient of this proposal",
                        )  # fmt: skip

    # ---- the person ----------------------------------------------------------------------

    def person(self) -> dict[str, Any]:
        person: dict[str, Any] = self.data.setdefault("person", {})
        return person

    def legal_context(self) -> None:
        found: list[tuple[str, str]] = []
        for r in [*self.of_type("Flag"), *self.of_type("Basic")]:
            if r.type == "Flag" and r.data.get("status") != "active":
                self.problems.warn(r.at("status"), "not-read", "Flag is not active; skipped")
                continue
            hit = self._legal_code(r)
            if hit:
                found.append(hit)
            elif r.type == "Flag":
                self.problems.warn(
                    r.at("code"),
                    "not-read",
                    "a Flag that is not a legal context; riskengine reads no other flags",
                )
            else:
                self.problems.warn(
                    r.at("code"), "not-read", "a Basic resource that is not a legal context; skipped"
                )
        contexts = {code for _, code in found}
        if len(contexts) > 1:
            for where, code in found:
                self.problems.error(
                    where, "two-legal-contexts", f"legal context '{code}' conflicts with another one recorded"
                )
        elif found:
            self.person()["legal_context"] = found[0][1]
            self.origin("person.legal_context", found[0][0])

    def _legal_code(self, r: Resource) -> tuple[str, str] | None:
        for where, code in coded(r.data.get("code"), CS.LEGAL_CONTEXT, r.at("code")):
            return where, code
        for system, table in UKCORE_LEGAL_STATUS.items():
            for where, code in coded(r.data.get("code"), system, r.at("code")):
                if code in table:
                    return where, table[code]
        text = text_of(r.data.get("code"))
        if text and text.lower() in LEGAL_CONTEXT_SYNONYMS:
            return r.at("code"), LEGAL_CONTEXT_SYNONYMS[text.lower()]
        return None

    def medication(self) -> None:
        changing = self._changing_products()
        meds: list[dict[str, Any]] = []
        for r in self.of_type("MedicationStatement"):
            status = r.data.get("status")
            if status not in TAKEN_STATUSES:
                self.problems.warn(
                    r.at("status"),
                    "not-read",
                    f"medication with status '{status}' is not being taken; skipped",
                )
                continue
            name, where = self._medicine_name(r)
            if name is None:
                self.problems.warn(where, "no-name", "medication has no text or display to name it; skipped")
                continue
            med: dict[str, Any] = {"name": name}
            n = len(meds)
            self.origin(f"person.medication[{n}].name", where)
            for ext_at, ext in extensions(r.data, EXT.MEDICATION_CLASS, r.path):
                med["class"] = value_of(ext, "code", ext_at, self.problems)
                self.origin(f"person.medication[{n}].class", ext_at)
            for ext_at, ext in extensions(r.data, EXT.MEDICATION_CHANGING, r.path):
                med["changing"] = value_of(ext, "boolean", ext_at, self.problems)
                self.origin(f"person.medication[{n}].changing", ext_at)
            if name.lower() in changing and "changing" not in med:
                med["changing"] = True
            meds.append(med)
        if meds:
            self.person()["medication"] = meds

    def _medicine_name(self, r: Resource) -> tuple[str | None, str]:
        concept = r.data.get("medicationCodeableConcept")
        if concept is not None:
            return text_of(concept), r.at("medicationCodeableConcept")
        ref = reference_of(r.data.get("medicationReference"))
        medication = self.resolve(ref)
        if medication is not None and medication.type == "Medication":
            return text_of(medication.data.get("code")), medication.at("code")
        return None, r.at("medicationReference")

    def _changing_products(self) -> set[str]:
        """Names of the medicines the draft plan's activities would change."""
        names: set[str] = set()
        if self.careplan is None:
            return names
        for _, activity in iter_dicts(self.careplan.data.get("activity")):
            detail = activity.get("detail")
            if isinstance(detail, Mapping):
                name = text_of(detail.get("productCodeableConcept"))
                if name:
                    names.add(name.lower())
        return names

    def conditions(self) -> None:
        concerns: list[dict[str, Any]] = []
        tags: dict[str, list[str]] = {"physical-health": [], "substance-use": []}
        for r in self.of_type("Condition"):
            kinds = {
                code
                for _, cat in iter_dicts(r.data.get("category"))
                for _, code in coded(cat, CS.CATEGORY, "")
            }
            concern_code = list(coded(r.data.get("code"), CS.CONCERN_KIND, r.at("code")))
            if "concern" in kinds or concern_code:
                concerns.append(self._concern(r, concern_code, len(concerns)))
                continue
            status = list(
                coded(
                    r.data.get("clinicalStatus"),
                    "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "",
                )
            )
            if status and status[0][1] not in {"active", "recurrence", "relapse"}:
                self.problems.warn(r.at("clinicalStatus"), "not-read", "condition is not active; skipped")
                continue
            text = text_of(r.data.get("code"))
            tag = next((k for k in ("substance-use", "physical-health") if k in kinds), None)
            if tag is None or text is None:
                self.problems.warn(
                    r.at("category"), "not-read",
                    "a Condition without the riskengine category concern, physical-health or substance-use "
                    "(or without text) is not read: diagnoses are not the engine's business",
                )  # fmt: skip
                continue
            tags[tag].append(text)
            field = "physical_health" if tag == "physical-health" else "substance_use"
            self.origin(f"person.{field}[{len(tags[tag]) - 1}]", r.at("code"))
        if tags["physical-health"]:
            self.person()["physical_health"] = tags["physical-health"]
        if tags["substance-use"]:
            self.person()["substance_use"] = tags["substance-use"]
        if concerns:
            self.details()["concerns"] = concerns

    def _concern(self, r: Resource, codes: list[tuple[str, str]], n: int) -> dict[str, Any]:
        here = f"proposal.concerns[{n}]"
        concern: dict[str, Any] = {"kind": codes[0][1] if codes else "other"}
        self.origin(f"{here}.kind", codes[0][0] if codes else r.at("code"))
        if not codes:
            self.problems.warn(
                r.at("code"), "open-kind", "concern has no riskengine concern-kind code; read as 'other'"
            )
        notes = [
            note.get("text")
            for _, note in iter_dicts(r.data.get("note"))
            if isinstance(note.get("text"), str)
        ]
        text = notes[0] if notes else text_of(r.data.get("code"))
        if text:
            concern["text"] = text
            self.origin(f"{here}.text", r.at("note", 0, "text") if notes else r.at("code"))
        raised = [value_of(e, "code", w, self.problems) for w, e in extensions(r.data, EXT.RAISED_BY, r.path)]
        asserter = reference_of(r.data.get("asserter"))
        if raised and raised[0]:
            concern["raised_by"] = raised[0]
            self.origin(f"{here}.raised_by", r.at("extension"))
        elif asserter and key_of(asserter).split("/")[0] in ASSERTER_RAISED_BY:
            concern["raised_by"] = ASSERTER_RAISED_BY[key_of(asserter).split("/")[0]]
        return concern

    def consents(self) -> None:
        rules: list[dict[str, Any]] = []
        exists = False
        for r in self.of_type("Consent"):
            if r.data.get("status") != "active":
                self.problems.warn(r.at("status"), "not-read", "Consent is not active; skipped")
                continue
            scope = [c for _, c in coded(r.data.get("scope"), CONSENT_SCOPE, "")]
            cats = {
                c for _, cat in iter_dicts(r.data.get("category")) for _, c in coded(cat, CS.CATEGORY, "")
            }
            if "adr" in scope or "advance-statement" in cats:
                exists = True
            provision = r.data.get("provision")
            if isinstance(provision, Mapping):
                self._provisions(provision, r.at("provision"), None, rules)
        if exists or rules:
            statement: dict[str, Any] = {"exists": True} if exists else {}
            if rules:
                statement["information_sharing"] = rules
            self.person()["advance_statement"] = statement

    def _provisions(
        self, provision: Mapping[str, Any], path: str, inherited: str | None, rules: list[dict[str, Any]]
    ) -> None:
        kind = provision.get("type") if isinstance(provision.get("type"), str) else inherited
        for i, actor in iter_dicts(provision.get("actor")):
            ref = reference_of(actor.get("reference"))
            where = at(path, "actor", i, "reference")
            member = self.member_of.get(key_of(ref)) if ref else None
            by_kind = _identifier(actor.get("reference"), NS.KIND)
            if member is None and by_kind and by_kind[1] in _core.NETWORK_KINDS:
                member = by_kind[1]
            if kind not in {"permit", "deny"}:
                self.problems.warn(
                    at(path, "type"), "not-read", "a provision without type permit or deny; skipped"
                )
                continue
            if ref and key_of(ref) in {self.patient.key if self.patient else None}:
                continue
            if member is None:
                self.problems.error(
                    where,
                    "unknown-member",
                    "the person's sharing rule names someone not in the network (no RelatedPerson or CareTeam member)",
                )
                continue
            rule: dict[str, Any] = {"with": member, "allowed": kind == "permit"}
            n = len(rules)
            self.origin(f"person.advance_statement.information_sharing[{n}].with", where)
            note = self._provision_note(provision, path)
            if note:
                rule["note"] = note
            rules.append(rule)
        for i, nested in iter_dicts(provision.get("provision")):
            self._provisions(nested, at(path, "provision", i), kind, rules)

    def _provision_note(self, provision: Mapping[str, Any], path: str) -> str | None:
        words = [
            value_of(e, "string", w, self.problems) for w, e in extensions(provision, EXT.PERSON_WORDS, path)
        ]
        if words and words[0]:
            return str(words[0])
        about = [t for _, c in iter_dicts(provision.get("code")) if (t := text_of(c))]
        return f"about {', '.join(about)}" if about else None

    def careplan_extensions(self) -> None:
        """The draft CarePlan's riskengine extensions for what FHIR has no element for."""
        plan = self.careplan
        if plan is None:
            return
        for url, field, kind in SCALAR_EXTENSIONS:
            for where, ext in extensions(plan.data, url, plan.path):
                value = value_of(ext, kind, where, self.problems)
                if value is not None:
                    self.put(field, value)
                    self.origin(field, where)
        for url, field in REPEATING_EXTENSIONS:
            found = [
                (w, value_of(e, "string", w, self.problems)) for w, e in extensions(plan.data, url, plan.path)
            ]
            for n, (where, _) in enumerate(found):
                self.origin(f"{field}[{n}]", where)
            if found:
                self.put(field, [v for _, v in found])
        crisis = self._complex(plan, EXT.CRISIS_PLAN, "person.crisis_plan",
                               (("exists", "boolean", "exists"), ("routeBack", "string", "route_back")), single=True)  # fmt: skip
        if crisis:
            self.person()["crisis_plan"] = crisis[0]
        conditions = self._complex(plan, EXT.CONDITION_PROPOSED, "proposal.conditions_proposed",
                                   (("by", "code", "by"), ("text", "string", "text")))  # fmt: skip
        if conditions:
            self.details()["conditions_proposed"] = conditions

    def put(self, field: str, value: Any) -> None:
        """Set a dotted proposal field (``person.capacity.status``), making the mappings on the way."""
        *parents, name = field.split(".")
        node = self.data
        for part in parents:
            node = node.setdefault(part, {})
        node[name] = value

    # ---- the network ---------------------------------------------------------------------

    def add_member(self, key: str, raw_id: str, member: dict[str, Any], fhir_path: str) -> str:
        member_id = _ID_SAFE.sub("-", raw_id)[:64] or "member"
        if member_id == "person" or member_id in self.members:
            member_id = f"{key.split('/', maxsplit=1)[0].lower()}-{member_id}"
        n = len(self.members)
        member["id"] = member_id
        self.members[member_id] = member
        self.member_of[key] = member_id
        self.references[member_id] = key
        self.origin(f"network[{n}]", fhir_path)
        self.origin(f"network[{n}].id", fhir_path)
        return member_id

    def related_people(self) -> None:
        for r in self.of_type("RelatedPerson"):
            if r.data.get("active") is False:
                self.problems.warn(r.at("active"), "not-read", "RelatedPerson is not active; skipped")
                continue
            kind, legal, kind_at = self._relationship(r)
            member: dict[str, Any] = {"kind": kind["kind"]}
            if "kind_label" in kind:
                member["kind_label"] = kind["kind_label"]
            if legal:
                member["legal_roles"] = legal
            key = r.key or r.full_url or r.path
            given = _identifier(r.data, NS.MEMBER)
            member_id = self.add_member(
                key, given[1] if given else r.id or key.rsplit(":", 1)[-1], member, r.path
            )
            n = len(self.members) - 1
            self.origin(f"network[{n}].kind", kind_at)
            if r.full_url:
                self.member_of[r.full_url] = member_id
            self._tie(r.data, r.path, member, n, r.data.get("period"), r.at("period"))

    def _relationship(self, r: Resource) -> tuple[dict[str, str], list[str], str]:
        kind: dict[str, str] | None = None
        kind_at = r.at("relationship")
        legal: list[str] = []
        labels: list[tuple[str, str]] = []
        for i, concept in iter_dicts(r.data.get("relationship")):
            base = r.at("relationship", i)
            legal += [code for _, code in coded(concept, CS.LEGAL_ROLE, base)]
            for where, code in coded(concept, CS.RELATIONSHIP_KIND, base):
                kind, kind_at = kind or {"kind": code}, where if kind is None else kind_at
            for where, code in coded(concept, V3_ROLE_CODE, base):
                if kind is None and code in V3_ROLE_KINDS:
                    kind, kind_at = {"kind": V3_ROLE_KINDS[code]}, where
            label = text_of(concept)
            if label:
                labels.append((base, label))
        if kind is None:
            kind = self._kind_from_text(labels, r.at("relationship"))
            kind_at = labels[0][0] if labels else r.at("relationship")
        elif kind["kind"] == "other" and labels:
            kind = {"kind": "other", "kind_label": labels[0][1][:200]}
        return kind, legal, kind_at

    def _kind_from_text(self, labels: list[tuple[str, str]], path: str) -> dict[str, str]:
        for _, label in labels:
            text = label.lower()
            if text in KIND_SYNONYMS:
                return {"kind": KIND_SYNONYMS[text]}
            if text.replace(" ", "_") in _core.NETWORK_KINDS:
                return {"kind": text.replace(" ", "_")}
        if labels:
            where, label = labels[0]
            hint = _core.did_you_mean(label.lower().replace(" ", "_"), _core.NETWORK_KINDS)
            self.problems.warn(
                where, "open-kind", f"relationship '{label}' is not a riskengine kind; read as 'other'{hint}"
            )
            return {"kind": "other", "kind_label": label[:200]}
        self.problems.warn(path, "no-kind", "no relationship or role is recorded; read as 'other'")
        return {"kind": "other"}

    def _tie(
        self,
        element: Mapping[str, Any],
        path: str,
        member: dict[str, Any],
        n: int,
        period: Any,
        period_at: str,
    ) -> None:
        here = f"network[{n}]"
        for where, ext in extensions(element, EXT.NETWORK_TIE, path):
            for name, sub, kind in (
                ("closeness", "closeness", "integer"), ("contact", "contact", "code"),
                ("steadiness", "steadiness", "code"), ("known_for_months", "knownForMonths", "integer"),
                ("knows_about_plan", "knowsAboutPlan", "boolean"), ("agreed_to_help", "agreedToHelp", "boolean"),
            ):  # fmt: skip
                for sub_at, value in sub_value(ext, sub, kind, where, self.problems):
                    member[name] = value
                    self.origin(f"{here}.{name}", sub_at)
            for sub_at, ref in sub_value(ext, "knows", "reference", where, self.problems):
                self.knows.append((member, sub_at, ref))
            together = sub_value(ext, "doesTogether", "string", where, self.problems)
            if together:
                member["does_together"] = [v for _, v in together]
                for i, (sub_at, _) in enumerate(together):
                    self.origin(f"{here}.does_together[{i}]", sub_at)
        start = start_of(period.get("start")) if isinstance(period, Mapping) else None
        if start and self.as_of and "known_for_months" not in member:
            member["known_for_months"] = months_between(start, self.as_of)
            self.origin(f"{here}.known_for_months", at(period_at, "start"))

    def care_teams(self) -> None:
        for team in self.of_type("CareTeam"):
            if team.data.get("status") not in {None, "active", "proposed"}:
                self.problems.warn(team.at("status"), "not-read", "CareTeam is not active; skipped")
                continue
            for i, participant in iter_dicts(team.data.get("participant")):
                self._participant(team, i, participant)

    def _participant(self, team: Resource, i: int, participant: Mapping[str, Any]) -> str | None:
        where = team.at("participant", i)
        ref = reference_of(participant.get("member"))
        if ref is None:
            self.problems.warn(
                at(where, "member"), "not-read", "participant with no member reference; skipped"
            )
            return None
        target = self.resolve(ref)
        key = (target.key if target else None) or key_of(ref)
        if self.patient is not None and key in {self.patient.key, self.patient.full_url}:
            return "person"
        if key in self.member_of:
            return self.member_of[key]
        labels = [
            (at(where, "role", j), t) for j, c in iter_dicts(participant.get("role")) if (t := text_of(c))
        ]
        kind: dict[str, str] | None = None
        kind_at = at(where, "role")
        for j, concept in iter_dicts(participant.get("role")):
            for code_at, code in coded(concept, CS.RELATIONSHIP_KIND, at(where, "role", j)):
                kind, kind_at = kind or {"kind": code}, code_at
        if kind is None:
            kind = self._kind_from_text(labels, at(where, "role"))
            kind_at = labels[0][0] if labels else kind_at
        elif kind["kind"] == "other" and labels:
            kind = {"kind": "other", "kind_label": labels[0][1][:200]}
        member: dict[str, Any] = dict(kind)
        given = _identifier(participant.get("member"), NS.MEMBER)
        member_id = self.add_member(key, given[1] if given else key.split("/")[-1], member, where)
        n = len(self.members) - 1
        self.origin(f"network[{n}].kind", kind_at)
        self._tie(participant, where, member, n, participant.get("period"), at(where, "period"))
        return member_id

    # ---- what the person wants to do -----------------------------------------------------

    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = self.data.setdefault("proposal", {})
        return details

    def proposal_details(self) -> None:
        plan = self.careplan
        if plan is None:
            return
        details = self.details()
        title = plan.data.get("title")
        if isinstance(title, str) and title.strip():
            details["title"] = title.strip()
            self.origin("proposal.title", plan.at("title"))
        cats = [
            (w, c)
            for i, cat in iter_dicts(plan.data.get("category"))
            for w, c in coded(cat, CS.ACTIVITY_CATEGORY, plan.at("category", i))
        ]
        if cats:
            details["categories"] = [c for _, c in cats]
            for n, (where, _) in enumerate(cats):
                self.origin(f"proposal.categories[{n}]", where)
        self._initiated_by(plan, details)
        self._activities(plan, details)
        self._goals(plan, details)
        participants = [self._who(c) for _, c in iter_dicts(plan.data.get("contributor"))]
        if any(participants):
            self.data.setdefault("decision_process", {})["participants"] = [p for p in participants if p]
            self.origin("decision_process.participants", plan.at("contributor"))

    def _who(self, reference: Mapping[str, Any]) -> str | None:
        ref = reference_of(reference)
        if ref is None:
            return None
        key = key_of(ref)
        if self.patient is not None and key in {self.patient.key, self.patient.full_url}:
            return "person"
        return self.member_of.get(key) or self.member_of.get(ref)

    def _initiated_by(self, plan: Resource, details: dict[str, Any]) -> None:
        author = reference_of(plan.data.get("author"))
        if author and "initiated_by" not in details:  # the initiated-by extension says it better
            details["initiated_by"] = AUTHOR_INITIATOR.get(key_of(author).split("/")[0], "practitioner")
            self.origin("proposal.initiated_by", plan.at("author"))

    def _complex(
        self, r: Resource, url: str, field: str, parts: tuple[tuple[str, str, str], ...], single: bool = False
    ) -> list[dict[str, Any]]:
        """Each complex extension ``url`` of ``r`` as a dict of its sub-extensions (``parts``:
        sub-extension name, value kind, proposal key), with where each came from."""
        items: list[dict[str, Any]] = []
        for where, ext in extensions(r.data, url, r.path):
            here = field if single else f"{field}[{len(items)}]"
            self.origin(here, where)
            item: dict[str, Any] = {}
            for sub, kind, key in parts:
                for sub_at, found in sub_value(ext, sub, kind, where, self.problems):
                    value = self._who(found) if kind == "reference" else found
                    if value is None:
                        self.problems.warn(
                            sub_at, "not-found", "refers to someone not in the network; skipped"
                        )
                        continue
                    item[key] = value
                    self.origin(f"{here}.{key}", sub_at)
            items.append(item)
        return items

    def decision_process(self) -> None:
        """How the decision is being made, and what happened before (CarePlan extensions)."""
        plan = self.careplan
        if plan is None:
            return
        process: dict[str, Any] = self.data.setdefault("decision_process", {})
        shared = self._complex(plan, EXT.INFORMATION_SHARED, "decision_process.information_shared",
                               (("topic", "string", "topic"), ("format", "string", "format")))  # fmt: skip
        if shared:
            process["information_shared"] = shared
        disagreements = self._complex(plan, EXT.DISAGREEMENT, "decision_process.disagreements",
                                      (("by", "reference", "by"), ("text", "string", "text")))  # fmt: skip
        if disagreements:
            process["disagreements"] = disagreements
        sure = self._complex(plan, EXT.SURE, "decision_process.sure",
                             (("sure", "boolean", "sure"), ("understand", "boolean", "understand"),
                              ("riskBenefit", "boolean", "risk_benefit"),
                              ("encouragement", "boolean", "encouragement")), single=True)  # fmt: skip
        if sure:
            process["sure"] = sure[0]
        history = self._complex(plan, EXT.EARLIER_ATTEMPT, "history",
                                (("what", "string", "what"), ("when", "scalar", "when"),
                                 ("outcome", "string", "outcome"), ("learning", "string", "learning")))  # fmt: skip
        if history:
            self.data["history"] = history

    def _activities(self, plan: Resource, details: dict[str, Any]) -> None:
        mitigations: list[dict[str, Any]] = []
        plan_out: dict[str, Any] = {}
        found = False
        for i, activity in iter_dicts(plan.data.get("activity")):
            where = plan.at("activity", i)
            detail = activity.get("detail")
            if not isinstance(detail, Mapping):
                self.problems.warn(
                    where, "not-read", "an activity without detail (a reference only) is not read"
                )
                continue
            code = detail.get("code")
            codes = list(coded(code, CS.ACTIVITY, at(where, "detail", "code")))
            parts = [c for _, c in coded(code, CS.PLAN_PART, "")]
            if codes or "proposal" in parts:
                if found:
                    self.problems.error(
                        where, "two-activities", "the draft CarePlan has more than one proposed activity"
                    )
                    continue
                found = True
                self._the_activity(where, detail, codes, details)
            elif "contingency" in parts:
                self._text_part(detail, where, plan_out, "contingency")
            elif "review" in parts:
                self._review(detail, where, plan_out)
            else:
                self._mitigation(detail, where, mitigations)
        if not found:
            self.problems.error(
                plan.at("activity"), "no-activity", "no CarePlan.activity carries a riskengine activity code"
            )
            details["activity"] = None
        if mitigations:
            plan_out["mitigations"] = mitigations
        if plan_out:
            self.data.setdefault("plan", {}).update(plan_out)

    def _the_activity(
        self, where: str, detail: Mapping[str, Any], codes: list[tuple[str, str]], details: dict[str, Any]
    ) -> None:
        details["activity"] = codes[0][1] if codes else "other"
        self.origin("proposal.activity", codes[0][0] if codes else at(where, "detail", "code"))
        description = detail.get("description")
        if "title" not in details and isinstance(description, str) and description.strip():
            details["title"] = description.strip()
            self.origin("proposal.title", at(where, "detail", "description"))
        timing = self._timing(detail, at(where, "detail"))
        if timing:
            details["timing"] = timing

    def _timing(self, detail: Mapping[str, Any], path: str) -> dict[str, Any]:
        timing: dict[str, Any] = {}
        period = detail.get("scheduledPeriod")
        schedule = detail.get("scheduledTiming")
        repeat = schedule.get("repeat") if isinstance(schedule, Mapping) else None
        if isinstance(schedule, Mapping) and not isinstance(repeat, Mapping):
            repeat = {}
        if isinstance(repeat, Mapping) and isinstance(schedule, Mapping):
            period = repeat.get("boundsPeriod", period)
            every = _repeats(repeat) or text_of(
                schedule.get("code") if isinstance(schedule, Mapping) else None
            )
            if every:
                timing["repeats"] = every
                self.origin("proposal.timing.repeats", at(path, "scheduledTiming", "repeat"))
        if isinstance(period, Mapping):
            for name in ("start", "end"):
                day = date_of(period.get(name))
                if day:
                    timing["starts" if name == "start" else "ends"] = day.isoformat()
        if isinstance(detail.get("scheduledString"), str) and "repeats" not in timing:
            timing["repeats"] = detail["scheduledString"][:200]
            self.origin("proposal.timing.repeats", at(path, "scheduledString"))
        return timing

    def _text_part(self, detail: Mapping[str, Any], where: str, plan_out: dict[str, Any], name: str) -> None:
        description = detail.get("description")
        if isinstance(description, str) and description.strip():
            plan_out[name] = description.strip()
            self.origin(f"plan.{name}", at(where, "detail", "description"))

    def _review(self, detail: Mapping[str, Any], where: str, plan_out: dict[str, Any]) -> None:
        period = detail.get("scheduledPeriod")
        day = (
            date_of(period.get("start"))
            if isinstance(period, Mapping)
            else date_of(detail.get("scheduledString"))
        )
        if day is None:
            self.problems.warn(
                at(where, "detail", "scheduledPeriod"),
                "no-date",
                "review activity has no whole start date; skipped",
            )
            return
        plan_out["review_on"] = day.isoformat()
        self.origin("plan.review_on", at(where, "detail", "scheduledPeriod", "start"))

    def _mitigation(self, detail: Mapping[str, Any], where: str, mitigations: list[dict[str, Any]]) -> None:
        description = detail.get("description")
        if not (isinstance(description, str) and description.strip()):
            self.problems.warn(
                at(where, "detail", "description"), "not-read", "an activity without a description; skipped"
            )
            return
        mitigation: dict[str, Any] = {"text": description.strip()}
        n = len(mitigations)
        self.origin(f"plan.mitigations[{n}].text", at(where, "detail", "description"))
        for j, performer in iter_dicts(detail.get("performer")):
            owner = self._who(performer)
            if owner:
                mitigation["owner"] = owner
                self.origin(f"plan.mitigations[{n}].owner", at(where, "detail", "performer", j))
                break
        for ext_at, ext in extensions(detail, EXT.OWNER, at(where, "detail")):
            mitigation.setdefault("owner", value_of(ext, "string", ext_at, self.problems))
            self.origin(f"plan.mitigations[{n}].owner", ext_at)
        draws = [
            (w, value_of(e, "string", w, self.problems))
            for w, e in extensions(detail, EXT.DRAWS_ON, at(where, "detail"))
        ]
        if draws:
            mitigation["draws_on"] = [v for _, v in draws]
            for k, (ext_at, _) in enumerate(draws):
                self.origin(f"plan.mitigations[{n}].draws_on[{k}]", ext_at)
        mitigations.append(mitigation)

    def _goals(self, plan: Resource, details: dict[str, Any]) -> None:
        benefits: list[str] = []
        referenced: set[int] = set()
        for i, ref in iter_dicts(plan.data.get("goal")):
            goal = self.resolve(reference_of(ref))
            if goal is None or goal.type != "Goal":
                self.problems.warn(
                    plan.at("goal", i), "not-found", "the Goal this refers to is not in the input; skipped"
                )
                continue
            referenced.add(id(goal))
            cats = {
                c for _, cat in iter_dicts(goal.data.get("category")) for _, c in coded(cat, CS.CATEGORY, "")
            }
            text = text_of(goal.data.get("description"))
            if "hoped-for-benefit" in cats and text:
                benefits.append(text[:200])
                self.origin(f"proposal.hoped_for_benefits[{len(benefits) - 1}]", goal.at("description"))
            elif text and "goal" not in details:
                details["goal"] = text
                self.origin("proposal.goal", goal.at("description"))
                self._success(goal)
        if benefits:
            details["hoped_for_benefits"] = benefits
        for goal in self.of_type("Goal"):
            if id(goal) not in referenced:
                self.problems.warn(
                    goal.path, "not-read", "a Goal the draft CarePlan does not refer to; skipped"
                )

    def _success(self, goal: Resource) -> None:
        for i, target in iter_dicts(goal.data.get("target")):
            detail = target.get("detailString")
            if isinstance(detail, str) and detail.strip():
                self.data.setdefault("plan", {})["success_looks_like"] = detail.strip()
                self.origin("plan.success_looks_like", goal.at("target", i, "detailString"))
                return

    # ---- putting it together -------------------------------------------------------------

    def resolve_links(self) -> None:
        """``knows`` references of the network-tie extension, once every member is known."""
        for member, where, reference in self.knows:
            other = self._who(reference)
            if other is None or other == "person":
                self.problems.warn(
                    where, "not-found", "'knows' refers to someone not in the network; skipped"
                )
            elif other != member["id"]:
                pair = (member["id"], other)
                self.links.add((min(pair), max(pair)))

    def finish(self) -> dict[str, Any]:
        self.resolve_links()
        members = list(self.members.values())
        if members:
            self.data["network"] = members
        if self.links:
            self.data["links"] = [list(pair) for pair in sorted(self.links)]
        self.data.setdefault("proposal", {})
        return self.data

    def locate(self, diagnostic: riskengine.Diagnostic) -> riskengine.Diagnostic:
        """A proposal validation error, re-located at the FHIR element it came from."""
        field = diagnostic.field
        probe = field
        while probe and probe not in self.origins:
            probe = re.sub(r"(\[\d+\]|\.[^.\[]*|^[^.\[]+)$", "", probe)
        where = self.origins.get(probe, "")
        message = f"{diagnostic.message} (proposal field {field})" if field else diagnostic.message
        return riskengine.Diagnostic(
            riskengine.Location(self.problems.source), diagnostic.code, where, message, diagnostic.severity
        )


def _identifier(element: Any, system: str) -> tuple[int, str] | None:
    """(index, value) of the first identifier of ``element`` in ``system``."""
    if isinstance(element, Mapping):
        found = element.get("identifier")
        items = [(0, found)] if isinstance(found, Mapping) else list(iter_dicts(found))
        for i, ident in items:
            value = ident.get("value")
            if ident.get("system") == system and isinstance(value, str) and value:
                return i, value
    return None


def _repeats(repeat: Mapping[str, Any]) -> str | None:
    unit = repeat.get("periodUnit")
    frequency = repeat.get("frequency", 1)
    period = repeat.get("period", 1)
    if not isinstance(unit, str):
        return None
    if frequency == 1 and period == 1 and unit in UNIT_REPEATS:
        return UNIT_REPEATS[unit]
    return f"{frequency} times every {period} {unit}"


def map_resources(
    resources: list[Resource],
    problems: Problems,
    *,
    jurisdiction: str | None = None,
    as_of: dt.date | None = None,
    proposal_id: str | None = None,
) -> FhirMapping:
    """Map gathered resources to a proposal; raise :class:`riskengine.InputError` with every problem."""
    m = _Mapper(resources, problems)
    m.pick_patient(jurisdiction)
    m.pick_careplan()
    m.pick_date_and_id(as_of, proposal_id)
    m.check_subjects()
    m.related_people()
    m.care_teams()
    m.legal_context()
    m.medication()
    m.conditions()
    m.consents()
    m.careplan_extensions()
    m.proposal_details()
    m.decision_process()
    data = m.finish()
    try:
        proposal = riskengine.proposal_from_data(data)
    except riskengine.InputError as exc:
        # fields the mapping already reported as missing would only be reported twice
        missing = {k for k in ("id", "jurisdiction", "as_of") if data.get(k) is None}
        if data["proposal"].get("activity") is None:
            missing.add("proposal.activity")
        found = [m.locate(d) for d in exc.diagnostics if d.field not in missing]
        raise riskengine.InputError([*problems.items, *found]) from None
    if problems.errors:
        raise riskengine.InputError(problems.items)
    return FhirMapping(proposal, problems.warnings, dict(m.references), m.references.get("person") or None)
