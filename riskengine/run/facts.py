"""The derive stage: a proposal becomes flat facts that rules can test.

There is one *case* fact (every one-per-proposal field, keyed ``scope__field``) and
one fact per list item (``concern``, ``condition``, ``member``, ``mitigation``,
``attempt``). Unknown, empty and ``None`` values are left out, so "not recorded"
is simply absence. Items are sorted by content before they get ids, which is what
makes an evaluation independent of the order of lists in the proposal.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from riskengine.documents.evaluation import SafetyNet, SafetyNetNeed
from riskengine.documents.proposal import Member, Proposal
from riskengine.documents.vocab import (
    ACTIVITY_CATEGORIES,
    FORMAL_KINDS,
    NETWORK_KINDS,
    PERSONAL_KINDS,
    fills_by_role,
    member_group,
    words_in,
)
from riskengine.rules.fields import fact_key
from riskengine.run.medicines import changing_medicines, medicine_groups, named_in_words

__all__ = ["FactSet", "build_facts", "member_group", "with_safety_net", "words_in"]

Fact = dict[str, Any]

HARM_KINDS = frozenset(
    {"harm_to_self", "harm_from_others", "harm_to_others", "relapse_or_crisis",
     "physical_health", "medication_effects"}
)  # fmt: skip
# "Keep shooting as a guest for now" and "apply after the next review" are not-now options too
# (practitioner review 2026-12, the clay shooting case).
_NOT_NOW = re.compile(
    r"\b(not now|not yet|later|wait|postpone|delay|not at all|don'?t|for now|for the time being|"
    r"after (the|my|his|her|their|next)|until|next (year|month|spring|summer|autumn|winter))\b",
    re.I,
)
# The title or goal says this is new to the person, or a return to something they did before
# (practitioner review 2026-12, defect 7: an empty history is "not recorded", not "a first try").
_FIRST_TRY = re.compile(r"\b(first|never (done|tried|been)|for the first time|new to me)\b", re.I)
_AGAIN = re.compile(
    r"\b(again|back to|back into|get back|going back|go back|return(ing)? to|resume|restart|used to|once more)\b",
    re.I,
)
# A condition about timing or logistics (back in time for a depot, a lift home) is a practical
# arrangement, not a gate on insight or treatment (practitioner review 2026-12, other defects).
_PRACTICAL = re.compile(
    r"\b(in time for|back (home )?(for|by|before)|home by|on the (monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|day)|appointment|due date|date|lift|drive[sn]? (him|her|them) |pick(ed)? up|collect|"
    r"carr(y|ies)|bring|pack|reminder|spare)\b",
    re.I,
)
_GATE = re.compile(r"complian|adheren|concordan|insight|accepts?|acknowledg|as prescribed|engag", re.I)
_CARING = re.compile(
    r"\bcar(er|ers|ing)\b|looks? after|personal care|\bcare for|cares for|medication|\bmeds\b|"
    r"shopping for|cooks? for|washing|appointments",
    re.I,
)
_SPACE = re.compile(r"\s+")
_AS_IS = frozenset({bool, int, float})
_COLLECTIONS = (tuple, list, set, frozenset)
_SEQUENCES = frozenset(_COLLECTIONS)  # exactly these types, not subclasses
_GROUPS = {kind: member_group(kind) for kind in NETWORK_KINDS}  # a closed vocabulary
_CANONICAL = functools.partial(orjson.dumps, option=orjson.OPT_SORT_KEYS)  # a row as canonical bytes


@dataclass(frozen=True, slots=True)
class FactSet:
    """The case fact and the item facts of one proposal, in canonical order."""

    case: Fact
    items: dict[str, list[Fact]] = field(default_factory=dict)

    def all(self) -> list[Fact]:
        """Every fact, context (case) first, then items in canonical order."""
        return [self.case, *(f for scope in sorted(self.items) for f in self.items[scope])]

    def find(self, fact_id: str) -> Fact:
        """The fact with this id."""
        if fact_id == self.case["id"]:
            return self.case
        scope, _, position = fact_id.partition(":")
        fact = self.items[scope][int(position)]  # ids are "<scope>:<canonical position>"
        if fact["id"] != fact_id:
            raise KeyError(fact_id)
        return fact


def build_facts(proposal: Proposal) -> FactSet:
    """Derive the case fact and item facts for ``proposal``."""
    case: Fact = {"id": "case", "t": "case"}
    for scope, values in _case_values(proposal).items():
        case.update(_clean(values, fact_key(scope, "")))  # "scope__": the one naming rule
    items = {
        "concern": _items("concern", (_concern(c) for c in proposal.proposal.concerns)),
        "condition": _items(
            "condition",
            (
                {"by": c.by, "text": c.text, "practical": _practical(c.text)}
                for c in proposal.proposal.conditions_proposed
            ),
        ),
        "member": _items("member", _members(proposal)),
        "mitigation": _items("mitigation", _mitigations(proposal)),
        "attempt": _items(
            "attempt",
            ({"what": a.what, "outcome": a.outcome, "learning": a.learning} for a in proposal.history),
        ),
    }
    return FactSet(case, {k: v for k, v in items.items() if v})


def with_safety_net(
    facts: FactSet, net: SafetyNet, *, services_reachable: bool, service_cut_points: int
) -> FactSet:
    """The second-phase facts: the first-phase facts plus the safety-net analysis."""
    needs = net.needs
    values = {
        "needs_count": len(needs),
        "in_place_count": sum(n.status == "in_place" for n in needs),
        "fragile_count": sum(n.status == "fragile" for n in needs),
        "missing_count": sum(n.status == "missing" for n in needs),
        "missing_roles": {n.role for n in needs if n.status == "missing"},
        "fragile_roles": {n.role for n in needs if n.status == "fragile"},
        "issues": {i for n in needs for i in n.issues},
        "single_points_count": len(net.single_points_of_failure),
        "single_points": [s.member for s in net.single_points_of_failure],
        "consent_conflicts_count": len(net.consent_conflicts),
        "services_reachable": services_reachable,
        "service_cut_points_count": service_cut_points,
    }
    case = {**facts.case, **_clean(values, fact_key("safety_net", ""))}
    rows = [
        {"id": f"need:{i}", "t": "need", **_clean(_need(n))} for i, n in enumerate(needs)
    ]  # already canonical
    items = {**facts.items, "need": rows}
    return FactSet(case, {k: v for k, v in items.items() if v})


_NOT_ASKED = frozenset({"not_agreed", "not_aware"})
_UNSTEADY = frozenset({"on_and_off", "new", "strained", "not_known"})


def _need(need: SafetyNetNeed) -> dict[str, Any]:
    by_member = need.issues_by_member
    return {
        "not_asked": [e.member for e in by_member if not _NOT_ASKED.isdisjoint(e.issues)],
        "unsteady": [e.member for e in by_member if not _UNSTEADY.isdisjoint(e.issues)],
        "rarely_seen": [e.member for e in by_member if "rarely_in_contact" in e.issues],
        "told_not_to_tell": [e.member for e in by_member if "consent_conflict" in e.issues],
        "held_in_record": need.held_in_record,
        "offered": need.offered,
        "role": need.role,
        "when": need.when,
        "why": need.why,
        "status": need.status,
        "issues": need.issues,
        "fillers_count": len(need.filled_by),
        "solid_count": len(need.filled_by) - len(need.issues_by_member) + len(need.held_in_record),
        "filled_by": need.filled_by,
        "first_filler": need.filled_by[0] if need.filled_by else None,
    }


def _clean(values: Mapping[str, Any], prefix: str = "") -> Fact:
    """Drop unknown and empty values; fold white space; make lists sorted sets; prefix the keys.

    Dispatched on the exact type, most common first, with the folding test written out: this
    runs for every value of every fact on every evaluation. Any other type takes the general path.
    """
    out: Fact = {}
    for key, raw in values.items():
        kind = type(raw)
        if kind in _AS_IS:  # most values: counts and yes/no, never unknown, empty or folded
            out[prefix + key] = raw
        elif kind is str:
            if text := _fold(raw):
                out[prefix + key] = text
        elif raw is None:
            continue
        elif kind in _SEQUENCES:
            if raw:
                out[prefix + key] = [_fold(_text(v)) for v in raw] if len(raw) == 1 else _folded_set(raw)
        elif isinstance(raw, str):
            if text := _fold(raw):
                out[prefix + key] = text
        elif isinstance(raw, _COLLECTIONS):
            if items := _folded_set(raw):
                out[prefix + key] = items
        elif raw not in ("", []):
            out[prefix + key] = raw
    return out


def _folded_set(raw: Iterable[Any]) -> list[str]:
    """The distinct folded texts of ``raw``, sorted."""
    return sorted({_fold(_text(v)) for v in raw})


def _text(value: Any) -> str:
    return value if type(value) is str else str(value)


def _fold(text: str) -> str:
    """One space between words, none at the ends (cheap when there is nothing to fold)."""
    if "  " not in text and text.isprintable():  # printable: no tab, newline or return either
        return text.strip()
    if "  " in text or "\n" in text or "\t" in text or "\r" in text:
        return _SPACE.sub(" ", text).strip()
    return text.strip()


def _items(scope: str, rows: Iterable[Mapping[str, Any]]) -> list[Fact]:
    cleaned = [_clean(r) for r in rows]
    if len(cleaned) > 1:  # one row needs no sort key
        cleaned.sort(key=_CANONICAL)
    return [{"id": f"{scope}:{i}", "t": scope, **row} for i, row in enumerate(cleaned)]


def _case_values(p: Proposal) -> dict[str, dict[str, Any]]:
    return {
        "person": _person(p),
        "proposal": _proposal(p),
        "decision": _decision(p),
        "plan": _plan(p),
        "network": _network(p),
        "history": _history(p),
    }


def _person(p: Proposal) -> dict[str, Any]:
    person = p.person
    statement = person.advance_statement
    rules = statement.information_sharing if statement else ()
    changing, marked = changing_medicines(p)
    return {
        "legal_context": person.legal_context,
        "capacity": person.capacity.status,
        "preferred_decision_role": person.preferred_decision_role,
        "what_matters": person.what_matters,
        "strengths": person.strengths,
        "strengths_count": len(set(person.strengths)),
        "interests": person.interests,
        "early_warning_signs": person.early_warning_signs,
        "crisis_plan_exists": bool(person.crisis_plan and person.crisis_plan.exists),
        "route_back": person.crisis_plan.route_back if person.crisis_plan else None,
        "advance_statement_exists": bool(statement and statement.exists),
        "sharing_refused_with": [r.with_ for r in rules if not r.allowed],
        "sharing_rules_recorded": bool(rules),
        "medication_names": [m.name.lower() for m in person.medication],
        "medication_classes": [m.class_.lower() for m in person.medication if m.class_],
        "medication_count": len({m.name.lower() for m in person.medication}),
        "changing_medication_names": [m.name.lower() for m in changing],
        "changing_medication_classes": [m.class_.lower() for m in changing if m.class_],
        "changing_medication_marked": marked,
        "changing_medication_named": named_in_words(p),
        "changing_medicine_groups": medicine_groups(p, changing),
        "non_depot_medication_count": sum("depot" not in medicine_groups(p, [m]) for m in person.medication),
        "physical_health": person.physical_health,
        "substance_use": person.substance_use,
        "recent_crisis_days": person.recent_crisis_days,
    }


def _proposal(p: Proposal) -> dict[str, Any]:
    d = p.proposal
    kinds = {c.kind for c in d.concerns}
    not_now = [o for o in d.options_considered if _NOT_NOW.search(o)]
    timing = d.timing
    said = " ".join(t for t in (d.title, d.goal) if t)
    again = bool(_AGAIN.search(said))
    return {
        "says_first_try": bool(_FIRST_TRY.search(said)) and not again,
        "says_again": again,
        "activity": d.activity,
        "jurisdiction": p.jurisdiction,
        "categories": [*d.categories, *ACTIVITY_CATEGORIES[d.activity]],
        "title": d.title,
        "initiated_by": d.initiated_by,
        "goal": d.goal,
        "hoped_for_benefits": d.hoped_for_benefits,
        "concerns_count": len(d.concerns),
        "concerns_asked": bool(d.concerns) or bool(d.concerns_asked),
        "concern_kinds": kinds,
        "concerns_raised_by": {c.raised_by for c in d.concerns if c.raised_by},
        "concerns_only_about_harm": bool(kinds) and kinds <= HARM_KINDS,
        "organisational_concerns_count": sum(
            c.kind == "organisational" or c.raised_by == "organisation" for c in d.concerns
        ),
        "conditions_count": len(d.conditions_proposed),
        "options_considered": d.options_considered,
        "options_count": len(set(d.options_considered)),
        "not_now_considered": bool(not_now),
        "alternatives_count": len(set(d.options_considered) - set(not_now)),
        "starts_in_days": (timing.starts - p.as_of).days if timing and timing.starts else None,
        "repeats": bool(timing and timing.repeats and timing.repeats.lower() not in {"no", "once"}),
    }


def _decision(p: Proposal) -> dict[str, Any]:
    d = p.decision_process
    members = {m.id: m for m in p.network}
    others = [members[x] for x in set(d.participants) if x in members]
    sure = d.sure
    answers = [sure.sure, sure.understand, sure.risk_benefit, sure.encouragement] if sure else []
    return {
        "participants_count": len(set(d.participants)),
        "person_took_part": "person" in d.participants,
        "network_took_part_count": len(others),
        "personal_network_took_part": any(m.kind in PERSONAL_KINDS for m in others),
        "person_view_recorded": bool(d.person_view_recorded),
        "information_shared_count": len(d.information_shared),
        "information_formats": [i.format for i in d.information_shared if i.format],
        "disagreements_count": len(d.disagreements),
        "sure_recorded": any(a is not None for a in answers),
        "sure_all_yes": bool(answers) and all(a is True for a in answers),
        "sure_sure": sure.sure if sure else None,
        "sure_understand": sure.understand if sure else None,
        "sure_risk_benefit": sure.risk_benefit if sure else None,
        "sure_encouragement": sure.encouragement if sure else None,
    }


def _plan(p: Proposal) -> dict[str, Any]:
    plan = p.plan
    owners = {m.owner for m in plan.mitigations if m.owner}
    strengths = [s.lower() for s in p.person.strengths]
    texts = [t.lower() for t in [plan.contingency or "", *(m.text for m in plan.mitigations)]]
    signs = [s.lower() for s in p.person.early_warning_signs]
    return {
        "mitigations_count": len(plan.mitigations),
        "mitigations_without_owner": sum(not m.owner for m in plan.mitigations),
        "mitigation_owners": owners,
        "owners_count": len(owners),
        "all_owned_by_one": len(plan.mitigations) >= 2
        and len(owners) == 1
        and all(m.owner for m in plan.mitigations),
        "person_owns_a_mitigation": "person" in owners,
        "mitigations_drawing_on_strengths": sum(
            bool(m.draws_on) or any(s in m.text.lower() for s in strengths) for m in plan.mitigations
        ),
        "contingency": plan.contingency,
        "review_in_days": (plan.review_on - p.as_of).days if plan.review_on else None,
        "success_looks_like": plan.success_looks_like,
        "early_warning_linked": any(s in t for s in signs for t in texts)
        or any("warning sign" in t for t in texts),
    }


def _network(p: Proposal) -> dict[str, Any]:
    """Counts over the members, in one pass: this runs for every member on every evaluation."""
    personal = services = agreed = aware = steady = unsteady = carers = 0
    kinds: set[str] = set()
    nearest = False
    for m in p.network:
        kind, steadiness = m.kind, m.steadiness
        kinds.add(kind)
        personal += kind in PERSONAL_KINDS
        services += kind in FORMAL_KINDS
        agreed += bool(m.agreed_to_help)
        aware += bool(m.knows_about_plan)
        steady += steadiness == "consistent"
        unsteady += steadiness in _UNSTEADY_KINDS
        nearest = nearest or "nearest_relative" in m.legal_roles
        carers += _caring(m)
    return {
        "size": len(p.network),
        "kinds": kinds,
        "personal_count": personal,
        "services_count": services,
        "agreed_count": agreed,
        "aware_count": aware,
        "steady_count": steady,
        "unsteady_count": unsteady,
        "links_count": len({frozenset(link) for link in p.links}),
        "nearest_relative_recorded": nearest,
        "carers_count": carers,
    }


_UNSTEADY_KINDS = frozenset({"on_and_off", "new", "strained"})


def _history(p: Proposal) -> dict[str, Any]:
    outcomes = [(a.outcome or "").lower() for a in p.history]
    return {
        "count": len(p.history),
        "positive_count": outcomes.count("positive"),
        "difficult_count": sum(o in {"negative", "mixed"} for o in outcomes),
        "learning_count": sum(bool(a.learning) for a in p.history),
    }


def _caring(m: Member) -> bool:
    """Recorded as caring: a carer by label or id, or what they do together is care.

    A friend who comes to a 5k is not a carer (practitioner review 2026-12, defect 7).
    """
    return _says_caring(m.id, m.kind_label, m.does_together)


@functools.lru_cache(maxsize=4096)
def _says_caring(member_id: str, label: str | None, together: tuple[str, ...]) -> bool:
    return bool(_CARING.search(" ".join([member_id, label or "", *together])))


@functools.lru_cache(maxsize=4096)
def _practical(text: str) -> bool:
    """A practical arrangement (timing, transport, things to carry), not a gate on insight or treatment."""
    return bool(_PRACTICAL.search(text)) and not _GATE.search(text)


def _concern(c: Any) -> dict[str, Any]:
    return {"kind": c.kind, "raised_by": c.raised_by, "text": c.text, "about_harm": c.kind in HARM_KINDS}


def _members(p: Proposal) -> Iterable[dict[str, Any]]:
    refused = _refused_with(p)
    goal = words_in(p.proposal.goal)
    plan = frozenset().union(*(words_in(x.text) for x in p.plan.mitigations))
    took_part = frozenset(p.decision_process.participants)
    owners = frozenset(x.owner for x in p.plan.mitigations if x.owner)  # sets: linear in the members
    return (_member(m, refused, goal, plan, took_part, owners) for m in p.network)


def _member(
    m: Member,
    refused: set[str],
    goal: frozenset[str],
    plan: frozenset[str],
    took_part: frozenset[str],
    owners: frozenset[str],
) -> dict[str, Any]:
    member_id = m.id
    kind = m.kind
    lower = member_id.lower()
    return {
        "member_id": member_id,
        "kind": kind,
        "kind_label": m.kind_label,
        "group": _GROUPS.get(kind) or member_group(kind),
        "legal_roles": m.legal_roles,
        "closeness": m.closeness,
        "contact": m.contact,
        "known_for_months": m.known_for_months,
        "steadiness": m.steadiness,
        "knows_about_plan": bool(m.knows_about_plan),
        "agreed_to_help": bool(m.agreed_to_help),
        "does_together": m.does_together,
        "took_part": member_id in took_part,
        "owns_mitigation": member_id in owners,
        "sharing_refused": member_id in refused or kind in refused,
        "named_in_goal": lower in goal,
        "named_in_plan": lower in plan,
        "caring": _says_caring(member_id, m.kind_label, m.does_together),
        "by_role": fills_by_role(kind, m.kind_label),
    }


def _refused_with(p: Proposal) -> set[str]:
    statement = p.person.advance_statement
    return {r.with_ for r in statement.information_sharing if not r.allowed} if statement else set()


def _mitigations(p: Proposal) -> Iterable[dict[str, Any]]:
    mitigations = p.plan.mitigations
    kinds = {m.id: m.kind for m in reversed(p.network)} if mitigations else {}  # the first of an id wins
    return (_mitigation(m, kinds) for m in mitigations)


def _mitigation(m: Any, kinds: Mapping[str, str]) -> dict[str, Any]:
    return {
        "text": m.text,
        "owner": m.owner,
        "owner_group": _owner_group(m.owner, kinds),
        "draws_on": m.draws_on,
    }


def _owner_group(owner: str | None, kinds: Mapping[str, str]) -> str:
    """``none``, ``person``, the group of the member who owns it, or ``outside_network``."""
    if not owner:
        return "none"
    if owner == "person":
        return "person"
    kind = kinds.get(owner)
    return member_group(kind) if kind is not None else "outside_network"
