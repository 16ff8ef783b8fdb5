"""The closed vocabularies of contract v1 (``shared/contract/vocabularies.md``).

Each list is a ``Literal`` type (so JSON Schema shows it as an enum) and a tuple
of its values (so code and did-you-mean hints can iterate over it).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal, get_args

__all__ = [
    "ACTIVITIES",
    "ACTIVITY_CATEGORIES",
    "DEFAULT_FILLERS",
    "FORMAL_KINDS",
    "INPATIENT_CONTEXTS",
    "JURISDICTIONS",
    "NETWORK_KINDS",
    "PERSONAL_KINDS",
    "PRINCIPLES",
    "ROLES",
    "ROLE_SERVICES",
    "STAGES",
    "TENSIONS",
    "Activity",
    "CapacityStatus",
    "ConcernKind",
    "Contact",
    "DecisionRole",
    "Initiator",
    "Jurisdiction",
    "LegalContext",
    "LegalRole",
    "NetworkKind",
    "PrincipleId",
    "RaisedBy",
    "Role",
    "Stage",
    "Steadiness",
    "TensionId",
    "When",
    "filling_kind",
    "fills_by_role",
    "member_group",
    "words_in",
]

Jurisdiction = Literal["england", "wales", "scotland", "northern_ireland"]
PrincipleId = Literal["felton.1", "felton.2", "felton.3", "felton.4", "felton.5"]
TensionId = Literal[
    "prm.1.1", "prm.1.2", "prm.1.3", "prm.1.4",
    "prm.2.1", "prm.2.2", "prm.2.3",
    "prm.3.1", "prm.3.2", "prm.3.3",
]  # fmt: skip
LegalContext = Literal[
    "informal", "community_treatment_order", "s17_leave", "detained",
    "conditional_discharge", "guardianship", "deprivation_of_liberty", "unknown",
]  # fmt: skip
CapacityStatus = Literal["presumed", "has_capacity", "lacks_capacity", "fluctuating", "in_doubt"]
DecisionRole = Literal["decide_after_hearing_views", "share_the_decision", "others_decide", "not_stated"]
NetworkKind = Literal[
    "partner", "family", "friend", "neighbour", "peer", "community_member",
    "community_group", "sports_club", "faith_community", "education_provider", "employer",
    "key_worker", "prescriber", "gp", "community_pharmacist", "crisis_team",
    "peer_support_worker", "social_worker", "amhp", "advocate", "support_worker",
    "social_prescriber", "employment_specialist", "housing_officer",
    "responsible_clinician", "helpline", "other",
]  # fmt: skip
LegalRole = Literal["nearest_relative", "lasting_power_of_attorney", "deputy"]
Contact = Literal["daily", "weekly", "monthly", "less_than_monthly", "none"]
Steadiness = Literal["consistent", "on_and_off", "new", "strained"]
Role = Literal[
    "alongside", "check_in", "early_warning", "prescribing_oversight",
    "route_back", "practical_help", "specialist_advice", "community_link",
]  # fmt: skip
When = Literal["before", "during", "after", "ongoing"]
Activity = Literal[
    "reduce_or_stop_medication", "apply_course_or_job", "overnight_stay", "firearm_licence",
    "learn_to_drive", "buy_mobile_phone", "bungee_jump", "drinks_with_friends", "parkrun",
    "join_group_or_club", "attend_place_of_worship", "time_away_from_hospital",
    "less_restrictive_alternative", "nearest_relative_discharge",
    "practitioner_self_disclosure", "personal_budget_use", "self_care_plan", "other",
]  # fmt: skip
ConcernKind = Literal[
    "harm_to_self", "harm_from_others", "harm_to_others", "relapse_or_crisis",
    "physical_health", "medication_effects", "legal_or_licensing", "money", "stigma",
    "benefits_or_placement", "organisational", "other",
]  # fmt: skip
RaisedBy = Literal["person", "practitioner", "family", "carer", "organisation", "other"]
Initiator = Literal["person", "practitioner", "family", "joint"]
Stage = Literal["team_talk", "option_talk", "decision_talk", "review"]

JURISDICTIONS: tuple[str, ...] = get_args(Jurisdiction)
PRINCIPLES: tuple[str, ...] = get_args(PrincipleId)
TENSIONS: tuple[str, ...] = get_args(TensionId)
NETWORK_KINDS: tuple[str, ...] = get_args(NetworkKind)
ROLES: tuple[str, ...] = get_args(Role)
STAGES: tuple[str, ...] = get_args(Stage)
ACTIVITIES: tuple[str, ...] = get_args(Activity)

PERSONAL_KINDS = ("partner", "family", "friend", "neighbour", "peer", "community_member")
GROUP_KINDS = ("community_group", "sports_club", "faith_community", "education_provider", "employer")
FORMAL_KINDS: tuple[str, ...] = tuple(
    k for k in NETWORK_KINDS if k not in PERSONAL_KINDS + GROUP_KINDS + ("other",)
)

ACTIVITY_CATEGORIES: dict[str, tuple[str, ...]] = {
    "reduce_or_stop_medication": ("medication",),
    "apply_course_or_job": ("education_work",),
    "overnight_stay": ("relationships", "time_away"),
    "firearm_licence": ("firearms", "sport"),
    "learn_to_drive": ("driving", "independence"),
    "buy_mobile_phone": ("money", "digital"),
    "bungee_jump": ("adventure_sport",),
    "drinks_with_friends": ("social", "alcohol"),
    "parkrun": ("physical_activity", "social"),
    "join_group_or_club": ("social", "community"),
    "attend_place_of_worship": ("faith", "community"),
    "time_away_from_hospital": ("time_away", "legal"),
    "less_restrictive_alternative": ("legal", "crisis"),
    "nearest_relative_discharge": ("legal", "family"),
    "practitioner_self_disclosure": ("practice",),
    "personal_budget_use": ("money", "personalisation"),
    "self_care_plan": ("self_care", "peer_support"),
    "other": (),
}

DEFAULT_FILLERS: dict[str, tuple[str, ...]] = {
    "alongside": (
        "partner", "family", "friend", "peer", "community_member",
        "peer_support_worker", "support_worker",
    ),
    "check_in": (*PERSONAL_KINDS, "key_worker", "peer_support_worker", "support_worker"),
    "early_warning": ("partner", "family", "friend", "key_worker", "peer_support_worker"),
    "prescribing_oversight": ("prescriber", "gp", "responsible_clinician"),
    "route_back": ("crisis_team", "key_worker", "gp", "helpline"),
    "practical_help": (
        "family", "friend", "support_worker", "social_prescriber", "housing_officer",
    ),
    "specialist_advice": ("community_pharmacist", "employment_specialist", "advocate", "gp"),
    "community_link": (
        "community_group", "sports_club", "faith_community", "community_member",
        "social_prescriber",
    ),
}  # fmt: skip

ROLE_SERVICES: tuple[str, ...] = (
    "crisis_team", "helpline", "gp", "prescriber", "responsible_clinician", "community_pharmacist",
)  # fmt: skip
"""Services that fill a safety-net need by their role (a duty line answers whether or not it
has "agreed to the plan"): agreement, awareness, newness and how often they are seen are not
issues for them (practitioner review 2026-12, defect 1)."""

INPATIENT_CONTEXTS: tuple[str, ...] = ("detained", "s17_leave")
"""Legal contexts in which the person has a ward: it is a route back and can check in."""

_WORD = re.compile(r"[a-z0-9](?:[a-z0-9_.\-]*[a-z0-9])?")


def member_group(kind: str) -> str:
    """``personal``, ``group``, ``service`` or ``other`` for a network kind."""
    if kind in PERSONAL_KINDS:
        return "personal"
    if kind in FORMAL_KINDS:
        return "service"
    return "other" if kind == "other" else "group"


def words_in(text: str | None) -> frozenset[str]:
    """The words of ``text``, lower-cased, keeping ids like ``dr-a`` or ``j.smith`` whole."""
    return frozenset(_WORD.findall(text.lower())) if text else frozenset()


_PRESCRIBER_LABEL = re.compile(r"psychiatri|prescrib|consultant|doctor", re.I)


@lru_cache(maxsize=1024)
def filling_kind(kind: str, label: str | None) -> str:
    """The kind a member fills needs as: kind ``other`` labelled as prescribing is a prescriber."""
    if kind == "other" and label and _PRESCRIBER_LABEL.search(label):
        return "prescriber"
    return kind


def fills_by_role(kind: str, label: str | None) -> bool:
    """A service that answers by its role (``ROLE_SERVICES``), never asked to agree to a plan."""
    return filling_kind(kind, label) in ROLE_SERVICES
