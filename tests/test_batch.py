"""``riskengine batch``: what it writes is what ``riskengine evaluate`` prints, in order, whatever happens.

The command-line tests run the real command (a pool of two worker processes); the rest call
the pipeline in this process with small chunks, so that ordering across chunks is exercised.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
import yaml

import riskengine
from riskengine.batch import records
from riskengine.batch.executor import InlineExecutor, LocalExecutor, RulesetSpec, Task, run_chunk
from riskengine.batch.inputs import Item, iter_items
from riskengine.batch.pipeline import Summary, run_batch
from riskengine.batch.progress import count_records, progress_bar
from riskengine.batch.synth import corpus, synthetic_proposal, write_corpus
from riskengine.cli import main

from .paths import CORE, ROOT, SCENARIO_PROPOSALS

EVALUATION = ',"evaluation":'


def _batch(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "riskengine", "batch", *map(str, args)]
    return subprocess.run(command, input=stdin, capture_output=True, cwd=ROOT, timeout=600, check=False)


def _evaluation_part(line: str) -> str:
    """The bytes of a batch line's evaluation, exactly as written."""
    assert line.endswith("}")
    return line[line.index(EVALUATION) + len(EVALUATION) : -1]


def _compact(evaluate_output: str) -> str:
    return json.dumps(json.loads(evaluate_output), separators=(",", ":"), ensure_ascii=False)


def _evaluate(path: Path) -> str:
    out, err = io.StringIO(), io.StringIO()
    assert main(["evaluate", str(path)], stdout=out, stderr=err) == 0, err.getvalue()
    return out.getvalue()


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def proposal_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The shipped example proposals and synthetic ones written as YAML and as JSON files."""
    folder = tmp_path_factory.mktemp("proposals")
    files = sorted(SCENARIO_PROPOSALS.glob("*.yaml"))
    for index in (0, 5, 13, 40):  # an activity each, one in each nation
        data = synthetic_proposal(7, index)
        (folder / f"synth-{index}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        (folder / f"synth-{index}.json").write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    return files + sorted(folder.iterdir())


class TestTheSameAsEvaluate:
    def test_each_evaluation_is_byte_for_byte_what_evaluate_prints(
        self, proposal_files: list[Path], tmp_path: Path
    ) -> None:
        """Every shipped proposal, and synthetic ones as YAML and as JSON, through the real
        command on two worker processes: the evaluation part of each line is the compact form of
        ``riskengine evaluate``'s output, byte for byte, and the line names its input and id."""
        out = tmp_path / "out.ndjson"
        done = _batch(*proposal_files, "-o", out, "--workers", "2")
        assert done.returncode == 0, done.stderr.decode()
        lines = _lines(out)
        assert len(lines) == len(proposal_files)
        for path, line in zip(proposal_files, lines, strict=True):
            expected = _evaluate(path)
            assert _evaluation_part(line) == _compact(expected), path
            record = json.loads(line)
            assert record["record"] == 1
            assert record["input"] == str(path)
            assert record["id"] == json.loads(expected)["proposal_id"]

    def test_an_ndjson_line_evaluates_as_the_same_proposal_in_a_file(self, tmp_path: Path) -> None:
        data = synthetic_proposal(3, 11)
        (tmp_path / "one.json").write_bytes(orjson.dumps(data))
        engine = riskengine.Engine.from_paths()
        line, ok = records.evaluate_record(engine, orjson.dumps(data).decode(), source="c.ndjson", line=4)
        assert ok
        assert _evaluation_part(line.rstrip("\n")) == _compact(_evaluate(tmp_path / "one.json"))
        assert json.loads(line)["input"] == "c.ndjson:4"


class TestOrderAndErrors:
    def test_results_come_back_in_input_order_across_many_chunks(self, tmp_path: Path) -> None:
        """Five records a chunk, two workers, three chunks in flight: out of order completion
        (large networks take longer) still writes every line in input order."""
        source = tmp_path / "c.ndjson"
        write_corpus(str(source), count=60, seed=5)
        out = tmp_path / "out.ndjson"
        with LocalExecutor(2, chunk_items=5, in_flight=3) as pool:
            summary = run_batch([str(source)], str(out), executor=pool)
        assert (summary.evaluated, summary.failed) == (60, 0)
        found = [json.loads(line) for line in _lines(out)]
        assert [r["input"] for r in found] == [f"{source}:{n}" for n in range(1, 61)]
        assert [r["id"] for r in found] == [f"synth-5-{n:07d}" for n in range(60)]

    def test_a_corrupt_line_in_the_middle_gives_one_error_line_and_the_rest_evaluate(
        self, tmp_path: Path
    ) -> None:
        lines = [orjson.dumps(p).decode() for p in corpus(9, seed=2)]
        lines[4] = lines[4][:57] + "}, oops" + lines[4][57:]
        source = tmp_path / "c.ndjson"
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        out = tmp_path / "out.ndjson"
        done = _batch(source, "-o", out, "--workers", "2")
        assert done.returncode == 1, done.stderr.decode()
        assert b"8 evaluated, 1 failed" in done.stderr
        found = [json.loads(line) for line in _lines(out)]
        assert [("evaluation" in r, "errors" in r) for r in found] == [(True, False)] * 4 + [
            (False, True)
        ] + [(True, False)] * 4
        (error,) = found[4]["errors"]
        assert found[4]["input"] == f"{source}:5"
        assert found[4]["id"] is None
        assert (error["path"], error["line"], error["column"], error["code"]) == (
            str(source),
            5,
            58,
            "json-syntax",
        )

    def test_an_invalid_proposal_is_located_with_its_id_field_and_pointer(self) -> None:
        data = synthetic_proposal(1, 1)
        data["network"] = [{"id": "sam", "kind": "friend", "closeness": 9}]
        text = orjson.dumps(data).decode()
        with pytest.raises(records.RecordError) as caught:
            records.read_record(text, source="c.ndjson", line=12)
        assert caught.value.record_id == "synth-1-0000001"
        line = records.error_line(
            input="c.ndjson:12", proposal_id="synth-1-0000001", diagnostics=caught.value.diagnostics
        )
        (error,) = json.loads(line)["errors"]
        assert error["field"] == "network[0].closeness"
        assert error["pointer"] == "/network/0/closeness"
        assert (error["line"], error["column"]) == (12, text.index('"closeness":9') + len('"closeness":') + 1)

    @pytest.mark.parametrize(
        "text",
        [
            '{"id": "a", "id": "b"}',  # a space after the colon: the exact reading
            '{"id":"a","id":"b"}',  # compact: the fast count
            '{"a":{"x":1,"x":2}}',
            '{"a" :1,"a":2}',  # a space before the colon would hide a key from the count
            '{"a":"\\u0022:","a":1}',  # an escaped quote and colon would add one
        ],
    )
    def test_a_duplicate_key_is_an_error_not_a_silent_overwrite(self, text: str) -> None:
        with pytest.raises(records.RecordError) as caught:
            records.read_record(text, source="c.ndjson", line=3)
        assert [d.code for d in caught.value.diagnostics] == ["duplicate-key"]
        assert caught.value.diagnostics[0].location.line == 3

    def test_a_quoted_colon_in_text_does_not_hide_or_fake_a_duplicate(self) -> None:
        data = synthetic_proposal(1, 2)
        data["proposal"]["goal"] = 'she said "yes": then "no":'
        assert records.read_record(orjson.dumps(data).decode(), source="c", line=1).id == "synth-1-0000002"

    def test_a_yaml_file_with_a_syntax_error_is_located_in_the_file(self, tmp_path: Path) -> None:
        with pytest.raises(records.RecordError) as caught:
            records.read_record("schema_version: 1\nid: [oops\n", source="bad.yaml", line=None)
        (problem,) = caught.value.diagnostics
        assert problem.code == "yaml-syntax"
        assert problem.location.path == "bad.yaml"
        assert problem.location.line >= 2

    def test_text_that_is_not_utf8_is_an_error_line(self, tmp_path: Path) -> None:
        source = tmp_path / "c.ndjson"
        source.write_bytes(orjson.dumps(synthetic_proposal(0, 0)) + b"\n\xff\xfe\n")
        items = list(iter_items([str(source)]))
        assert [i.unreadable for i in items] == ["", "is not UTF-8 (byte 1)"]
        line, ok = records.evaluate_record(
            riskengine.Engine.from_paths([CORE]),
            "",
            source=str(source),
            line=2,
            unreadable=items[1].unreadable,
        )
        assert not ok
        assert json.loads(line)["errors"][0]["code"] == "unreadable"

    def test_an_evaluation_that_fails_is_an_error_line_and_the_batch_goes_on(self) -> None:
        class Broken:
            def evaluate(self, proposal: object) -> riskengine.Evaluation:
                raise ZeroDivisionError("the record's text could be in here")

        text = orjson.dumps(synthetic_proposal(0, 0)).decode()
        line, ok = records.evaluate_record(Broken(), text, source="c", line=1)  # type: ignore[arg-type]
        assert not ok
        record = json.loads(line)
        assert record["id"] == "synth-0-0000000"
        assert record["errors"][0]["code"] == "internal"
        assert "could be in here" not in line


class TestInputs:
    def test_a_directory_is_read_in_sorted_order_skipping_what_is_not_a_proposal(
        self, tmp_path: Path
    ) -> None:
        for name in (
            "b/2.yaml",
            "b/10.json",
            "a.yml",
            "c.ndjson",
            ".hidden.yaml",
            "x.test.yaml",
            "s.scenario.yaml",
            "notes.txt",
        ):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text("{}\n{}\n" if name.endswith("ndjson") else "{}", encoding="utf-8")
        labels = [i.label for i in iter_items([str(tmp_path)], exclude=tmp_path / "c.ndjson")]
        assert labels == [str(tmp_path / n) for n in ("a.yml", "b/10.json", "b/2.yaml")]

    def test_stdin_and_blank_lines(self) -> None:
        items = list(iter_items(["-"], stdin=io.BytesIO(b'{"a":1}\n\n  \n{"b":2}\n')))
        assert [(i.label, i.text) for i in items] == [("<stdin>:1", '{"a":1}\n'), ("<stdin>:4", '{"b":2}\n')]

    def test_ndjson_on_stdin_through_the_command(self, tmp_path: Path) -> None:
        stdin = b"".join(orjson.dumps(p, option=orjson.OPT_APPEND_NEWLINE) for p in corpus(3, seed=4))
        done = _batch("-", "-o", "-", "--workers", "0", "--rulesets", CORE, stdin=stdin)
        assert done.returncode == 0, done.stderr.decode()
        assert [json.loads(line)["input"] for line in done.stdout.decode().splitlines()] == [
            "<stdin>:1",
            "<stdin>:2",
            "<stdin>:3",
        ]


class TestExitCodes:
    def test_a_missing_input_is_exit_2_before_anything_is_written(self, tmp_path: Path) -> None:
        out = tmp_path / "out.ndjson"
        done = _batch(tmp_path / "nope.ndjson", "-o", out)
        assert done.returncode == 2
        assert b"not-found" in done.stderr
        assert not out.exists()

    def test_invalid_rulesets_are_exit_2(self, tmp_path: Path) -> None:
        rules = tmp_path / "rules"
        rules.mkdir()
        (rules / "broken.yaml").write_text(
            "schema_version: 1\nid: broken\nrules: [{id: x}]\n", encoding="utf-8"
        )
        source = tmp_path / "c.ndjson"
        write_corpus(str(source), count=2)
        done = _batch(source, "-o", tmp_path / "out.ndjson", "--rulesets", rules)
        assert done.returncode == 2, done.stderr.decode()

    def test_no_proposals_in_the_inputs_is_exit_2(self, tmp_path: Path) -> None:
        done = _batch(tmp_path, "-o", tmp_path / "out.ndjson", "--workers", "0")
        assert done.returncode == 2
        assert b"no-proposals" in done.stderr

    def test_the_output_is_never_written_through_a_link(self, tmp_path: Path) -> None:
        target = tmp_path / "elsewhere.txt"
        target.write_text("keep", encoding="utf-8")
        (tmp_path / "out.ndjson").symlink_to(target)
        source = tmp_path / "c.ndjson"
        write_corpus(str(source), count=1)
        done = _batch(source, "-o", tmp_path / "out.ndjson", "--workers", "0")
        assert done.returncode == 2
        assert target.read_text(encoding="utf-8") == "keep"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    folder = tmp_path_factory.mktemp("resume")
    source = folder / "corpus.ndjson"
    lines = orjson.dumps(synthetic_proposal(9, 0)).decode(), "{not json"
    write_corpus(str(source), count=400, seed=9)
    with source.open("a", encoding="utf-8") as more:  # error lines with no id must be kept too
        more.write(f"{lines[1]}\n{lines[0]}\n{lines[1]}\n")
    out = folder / "whole.ndjson"
    done = _batch(source, "-o", out, "--workers", "2")
    assert done.returncode == 1, done.stderr.decode()
    return source, out.read_bytes()


class TestResume:
    """An interrupted batch resumed gives the uninterrupted run's file (the fixture: one whole run)."""

    def test_resume_after_sigkill_mid_run_gives_the_uninterrupted_file(
        self, uninterrupted: tuple[Path, bytes], tmp_path: Path
    ) -> None:
        """Kill the batch (and its workers) with SIGKILL part way, tear its last line as a write
        cut short would, then --resume: the file is byte for byte the uninterrupted run's."""
        source, whole = uninterrupted
        out = tmp_path / "out.ndjson"
        command = [sys.executable, "-m", "riskengine", "batch", str(source), "-o", str(out), "--workers", "2"]
        run = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stderr=subprocess.DEVNULL)
        try:
            _wait_for_lines(out, 100, run)
            assert run.poll() is None, "the batch finished before it could be killed"
            os.killpg(run.pid, signal.SIGKILL)
        finally:
            run.wait(timeout=60)
        partial = out.read_bytes()
        assert 0 < partial.count(b"\n") < whole.count(b"\n")
        assert whole.startswith(partial[: partial.rfind(b"\n") + 1])
        with out.open("ab") as torn:
            torn.write(b'{"record":1,"input":"cut sh')
        done = _batch(source, "-o", out, "--workers", "2", "--resume")
        assert done.returncode == 1, done.stderr.decode()
        assert b"already in" in done.stderr
        assert out.read_bytes() == whole

    def test_resume_of_a_finished_run_changes_nothing(
        self, uninterrupted: tuple[Path, bytes], tmp_path: Path
    ) -> None:
        source, whole = uninterrupted
        out = tmp_path / "out.ndjson"
        out.write_bytes(whole)
        summary = run_batch([str(source)], str(out), resume=True, executor=InlineExecutor())
        assert (summary.evaluated, summary.kept, summary.kept_failed) == (0, 403, 2)
        assert out.read_bytes() == whole

    def test_resume_adds_the_records_of_inputs_given_after(self, tmp_path: Path) -> None:
        first, second = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
        write_corpus(str(first), count=3, seed=1)
        write_corpus(str(second), count=2, seed=2)
        out = tmp_path / "out.ndjson"
        run_batch([str(first)], str(out), rulesets=[CORE], executor=InlineExecutor())
        summary = run_batch(
            [str(first), str(second)], str(out), rulesets=[CORE], resume=True, executor=InlineExecutor()
        )
        assert (summary.kept, summary.evaluated) == (3, 2)
        assert [json.loads(line)["id"] for line in _lines(out)] == [
            *(f"synth-1-{n:07d}" for n in range(3)),
            *(f"synth-2-{n:07d}" for n in range(2)),
        ]

    def test_resume_refuses_an_output_of_other_inputs(self, tmp_path: Path) -> None:
        first, second = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
        write_corpus(str(first), count=2, seed=1)
        write_corpus(str(second), count=2, seed=2)
        out = tmp_path / "out.ndjson"
        run_batch([str(first)], str(out), rulesets=[CORE], executor=InlineExecutor())
        before = out.read_bytes()
        with pytest.raises(riskengine.InputError) as caught:
            run_batch([str(second)], str(out), rulesets=[CORE], resume=True, executor=InlineExecutor())
        assert caught.value.diagnostics[0].code == "resume-mismatch"
        assert out.read_bytes() == before


def _wait_for_lines(path: Path, count: int, run: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and run.poll() is None:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.02)


class TestExecutor:
    def test_a_worker_refuses_rulesets_that_changed_since_the_batch_began(self, tmp_path: Path) -> None:
        rules = tmp_path / "rules"
        rules.mkdir()
        for file in CORE.iterdir():
            (rules / file.name).write_bytes(file.read_bytes())
        spec = RulesetSpec.of([rules])
        first = next(iter(sorted(rules.glob("*.yaml"))))
        first.write_text(first.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
        with pytest.raises(riskengine.RulesetError) as caught:
            spec.load()
        assert caught.value.diagnostics[0].code == "rulesets-changed"

    def test_the_hash_covers_content_and_names(self, tmp_path: Path) -> None:
        (tmp_path / "a.yaml").write_text("x", encoding="utf-8")
        before = RulesetSpec.of([tmp_path]).digest
        (tmp_path / "a.yaml").rename(tmp_path / "b.yaml")
        assert RulesetSpec.of([tmp_path]).digest != before

    def test_the_executors_agree(self) -> None:
        items = [Item("c", n, orjson.dumps(p).decode()) for n, p in enumerate(corpus(12, seed=3), start=1)]
        task = Task(_label_and_id, (RulesetSpec.of([CORE]),))
        with LocalExecutor(2, chunk_items=2) as pool:
            local = list(pool.map_ordered(task, iter(items)))
        assert local == list(InlineExecutor(chunk_items=5).map_ordered(task, items)) == run_chunk(task, items)
        assert [r[0] for r in local] == [f"c:{n}" for n in range(1, 13)]


def _label_and_id(engines: tuple[riskengine.Engine, ...], item: Item) -> tuple[str, str]:
    return item.label, records.read_record(item.text, source=item.source, line=item.line).id


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class TestProgress:
    def test_silent_when_stderr_is_not_a_terminal(self) -> None:
        err = io.StringIO()
        with progress_bar(err) as update:
            assert update is None
        assert err.getvalue() == ""

    def test_a_bar_that_counts_on_a_terminal(self) -> None:
        err = _Terminal()
        with progress_bar(err) as update:
            assert update is not None
            update(Summary(evaluated=1234, failed=5))
        assert "1,234 evaluated, 5 failed" in err.getvalue()

    def test_the_bar_knows_the_total_of_files_and_ndjson_lines(self, tmp_path: Path) -> None:
        write_corpus(str(tmp_path / "a.ndjson"), count=7)
        (tmp_path / "b.yaml").write_text("{}", encoding="utf-8")
        assert count_records([str(tmp_path), str(tmp_path / "a.ndjson")]) == 15
        err = _Terminal()
        with progress_bar(err, [str(tmp_path)]) as update:
            assert update is not None
            time.sleep(0.3)  # the count runs beside the batch
            update(Summary(evaluated=4))
        assert "4/8" in err.getvalue()

    def test_ctrl_c_stops_cleanly_with_the_output_valid(self, tmp_path: Path) -> None:
        source = tmp_path / "c.ndjson"
        write_corpus(str(source), count=300, seed=12)
        out = tmp_path / "out.ndjson"
        command = [sys.executable, "-m", "riskengine", "batch", str(source), "-o", str(out), "--workers", "2"]
        run = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE)
        _wait_for_lines(out, 64, run)
        assert run.poll() is None, "the batch finished before it could be interrupted"
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=120)
        assert run.returncode == 130, err.decode()
        assert b"--resume" in err
        assert b"Traceback" not in err
        text = out.read_text(encoding="utf-8")
        assert text.endswith("\n")
        assert all(json.loads(line)["record"] == 1 for line in text.splitlines())


def test_a_file_with_a_byte_order_mark_reads_as_evaluate_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(synthetic_proposal(0, 3)))
    (item,) = iter_items([str(path)])
    assert records.read_record(item.text, source=item.source, line=item.line).id == "synth-0-0000003"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"a":' * 5000 + "1" + "}" * 5000, "too-large"),  # deeper than orjson or json go
        ('{"a":' * 40 + "1" + "}" * 40, "too-large"),  # deeper than a proposal may be
        ('{"id":"x\u0000"}', "bad-text"),
    ],
    ids=["5,000 deep", "40 deep", "a NUL"],
)
def test_an_ndjson_line_is_held_to_a_proposals_limits(text: str, code: str) -> None:
    """The limits riskengine evaluate holds a file to, for each line, as a located error line."""
    line, ok = records.evaluate_record(riskengine.Engine.from_paths([CORE]), text, source="c.ndjson", line=9)
    assert not ok
    (error,) = json.loads(line)["errors"]
    assert (error["code"], error["line"]) == (code, 9)
