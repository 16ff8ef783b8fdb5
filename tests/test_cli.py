"""The command line: outputs, exit codes, and no tracebacks."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from riskengine.cli import main

from .paths import CORE, EXAMPLES, OVERLAY, ROOT


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


class TestEvaluate:
    def test_json_is_the_evaluation_document(self) -> None:
        """`evaluate` prints the v1 evaluation as JSON on stdout and exits 0."""
        code, out, err = _run("evaluate", str(EXAMPLES / "parkrun-full.yaml"), "--rulesets", str(CORE))
        assert code == 0, err
        doc = json.loads(out)
        assert doc["schema_version"] == 1 and doc["proposal_id"] == "prop-0042"
        assert [p["id"] for p in doc["principles"]] == [f"felton.{i}" for i in range(1, 6)]

    def test_text_follows_the_conversation(self) -> None:
        """The full text report opens with the brief; its sections then come in conversation order."""
        args = (
            "evaluate",
            str(EXAMPLES / "parkrun-full.yaml"),
            "--format",
            "text",
            "--full",
            "--rulesets",
            str(CORE),
        )
        code, out, _ = _run(*args)
        assert code == 0
        order = ["Start here", "Living your life?", "What the five principles ask", "Tensions to talk through",
                 "What could help", "What the law and guidance say", "What could go well",
                 "Who the plan leans on", "Review"]  # fmt: skip
        positions = [out.index(f"\n{title}\n") for title in order]
        assert positions == sorted(positions)

    def test_text_is_short_by_default(self) -> None:
        """Without --full the report is the brief, the questions for today and a line on what --full adds."""
        code, out, _ = _run(
            "evaluate", str(EXAMPLES / "parkrun-full.yaml"), "--format", "text", "--rulesets", str(CORE)
        )
        assert code == 0
        assert out.index("Start here") < out.index("Questions for today") < out.index("More with --full")
        assert "What the five principles ask" not in out and "Who the plan leans on" not in out
        _, full, _ = _run(
            "evaluate",
            str(EXAMPLES / "parkrun-full.yaml"),
            "--format",
            "text",
            "--full",
            "--rulesets",
            str(CORE),
        )
        assert len(out.split()) < 0.75 * len(full.split())

    def test_person_format_prints_the_persons_copy(self) -> None:
        """--format person prints the person's own copy: their words, no rule ids."""
        code, out, _ = _run(
            "evaluate", str(EXAMPLES / "parkrun-full.yaml"), "--format", "person", "--rulesets", str(CORE)
        )
        assert code == 0
        assert out.startswith("Your copy") and "felton." not in out and "prm." not in out

    def test_backends_give_the_same_document(self) -> None:
        """--backend reference and the default durable backend print the same evaluation."""
        args = ("evaluate", str(EXAMPLES / "parkrun-full.yaml"), "--rulesets", str(CORE))
        a, b = json.loads(_run(*args)[1]), json.loads(_run(*args, "--backend", "reference")[1])
        a["provenance"].pop("backend"), b["provenance"].pop("backend")
        assert a == b

    def test_bad_rulesets_exit_2(self, tmp_path: Path) -> None:
        """A broken ruleset directory stops evaluation with exit 2 and a located error."""
        (tmp_path / "x.yaml").write_text(
            "id: x\nversion: 1.0.0\ntitle: x\nsources: [{id: s, title: s}]\nrules:\n  - {id: a, source: t, because: b, then: {gap: felton.1}}\n"
        )
        code, out, err = _run(
            "evaluate", str(EXAMPLES / "parkrun-full.yaml"), "--rulesets", str(tmp_path), "--format", "text"
        )
        assert code == 2 and not out
        assert f"{tmp_path}/x.yaml:6:" in err and "unknown-source" in err

    def test_internal_errors_are_not_tracebacks(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """An unexpected bug prints one line and exit code 3, not a traceback."""
        from riskengine import cli

        monkeypatch.setitem(cli.COMMANDS, "schema", lambda *_: 1 / 0)
        code, _, err = _run("schema", "proposal")
        assert code == 3 and "internal error: ZeroDivisionError" in err and "Traceback" not in err


class TestOverlay:
    def test_overlay_adds_and_disables_with_reason(self) -> None:
        """A local overlay adds its rules and switches a shipped rule off; provenance records both."""
        code, out, _ = _run(
            "evaluate",
            str(EXAMPLES / "medication-bare.yaml"),
            "--rulesets",
            str(CORE),
            "--rulesets",
            str(OVERLAY),
        )
        assert code == 0
        doc = json.loads(out)
        assert [r["id"] for r in doc["provenance"]["rulesets"]] == ["core-fixture", "local-trust"]
        assert doc["provenance"]["disabled_rules"] == [{
            "rule": "core.bool", "ruleset": "core-fixture@1.2.3", "by": "local-trust@0.1.0",
            "reason": "Our record system captures the person's view elsewhere.",
        }]  # fmt: skip
        rules = {t["rule"] for t in doc["trace"]}
        assert "local.peer-offer" in rules and "core.bool" not in rules


class TestValidateTestSchema:
    def test_validate_counts_what_it_checked(self) -> None:
        """`validate` checks rulesets, rule tests and proposals and says how many of each."""
        code, out, _ = _run("validate", str(CORE), str(EXAMPLES))
        assert code == 0
        assert out.strip() == "ok: 1 rulesets, 16 rules, 1 rule test files, 3 proposals"

    def test_rule_tests_pass_and_report_counts(self) -> None:
        """`test` runs the fixture ruleset's cases and ends with the plain count line."""
        code, out, _ = _run("test", str(CORE))
        assert code == 0, out
        assert out.strip().splitlines()[-1].endswith(" passed, 0 failed; stress cases: 18 passed, 0 failed")

    def test_failing_rule_tests_exit_1(self, tmp_path: Path) -> None:
        """A case whose expectation fails, and a rule no case fires, give exit code 1 with reasons."""
        (tmp_path / "r.yaml").write_text((CORE / "core.yaml").read_text())
        (tmp_path / "r.test.yaml").write_text(
            "ruleset: core-fixture\ncases:\n  - name: wrong\n    proposal: {proposal: {activity: parkrun}}\n"
            "    fires: [core.equals]\n    known_gaps: [{rule: core.always, expected: does_not_fire, note: n}]\n"
        )
        code, out, _ = _run("test", str(tmp_path))
        assert code == 1
        assert "expected 'core.equals' to fire; it did not" in out
        assert "untested: rule 'core.one-of'" in out
        assert "known gap" in out and out.strip().endswith(
            "0 passed, 1 failed; stress cases: 18 passed, 0 failed"
        )

    @pytest.mark.parametrize("name", ["proposal", "evaluation", "ruleset", "rule-test", "scenario"])
    def test_schemas_are_json_schema(self, name: str) -> None:
        """`schema NAME` prints a valid draft 2020-12 JSON Schema that says so (`$schema`) and names
        itself (`$id`)."""
        from jsonschema import Draft202012Validator

        code, out, _ = _run("schema", name)
        schema = json.loads(out)
        assert code == 0 and schema["type"] == "object"
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"urn:riskengine:schema:{name}:v1"
        Draft202012Validator.check_schema(schema)

    def test_console_script_runs_in_a_fresh_process(self) -> None:
        """`python -m riskengine.cli` works from a clean interpreter (import-time problems show here)."""
        result = subprocess.run(
            [sys.executable, "-m", "riskengine.cli", "validate", str(EXAMPLES)],
            capture_output=True, text=True, cwd=ROOT, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("ok: 3 proposals")


def _run_with_stdin(data: bytes, *argv: str, terminal: bool = False) -> tuple[int, str, str]:
    out, err = io.StringIO(), (_Terminal() if terminal else io.StringIO())
    code = main(list(argv), stdout=out, stderr=err, stdin=_OnceOnly(data))
    return code, out.getvalue(), err.getvalue()


class _OnceOnly(io.BytesIO):
    """Standard input as a pipe is: it can be read once."""

    reads = 0

    def read(self, size: int | None = -1, /) -> bytes:
        self.reads += 1
        assert self.reads == 1, "standard input read twice"
        return super().read(size)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _line_of(text: str, words: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if words in line)


PARKRUN = EXAMPLES / "parkrun-full.yaml"
_BAD = PARKRUN.read_text(encoding="utf-8").replace("closeness: 4", "closeness: 9")


class TestStandardInput:
    def test_dash_reads_the_proposal_from_stdin_once(self) -> None:
        """`evaluate -` gives the same bytes as the file, reading standard input exactly once."""
        code, out, err = _run_with_stdin(PARKRUN.read_bytes(), "evaluate", "-", "--rulesets", str(CORE))
        assert code == 0, err
        assert out == _run("evaluate", str(PARKRUN), "--rulesets", str(CORE))[1]

    def test_errors_in_stdin_are_located_in_that_one_reading(self) -> None:
        code, _, err = _run_with_stdin(_BAD.encode(), "evaluate", "-", "--format", "text")
        line = _line_of(_BAD, "closeness: 9")
        assert code == 2 and err.startswith(f"<stdin>:{line}:16: error[") and "network[0].closeness" in err

    def test_warnings_from_stdin_are_located(self) -> None:
        text = PARKRUN.read_text(encoding="utf-8").replace("kind: friend", "kind: neighbour-ish")
        code, _, err = _run_with_stdin(
            text.encode(), "evaluate", "-", "--format", "text", "--rulesets", str(CORE)
        )
        line = _line_of(text, "kind: neighbour-ish")
        assert code == 0 and err.startswith(f"<stdin>:{line}:11: warning[open-kind]")

    def test_ecomap_validate_and_fhir_bundle_read_stdin(self, tmp_path: Path) -> None:
        data = PARKRUN.read_bytes()
        assert _run_with_stdin(data, "ecomap", "-", "-o", str(tmp_path / "m.svg"))[0] == 0
        assert (tmp_path / "m.svg").read_text(encoding="utf-8").startswith("<svg")
        code, out, _ = _run_with_stdin(data, "validate", "-", "-")
        assert code == 0 and out == "ok: 1 proposals\n"
        code, _, err = _run_with_stdin(_BAD.encode(), "validate", "-", "--format", "json")
        assert code == 2 and json.loads(err)[0]["path"] == "<stdin>"
        code, out, _ = _run_with_stdin(data, "fhir", "bundle", "-")
        assert code == 0 and json.loads(out)["resourceType"] == "Bundle"

    def test_text_that_is_not_utf8_is_located(self) -> None:
        code, _, err = _run_with_stdin(b"id: x\nname: caf\xe9\n", "evaluate", "-", "--format", "text")
        assert code == 2 and err.startswith("<stdin>:2:10: error[not-utf8] byte 0xe9 is not UTF-8"), err

    def test_dev_stdin_and_dash_in_a_real_pipe(self) -> None:
        """In a fresh process, a piped proposal reads the same through `-` and `/dev/stdin`."""
        runs = [
            subprocess.run([sys.executable, "-m", "riskengine", cmd, name], input=PARKRUN.read_bytes(),
                           capture_output=True, cwd=ROOT, check=False)
            for cmd in ("evaluate", "validate") for name in ("-", "/dev/stdin")
        ]  # fmt: skip
        assert [r.returncode for r in runs] == [0, 0, 0, 0], [r.stderr for r in runs]
        assert runs[0].stdout == runs[1].stdout and runs[2].stdout == runs[3].stdout == b"ok: 1 proposals\n"


class TestDiagnosticsFormat:
    """Errors and warnings on stderr: text for a person at a terminal, JSON when asked or for a program."""

    def test_text_on_a_terminal_by_default(self) -> None:
        code, _, err = _run_with_stdin(_BAD.encode(), "evaluate", "-", terminal=True)
        assert code == 2 and err.startswith("<stdin>:") and "error[" in err

    def test_json_when_asked_even_on_a_terminal(self) -> None:
        code, _, err = _run_with_stdin(_BAD.encode(), "evaluate", "-", "--format", "json", terminal=True)
        assert code == 2 and json.loads(err)[0]["field"] == "network[0].closeness"

    def test_json_by_default_when_stderr_is_not_a_terminal(self) -> None:
        code, _, err = _run_with_stdin(_BAD.encode(), "evaluate", "-")
        assert code == 2 and json.loads(err)[0]["path"] == "<stdin>"

    def test_text_formats_give_text_diagnostics_anywhere(self) -> None:
        for fmt in ("text", "person"):
            code, _, err = _run_with_stdin(_BAD.encode(), "evaluate", "-", "--format", fmt)
            assert code == 2 and err.startswith("<stdin>:"), fmt

    def test_validate_is_text_unless_json_is_asked(self) -> None:
        code, _, err = _run_with_stdin(_BAD.encode(), "validate", "-")
        assert code == 2 and err.startswith("<stdin>:")

    def test_warnings_follow_the_same_format(self) -> None:
        text = PARKRUN.read_text(encoding="utf-8").replace("kind: friend", "kind: neighbour-ish")
        _, _, err = _run_with_stdin(text.encode(), "evaluate", "-", "--rulesets", str(CORE))
        assert json.loads(err)[0]["code"] == "open-kind"
        _, _, err = _run_with_stdin(text.encode(), "evaluate", "-", "--rulesets", str(CORE), terminal=True)
        assert "warning[open-kind]" in err

    def test_a_real_terminal_gets_text(self) -> None:
        """Through a pseudo-terminal, as a person would run it: text, not JSON."""
        import pty

        command = [sys.executable, "-m", "riskengine", "evaluate", "-"]
        leader, follower = pty.openpty()
        try:
            done = subprocess.run(command, input=_BAD.encode(), stdout=subprocess.DEVNULL, stderr=follower,
                                  cwd=ROOT, check=False, timeout=60)  # fmt: skip
            os.close(follower)
            shown = b""
            with contextlib.suppress(OSError):
                while chunk := os.read(leader, 65536):
                    shown += chunk
        finally:
            os.close(leader)
        assert done.returncode == 2 and shown.startswith(b"<stdin>:") and not shown.startswith(b"[")


class TestPythonDashM:
    def test_python_m_riskengine_is_the_command_line(self) -> None:
        """`python -m riskengine` runs the same command line (riskengine/__main__.py)."""
        done = subprocess.run([sys.executable, "-m", "riskengine", "--version"], capture_output=True, text=True,
                              cwd=ROOT, check=False)  # fmt: skip
        assert done.returncode == 0 and done.stdout.startswith("riskengine ")
        done = subprocess.run([sys.executable, "-m", "riskengine", "validate", str(EXAMPLES)], capture_output=True,
                              text=True, cwd=ROOT, check=False)  # fmt: skip
        assert done.returncode == 0 and done.stdout.startswith("ok: 3 proposals")
