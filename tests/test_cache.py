"""The parse cache: rulesets only, private, bounded, and never trusted.

It gives back exactly what parsing gives; an entry that was edited, cut short or planted is
detected and the ruleset parsed afresh; nothing from a proposal reaches it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import platformdirs
import pytest
import yaml

from riskengine import Engine, load_proposal
from riskengine.errors import InputError
from riskengine.read import cache
from riskengine.read.limits import ENV as LIMITS_ENV
from riskengine.read.limits import limits_for
from riskengine.read.source import parse_document, read_document

from .paths import EXAMPLES, ROOT, SHIPPED

TEXT = """\
id: demo
checked: 2026-11-22
at: 2026-11-22T10:30:00+00:00
items: [1, 2.5, true, null, "text with \\u00e9 and \\"quotes\\""]
nested: {a: {b: [x, y]}}
"""


RULESET = limits_for("ruleset")


@pytest.fixture
def cache_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV, str(where))
    return where


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*" + cache.SUFFIX)) if folder.exists() else []


def _parse_ruleset(text: str, name: str = "demo.yaml") -> Any:
    with cache.for_rulesets():
        return parse_document(text, name).data


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("parsed although the cache holds this text")

    monkeypatch.setattr(yaml, "load", refuse)


def test_a_second_parse_comes_from_the_cache_and_is_identical(
    cache_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dates, date-times, numbers, booleans, nulls, non-ASCII text and nesting come back exactly."""
    first = _parse_ruleset(TEXT)
    assert len(_entries(cache_in)) == 1
    _no_parsing(monkeypatch)
    second = _parse_ruleset(TEXT)
    assert second == first
    assert type(second["checked"]) is dt.date and type(second["at"]) is dt.datetime
    assert second["at"].tzinfo is not None


def test_every_shipped_ruleset_reads_the_same_from_the_cache(cache_in: Path) -> None:
    """For every shipped ruleset and sources.yaml, the data an engine load cached is the parsed data."""
    Engine.from_paths(backend="reference")
    files = [p for p in SHIPPED.rglob("*.yaml") if not p.name.endswith(".test.yaml")]
    assert len(files) > 20 and len(_entries(cache_in)) == len(files)
    for path in files:
        parsed = read_document(path).data
        with cache.for_rulesets():
            kept = cache.load(cache.entry(path.read_text(encoding="utf-8"), RULESET))
        assert kept == parsed, path


def test_only_rulesets_are_cached(cache_in: Path) -> None:
    """Outside the rule loader's reading (proposals, rule tests, any other file) nothing is kept."""
    parse_document(TEXT, "demo.yaml")
    read_document(EXAMPLES / "parkrun-full.yaml")
    load_proposal(EXAMPLES / "parkrun-full.yaml")
    assert not cache_in.exists() or list(cache_in.iterdir()) == []


def test_a_changed_text_is_parsed_again(cache_in: Path) -> None:
    _parse_ruleset(TEXT)
    changed = _parse_ruleset(TEXT.replace("demo", "demo2"))
    assert changed["id"] == "demo2"
    assert len(_entries(cache_in)) == 2


def test_a_parse_kept_under_looser_limits_is_not_used_under_tighter_ones(
    cache_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Limits tightened after a ruleset was cached: the text is read and checked afresh, and refused."""
    _parse_ruleset(TEXT)
    monkeypatch.setenv(LIMITS_ENV, "ruleset.string_chars=10")
    with pytest.raises(InputError) as refused:
        _parse_ruleset(TEXT)
    assert [d.code for d in refused.value.diagnostics] == ["too-large"]
    monkeypatch.delenv(LIMITS_ENV)
    _no_parsing(monkeypatch)  # and back under the old limits, the first entry serves again
    assert _parse_ruleset(TEXT)["id"] == "demo"


def _flip_one_byte(raw: bytes) -> bytes:
    at = raw.index(b'"demo"') + 2
    return raw[:at] + b"X" + raw[at + 1 :]


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: b"",
        lambda raw: raw[: len(raw) // 2],  # cut short
        lambda raw: raw[:64],  # the check alone
        _flip_one_byte,  # one character of the data changed
        lambda raw: raw[:65] + b'{"tagged": false, "data": {"id": "planted"}}',  # data replaced, old check
        lambda raw: b"0" * 64 + b'\n{"tagged": false, "data": {"id": "planted"}}',  # a forged check
        lambda raw: b"not json",
    ],
    ids=["empty", "truncated", "check-only", "one-byte", "replaced-data", "forged-check", "garbage"],
)
def test_a_damaged_entry_is_ignored(cache_in: Path, damage: Any) -> None:
    """An edited, cut-short or foreign entry fails the integrity check: the text is parsed afresh."""
    expected = _parse_ruleset(TEXT)
    (entry,) = _entries(cache_in)
    entry.write_bytes(damage(entry.read_bytes()))
    assert _parse_ruleset(TEXT) == expected


def test_an_entry_keyed_to_another_text_or_version_is_not_trusted(
    cache_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry copied under another text's name, or left by another engine version, fails the check."""
    _parse_ruleset(TEXT)
    other = TEXT.replace("demo", "other")
    with cache.for_rulesets():
        kept, target = cache.entry(TEXT, RULESET), cache.entry(other, RULESET)
    assert kept is not None and target is not None
    shutil.copy(kept.path, target.path)
    assert _parse_ruleset(other)["id"] == "other"
    monkeypatch.setattr(cache, "_version", lambda: "riskengine 9.9.9")
    with cache.for_rulesets():
        moved = cache.entry(TEXT, RULESET)
    assert moved is not None
    shutil.copy(kept.path, moved.path)
    assert cache.load(moved) is None


def _tamper_every_entry(folder: Path) -> int:
    """Rewrite every entry's data (prompts, legal context, anything) as an attacker would, keeping its check."""
    count = 0
    for entry in _entries(folder):
        raw = entry.read_bytes()
        tampered = raw.replace(b"Ask ", b"TAMPERED ").replace(b"informal", b"detained_section_3")
        if tampered != raw:
            entry.write_bytes(tampered)
            count += 1
    return count


def test_editing_an_entry_leaves_the_evaluation_unchanged(cache_in: Path) -> None:
    """Entries edited after a run (prompt text rewritten, a legal context swapped) change nothing."""
    proposal = load_proposal(EXAMPLES / "parkrun-full.yaml")
    before = Engine.from_paths(backend="reference").evaluate(proposal).to_json()
    assert _tamper_every_entry(cache_in) > 10
    after = Engine.from_paths(backend="reference").evaluate(proposal).to_json()
    assert after == before and "TAMPERED" not in after


def test_planted_entries_never_stop_a_run(cache_in: Path) -> None:
    """Garbage, wrong-shaped data or a symbolic link in place of every entry: the command still succeeds,
    with the same bytes as a run without the cache."""
    command = [sys.executable, "-m", "riskengine", "evaluate", str(EXAMPLES / "parkrun-full.yaml")]
    first = subprocess.run(command, capture_output=True, check=True, cwd=ROOT).stdout
    plants = [b"", b"{}", b'{"tagged": true, "data": 1}', b"\xff" * 100, b"0" * 64 + b"\n[]"]
    for i, entry in enumerate(_entries(cache_in)):
        if i % 6 == 5:
            entry.unlink()
            entry.symlink_to(EXAMPLES / "parkrun-full.yaml")
        else:
            entry.write_bytes(plants[i % 5])
    again = subprocess.run(command, capture_output=True, cwd=ROOT, check=False)
    assert again.returncode == 0, again.stderr
    uncached = subprocess.run(
        command, capture_output=True, cwd=ROOT, env={**os.environ, cache.ENV: ""}, check=False
    )
    assert again.stdout == first == uncached.stdout


def test_the_folder_is_private_and_entries_are_0600(cache_in: Path) -> None:
    cache_in.mkdir(mode=0o755)
    os.chmod(cache_in, 0o775)  # made by someone else's umask: made private before anything is kept
    _parse_ruleset(TEXT)
    assert stat.S_IMODE(cache_in.stat().st_mode) == 0o700
    (entry,) = _entries(cache_in)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert [p.name for p in cache_in.iterdir()] == [entry.name]  # no temporary file left behind


def _entry_of(text: str) -> Path:
    with cache.for_rulesets():
        kept = cache.entry(text, RULESET)
    assert kept is not None
    return kept.path


def test_the_cache_is_bounded_and_evicts_the_least_recently_used(
    cache_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the size limit the entries used longest ago go first, until the folder is within it."""
    texts = [f"id: r{i:02}\npadding: {'x' * 2000}\n" for i in range(12)]
    _parse_ruleset(texts[0])
    size = _entry_of(texts[0]).stat().st_size
    monkeypatch.setenv(cache.MAX_BYTES_ENV, str(5 * size))
    for i, text in enumerate(texts):
        _parse_ruleset(text)
        os.utime(_entry_of(text), (1000.0 + i, 1000.0 + i))
    remaining = _entries(cache_in)
    assert remaining == sorted(_entry_of(t) for t in texts[-5:])
    assert sum(p.stat().st_size for p in remaining) <= 5 * size


def test_a_hit_refreshes_an_entry_so_it_is_evicted_last(
    cache_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [f"id: r{i}\npadding: {'x' * 2000}\n" for i in range(4)]
    for i, text in enumerate(texts[:3]):
        _parse_ruleset(text)
        with cache.for_rulesets():
            kept = cache.entry(text, RULESET)
        assert kept is not None
        os.utime(kept.path, (1000.0 + i, 1000.0 + i))
    _parse_ruleset(texts[0])  # the oldest, used again
    size = _entries(cache_in)[0].stat().st_size
    monkeypatch.setenv(cache.MAX_BYTES_ENV, str(3 * size))
    _parse_ruleset(texts[3])
    with cache.for_rulesets():
        gone, kept_first = cache.entry(texts[1], RULESET), cache.entry(texts[0], RULESET)
    assert gone is not None and kept_first is not None
    assert not gone.path.exists() and kept_first.path.exists()


def test_an_entry_larger_than_the_whole_cache_is_not_kept(
    cache_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cache.MAX_BYTES_ENV, "100")
    _parse_ruleset(TEXT)
    assert _entries(cache_in) == []


@pytest.mark.parametrize(
    "text",
    ["x: .nan\n", "x: 123456789012345678901234567890\n", "x: !!set {a, b}\n", "x: !!binary aGk=\n",
     '"\\0date": 2026-01-01\n'],
)  # fmt: skip
def test_what_json_cannot_carry_exactly_is_not_cached(cache_in: Path, text: str) -> None:
    """Not-a-number, huge integers, sets, bytes and keys that clash with the date tag stay uncached."""
    _parse_ruleset(text, "odd.yaml")
    assert _entries(cache_in) == []


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.ENV, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    _parse_ruleset(TEXT)
    assert cache.cache_dir() is None and list(tmp_path.rglob("*")) == []


def test_an_unwritable_cache_is_no_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache folder that cannot be made (here: a file is in the way) only means no caching."""
    blocked = tmp_path / "file"
    blocked.write_text("in the way")
    monkeypatch.setenv(cache.ENV, str(blocked / "cache"))
    assert _parse_ruleset(TEXT)["id"] == "demo"


def test_the_default_folder_is_the_platform_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without the variable, entries go under the platform's user cache folder (platformdirs)."""
    monkeypatch.delenv(cache.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    where = cache.cache_dir()
    assert where == Path(platformdirs.user_cache_dir("riskengine", appauthor=False)) / "rulesets"
    if sys.platform.startswith("linux"):
        assert where == tmp_path / "riskengine" / "rulesets"


def test_old_caches_of_every_parsed_file_are_removed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Earlier versions kept proposals too, in ``parsed-*`` folders: the first write removes them."""
    monkeypatch.delenv(cache.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache._forget_old_layout.cache_clear()
    old = tmp_path / "riskengine" / "parsed-0.1.0-yaml6.0.2-py311-0123456789ab"
    old.mkdir(parents=True)
    (old / "f00.json").write_text('{"data": {"goal": "a person\'s words"}}')
    _parse_ruleset(TEXT)
    assert not old.exists() and len(_entries(tmp_path / "riskengine" / "rulesets")) == 1


def test_without_a_home_folder_the_cache_is_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Where no home folder can be found, nothing is cached, and no '~' folder appears anywhere."""
    monkeypatch.delenv(cache.ENV)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(os.path, "expanduser", lambda path: path)
    monkeypatch.chdir(tmp_path)
    assert cache.cache_dir() is None
    _parse_ruleset(TEXT)
    assert list(tmp_path.iterdir()) == []


MARKER = "zq-marker-7f3a9c-private-words"
_API = f"""
import riskengine, sys
from pathlib import Path
engine = riskengine.Engine.from_paths()
good, bad = Path(sys.argv[1]), Path(sys.argv[2])
evaluation = engine.evaluate(riskengine.load_proposal(good))
riskengine.render_text(evaluation, full=True); riskengine.render_person(evaluation)
engine.evaluate(riskengine.parse_proposal(good.read_text()))
for text in (bad.read_text(), good.read_text().replace("schema_version", "{MARKER}")):
    try:
        riskengine.parse_proposal(text)
    except riskengine.InputError:
        pass
"""


def _proposals_with_marker(folder: Path) -> tuple[Path, Path]:
    """A valid proposal with the marker in its free text, and an invalid one with it too."""
    data = yaml.safe_load((EXAMPLES / "parkrun-full.yaml").read_text(encoding="utf-8"))
    data["proposal"]["goal"] = f"run the 5k, {MARKER}"
    data["person"]["what_matters"] = MARKER
    data["proposal"]["concerns"][0]["text"] = MARKER
    good, bad = folder / "good.yaml", folder / "bad.yaml"
    good.write_text(yaml.safe_dump(data), encoding="utf-8")
    data["network"][0]["closeness"] = 9
    data["proposal"]["not_a_field"] = MARKER
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    return good, bad


def test_no_proposal_text_reaches_the_disk(tmp_path: Path) -> None:
    """From the command line and the Python API, with the cache on in its default place and home,
    XDG and temporary folders in a scratch folder, no file written holds any of a proposal's words,
    valid proposals or invalid ones. The rulesets are cached there, so the cache was in use."""
    inputs, home, work = tmp_path / "in", tmp_path / "home", tmp_path / "work"
    for folder in (inputs, home, work, tmp_path / "tmp"):
        folder.mkdir()
    good, bad = _proposals_with_marker(inputs)
    env = {k: v for k, v in os.environ.items() if k != cache.ENV and not k.startswith("XDG_")}
    env.update(HOME=str(home), TMPDIR=str(tmp_path / "tmp"), XDG_CACHE_HOME=str(home / ".cache"),
               XDG_DATA_HOME=str(home / ".data"), XDG_STATE_HOME=str(home / ".state"))  # fmt: skip
    cli = [sys.executable, "-m", "riskengine"]
    runs = [
        [*cli, "evaluate", str(good)], [*cli, "evaluate", str(good), "--format", "text", "--full"],
        [*cli, "evaluate", str(good), "--format", "person"], [*cli, "evaluate", str(bad)],
        [*cli, "validate", str(good), str(bad)], [*cli, "ecomap", str(good), "-o", str(inputs / "map.svg")],
        [*cli, "evaluate", "-"], [sys.executable, "-c", _API, str(good), str(bad)],
    ]  # fmt: skip
    for command in runs:
        stdin = good.read_bytes() if command[-1] == "-" else None
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, input=stdin, check=False)
        assert done.returncode in (0, 2), (command, done.stderr)
    written = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink() and p.parent != inputs]
    assert len(_entries(home / ".cache" / "riskengine" / "rulesets")) > 20
    for path in written:
        assert MARKER.encode() not in path.read_bytes(), path
