"""Safety-net analysis: match the needs rules declare against the person's network.

A safety net is made of collaborative, consistent relationships (seed
``000_b0bfa345df7592bd.txt``, Ware et al 2022). For each need this module finds
who could fill it, ranks them, and names every reason a filler is not yet solid.
It then looks for single points of failure (Connecting People: help should not
depend on one worker) and for needs or mitigations that would mean telling
someone the person has said no to. It reports; it never resolves.

Status of a need: ``in_place`` when at least one filler has no issue, ``fragile``
when every filler has one, ``missing`` when nobody can fill it. Adding a filler
can only keep or improve a status; removing one can only keep or worsen it.

The record fills needs as well as people (practitioner review 2026-12, defect 1):
the route back the crisis plan names fills ``route_back`` (and the services its
words name count as fillers of it), and an inpatient's ward fills ``route_back``
and ``check_in``; both are listed in ``held_in_record``, and a need held there
rests on nobody alone. Services that answer by their role (``ROLE_SERVICES``: a
crisis team, a helpline, the GP, a prescriber, the responsible clinician, a
pharmacist) are never asked to have "agreed to the plan": only a consent conflict
is an issue for them. A member of kind ``other`` whose label says they prescribe
(a psychiatrist, a non-medical prescriber) counts as a prescriber.

May import: the evaluation and proposal models, ``network`` and ``vocab``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache, partial
from itertools import chain
from typing import cast

from riskengine.analysis.network import (
    PERSON,
    Net,
    build_net,
    direct_service_reach,
    mentions_member,
    service_cut_points,
)
from riskengine.documents.evaluation import (
    ConsentConflict,
    Issue,
    NeedIssue,
    RecordFiller,
    SafetyNet,
    SafetyNetNeed,
    SinglePointOfFailure,
    Status,
)
from riskengine.documents.proposal import Member, Proposal, SharingRule
from riskengine.documents.vocab import (
    DEFAULT_FILLERS,
    INPATIENT_CONTEXTS,
    ROLES,
    Role,
    When,
    filling_kind,
    fills_by_role,
)

__all__ = ["NeedRequest", "SafetyNetAnalysis", "analyse", "analyse_safety_net"]

WHEN_ORDER = ("before", "during", "after", "ongoing")
_ROLE_ORDER = {role: i for i, role in enumerate(ROLES)}
_WHEN_ORDER = {when: i for i, when in enumerate(WHEN_ORDER)}
_STEADINESS_ISSUE = {"on_and_off": "on_and_off", "new": "new", "strained": "strained"}
_CRITICAL = frozenset(("route_back", "early_warning"))
_WARD_LABEL = re.compile(r"\bward\b|inpatient|hospital", re.I)
# Words in the crisis plan's route back, and the member kinds they name.
_ROUTE_BACK_NAMES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"crisis|home treatment|hths?\b|\bcrht\b", re.I), ("crisis_team", "helpline")),
    (re.compile(r"\bgp\b|surgery|practice", re.I), ("gp",)),
    (re.compile(r"\b111\b|nhs ?24|lifeline|samaritans|116 ?123|helpline|\bline\b", re.I), ("helpline",)),
    (
        re.compile(r"duty|\bcmht\b|community (mental health )?team|the team", re.I),
        ("key_worker", "crisis_team"),
    ),
)
_NEW_MONTHS = 3
_CONTACT_RANK = {"daily": 0, "weekly": 1, "monthly": 2, "less_than_monthly": 3, "none": 4}
_TOO_RARE = {
    "during": {"monthly", "less_than_monthly", "none"},
    "after": {"less_than_monthly", "none"},
    "before": {"none"},
    "ongoing": {"none"},
}


@dataclass(frozen=True, slots=True)
class NeedRequest:
    """A need one rule declared: a role, when it is needed, why, and who may fill it."""

    role: str
    when: str
    why: str
    kinds: tuple[str, ...] | None = None
    steadiness: str = "any"
    offered: bool = False


@dataclass(frozen=True, slots=True)
class SafetyNetAnalysis:
    """The evaluation's safety net plus what the graph showed (for phase-2 facts)."""

    safety_net: SafetyNet
    services_reachable: bool
    service_cut_points: tuple[str, ...]


def analyse_safety_net(proposal: Proposal, requests: Sequence[NeedRequest]) -> SafetyNet:
    """Merge requests by role and time, match them to members, and find weak points."""
    return analyse(proposal, requests).safety_net


def analyse(proposal: Proposal, requests: Sequence[NeedRequest]) -> SafetyNetAnalysis:
    """The full analysis: needs, single points of failure, consent conflicts, reach to services."""
    graph = cache(partial(build_net, proposal, attributes=False))  # built only if it is asked
    refusals = _refusals(proposal)
    pool = _Pool.of(proposal, refusals)
    record = _Record.of(proposal)
    needs = tuple([_match(pool, record.widen(need), record.holding(need)) for need in _merge(requests)])
    cuts, reaches = direct_service_reach(proposal) or service_cut_points(graph())
    net = SafetyNet.build(
        needs=needs,
        single_points_of_failure=_single_points(needs, graph, cuts),
        consent_conflicts=_consent_conflicts(proposal, needs, pool),
    )
    return SafetyNetAnalysis(net, reaches, cuts)


_Rank = tuple[int, int, int, int, str]
_Scored = tuple[_Rank, str, tuple[str, ...]]
# What a member brings to any need: sorted base issues, then the rest of its rank key
# (closeness, contact, months known, all as sort keys; id), whether its steadiness is
# unknown, and how often they are in contact. A plain tuple: one is made per member.
_Filler = tuple[tuple[str, ...], int, int, int, str, bool, str | None]


@dataclass(frozen=True, slots=True)
class _Record:
    """What the record itself holds for the safety net: the crisis plan's route back, a ward."""

    route_back_kinds: tuple[str, ...]
    crisis_plan: bool
    ward: bool

    @classmethod
    def of(cls, proposal: Proposal) -> _Record:
        plan = proposal.person.crisis_plan
        text = (plan.route_back or "").strip() if plan else ""
        kinds = _route_back_kinds(text) if text else ()
        ward = proposal.person.legal_context in INPATIENT_CONTEXTS or any(
            m.kind == "other" and _WARD_LABEL.search(m.kind_label or "") for m in proposal.network
        )
        return cls(kinds, bool(text), ward)

    def widen(self, need: NeedRequest) -> NeedRequest:
        """A route back may also be filled by the services the crisis plan's words name."""
        if need.role != "route_back" or not self.route_back_kinds:
            return need
        kinds = tuple(sorted({*(need.kinds or ()), *self.route_back_kinds}))
        return NeedRequest(need.role, need.when, need.why, kinds, need.steadiness, need.offered)

    def holding(self, need: NeedRequest) -> tuple[RecordFiller, ...]:
        held: list[RecordFiller] = []
        if need.role == "route_back" and self.crisis_plan:
            held.append("crisis_plan")
        if need.role in ("route_back", "check_in") and self.ward:
            held.append("ward")
        return tuple(held)


@lru_cache(maxsize=4096)
def _route_back_kinds(text: str) -> tuple[str, ...]:
    """The member kinds a crisis plan's route back names, sorted; once per text (they recur)."""
    return tuple(sorted({k for pattern, named in _ROUTE_BACK_NAMES if pattern.search(text) for k in named}))


@dataclass(frozen=True, slots=True)
class _Pool:
    """Members by kind with what they bring to any need, and the refusals that name each.

    A member's issues depend on the need only through ``when`` and ``steadiness``;
    everything else about them is worked out here, once per evaluation.
    """

    by_kind: dict[str, list[_Filler]]
    refused: dict[str, list[SharingRule]]

    @classmethod
    def of(cls, proposal: Proposal, refusals: Sequence[SharingRule]) -> _Pool:
        refused: dict[str, list[SharingRule]] = {}
        by_kind: dict[str, list[_Filler]] = {}
        for member in proposal.network:
            rules = refused[member.id] = _refused(member, refusals) if refusals else []
            by_kind.setdefault(_kind(member), []).append(_filler(member, bool(rules)))
        return cls(by_kind, refused)

    def candidates(self, need: NeedRequest) -> list[_Scored]:
        """Members of the need's kinds with their issues for it and their rank key, best first."""
        by_kind = self.by_kind
        return _scored(chain.from_iterable([by_kind[k] for k in need.kinds or () if k in by_kind]), need)


@lru_cache(maxsize=8192)
def _need_issue(member: str, issues: tuple[str, ...]) -> NeedIssue:
    """NeedIssue values are frozen and recur across evaluations: build each once per process."""
    return NeedIssue.build(member=member, issues=cast("tuple[Issue, ...]", issues))


def _merge(requests: Sequence[NeedRequest]) -> tuple[NeedRequest, ...]:
    """Requests merged by role and time, in role then time order."""
    groups: dict[tuple[str, str], list[NeedRequest]] = {}
    for request in requests:
        groups.setdefault((request.role, request.when), []).append(request)
    merged = []
    for (role, when), group in groups.items():
        why = "; ".join(sorted({r.why for r in group}))
        kinds: set[str] = set()
        for r in group:
            kinds.update(r.kinds if r.kinds is not None else DEFAULT_FILLERS[role])
        steady = "steady" if any(r.steadiness == "steady" for r in group) else "any"
        offered = all(r.offered for r in group)  # asserted by any one rule: asserted
        merged.append(NeedRequest(role, when, why, tuple(sorted(kinds)), steady, offered))
    return tuple(sorted(merged, key=lambda n: (_ROLE_ORDER[n.role], _WHEN_ORDER[n.when])))


def _refusals(proposal: Proposal) -> tuple[SharingRule, ...]:
    statement = proposal.person.advance_statement
    rules = statement.information_sharing if statement else ()
    return tuple(sorted((r for r in rules if not r.allowed), key=lambda r: (r.with_, r.note or "")))


def _refused(member: Member, rules: Sequence[SharingRule]) -> list[SharingRule]:
    names = (member.id, member.kind)
    return [r for r in rules if r.with_ in names]


def _kind(member: Member) -> str:
    """The kind a member fills needs as: someone of kind ``other`` labelled as prescribing is a prescriber."""
    return filling_kind(member.kind, member.kind_label)


def _by_role(member: Member) -> bool:
    return fills_by_role(member.kind, member.kind_label)


def _base_issues(member: Member, refused: bool, by_role: bool) -> list[str]:
    """The issues a member has whatever the need: agreement, awareness, steadiness, consent.

    A service that answers by its role (``by_role``) has none of these but a consent conflict.
    """
    if by_role:
        return ["consent_conflict"] if refused else []
    issues = []
    if not member.agreed_to_help:
        issues.append("not_agreed")
    if not member.knows_about_plan:
        issues.append("not_aware")
    if member.steadiness in _STEADINESS_ISSUE:
        issues.append(_STEADINESS_ISSUE[member.steadiness])
    if member.known_for_months is not None and member.known_for_months < _NEW_MONTHS and "new" not in issues:
        issues.append("new")
    if refused:
        issues.append("consent_conflict")
    return issues


def _filler(member: Member, refused: bool) -> _Filler:
    """Rank keys: fewest issues (added per need), closest, most often in contact, longest known, id."""
    by_role = _by_role(member)
    issues = _base_issues(member, refused, by_role)
    issues.sort()
    contact = member.contact
    return (
        tuple(issues),
        -(member.closeness or 0),
        _CONTACT_RANK.get(contact or "", 5),
        -(member.known_for_months or 0),
        member.id,
        member.steadiness is None and not by_role,
        None if by_role else contact,
    )


def _scored(fillers: Iterable[_Filler], need: NeedRequest) -> list[_Scored]:
    """Each filler's issues for ``need`` and rank key, best first (see :func:`_filler`)."""
    rare = _TOO_RARE[need.when]
    steady = need.steadiness == "steady"
    out: list[_Scored] = []
    for base, closeness, contact, months, member, unsteady, seen in fillers:
        unknown = steady and unsteady
        rarely = seen in rare
        issues = _need_issues(base, unknown, rarely) if unknown or rarely else base
        out.append(((len(issues), closeness, contact, months, member), member, issues))
    out.sort()
    return out


def _need_issues(base: tuple[str, ...], unknown: bool, rare: bool) -> tuple[str, ...]:
    extra = []
    if unknown:
        extra.append("not_known")
    if rare:
        extra.append("rarely_in_contact")
    return tuple(sorted((*base, *extra)))


def _match(pool: _Pool, need: NeedRequest, held: tuple[RecordFiller, ...] = ()) -> SafetyNetNeed:
    """Who could fill a merged need (its kinds sorted and distinct), best first, and how solid that is.

    ``held`` is what the record already fills it with (the crisis plan's route back, the ward):
    each counts as a filler without issues.
    """
    kinds = need.kinds or ()
    scored = pool.candidates(need)
    filled_by = tuple([member for _, member, _ in scored])
    noted = tuple([_need_issue(member, issues) for _, member, issues in scored if issues])
    solid = len(filled_by) - len(noted) + len(held)
    issues: set[str] = set()
    if solid:
        status = "in_place"
    elif scored:
        status = "fragile"
        issues = {i for _, _, found in scored for i in found}
    else:
        status = "missing"
    if (solid == 1 and not held) or (not solid and len(scored) == 1):
        issues.add("only_one")
    # Built from already-checked values: skip re-validation (this runs for every need on every evaluation).
    return SafetyNetNeed.build(
        role=cast("Role", need.role),
        when=cast("When", need.when),
        why=need.why,
        fillable_by=kinds,
        filled_by=filled_by,
        status=cast("Status", status),
        issues=cast("tuple[Issue, ...]", tuple(sorted(issues))),
        issues_by_member=noted,
        offered=need.offered,
        held_in_record=held,
    )


def carriers(need: SafetyNetNeed) -> tuple[str, ...]:
    """Who actually holds a need: the fillers without issues, or, if none, every filler.

    A need the record holds (the crisis plan's route back, the ward) rests on no member alone:
    its carriers are the members without issues beside it.
    """
    if need.held_in_record:
        troubled = {entry.member for entry in need.issues_by_member}
        solid = tuple([m for m in need.filled_by if m not in troubled])
        return solid if len(solid) != 1 else (*solid, *need.held_in_record)
    if not need.issues_by_member:
        return need.filled_by
    troubled = {entry.member for entry in need.issues_by_member}
    return tuple([m for m in need.filled_by if m not in troubled]) or need.filled_by


def _single_points(
    needs: Sequence[SafetyNetNeed], net: Callable[[], Net], cuts: tuple[str, ...]
) -> tuple[SinglePointOfFailure, ...]:
    alone: dict[str, set[str]] = {}
    kinds: dict[str, set[str]] = {}
    for need in needs:
        held = carriers(need)
        if len(held) == 1:
            alone.setdefault(held[0], set()).add(need.role)
            kinds.setdefault(held[0], set()).update(need.fillable_by)
    out = []
    for member in sorted(alone.keys() | set(cuts)):
        roles = tuple(sorted(alone.get(member, ()), key=_ROLE_ORDER.__getitem__))
        cut = member in cuts
        if not (cut or _heavy(roles)):
            continue
        graph = net()
        own_kind = graph.nodes[member].get("kind") if member in graph else None
        share_kinds = tuple(sorted(kinds.get(member, set()) - {own_kind}))
        out.append(_single_point(member, roles, cut, _linked(graph, member), share_kinds))
    return tuple(out)


def _heavy(roles: tuple[str, ...]) -> bool:
    return len(roles) >= 2 or not _CRITICAL.isdisjoint(roles)


@lru_cache(maxsize=4096)
def _single_point(
    member: str, roles: tuple[str, ...], cut: bool, linked: tuple[str, ...], share_kinds: tuple[str, ...]
) -> SinglePointOfFailure:
    """SinglePointOfFailure values are frozen and recur across evaluations: build each once per process."""
    return SinglePointOfFailure.build(
        member=member, carries=roles, because=_spof_because(roles, _heavy(roles), cut),
        could_share=linked, could_share_kinds=share_kinds, cuts_off_services=cut,
    )  # fmt: skip


def _spof_because(roles: Sequence[str], heavy: bool, cut: bool) -> str:
    parts = []
    if heavy:
        parts.append(f"the only one holding {', '.join([r.replace('_', ' ') for r in roles])}")
    if cut:
        parts.append("the person's only way through to any service")
    return "; ".join(parts)


def _linked(graph: Net, member: str) -> tuple[str, ...]:
    if member not in graph:
        return ()
    return tuple(sorted([n for n in graph.adj[member] if n != PERSON]))


def _consent_conflicts(
    proposal: Proposal, needs: Sequence[SafetyNetNeed], pool: _Pool
) -> tuple[ConsentConflict, ...]:
    refused = {member: rules for member, rules in pool.refused.items() if rules}
    if not refused:
        return ()
    out: set[ConsentConflict] = set()
    for need in needs:
        if need.status == "in_place":
            continue  # someone else can hold it: the need does not depend on telling them
        for member_id in need.filled_by:
            for rule in refused.get(member_id, ()):
                out.add(_conflict(member_id, need.role, rule))
    member_ids = sorted(refused)  # only members the person has said no to can be in a conflict
    for mitigation in proposal.plan.mitigations:
        named = {mitigation.owner, *mentions_member(mitigation.text, member_ids)} - {None}
        for member_id in sorted(n for n in named if n in refused):
            for rule in refused[member_id]:
                out.add(_conflict(member_id, "mitigation", rule, mitigation.text))
    return tuple(sorted(out, key=lambda c: (c.member, c.role, c.mitigation or "", c.because)))


def _conflict(member: str, role: str, rule: SharingRule, mitigation: str | None = None) -> ConsentConflict:
    what = f"the mitigation '{mitigation}'" if mitigation else f"{role.replace('_', ' ')}"
    words = f': "{rule.note}"' if rule.note else ""
    because = (
        f"{what} would mean telling {member}; the advance statement says not to tell {rule.with_}{words}"
    )
    return ConsentConflict.build(
        member=member, role=role, because=because, person_words=rule.note, mitigation=mitigation
    )
