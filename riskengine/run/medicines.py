"""Which kind of medicine a plan would change: the groups guidance is written for.

Guidance on coming off a medicine is written for one kind of medicine at a time (NICE
NG222 for antidepressants, CG185 for lithium, CG178 for antipsychotics, NG215 for
medicines associated with dependence such as benzodiazepines), and a depot injection
is not a tablet to pack. A medicine's group comes from its recorded class or name;
when no medicine is marked as changing, the proposal's title and goal say which one
is meant if they name it or its group (practitioner review 2026-12, defect 4).

May import: the proposal model only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from riskengine.documents.proposal import Medication, Proposal

__all__ = ["MEDICINE_GROUPS", "changing_medicines", "medicine_groups", "named_in_words"]

# group -> (class words, name words). Matching is on whole words, lower case.
MEDICINE_GROUPS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "antidepressant": (
        frozenset({"antidepressant", "ssri", "snri", "tca", "maoi"}),
        frozenset({
            "sertraline", "citalopram", "escitalopram", "fluoxetine", "paroxetine", "venlafaxine",
            "duloxetine", "mirtazapine", "amitriptyline", "vortioxetine", "trazodone", "nortriptyline",
            "clomipramine", "imipramine", "dosulepin", "lofepramine", "phenelzine", "moclobemide",
            "agomelatine", "antidepressant", "antidepressants",
        }),
    ),
    "lithium": (
        frozenset({"lithium"}),
        frozenset({"lithium", "priadel", "camcolit", "liskonum", "li-liquid"}),
    ),
    "antipsychotic": (
        frozenset({"antipsychotic", "antipsychotics", "depot", "lai"}),
        frozenset({
            "olanzapine", "quetiapine", "risperidone", "aripiprazole", "haloperidol", "amisulpride",
            "paliperidone", "lurasidone", "clozapine", "zuclopenthixol", "flupentixol",
            "chlorpromazine", "sulpiride", "cariprazine", "antipsychotic", "antipsychotics",
        }),
    ),
    "clozapine": (frozenset(), frozenset({"clozapine", "clozaril", "denzapine", "zaponex"})),
    "depot": (
        frozenset({"depot", "lai", "long_acting_injectable", "long-acting injectable"}),
        frozenset({"depot", "injection", "injectable", "palmitate", "decanoate", "jab"}),
    ),
    "benzodiazepine": (
        frozenset({"benzodiazepine", "z_drug", "z-drug", "hypnotic"}),
        frozenset({
            "diazepam", "lorazepam", "clonazepam", "temazepam", "nitrazepam", "chlordiazepoxide",
            "zopiclone", "zolpidem", "oxazepam", "benzodiazepine", "benzodiazepines",
        }),
    ),
}  # fmt: skip
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]*")


@lru_cache(maxsize=4096)
def _words(text: str | None) -> frozenset[str]:
    """Words of a name, title or goal, once per text (they recur across evaluations)."""
    return frozenset(_WORD.findall(text.lower())) if text else frozenset()


def _groups_of(medicine: Medication) -> frozenset[str]:
    return _groups(medicine.class_, medicine.name)


@lru_cache(maxsize=4096)
def _groups(klass: str | None, name: str) -> frozenset[str]:
    low, names = (klass or "").lower(), _words(name)
    return frozenset(
        group
        for group, (classes, words) in MEDICINE_GROUPS.items()
        if low in classes or not names.isdisjoint(words)
    )


def changing_medicines(proposal: Proposal) -> tuple[list[Medication], bool]:
    """The medicines the plan would change, and whether any is marked so.

    Marked ones first; if none is marked, those the title or goal name (by name or group);
    failing that, any not ruled out (``changing: false``); failing that, all of them.
    """
    meds = list(proposal.person.medication)
    marked = [m for m in meds if m.changing]
    if marked:
        return marked, True
    open_ = [m for m in meds if m.changing is None] or meds
    said = _said(proposal)
    named = [m for m in open_ if not _words(m.name).isdisjoint(said) or _groups_of(m) & _said_groups(said)]
    return named or open_, False


def named_in_words(proposal: Proposal) -> bool:
    """Whether the title or goal names one of the recorded medicines (by name or group)."""
    said = _said(proposal)
    return any(
        not _words(m.name).isdisjoint(said) or _groups_of(m) & _said_groups(said)
        for m in proposal.person.medication
    )


def medicine_groups(proposal: Proposal, medicines: Iterable[Medication]) -> list[str]:
    """The groups of ``medicines``; with none recorded, the groups the title or goal name."""
    meds = list(medicines)
    if meds:
        return sorted({g for m in meds for g in _groups_of(m)})
    return sorted(_said_groups(_said(proposal)))


def _said(proposal: Proposal) -> frozenset[str]:
    return _words(proposal.proposal.title) | _words(proposal.proposal.goal)


def _said_groups(said: frozenset[str]) -> set[str]:
    return {group for group, (_, words) in MEDICINE_GROUPS.items() if not said.isdisjoint(words)}
