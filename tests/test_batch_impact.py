"""``riskengine impact`` reports exactly the rule an overlay changed and the proposals it affects.

The overlay in ``tests/fixtures/impact`` has two rules; between ``before`` and ``after`` only
``local-trust.peer-offer`` changes (it moves from parkrun to joining a group or club), while
``local-trust.carers`` fires on every proposal on both sides. On a synthetic corpus covering
every activity, the report must name that one rule, and exactly the proposals whose activity
is parkrun or joining a group, and nothing else.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

import riskengine
from riskengine.batch.synth import write_corpus
from riskengine.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "impact"
SHIPPED = str(riskengine.default_rulesets_dir())
RULE = "local-trust.peer-offer"
MOVED = {"parkrun", "join_group_or_club"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("impact") / "corpus.ndjson"
    write_corpus(str(target), count=40, seed=7)
    return target


def _records(corpus: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in corpus.read_text().splitlines()]


def _impact(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["impact", "--workers", "0", *args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _change(corpus: Path, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    report = tmp_path / "impact.json"
    code, text, err = _impact(
        "--before", SHIPPED, "--before", str(FIXTURES / "before"),
        "--after", SHIPPED, "--after", str(FIXTURES / "after"),
        str(corpus), "--json", str(report), *extra,
    )  # fmt: skip
    assert err.startswith("impact: "), err
    return code, json.loads(report.read_text()), text


def test_the_changed_rule_and_exactly_its_proposals_are_reported(corpus: Path, tmp_path: Path) -> None:
    code, report, text = _change(corpus, tmp_path)
    assert code == 0
    expected = [r["id"] for r in _records(corpus) if r["proposal"]["activity"] in MOVED]
    assert len(expected) >= 4, "the corpus must cover both activities"
    summary = report["summary"]
    assert summary["proposals"] == 40
    assert [r["rule"] for r in summary["rules"]] == [RULE]  # not local-trust.carers, nothing shipped
    assert summary["rules"][0]["proposals"] == len(expected)
    assert summary["changed"]["proposals"] == len(expected)
    assert [p["proposal_id"] for p in report["proposals"]] == expected  # in input order
    for proposal in report["proposals"]:
        assert [(f["rule"], f["before"] + f["after"]) for f in proposal["firings"]] == [(RULE, 1)]
        assert {item["kind"] for item in proposal["items"]} <= {"prompt", "prompt_set_aside", "principle"}
        assert all(item["rules"] == [RULE] for item in proposal["items"])
        assert any(
            item["id"] == RULE and item["change"] in ("added", "removed") for item in proposal["items"]
        )
    assert f"| `{RULE}` |" in text and "local-trust.carers" not in text


def test_fail_on_change_fails_only_when_something_changes(corpus: Path, tmp_path: Path) -> None:
    code, _, _ = _change(corpus, tmp_path, "--fail-on-change")
    assert code == 1
    same = ("--before", SHIPPED, "--before", str(FIXTURES / "before"))
    code, text, _ = _impact(
        *same, "--after", SHIPPED, "--after", str(FIXTURES / "before"), str(corpus), "--fail-on-change"
    )
    assert code == 0 and "Nothing changes." in text


def test_as_of_marks_exactly_the_knowledge_past_its_review_by(corpus: Path, tmp_path: Path) -> None:
    as_of = dt.date(2028, 1, 1)
    report = tmp_path / "stale.json"
    code, text, _ = _impact(str(corpus), "--as-of", as_of.isoformat(), "--json", str(report))
    assert code == 0 and "Knowledge due for re-checking on 2028-01-01" in text
    data = json.loads(report.read_text())
    assert data["summary"]["rules"] == []  # a date fires no rule differently
    engine = riskengine.Engine.from_paths()
    expected = {}
    for record in _records(corpus):
        evaluation = engine.evaluate(record)
        newly = sorted(k.id for k in evaluation.knowledge
                       if not k.stale and k.source.review_by is not None and as_of > k.source.review_by)  # fmt: skip
        if newly:
            expected[record["id"]] = newly
    assert expected, "some shipped knowledge is due for review before 2028"
    found = {
        p["proposal_id"]: sorted(
            i["id"] for i in p["items"] if i["fields"] == ["stale"] and i["kind"] == "knowledge"
        )
        for p in data["proposals"]
    }
    assert found == expected
    assert all(len(p["items"]) == len(found[p["proposal_id"]]) for p in data["proposals"])


def test_a_bad_record_is_reported_not_fatal(corpus: Path, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.ndjson"
    lines = corpus.read_text().splitlines()[:3]
    mixed.write_text("\n".join([lines[0], '{"schema_version": 1, "id": "broken"', *lines[1:]]) + "\n")
    report = tmp_path / "mixed.json"
    code, _, _ = _impact(str(mixed), "--as-of", "2026-01-01", "--json", str(report))
    data = json.loads(report.read_text())
    assert code == 0 and data["summary"]["proposals"] == 4
    assert data["summary"]["failed_before"]["proposals"] == 1 == data["summary"]["failed_after"]["proposals"]


def test_after_or_as_of_is_required(corpus: Path) -> None:
    code, _, err = _impact(str(corpus))
    assert code == riskengine.EXIT_INVALID and "--after" in err
