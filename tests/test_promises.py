"""The contract's promises: no grades, traceable, missing information is a prompt."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from riskengine import Engine, load_proposal, proposal_from_data
from riskengine.documents.evaluation import Evaluation
from riskengine.documents.vocab import ACTIVITIES, PRINCIPLES
from riskengine.rules.loader import find_files

from .paths import EXAMPLES, SCENARIO_PROPOSALS, SHIPPED

# Words that would grade, rate, colour or decide. Phrases are matched on word boundaries.
BANNED = re.compile(
    r"\b(scor(e|es|ed|ing)|grad(e|es|ed|ing)|ratings?|risk[- ]levels?|levels? of risk|"
    r"(low|medium|moderate|high)[- ]risk|red|amber|rag|colou?rs?|approv(e|ed|es|al|ing)|"
    r"den(y|ied|ies|ial)|verdicts?|allowed|forbid(den)?|probabilit(y|ies)|stratif\w*)\b",
    re.IGNORECASE,
)


def _strings(node: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in [(f"{path}.{k}", str(k)), *_strings(v, f"{path}.{k}")]]
    if isinstance(node, list):
        return [s for i, v in enumerate(node) for s in _strings(v, f"{path}[{i}]")]
    return [(path, node)] if isinstance(node, str) else []


class TestNoGrades:
    def test_evaluation_schema_has_no_grading_words(self) -> None:
        """No field, enum value or description of the evaluation schema grades or decides."""
        schema = Evaluation.model_json_schema(by_alias=True)
        hits = [(p, s) for p, s in _strings(schema) if BANNED.search(s)]
        assert not hits, hits

    @pytest.mark.parametrize("path", find_files([SHIPPED], tests=False), ids=lambda p: p.name)
    def test_rule_text_has_no_grading_words(self, path: Path) -> None:
        """No shipped rule's text, id or source grades, colours, rates or decides."""
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        hits = [(p, s) for p, s in _strings(data) if BANNED.search(s) and not p.startswith(".sources")]
        assert not hits, hits

    def test_banned_word_scanner_catches_grades(self) -> None:
        """The scanner itself finds the words it is meant to find."""
        for text in ["risk score 3", "HIGH RISK", "rated amber", "approved", "Denied", "RAG status", "risk level"]:
            assert BANNED.search(text), text
        for text in ["gradually", "redress", "permitted work", "shared", "tired", "colleague"]:
            assert not BANNED.search(text), text


def _bare(activity: str) -> dict[str, Any]:
    details: dict[str, Any] = {"activity": activity}
    if activity == "other":
        details["categories"] = ["volunteering"]
    return {"schema_version": 1, "id": f"bare-{activity}", "jurisdiction": "england",
            "as_of": dt.date(2026, 11, 22), "proposal": details}  # fmt: skip


class TestCompleteness:
    @pytest.mark.parametrize("activity", ACTIVITIES)
    def test_bare_proposal_gets_a_full_evaluation(self, shipped: Engine, activity: str) -> None:
        """A proposal with only an activity gets all five principles, prompts for each, and a judgement."""
        evaluation = shipped.evaluate(proposal_from_data(_bare(activity)))
        assert [p.id for p in evaluation.principles] == list(PRINCIPLES)
        assert all(p.prompts for p in evaluation.principles), [p.id for p in evaluation.principles if not p.prompts]
        assert evaluation.living_your_life.note
        assert len(evaluation.prompts) >= 8
        assert {p.stage for p in evaluation.prompts} >= {"team_talk", "option_talk", "decision_talk"}

    @pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")) + sorted(SCENARIO_PROPOSALS.glob("*.yaml")), ids=lambda p: p.name)
    def test_examples_evaluate_completely(self, shipped: Engine, path: Path) -> None:
        """Every contract example and shipped scenario proposal gives a complete, valid v1 evaluation."""
        evaluation = shipped.evaluate(load_proposal(path))
        again = Evaluation.model_validate(json.loads(evaluation.to_json()))
        assert again == evaluation
        assert evaluation.prompts and evaluation.trace


class TestTraceability:
    def test_every_item_traces_to_a_rule(self, shipped: Engine) -> None:
        """Every prompt, mitigation, knowledge item and tension names a rule that fired, with its ruleset version."""
        evaluation = shipped.evaluate(load_proposal(EXAMPLES / "parkrun-full.yaml"))
        fired = {t.rule for t in evaluation.trace}
        rulesets = {f"{r.id}@{r.version}" for r in evaluation.provenance.rulesets}
        assert {t.ruleset for t in evaluation.trace} <= rulesets
        for item in [*evaluation.mitigations, *evaluation.knowledge]:
            assert item.id in fired or any(item.id == _outcome_id(shipped, r) for r in fired)
        for prompt in evaluation.prompts:
            assert prompt.id in fired or prompt.id.startswith("local-rules.") or any(prompt.id == _outcome_id(shipped, r, "prompt") for r in fired)

    def test_provenance_hashes_every_ruleset(self, shipped: Engine) -> None:
        """Provenance lists every loaded ruleset with the sha256 of its file."""
        import hashlib

        evaluation = shipped.evaluate(load_proposal(EXAMPLES / "medication-bare.yaml"))
        for ref, loaded in zip(evaluation.provenance.rulesets, shipped.book.rulesets, strict=True):
            assert ref.sha256 == hashlib.sha256(Path(loaded.path).read_bytes()).hexdigest()

    def test_knowledge_is_sourced_and_dated(self, shipped: Engine) -> None:
        """Every knowledge item the shipped rules can produce has a source, a checked date and a review-by date."""
        from riskengine import knowledge_catalogue

        for entry in knowledge_catalogue(shipped.book):
            assert entry.source_title and entry.checked and entry.review_by, entry.id
            assert entry.review_by > entry.checked, entry.id


def _outcome_id(engine: Engine, rule_id: str, kind: str = "any") -> str | None:
    for loaded in engine.book.rules:
        if loaded.rule.id == rule_id:
            then = loaded.rule.then
            kinds = ["prompt", "mitigation", "knowledge"] if kind == "any" else [kind]
            for k in kinds:
                item = getattr(then, k)
                if item is not None and item.id:
                    return str(item.id)
    return None


class TestStaleKnowledge:
    def test_items_past_review_are_stale(self, shipped: Engine) -> None:
        """A knowledge item is marked stale once the proposal's as_of passes its review-by date."""
        from riskengine import knowledge_catalogue

        catalogue = knowledge_catalogue(shipped.book)
        if not catalogue:
            pytest.skip("no knowledge items shipped yet")
        doc = yaml.safe_load((EXAMPLES / "parkrun-full.yaml").read_text())
        doc["as_of"] = dt.date(2099, 1, 1)
        doc["plan"].pop("review_on")
        doc["proposal"].pop("timing")
        later = shipped.evaluate(proposal_from_data(doc))
        assert later.knowledge and all(k.stale for k in later.knowledge)
        now = shipped.evaluate(load_proposal(EXAMPLES / "parkrun-full.yaml"))
        assert not any(k.stale for k in now.knowledge)


class TestFastConstruction:
    def test_build_matches_model_construct(self, shipped: Engine) -> None:
        """Every output model built by the fast path equals pydantic's own construction, field for field."""
        evaluation = shipped.evaluate(load_proposal(EXAMPLES / "parkrun-full.yaml"))
        seen: set[str] = set()

        def walk(model: Any) -> None:
            if isinstance(model, BaseModel):
                values = {name: getattr(model, name) for name in type(model).model_fields}
                rebuilt = type(model).model_construct(**values)
                assert rebuilt == model and rebuilt.model_dump_json() == model.model_dump_json()
                assert model.model_fields_set == set(type(model).model_fields)
                seen.add(type(model).__name__)
                for value in values.values():
                    walk(value)
            elif isinstance(value := model, tuple):
                for item in value:
                    walk(item)

        walk(evaluation)
        assert {"Evaluation", "Prompt", "TraceEntry", "SafetyNetNeed", "Principle", "Benefit"} <= seen
