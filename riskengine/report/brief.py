"""The brief: at most five things a ten-minute review starts with, in the order they matter.

1. a plan step that breaks the person's own sharing rules (consent conflicts);
2. the legal musts for this activity, legal context and nation;
3. a step that rests on someone who has not agreed or does not know;
4. what the person wants, in their own words;
5. the next review.

One item per kind, so the brief never has more than five. Each item is written twice,
for the practitioner and for the person, and names the ids it stands for: prompts whose
rule has the kind's topic (``consent-conflict``, ``not-agreed``, ``persons-words``,
``review-date``), knowledge items, and safety-net needs as ``role/when``.

May import: ``riskengine.documents``. Nothing here reads the clock or files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

from riskengine.documents.evaluation import BriefItem, KnowledgeItem, Prompt, Review, SafetyNet
from riskengine.documents.proposal import Proposal
from riskengine.documents.vocab import GROUP_KINDS, PERSONAL_KINDS

__all__ = ["BRIEF_TOPICS", "ROLE_WORDS", "build_brief", "long_date", "member_name"]

# The rule topic whose prompts each kind of brief item stands for (see docs/rule-language.md).
BRIEF_TOPICS = {
    "consent_conflict": "consent-conflict",
    "not_agreed": "not-agreed",
    "persons_words": "persons-words",
    "next_review": "review-date",
}
# Safety-net roles in plain words, for the person.
ROLE_WORDS = {
    "alongside": "someone to go with you",
    "check_in": "someone to check in with you after",
    "early_warning": "someone to notice early signs",
    "prescribing_oversight": "someone to look after your medicine",
    "route_back": "a way back to help",
    "practical_help": "practical help",
    "specialist_advice": "expert advice",
    "community_link": "someone who knows the place",
    "mitigation": "a step in the plan",
}
_FAMILY_WORDS = frozenset(
    [
        "mum",
        "dad",
        "mother",
        "father",
        "partner",
        "wife",
        "husband",
        "brother",
        "sister",
        "son",
        "daughter",
        "uncle",
        "aunt",
        "gran",
        "nan",
        "grandad",
        "grandma",
        "grandpa",
        "cousin",
        "nephew",
        "niece",
        "girlfriend",
        "boyfriend",
        "carer",
    ]
)
_ROLE_WORDS = frozenset(["friend", "neighbour", "peer"])
_NAMED_KINDS = frozenset(("partner", "family", "friend", "neighbour", "peer"))
_Ids = Callable[..., tuple[str, ...]]  # (brief kind, *extra ids) -> the ids an item stands for
_ASKABLE = frozenset((*PERSONAL_KINDS, *GROUP_KINDS, "other"))  # services are never asked to "agree"


def build_brief(
    proposal: Proposal,
    prompts: Sequence[Prompt],
    knowledge: Sequence[KnowledgeItem],
    safety_net: SafetyNet,
    review: Review,
    everyday: bool,
    topics: Mapping[str, str],
    asked_with: Mapping[str, str] | None = None,
) -> tuple[BriefItem, ...]:
    """The brief for one evaluation.

    ``topics`` maps each shown prompt's id to its rule's topic; ``asked_with`` maps a
    knowledge item's id to the prompt its rule also shows (a legal item stands for both).
    """
    by_topic: dict[str, list[str]] = {}
    for prompt in prompts:
        if prompt.id in topics:
            by_topic.setdefault(topics[prompt.id], []).append(prompt.id)

    def ids(kind: str, *extra: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*by_topic.get(BRIEF_TOPICS[kind], ()), *extra)))

    items = [
        _consent(safety_net, ids),
        _legal(knowledge, asked_with or {}),
        _not_agreed(proposal, safety_net, ids),
        _persons_words(proposal, ids),
        _review(review, everyday, ids),
    ]
    return tuple(item for item in items if item is not None)


def member_name(member: str, kind: str | None = None) -> str:
    """A network member's id as a name in running text, for the person.

    ``tail-walker`` (a community member) is "the tail walker", ``mum`` is "your mum", ``jay``
    stays "jay": ids are pseudonymous labels, so only family words and roles get a word before.
    """
    name = member.replace("_", " ").replace("-", " ")
    if name in _FAMILY_WORDS:
        return f"your {name}"
    return name if kind in _NAMED_KINDS and name not in _ROLE_WORDS else f"the {name}"


def long_date(day: dt.date) -> str:
    """A date as people write it: 17 December 2026."""
    return f"{day.day} {day:%B %Y}"


def _and(names: Sequence[str]) -> str:
    names = list(dict.fromkeys(names))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _quoted(text: str) -> str:
    """Someone's words in quotation marks, as a sentence: a full stop only if theirs has none."""
    text = text.strip()
    return f'"{text}"' + ("" if text[-1:] in ".!?" else ".")


def _consent(net: SafetyNet, ids: _Ids) -> BriefItem | None:
    if not net.consent_conflicts:
        return None
    parts, words, roles, needs = [], [], [], []
    for c in net.consent_conflicts:
        what = f"the step '{c.mitigation}'" if c.mitigation else c.role.replace("_", " ")
        parts.append(f"{what} would mean telling {c.member}")
        roles.append(f'"{c.mitigation}"' if c.mitigation else ROLE_WORDS.get(c.role, "a step in the plan"))
        if c.person_words:
            words.append(c.person_words)
        if c.role != "mitigation":
            needs += [f"{n.role}/{n.when}" for n in net.needs if n.role == c.role]
    words = list(dict.fromkeys(words))
    said = f" The person's own words: {_quoted(' / '.join(words))}" if words else ""
    told = (
        f"You told us: {_quoted(' / '.join(words))} "
        if words
        else "You told us some people should not be told certain things. "
    )
    return BriefItem.build(
        kind="consent_conflict",
        to_practitioner=(
            f"Consent first: {'; '.join(dict.fromkeys(parts))}, and the person's advance statement "
            f"says not to tell them.{said} Change the plan, or ask the person again; do not work "
            "around their wishes."
        ),
        to_person=(
            f"{told}Part of this plan ({_and(roles)}) would mean telling someone you said should "
            "not be told. We will change that part, or ask you first. Your wishes come first."
        ),
        stands_for=ids("consent_conflict", *needs),
    )


def _legal(knowledge: Sequence[KnowledgeItem], asked_with: Mapping[str, str]) -> BriefItem | None:
    musts = [k for k in knowledge if k.weight == "must" and k.kind == "law_or_guidance"]
    if not musts:
        return None
    topics = "; ".join(f"{k.topic} ({k.source.title})" for k in musts)
    plain = [k.to_person for k in musts if k.to_person]
    unexplained = [k.topic for k in musts if not k.to_person]
    if unexplained:
        plain.append(
            f"There are legal rules about {_and(unexplained)} that apply here. We will go through them with you."
        )
    return BriefItem.build(
        kind="legal_must",
        to_practitioner=(
            f"{topics}. Go through {'it' if len(musts) == 1 else 'each'} with the person before deciding."
        ),
        to_person=" ".join(plain),
        stands_for=tuple(dict.fromkeys(i for k in musts for i in (k.id, asked_with.get(k.id)) if i)),
    )


def _not_agreed(proposal: Proposal, net: SafetyNet, ids: _Ids) -> BriefItem | None:
    kinds = {m.id: m.kind for m in proposal.network}
    conflicted = {c.member for c in net.consent_conflicts}  # the consent item speaks for them
    members = {m.id: m for m in proposal.network}
    steps: dict[str, list[str]] = {}
    # in canonical order, so the brief does not depend on the order of the proposal's lists
    for mitigation in sorted(proposal.plan.mitigations, key=lambda m: (m.owner or "", m.text)):
        member = members.get(mitigation.owner or "")
        if (
            member
            and member.kind in _ASKABLE
            and member.id not in conflicted
            and not (member.agreed_to_help and member.knows_about_plan)
        ):
            steps.setdefault(member.id, []).append(f"the step '{mitigation.text}'")
    needs = []
    for need in net.needs:
        if need.status != "fragile" or need.offered:
            continue  # an offered need is a question for the person, not a step the plan rests on
        for issue in need.issues_by_member:
            askable = kinds.get(issue.member) in _ASKABLE and issue.member not in conflicted
            if askable and {"not_agreed", "not_aware"} & set(issue.issues):
                steps.setdefault(issue.member, []).append(need.role.replace("_", " "))
                needs.append(f"{need.role}/{need.when}")
    if not steps:
        return None
    leans = "; ".join(f"{member} ({', '.join(sorted(set(what)))})" for member, what in sorted(steps.items()))
    names = _and([member_name(m, kinds.get(m)) for m in sorted(steps)])
    return BriefItem.build(
        kind="not_agreed",
        to_practitioner=(
            f"The plan leans on people not yet recorded as knowing about it and agreeing: {leans}. "
            "With the person's consent, and within what they want shared, ask them."
        ),
        to_person=(
            f"Your plan counts on {names}. We have not written down yet that they know and said yes. "
            "Would you like to ask them, or shall we ask together? You choose what they are told."
        ),
        stands_for=ids("not_agreed", *needs),
    )


def _persons_words(proposal: Proposal, ids: _Ids) -> BriefItem:
    goal, matters = proposal.proposal.goal, proposal.person.what_matters
    if not goal and not matters:
        return BriefItem.build(
            kind="persons_words",
            to_practitioner=(
                "The person's own words are not recorded. Ask what they want from this and what "
                "matters to them, and write it down as they say it."
            ),
            to_person="What do you want from this? Tell us in your own words, and we will write them down.",
            stands_for=ids("persons_words"),
        )
    said = [f"goal: '{goal.rstrip('.')}'"] if goal else []
    said += [f"what matters: '{matters.rstrip('.')}'"] if matters else []
    heard = [f"You said you want to: {_quoted(goal)}"] if goal else []
    heard += [f"What matters to you: {_quoted(matters)}"] if matters else []
    return BriefItem.build(
        kind="persons_words",
        to_practitioner=f"In the person's own words, {'; '.join(said)}. Start from this.",
        to_person=" ".join(heard),
        stands_for=ids("persons_words"),
    )


def _review(review: Review, everyday: bool, ids: _Ids) -> BriefItem:
    if review.on is None:
        practitioner = "No review date is set. Agree one with the person" + (
            ", or agree together that an everyday activity does not need one." if everyday else "."
        )
        person = (
            "Would you like a day to look back together? It is up to you."
            if everyday
            else "We have not set a day to look back together yet. When would suit you?"
        )
    else:
        practitioner = (
            f"Next review: {review.on.isoformat()}. Start with what went well, then what the person "
            "and the team learned."
        )
        person = f"We will look back together on {long_date(review.on)}. We will start with what went well."
    return BriefItem.build(
        kind="next_review", to_practitioner=practitioner, to_person=person, stands_for=ids("next_review")
    )
