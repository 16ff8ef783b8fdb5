"""The evaluation diff names exactly what changed, by kind, id and rule, and the aggregate counts it."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import riskengine
from riskengine.batch.diff import Aggregate, compare, evaluation_items, firings, restale
from riskengine.batch.report import ImpactJson, impact_markdown

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def parkrun() -> dict[str, Any]:
    engine = riskengine.Engine.from_paths(backend="reference")
    proposal = riskengine.load_proposal(ROOT / "scenarios/proposals/parkrun-with-a-friend.yaml")
    data: dict[str, Any] = json.loads(engine.evaluate(proposal).to_json())
    return data


def test_identical_evaluations_have_no_diff(parkrun: dict[str, Any]) -> None:
    diff = compare(parkrun, copy.deepcopy(parkrun))
    assert not diff.changed
    assert diff.items == () and diff.firings == () and diff.brief_before is None


def test_every_section_of_a_real_evaluation_is_an_item(parkrun: dict[str, Any]) -> None:
    kinds = {kind for kind, _ in evaluation_items(parkrun)}
    assert {"prompt", "prompt_set_aside", "mitigation", "knowledge", "tension", "principle", "need",
            "benefit", "living_your_life", "review"} <= kinds  # fmt: skip
    assert ("need", "community_link/ongoing") in evaluation_items(parkrun)  # the brief's naming


def test_a_removed_prompt_and_its_firing_are_named(parkrun: dict[str, Any]) -> None:
    after = copy.deepcopy(parkrun)
    after["prompts"] = [p for p in after["prompts"] if p["id"] != "parkrun.basics"]
    after["trace"] = [t for t in after["trace"] if t["rule"] != "parkrun.basics"]
    diff = compare(parkrun, after)
    assert [(i.kind, i.id, i.change, i.rules) for i in diff.items] == [
        ("prompt", "parkrun.basics", "removed", ("parkrun.basics",))
    ]
    assert [(f.rule, f.before, f.after) for f in diff.firings] == [("parkrun.basics", 1, 0)]
    assert diff.brief_before is None


def test_a_changed_item_names_its_fields_and_producer(parkrun: dict[str, Any]) -> None:
    after = copy.deepcopy(parkrun)
    after["mitigations"][0] = {**after["mitigations"][0], "text": "something else"}
    diff = compare(parkrun, after, producers={("mitigation", after["mitigations"][0]["id"]): ("the.rule",)})
    assert [(i.kind, i.change, i.fields, i.rules) for i in diff.items] == [
        ("mitigation", "changed", ("text",), ("the.rule",))
    ]


def test_a_changed_brief_is_shown_before_and_after(parkrun: dict[str, Any]) -> None:
    after = copy.deepcopy(parkrun)
    after["brief"] = after["brief"][1:]
    diff = compare(parkrun, after)
    assert diff.brief_changed and diff.brief_before is not None and diff.brief_after is not None
    assert [b.kind for b in diff.brief_before] == ["not_agreed", "persons_words", "next_review"]
    assert [b.kind for b in diff.brief_after] == ["persons_words", "next_review"]


def test_restale_marks_exactly_the_knowledge_past_its_review_by(parkrun: dict[str, Any]) -> None:
    dates = sorted({k["source"]["review_by"] for k in parkrun["knowledge"]})
    assert dates, "the fixture needs knowledge with review-by dates"
    first = dt.date.fromisoformat(dates[0])
    later = restale(parkrun, first + dt.timedelta(days=1))
    diff = compare(parkrun, later)
    expected = sorted(k["id"] for k in parkrun["knowledge"] if k["source"]["review_by"] == dates[0])
    assert [(i.kind, i.id, i.change, i.fields) for i in diff.items] == [
        ("knowledge", item_id, "changed", ("stale",)) for item_id in expected
    ]
    assert not compare(parkrun, restale(parkrun, first)).changed  # on the review-by day, not yet stale


def test_aggregate_counts_rules_items_and_briefs(parkrun: dict[str, Any]) -> None:
    after = copy.deepcopy(parkrun)
    after["trace"] = [t for t in after["trace"] if t["rule"] != "parkrun.basics"]
    after["prompts"] = [p for p in after["prompts"] if p["id"] != "parkrun.basics"]
    agg = Aggregate()
    for n in range(3):
        before_n = {**parkrun, "proposal_id": f"p{n}"}
        after_n = {**(after if n < 2 else parkrun), "proposal_id": f"p{n}"}
        agg.add(compare(before_n, after_n), firings(before_n), firings(after_n))
    summary = agg.to_json()
    assert summary["proposals"] == 3 and summary["changed"] == {"proposals": 2, "examples": ["p0", "p1"]}
    assert summary["rules"] == [
        {
            "rule": "parkrun.basics",
            "fired_before": 3,
            "fired_after": 1,
            "proposals": 2,
            "examples": ["p0", "p1"],
        }
    ]
    assert [(i["kind"], i["id"], i["change"], i["proposals"]) for i in summary["items"]] == [
        ("prompt", "parkrun.basics", "removed", 2)
    ]


def test_json_report_streams_valid_json_and_markdown_names_the_rule(
    parkrun: dict[str, Any], tmp_path: Path
) -> None:
    after = copy.deepcopy(parkrun)
    after["trace"] = [t for t in after["trace"] if t["rule"] != "parkrun.basics"]
    diff = compare(parkrun, after)
    agg = Aggregate()
    agg.add(diff, firings(parkrun), firings(after))
    target = tmp_path / "impact.json"
    with ImpactJson.to_file(target, {"impact": 1}) as report:
        report.add(diff)
        report.add(diff)
        report.close(agg)
    data = json.loads(target.read_text())
    assert data["impact"] == 1 and len(data["proposals"]) == 2 and data["summary"]["proposals"] == 1
    text = impact_markdown(agg, [diff], title="Impact", sides=[("before", "a"), ("after", "b")])
    assert "| `parkrun.basics` | 1 | 0 | 1 |" in text and "### prop-2041" in text


def test_a_failed_run_leaves_no_report(tmp_path: Path) -> None:
    target = tmp_path / "impact.json"
    with pytest.raises(RuntimeError), ImpactJson.to_file(target, {"impact": 1}):
        raise RuntimeError("interrupted")
    assert not target.exists() and list(tmp_path.iterdir()) == []
