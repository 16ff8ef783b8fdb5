"""The evaluation document, contract v1 (``shared/contract/evaluation-v1.md``), as types.

Sections follow the conversation. There is no score, level, colour or verdict
field, and none may be added: the promise is tested against this schema.

Additive extensions to v1 (no version bump needed, recorded in the README):
``provenance.backend``, ``provenance.rulesets[].origin``, ``provenance.disabled_rules``,
``principles[].gaps``, ``knowledge[].topic``, ``knowledge[].jurisdictions``,
``safety_net.needs[].fillable_by``, ``safety_net.needs[].issues_by_member``,
``single_points_of_failure[].because``, ``could_share``, ``could_share_kinds`` and
``cuts_off_services``, ``consent_conflicts[].person_words`` and ``mitigation``, the
issue values ``rarely_in_contact`` and ``not_known``, ``prompts_set_aside``, ``brief``, ``prompts[].stands_for`` and ``knowledge[].to_person``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field

from riskengine.documents.vocab import Jurisdiction, PrincipleId, Role, Stage, TensionId, When

__all__ = [
    "Benefit",
    "BriefItem",
    "ConsentConflict",
    "DisabledRule",
    "Evaluation",
    "KnowledgeItem",
    "LivingYourLife",
    "MitigationItem",
    "NeedIssue",
    "Principle",
    "Prompt",
    "Provenance",
    "Review",
    "RulesetRef",
    "SafetyNet",
    "SafetyNetNeed",
    "SinglePointOfFailure",
    "SourceRef",
    "Tension",
    "TraceEntry",
]

RecordFiller = Literal["crisis_plan", "ward"]
Issue = Literal[
    "not_agreed", "not_aware", "on_and_off", "new", "strained",
    "consent_conflict", "only_one", "rarely_in_contact", "not_known",
]  # fmt: skip


Status = Literal["in_place", "fragile", "missing"]
PrincipleStatus = Literal["evident", "partly_evident", "not_yet_evident"]


_O = TypeVar("_O", bound="_Out")
_DEFAULTS: dict[type, tuple[tuple[str, Any], ...]] = {}
# BaseModel's own slots, set through their descriptors: frozen models refuse plain assignment,
# and this is more than twice as fast as object.__setattr__ by name.
_SLOTS = BaseModel.__dict__
_set_dict = _SLOTS["__dict__"].__set__
_set_fields_set = _SLOTS["__pydantic_fields_set__"].__set__
_set_extra = _SLOTS["__pydantic_extra__"].__set__
_set_private = _SLOTS["__pydantic_private__"].__set__


def _defaults(cls: type[BaseModel]) -> tuple[tuple[str, Any], ...]:
    """Each field's default, read once per class (output defaults are immutable: tuples, None)."""
    found = _DEFAULTS.get(cls)
    if found is None:
        found = _DEFAULTS[cls] = tuple(
            (name, info.get_default(call_default_factory=True))
            for name, info in cls.model_fields.items()
            if not info.is_required()
        )
    return found


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def build(cls: type[_O], **values: Any) -> _O:
        """Construct from values already known to be valid: assembly's hot path, no validation.

        Does what ``model_construct`` does for a complete set of field values (defaults
        are filled in), at a fraction of its cost; tests pin it to ``model_construct``.
        """
        defaults = _DEFAULTS.get(cls)  # looked up here: this runs for every output item
        for name, default in _defaults(cls) if defaults is None else defaults:
            if name not in values:
                values[name] = default
        obj = cls.__new__(cls)
        _set_dict(obj, values)
        _set_fields_set(obj, set(values))
        _set_extra(obj, None)
        _set_private(obj, None)
        return obj


# Per output class: its field names in declaration order (None if any field has an alias), and
# each field's name with its JSON key.
_KEYS: dict[type, tuple[tuple[str, ...] | None, tuple[tuple[str, str], ...]]] = {}


def _keys(cls: type[BaseModel]) -> tuple[tuple[str, ...] | None, tuple[tuple[str, str], ...]]:
    found = _KEYS.get(cls)
    if found is None:
        pairs = tuple((name, info.alias or name) for name, info in cls.model_fields.items())
        plain = all(name == key for name, key in pairs)
        found = _KEYS[cls] = (tuple(name for name, _ in pairs) if plain else None, pairs)
    return found


def _plain(obj: Any) -> dict[str, Any]:
    """orjson's hook for an output model: its fields by alias, in declaration order (as pydantic)."""
    found = _KEYS.get(type(obj))  # a dict look-up, not isinstance: pydantic's metaclass makes that slow
    if found is None:
        if not isinstance(obj, _Out):
            raise TypeError(type(obj).__name__)
        found = _keys(type(obj))
    names, pairs = found
    values: dict[str, Any] = obj.__dict__
    if names is not None and tuple(values) == names:  # most models: the fields as they are
        return values
    return {key: values[name] for name, key in pairs}


def dumps(model: _Out, *, indent: bool) -> str:
    """``model_dump_json(by_alias=True)`` (``indent=2`` with ``indent``), the same bytes, faster.

    orjson writes what pydantic's serialiser writes for these models (both print floats the
    shortest way that reads back exactly, neither escapes non-ASCII or "/", the same short
    escapes); a test compares the two on every golden and on generated values. What orjson
    cannot write (an integer beyond 64 bits) falls back to pydantic.
    """
    try:
        return orjson.dumps(model, default=_plain, option=orjson.OPT_INDENT_2 if indent else 0).decode()
    except (orjson.JSONEncodeError, TypeError):
        return model.model_dump_json(by_alias=True, indent=2 if indent else None)


class SourceRef(_Out):
    """Where a rule's idea or a knowledge item's fact comes from."""

    title: str
    seed: str | None = None
    citation: str | None = None
    url: str | None = None
    section: str | None = None
    checked: dt.date | None = None
    review_by: dt.date | None = None


class RulesetRef(_Out):
    """A ruleset that took part, with the hash of its file."""

    id: str
    version: str
    sha256: str
    origin: str = Field(
        description="where the ruleset came from, never a path: 'shipped' (its text is one riskengine "
        "ships), else the overlay's declared origin, else 'overlay'"
    )


class DisabledRule(_Out):
    """A shipped rule an overlay switched off, with the recorded reason."""

    rule: str
    ruleset: str
    by: str
    reason: str


class Provenance(_Out):
    """What produced this evaluation."""

    engine_version: str
    backend: str
    rulesets: tuple[RulesetRef, ...]
    disabled_rules: tuple[DisabledRule, ...] = ()


class LivingYourLife(_Out):
    """Proportionality: is this something most people do without being assessed?"""

    everyday: bool
    note: str


class Principle(_Out):
    """What one of Felton's five principles asks of this decision."""

    id: PrincipleId
    status: PrincipleStatus
    because: tuple[str, ...]
    gaps: tuple[str, ...] = ()
    prompts: tuple[str, ...]


class Tension(_Out):
    """A live tension of positive risk management (Just et al 2021)."""

    id: TensionId
    because: tuple[str, ...]
    prompts: tuple[str, ...]


BriefKind = Literal["consent_conflict", "legal_must", "not_agreed", "persons_words", "next_review"]


class BriefItem(_Out):
    """One of at most five things a ten-minute review starts with, in the order they matter.

    ``stands_for`` holds the ids of the prompts, knowledge items, mitigations or safety-net
    needs the item sums up, so a reader can open the detail behind it.
    """

    kind: BriefKind
    to_practitioner: str
    to_person: str
    stands_for: tuple[str, ...] = ()


class Prompt(_Out):
    """A shared-decision prompt, in two voices."""

    id: str
    stage: Stage
    to_practitioner: str
    to_person: str
    principles: tuple[PrincipleId, ...]
    tensions: tuple[TensionId, ...]
    source: SourceRef
    stands_for: tuple[str, ...] = Field(
        default=(),
        description="ids of prompts (or knowledge items) that make the same point and are not shown",
    )


class MitigationItem(_Out):
    """Something that could make a good outcome likelier."""

    id: str
    text: str
    addresses: tuple[str, ...]
    suggested_owner: str | None
    draws_on: tuple[str, ...]
    source: SourceRef


class KnowledgeItem(_Out):
    """A fact from UK law or guidance this decision touches."""

    id: str
    topic: str
    text: str
    applies_because: tuple[str, ...]
    weight: Literal["must", "should", "consider"]
    jurisdictions: tuple[Jurisdiction, ...]
    source: SourceRef
    stale: bool
    to_person: str | None = Field(
        default=None, description="the same fact in plain English; without it, for the practitioner only"
    )
    kind: Literal["law_or_guidance", "evidence"] = Field(
        default="law_or_guidance",
        description="`evidence` for a research finding: for the practitioner view, not the person's copy",
    )


class Benefit(_Out):
    """Something that could go well, or a cost of not doing it."""

    text: str
    from_: Literal["person", "rules"] = Field(alias="from")


class NeedIssue(_Out):
    """Why one member does not (yet) fully fill a need."""

    member: str
    issues: tuple[Issue, ...]


class SafetyNetNeed(_Out):
    """A relationship the plan depends on, and whether it is there."""

    role: Role
    when: When
    why: str
    fillable_by: tuple[str, ...]
    filled_by: tuple[str, ...]
    status: Status
    issues: tuple[Issue, ...]
    issues_by_member: tuple[NeedIssue, ...] = ()
    offered: bool = Field(
        default=False,
        description=(
            "the need comes from the kind of activity, not from anything recorded: a question to "
            "ask the person, not a gap"
        ),
    )
    held_in_record: tuple[RecordFiller, ...] = Field(
        default=(),
        description=(
            "what in the record already fills the need, beside members: `crisis_plan` (the route back "
            "the crisis plan names), `ward` (an inpatient's ward)"
        ),
    )


class SinglePointOfFailure(_Out):
    """A member the plan leans on too heavily."""

    member: str
    carries: tuple[str, ...]
    because: str = ""
    could_share: tuple[str, ...] = Field(default=(), description="members linked to this one in the network")
    could_share_kinds: tuple[str, ...] = Field(
        default=(), description="other kinds that could fill the roles it carries"
    )
    cuts_off_services: bool = Field(
        default=False, description="without them the person has no way to any service"
    )


class ConsentConflict(_Out):
    """A need that depends on telling someone the person has said no to."""

    member: str
    role: str = Field(description="a safety-net role, or `mitigation`")
    because: str
    person_words: str | None = Field(default=None, description="the note in the person's advance statement")
    mitigation: str | None = Field(
        default=None, description="the mitigation's text, when role is `mitigation`"
    )


class SafetyNet(_Out):
    """Who the plan leans on, how steady that is, and where it is thin."""

    needs: tuple[SafetyNetNeed, ...]
    single_points_of_failure: tuple[SinglePointOfFailure, ...]
    consent_conflicts: tuple[ConsentConflict, ...]


class Review(_Out):
    """How the decision will be looked back on."""

    on: dt.date | None
    success_looks_like: str | None
    look_back_at: tuple[str, ...]


class TraceEntry(_Out):
    """Why an item is here: the rule, its ruleset version and the facts it matched."""

    rule: str
    ruleset: str
    because: dict[str, str | int | float | bool | list[str]]


class Evaluation(_Out):
    """What the engine returns for one proposal. It supports a conversation; it never decides."""

    schema_version: Literal[1] = 1
    proposal_id: str
    as_of: dt.date
    provenance: Provenance
    living_your_life: LivingYourLife
    # What a ten-minute review starts with: at most five items (additive to v1).
    brief: tuple[BriefItem, ...] = ()
    principles: tuple[Principle, ...]
    tensions: tuple[Tension, ...]
    prompts: tuple[Prompt, ...]
    # Prompts for fuller planning, set aside because the activity is an everyday one
    # (living_your_life.everyday); ask them if the person wants to plan in more detail.
    prompts_set_aside: tuple[Prompt, ...] = ()
    mitigations: tuple[MitigationItem, ...]
    knowledge: tuple[KnowledgeItem, ...]
    benefits: tuple[Benefit, ...]
    safety_net: SafetyNet
    review: Review
    trace: tuple[TraceEntry, ...]

    def to_json(self) -> str:
        """The canonical JSON form: same evaluation, same bytes."""
        return dumps(self, indent=True)

    def to_json_line(self) -> str:
        """The same document on one line (no indentation), as NDJSON carries it."""
        return dumps(self, indent=False)
