"""The FHIR codes and URLs the mapping reads and writes, in one place.

Imports nothing from riskengine. Where FHIR or UK Core has no element or code for an idea of
the proposal contract, the mapping uses a riskengine CodeSystem or extension under
:data:`CANONICAL`. That base is a placeholder (``example.org``) until the project owns a
domain: change it here, once, before publishing profiles.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CANONICAL",
    "CONSENT_SCOPE",
    "CS",
    "EXT",
    "FAMILY_ROLE_CODES",
    "KIND_SYNONYMS",
    "LEGAL_CONTEXT_SYNONYMS",
    "NS",
    "PARTNER_ROLE_CODES",
    "PREFETCH",
    "UKCORE_LEGAL_STATUS",
    "V3_ROLE_CODE",
    "V3_ROLE_KINDS",
]

CANONICAL: Final = "https://riskengine.example.org/fhir"

V3_ROLE_CODE: Final = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
CONSENT_SCOPE: Final = "http://terminology.hl7.org/CodeSystem/consentscope"


class CS:
    """riskengine CodeSystems: each code is the contract's own vocabulary id."""

    ACTIVITY: Final = f"{CANONICAL}/CodeSystem/activity"
    ACTIVITY_CATEGORY: Final = f"{CANONICAL}/CodeSystem/activity-category"
    RELATIONSHIP_KIND: Final = f"{CANONICAL}/CodeSystem/relationship-kind"
    LEGAL_ROLE: Final = f"{CANONICAL}/CodeSystem/legal-role"
    LEGAL_CONTEXT: Final = f"{CANONICAL}/CodeSystem/legal-context"
    CONCERN_KIND: Final = f"{CANONICAL}/CodeSystem/concern-kind"
    SAFETY_NET_ROLE: Final = f"{CANONICAL}/CodeSystem/safety-net-role"
    # what part of the plan a CarePlan.activity is: proposal | mitigation | contingency | review
    PLAN_PART: Final = f"{CANONICAL}/CodeSystem/plan-part"
    # CarePlan.category: positive-risk-taking; Condition.category: concern | physical-health |
    # substance-use; Goal.category: decision-goal | hoped-for-benefit; Consent.category:
    # advance-statement | information-sharing; RequestGroup.action.code: prompt | knowledge | need
    CATEGORY: Final = f"{CANONICAL}/CodeSystem/category"
    # the ids of the shipped rules (each ruleset defines its part of this CodeSystem)
    RULE: Final = f"{CANONICAL}/CodeSystem/rule"


class EXT:
    """riskengine extensions (StructureDefinition URLs), for what FHIR has no element for."""

    NETWORK_TIE: Final = f"{CANONICAL}/StructureDefinition/network-tie"
    WHAT_MATTERS: Final = f"{CANONICAL}/StructureDefinition/what-matters"
    STRENGTH: Final = f"{CANONICAL}/StructureDefinition/strength"
    INTEREST: Final = f"{CANONICAL}/StructureDefinition/interest"
    EARLY_WARNING_SIGN: Final = f"{CANONICAL}/StructureDefinition/early-warning-sign"
    CAPACITY: Final = f"{CANONICAL}/StructureDefinition/capacity"
    DECISION_ROLE: Final = f"{CANONICAL}/StructureDefinition/preferred-decision-role"
    CRISIS_PLAN: Final = f"{CANONICAL}/StructureDefinition/crisis-plan"
    RECENT_CRISIS_DAYS: Final = f"{CANONICAL}/StructureDefinition/recent-crisis-days"
    INITIATED_BY: Final = f"{CANONICAL}/StructureDefinition/initiated-by"
    OPTION_CONSIDERED: Final = f"{CANONICAL}/StructureDefinition/option-considered"
    CONDITION_PROPOSED: Final = f"{CANONICAL}/StructureDefinition/condition-proposed"
    CONCERNS_ASKED: Final = f"{CANONICAL}/StructureDefinition/concerns-asked"
    PERSON_VIEW_RECORDED: Final = f"{CANONICAL}/StructureDefinition/person-view-recorded"
    INFORMATION_SHARED: Final = f"{CANONICAL}/StructureDefinition/information-shared"
    DISAGREEMENT: Final = f"{CANONICAL}/StructureDefinition/disagreement"
    SURE: Final = f"{CANONICAL}/StructureDefinition/sure-test"
    EARLIER_ATTEMPT: Final = f"{CANONICAL}/StructureDefinition/earlier-attempt"
    RAISED_BY: Final = f"{CANONICAL}/StructureDefinition/raised-by"
    PERSON_WORDS: Final = f"{CANONICAL}/StructureDefinition/person-words"
    MEDICATION_CLASS: Final = f"{CANONICAL}/StructureDefinition/medication-class"
    MEDICATION_CHANGING: Final = f"{CANONICAL}/StructureDefinition/medication-changing"
    # produced only (evaluation -> FHIR)
    SAFETY_NET_NEED: Final = f"{CANONICAL}/StructureDefinition/safety-net-need"
    RULESET_SHA256: Final = f"{CANONICAL}/StructureDefinition/ruleset-sha256"
    # who does a plan step, when that is not a member FHIR can reference ("the team", a role)
    OWNER: Final = f"{CANONICAL}/StructureDefinition/owner"
    DRAWS_ON: Final = f"{CANONICAL}/StructureDefinition/draws-on"
    CAPACITY_NOTE: Final = f"{CANONICAL}/StructureDefinition/capacity-note"
    ADVANCE_STATEMENT: Final = f"{CANONICAL}/StructureDefinition/advance-statement"
    SUCCESS_LOOKS_LIKE: Final = f"{CANONICAL}/StructureDefinition/success-looks-like"


class NS:
    """riskengine identifier systems."""

    PERSON_PSEUDONYM: Final = f"{CANONICAL}/NamingSystem/person-pseudonym"
    PROPOSAL: Final = f"{CANONICAL}/NamingSystem/proposal"
    RULE: Final = f"{CANONICAL}/NamingSystem/rule"
    RULESET: Final = f"{CANONICAL}/NamingSystem/ruleset"
    ENGINE: Final = f"{CANONICAL}/NamingSystem/engine"
    # a network member's id in the proposal, when it is not (or cannot be) the FHIR logical id
    MEMBER: Final = f"{CANONICAL}/NamingSystem/network-member"
    # a kind of person, for a sharing rule about (say) "family" rather than one named member
    KIND: Final = f"{CANONICAL}/NamingSystem/relationship-kind"


# HL7 v3 RoleCode (the R4 RelatedPerson.relationship binding, also used by UK Core) to
# relationship kinds. Codes not listed here are kept as `other` with their display as label.
PARTNER_ROLE_CODES: Final = frozenset({"SPS", "HUSB", "WIFE", "DOMPART", "SIGOTHR"})
FAMILY_ROLE_CODES: Final = frozenset(
    {
        "FAMMEMB", "CHILD", "CHLDADOPT", "CHLDFOST", "CHLDINLAW", "DAU", "SON", "NCHILD", "STPCHLD",
        "PRN", "MTH", "FTH", "NPRN", "NMTH", "NFTH", "STPPRN", "STPMTH", "STPFTH", "PRNINLAW",
        "MTHINLAW", "FTHINLAW", "SIB", "BRO", "SIS", "NSIB", "HSIB", "STPSIB", "SIBINLAW",
        "GRPRN", "GRMTH", "GRFTH", "GRNDCHILD", "GRNDDAU", "GRNDSON", "GGRPRN", "AUNT", "UNCLE",
        "COUSN", "NIECE", "NEPHEW", "NIENEPH", "EXT", "INLAW",
    }
)  # fmt: skip
V3_ROLE_KINDS: Final = {
    "FRND": "friend",
    "NBOR": "neighbour",
    **{code: "partner" for code in PARTNER_ROLE_CODES},
    **{code: "family" for code in FAMILY_ROLE_CODES},
}

# Free-text roles a case-management export may carry (CareTeam.participant.role.text or a
# coding's display), lower-cased, to relationship kinds. Exact phrases only, never guesses.
KIND_SYNONYMS: Final = {
    "care coordinator": "key_worker",
    "care co-ordinator": "key_worker",
    "key worker": "key_worker",
    "general practitioner": "gp",
    "gp": "gp",
    "pharmacist": "community_pharmacist",
    "community pharmacist": "community_pharmacist",
    "crisis team": "crisis_team",
    "crisis resolution and home treatment team": "crisis_team",
    "home treatment team": "crisis_team",
    "peer support worker": "peer_support_worker",
    "social worker": "social_worker",
    "approved mental health professional": "amhp",
    "amhp": "amhp",
    "advocate": "advocate",
    "independent mental health advocate": "advocate",
    "support worker": "support_worker",
    "social prescriber": "social_prescriber",
    "link worker": "social_prescriber",
    "community navigator": "social_prescriber",
    "local area coordinator": "social_prescriber",
    "employment specialist": "employment_specialist",
    "housing officer": "housing_officer",
    "responsible clinician": "responsible_clinician",
    "prescriber": "prescriber",
    "helpline": "helpline",
    "employer": "employer",
}

# UK Core's Mental Health Act legal status classifications (copied by HL7 UK from the NHS
# Data Dictionary and the NHS Wales Data Dictionary). The same code means different things in
# the two systems (35 is guardianship in England's list and a CTO in Wales's), so the system
# decides. Codes not listed (98 not applicable, 99 not known) are not read.
UKCORE_LEGAL_STATUS_ENGLAND: Final = (
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-LegalStatusClassificationEngland"
)
UKCORE_LEGAL_STATUS_WALES: Final = "https://fhir.hl7.org.uk/CodeSystem/UKCore-LegalStatusClassificationWales"
_DETAINED_ENGLAND = [f"{n:02d}" for n in (*range(2, 11), *range(12, 21))] + ["31", "32", "37", "38"]
_DETAINED_WALES = [f"{n:02d}" for n in (*range(2, 11), *range(12, 21))] + ["30", "31", "32", "34"]
UKCORE_LEGAL_STATUS: Final = {
    UKCORE_LEGAL_STATUS_ENGLAND: {
        "01": "informal", **dict.fromkeys(_DETAINED_ENGLAND, "detained"), "35": "guardianship", "36": "guardianship",
    },
    UKCORE_LEGAL_STATUS_WALES: {
        "01": "informal", **dict.fromkeys(_DETAINED_WALES, "detained"), "35": "community_treatment_order",
    },
}  # fmt: skip

# Flag.code / Basic.code text (lower-cased) to legal contexts. Exact phrases only.
LEGAL_CONTEXT_SYNONYMS: Final = {
    "informal": "informal",
    "informal patient": "informal",
    "community treatment order": "community_treatment_order",
    "cto": "community_treatment_order",
    "section 17 leave": "s17_leave",
    "s17 leave": "s17_leave",
    "detained": "detained",
    "conditional discharge": "conditional_discharge",
    "guardianship": "guardianship",
    "deprivation of liberty": "deprivation_of_liberty",
    "deprivation of liberty safeguards": "deprivation_of_liberty",
}


# CDS Hooks prefetch templates (patient-view context) for the resources the mapping reads.
PREFETCH: Final[dict[str, str]] = {
    "patient": "Patient/{{context.patientId}}",
    "relatedPersons": "RelatedPerson?patient={{context.patientId}}",
    "careTeams": "CareTeam?patient={{context.patientId}}&status=active,proposed",
    "consents": "Consent?patient={{context.patientId}}&status=active",
    "carePlans": "CarePlan?patient={{context.patientId}}&status=draft",
    "goals": "Goal?patient={{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "medications": "MedicationStatement?patient={{context.patientId}}",
    "flags": "Flag?patient={{context.patientId}}&status=active",
}
