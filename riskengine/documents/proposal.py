"""The proposal document, contract v1 (``shared/contract/proposal-v1.md``), as types.

Only ``schema_version``, ``id``, ``jurisdiction``, ``as_of`` and
``proposal.activity`` are required. Missing information is something to prompt
about, never an error; unknown fields and values outside a vocabulary are errors.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from riskengine.documents.vocab import (
    NETWORK_KINDS,
    Activity,
    CapacityStatus,
    ConcernKind,
    Contact,
    DecisionRole,
    Initiator,
    Jurisdiction,
    LegalContext,
    LegalRole,
    NetworkKind,
    RaisedBy,
    Steadiness,
)

__all__ = [
    "AdvanceStatement",
    "Attempt",
    "Capacity",
    "Concern",
    "ConditionProposed",
    "CrisisPlan",
    "DecisionProcess",
    "Disagreement",
    "InformationShared",
    "Medication",
    "Member",
    "Mitigation",
    "Person",
    "Plan",
    "Proposal",
    "ProposalDetails",
    "SharingRule",
    "SureTest",
    "Timing",
]

# The JSON Schema (``riskengine schema proposal``) and these types accept exactly the same
# documents (tests/test_schema_agreement.py), so each type below reads values as JSON Schema does.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _iso_date(value: Any) -> Any:
    """A date (from YAML) or text of the form 2026-11-22, as JSON Schema's ``format: date`` has it:
    never a number, a date-time or another spelling."""
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("date_from_datetime_inexact", "should be a date, without a time")
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value  # an impossible date such as 2026-02-30 still fails below
    raise PydanticCustomError("date_type", "should be a date like 2026-11-22")


def _whole(value: Any) -> Any:
    """A number with nothing after the point (JSON's ``5.0``) is the whole number it names, as JSON
    Schema's ``integer`` reads it; ``true`` and ``false`` are never numbers."""
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "should be a whole number")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Date = Annotated[dt.date, Field(strict=False), BeforeValidator(_iso_date)]
Text = Annotated[str, Strict(), Field(min_length=1, max_length=4000)]
_TAG_MAX = 200
Tag = Annotated[str, Strict(), Field(min_length=1, max_length=_TAG_MAX)]
Ref = Annotated[str, Strict(), Field(min_length=1, max_length=120, pattern=r"^\S(.*\S)?$")]
Bool = Annotated[bool, Strict()]
# Whole numbers fit in 64 bits: what every backend (and JSON consumers) can take.
INT64_MAX = 2**63 - 1
Count = Annotated[int, Strict(), Field(ge=0, le=INT64_MAX), BeforeValidator(_whole)]
_OPEN_KIND: dict[str, Any] = {
    "anyOf": [{"enum": list(NETWORK_KINDS)}, {"type": "string", "minLength": 1, "maxLength": _TAG_MAX}],
    "description": "a kind from the vocabulary, or any other (read as 'other', kept as kind_label)",
}


def _text_or(schema: dict[str, Any]) -> None:
    """A list whose items may also be bare text (the item's ``text``)."""
    schema["items"] = {"anyOf": [schema["items"], {"type": "string", "minLength": 1, "maxLength": 4000}]}


def _distinct_pair(schema: dict[str, Any]) -> None:
    """A link joins two different members."""
    schema["items"]["uniqueItems"] = True


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Capacity(_Model):
    """Capacity for this decision (Mental Capacity Act 2005 s1: presumed)."""

    status: CapacityStatus = "presumed"
    note: Text | None = None


class CrisisPlan(_Model):
    """Whether a crisis plan exists and the route back into help it names."""

    exists: Bool | None = None
    route_back: Text | None = None


class SharingRule(_Model):
    """One of the person's own rules about who may be told what."""

    with_: Ref = Field(alias="with")
    allowed: Bool
    note: Text | None = None


class AdvanceStatement(_Model):
    """The person's advance statement, as far as the decision needs it."""

    exists: Bool | None = None
    information_sharing: tuple[SharingRule, ...] = ()


class Medication(_Model):
    """A medicine the person takes; ``class`` is an open list (e.g. ``mood_stabiliser``).

    ``changing`` (an additive extension) marks the medicines the proposal would change,
    so advice about one medicine is not given for another the person also takes.
    """

    name: Tag
    class_: Tag | None = Field(default=None, alias="class")
    changing: Bool | None = None


class Person(_Model):
    """The person the decision belongs to. No names, dates of birth or NHS numbers."""

    ref: Ref | None = None
    legal_context: LegalContext = "unknown"
    capacity: Capacity = Capacity()
    preferred_decision_role: DecisionRole = "not_stated"
    what_matters: Text | None = None
    strengths: tuple[Tag, ...] = ()
    interests: tuple[Tag, ...] = ()
    early_warning_signs: tuple[Tag, ...] = ()
    crisis_plan: CrisisPlan | None = None
    advance_statement: AdvanceStatement | None = None
    medication: tuple[Medication, ...] = ()
    physical_health: tuple[Tag, ...] = ()
    substance_use: tuple[Tag, ...] = ()
    recent_crisis_days: Count | None = None


class Member(_Model):
    """Someone in the person's network (the Connecting People map)."""

    id: Ref
    # The vocabulary, or any other tag (read as 'other', the original kept in kind_label).
    kind: Annotated[NetworkKind, WithJsonSchema(_OPEN_KIND)]
    kind_label: Tag | None = None
    legal_roles: tuple[LegalRole, ...] = ()
    closeness: Annotated[int, Strict(), Field(ge=1, le=5), BeforeValidator(_whole)] | None = None
    contact: Contact | None = None
    known_for_months: Count | None = None
    steadiness: Steadiness | None = None
    knows_about_plan: Bool | None = None
    agreed_to_help: Bool | None = None
    does_together: tuple[Tag, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _open_kind(cls, data: Any) -> Any:
        """Map a kind outside the vocabulary to ``other``, keeping it as ``kind_label``."""
        if isinstance(data, dict):
            kind = data.get("kind")
            if isinstance(kind, str) and kind not in NETWORK_KINDS and 1 <= len(kind) <= _TAG_MAX:
                return {**data, "kind": "other", "kind_label": data.get("kind_label", kind)}
        return data


class Concern(_Model):
    """A worry someone has raised, kept apart by who raised it."""

    kind: ConcernKind
    raised_by: RaisedBy | None = None
    text: Text | None = None


class ConditionProposed(_Model):
    """A condition someone wants to place on going ahead."""

    by: RaisedBy | None = None
    text: Text


class Timing(_Model):
    """When the activity starts and whether it repeats."""

    starts: Date | None = None
    ends: Date | None = None
    repeats: Tag | None = None


class ProposalDetails(_Model):
    """What the person wants to do."""

    model_config = ConfigDict(
        json_schema_extra={  # activity 'other' says what kind of thing it is
            "if": {"properties": {"activity": {"const": "other"}}, "required": ["activity"]},
            "then": {"properties": {"categories": {"minItems": 1}}, "required": ["categories"]},
        }
    )

    title: Text | None = None
    activity: Activity
    categories: tuple[Tag, ...] = ()
    initiated_by: Initiator | None = None
    goal: Text | None = None
    hoped_for_benefits: tuple[Tag, ...] = ()
    concerns: tuple[Concern, ...] = ()
    # An additive extension: worries were asked about, and ``concerns`` holds all that were
    # raised, even if that is none ("asked, nothing came up" is not "not asked").
    concerns_asked: Bool | None = None
    conditions_proposed: tuple[ConditionProposed, ...] = ()
    options_considered: tuple[Tag, ...] = ()
    timing: Timing | None = None


class InformationShared(_Model):
    """A piece of information shared with the person, and in what form."""

    topic: Text
    format: Tag | None = None


class Disagreement(_Model):
    """A disagreement recorded rather than erased."""

    by: Ref | None = None
    text: Text

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        """Accept a bare string as the disagreement's text."""
        return {"text": data} if isinstance(data, str) else data


class SureTest(_Model):
    """The SURE test (Légaré et al 2010): four yes/no answers from the person."""

    sure: Bool | None = None
    understand: Bool | None = None
    risk_benefit: Bool | None = None
    encouragement: Bool | None = None


class DecisionProcess(_Model):
    """How the decision is being made."""

    participants: tuple[Ref, ...] = ()
    person_view_recorded: Bool | None = None
    information_shared: tuple[InformationShared, ...] = ()
    disagreements: tuple[Disagreement, ...] = Field(default=(), json_schema_extra=_text_or)
    sure: SureTest | None = None


class Mitigation(_Model):
    """Something the plan does to make a good outcome likelier, and who does it."""

    text: Text
    owner: Ref | None = None
    draws_on: tuple[Tag, ...] = ()


class Plan(_Model):
    """The plan as agreed so far."""

    mitigations: tuple[Mitigation, ...] = ()
    contingency: Text | None = None
    review_on: Date | None = None
    success_looks_like: Text | None = None


class Attempt(_Model):
    """An earlier, similar decision and what happened (learning from experience)."""

    what: Text
    when: (
        Annotated[int, Strict(), Field(ge=-INT64_MAX - 1, le=INT64_MAX), BeforeValidator(_whole)]
        | Date
        | Tag
        | None
    ) = None
    outcome: Tag | None = None
    learning: Text | None = None


class Proposal(_Model):
    """One decision a person is thinking about, the people around them, and the process."""

    schema_version: Annotated[Literal[1], BeforeValidator(_whole)]
    id: Ref
    jurisdiction: Jurisdiction
    as_of: Date
    person: Person = Person()
    network: tuple[Member, ...] = ()
    links: tuple[tuple[Ref, Ref], ...] = Field(default=(), json_schema_extra=_distinct_pair)
    proposal: ProposalDetails
    decision_process: DecisionProcess = DecisionProcess()
    plan: Plan = Plan()
    history: tuple[Attempt, ...] = ()

    @field_validator("links", mode="before")
    @classmethod
    def _links_as_tuples(cls, value: Any) -> Any:
        """YAML gives pairs as lists; accept them as pairs."""
        if isinstance(value, list):
            return [tuple(v) if isinstance(v, list) else v for v in value]
        return value
