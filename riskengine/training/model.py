"""The scenario document, ``schema_version: 1``, as pydantic models.

A scenario is a staged case for a "What would you do?" session (seed 002: the co-produced
LYPFT clinical risk training, where the room met two decision points in each account and
then heard what actually happened). Every part a room, a report or a translation refers to
has a stable id: the scenario, each stage, fact, decision point, option and reveal.

Patches (``facts[].patch``, ``options[].patch``, ``reveal.patch``) are plain mappings in
the proposal's own shape; :mod:`riskengine.training.patch` says how they merge. They are
kept as data here and validated as a proposal only once merged, so an error in one is
reported at the patch in the scenario file.

Imports: pydantic and :mod:`riskengine.training._core` (the engine's vocabularies) only.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

from ._core import PrincipleId, TensionId

__all__ = [
    "CONTENT_NOTES",
    "SENSITIVE_TOPICS",
    "Audience",
    "Closing",
    "Consent",
    "Credit",
    "Debrief",
    "DecisionPoint",
    "Fact",
    "LearningOutcome",
    "Option",
    "Pearls",
    "Reveal",
    "Scenario",
    "Stage",
    "Support",
    "Timings",
]

Id = Annotated[
    str, Strict(), Field(min_length=1, max_length=80, pattern=r"^[a-z0-9]([a-z0-9_.\-]*[a-z0-9])?$")
]
Text = Annotated[str, Strict(), Field(min_length=1, max_length=8000)]
Line = Annotated[str, Strict(), Field(min_length=1, max_length=400)]
Minutes = Annotated[int, Strict(), Field(ge=0, le=600)]
Date = Annotated[dt.date, Field(strict=False)]

Sector = Literal[
    "nhs", "adult_social_care", "voluntary_sector", "carers", "service_users", "students",
    "housing", "police", "education", "primary_care",
]  # fmt: skip
# Topics a stage, option or reveal may touch. The sensitive ones need a content note.
Topic = Literal[
    "self_harm", "suicide", "detention", "restraint", "police", "abuse", "bereavement",
    "substance_use", "eating", "violence", "medication", "money", "family_conflict",
    "faith", "physical_health", "work", "housing", "relationships", "legal",
]  # fmt: skip
SENSITIVE_TOPICS: frozenset[str] = frozenset(
    {"self_harm", "suicide", "detention", "restraint", "police", "abuse", "bereavement",
     "substance_use", "eating", "violence"}
)  # fmt: skip
CONTENT_NOTES: tuple[str, ...] = tuple(sorted(SENSITIVE_TOPICS | {"medication", "family_conflict", "money"}))
ContentNote = Literal[
    "abuse", "bereavement", "detention", "eating", "family_conflict", "medication", "money",
    "police", "restraint", "self_harm", "substance_use", "suicide", "violence",
]  # fmt: skip
CreditRole = Literal[
    "storyteller", "co_author", "steering_group", "organisation", "facilitator", "reviewer",
]  # fmt: skip
Display = Literal["full_name", "first_name", "initials", "pseudonym", "anonymous"]
ConsentScope = Literal["live_with_storyteller", "text_without_storyteller", "recorded", "internal", "public"]
Delivery = Literal["storyteller_live", "text", "recorded"]
Origin = Literal["composite", "fictional", "real_with_consent"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class LearningOutcome(_Model):
    """What a participant should be able to do afterwards."""

    id: Id
    text: Text


class Audience(_Model):
    """Who the session is for: the sectors in the room and the roles people hold."""

    sectors: tuple[Sector, ...] = ()
    roles: tuple[Line, ...] = ()


class Timings(_Model):
    """Minutes for the parts around the stages (the stages carry their own)."""

    prebrief: Minutes = 10
    closing: Minutes = 15
    break_: Minutes = Field(default=0, alias="break")


class Support(_Model):
    """Where people can get help during and after the session."""

    crisis: Text
    staff: Text | None = None
    facilitator_note: Text | None = None


class Credit(_Model):
    """Someone who made the scenario, and how they want to be named.

    ``name`` is how they are shown. With ``display: anonymous`` there is no name; with
    ``pseudonym``, ``name`` is the pseudonym, never the real name.
    """

    role: CreditRole
    display: Display
    name: Line | None = None
    note: Line | None = None

    @model_validator(mode="after")
    def _name_fits_display(self) -> Credit:
        if self.display == "anonymous" and self.name is not None:
            raise ValueError("an anonymous credit has no name")
        if self.display != "anonymous" and self.name is None:
            raise ValueError(f"a credit shown as {self.display} needs the name to show")
        return self

    def shown(self) -> str:
        """The credit as printed."""
        return self.name or "anonymous"


class Consent(_Model):
    """The consent record for using a story: a reference to the signed form, never the form.

    Follows Patient Voices' staged consent (Hardy, *First do no harm*): what it covers, when
    it was given and must be reviewed, how to withdraw, and whether excerpts may be used.
    """

    reference: Line = Field(description="where the signed form is kept (a reference, never the form itself)")
    scope: tuple[ConsentScope, ...] = Field(min_length=1)
    granted: Date
    review_by: Date
    withdrawal_contact: Line
    excerpting: Literal["permitted", "not_permitted"] = "not_permitted"
    note: Text | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Consent:
        if self.review_by <= self.granted:
            raise ValueError("review_by must come after granted")
        return self


class Fact(_Model):
    """Something the room learns at a stage. Its patch joins the proposal from that stage on."""

    id: Id
    text: Text
    patch: dict[str, Any] = Field(default_factory=dict)
    topics: tuple[Topic, ...] = ()


class Option(_Model):
    """One thing the room could do, and the plan it would make (a patch to the proposal)."""

    id: Id
    text: Text
    principles: tuple[PrincipleId, ...] = ()
    tensions: tuple[TensionId, ...] = ()
    topics: tuple[Topic, ...] = ()
    patch: dict[str, Any] = Field(default_factory=dict)


class Reveal(_Model):
    """What actually happened: the storyteller's part, never "the right answer"."""

    id: Id
    what_happened: Text
    maps_to: Id | None = Field(default=None, description="the option closest to what happened, if any")
    patch: dict[str, Any] = Field(
        default_factory=dict,
        description="the plan as it happened: added to the mapped option's patch, or on its own",
    )
    wish: Text | None = Field(default=None, description="what the storyteller wishes had happened")
    reflection: Text | None = None
    delivery: Delivery = "text"
    transcript: Text | None = Field(default=None, description="required when the reveal is recorded")
    topics: tuple[Topic, ...] = ()

    @model_validator(mode="after")
    def _recorded_has_transcript(self) -> Reveal:
        if self.delivery == "recorded" and self.transcript is None:
            raise ValueError("a recorded reveal needs a transcript")
        return self


class Pearls(_Model):
    """Debrief prompts by PEARLS phase (Eppich & Cheng 2015)."""

    reactions: tuple[Text, ...] = ()
    description: tuple[Text, ...] = ()
    analysis: tuple[Text, ...] = ()
    summary: tuple[Text, ...] = ()


class Debrief(_Model):
    """The debrief after a reveal: PEARLS prompts, and which plans the engine compares.

    ``compare`` names option ids and ``happened``; empty means every option and what happened.
    """

    pearls: Pearls = Pearls()
    compare: tuple[Id, ...] = ()


class DecisionPoint(_Model):
    """A "What would you do?" moment."""

    id: Id
    prompt: Text
    options: tuple[Option, ...] = Field(min_length=1)
    free_text: Annotated[bool, Strict()] = True
    table_talk_minutes: Minutes = 5
    revote: Annotated[bool, Strict()] = False
    reveal: Reveal | None = None
    debrief: Debrief | None = None


class Stage(_Model):
    """A part of the story. ``next`` jumps forward to a later stage (default: the next one)."""

    id: Id
    title: Line
    text: Text
    minutes: Minutes = 10
    facts: tuple[Fact, ...] = ()
    topics: tuple[Topic, ...] = ()
    decision_point: DecisionPoint | None = None
    next: Id | None = None
    facilitator_note: Text | None = None


class Closing(_Model):
    """The closing reflection (Gibbs 1988); empty lists take the standard questions."""

    text: Text | None = None
    gibbs: dict[
        Literal["description", "feelings", "evaluation", "analysis", "conclusion", "action_plan"],
        tuple[Text, ...],
    ] = Field(default_factory=dict)


class Scenario(_Model):
    """A staged case for a "What would you do?" session."""

    schema_version: Literal[1]
    id: Id
    title: Line
    version: Annotated[str, Strict(), Field(pattern=r"^\d+\.\d+\.\d+$")]
    language: Annotated[str, Strict(), Field(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")] = "en-GB"
    origin: Origin = Field(description="composite or fictional; a real story needs a consent record")
    summary: Text
    audience: Audience = Audience()
    learning_outcomes: tuple[LearningOutcome, ...] = ()
    timings: Timings = Timings()
    content_notes: tuple[ContentNote, ...] = ()
    support: Support
    credits: tuple[Credit, ...] = ()
    consent: Consent | None = None
    sources: tuple[Line, ...] = Field(default=(), description="the seeds or published sources it draws on")
    proposal: dict[str, Any] | None = Field(
        default=None, description="the base proposal (contract v1), inline"
    )
    proposal_file: Line | None = Field(
        default=None, description="the base proposal as a file, relative to the scenario"
    )
    stages: tuple[Stage, ...] = Field(min_length=1)
    closing: Closing = Closing()

    @model_validator(mode="after")
    def _one_base(self) -> Scenario:
        if (self.proposal is None) == (self.proposal_file is None):
            raise ValueError(
                "give the base proposal inline (proposal) or as a file (proposal_file), not both"
            )
        return self

    def decision_points(self) -> tuple[DecisionPoint, ...]:
        """Every decision point, in story order."""
        return tuple(s.decision_point for s in self.stages if s.decision_point is not None)

    def decision_point(self, dp_id: str) -> DecisionPoint:
        """The decision point with this id (``KeyError`` if none)."""
        for dp in self.decision_points():
            if dp.id == dp_id:
                return dp
        raise KeyError(dp_id)

    def stage_of(self, dp_id: str) -> Stage:
        """The stage that holds a decision point."""
        for stage in self.stages:
            if stage.decision_point is not None and stage.decision_point.id == dp_id:
                return stage
        raise KeyError(dp_id)
