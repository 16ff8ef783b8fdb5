"""The service's own documents (pydantic), for validation and for the OpenAPI description.

The proposal and evaluation documents are riskengine's own models (contract v1); these are
the envelopes around them: problems, the ruleset listing, health, and CDS Hooks 2.0
requests, responses and feedback.

May import: pydantic and the standard library.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Card",
    "CdsDiscovery",
    "CdsFeedback",
    "CdsRequest",
    "CdsResponse",
    "CdsService",
    "Health",
    "Readiness",
    "RulesetListing",
]


class _Open(BaseModel):
    """CDS Hooks documents may carry extensions: unknown keys are kept, not refused."""

    model_config = ConfigDict(extra="allow")


class RulesetEntry(BaseModel):
    """One loaded ruleset."""

    id: str
    version: str
    sha256: str
    origin: str


class RulesetListing(BaseModel):
    """What every worker has loaded."""

    engine_version: str
    backend: str
    set_sha256: str = Field(description="one hash over every ruleset's id, version and file hash")
    rulesets: list[RulesetEntry]


class Health(BaseModel):
    """The server process is up."""

    status: Literal["ok"]


class Readiness(BaseModel):
    """Whether every worker has loaded the rulesets."""

    ready: bool
    workers: int
    loaded: int
    busy: int
    waiting: int
    replaced: int


class Coding(_Open):
    """A FHIR Coding."""

    system: str | None = None
    code: str | None = None
    display: str | None = None


class CdsService(BaseModel):
    """One service in the discovery document."""

    hook: str
    id: str
    title: str
    description: str
    prefetch: dict[str, str]
    usageRequirements: str | None = None


class CdsDiscovery(BaseModel):
    """``GET /cds-services``."""

    services: list[CdsService]


class FhirAuthorization(_Open):
    """Credentials for the FHIR server (never used: this service fetches nothing)."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str
    subject: str


class PatientViewContext(_Open):
    """The patient-view hook's context."""

    userId: str
    patientId: str = Field(min_length=1)
    encounterId: str | None = None


class CdsRequest(_Open):
    """A hook call (this service answers the patient-view hook)."""

    hook: Literal["patient-view"]
    hookInstance: str = Field(min_length=1, max_length=200)
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: PatientViewContext
    prefetch: dict[str, Any] | None = None


class Link(_Open):
    """A card link."""

    label: str
    url: str
    type: Literal["absolute", "smart"]


class Source(_Open):
    """Where a card came from."""

    label: str


class Action(_Open):
    """A suggestion's action."""

    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None


class Suggestion(_Open):
    """A set of actions the clinician may accept."""

    label: str
    uuid: str
    isRecommended: bool = False
    actions: list[Action]


class Card(_Open):
    """A CDS Hooks card. ``indicator`` is always ``info``: riskengine never grades."""

    uuid: str
    summary: str = Field(max_length=140)
    detail: str
    indicator: Literal["info"]
    source: Source
    suggestions: list[Suggestion] = []
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] = []
    links: list[Link] = []


class CdsResponse(BaseModel):
    """A hook call's answer."""

    cards: list[Card]


class OverrideReason(_Open):
    """Why a card was set aside, in the clinician's words and/or a code."""

    reason: Coding | None = None
    userComment: str | None = Field(default=None, max_length=10_000)


class AcceptedSuggestion(_Open):
    """A suggestion the clinician took up."""

    id: str


class FeedbackItem(_Open):
    """What happened to one card."""

    card: str
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] = []
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: str


class CdsFeedback(_Open):
    """``POST /cds-services/{id}/feedback``."""

    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100)
