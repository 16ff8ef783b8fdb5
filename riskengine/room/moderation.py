"""A simple screen for written answers before the facilitator sees them: names, phones, emails.

It does not decide anything. It marks what looks like an email address, a phone number, a
postcode or a person's name (a title and a name, or a capitalised word mid-sentence that the
story itself does not use), so the facilitator sees why an answer is flagged, and the projector
shows an approved answer with those parts masked. The facilitator approves or rejects every
answer; nothing written reaches the projector without that.

Imports: the standard library and pydantic (the scenario model's dump).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Screened", "screen", "story_words"]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\(?\d[\d\s().-]{7,}\d")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
_TITLED = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Nurse|Sister|Father|Rev)\.?\s+[A-Z][\w'-]+")
_WORD = re.compile(r"[A-Za-z][\w'-]*")
# Capitalised words that are not names (and the story's own words are never flagged).
_COMMON = frozenset(
    [
        "i",
        "i'm",
        "i'd",
        "i'll",
        "i've",
        "nhs",
        "gp",
        "gps",
        "cpn",
        "cmht",
        "uk",
        "england",
        "wales",
        "scotland",
        "ireland",
        "northern",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "christmas",
        "easter",
        "eid",
        "ramadan",
        "diwali",
        "a",
        "an",
        "the",
        "and",
        "but",
        "or",
        "so",
        "if",
        "then",
        "we",
        "you",
        "they",
        "he",
        "she",
        "it",
        "my",
        "our",
        "their",
        "his",
        "her",
        "this",
        "that",
        "these",
        "those",
        "what",
        "when",
        "where",
        "why",
        "how",
        "who",
        "yes",
        "no",
        "ok",
        "okay",
        "maybe",
        "also",
        "first",
        "second",
        "next",
        "last",
        "please",
        "thanks",
        "ask",
        "talk",
        "plan",
        "agree",
        "check",
        "say",
        "tell",
        "give",
        "keep",
        "let",
        "make",
        "find",
        "help",
        "offer",
        "suggest",
        "call",
        "arrange",
        "dvla",
        "dwp",
        "mha",
        "cto",
        "ae",
        "a&e",
        "crisis",
        "samaritans",
        "mind",
    ]
)


@dataclass(frozen=True)
class Screened:
    """A written answer: as written, as the projector would show it, and why it is flagged."""

    text: str
    masked: str
    flags: tuple[str, ...]


def screen(text: str, known: frozenset[str] = frozenset()) -> Screened:
    """Mask what looks identifying; say what was found."""
    flags: list[str] = []
    masked = text
    for pattern, label, what in (
        (_EMAIL, "[email]", "an email address"),
        (_PHONE, "[number]", "a phone number"),
        (_POSTCODE, "[postcode]", "a postcode"),
        (_TITLED, "[name]", "a name"),
    ):
        masked, found = _mask(masked, pattern, label, what)
        flags += found
    masked, names = _mask_names(masked, known)
    if names and "a name" not in flags:
        flags.append("a name")
    return Screened(text, masked, tuple(dict.fromkeys(flags)))


def _mask(text: str, pattern: re.Pattern[str], label: str, what: str) -> tuple[str, list[str]]:
    hits: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if label == "[number]" and sum(c.isdigit() for c in match.group()) < 9:
            return match.group()
        hits.append(what)
        return label

    return pattern.sub(replace, text), hits[:1]


def _mask_names(text: str, known: frozenset[str]) -> tuple[str, bool]:
    """Capitalised words that do not start a sentence, are not common and are not the story's."""
    out: list[str] = []
    found = False
    position = 0
    for match in _WORD.finditer(text):
        word = match.group()
        before = text[: match.start()].rstrip()
        starts = not before or before[-1] in '.!?:;"(' or before.endswith("[")
        looks = word[0].isupper() and not word.isupper() and not starts
        if looks and word.lower() not in _COMMON and word.lower() not in known:
            out += [text[position : match.start()], "[name]"]
            position = match.end()
            found = True
    out.append(text[position:])
    return "".join(out), found


def story_words(scenario: Any) -> frozenset[str]:
    """Every word the scenario itself uses (its characters' names included), lower case."""
    dumped = scenario.model_dump_json()
    return frozenset(w.lower() for w in _WORD.findall(dumped))
