# ruff: noqa: PLW0108  (the cases are lambdas, so a file of megabytes is made only when its test runs)
"""Abuse on the proposal side: each hostile input is refused with one located error, in bounded
time and memory, in a process of its own (1 GiB of address space, 60 CPU seconds), so a crash, a
runaway or a traceback fails the test and never CI.

Each case once failed: an alias bomb ran for minutes into gigabytes (riskengine expanded what
PyYAML shares), 10,000 nested lists were a RecursionError (100,000 a segfault in libyaml's
composer), a long value was repeated in full in its error, a NUL byte or a Latin-1 byte was
"line 0", and ``.json`` files were read as YAML (a trailing comma, ``yes``, ``NaN`` accepted).
The ruleset side is tests/test_abuse_rulesets.py.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

MEMORY = 1024 * 1024 * 1024  # 1 GiB of address space for the whole process
CPU_SECONDS = 60
WALL_SECONDS = 120

HEAD = "schema_version: 1\nid: abuse\njurisdiction: england\nas_of: 2026-11-22\n"
BASE = HEAD + "proposal:\n  activity: parkrun\n"
DOC = {"schema_version": 1, "id": "abuse", "jurisdiction": "england", "as_of": "2026-11-22"}


def _json(proposal: str = '{"activity": "parkrun"}', extra: str = "") -> bytes:
    head = json.dumps(DOC)[:-1]
    return f'{head}, "proposal": {proposal}{extra}}}'.encode()


def _laughs(levels: int) -> bytes:
    """The 'billion laughs': each level an anchored list of ten aliases to the level below."""
    lines = ["  categories: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, levels + 1)]
    return (BASE + "".join(lines)).encode()


def _deep_yaml(depth: int) -> bytes:
    return (BASE + "history: " + "[" * depth + "]" * depth + "\n").encode()


def _deep_json(depth: int) -> bytes:
    return _json(extra=', "history": ' + "[" * depth + "]" * depth)


def _members(count: int) -> bytes:
    return (BASE + "network:\n" + "".join(f"  - {{id: m{i}, kind: friend}}\n" for i in range(count))).encode()


# name -> (file suffix, the file's bytes, the diagnostic code expected)
CASES: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "billion laughs (9 levels)": (".yaml", lambda: _laughs(9), "too-large"),
    "alias bomb (7 levels)": (".yaml", lambda: _laughs(7), "too-large"),
    "one alias": (".yaml", lambda: (BASE + "  categories: &c [a]\n  hoped_for_benefits: *c\n").encode(), "too-large"),
    "3 MiB of YAML": (".yaml", lambda: (BASE + "# padding\n" * 320_000).encode(), "too-large"),
    "3 MiB of JSON": (".json", lambda: _json() + b" " * (3 * 1024 * 1024), "too-large"),
    "10,000 nested lists (YAML)": (".yaml", lambda: _deep_yaml(10_000), "too-large"),
    "100,000 nested lists (YAML)": (".yaml", lambda: _deep_yaml(100_000), "too-large"),
    "10,000 nested lists (JSON)": (".json", lambda: _deep_json(10_000), "too-large"),
    "100,000 nested lists (JSON)": (".json", lambda: _deep_json(100_000), "too-large"),
    "10,000 nested mappings (YAML)": (".yaml", lambda: (BASE + "x: " + "{a: " * 10_000 + "}" * 10_000 + "\n").encode(), "too-large"),
    "20,000 members": (".yaml", lambda: _members(20_000), "too-large"),
    "2,000 fields in one mapping": (".yaml", lambda: (BASE + "".join(f"  f{i}: 1\n" for i in range(2000))).encode(), "too-large"),
    "a 50,000-character goal": (".yaml", lambda: (BASE + "  goal: " + "x" * 50_000 + "\n").encode(), "too-large"),
    "a 1 MB goal in JSON": (".json", lambda: _json('{"activity": "parkrun", "goal": "' + "y" * 1_000_000 + '"}'), "too-large"),
    "a 5,000-character field name": (".json", lambda: _json('{"activity": "parkrun", "' + "k" * 5000 + '": 1}'), "too-large"),
    "a whole number of 100,000 digits (YAML)": (".yaml", lambda: (BASE + "person:\n  recent_crisis_days: " + "9" * 100_000 + "\n").encode(), "too-large"),
    "a whole number of 5,000 digits (YAML)": (".yaml", lambda: (BASE + "person:\n  recent_crisis_days: " + "9" * 5_000 + "\n").encode(), "bad-value"),
    "a whole number of 5,000 digits (JSON)": (".json", lambda: _json(extra=', "person": {"recent_crisis_days": ' + "9" * 5_000 + "}"), "out-of-range"),
    "2**80 (JSON)": (".json", lambda: _json(extra=f', "person": {{"recent_crisis_days": {2**80}}}'), "out-of-range"),
    "a NUL byte (YAML)": (".yaml", lambda: (BASE + "  goal: a\x00b\n").encode(), "bad-text"),
    "a NUL byte (JSON)": (".json", lambda: _json('{"activity": "parkrun", "goal": "a\x00b"}'), "bad-text"),
    "an escaped NUL (YAML)": (".yaml", lambda: (BASE + '  goal: "a\\0b"\n').encode(), "bad-text"),
    "an escaped NUL (JSON)": (".json", lambda: _json('{"activity": "parkrun", "goal": "a\\u0000b"}'), "bad-text"),
    "an escape character": (".yaml", lambda: (BASE + "  goal: a\x1b[31mb\n").encode(), "bad-text"),
    "a Latin-1 byte": (".yaml", lambda: (BASE + "  goal: caf").encode() + b"\xe9\n", "not-utf8"),
    "UTF-8 for a surrogate": (".yaml", lambda: (BASE + "  goal: a").encode() + b"\xed\xa0\x80\n", "not-utf8"),
    "an overlong UTF-8 slash": (".json", lambda: _json().replace(b'"parkrun"', b'"park\xc0\xafrun"'), "not-utf8"),
    "UTF-16 with its byte-order mark": (".yaml", lambda: BASE.encode("utf-16"), "not-utf8"),
    "a lone surrogate (JSON escape)": (".json", lambda: _json('{"activity": "parkrun", "goal": "\\ud800"}'), "bad-text"),
    "a lone surrogate (YAML escape)": (".yaml", lambda: (BASE + '  goal: "\\ud800"\n').encode(), "yaml-syntax"),
    "a trailing comma (JSON)": (".json", lambda: _json('{"activity": "parkrun",}'), "json-syntax"),
    "yes for true (JSON)": (".json", lambda: _json('{"activity": "parkrun", "concerns_asked": yes}'), "json-syntax"),
    "NaN (JSON)": (".json", lambda: _json(extra=', "person": {"recent_crisis_days": NaN}'), "json-syntax"),
    "a raw tab in a string (JSON)": (".json", lambda: _json('{"activity": "parkrun", "goal": "a\tb"}'), "json-syntax"),
    "a duplicate key (JSON)": (".json", lambda: _json('{"activity": "parkrun", "activity": "other"}'), "duplicate-key"),
    "a comment (JSON)": (".json", lambda: _json('{"activity": "parkrun"} # a comment'), "json-syntax"),
    "random bytes": (".yaml", lambda: bytes(range(256)) * 40, "not-utf8"),
}  # fmt: skip
# A one-line message for each (the lines run to a few hundred characters at most).
LINE_CHARS = 400
_LOCATED = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): error\[(?P<code>[a-z0-9-]+)\]")


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "riskengine", *args],
        capture_output=True, text=True, check=False, timeout=WALL_SECONDS, preexec_fn=_limits,
    )  # fmt: skip


def _assert_located(stderr: str, path: Path, code: str) -> None:
    assert "Traceback" not in stderr, stderr[-2000:]
    lines = stderr.splitlines()
    assert len(lines) == 1 and len(lines[0]) <= LINE_CHARS, stderr[:2000]
    found = _LOCATED.match(lines[0])
    assert found, lines[0]
    assert found["path"] == str(path) and int(found["line"]) > 0 and int(found["column"]) > 0, lines[0]
    assert found["code"] == code, lines[0]


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_hostile_proposal_is_refused_with_one_located_error(tmp_path: Path, name: str) -> None:
    suffix, make, code = CASES[name]
    path = tmp_path / f"abuse{suffix}"
    path.write_bytes(make())
    done = _run("evaluate", str(path), "--format", "text")
    assert done.returncode == 2, (done.returncode, done.stderr[-1000:])
    assert done.stdout == ""
    _assert_located(done.stderr, path, code)


def test_a_huge_file_is_not_read(tmp_path: Path) -> None:
    """A 4 GiB file (sparse) is refused by its size, within 1 GiB of memory: it is never read whole."""
    path = tmp_path / "huge.yaml"
    with path.open("wb") as out:
        out.write(BASE.encode())
        out.truncate(4 * 1024 * 1024 * 1024)
    done = _run("validate", str(path), "--format", "text")
    assert done.returncode == 2, (done.returncode, done.stderr[-1000:])
    _assert_located(done.stderr, path, "too-large")
    assert "4,294,967,296 bytes" in done.stderr


def test_a_utf8_byte_order_mark_is_read_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    done = _run("validate", str(path), "--format", "text")
    assert done.returncode == 0, done.stderr
    json_path = tmp_path / "bom.json"
    json_path.write_bytes(b"\xef\xbb\xbf" + _json())
    assert _run("validate", str(json_path), "--format", "text").returncode == 0


def test_a_limit_is_raised_from_the_environment(tmp_path: Path) -> None:
    """RISKENGINE_LIMITS raises (or lowers) a limit; the message names the variable to set."""
    path = tmp_path / "many.yaml"
    path.write_bytes(_members(600))
    refused = _run("validate", str(path), "--format", "text")
    assert "RISKENGINE_LIMITS='proposal.list_items=N'" in refused.stderr
    env_run = subprocess.run(
        [sys.executable, "-m", "riskengine", "validate", str(path), "--format", "text"],
        capture_output=True, text=True, check=False, timeout=WALL_SECONDS, preexec_fn=_limits,
        env={**os.environ, "RISKENGINE_LIMITS": "proposal.list_items=1000"},
    )  # fmt: skip
    assert env_run.returncode == 0, env_run.stderr


API_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import riskengine
    cases = json.loads(sys.stdin.read())
    for name, (text, suffix) in cases.items():
        try:
            riskengine.parse_proposal(text, "abuse" + suffix)
        except riskengine.InputError as exc:
            d = exc.diagnostics[0]
            print(json.dumps([name, d.location.line, d.location.column, d.code, len(str(exc))]))
        else:
            print(json.dumps([name, 0, 0, "accepted", 0]))
    """
)


def test_the_python_api_refuses_the_same_texts_with_located_errors() -> None:
    """parse_proposal (the service's path) gives the same located errors, in one bounded process."""
    texts = {}
    for name, (suffix, make, _code) in CASES.items():
        try:
            texts[name] = (make().decode("utf-8"), suffix)
        except UnicodeDecodeError:
            continue  # bytes that are not text: the API takes text
    done = subprocess.run(
        [sys.executable, "-c", API_SCRIPT], input=json.dumps(texts), capture_output=True, text=True,
        check=False, timeout=WALL_SECONDS, preexec_fn=_limits,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert {r[0] for r in results} == set(texts)
    for name, line, column, code, size in results:
        expected = CASES[name][2]
        assert (code, line > 0, column > 0) == (expected, True, True), (name, line, column, code)
        assert size <= LINE_CHARS, (name, size)


FUZZ_SCRIPT = textwrap.dedent(
    """
    import sys, tempfile, pathlib
    from hypothesis import given, settings, HealthCheck, strategies as st
    import riskengine

    folder = pathlib.Path(tempfile.mkdtemp())
    @settings(max_examples=int(sys.argv[1]), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.binary(max_size=4096), st.sampled_from([".yaml", ".json"]))
    def fuzz(data, suffix):
        path = folder / ("fuzz" + suffix)
        path.write_bytes(data)
        try:
            riskengine.load_proposal(path)
        except riskengine.InputError as exc:
            assert exc.diagnostics and len(str(exc)) < 20_000, str(exc)[:500]
            for d in exc.diagnostics:
                assert d.location.path == str(path)
    fuzz()
    print("ok")
    """
)


def test_random_bytes_fail_cleanly() -> None:
    """Random bytes, read as a proposal file: an InputError or a proposal, never anything else."""
    done = subprocess.run(
        [sys.executable, "-c", FUZZ_SCRIPT, "300"], capture_output=True, text=True, check=False,
        timeout=WALL_SECONDS, preexec_fn=_limits,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
