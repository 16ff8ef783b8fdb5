"""Issue 11's measures: is every evaluation fit for a ten-minute review and for the person?

    python benchmarks/bench_meeting.py            # every shipped proposal and activity fixture
    python benchmarks/bench_meeting.py --show     # also list each fixture's figures

Over every proposal in ``scenarios/proposals/`` and ``tests/fixtures/activities/``: items in
the brief; words in the practitioner's default view and in the person's copy (median, max);
person questions in the default view; near-duplicate pairs of person-facing texts (shared
rule topic, or ``riskengine.readability.same_point``), in the evaluation and in the person's
copy; and the person copy's Flesch reading ease (median, min). Targets: brief <= 5
everywhere; default view median <= 1,000 words; person copy median <= 400 and max <= 600
words; no near-duplicate pairs; reading ease median >= 70 and min >= 50. Also times the two
renderers. Results are printed and written to benchmarks/results/meeting.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import riskengine  # noqa: E402
from riskengine.report.person import person_facing_texts  # noqa: E402
from riskengine.report.readability import flesch_reading_ease, same_point  # noqa: E402

TARGETS = {
    "brief_items_max": 5,
    "practitioner_words_median": 1000,
    "person_words_median": 400,
    "person_words_max": 600,
    "near_duplicate_pairs": 0,
    "person_reading_ease_median": 70,
    "person_reading_ease_min": 50,
}


def fixtures() -> list[Path]:
    """Every shipped proposal and activity fixture."""
    activities = ROOT / "tests" / "fixtures" / "activities"
    return sorted((ROOT / "scenarios" / "proposals").glob("*.yaml")) + sorted(
        p for p in activities.rglob("*.yaml") if not p.name.endswith(".expect.yaml")
    )


def words(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9£']+", text))


def topics(engine: riskengine.Engine) -> dict[str, str]:
    """Prompt id -> its rule's topic, for the rules that have one."""
    return {
        r.rule.then.prompt.id or r.rule.id: r.rule.topic
        for r in engine.book.rules
        if r.rule.topic and r.rule.then.prompt is not None
    }


def duplicate_pairs(evaluation: riskengine.Evaluation, topic_of: dict[str, str]) -> list[tuple[str, str]]:
    """Pairs of person-facing texts in one evaluation that make the same point."""
    texts = person_facing_texts(evaluation)
    together = [set(item.stands_for) for item in evaluation.brief]  # said once, by the brief

    def said_once(a: str, b: str) -> bool:
        ia, ib = a.split(" ", 1)[-1], b.split(" ", 1)[-1]
        return any(ia in ids and ib in ids for ids in together)

    pairs = [
        (a, b) for (a, ta), (b, tb) in itertools.combinations(texts, 2)
        if (ta == tb or same_point(ta, tb)) and not said_once(a, b)
    ]  # fmt: skip
    shown = [p.id for p in (*evaluation.prompts, *evaluation.prompts_set_aside) if p.id in topic_of]
    pairs += [(a, b) for a, b in itertools.combinations(shown, 2) if topic_of[a] == topic_of[b]]
    copy = [line for line in _paragraphs(riskengine.render_person(evaluation))]
    pairs += [
        (f"copy: {a[:40]}", f"copy: {b[:40]}") for a, b in itertools.combinations(copy, 2) if same_point(a, b)
    ]
    return pairs


def _paragraphs(text: str) -> list[str]:
    """The person copy's items: each bullet or paragraph as one string."""
    items: list[str] = []
    for line in text.splitlines():
        if not line.strip() or set(line.strip()) <= {"-", "="}:
            items.append("")
        elif line.startswith("- "):
            items.append(line[2:])
        elif items and items[-1]:
            items[-1] += " " + line.strip()
        else:
            items.append(line.strip())
    return [i for i in items if len(i.split()) > 4]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print each fixture's figures")
    args = parser.parse_args()
    engine = riskengine.Engine.from_paths()
    topic_of = topics(engine)
    rows = []
    render_ms: list[float] = []
    for path in fixtures():
        evaluation = engine.evaluate(riskengine.load_proposal(path))
        start = time.perf_counter()
        default, person = riskengine.render_text(evaluation), riskengine.render_person(evaluation)
        render_ms.append((time.perf_counter() - start) * 1e3)
        dups = duplicate_pairs(evaluation, topic_of)
        rows.append({
            "fixture": str(path.relative_to(ROOT)),
            "brief_items": len(evaluation.brief),
            "brief_leads_with": evaluation.brief[0].kind if evaluation.brief else None,
            "practitioner_words": words(default),
            "practitioner_full_words": words(riskengine.render_text(evaluation, full=True)),
            "person_questions": default.split("Questions for today", 1)[-1].split("More with --full")[0].count("\n  * "),
            "person_words": words(person),
            "person_reading_ease": round(flesch_reading_ease(person), 1),
            "near_duplicates": dups,
        })  # fmt: skip
        if args.show:
            r = rows[-1]
            print(f"{r['fixture']}: brief {r['brief_items']}, default {r['practitioner_words']} words "
                  f"(full {r['practitioner_full_words']}), person {r['person_words']} words, "
                  f"ease {r['person_reading_ease']}, questions {r['person_questions']}, dups {dups}")  # fmt: skip

    def col(key: str) -> list[float]:
        return [r[key] for r in rows]

    summary = {
        "fixtures": len(rows),
        "brief_items_max": max(col("brief_items")),
        "practitioner_words_median": statistics.median(col("practitioner_words")),
        "practitioner_words_max": max(col("practitioner_words")),
        "practitioner_full_words_median": statistics.median(col("practitioner_full_words")),
        "person_questions_median": statistics.median(col("person_questions")),
        "person_questions_max": max(col("person_questions")),
        "person_words_median": statistics.median(col("person_words")),
        "person_words_max": max(col("person_words")),
        "near_duplicate_pairs": sum(len(r["near_duplicates"]) for r in rows),
        "person_reading_ease_median": statistics.median(col("person_reading_ease")),
        "person_reading_ease_min": min(col("person_reading_ease")),
        "render_both_ms_median": round(statistics.median(render_ms), 2),
        "render_both_ms_max": round(max(render_ms), 2),
    }
    at_most = ("brief_items_max", "practitioner_words_median", "person_words_median", "person_words_max",
               "near_duplicate_pairs")  # fmt: skip
    met = {k: (summary[k] <= v if k in at_most else summary[k] >= v) for k, v in TARGETS.items()}
    for key, value in summary.items():
        target = (
            f"  (target {'<=' if key in at_most else '>='} {TARGETS[key]}: {'met' if met[key] else 'NOT MET'})"
            if key in TARGETS
            else ""
        )
        print(f"{key:34} {value}{target}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "meeting.json").write_text(
        json.dumps({"summary": summary, "met": met, "fixtures": rows}, indent=2) + "\n"
    )
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
