"""The facts rules can test: every field, its type and, where closed, its vocabulary.

Rules name fields as ``scope.field``. The one-per-proposal scopes (``person``,
``proposal``, ``decision``, ``plan``, ``network``, ``history``) describe the whole
case; the item scopes (``concern``, ``condition``, ``member``, ``mitigation``,
``attempt``) are lists, and a rule with ``for_each: <scope>`` fires once for every
item that matches. Fields marked *derived* are computed in Python from the proposal
(counts, yes/no summaries), so that rules need no arithmetic and no joins.

This table is the single source of truth: the loader checks conditions against it,
the fact builder (``facts.py``) must produce exactly these fields (a test holds it
to that), and ``docs/rule-language.md`` lists it for rule authors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from riskengine.documents import vocab
from riskengine.documents.evaluation import Issue

__all__ = ["CASE_SCOPES", "FIELDS", "ITEM_SCOPES", "PHASE2_SCOPES", "FieldSpec", "FieldType", "fact_key"]

FieldType = Literal["text", "name", "enum", "number", "bool", "list"]

CASE_SCOPES = ("person", "proposal", "decision", "plan", "network", "history", "safety_net")
ITEM_SCOPES = ("concern", "condition", "member", "mitigation", "attempt", "need")
# Filled in after the safety net is analysed (second phase); a rule that tests them runs then.
PHASE2_SCOPES = ("safety_net", "need")
_NEED_STATUS = Literal["in_place", "fragile", "missing"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One testable field. ``vocab`` closes an enum or the items of a list."""

    type: FieldType
    doc: str
    vocab: tuple[str, ...] | None = None
    lower: bool = False  # the facts hold it lower-cased, so a rule value with capitals never matches


def _enum(literal: object, doc: str) -> FieldSpec:
    return FieldSpec("enum", doc, get_args(literal))


def _list(doc: str, literal: object = None, *, lower: bool = False) -> FieldSpec:
    return FieldSpec("list", doc, get_args(literal) if literal is not None else None, lower)


_T: FieldType = "text"
_N: FieldType = "number"
_B: FieldType = "bool"
_NAME: FieldType = "name"

FIELDS: dict[str, dict[str, FieldSpec]] = {
    "person": {
        "legal_context": _enum(vocab.LegalContext, "legal context; `unknown` if not recorded"),
        "capacity": _enum(vocab.CapacityStatus, "capacity for this decision; `presumed` if not recorded"),
        "preferred_decision_role": _enum(vocab.DecisionRole, "the part the person wants in deciding"),
        "what_matters": FieldSpec(_T, "what matters to the person, in their words"),
        "strengths": _list("strengths, in the person's words"),
        "strengths_count": FieldSpec(_N, "derived: how many strengths are recorded"),
        "interests": _list("interests"),
        "early_warning_signs": _list("early warning signs"),
        "crisis_plan_exists": FieldSpec(_B, "a crisis plan exists (false if not recorded)"),
        "route_back": FieldSpec(_T, "the route back into help named in the crisis plan"),
        "advance_statement_exists": FieldSpec(_B, "an advance statement exists (false if not recorded)"),
        "sharing_refused_with": _list("derived: ids or kinds the person has said must not be told"),
        "sharing_rules_recorded": FieldSpec(
            _B, "derived: the advance statement records who may be told what"
        ),
        "medication_names": _list("names of medicines taken, lower-cased", lower=True),
        "medication_classes": _list(
            "classes of medicines taken, lower-cased (open list, e.g. antidepressant)", lower=True
        ),
        "medication_count": FieldSpec(_N, "derived: how many medicines are recorded"),
        "changing_medication_names": _list(
            "derived: names of the medicines marked as changing (if none is, those not marked false)",
            lower=True,
        ),
        "changing_medication_classes": _list(
            "derived: classes of the medicines marked as changing (if none is, those not marked false)",
            lower=True,
        ),
        "changing_medication_marked": FieldSpec(_B, "derived: at least one medicine is marked as changing"),
        "changing_medication_named": FieldSpec(
            _B,
            "derived: the title or goal names a recorded medicine, by name or group (e.g. 'coming off lithium')",
        ),
        "non_depot_medication_count": FieldSpec(
            _N, "derived: medicines recorded that are not depot injections (tablets, liquids, inhalers ...)"
        ),
        "changing_medicine_groups": _list(
            "derived: the groups of the medicines changing (from class or name; with none marked, "
            "those the title or goal name)",
            Literal["antidepressant", "lithium", "antipsychotic", "clozapine", "depot", "benzodiazepine"],
        ),
        "physical_health": _list("physical health tags"),
        "substance_use": _list("substance use tags"),
        "recent_crisis_days": FieldSpec(_N, "days since the last crisis, if any"),
    },
    "proposal": {
        "activity": _enum(vocab.Activity, "the catalogue activity"),
        "jurisdiction": _enum(vocab.Jurisdiction, "the UK nation whose law and services apply"),
        "categories": _list("derived: the proposal's categories plus the activity's own"),
        "title": FieldSpec(_T, "title"),
        "initiated_by": _enum(vocab.Initiator, "who started this"),
        "goal": FieldSpec(_T, "the person's goal, in their words"),
        "hoped_for_benefits": _list("benefits the person hopes for"),
        "concerns_count": FieldSpec(_N, "derived: how many concerns are recorded"),
        "concerns_asked": FieldSpec(
            _B, "derived: worries were asked about (marked so, or at least one concern is recorded)"
        ),
        "concern_kinds": _list("derived: kinds of concern raised", vocab.ConcernKind),
        "concerns_raised_by": _list("derived: who raised concerns", vocab.RaisedBy),
        "concerns_only_about_harm": FieldSpec(_B, "derived: there are concerns and every one is about harm"),
        "organisational_concerns_count": FieldSpec(
            _N, "derived: concerns of kind organisational or raised by the organisation"
        ),
        "conditions_count": FieldSpec(_N, "derived: how many conditions on going ahead are proposed"),
        "options_considered": _list("options considered"),
        "options_count": FieldSpec(_N, "derived: how many options are recorded"),
        "not_now_considered": FieldSpec(_B, "derived: an option like 'not now' or 'later' is recorded"),
        "alternatives_count": FieldSpec(_N, "derived: options other than 'not now' ones"),
        "starts_in_days": FieldSpec(_N, "derived: days from as_of to timing.starts"),
        "repeats": FieldSpec(_B, "derived: the activity repeats"),
        "says_first_try": FieldSpec(
            _B, "derived: the title or goal says it is a first try ('first', 'never tried'), not a return"
        ),
        "says_again": FieldSpec(
            _B, "derived: the title or goal says it is a return to something ('again', 'back to', 'used to')"
        ),
    },
    "decision": {
        "participants_count": FieldSpec(_N, "derived: how many took part"),
        "person_took_part": FieldSpec(_B, "derived: the person is among the participants"),
        "network_took_part_count": FieldSpec(_N, "derived: participants from the person's network"),
        "personal_network_took_part": FieldSpec(
            _B, "derived: family, friends or other personal ties took part"
        ),
        "person_view_recorded": FieldSpec(_B, "the person's view is recorded (false if not recorded)"),
        "information_shared_count": FieldSpec(_N, "derived: items of information shared"),
        "information_formats": _list("derived: formats information was shared in"),
        "disagreements_count": FieldSpec(_N, "derived: disagreements recorded"),
        "sure_recorded": FieldSpec(_B, "derived: a SURE test is recorded"),
        "sure_all_yes": FieldSpec(_B, "derived: all four SURE answers are yes"),
        "sure_sure": FieldSpec(_B, "SURE: sure about the best choice"),
        "sure_understand": FieldSpec(_B, "SURE: understands the options"),
        "sure_risk_benefit": FieldSpec(_B, "SURE: clear about benefits and risks that matter"),
        "sure_encouragement": FieldSpec(_B, "SURE: has enough support and advice"),
    },
    "plan": {
        "mitigations_count": FieldSpec(_N, "derived: how many mitigations"),
        "mitigations_without_owner": FieldSpec(_N, "derived: mitigations with no owner"),
        "mitigation_owners": _list("derived: distinct owners of mitigations"),
        "owners_count": FieldSpec(_N, "derived: how many distinct owners"),
        "all_owned_by_one": FieldSpec(_B, "derived: two or more mitigations, all with the same owner"),
        "person_owns_a_mitigation": FieldSpec(_B, "derived: the person owns at least one mitigation"),
        "mitigations_drawing_on_strengths": FieldSpec(
            _N, "derived: mitigations that name a strength they draw on or mention one"
        ),
        "contingency": FieldSpec(_T, "what happens if it does not go to plan"),
        "review_in_days": FieldSpec(_N, "derived: days from as_of to the review date"),
        "success_looks_like": FieldSpec(_T, "what success looks like"),
        "early_warning_linked": FieldSpec(
            _B, "derived: an early warning sign appears in the contingency or a mitigation"
        ),
    },
    "network": {
        "size": FieldSpec(_N, "derived: members in the network"),
        "kinds": _list("derived: kinds present", vocab.NetworkKind),
        "personal_count": FieldSpec(
            _N, "derived: partner, family, friends, neighbours, peers, community members"
        ),
        "services_count": FieldSpec(_N, "derived: members from services"),
        "agreed_count": FieldSpec(_N, "derived: members who have agreed to help"),
        "aware_count": FieldSpec(_N, "derived: members who know about the plan"),
        "steady_count": FieldSpec(_N, "derived: members whose relationship is consistent"),
        "unsteady_count": FieldSpec(_N, "derived: members who are on and off, new or strained"),
        "links_count": FieldSpec(_N, "derived: links between members"),
        "nearest_relative_recorded": FieldSpec(_B, "derived: a member holds the nearest relative role"),
        "carers_count": FieldSpec(_N, "derived: members recorded as caring (see member.caring)"),
    },
    "history": {
        "count": FieldSpec(_N, "derived: earlier attempts recorded"),
        "positive_count": FieldSpec(_N, "derived: earlier attempts with outcome positive"),
        "difficult_count": FieldSpec(_N, "derived: earlier attempts with outcome negative or mixed"),
        "learning_count": FieldSpec(_N, "derived: earlier attempts with learning recorded"),
    },
    "safety_net": {
        "needs_count": FieldSpec(_N, "second phase: how many safety-net needs the rules found"),
        "in_place_count": FieldSpec(_N, "second phase: needs someone steady, aware and agreed can fill"),
        "fragile_count": FieldSpec(_N, "second phase: needs only people with issues can fill"),
        "missing_count": FieldSpec(_N, "second phase: needs nobody in the network can fill"),
        "missing_roles": _list("second phase: roles nobody can fill", vocab.Role),
        "fragile_roles": _list("second phase: roles only people with issues can fill", vocab.Role),
        "issues": _list("second phase: every issue named on any need", Issue),
        "single_points_count": FieldSpec(_N, "second phase: members the plan leans on alone"),
        "single_points": _list("second phase: ids of members the plan leans on alone"),
        "consent_conflicts_count": FieldSpec(
            _N, "second phase: needs or mitigations that mean telling someone the person said no to"
        ),
        "services_reachable": FieldSpec(
            _B, "second phase: the person can reach a service in the network, directly or through someone"
        ),
        "service_cut_points_count": FieldSpec(
            _N, "second phase: members without whom the person has no way to any service"
        ),
    },
    "concern": {
        "kind": _enum(vocab.ConcernKind, "kind of concern"),
        "raised_by": _enum(vocab.RaisedBy, "who raised it"),
        "text": FieldSpec(_T, "the concern in words"),
        "about_harm": FieldSpec(_B, "derived: the kind is about harm, relapse, health or medication"),
    },
    "condition": {
        "by": _enum(vocab.RaisedBy, "who proposes the condition"),
        "text": FieldSpec(_T, "the condition in words"),
        "practical": FieldSpec(
            _B, "derived: a practical arrangement (timing, transport, things to carry), not a gate on insight"
        ),
    },
    "member": {
        "id": FieldSpec(_NAME, "the member's id"),
        "kind": _enum(vocab.NetworkKind, "relationship kind"),
        "kind_label": FieldSpec(_NAME, "the original kind when it was outside the vocabulary"),
        "group": _enum(
            Literal["personal", "group", "service", "other"], "derived: personal, group, service or other"
        ),
        "legal_roles": _list("legal roles", vocab.LegalRole),
        "closeness": FieldSpec(_N, "1 distant .. 5 very close"),
        "contact": _enum(vocab.Contact, "how often they are in contact"),
        "known_for_months": FieldSpec(_N, "months known"),
        "steadiness": _enum(vocab.Steadiness, "how steady the relationship is"),
        "knows_about_plan": FieldSpec(_B, "knows about the plan (false if not recorded)"),
        "agreed_to_help": FieldSpec(_B, "has agreed to help (false if not recorded)"),
        "does_together": _list("what they do together"),
        "took_part": FieldSpec(_B, "derived: took part in the decision"),
        "owns_mitigation": FieldSpec(_B, "derived: owns at least one mitigation"),
        "sharing_refused": FieldSpec(
            _B, "derived: the person has said this member must not be told something"
        ),
        "named_in_goal": FieldSpec(_B, "derived: the member's id appears as a word in the person's goal"),
        "named_in_plan": FieldSpec(_B, "derived: the member's id appears as a word in a mitigation's text"),
        "by_role": FieldSpec(
            _B,
            "derived: a service that answers by its role (crisis team, helpline, GP, prescriber, RC, pharmacist)",
        ),
        "caring": FieldSpec(
            _B, "derived: recorded as caring (a carer by label or id, or what they do together is care)"
        ),
    },
    "mitigation": {
        "text": FieldSpec(_T, "the mitigation in words"),
        "owner": FieldSpec(_NAME, "who does it: `person`, a network id or a name"),
        "owner_group": _enum(
            Literal["person", "personal", "group", "service", "other", "outside_network", "none"],
            "derived: where the owner sits",
        ),
        "draws_on": _list("strengths it draws on"),
    },
    "attempt": {
        "what": FieldSpec(_T, "what was tried"),
        "outcome": FieldSpec(_NAME, "how it went (open list: positive, mixed, negative …)"),
        "learning": FieldSpec(_T, "what was learned"),
    },
    "need": {
        "role": _enum(vocab.Role, "second phase: the safety-net role needed"),
        "when": _enum(vocab.When, "second phase: when it is needed"),
        "why": FieldSpec(_T, "second phase: why the rules asked for it"),
        "status": _enum(_NEED_STATUS, "second phase: in_place, fragile or missing"),
        "issues": _list("second phase: issues named for this need", Issue),
        "fillers_count": FieldSpec(_N, "second phase: members who could fill it"),
        "solid_count": FieldSpec(_N, "second phase: fillers with no issue, the record's own included"),
        "filled_by": _list("second phase: ids of members who could fill it"),
        "first_filler": FieldSpec(_NAME, "second phase: the first-ranked filler's id"),
        "not_asked": _list("second phase: fillers who have not been told about or not agreed to the plan"),
        "unsteady": _list("second phase: fillers whose tie is new, on and off, strained or not yet known"),
        "rarely_seen": _list("second phase: fillers in contact too rarely for when the need falls"),
        "told_not_to_tell": _list("second phase: fillers the person has said must not be told"),
        "offered": FieldSpec(
            _B, "second phase: the need comes from the kind of activity only, so it is offered"
        ),
        "held_in_record": _list(
            "second phase: what the record itself fills the need with (crisis_plan, ward)",
            Literal["crisis_plan", "ward"],
        ),
    },
}


def fact_key(scope: str, name: str) -> str:
    """The property name a field has in a backend fact (flat, no dots)."""
    if scope in CASE_SCOPES:
        return f"{scope}__{name}"
    return f"{scope}_id" if name == "id" else name  # `id` is the backend's fact identity
