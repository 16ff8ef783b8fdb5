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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

from .evaluation import (
    ConsentConflict,
    Issue,
    NeedIssue,
    SafetyNet,
    SafetyNetNeed,
    SinglePointOfFailure,
    Status,
)
from .network import PERSON, Net, build_net, mentions_member, service_cut_points
from .proposal import Member, Proposal, SharingRule
from .vocab import DEFAULT_FILLERS, ROLES, Role, When

__all__ = ["NeedRequest", "SafetyNetAnalysis", "analyse", "analyse_safety_net"]

WHEN_ORDER = ("before", "during", "after", "ongoing")
_STEADINESS_ISSUE = {"on_and_off": "on_and_off", "new": "new", "strained": "strained"}
_CRITICAL = ("route_back", "early_warning")
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
    graph = build_net(proposal, attributes=False)
    refusals = _refusals(proposal)
    pool = _Pool.of(proposal, refusals)
    needs = tuple(_match(pool, need) for need in _merge(requests))
    cuts, reaches = service_cut_points(graph)
    net = SafetyNet.build(
        needs=needs,
        single_points_of_failure=_single_points(needs, graph, cuts),
        consent_conflicts=_consent_conflicts(proposal, needs, refusals),
    )
    return SafetyNetAnalysis(net, reaches, cuts)


_Scored = tuple[tuple[int, int, int, int, str], str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class _Pool:
    """Members by kind with their need-independent issues; caches what needs share.

    Issues depend on the need only through ``when`` and ``steadiness``, so each
    member is scored once per such pair, however many needs ask.
    """

    by_kind: dict[str, list[tuple[Member, tuple[str, ...]]]]
    scored: dict[tuple[str, str, str], list[_Scored]]

    @classmethod
    def of(cls, proposal: Proposal, refusals: Sequence[SharingRule]) -> _Pool:
        by_kind: dict[str, list[tuple[Member, tuple[str, ...]]]] = {}
        for member in proposal.network:
            by_kind.setdefault(member.kind, []).append((member, _base_issues(member, refusals)))
        return cls(by_kind, {})

    def candidates(self, kind: str, need: NeedRequest) -> list[_Scored]:
        """Members of ``kind`` with their issues for a need like ``need`` and their rank key."""
        key = (kind, need.when, need.steadiness)
        found = self.scored.get(key)
        if found is None:
            found = self.scored[key] = [
                (_rank(m, issues), m.id, issues)
                for m, base in self.by_kind.get(kind, ())
                for issues in (_need_issues(m, base, need),)
            ]
        return found

    def note(self, member: str, issues: tuple[str, ...]) -> NeedIssue:
        """One shared (frozen) NeedIssue per member and set of issues."""
        return _need_issue(member, issues)


@lru_cache(maxsize=8192)
def _need_issue(member: str, issues: tuple[str, ...]) -> NeedIssue:
    """NeedIssue values are frozen and recur across evaluations: build each once per process."""
    return NeedIssue.build(member=member, issues=cast("tuple[Issue, ...]", issues))


def _merge(requests: Sequence[NeedRequest]) -> list[NeedRequest]:
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
        merged.append(NeedRequest(role, when, why, tuple(sorted(kinds)), steady))
    return sorted(merged, key=lambda n: (ROLES.index(n.role), WHEN_ORDER.index(n.when)))


def _refusals(proposal: Proposal) -> tuple[SharingRule, ...]:
    statement = proposal.person.advance_statement
    rules = statement.information_sharing if statement else ()
    return tuple(sorted((r for r in rules if not r.allowed), key=lambda r: (r.with_, r.note or "")))


def _refused(member: Member, rules: Sequence[SharingRule]) -> list[SharingRule]:
    return [r for r in rules if r.with_ in {member.id, member.kind}]


def _base_issues(member: Member, refusals: Sequence[SharingRule]) -> tuple[str, ...]:
    """The issues a member has whatever the need: agreement, awareness, steadiness, consent."""
    issues = []
    if not member.agreed_to_help:
        issues.append("not_agreed")
    if not member.knows_about_plan:
        issues.append("not_aware")
    if member.steadiness in _STEADINESS_ISSUE:
        issues.append(_STEADINESS_ISSUE[member.steadiness])
    if member.known_for_months is not None and member.known_for_months < _NEW_MONTHS and "new" not in issues:
        issues.append("new")
    if _refused(member, refusals):
        issues.append("consent_conflict")
    return tuple(issues)


def _need_issues(member: Member, base: tuple[str, ...], need: NeedRequest) -> tuple[str, ...]:
    extra = []
    if member.steadiness is None and need.steadiness == "steady":
        extra.append("not_known")
    if member.contact in _TOO_RARE[need.when]:
        extra.append("rarely_in_contact")
    return tuple(sorted((*base, *extra))) if extra else tuple(sorted(base))


def _rank(member: Member, issues: tuple[str, ...]) -> tuple[int, int, int, int, str]:
    contact = _CONTACT_RANK.get(member.contact or "", 5)
    return (len(issues), -(member.closeness or 0), contact, -(member.known_for_months or 0), member.id)


def _match(pool: _Pool, need: NeedRequest) -> SafetyNetNeed:
    kinds = sorted(set(need.kinds or ()))
    scored = sorted(entry for kind in kinds for entry in pool.candidates(kind, need))
    solid = [member for _, member, found in scored if not found]
    issues: set[str] = set()
    if solid:
        status = "in_place"
    elif scored:
        status = "fragile"
        issues = {i for _, _, found in scored for i in found}
    else:
        status = "missing"
    if len(solid) == 1 or (not solid and len(scored) == 1):
        issues.add("only_one")
    # Built from already-checked values: skip re-validation (this runs for every need on every evaluation).
    return SafetyNetNeed.build(
        role=cast("Role", need.role),
        when=cast("When", need.when),
        why=need.why,
        fillable_by=tuple(kinds),
        filled_by=tuple(member for _, member, _ in scored),
        status=cast("Status", status),
        issues=cast("tuple[Issue, ...]", tuple(sorted(issues))),
        issues_by_member=tuple(pool.note(member, found) for _, member, found in scored if found),
    )


def carriers(need: SafetyNetNeed) -> tuple[str, ...]:
    """Who actually holds a need: the fillers without issues, or, if none, every filler."""
    troubled = {entry.member for entry in need.issues_by_member}
    solid = tuple(m for m in need.filled_by if m not in troubled)
    return solid or need.filled_by


def _single_points(
    needs: Sequence[SafetyNetNeed], graph: Net, cuts: tuple[str, ...]
) -> tuple[SinglePointOfFailure, ...]:
    alone: dict[str, set[str]] = {}
    kinds: dict[str, set[str]] = {}
    for need in needs:
        held = carriers(need)
        if len(held) == 1:
            alone.setdefault(held[0], set()).add(need.role)
            kinds.setdefault(held[0], set()).update(need.fillable_by)
    out = []
    for member in sorted(set(alone) | set(cuts)):
        roles = sorted(alone.get(member, set()), key=ROLES.index)
        heavy = len(roles) >= 2 or any(r in _CRITICAL for r in roles)
        if not heavy and member not in cuts:
            continue
        own_kind = graph.nodes[member].get("kind") if member in graph else None
        share_kinds = sorted(kinds.get(member, set()) - {own_kind})
        out.append(SinglePointOfFailure(
            member=member, carries=tuple(roles), because=_spof_because(roles, heavy, member in cuts),
            could_share=_linked(graph, member), could_share_kinds=tuple(share_kinds),
            cuts_off_services=member in cuts,
        ))  # fmt: skip
    return tuple(out)


def _spof_because(roles: Sequence[str], heavy: bool, cut: bool) -> str:
    parts = []
    if heavy:
        parts.append(f"the only one holding {', '.join(r.replace('_', ' ') for r in roles)}")
    if cut:
        parts.append("the person's only way through to any service")
    return "; ".join(parts)


def _linked(graph: Net, member: str) -> tuple[str, ...]:
    if member not in graph:
        return ()
    return tuple(sorted(n for n in graph.neighbors(member) if n != PERSON))


def _consent_conflicts(
    proposal: Proposal, needs: Sequence[SafetyNetNeed], refusals: Sequence[SharingRule]
) -> tuple[ConsentConflict, ...]:
    if not refusals:
        return ()
    members = {m.id: m for m in proposal.network}
    out: set[ConsentConflict] = set()
    for need in needs:
        if need.status == "in_place":
            continue  # someone else can hold it: the need does not depend on telling them
        for member_id in need.filled_by:
            for rule in _refused(members[member_id], refusals):
                out.add(_conflict(member_id, need.role, rule))
    for mitigation in proposal.plan.mitigations:
        named = {mitigation.owner, *mentions_member(mitigation.text, sorted(members))} - {None}
        for member_id in sorted(n for n in named if n in members):
            for rule in _refused(members[member_id], refusals):
                out.add(_conflict(member_id, "mitigation", rule, mitigation.text))
    return tuple(sorted(out, key=lambda c: (c.member, c.role, c.mitigation or "", c.because)))


def _conflict(member: str, role: str, rule: SharingRule, mitigation: str | None = None) -> ConsentConflict:
    what = f"the mitigation '{mitigation}'" if mitigation else f"{role.replace('_', ' ')}"
    words = f': "{rule.note}"' if rule.note else ""
    because = (
        f"{what} would mean telling {member}; the advance statement says not to tell {rule.with_}{words}"
    )
    return ConsentConflict(
        member=member, role=role, because=because, person_words=rule.note, mitigation=mitigation
    )
