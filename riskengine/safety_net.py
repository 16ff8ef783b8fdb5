"""Safety-net analysis: match the needs rules declare against the person's network.

A safety net is made of collaborative, consistent relationships (seed
``000_b0bfa345df7592bd.txt``, Ware et al 2022). For each need this module finds
who could fill it, ranks them, and names every reason a filler is not yet solid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .evaluation import ConsentConflict, NeedIssue, SafetyNet, SafetyNetNeed, SinglePointOfFailure
from .proposal import Member, Proposal
from .vocab import DEFAULT_FILLERS, ROLES

__all__ = ["NeedRequest", "analyse_safety_net", "member_issues"]

_WHEN_ORDER = ("before", "during", "after", "ongoing")
_STEADINESS_ISSUE = {"on_and_off": "on_and_off", "new": "new", "strained": "strained"}
_CRITICAL = ("route_back", "early_warning")


@dataclass(frozen=True, slots=True)
class NeedRequest:
    """A need one rule declared: a role, when it is needed, why, and who may fill it."""

    role: str
    when: str
    why: str
    kinds: tuple[str, ...] | None = None
    steadiness: str = "any"


def analyse_safety_net(proposal: Proposal, requests: Sequence[NeedRequest]) -> SafetyNet:
    """Merge requests by role and time, match them to members, and find weak points."""
    merged = _merge(requests)
    needs = tuple(_match(proposal, need) for need in merged)
    return SafetyNet(
        needs=needs,
        single_points_of_failure=_single_points(needs),
        consent_conflicts=_consent_conflicts(proposal, needs),
    )


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
    return sorted(merged, key=lambda n: (ROLES.index(n.role), _WHEN_ORDER.index(n.when)))


def member_issues(member: Member, need: NeedRequest, proposal: Proposal) -> tuple[str, ...]:
    """Every reason ``member`` is not (yet) a solid filler of ``need``."""
    issues = []
    if not member.agreed_to_help:
        issues.append("not_agreed")
    if not member.knows_about_plan:
        issues.append("not_aware")
    if member.steadiness in _STEADINESS_ISSUE:
        issues.append(_STEADINESS_ISSUE[member.steadiness])
    elif member.steadiness is None and need.steadiness == "steady":
        issues.append("not_known")
    if member.contact == "none" or (
        member.contact in {"monthly", "less_than_monthly"} and need.when == "during"
    ):
        issues.append("rarely_in_contact")
    if _sharing_refused(member, proposal):
        issues.append("consent_conflict")
    return tuple(issues)


def _sharing_refused(member: Member, proposal: Proposal) -> bool:
    statement = proposal.person.advance_statement
    rules = statement.information_sharing if statement else ()
    return any(not r.allowed and r.with_ in {member.id, member.kind} for r in rules)


def _rank(member: Member, issues: tuple[str, ...]) -> tuple[int, int, int, str]:
    return (len(issues), -(member.closeness or 0), -(member.known_for_months or 0), member.id)


def _match(proposal: Proposal, need: NeedRequest) -> SafetyNetNeed:
    kinds = set(need.kinds or ())
    candidates = [m for m in proposal.network if m.kind in kinds]
    scored = sorted(((m, member_issues(m, need, proposal)) for m in candidates), key=lambda x: _rank(*x))
    solid = [m for m, issues in scored if not issues]
    if solid:
        status = "in_place"
        issues: set[str] = set()
    elif scored:
        status = "fragile"
        issues = {i for _, found in scored for i in found}
    else:
        status = "missing"
        issues = set()
    if len(scored) == 1:
        issues.add("only_one")
    return SafetyNetNeed(
        role=need.role,  # type: ignore[arg-type]
        when=need.when,  # type: ignore[arg-type]
        why=need.why,
        fillable_by=tuple(sorted(kinds)),
        filled_by=tuple(m.id for m, _ in scored),
        status=status,  # type: ignore[arg-type]
        issues=tuple(sorted(issues)),  # type: ignore[arg-type]
        issues_by_member=tuple(NeedIssue(member=m.id, issues=i) for m, i in scored if i),  # type: ignore[arg-type]
    )


def _single_points(needs: Sequence[SafetyNetNeed]) -> tuple[SinglePointOfFailure, ...]:
    carries: dict[str, list[str]] = {}
    for need in needs:
        if len(need.filled_by) == 1:
            carries.setdefault(need.filled_by[0], []).append(need.role)
    out = []
    for member, roles in sorted(carries.items()):
        roles = sorted(set(roles), key=ROLES.index)
        if len(roles) >= 2 or any(r in _CRITICAL for r in roles):
            because = f"the only one who can fill {', '.join(r.replace('_', ' ') for r in roles)}"
            out.append(SinglePointOfFailure(member=member, carries=tuple(roles), because=because))
    return tuple(out)


def _consent_conflicts(proposal: Proposal, needs: Sequence[SafetyNetNeed]) -> tuple[ConsentConflict, ...]:
    statement = proposal.person.advance_statement
    rules = statement.information_sharing if statement else ()
    members = {m.id: m for m in proposal.network}
    out = []
    for need in needs:
        for member_id in need.filled_by:
            member = members[member_id]
            for rule in rules:
                if not rule.allowed and rule.with_ in {member.id, member.kind}:
                    words = f": {rule.note}" if rule.note else ""
                    because = f"advance statement says not to tell {rule.with_}{words}"
                    out.append(ConsentConflict(member=member_id, role=need.role, because=because))
    return tuple(sorted(set(out), key=lambda c: (c.member, ROLES.index(c.role))))
