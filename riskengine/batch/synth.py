"""A synthetic corpus: valid, varied, realistic proposals, the same for the same seed.

Proposal ``i`` of seed ``s`` depends only on ``(s, i)``, so a corpus of 10^6 starts with the
corpus of 10^4. The activity, nation and legal context rotate so that any 72 consecutive
proposals hold every activity in every nation and every legal context (Northern Ireland has no
community treatment orders, so none is generated there); everything else is drawn at random
from fixed lists: networks from empty (about 1 in 100) to large (about 1 in 200 has 60-120
members), concerns by whom they are raised, mitigations owned by the person or their network,
missing information as often as a real record has it. No real person: ids are roles and
numbers, and the free text comes from fixed phrases.

May import: the standard library, orjson, ``riskengine`` public names, :mod:`._core`.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from ._core import CATEGORIES, VOCABULARY
from .output import refuse

__all__ = ["corpus", "synthetic_proposal", "write_corpus"]

ACTIVITIES = VOCABULARY["activity"]
NATIONS = VOCABULARY["jurisdiction"]
LEGAL = VOCABULARY["legal_context"]
_EPOCH = dt.date(2026, 1, 5)

# Contexts that fit an activity better than the rotation's pick (used most of the time, not always).
_FITTING_LEGAL: dict[str, tuple[str, ...]] = {
    "time_away_from_hospital": ("s17_leave", "detained"),
    "nearest_relative_discharge": ("detained", "community_treatment_order"),
    "less_restrictive_alternative": ("deprivation_of_liberty", "guardianship", "detained"),
}
_TITLES: dict[str, tuple[str, ...]] = {
    "reduce_or_stop_medication": ("Coming off {med} slowly", "Halving the {med} dose", "Stopping {med}"),
    "apply_course_or_job": (
        "Applying for the college course",
        "Going for the warehouse job",
        "A volunteering role",
    ),
    "overnight_stay": ("A night at a friend's flat", "Staying over at my sister's", "A weekend away"),
    "firearm_licence": ("Renewing the shotgun certificate", "Clay shooting with the club"),
    "learn_to_drive": ("Driving lessons", "Taking the theory test"),
    "buy_mobile_phone": ("A phone contract of my own", "Buying a smartphone"),
    "bungee_jump": ("A charity bungee jump",),
    "drinks_with_friends": ("Drinks after the match", "A birthday night out"),
    "parkrun": ("Saturday parkrun", "Couch to 5k and parkrun"),
    "join_group_or_club": ("Joining the allotment group", "The choir on Tuesdays", "The five-a-side team"),
    "attend_place_of_worship": (
        "Going back to the mosque",
        "Sunday service again",
        "The gurdwara on Sundays",
        "Fasting for Ramadan",
    ),
    "time_away_from_hospital": ("Unescorted leave to the shops", "A day at home", "Overnight leave"),
    "less_restrictive_alternative": ("Moving to supported housing", "Home treatment instead of a ward"),
    "nearest_relative_discharge": ("The nearest relative asks for discharge",),
    "practitioner_self_disclosure": ("Sharing my own experience with the group",),
    "personal_budget_use": ("A gym pass from the personal budget", "Art classes from the budget"),
    "self_care_plan": ("My own wellbeing plan", "A self-care plan with the peer group"),
    "other": ("Getting a dog", "Travelling to see family abroad", "Taking up open-water swimming"),
}
_OTHER_CATEGORIES = (
    "animals", "travel", "adventure_sport", "social", "physical_activity", "caring", "creative", "housing",
    "learning", "volunteering", "education_work", "money", "legal", "medication", "practice", "firearms",
)  # fmt: skip
_EXTRA_CATEGORIES = ("money", "peer_support", "social", "faith", "digital", "community")
_MEDICINES = (
    ("sertraline", "antidepressant"), ("lithium", "mood_stabiliser"), ("olanzapine", "antipsychotic"),
    ("aripiprazole", "antipsychotic"), ("quetiapine", "antipsychotic"), ("sodium valproate", "mood_stabiliser"),
    ("mirtazapine", "antidepressant"), ("clozapine", "antipsychotic"), ("zopiclone", "hypnotic"),
    ("metformin", None), ("salbutamol", None), ("paliperidone palmitate", "depot"), ("diazepam", "benzodiazepine"),
)  # fmt: skip
_STRENGTHS = (
    "turns up when she says she will", "good sense of humour", "walks the dog every day", "plans ahead",
    "knows her own warning signs", "asks for help early", "keeps going once started", "good with money",
    "cooks for the household", "loyal friend", "practical", "calm under pressure",
)  # fmt: skip
_INTERESTS = (
    "football",
    "walking",
    "music",
    "gardening",
    "cooking",
    "art",
    "gaming",
    "swimming",
    "reading",
    "cycling",
    "films",
)
_SIGNS = (
    "staying in my room all weekend", "not answering texts", "sleeping less", "spending more than usual",
    "hearing the voices more at night", "stopping eating properly", "drinking more", "missing appointments",
)  # fmt: skip
_MATTERS = (
    "being part of something that isn't about being ill", "getting my independence back",
    "seeing my children more", "doing things I used to enjoy", "having a routine", "earning my own money",
    "keeping the fast with my family",
)  # fmt: skip
_ROUTES = (
    "ring the team's duty worker on weekdays; the crisis line evenings and weekends",
    "text the key worker, or ring the ward directly", "the GP on weekdays, 111 option 2 out of hours",
)  # fmt: skip
_PHYSICAL = ("weight gain", "raised blood sugar", "asthma", "high blood pressure", "back pain")
_SUBSTANCES = ("tobacco", "alcohol", "cannabis")
_BENEFITS = (
    "more confidence",
    "something to get up for",
    "fitter",
    "new friends",
    "feeling normal",
    "less isolated",
)
_CONCERN_TEXT: dict[str, tuple[str, ...]] = {
    "harm_to_self": ("might hurt herself if it goes badly", "worry about self-harm if it falls through"),
    "harm_from_others": ("could be taken advantage of", "the people at the pub have exploited him before"),
    "harm_to_others": ("worry about an argument getting out of hand",),
    "relapse_or_crisis": (
        "stress could bring on a relapse",
        "not ready yet, too unwell",
        "the last crisis was recent",
    ),
    "physical_health": ("hasn't exercised for a long time", "blood pressure is high"),
    "medication_effects": ("side effects when the dose changes", "withdrawal symptoms"),
    "legal_or_licensing": ("the licence or the order may not allow it", "the DVLA has to be told"),
    "money": ("might overspend", "already in debt with a catalogue loan", "behind on the rent"),
    "stigma": ("people looking at me", "being judged at the group"),
    "benefits_or_placement": ("could affect benefits or the placement",),
    "organisational": ("the team would be blamed if something went wrong", "too risky for the service"),
    "other": (
        "an unwise choice in the family's view",
        "because of the psychosis diagnosis, not suitable",
        "a bad idea",
    ),
}
_RAISED_FOR_KIND = {"organisational": "organisation", "stigma": "person"}
_MITIGATIONS = (
    "try it once first with {who}", "text {who} afterwards", "agree a time to check in with {who}",
    "keep the crisis card in the wallet", "go with {who} the first time", "review together after two weeks",
    "{who} knows the early warning signs", "a written plan for the day, shared with {who}",
)  # fmt: skip
_OPTIONS = (
    "go ahead as planned",
    "a smaller first step",
    "wait a month",
    "not now",
    "with support the first time",
)
_CONDITIONS = (
    "only if she keeps taking her medication",
    "only once he shows insight",
    "only with staff present",
    "only if she keeps her appointments with the team",
    "once he is engaging with the team again",
)
_TOPICS = (
    "what the activity involves",
    "side effects and what to look out for",
    "who to ring if it goes wrong",
    "what the law allows",
)
_FORMATS = ("conversation", "leaflet", "written", "easy_read", "video")
_HISTORY = (
    "joined a running club", "a night away last year", "a course at college", "reduced the dose before",
    "volunteered at a charity shop", "a holiday with family",
)  # fmt: skip
_LEARNING = (
    "went better with a friend",
    "needed a set time",
    "stopped when nobody noticed",
    "the first week was hardest",
)
# Member ids: role words and a fixed list of first names used as ids, never a real person.
_NAMES = (
    "sam",
    "jo",
    "alex",
    "chris",
    "jay",
    "robin",
    "kim",
    "lee",
    "max",
    "ash",
    "nat",
    "ray",
    "bo",
    "mo",
    "tia",
    "ari",
)
_ROLE_IDS = {
    "partner": "partner",
    "family": "mum",
    "key_worker": "kw",
    "gp": "gp",
    "prescriber": "dr",
    "crisis_team": "crisis",
}
# Kinds weighted towards the people a community mental health record usually lists.
_KINDS: tuple[tuple[str, int], ...] = (
    ("friend", 14), ("family", 16), ("partner", 5), ("neighbour", 3), ("peer", 4), ("community_member", 3),
    ("community_group", 3), ("sports_club", 2), ("faith_community", 2), ("education_provider", 1), ("employer", 2),
    ("key_worker", 9), ("prescriber", 4), ("gp", 6), ("community_pharmacist", 2), ("crisis_team", 3),
    ("peer_support_worker", 3), ("social_worker", 3), ("amhp", 1), ("advocate", 2), ("support_worker", 4),
    ("social_prescriber", 2), ("employment_specialist", 1), ("housing_officer", 1), ("responsible_clinician", 2),
    ("helpline", 2), ("other", 1),
)  # fmt: skip
_KIND_NAMES, _KIND_WEIGHTS = zip(*_KINDS, strict=True)
_SERVICE_KINDS = frozenset(VOCABULARY["formal_kind"])


def synthetic_proposal(seed: int, index: int) -> dict[str, Any]:
    """Proposal ``index`` of the corpus for ``seed``, as plain data (dates as ``datetime.date``)."""
    rng = random.Random(f"riskengine-synth:{seed}:{index}")
    activity = ACTIVITIES[index % len(ACTIVITIES)]
    nation = NATIONS[(index // len(ACTIVITIES)) % len(NATIONS)]
    legal = LEGAL[(index + index // len(ACTIVITIES)) % len(LEGAL)]
    if activity in _FITTING_LEGAL and rng.random() < 0.7:
        legal = rng.choice(_FITTING_LEGAL[activity])
    if nation == "northern_ireland" and legal == "community_treatment_order":
        legal = "guardianship"
    as_of = _EPOCH + dt.timedelta(days=rng.randrange(330))
    network = _network(rng, index)
    ids = [m["id"] for m in network]
    medicines = _medicines(rng, activity)
    data: dict[str, Any] = {
        "schema_version": 1,
        "id": f"synth-{seed}-{index:07d}",
        "jurisdiction": nation,
        "as_of": as_of,
        "person": _person(rng, legal, medicines, ids),
        "network": network,
        "links": _links(rng, ids),
        "proposal": _details(rng, activity, as_of, medicines),
        "decision_process": _process(rng, ids),
        "plan": _plan(rng, ids, as_of),
        "history": _history(rng),
    }
    return {k: v for k, v in data.items() if v not in ({}, [])}


def corpus(count: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """The first ``count`` proposals for ``seed``, one at a time."""
    for index in range(count):
        yield synthetic_proposal(seed, index)


def write_corpus(target: str, *, count: int, seed: int = 0) -> None:
    """Write the corpus as NDJSON to ``target`` (``-``: standard output), streaming.

    A file is written beside the target and renamed over it at the end, so a reader never sees
    half a corpus; a symbolic link or anything but a regular file at the target is refused.
    """
    if target == "-":
        _write_lines(sys.stdout.buffer, count, seed)
        sys.stdout.buffer.flush()
        return
    path = Path(target)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        refuse(
            target, "unsafe-path", "is a symbolic link or not a regular file: riskengine does not write there"
        )
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        refuse(target, "unwritable", exc.strerror or str(exc))
    try:
        with os.fdopen(fd, "wb") as out:
            _write_lines(out, count, seed)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_lines(out: Any, count: int, seed: int) -> None:
    batch: list[bytes] = []
    for proposal in corpus(count, seed):
        batch.append(orjson.dumps(proposal, option=orjson.OPT_APPEND_NEWLINE))
        if len(batch) >= 256:
            out.write(b"".join(batch))
            batch.clear()
    out.write(b"".join(batch))


def _maybe(rng: random.Random, chance: float, value: Any) -> Any:
    return value if rng.random() < chance else None


def _some(rng: random.Random, pool: tuple[Any, ...], most: int) -> list[Any]:
    return rng.sample(pool, rng.randint(0, min(most, len(pool))))


def _size(rng: random.Random, index: int) -> int:
    if index % 97 == 3:
        return 0
    if index % 199 == 7:
        return rng.randint(60, 120)
    roll = rng.random()
    for limit, low, high in ((0.04, 0, 0), (0.24, 1, 3), (0.70, 4, 8), (0.93, 9, 16), (1.0, 17, 40)):
        if roll < limit:
            return rng.randint(low, high)
    return 0  # pragma: no cover - the last limit is 1.0


def _network(rng: random.Random, index: int) -> list[dict[str, Any]]:
    members: list[dict[str, Any]] = []
    used: set[str] = set()
    for _ in range(_size(rng, index)):
        kind = rng.choices(_KIND_NAMES, _KIND_WEIGHTS)[0]
        member_id = _member_id(rng, kind, used)
        member: dict[str, Any] = {"id": member_id, "kind": kind}
        if kind == "other":
            member["kind_label"] = rng.choice(
                ("landlord", "probation officer", "consultant psychiatrist", "dog walker")
            )
        if kind == "family" and rng.random() < 0.3 and not any(m.get("legal_roles") for m in members):
            member["legal_roles"] = ["nearest_relative"]
        personal = kind not in _SERVICE_KINDS
        optional = {
            "closeness": _maybe(rng, 0.7 if personal else 0.2, rng.randint(1, 5)),
            "contact": _maybe(rng, 0.75, rng.choice(VOCABULARY["contact"])),
            "known_for_months": _maybe(rng, 0.6, rng.choice((1, 3, 6, 14, 36, 96, 180, 408))),
            "steadiness": _maybe(rng, 0.65, rng.choice(VOCABULARY["steadiness"])),
            "knows_about_plan": _maybe(rng, 0.7, rng.random() < 0.7),
            "agreed_to_help": _maybe(rng, 0.55, rng.random() < 0.75),
            "does_together": _some(rng, _INTERESTS, 2) if personal else [],
        }
        member.update({k: v for k, v in optional.items() if v not in (None, [])})
        members.append(member)
    return members


def _member_id(rng: random.Random, kind: str, used: set[str]) -> str:
    base = _ROLE_IDS.get(kind) if rng.random() < 0.5 else None
    base = base or (rng.choice(_NAMES) if kind not in _SERVICE_KINDS else kind.replace("_", "-"))
    candidate, n = base, 1
    while candidate in used or candidate == "person":
        n += 1
        candidate = f"{base}-{n}"
    used.add(candidate)
    return candidate


def _links(rng: random.Random, ids: list[str]) -> list[list[str]]:
    if len(ids) < 2:
        return []
    pairs = {tuple(sorted(rng.sample(ids, 2))) for _ in range(rng.randint(0, min(len(ids), 12)))}
    return [list(p) for p in sorted(pairs)]


def _medicines(rng: random.Random, activity: str) -> list[dict[str, Any]]:
    chosen = rng.sample(
        _MEDICINES, rng.choice((0, 1, 1, 1, 2, 2, 3)) or (1 if activity == "reduce_or_stop_medication" else 0)
    )
    medicines: list[dict[str, Any]] = [
        {"name": name, **({"class": cls} if cls else {})} for name, cls in chosen
    ]
    if activity == "reduce_or_stop_medication" and medicines:
        medicines[0]["changing"] = True
    return medicines


def _person(
    rng: random.Random, legal: str, medicines: list[dict[str, Any]], ids: list[str]
) -> dict[str, Any]:
    status = rng.choices(VOCABULARY["capacity"], (60, 20, 5, 8, 7))[0]
    person: dict[str, Any] = {
        "ref": _maybe(rng, 0.9, f"P-{rng.randrange(10**6):06d}"),
        "legal_context": legal,
        "capacity": {
            "status": status,
            **(
                {"note": "assessed for this decision"}
                if status in ("lacks_capacity", "in_doubt") and rng.random() < 0.5
                else {}
            ),
        },
        "preferred_decision_role": rng.choice(VOCABULARY["decision_role"]),
        "what_matters": _maybe(rng, 0.7, rng.choice(_MATTERS)),
        "strengths": _some(rng, _STRENGTHS, 4),
        "interests": _some(rng, _INTERESTS, 3),
        "early_warning_signs": _some(rng, _SIGNS, 3),
        "crisis_plan": _maybe(rng, 0.7, {"exists": rng.random() < 0.8, "route_back": rng.choice(_ROUTES)}),
        "advance_statement": _maybe(rng, 0.4, _advance_statement(rng, ids)),
        "medication": medicines,
        "physical_health": _some(rng, _PHYSICAL, 2),
        "substance_use": _some(rng, _SUBSTANCES, 2),
        "recent_crisis_days": _maybe(rng, 0.5, rng.choice((5, 20, 45, 90, 200, 400, 1000))),
    }
    return {k: v for k, v in person.items() if v not in (None, [])}


def _advance_statement(rng: random.Random, ids: list[str]) -> dict[str, Any]:
    targets = [*ids[:6], "family", "employer", "gp"]
    rules = [
        {"with": w, "allowed": rng.random() < 0.6}
        for w in rng.sample(targets, rng.randint(0, min(3, len(targets))))
    ]
    return {"exists": True, **({"information_sharing": rules} if rules else {})}


def _details(
    rng: random.Random, activity: str, as_of: dt.date, medicines: list[dict[str, Any]]
) -> dict[str, Any]:
    title = rng.choice(_TITLES[activity]).format(med=medicines[0]["name"] if medicines else "the medicine")
    if activity == "other":
        categories = rng.sample(_OTHER_CATEGORIES, rng.randint(1, 2))
    else:
        categories = list(CATEGORIES[activity]) if rng.random() < 0.6 else []
        if categories and rng.random() < 0.2:
            categories.append(rng.choice([c for c in _EXTRA_CATEGORIES if c not in categories]))
    concerns = [_concern(rng) for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4)))]
    starts = as_of + dt.timedelta(days=rng.randint(3, 60))
    details: dict[str, Any] = {
        "title": _maybe(rng, 0.9, title),
        "activity": activity,
        "categories": categories,
        "initiated_by": _maybe(rng, 0.8, rng.choice(VOCABULARY["initiator"])),
        "goal": _maybe(rng, 0.6, f"{title.lower()}, and see how it goes"),
        "hoped_for_benefits": _some(rng, _BENEFITS, 3),
        "concerns": concerns,
        "concerns_asked": _maybe(rng, 0.3, True),
        "conditions_proposed": [
            {"by": rng.choice(("practitioner", "family", "organisation")), "text": c}
            for c in _some(rng, _CONDITIONS, 1)
        ],
        "options_considered": _some(rng, _OPTIONS, 3),
        "timing": _maybe(
            rng, 0.6, {"starts": starts, **({"repeats": "weekly"} if rng.random() < 0.4 else {})}
        ),
    }
    return {k: v for k, v in details.items() if v not in (None, [])}


def _concern(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(VOCABULARY["concern_kind"])
    raised = _RAISED_FOR_KIND.get(kind) if rng.random() < 0.7 else None
    concern: dict[str, Any] = {"kind": kind, "raised_by": raised or rng.choice(VOCABULARY["raised_by"])}
    if rng.random() < 0.8:
        concern["text"] = rng.choice(_CONCERN_TEXT[kind])
    return concern


def _process(rng: random.Random, ids: list[str]) -> dict[str, Any]:
    participants = (
        ["person", *rng.sample(ids, rng.randint(0, min(4, len(ids))))] if rng.random() < 0.85 else []
    )
    process: dict[str, Any] = {
        "participants": participants,
        "person_view_recorded": _maybe(rng, 0.8, rng.random() < 0.85),
        "information_shared": [{"topic": t, "format": rng.choice(_FORMATS)} for t in _some(rng, _TOPICS, 2)],
        "disagreements": [{"by": rng.choice(ids), "text": "would rather wait a few weeks"}]
        if ids and rng.random() < 0.2
        else [],
        "sure": _maybe(
            rng,
            0.4,
            {q: rng.random() < 0.75 for q in ("sure", "understand", "risk_benefit", "encouragement")},
        ),
    }
    return {k: v for k, v in process.items() if v not in (None, [])}


def _plan(rng: random.Random, ids: list[str], as_of: dt.date) -> dict[str, Any]:
    mitigations = []
    for _ in range(rng.choice((0, 1, 2, 2, 3, 4, 5))):
        owner = rng.choice(["person", *ids]) if rng.random() < 0.85 else None
        if owner is not None and rng.random() < 0.05:  # someone the plan leans on who is not on the map
            owner = rng.choice(("dad", "the-neighbour", "ward-staff"))
        text = rng.choice(_MITIGATIONS).format(who=owner if owner and owner != "person" else "a friend")
        mitigation: dict[str, Any] = {"text": text, **({"owner": owner} if owner else {})}
        if rng.random() < 0.2:
            mitigation["draws_on"] = [rng.choice(_STRENGTHS)]
        mitigations.append(mitigation)
    plan: dict[str, Any] = {
        "mitigations": mitigations,
        "contingency": _maybe(rng, 0.5, "if it gets too much, stop, go home and text the key worker"),
        "review_on": _maybe(rng, 0.6, as_of + dt.timedelta(days=rng.randint(14, 90))),
        "success_looks_like": _maybe(rng, 0.4, "done it three times and want to keep going"),
    }
    return {k: v for k, v in plan.items() if v not in (None, [])}


def _history(rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        attempt: dict[str, Any] = {
            "what": rng.choice(_HISTORY),
            "when": rng.choice((2021, 2022, 2023, 2024, 2025)),
        }
        attempt["outcome"] = rng.choice(("positive", "negative", "mixed"))
        if rng.random() < 0.6:
            attempt["learning"] = rng.choice(_LEARNING)
        out.append(attempt)
    return out
