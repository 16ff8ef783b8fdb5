"""Flesch reading ease for person-facing text (Flesch 1948), with pyphen syllable counts.

Used by the readability test over every shipped ``to_person`` text and by rule authors
(``python -m riskengine.report.readability FILE...``). Higher is easier: 70+ is plain English
for most adults; below 40 is hard going.

Also the test of "the same point said twice": two person-facing texts are near-duplicates
when they share at least ``SAME_POINT_SHARED`` content words making at least
``SAME_POINT_JACCARD`` of the words in both together (Jaccard), or three words at 0.3.
Content words leave out common words and the words every prompt uses ("help", "want",
"look", "support"). Calibrated on the pairs the practitioner review of 2026-12 found
(``prm.relational.no-personal-ties`` and ``net.build.services-only``: 5 words, 0.31;
``felton.joint.started-by-others`` and ``prm.aims.whose-goal``: 4, 0.40) and on the pairs
that turned up in the shipped fixtures (the advocacy offer and the IMHA card, 5, 0.56),
against every other pair of shipped prompts: at three shared words and 0.2, a dozen
unrelated pairs ("ask", "jump", "company") were flagged. Paraphrases with few words in
common (``prm.relational.not-agreed`` and ``net.fragile.not-asked`` share two; "other
people do every step" and "the plan says what others will do" none) are beyond any word
count: rules that make one point share a ``topic`` instead.

May import: the standard library (pyphen, lazily, for syllables).
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache

__all__ = [
    "SAME_POINT_JACCARD",
    "SAME_POINT_SHARED",
    "content_words",
    "flesch_reading_ease",
    "main",
    "same_point",
]

SAME_POINT_SHARED = 4
SAME_POINT_JACCARD = 0.25
SAME_POINT_CLOSE = (3, 0.3)  # fewer shared words, but a closer match
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_STOP = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "let",
        "lets",
        "like",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "us",
        "may",
        "might",
        "much",
        "many",
        "one",
        "two",
        "way",
        "things",
        "thing",
        "something",
        "someone",
        "people",
        "person",
        "plan",
        "help",
        "want",
        "look",
        "support",
        "know",
        "well",
        "good",
        "back",
        "tell",
        "ask",
        "hard",
        "together",
        "later",
        "time",
        "times",
        "let",
        "try",
        "need",
        "make",
        "get",
        "going",
        "said",
        "yes",
        "still",
        "far",
    ]
)
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")


@lru_cache(maxsize=1)
def _dictionary() -> object:
    import pyphen  # a test and authoring dependency, not needed to evaluate

    return pyphen.Pyphen(lang="en_GB")


def _syllables(word: str) -> int:
    hyphenated: str = _dictionary().inserted(word.lower())  # type: ignore[attr-defined]
    return max(1, hyphenated.count("-") + 1)


def flesch_reading_ease(text: str) -> float:
    """206.835 - 1.015 (words per sentence) - 84.6 (syllables per word)."""
    words = _WORD.findall(text)
    if not words:
        return 100.0
    sentences = max(1, len(_SENTENCE_END.findall(text.strip() + " ")))
    syllables = sum(_syllables(w) for w in words)
    return 206.835 - 1.015 * (len(words) / sentences) - 84.6 * (syllables / len(words))


def content_words(text: str) -> frozenset[str]:
    """The words that carry a text's point: lower case, no common words, crude plural and tense endings off."""
    out = set()
    for word in re.findall(r"[a-z]+", text.lower().replace("'", "")):
        if len(word) > 2 and word not in _STOP:
            out.add(_stem(word))
    return frozenset(out)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > 4 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def same_point(a: str, b: str) -> bool:
    """Whether two texts read as the same point said twice (see the module docstring)."""
    wa, wb = content_words(a), content_words(b)
    shared = len(wa & wb)
    if not shared:
        return False
    jaccard = shared / len(wa | wb)
    return (shared >= SAME_POINT_SHARED and jaccard >= SAME_POINT_JACCARD) or (
        shared >= SAME_POINT_CLOSE[0] and jaccard >= SAME_POINT_CLOSE[1]
    )


def main(argv: list[str] | None = None) -> int:
    """Print the score of every ``to_person`` text in the given ruleset files, hardest first."""
    import yaml

    rows = []
    for path in argv if argv is not None else sys.argv[1:]:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        for rule in data.get("rules", []):
            prompt = (rule.get("then") or {}).get("prompt") or {}
            if "to_person" in prompt:
                rows.append((flesch_reading_ease(prompt["to_person"]), rule["id"], prompt["to_person"]))
    for score, rule_id, text in sorted(rows):
        print(f"{score:6.1f}  {rule_id}: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
