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
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Literal, TypeVar, get_args, get_origin

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
_Plain = Callable[[Any], Any]
# BaseModel's own slots, set through their descriptors: frozen models refuse plain assignment,
# and this is more than twice as fast as object.__setattr__ by name.
_SLOTS = BaseModel.__dict__
_set_dict = _SLOTS["__dict__"].__set__
_set_fields_set = _SLOTS["__pydantic_fields_set__"].__set__
_set_extra = _SLOTS["__pydantic_extra__"].__set__
_set_private = _SLOTS["__pydantic_private__"].__set__
_new = object.__new__  # BaseModel has no __new__ of its own
_fields_of = attrgetter("__dict__")  # a model without aliases or nested models, as orjson writes it


@dataclass(frozen=True, slots=True)
class _Shape:
    """What :meth:`_Out.build` and :func:`dumps` need to know of one output class, found once."""

    names: tuple[str, ...]  # the fields, in declaration order
    defaults: dict[str, Any]  # each optional field's default (output defaults are immutable: tuples, None)
    plain: _Plain  # a model of the class as orjson writes it natively, nested models too

    def complete(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` in declaration order with defaults filled in, as ``model_construct`` has them."""
        return {
            name: values[name] if name in values else self.defaults[name]
            for name in self.names
            if name in values or name in self.defaults
        }


_SHAPES: dict[type, _Shape] = {}


def _shape(cls: type[BaseModel]) -> _Shape:
    found = _SHAPES.get(cls)
    if found is None:
        fields = cls.model_fields
        defaults = {
            n: f.get_default(call_default_factory=True) for n, f in fields.items() if not f.is_required()
        }
        found = _SHAPES[cls] = _Shape(tuple(fields), defaults, _plain_of(cls))
    return found


def _plain_of(cls: type[BaseModel]) -> _Plain:
    """The function that gives a model of ``cls`` as plain dicts and lists, keys by alias.

    A model's ``__dict__`` holds its fields in declaration order (pydantic's construction and
    validation make it so, and :meth:`_Out.build` does), the order pydantic writes them. Nested
    models are converted here too, so orjson calls :func:`_plain` for none of them: calling
    back into Python once per model cost more than writing the whole document.
    """
    pairs = tuple((name, info.alias or name) for name, info in cls.model_fields.items())
    nested: list[tuple[str, str, _Plain, bool]] = []  # (field, JSON key, its converter, a tuple of models)
    for (name, key), info in zip(pairs, cls.model_fields.values(), strict=True):
        if (found := _nested(info.annotation)) is not None:
            nested.append((name, key, _shape(found[0]).plain, found[1]))
    keys = tuple(key for _, key in pairs)
    renamed = keys != tuple(cls.model_fields)
    if not nested and not renamed:
        return _fields_of

    def plain(model: Any) -> dict[str, Any]:
        values: dict[str, Any] = model.__dict__
        out = dict(zip(keys, values.values(), strict=True)) if renamed else values.copy()
        for name, key, convert, many in nested:
            value = values[name]
            out[key] = list(map(convert, value)) if many else convert(value)
        return out

    return plain


def _nested(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    """The output class a field holds (``M``), or a tuple of (``tuple[M, ...]``), and which."""
    if isinstance(annotation, type) and issubclass(annotation, _Out):
        return annotation, False
    args = get_args(annotation)
    if get_origin(annotation) is tuple and len(args) == 2 and args[1] is Ellipsis:
        inner = args[0]
        if isinstance(inner, type) and issubclass(inner, _Out):
            return inner, True
    return None


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def build(cls: type[_O], **values: Any) -> _O:
        """Construct from values already known to be valid: assembly's hot path, no validation.

        Does what ``model_construct`` does for a complete set of field values (defaults are
        filled in, the fields kept in declaration order), at a fraction of its cost; tests
        pin it to ``model_construct``.
        """
        shape = _SHAPES.get(cls) or _shape(cls)  # looked up here: this runs for every output item
        if tuple(values) != shape.names:
            values = shape.complete(values)
        return cls.from_fields(values)

    @classmethod
    def from_fields(cls: type[_O], values: dict[str, Any]) -> _O:
        """:meth:`build` for a caller that gives every field, in declaration order, in a dict it gives up.

        The model keeps ``values`` as its own: the caller must not change it afterwards.
        """
        obj = _new(cls)
        _set_dict(obj, values)
        _set_fields_set(obj, set(values))
        _set_extra(obj, None)
        _set_private(obj, None)
        return obj


def _plain(obj: Any) -> Any:
    """orjson's hook for an output model that :func:`dumps` did not convert (as pydantic writes it)."""
    found = _SHAPES.get(type(obj))  # a dict look-up, not isinstance: pydantic's metaclass makes that slow
    if found is None:
        if not isinstance(obj, _Out):
            raise TypeError(type(obj).__name__)
        found = _shape(type(obj))
    return found.plain(obj)


def dumps(model: _Out, *, indent: bool) -> str:
    """``model_dump_json(by_alias=True)`` (``indent=2`` with ``indent``), the same bytes, faster.

    orjson writes what pydantic's serialiser writes for these models (both print floats the
    shortest way that reads back exactly, neither escapes non-ASCII or "/", the same short
    escapes); a test compares the two on every golden and on generated values. What orjson
    cannot write (an integer beyond 64 bits), or a model holding what its fields do not
    declare, falls back to pydantic.
    """
    try:
        plain = _plain(model)
        return orjson.dumps(plain, default=_plain, option=orjson.OPT_INDENT_2 if indent else 0).decode()
    except (orjson.JSONEncodeError, TypeError, AttributeError, KeyError):
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
