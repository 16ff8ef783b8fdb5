"""The limits on input (riskengine/read/limits.py), in process: each at its edge, how they are
changed, strict JSON with positions, and messages that never repeat a person's words at length.
The hostile inputs themselves, in bounded processes, are tests/test_abuse_inputs.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import riskengine
from riskengine import (
    PROPOSAL_LIMITS,
    RULESET_LIMITS,
    InputError,
    limits_for,
    parse_proposal,
    proposal_from_data,
)
from riskengine.read import proposal_files
from riskengine.read.bounds import check_data
from riskengine.read.limits import Limits
from riskengine.read.source import SourceMap, parse_document

HEAD = "schema_version: 1\nid: edge\njurisdiction: england\nas_of: 2026-11-22\n"
BASE = HEAD + "proposal:\n  activity: parkrun\n"
DOC: dict[str, Any] = {
    "schema_version": 1, "id": "edge", "jurisdiction": "england", "as_of": "2026-11-22",
    "proposal": {"activity": "parkrun"},
}  # fmt: skip


def _members(count: int) -> str:
    return BASE + "network:\n" + "".join(f"  - {{id: m{i}, kind: friend}}\n" for i in range(count))


def _refusal(text: str, name: str = "edge.yaml", **kwargs: Any) -> riskengine.Diagnostic:
    with pytest.raises(InputError) as caught:
        parse_proposal(text, name, **kwargs)
    return caught.value.diagnostics[0]


class TestEachLimitAtItsEdge:
    def test_500_members_are_read_and_501_are_refused_at_the_501st(self) -> None:
        assert len(parse_proposal(_members(500)).network) == 500
        refused = _refusal(_members(501))
        assert (refused.code, refused.field, refused.location.line) == ("too-large", "network[500]", 508)
        assert "list_items" in refused.message and "RISKENGINE_LIMITS" in refused.hint

    def test_a_value_of_10000_characters_reaches_the_schema_and_one_more_does_not(self) -> None:
        at_limit = _refusal(BASE + "  goal: " + "x" * 10_000 + "\n")
        assert at_limit.code == "invalid-value"  # the schema's own 4,000 for a text field
        over = _refusal(BASE + "  goal: " + "x" * 10_001 + "\n")
        assert over.code == "too-large" and "string_chars" in over.message

    def test_nesting_is_bounded_in_data_given_to_the_api(self) -> None:
        deep: Any = []
        for _ in range(10_000):
            deep = [deep]
        with pytest.raises(InputError) as caught:
            proposal_from_data({**DOC, "history": deep})
        assert caught.value.diagnostics[0].code == "too-large"

    def test_a_whole_number_beyond_64_bits_is_refused_before_the_schema(self) -> None:
        refused = _refusal(BASE + f"person:\n  recent_crisis_days: {2**64}\n")
        assert (refused.code, refused.field) == ("out-of-range", "person.recent_crisis_days")
        assert refused.location.line == 8

    def test_a_proposal_may_not_use_an_anchor_but_a_ruleset_may(self) -> None:
        text = "a: &x [1, 2]\nb: *x\n"
        assert parse_document(text, "r.yaml", RULESET_LIMITS).data == yaml.safe_load(text)
        with pytest.raises(InputError) as caught:
            parse_document(text, "p.yaml", PROPOSAL_LIMITS)
        (refused,) = caught.value.diagnostics
        assert (refused.code, refused.location.line, refused.location.column) == ("too-large", 1, 4)

    def test_a_ruleset_alias_bomb_is_refused_at_the_alias_that_passes_the_limit(self) -> None:
        lines = ["l0: &l0 [a, a, a, a, a, a, a, a, a, a]"]
        lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
        with pytest.raises(InputError) as caught:
            parse_document("\n".join(lines) + "\n", "bomb.yaml", RULESET_LIMITS)
        (refused,) = caught.value.diagnostics
        assert refused.code == "too-large" and "nodes" in refused.message
        assert (refused.location.line, refused.field) == (6, "l5[7]")  # 10**5 + 7 * 10**5 values

    def test_an_alias_to_an_enclosing_anchor_is_refused(self) -> None:
        with pytest.raises(InputError) as caught:
            parse_document("a: &x [1, *x]\n", "loop.yaml", RULESET_LIMITS)
        assert caught.value.diagnostics[0].code == "too-large"

    def test_the_rulesets_limits_are_looser_than_a_proposals(self) -> None:
        for name in ("file_bytes", "depth", "nodes", "list_items", "mapping_keys", "string_chars", "aliases"):
            assert getattr(RULESET_LIMITS, name) > getattr(PROPOSAL_LIMITS, name), name


class TestChangingTheLimits:
    def test_from_python_per_call(self) -> None:
        more = PROPOSAL_LIMITS.replace(list_items=1000)
        assert len(parse_proposal(_members(600), limits=more).network) == 600
        fewer = PROPOSAL_LIMITS.replace(list_items=2)
        assert _refusal(_members(3), limits=fewer).field == "network[2]"

    def test_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(
            "RISKENGINE_LIMITS", "proposal.list_items=1000, proposal.file_bytes=8MiB ruleset.depth=9"
        )
        assert limits_for("proposal").list_items == 1000
        assert limits_for("proposal").file_bytes == 8 * 1024 * 1024
        assert (
            limits_for("ruleset").depth == 9 and limits_for("ruleset").list_items == RULESET_LIMITS.list_items
        )
        assert len(parse_proposal(_members(600)).network) == 600

    @pytest.mark.parametrize("setting", ["proposal.lists=5", "proposal.depth=-1", "person.depth=5", "depth"])
    def test_a_bad_setting_is_a_clear_error(self, monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
        monkeypatch.setenv("RISKENGINE_LIMITS", setting)
        with pytest.raises(InputError) as caught:
            limits_for("proposal")
        assert caught.value.diagnostics[0].code == "bad-setting"

    def test_replace_refuses_what_is_not_a_limit(self) -> None:
        with pytest.raises(ValueError, match="a limit is one of"):
            PROPOSAL_LIMITS.replace(kind=3)
        with pytest.raises(ValueError):
            PROPOSAL_LIMITS.replace(depth=-1)


class TestStrictJson:
    def _json_file(self, tmp_path: Path, text: str) -> Path:
        path = tmp_path / "p.json"
        path.write_text(text, encoding="utf-8")
        return path

    def test_a_problem_in_a_json_file_is_located_by_line_and_column(self, tmp_path: Path) -> None:
        doc = {
            **DOC,
            "network": [{"id": "jay", "kind": "friend"}, {"id": "mum", "kind": "family", "closeness": 9}],
        }
        path = self._json_file(tmp_path, json.dumps(doc, indent=2))
        with pytest.raises(InputError) as caught:
            riskengine.load_proposal(path)
        (problem,) = caught.value.diagnostics
        lines = path.read_text(encoding="utf-8").splitlines()
        line = next(i for i, text in enumerate(lines, 1) if '"closeness": 9' in text)
        column = lines[line - 1].index("9") + 1
        assert (problem.field, problem.location.line, problem.location.column) == (
            "network[1].closeness", line, column,
        )  # fmt: skip

    def test_a_duplicate_key_is_located_at_the_second(self, tmp_path: Path) -> None:
        path = self._json_file(tmp_path, '{\n  "id": "a",\n  "id": "b"\n}\n')
        with pytest.raises(InputError) as caught:
            riskengine.load_proposal(path)
        (problem,) = caught.value.diagnostics
        assert (problem.code, problem.location.line, problem.location.column) == ("duplicate-key", 3, 3)
        assert "first at line 2" in problem.message

    @pytest.mark.parametrize(
        ("text", "line", "column"),
        [('{"id": "a",}', 1, 12), ('{\n"a": yes}', 2, 6), ('{"a": NaN}', 1, 7), ('{"a":\n [1, 2,]}', 2, 8)],
    )
    def test_what_yaml_would_take_is_a_json_syntax_error(
        self, tmp_path: Path, text: str, line: int, column: int
    ) -> None:
        with pytest.raises(InputError) as caught:
            riskengine.load_proposal(self._json_file(tmp_path, text))
        (problem,) = caught.value.diagnostics
        assert (problem.code, problem.location.line, problem.location.column) == ("json-syntax", line, column)

    def test_a_valid_json_proposal_reads_as_its_yaml_twin_does(self, tmp_path: Path) -> None:
        yaml_path = Path(__file__).parent.parent / "scenarios" / "proposals" / "parkrun-with-a-friend.yaml"
        data = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
        path = self._json_file(tmp_path, json.dumps(data, default=str))
        assert riskengine.load_proposal(path) == riskengine.load_proposal(yaml_path)


class TestMessages:
    def test_a_long_text_is_named_by_its_length_never_repeated(self) -> None:
        words = "my own words about my brother " * 140  # 4,200 characters
        problem = _refusal(BASE + f"  goal: '{words}'\n")
        assert "my own words" not in problem.render()
        assert f"text of {len(words):,} characters" in problem.message

    def test_a_long_value_is_quoted_to_80_characters(self) -> None:
        problem = _refusal(HEAD.replace("england", "x" * 5000) + "proposal:\n  activity: parkrun\n")
        assert problem.code == "unknown-value" and len(problem.render()) < 300
        assert "5,000 characters" in problem.message

    def test_an_unreadable_number_is_not_repeated(self) -> None:
        problem = _refusal(BASE + "person:\n  recent_crisis_days: " + "9" * 5000 + "\n")
        assert "99999" not in problem.message and "5,000 digits" in problem.message

    def test_one_proposal_reports_at_most_100_problems(self) -> None:
        text = (
            BASE
            + "network:\n"
            + "".join(f"  - {{id: m{i}, kind: friend, closeness: 9}}\n" for i in range(400))
        )
        with pytest.raises(InputError) as caught:
            parse_proposal(text)
        problems = caught.value.diagnostics
        assert len(problems) == 101
        (more,) = [p for p in problems if p.code == "more-problems"]
        assert "300 more" in more.message


def test_the_cross_checks_compare_names_a_bounded_number_of_times(monkeypatch: pytest.MonkeyPatch) -> None:
    """ "Did you mean" compares a name with every member: done for every unknown name, 500 members
    and 500 unknown participants made the cross checks quadratic. Only the first few get one."""
    calls = []

    def counting(value: object, choices: list[str]) -> str:
        calls.append(len(choices))
        return ""

    monkeypatch.setattr(proposal_files, "closest", counting)
    participants = "".join(f"    - stranger{i}\n" for i in range(500))
    with pytest.raises(InputError) as caught:
        parse_proposal(_members(500) + "decision_process:\n  participants:\n" + participants)
    assert len(caught.value.diagnostics) == 101
    assert len(calls) == proposal_files._Unknown.HINTED


class _ReadingBefore(yaml.CSafeLoader):
    """How riskengine read YAML before the one-pass reading: libyaml, keys as written."""


def _keys_as_written(loader: yaml.CSafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in node.value:
        if str(key.value) in result:
            raise ValueError("duplicate key")
        result[str(key.value)] = loader.construct_object(value, deep=True)
    return result


_ReadingBefore.add_constructor("tag:yaml.org,2002:map", _keys_as_written)

SNIPPETS = [
    "a: 1\nb: [x, 'y', \"z\\n\", 2.5, -3, 0x1f, 1_000, yes, no, ~, null, .inf]\n",
    "d: 2026-11-22\nt: 2026-11-22 10:00:00\ns: '2026-11-22'\n",
    "a: &x {k: [1, 2]}\nb: *x\nc: [*x, *x]\n",
    "s: &s text\nt: *s\n",
    "- - - deep\n  - x\n- {a: {b: {c: []}}}\n",
    "1: one\ntrue: yes\nnull: x\n'quoted key': v\n",
    "b: !!binary aGk=\nstr: !!str 12\nf: !!float 1\n",
    "hello\n",
    "# only a comment\n",
    "k: |\n  block\n  text\nf: >\n  folded\n  text\n",
]


@pytest.mark.parametrize("text", SNIPPETS)
def test_the_one_pass_reading_builds_what_pyyaml_builds(text: str) -> None:
    """The data is built from the events the limits pass lets through (one scan of the file):
    it must be what the reading before built (libyaml's loader, keys as written), value for
    value, sharing included."""
    want = yaml.load(text, Loader=_ReadingBefore)  # the reading before: libyaml, keys as written
    if want is None:
        with pytest.raises(InputError):
            parse_document(text, "snippet.yaml", RULESET_LIMITS)
        return
    got = parse_document(text, "snippet.yaml", RULESET_LIMITS).data
    assert got == want and repr(got) == repr(want)
    if isinstance(want, dict) and "c" in want and isinstance(want["c"], list):
        assert got["c"][0] is got["b"]  # an alias is the same object, as PyYAML makes it


def test_every_yaml_file_in_the_repository_reads_as_pyyaml_reads_it() -> None:
    root = Path(__file__).resolve().parent.parent
    checked = 0
    for path in sorted(root.glob("**/*.yaml")):
        text = path.read_text(encoding="utf-8")
        try:
            want = yaml.load(text, Loader=_ReadingBefore)
        except Exception:  # a file the located reading reports on
            continue
        if not isinstance(want, dict):
            continue
        assert parse_document(text, str(path), RULESET_LIMITS).data == want, path
        checked += 1
    assert checked > 150


# --- the JSON fast path of the limits check ------------------------------------------------

_TIGHT = PROPOSAL_LIMITS.replace(
    nodes=60, depth=4, list_items=5, mapping_keys=4, string_chars=12, key_chars=6
)
_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=16),
    lambda inner: st.lists(inner, max_size=7) | st.dictionaries(st.text(max_size=9), inner, max_size=6),
    max_leaves=40,
)


def _verdict(data: Any, limits: Limits, json_text: str | None) -> tuple[str, str] | None:
    try:
        check_data(data, limits, SourceMap("x.json").locate, json_text=json_text)
    except InputError as exc:
        return exc.diagnostics[0].code, exc.diagnostics[0].field
    return None


@settings(max_examples=400, deadline=None)
@given(_JSON_VALUES, st.booleans(), st.booleans())
def test_the_json_fast_path_refuses_exactly_what_the_full_walk_refuses(
    data: Any, spaced: bool, tight: bool
) -> None:
    """Given the JSON text the data came from (compact as NDJSON writers give it, or spaced and
    with non-ASCII written out), the limits check takes cheap tests of the text and a walk over
    the lists and mappings alone; whatever it passes the value-by-value walk passes too, and
    what it cannot clear is walked in full: the same verdict, the same first problem."""
    limits = _TIGHT if tight else PROPOSAL_LIMITS
    text = json.dumps(data, ensure_ascii=False, separators=(", ", ": ") if spaced else (",", ":"))
    assert _verdict(data, limits, text) == _verdict(data, limits, None)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"a": [[[[[1]]]]]}, "too-large"),  # depth
        ({"a": list(range(6))}, "too-large"),  # entries in a list
        ({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}, "too-large"),  # fields in a mapping
        ({"abcdefg": 1}, "too-large"),  # a field name's length
        ({"a": "x" * 13}, "too-large"),  # a value's length
        ({"a": 2**63}, "out-of-range"),  # a whole number beyond 64 bits
        ({"a": "\x00"}, "bad-text"),  # a character no file may hold (escaped in the JSON)
        ({"a": "\ud800"}, "bad-text"),  # a lone surrogate (escaped in the JSON)
        ({"a": list(range(5)), "b": list(range(5)), "c": list(range(5))}, "too-large"),  # values
    ],
)
def test_the_json_fast_path_refuses_each_limit_at_its_edge(data: Any, code: str) -> None:
    text = json.dumps(data, separators=(",", ":"))
    found = _verdict(data, _TIGHT.replace(nodes=16), text)
    assert found is not None and found[0] == code, found
