"""The YAML rule language: the shape of a ruleset file and of its test file.

A ruleset has an id, a version, a title, the sources its rules cite, optional
``applies_when`` conditions that every one of its rules shares (the gate), and rules.
A rule has a stable id, the source it comes from, optional ``for_each`` (one of
the item scopes), ``when`` conditions, a ``because`` sentence and ``then``
outcomes. Conditions are checked against ``fields.FIELDS`` by the loader; this
module only fixes the shape. See ``docs/rule-language.md`` for authors.

Sources are shared: ``sources.yaml`` beside the rulesets (a :class:`SourceLibrary`)
defines each source once, and a ruleset cites it by id (a :class:`Citation`, which may
name the part cited and when it was checked). A ruleset may still define a source
inline (an organisation's own, or the form before the library existed).

This module may import ``documents.vocab`` and pydantic only.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    field_validator,
    model_validator,
)

from riskengine.documents.vocab import ConcernKind, Jurisdiction, PrincipleId, Role, Stage, TensionId, When

__all__ = [
    "SOURCES_FILE",
    "Benefit",
    "Citation",
    "Disable",
    "KnowledgeOut",
    "LivingYourLifeOut",
    "MitigationOut",
    "NeedOut",
    "PromptOut",
    "Rule",
    "RuleTestCase",
    "RuleTestFile",
    "Ruleset",
    "Source",
    "SourceLibrary",
    "Then",
]

SOURCES_FILE = "sources.yaml"  # the shared sources, at the top of a rulesets folder

Id = Annotated[str, Strict(), Field(pattern=r"^[a-z0-9]([a-z0-9_.\-]*[a-z0-9])?$", max_length=120)]
Text = Annotated[str, Strict(), Field(min_length=1, max_length=2000)]
Date = Annotated[dt.date, Field(strict=False)]
ItemScope = Literal["concern", "condition", "member", "mitigation", "attempt", "need"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Source(_Model):
    """A seed file or publication that rules cite."""

    id: Id
    title: Text
    seed: Annotated[str, Field(pattern=r"^\d{3}_[0-9a-f]{16}\.txt$")] | None = None
    citation: Text | None = None
    url: Text | None = None
    section: Text | None = None
    checked: Date | None = None
    review_by: Date | None = None


class Citation(_Model):
    """A source from the shared library, cited by id; optionally the part cited and when it was checked.

    ``id`` is the name the ruleset's rules use; ``cites`` is the library id when it differs
    (two citations of different parts of one source need two names).
    """

    id: Id
    cites: Id | None = None
    section: Text | None = None
    checked: Date | None = None
    review_by: Date | None = None

    @property
    def library_id(self) -> str:
        """The id of the cited source in the library."""
        return self.cites or self.id


# The tags are in brackets so the shape stage knows them for pydantic's names, not fields.
_DEFINE, _CITE = "(define)", "(cite)"


def _source_kind(value: Any) -> str:
    """A full source if it has a title, else a citation of a shared one."""
    if isinstance(value, Source | Citation):
        return _DEFINE if isinstance(value, Source) else _CITE
    return _DEFINE if isinstance(value, dict) and "title" in value else _CITE


SourceEntry = Annotated[
    Annotated[Source, Tag(_DEFINE)] | Annotated[Citation, Tag(_CITE)], Discriminator(_source_kind)
]


class SourceLibrary(_Model):
    """``sources.yaml``: every source, defined once, for rulesets to cite by id."""

    sources: tuple[Source, ...] = Field(min_length=1)


class PromptOut(_Model):
    """A shared-decision prompt in two voices."""

    id: Id | None = None
    stage: Stage
    to_practitioner: Text
    to_person: Text
    principles: tuple[PrincipleId, ...] = ()
    tensions: tuple[TensionId, ...] = ()
    # For an activity most people do without being assessed (living your life), a prompt that
    # belongs to fuller planning can be set aside: still in the evaluation, not in the main list.
    everyday: Literal["ask", "set_aside"] = "ask"


class MitigationOut(_Model):
    """A mitigation to suggest."""

    id: Id | None = None
    text: Text
    addresses: tuple[ConcernKind, ...] = ()
    suggested_owner: Text | None = None
    draws_on: tuple[Text, ...] = ()
    draws_on_strengths: Annotated[bool, Strict()] = False


class KnowledgeOut(_Model):
    """A fact from law or guidance, with its source and jurisdictions."""

    id: Id | None = None
    topic: Annotated[str, Strict(), Field(min_length=1, max_length=120)]
    text: Text
    weight: Literal["must", "should", "consider"]
    jurisdictions: tuple[Jurisdiction, ...] = Field(min_length=1)
    source: Id
    section: Text | None = None
    # The same fact in plain English for the person's own copy. Without it the item stays
    # in the practitioner view only.
    to_person: Text | None = None
    # Research findings are evidence for the practitioner, shown apart from law and guidance
    # and only where the study's population matches (practitioner review 2026-12, defect 10).
    kind: Literal["law_or_guidance", "evidence"] = "law_or_guidance"


class NeedOut(_Model):
    """A safety-net role the plan needs."""

    role: Role
    when: When
    why: Text
    kinds: tuple[str, ...] | None = None
    steadiness: Literal["any", "steady"] = "any"
    # Offered, not asserted: the need comes from the kind of activity, not from the record
    # (practitioner review 2026-12, defect 7); it is a question to ask, never a gap to fill.
    offered: Annotated[bool, Strict()] = False


class LivingYourLifeOut(_Model):
    """Proportionality: whether most people do this without being assessed."""

    everyday: Annotated[bool, Strict()]
    note: Text


class Benefit(_Model):
    """Something that could go well."""

    text: Text

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        """Accept a bare string."""
        return {"text": data} if isinstance(data, str) else data


class Then(_Model):
    """What a rule adds to the evaluation when it fires."""

    prompt: PromptOut | None = None
    supports: tuple[PrincipleId, ...] = ()
    gap: tuple[PrincipleId, ...] = ()
    tension: tuple[TensionId, ...] = ()
    mitigation: MitigationOut | None = None
    knowledge: KnowledgeOut | None = None
    benefit: Benefit | None = None
    safety_net_need: NeedOut | None = None
    living_your_life: LivingYourLifeOut | None = None

    @field_validator("supports", "gap", "tension", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        """Accept ``supports: felton.1`` as well as a list."""
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _not_empty(self) -> Then:
        if self == Then.model_construct():
            msg = "a rule must add at least one outcome"
            raise ValueError(msg)
        return self


class Rule(_Model):
    """One rule: when these facts hold, add these outcomes, citing this source."""

    id: Id
    source: tuple[Id, ...] = Field(min_length=1)
    # The point this rule makes, shared by rules (in any ruleset) that make the same point:
    # when several fire, assembly keeps the best-placed one and the others stand behind it.
    topic: Id | None = None
    for_each: ItemScope | None = None
    when: tuple[dict[str, Any], ...] = ()
    because: Text
    then: Then

    @field_validator("source", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        """Accept one source id or a list."""
        return [value] if isinstance(value, str) else value


class Disable(_Model):
    """Switch a rule from another ruleset off, saying why (shown in provenance)."""

    rule: Id
    reason: Text


class Ruleset(_Model):
    """A ruleset file."""

    id: Id
    version: Annotated[str, Strict(), Field(pattern=r"^\d+\.\d+\.\d+$")]
    title: Text
    description: Annotated[str, Strict()] | None = None
    sources: tuple[SourceEntry, ...] = Field(min_length=1)
    applies_when: tuple[dict[str, Any], ...] = ()
    rules: tuple[Rule, ...] = ()
    disable: tuple[Disable, ...] = ()
    # The overlay's name as the evaluation's provenance shows it (an organisation, say); never
    # a path. 'shipped' is earned by content (a ruleset byte-identical to a shipped one), not declared.
    origin: (
        Annotated[
            Id, Field(description="who this ruleset comes from, shown as provenance origin; not 'shipped'")
        ]
        | None
    ) = None

    @field_validator("origin")
    @classmethod
    def _not_shipped(cls, value: str | None) -> str | None:
        if value in ("shipped", "overlay"):
            msg = f"'{value}' is given by riskengine, not declared: name your organisation or overlay"
            raise ValueError(msg)
        return value

    @field_validator("sources", mode="before")
    @classmethod
    def _cite_by_bare_id(cls, value: Any) -> Any:
        """Accept ``- felton2018`` for ``- {id: felton2018}``."""
        if isinstance(value, list):
            return [{"id": v} if isinstance(v, str) else v for v in value]
        return value


class RuleTestCase(_Model):
    """One case: a (partial) proposal and which rules must or must not fire."""

    name: Text
    proposal: dict[str, Any]
    fires: tuple[Id, ...] = ()
    does_not_fire: tuple[Id, ...] = ()
    known_gaps: tuple[KnownGap, ...] = ()


class KnownGap(_Model):
    """A case the rules get wrong today: reported, not failed, until it is fixed."""

    rule: Id
    expected: Literal["fires", "does_not_fire"]
    note: Text


class RuleTestFile(_Model):
    """A ``*.test.yaml`` file beside a ruleset."""

    ruleset: Id
    cases: tuple[RuleTestCase, ...] = Field(min_length=1)


RuleTestCase.model_rebuild()
