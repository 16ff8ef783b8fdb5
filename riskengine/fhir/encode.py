"""A proposal → the FHIR R4 Bundle a case-management system would send for it.

The inverse of :mod:`riskengine.fhir.inbound`: every field of contract v1 goes to the element or
riskengine extension the mapping reads it from (``docs/fhir.md``), so ``map_bundle(bundle_for(p))``
gives ``p`` back (network order aside). It shows an integrator what to send, and it lets the tests
prove the mapping loses nothing.

May import ``riskengine`` public names and this package's modules.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from typing import Any

import riskengine

from .codes import CONSENT_SCOPE, CS, EXT, NS

__all__ = ["bundle_for"]

Json = dict[str, Any]

_NAMESPACE = uuid.UUID("0b9f2a47-3c1e-5d8a-b6f4-7e2d9c1a5b30")  # riskengine.fhir example bundles
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_NATION = {"england": "GB-ENG", "wales": "GB-WLS", "scotland": "GB-SCT", "northern_ireland": "GB-NIR"}
PERSONAL_KINDS = frozenset({"partner", "family", "friend", "neighbour", "peer", "community_member"})
ORGANISATION_KINDS = frozenset(
    {
        "community_group",
        "sports_club",
        "faith_community",
        "education_provider",
        "employer",
        "crisis_team",
        "helpline",
    }
)
_UNITS = {"daily": "d", "weekly": "wk", "monthly": "mo", "yearly": "a"}


def _coding(system: str, code: str) -> Json:
    return {"coding": [{"system": system, "code": code}]}


def _ext(url: str, kind: str, value: Any) -> Json:
    return {"url": url, f"value{kind}": value}


def _complex(url: str, parts: Iterable[tuple[str, str, Any]]) -> Json:
    return {
        "url": url,
        "extension": [_ext(name, kind, value) for name, kind, value in parts if value is not None],
    }


class _Encoder:
    def __init__(self, proposal: riskengine.Proposal, patient_id: str | None) -> None:
        self.p = proposal
        self.entries: list[Json] = []
        self.patient = f"Patient/{self.fhir_id(patient_id or proposal.person.ref or 'patient', 'patient')}"
        self.refs: dict[str, Json] = {"person": {"reference": self.patient}}
        for member in proposal.network:
            self.refs[member.id] = self._member_ref(member)

    def fhir_id(self, text: str, kind: str) -> str:
        """``text`` if it is a FHIR id, else a stable UUID made from it."""
        return text if _FHIR_ID.fullmatch(text) else str(uuid.uuid5(_NAMESPACE, f"{self.p.id}/{kind}/{text}"))

    def _member_ref(self, member: Any) -> Json:
        if member.kind in PERSONAL_KINDS or member.legal_roles:
            kind = "RelatedPerson"
        else:
            kind = "Organization" if member.kind in ORGANISATION_KINDS else "Practitioner"
        reference = f"{kind}/{self.fhir_id(member.id, 'member')}"
        return {"reference": reference, "identifier": {"system": NS.MEMBER, "value": member.id}}

    def add(self, resource: Json) -> None:
        name = f"{self.p.id}/{resource['resourceType']}/{resource['id']}"
        self.entries.append({"fullUrl": f"urn:uuid:{uuid.uuid5(_NAMESPACE, name)}", "resource": resource})

    def subject(self) -> Json:
        return {"reference": self.patient}

    # ---- resources -----------------------------------------------------------------------

    def patient_resource(self) -> None:
        patient: Json = {"resourceType": "Patient", "id": self.patient.split("/")[1]}
        if self.p.person.ref:
            patient["identifier"] = [{"system": NS.PERSON_PSEUDONYM, "value": self.p.person.ref}]
        patient["address"] = [{"use": "home", "country": _NATION[self.p.jurisdiction]}]
        self.add(patient)

    def network(self) -> None:
        knows: dict[str, list[str]] = {}
        for a, b in self.p.links:
            knows.setdefault(a, []).append(b)
        participants = []
        for member in self.p.network:
            ref = self.refs[member.id]
            tie = self._tie(member, knows.get(member.id, []))
            role = self._kind(member)
            if ref["reference"].startswith("RelatedPerson/"):
                related: Json = {
                    "resourceType": "RelatedPerson",
                    "id": ref["reference"].split("/")[1],
                    "identifier": [ref["identifier"]],
                    "patient": self.subject(),
                    "relationship": [role, *(_coding(CS.LEGAL_ROLE, r) for r in member.legal_roles)],
                }
                if tie["extension"]:
                    related["extension"] = [tie]
                self.add(related)
            else:
                participant: Json = {"role": [role], "member": ref}
                if tie["extension"]:
                    participant["extension"] = [tie]
                participants.append(participant)
        if participants:
            self.add({"resourceType": "CareTeam", "id": "care-team", "status": "active",
                      "subject": self.subject(), "participant": participants})  # fmt: skip

    @staticmethod
    def _kind(member: Any) -> Json:
        role = _coding(CS.RELATIONSHIP_KIND, member.kind)
        if member.kind_label:
            role["text"] = member.kind_label
        return role

    def _tie(self, member: Any, knows: list[str]) -> Json:
        parts: list[tuple[str, str, Any]] = [
            ("closeness", "Integer", member.closeness),
            ("contact", "Code", member.contact),
            ("steadiness", "Code", member.steadiness),
            ("knownForMonths", "Integer", member.known_for_months),
            ("knowsAboutPlan", "Boolean", member.knows_about_plan),
            ("agreedToHelp", "Boolean", member.agreed_to_help),
            *(("doesTogether", "String", t) for t in member.does_together),
            *(("knows", "Reference", {"reference": self.refs[other]["reference"]}) for other in knows),
        ]
        return _complex(EXT.NETWORK_TIE, parts)

    def person_resources(self) -> None:
        person = self.p.person
        if person.legal_context != "unknown":
            self.add({"resourceType": "Flag", "id": "legal-context", "status": "active", "subject": self.subject(),
                      "code": _coding(CS.LEGAL_CONTEXT, person.legal_context)})  # fmt: skip
        for n, med in enumerate(person.medication):
            statement: Json = {"resourceType": "MedicationStatement", "id": f"medication-{n}", "status": "active",
                               "subject": self.subject(), "medicationCodeableConcept": {"text": med.name}}  # fmt: skip
            extension = []
            if med.class_:
                extension.append(_ext(EXT.MEDICATION_CLASS, "Code", med.class_))
            if med.changing is not None:
                extension.append(_ext(EXT.MEDICATION_CHANGING, "Boolean", med.changing))
            if extension:
                statement["extension"] = extension
            self.add(statement)
        for category, tags in (
            ("physical-health", person.physical_health),
            ("substance-use", person.substance_use),
        ):
            for n, tag in enumerate(tags):
                self.add({"resourceType": "Condition", "id": f"{category}-{n}", "subject": self.subject(),
                          "category": [_coding(CS.CATEGORY, category)], "code": {"text": tag}})  # fmt: skip
        for n, concern in enumerate(self.p.proposal.concerns):
            condition: Json = {"resourceType": "Condition", "id": f"concern-{n}", "subject": self.subject(),
                               "category": [_coding(CS.CATEGORY, "concern")],
                               "code": _coding(CS.CONCERN_KIND, concern.kind)}  # fmt: skip
            if concern.raised_by:
                condition["extension"] = [_ext(EXT.RAISED_BY, "Code", concern.raised_by)]
            if concern.text:
                condition["note"] = [{"text": concern.text}]
            self.add(condition)
        self._consent()

    def _consent(self) -> None:
        statement = self.p.person.advance_statement
        if statement is None or not statement.information_sharing:
            return
        provisions = []
        for rule in statement.information_sharing:
            if rule.with_ in self.refs:
                actor_ref: Json = {"reference": self.refs[rule.with_]["reference"]}
            else:  # a kind of person, not one member
                actor_ref = {"identifier": {"system": NS.KIND, "value": rule.with_}}
            provision: Json = {"type": "permit" if rule.allowed else "deny",
                               "actor": [{"role": {"text": "recipient"}, "reference": actor_ref}]}  # fmt: skip
            if rule.note:
                provision["extension"] = [_ext(EXT.PERSON_WORDS, "String", rule.note)]
            provisions.append(provision)
        adr = statement.exists is True
        self.add({
            "resourceType": "Consent", "id": "sharing", "status": "active", "patient": self.subject(),
            "scope": _coding(CONSENT_SCOPE, "adr" if adr else "patient-privacy"),
            "category": [_coding(CS.CATEGORY, "advance-statement" if adr else "information-sharing")],
            "policyRule": {"text": "the person's own rules about who may be told what"},
            "provision": {"provision": provisions},
        })  # fmt: skip

    def goals(self) -> list[Json]:
        details, plan = self.p.proposal, self.p.plan
        refs = []
        if details.goal:
            goal: Json = {"resourceType": "Goal", "id": "goal", "lifecycleStatus": "proposed",
                          "category": [_coding(CS.CATEGORY, "decision-goal")],
                          "description": {"text": details.goal}, "subject": self.subject()}  # fmt: skip
            if plan.success_looks_like:
                goal["target"] = [{"detailString": plan.success_looks_like}]
            self.add(goal)
            refs.append({"reference": "Goal/goal"})
        for n, benefit in enumerate(details.hoped_for_benefits):
            self.add({"resourceType": "Goal", "id": f"benefit-{n}", "lifecycleStatus": "proposed",
                      "category": [_coding(CS.CATEGORY, "hoped-for-benefit")],
                      "description": {"text": benefit}, "subject": self.subject()})  # fmt: skip
            refs.append({"reference": f"Goal/benefit-{n}"})
        return refs

    def careplan(self, goals: list[Json]) -> None:
        p = self.p
        plan: Json = {
            "resourceType": "CarePlan",
            "id": self.fhir_id(p.id, "careplan"),
            "identifier": [{"system": NS.PROPOSAL, "value": p.id}],
            "status": "draft",
            "intent": "proposal",
            "category": [_coding(CS.CATEGORY, "positive-risk-taking")]
            + [_coding(CS.ACTIVITY_CATEGORY, c) for c in p.proposal.categories],
            "subject": self.subject(),
            "created": p.as_of.isoformat(),
        }
        if p.proposal.title:
            plan["title"] = p.proposal.title
        extension = self._careplan_extensions()
        if extension:
            plan["extension"] = extension
        contributors = [self.refs[who] for who in p.decision_process.participants if who in self.refs]
        if contributors:
            plan["contributor"] = [{"reference": c["reference"]} for c in contributors]
        if goals:
            plan["goal"] = goals
        plan["activity"] = self._activities()
        self.add(plan)

    def _careplan_extensions(self) -> list[Json]:
        p, person, process = self.p, self.p.person, self.p.decision_process
        scalars: list[tuple[str, str, Any]] = [
            (EXT.WHAT_MATTERS, "String", person.what_matters),
            (EXT.RECENT_CRISIS_DAYS, "Integer", person.recent_crisis_days),
            (EXT.DECISION_ROLE, "Code", person.preferred_decision_role),
            (EXT.CAPACITY, "Code", person.capacity.status),
            (EXT.CAPACITY_NOTE, "String", person.capacity.note),
            (
                EXT.ADVANCE_STATEMENT,
                "Boolean",
                person.advance_statement.exists if person.advance_statement else None,
            ),
            (EXT.INITIATED_BY, "Code", p.proposal.initiated_by),
            (EXT.CONCERNS_ASKED, "Boolean", p.proposal.concerns_asked),
            (EXT.PERSON_VIEW_RECORDED, "Boolean", process.person_view_recorded),
            (EXT.SUCCESS_LOOKS_LIKE, "String", None if p.proposal.goal else p.plan.success_looks_like),
        ]
        out = [_ext(url, kind, value) for url, kind, value in scalars if value is not None]
        for url, values in ((EXT.STRENGTH, person.strengths), (EXT.INTEREST, person.interests),
                            (EXT.EARLY_WARNING_SIGN, person.early_warning_signs),
                            (EXT.OPTION_CONSIDERED, p.proposal.options_considered)):  # fmt: skip
            out += [_ext(url, "String", v) for v in values]
        if person.crisis_plan:
            crisis = person.crisis_plan
            out.append(_complex(EXT.CRISIS_PLAN, [("exists", "Boolean", crisis.exists),
                                                  ("routeBack", "String", crisis.route_back)]))  # fmt: skip
        out += [_complex(EXT.CONDITION_PROPOSED, [("by", "Code", c.by), ("text", "String", c.text)])
                for c in p.proposal.conditions_proposed]  # fmt: skip
        out += self._process_extensions()
        return out

    def _process_extensions(self) -> list[Json]:
        process = self.p.decision_process
        out = [_complex(EXT.INFORMATION_SHARED, [("topic", "String", i.topic), ("format", "String", i.format)])
               for i in process.information_shared]  # fmt: skip
        for d in process.disagreements:
            by = {"reference": self.refs[d.by]["reference"]} if d.by in self.refs else None
            out.append(_complex(EXT.DISAGREEMENT, [("by", "Reference", by), ("text", "String", d.text)]))
        if process.sure:
            s = process.sure
            out.append(_complex(EXT.SURE, [("sure", "Boolean", s.sure), ("understand", "Boolean", s.understand),
                                           ("riskBenefit", "Boolean", s.risk_benefit),
                                           ("encouragement", "Boolean", s.encouragement)]))  # fmt: skip
        for attempt in self.p.history:
            when = attempt.when
            value: Any = when
            if isinstance(when, dt.date):
                kind, value = "Date", when.isoformat()
            else:
                kind = "Integer" if isinstance(when, int) else "String"
            out.append(_complex(EXT.EARLIER_ATTEMPT, [("what", "String", attempt.what), ("when", kind, value),
                                                      ("outcome", "String", attempt.outcome),
                                                      ("learning", "String", attempt.learning)]))  # fmt: skip
        return out

    def _activities(self) -> list[Json]:
        details, plan = self.p.proposal, self.p.plan
        the: Json = {"code": {"coding": [{"system": CS.ACTIVITY, "code": details.activity},
                                         {"system": CS.PLAN_PART, "code": "proposal"}]},
                     "status": "not-started"}  # fmt: skip
        self._schedule(the)
        activities = [{"detail": the}]
        for mitigation in plan.mitigations:
            detail: Json = {"code": _coding(CS.PLAN_PART, "mitigation"), "status": "not-started",
                            "description": mitigation.text}  # fmt: skip
            extension = [_ext(EXT.DRAWS_ON, "String", d) for d in mitigation.draws_on]
            if mitigation.owner in self.refs:
                detail["performer"] = [{"reference": self.refs[mitigation.owner]["reference"]}]
            elif mitigation.owner:
                extension.insert(0, _ext(EXT.OWNER, "String", mitigation.owner))
            if extension:
                detail["extension"] = extension
            activities.append({"detail": detail})
        if plan.contingency:
            activities.append({"detail": {"code": _coding(CS.PLAN_PART, "contingency"), "status": "not-started",
                                          "description": plan.contingency}})  # fmt: skip
        if plan.review_on:
            activities.append({"detail": {"code": _coding(CS.PLAN_PART, "review"), "status": "not-started",
                                          "scheduledPeriod": {"start": plan.review_on.isoformat()}}})  # fmt: skip
        return activities

    def _schedule(self, detail: Json) -> None:
        timing = self.p.proposal.timing
        if timing is None:
            return
        period = {k: v.isoformat() for k, v in (("start", timing.starts), ("end", timing.ends)) if v}
        if timing.repeats is None:
            if period:
                detail["scheduledPeriod"] = period
            return
        repeat: Json = {"boundsPeriod": period} if period else {}
        schedule: Json = {"repeat": repeat}
        if timing.repeats in _UNITS:
            repeat.update({"frequency": 1, "period": 1, "periodUnit": _UNITS[timing.repeats]})
        else:
            schedule["code"] = {"text": timing.repeats}
        if not repeat:
            del schedule["repeat"]
        detail["scheduledTiming"] = schedule


def bundle_for(proposal: riskengine.Proposal, *, patient_id: str | None = None) -> dict[str, Any]:
    """The FHIR R4 collection Bundle that maps back to ``proposal`` (see ``docs/fhir.md``)."""
    e = _Encoder(proposal, patient_id)
    e.patient_resource()
    e.network()
    e.person_resources()
    e.careplan(e.goals())
    return {
        "resourceType": "Bundle",
        "id": e.fhir_id(proposal.id, "bundle"),
        "type": "collection",
        "entry": e.entries,
    }
