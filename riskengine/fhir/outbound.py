"""An evaluation → FHIR R4 resources: a draft CarePlan, Goals, a RequestGroup, a CareTeam view
of the safety net, and a Provenance for each tying it to rule ids and ruleset hashes.

Never a RiskAssessment, never a priority, probability or qualitative risk: the engine does not
grade. Every resource is plain JSON (``dict``), checked against ``fhir.resources`` R4B in tests.

May import ``riskengine`` public names and this package's modules.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import riskengine

from .codes import CS, EXT, NS

__all__ = ["resources_for"]

_NAMESPACE = uuid.UUID("6f1d3a52-8f0e-5b8e-9a51-5f3c0f2b7d11")  # riskengine.fhir resource ids
_STAGE_TITLES = {
    "team_talk": "Team talk: getting ready to decide together",
    "option_talk": "Option talk: comparing the options",
    "decision_talk": "Decision talk: what the person prefers",
    "review": "Review: looking back together",
}
_PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"

Json = dict[str, Any]


def _coding(system: str, code: str, display: str | None = None) -> Json:
    coding: Json = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(system: str, code: str, text: str | None = None) -> Json:
    concept: Json = {"coding": [_coding(system, code)]}
    if text:
        concept["text"] = text
    return concept


def _clean(text: str) -> str:
    return " ".join(text.split())


class _Builder:
    """Builds the resources of one evaluation; ids are stable (uuid5 of the proposal id)."""

    def __init__(
        self,
        evaluation: riskengine.Evaluation,
        proposal: riskengine.Proposal,
        references: Mapping[str, str],
        subject: str | None,
    ) -> None:
        self.evaluation = evaluation
        self.proposal = proposal
        self.references = references
        self.subject = self._subject(subject)
        self.members = {m.id for m in proposal.network}
        self.ruleset_of = {t.rule: t.ruleset for t in evaluation.trace}
        self.made: list[tuple[Json, list[str], bool]] = []  # resource, rule ids, from the person's words

    def _subject(self, subject: str | None) -> Json:
        reference = subject or self.references.get("person")
        if reference:
            return {"reference": reference}
        if self.proposal.person.ref:
            return {"identifier": {"system": NS.PERSON_PSEUDONYM, "value": self.proposal.person.ref}}
        return {"display": "the person this proposal is about"}

    def new_id(self, kind: str, n: int = 0) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{self.proposal.id}/{kind}/{n}"))

    def who(self, member: str | None) -> Json | None:
        """A Reference to ``person`` or a network member, if ``member`` is one."""
        if member is None:
            return None
        if member == "person":
            return self.subject
        if member in self.references:
            return {"reference": self.references[member]}
        if member in self.members:
            return {"display": member}
        return None

    def add(self, resource: Json, rules: Iterable[str], from_person: bool = False) -> Json:
        self.made.append((resource, sorted(set(rules)), from_person))
        return resource

    # ---- the resources -------------------------------------------------------------------

    def goals(self) -> list[str]:
        """Goals: the decision's goal (with what success looks like) and each hoped-for benefit."""
        refs: list[str] = []
        details = self.proposal.proposal
        review = self.evaluation.review
        if details.goal:
            goal = self._goal("goal", 0, details.goal, "decision-goal")
            target: Json = {}
            if review.success_looks_like:
                target["detailString"] = _clean(review.success_looks_like)
            if review.on:
                target["dueDate"] = review.on.isoformat()
            if target:
                goal["target"] = [target]
            refs.append(f"Goal/{self.add(goal, [], True)['id']}")
        person_benefits = [b.text for b in self.evaluation.benefits if b.from_ == "person"]
        for n, text in enumerate(person_benefits):
            refs.append(
                f"Goal/{self.add(self._goal('benefit', n, text, 'hoped-for-benefit'), [], True)['id']}"
            )
        return refs

    def _goal(self, kind: str, n: int, text: str, category: str) -> Json:
        return {
            "resourceType": "Goal",
            "id": self.new_id(kind, n),
            "lifecycleStatus": "proposed",
            "category": [_concept(CS.CATEGORY, category)],
            "description": {"text": _clean(text)},
            "subject": self.subject,
            "expressedBy": self.subject,
        }

    def careplan(self, goals: list[str], care_team: str) -> Json:
        """The draft CarePlan: the activity, the plan's and the rules' mitigations, contingency, review."""
        p = self.proposal
        activities = [self._the_activity()]
        activities += [self._mitigation(m.text, m.owner, None) for m in p.plan.mitigations]
        rules = []
        for item in self.evaluation.mitigations:
            activities.append(self._mitigation(item.text, item.suggested_owner, item.addresses))
            rules.append(item.id)
        if p.plan.contingency:
            activities.append({"detail": self._detail("contingency", p.plan.contingency)})
        if self.evaluation.review.on:
            detail = self._detail("review", "Review: " + "; ".join(self.evaluation.review.look_back_at))
            detail["scheduledPeriod"] = {"start": self.evaluation.review.on.isoformat()}
            activities.append({"detail": detail})
        plan: Json = {
            "resourceType": "CarePlan",
            "id": self.new_id("careplan"),
            "identifier": [{"system": NS.PROPOSAL, "value": p.id}],
            "status": "draft",
            "intent": "proposal",
            "category": [_concept(CS.CATEGORY, "positive-risk-taking", "Positive risk-taking plan")]
            + [_concept(CS.ACTIVITY_CATEGORY, c) for c in p.proposal.categories],
            "title": _clean(p.proposal.title or p.proposal.activity.replace("_", " ")),
            "description": _clean(self.evaluation.living_your_life.note),
            "subject": self.subject,
            "created": self.evaluation.as_of.isoformat(),
            "careTeam": [{"reference": care_team}],
            "goal": [{"reference": g} for g in goals],
            "activity": activities,
        }
        return self.add(plan, rules)

    def _detail(self, part: str, text: str) -> Json:
        return {"code": _concept(CS.PLAN_PART, part), "status": "not-started", "description": _clean(text)}

    def _the_activity(self) -> Json:
        details = self.proposal.proposal
        detail: Json = {
            "code": {"coding": [_coding(CS.ACTIVITY, details.activity), _coding(CS.PLAN_PART, "proposal")]},
            "status": "not-started",
            "description": _clean(details.title or details.activity.replace("_", " ")),
        }
        timing = details.timing
        if timing and (timing.starts or timing.ends):
            period = {k: v.isoformat() for k, v in (("start", timing.starts), ("end", timing.ends)) if v}
            detail["scheduledPeriod"] = period
        performer = self.who("person")
        if performer:
            detail["performer"] = [performer]
        return {"detail": detail}

    def _mitigation(self, text: str, owner: str | None, addresses: Iterable[str] | None) -> Json:
        detail = self._detail("mitigation", text)
        performer = self.who(owner)
        if performer:
            detail["performer"] = [performer]
        elif owner:  # a safety-net role rather than a member: the plan still needs someone
            detail["extension"] = [{"url": EXT.OWNER, "valueString": owner}]
        if addresses:
            detail["reasonCode"] = [_concept(CS.CONCERN_KIND, a) for a in addresses]
        return {"detail": detail}

    def request_group(self) -> Json:
        """Suggested actions: the prompts by conversation stage, what the law requires, unmet needs."""
        ev = self.evaluation
        groups: list[Json] = []
        rules: list[str] = []
        for stage, title in _STAGE_TITLES.items():
            prompts = [p for p in ev.prompts if p.stage == stage]
            if prompts:
                groups.append({"title": title, "action": [self._prompt(p) for p in prompts]})
                rules += [p.id for p in prompts]
        musts = [k for k in ev.knowledge if k.weight == "must"]
        if musts:
            groups.append({"title": "What the law requires", "action": [self._knowledge(k) for k in musts]})
            rules += [k.id for k in musts]
        needs = [n for n in ev.safety_net.needs if n.status != "in_place"]
        if needs:
            groups.append({"title": "Who the plan still needs", "action": [self._need(n) for n in needs]})
        group: Json = {
            "resourceType": "RequestGroup",
            "id": self.new_id("requestgroup"),
            "status": "draft",
            "intent": "proposal",
            "subject": self.subject,
            "authoredOn": ev.as_of.isoformat(),
            "action": groups
            or [{"title": "Nothing further to suggest", "description": "No prompts for this proposal."}],
        }
        return self.add(group, rules)

    def _prompt(self, prompt: Any) -> Json:
        action: Json = {  # no title: a prompt has only an id, which is in the code
            "description": _clean(prompt.to_practitioner),
            "textEquivalent": _clean(prompt.to_person),
            "code": [_concept(CS.CATEGORY, "prompt"), _concept(CS.RULE, prompt.id)],
        }
        action["documentation"] = [self._citation(prompt.source)]
        return action

    def _knowledge(self, item: Any) -> Json:
        return {
            "title": item.topic,
            "description": _clean(item.text),
            "code": [_concept(CS.CATEGORY, "knowledge"), _concept(CS.RULE, item.id)],
            "documentation": [self._citation(item.source)],
        }

    def _need(self, need: Any) -> Json:
        return {
            "title": f"{need.role.replace('_', ' ')} ({need.when})",
            "description": _clean(need.why),
            "code": [_concept(CS.CATEGORY, "need"), _concept(CS.SAFETY_NET_ROLE, need.role)],
        }

    @staticmethod
    def _citation(source: Any) -> Json:
        artifact: Json = {"type": "citation", "display": source.title}
        if source.citation:
            artifact["citation"] = source.citation
        if source.url:
            artifact["url"] = source.url
        return artifact

    def care_team(self) -> Json:
        """The safety net as a proposed CareTeam: who fills which role, and the roles no one fills."""
        net = self.evaluation.safety_net
        participants: list[Json] = []
        for need in net.needs:
            issues = {i.member: i.issues for i in need.issues_by_member}
            for member in need.filled_by:
                participants.append(self._participant(need, member, issues.get(member, ())))
            if not need.filled_by:
                participants.append(self._participant(need, None, need.issues))
        notes = [
            f"{s.member} carries {', '.join(s.carries)}: the plan leans on one person" for s in net.single_points_of_failure
        ] + [
            f"{c.member} ({c.role}): the person's sharing rule says no. {c.because}" for c in net.consent_conflicts
        ]  # fmt: skip
        team: Json = {
            "resourceType": "CareTeam",
            "id": self.new_id("careteam"),
            "status": "proposed",
            "category": [_concept(CS.CATEGORY, "safety-net", "Safety net for a positive risk-taking plan")],
            "name": "Safety net",
            "subject": self.subject,
        }
        if participants:
            team["participant"] = participants
        if notes:
            team["note"] = [{"text": _clean(n)} for n in notes]
        rules = [t.rule for t in self.evaluation.trace if t.rule.startswith("net.") or ".need." in t.rule]
        return self.add(team, rules)

    def _participant(self, need: Any, member: str | None, issues: Iterable[str]) -> Json:
        extension: list[Json] = [
            {"url": "when", "valueCode": need.when},
            {"url": "status", "valueCode": need.status},
            *({"url": "issue", "valueCode": i} for i in issues),
        ]
        participant: Json = {
            "extension": [{"url": EXT.SAFETY_NET_NEED, "extension": extension}],
            "role": [_concept(CS.SAFETY_NET_ROLE, need.role, _clean(need.why))],
        }
        reference = self.who(member)
        if reference:
            participant["member"] = reference
        return participant

    def provenance(self) -> list[Json]:
        """One Provenance per resource: the rules and rulesets (with hashes) it came from."""
        ev = self.evaluation
        hashes = {f"{r.id}@{r.version}": r.sha256 for r in ev.provenance.rulesets}
        out = []
        for n, (resource, rules, from_person) in enumerate(self.made):
            entities = (
                [self._entity("source", NS.PROPOSAL, self.proposal.id, "the proposal")] if from_person else []
            )
            used = sorted({self.ruleset_of[r] for r in rules if r in self.ruleset_of})
            for ruleset in used or sorted(hashes):
                entity = self._entity("derivation", NS.RULESET, ruleset, f"ruleset {ruleset}")
                if ruleset in hashes:
                    entity["what"]["extension"] = [
                        {"url": EXT.RULESET_SHA256, "valueString": hashes[ruleset]}
                    ]
                entities.append(entity)
            entities += [self._entity("derivation", NS.RULE, rule, f"rule {rule}") for rule in rules]
            out.append(
                {
                    "resourceType": "Provenance",
                    "id": self.new_id("provenance", n),
                    "target": [{"reference": f"{resource['resourceType']}/{resource['id']}"}],
                    "recorded": f"{ev.as_of.isoformat()}T00:00:00Z",
                    "agent": [
                        {
                            "type": _concept(_PARTICIPANT_TYPE, "assembler"),
                            "who": {
                                "identifier": {"system": NS.ENGINE, "value": ev.provenance.engine_version},
                                "display": f"riskengine {ev.provenance.engine_version} ({ev.provenance.backend})",
                            },
                        }
                    ],
                    "entity": entities,
                }
            )
        return out

    @staticmethod
    def _entity(role: str, system: str, value: str, display: str) -> Json:
        return {"role": role, "what": {"identifier": {"system": system, "value": value}, "display": display}}


def resources_for(
    evaluation: riskengine.Evaluation,
    proposal: riskengine.Proposal,
    *,
    references: Mapping[str, str] | None = None,
    subject: str | None = None,
) -> list[dict[str, Any]]:
    """The FHIR R4 resources for an evaluation, as JSON objects, Provenance last.

    ``references`` maps ``person`` and network ids to FHIR references (``FhirMapping.references``);
    members without one are named by their id only. ``subject`` overrides the Patient reference.
    """
    b = _Builder(evaluation, proposal, references or {}, subject)
    goals = b.goals()
    team = b.care_team()
    b.careplan(goals, f"CareTeam/{team['id']}")
    b.request_group()
    resources = [resource for resource, _, _ in b.made]
    return [*resources, *b.provenance()]
