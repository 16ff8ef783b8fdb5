"""Flesch reading ease for person-facing text (Flesch 1948), with pyphen syllable counts.

Used by the readability test over every shipped ``to_person`` text and by rule authors
(``python -m riskengine.report.readability FILE...``). Higher is easier: 70+ is plain English
for most adults; below 40 is hard going.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache

__all__ = ["flesch_reading_ease", "main"]

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
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
