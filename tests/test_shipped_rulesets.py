"""The shipped rulesets: each of their test cases passes (one pytest item per case, so
``-k`` selects one), every rule is exercised, sources are shared, and person text is plain."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from riskengine import Engine, RuleBook, load_rulebook, load_test_file
from riskengine.documents.vocab import Activity
from riskengine.read.source import SourceMap
from riskengine.report.readability import flesch_reading_ease
from riskengine.rule_tests import run_case, stress_case
from riskengine.rules.loader import find_files
from riskengine.run.backends import get_backend

from .paths import ROOT, SHIPPED

TEST_FILES = {path: load_test_file(path) for path in find_files([SHIPPED], tests=True)}
CASES = [(path, i) for path, (tests, _) in TEST_FILES.items() for i in range(len(tests.cases))]


def _case_id(case: tuple[Path, int]) -> str:
    """``<ruleset>::<case name>``, in words -k can match."""
    path, i = case
    tests, _ = TEST_FILES[path]
    return f"{tests.ruleset}::{re.sub(r'[^a-z0-9]+', '-', tests.cases[i].name.lower()).strip('-')}"


@pytest.fixture(scope="module")
def book() -> RuleBook:
    """Every shipped ruleset, loaded once."""
    return load_rulebook([SHIPPED])


@pytest.fixture(scope="module")
def engines(book: RuleBook) -> list[Engine]:
    """The shipped book on both backends (durable first), as `riskengine test` runs it."""
    return [Engine(book, get_backend(name)) for name in ("durable", "reference")]


class TestShippedRuleTests:
    @pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
    def test_case(self, case: tuple[Path, int], engines: list[Engine], book: RuleBook) -> None:
        """This case's rules fire and stay quiet as it says, on both backends, which agree."""
        path, i = case
        tests, source = TEST_FILES[path]
        result, problems = run_case(tests, source, i, engines, book)
        assert not problems, [d.render() for d in problems]
        assert result is not None and result.passed, "\n".join(result.failures if result else ())

    @pytest.mark.parametrize("activity", get_args(Activity))
    def test_stress_case(self, activity: str, engines: list[Engine], book: RuleBook) -> None:
        """Every value and word the rules look for, in every legal context: both backends run and agree."""
        result = stress_case(engines, book, activity)
        assert result.passed, "\n".join(result.failures)

    def test_every_rule_is_exercised_by_its_own_tests(self, book: RuleBook) -> None:
        """Each shipped rule is listed under `fires` by a case in its own ruleset's test file
        (and each case passes, above), so no rule ships without a case that makes it fire."""
        listed = {
            (tests.ruleset, rule) for tests, _ in TEST_FILES.values() for c in tests.cases for rule in c.fires
        }
        owned = {(loaded.ruleset.model.id, loaded.rule.id) for loaded in book.rules}
        assert sorted(owned - listed) == []

    def test_every_test_file_names_a_loaded_ruleset(self, book: RuleBook) -> None:
        """A test file's `ruleset:` is a shipped ruleset, so its cases test what ships."""
        assert {tests.ruleset for tests, _ in TEST_FILES.values()} <= {r.model.id for r in book.rulesets}
        assert all(isinstance(source, SourceMap) for _, source in TEST_FILES.values())


class TestShippedRulesets:
    def test_every_rule_cites_a_source(self, shipped: Engine) -> None:
        """Every rule names a seed file or a publication with a citation or URL."""
        for loaded in shipped.book.rules:
            assert loaded.sources, loaded.rule.id
            for source in loaded.sources:
                assert source.seed or source.citation or source.url, (loaded.rule.id, source.id)

    def test_sources_are_defined_once_in_the_shared_file(self, shipped: Engine) -> None:
        """No shipped ruleset defines a source inline: each cites rulesets/sources.yaml, where
        every source is defined once (run scripts/migrate_rulesets.py after adding rules)."""
        from riskengine.documents.ruleset import Source

        inline = [
            (r.model.id, e.id)
            for r in shipped.book.rulesets
            for e in r.model.sources
            if isinstance(e, Source)
        ]
        assert inline == [], "run: python scripts/migrate_rulesets.py"

    def test_the_migration_has_nothing_left_to_do(self) -> None:
        """scripts/migrate_rulesets.py --check finds no repeated gate and no inline source to move."""
        done = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "migrate_rulesets.py"), "--check"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr


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
        clinical = flesch_reading_ease(
            "Pharmacological contraindications necessitate multidisciplinary consideration."
        )
        assert plain > 80 and clinical < 0
