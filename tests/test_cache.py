"""The parse cache gives back exactly what parsing gives, and never gets in the way."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from riskengine.read import cache
from riskengine.read.source import parse_document, read_document

from .paths import SCENARIO_PROPOSALS, SHIPPED

TEXT = """\
id: demo
checked: 2026-11-22
at: 2026-11-22T10:30:00+00:00
items: [1, 2.5, true, null, "text with \\u00e9 and \\"quotes\\""]
nested: {a: {b: [x, y]}}
"""


@pytest.fixture
def cache_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(cache.ENV, str(tmp_path))
    return tmp_path


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("parsed although the cache holds this text")

    monkeypatch.setattr(yaml, "load", refuse)


def test_a_second_parse_comes_from_the_cache_and_is_identical(cache_in: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dates, date-times, numbers, booleans, nulls, non-ASCII text and nesting come back exactly."""
    first = parse_document(TEXT, "demo.yaml").data
    assert len(list(cache_in.glob("*.json"))) == 1
    _no_parsing(monkeypatch)
    second = parse_document(TEXT, "demo.yaml").data
    assert second == first
    assert type(second["checked"]) is dt.date and type(second["at"]) is dt.datetime
    assert second["at"].tzinfo is not None


def test_every_shipped_file_reads_the_same_from_the_cache(cache_in: Path) -> None:
    """For every shipped ruleset, rule test file and example proposal, the cached data is the parsed data."""
    files = [*SHIPPED.rglob("*.yaml"), *SCENARIO_PROPOSALS.glob("*.yaml")]
    assert len(files) > 50
    for path in files:
        parsed = read_document(path).data
        cached = cache.load(cache.entry(path.read_text(encoding="utf-8")))
        assert cached == parsed, path


def test_a_changed_text_is_parsed_again(cache_in: Path) -> None:
    parse_document(TEXT, "demo.yaml")
    changed = parse_document(TEXT.replace("demo", "demo2"), "demo.yaml").data
    assert changed["id"] == "demo2"
    assert len(list(cache_in.glob("*.json"))) == 2


@pytest.mark.parametrize(
    "damage", [b"", b"not json", b"[1, 2]", b'{"tagged": true, "data": {"d": {"\\u0000date": "2026-02-30"}}}']
)
def test_a_damaged_entry_is_ignored(cache_in: Path, damage: bytes) -> None:
    """A cut-short, foreign or impossible entry is not trusted: the text is parsed as usual."""
    expected = parse_document(TEXT, "demo.yaml").data
    (entry,) = cache_in.glob("*.json")
    entry.write_bytes(damage)
    assert parse_document(TEXT, "demo.yaml").data == expected


@pytest.mark.parametrize(
    "text",
    ["x: .nan\n", "x: 123456789012345678901234567890\n", "x: !!set {a, b}\n", "x: !!binary aGk=\n",
     '"\\0date": 2026-01-01\n'],
)  # fmt: skip
def test_what_json_cannot_carry_exactly_is_not_cached(cache_in: Path, text: str) -> None:
    """Not-a-number, huge integers, sets, bytes and keys that clash with the date tag stay uncached."""
    parse_document(text, "odd.yaml")
    assert list(cache_in.glob("*.json")) == []


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.ENV, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    parse_document(TEXT, "demo.yaml")
    assert cache.cache_dir() is None and list(tmp_path.rglob("*.json")) == []


def test_an_unwritable_cache_is_no_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache folder that cannot be made (here: a file is in the way) only means no caching."""
    blocked = tmp_path / "file"
    blocked.write_text("in the way")
    monkeypatch.setenv(cache.ENV, str(blocked / "cache"))
    assert parse_document(TEXT, "demo.yaml").data["id"] == "demo"


def test_the_default_folder_names_the_versions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without the variable, entries go under the user's cache folder, in a folder named for the
    riskengine, PyYAML and Python versions and the code that reads YAML."""
    monkeypatch.delenv(cache.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    where = cache.cache_dir()
    assert where is not None and where.parent == tmp_path / "riskengine"
    assert where.name.startswith("parsed-") and f"yaml{yaml.__version__}" in where.name


def test_without_a_home_folder_the_cache_is_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Where no home folder can be found, nothing is cached, and no '~' folder appears anywhere."""
    monkeypatch.delenv(cache.ENV)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(cache.os.path, "expanduser", lambda path: path)
    monkeypatch.chdir(tmp_path)
    assert cache.cache_dir() is None
    parse_document(TEXT, "demo.yaml")
    assert list(tmp_path.iterdir()) == []
