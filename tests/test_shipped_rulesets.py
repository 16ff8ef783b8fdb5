"""The shipped rulesets: their own tests pass, every rule is exercised, person text is plain."""

from __future__ import annotations

import statistics

import pytest

from riskengine import Engine, run_rule_tests
from riskengine.report.readability import flesch_reading_ease
from riskengine.rule_tests import rule_tests_text

from .paths import SHIPPED


class TestShippedRulesets:
    def test_rule_tests_pass_and_cover_every_rule(self) -> None:
        """`riskengine test rulesets` passes on both backends and leaves no rule untested."""
        report = run_rule_tests([SHIPPED])
        assert report.ok, rule_tests_text(report)
        assert report.results

    def test_every_rule_cites_a_source(self, shipped: Engine) -> None:
        """Every rule names a seed file or a publication with a citation or URL."""
        for loaded in shipped.book.rules:
            assert loaded.sources, loaded.rule.id
            for source in loaded.sources:
                assert source.seed or source.citation or source.url, (loaded.rule.id, source.id)


class TestReadability:
    def test_person_text_is_plain_english(self, shipped: Engine) -> None:
        """Every to_person text reads easily: Flesch reading ease median >= 70 and none below 40."""
        texts = {
            loaded.rule.id: loaded.rule.then.prompt.to_person
            for loaded in shipped.book.rules
            if loaded.rule.then.prompt is not None
        }
        if not texts:
            pytest.skip("no prompts shipped")
        ease = {rule: flesch_reading_ease(text) for rule, text in texts.items()}
        hard = {rule: round(value) for rule, value in ease.items() if value < 40}
        assert not hard, hard
        assert statistics.median(ease.values()) >= 70

    def test_the_measure_tells_plain_from_technical(self) -> None:
        """The Flesch measure ranks a plain sentence far above a clinical one."""
        plain = flesch_reading_ease("You can stop at any time. Tell Sam if you feel unwell.")
        clinical = flesch_reading_ease("Pharmacological contraindications necessitate multidisciplinary consideration.")
        assert plain > 80 and clinical < 0
