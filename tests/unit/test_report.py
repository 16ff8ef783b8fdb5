"""Unit tests of the report stage: sources as the evaluation shows them, the knowledge catalogue,
the readability measure and its command."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from riskengine import Engine, knowledge_catalogue
from riskengine.report.readability import flesch_reading_ease, main

from .helpers import proposal, ruleset, write

KNOWLEDGE = """\
sources:
  - {id: act, section: "s1(2)", checked: 2026-02-01, review_by: 2027-02-01}
rules:
  - id: k.law
    source: act
    because: "always"
    then:
      knowledge:
        topic: "the law"
        text: "What the Act says, in our own words."
        weight: must
        jurisdictions: [england]
        source: act
"""


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A ruleset whose one knowledge item cites a shared source, narrowed by its citation."""
    write(
        tmp_path,
        "sources.yaml",
        'sources:\n  - {id: act, title: "An Act", url: https://example.org/act, checked: 2026-01-01, review_by: 2026-06-01}\n',
    )
    ruleset(tmp_path, "law", KNOWLEDGE)
    return Engine.from_paths([tmp_path])


class TestSources:
    def test_knowledge_shows_the_shared_source_with_the_citations_part_and_dates(
        self, engine: Engine
    ) -> None:
        """A knowledge item's source is the shared one, with the section and check dates its citation gives."""
        (item,) = engine.evaluate(proposal()).knowledge
        assert (item.source.title, item.source.url, item.source.section) == (
            "An Act",
            "https://example.org/act",
            "s1(2)",
        )
        assert (item.source.checked, item.source.review_by) == (dt.date(2026, 2, 1), dt.date(2027, 2, 1))
        assert not item.stale  # the citation's review-by date (2027) counts, not the library's (2026)


class TestKnowledgeCatalogue:
    def test_an_entry_is_stale_after_its_review_by_date(self, engine: Engine) -> None:
        """The catalogue lists the item with its source; it is stale only once as_of passes review_by."""
        (entry,) = knowledge_catalogue(engine.book)
        assert entry.source_title == "An Act" and entry.review_by == dt.date(2027, 2, 1)
        assert not entry.stale(dt.date(2027, 2, 1)) and entry.stale(dt.date(2027, 2, 2))
        data = entry.to_dict()
        assert (data["id"], data["source"], data["url"]) == ("k.law", "An Act", "https://example.org/act")


class TestReadability:
    def test_no_words_reads_as_plain(self) -> None:
        """An empty text is not hard to read (100), so it never fails the plain-English gate."""
        assert flesch_reading_ease("") == 100.0

    def test_the_command_lists_the_hardest_text_first(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`python -m riskengine.report.readability FILE` prints every to_person text, hardest first."""
        path = write(
            tmp_path,
            "r.yaml",
            """\
            rules:
              - id: easy
                then: {prompt: {to_person: "You can stop. Tell Sam."}}
              - id: hard
                then: {prompt: {to_person: "Pharmacological contraindications necessitate consideration."}}
              - id: none
                then: {benefit: "x"}
            """,
        )
        assert main([str(path)]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert [line.split()[1] for line in lines] == ["hard:", "easy:"]
