"""Abuse on the ruleset side: each hostile ruleset is refused with a located error, in bounded
time and memory, in a process of its own (a crash or a runaway would fail the test, not CI)."""

from __future__ import annotations

import re
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

MEMORY = 1024 * 1024 * 1024  # 1 GiB of address space for the whole process
CPU_SECONDS = 60

HEAD = "id: abuse\nversion: 1.0.0\ntitle: abuse\nsources:\n  - id: s\n    title: t\nrules:\n"


def _rule(condition: str) -> str:
    return f"  - id: abuse.rule\n    source: s\n    because: x\n    when:\n{condition}    then:\n      benefit: b\n"


CASES: dict[str, Callable[[], str]] = {
    "infinite threshold": lambda: HEAD + _rule("      - proposal.concerns_count: {at_least: .inf}\n"),
    "minus infinity": lambda: HEAD + _rule("      - proposal.concerns_count: {at_most: -.inf}\n"),
    "not a number": lambda: HEAD + _rule("      - proposal.concerns_count: {is: .nan}\n"),
    "integer beyond 64 bits": lambda: (
        HEAD + _rule(f"      - proposal.concerns_count: {{at_least: {2**80}}}\n")
    ),
    "exponent float": lambda: HEAD + _rule("      - proposal.concerns_count: {at_least: 1.0e+20}\n"),
    "70,000-character term": lambda: HEAD + _rule(f"      - proposal.goal: {{mentions: {'a' * 70_000}}}\n"),
    "3,000 conditions": lambda: (
        HEAD + _rule("".join(f"      - proposal.concerns_count: {{at_least: {i}}}\n" for i in range(3000)))
    ),
    "3,000 alternatives": lambda: (
        HEAD
        + _rule(
            "      - any:\n"
            + "".join(f"          - proposal.concerns_count: {{at_least: {i}}}\n" for i in range(3000))
        )
    ),
    "10,000-deep nesting": lambda: HEAD.replace("rules:\n", "rules: " + "[" * 10_000 + "]" * 10_000 + "\n"),
    "random bytes": lambda: bytes(range(256)).decode("latin-1") * 40,
    # Issue 10 item 1: the readers' own limits, before anything is built.
    "billion laughs": lambda: (
        HEAD.replace("rules:\n", "x0: &x0 [lol]\n")
        + "".join(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 10)}]\n" for i in range(1, 10))
    ),
    "100,000-deep nesting": lambda: HEAD.replace(
        "rules:\n", "rules: " + "[" * 100_000 + "]" * 100_000 + "\n"
    ),
    "a NUL byte": lambda: HEAD + _rule("      - proposal.goal: {mentions: a\x00b}\n"),
    "17 MiB": lambda: HEAD + "# padding\n" * (17 * 1024 * 1024 // 10),
    "20,000 rules": lambda: (
        HEAD + "".join(_rule("      - proposal.concerns_count: {at_least: 1}\n") for _ in range(20_000))
    ),
}


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_hostile_ruleset_is_refused_with_a_located_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / "abuse.yaml"
    path.write_text(CASES[name](), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "riskengine", "validate", str(path)],
        capture_output=True, text=True, check=False, timeout=120, preexec_fn=_limits,
    )  # fmt: skip
    assert done.returncode == 2, (done.returncode, done.stderr[-500:])
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"{path}:") and ": error[" in first, first
    located = re.match(r"(\d+):(\d+): ", first.removeprefix(f"{path}:"))
    assert located and int(located[1]) > 0 and int(located[2]) > 0, first  # by line and column
    assert "Traceback" not in done.stderr and len(done.stderr) < 20_000


def test_one_load_reports_at_most_100_problems(tmp_path: Path) -> None:
    """500 rules each naming an unknown field: the first 100 errors in file order, then one note
    of how many more (the same cap as a proposal's)."""
    rules = "".join(
        _rule(f"      - proposal.no_such_field_{i}: {{is: 1}}\n").replace("abuse.rule", f"abuse.rule{i}")
        for i in range(500)
    )
    path = tmp_path / "abuse.yaml"
    path.write_text(HEAD + rules, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "riskengine", "validate", str(path)],
        capture_output=True, text=True, check=False, timeout=120, preexec_fn=_limits,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-500:]
    lines = done.stderr.splitlines()
    errors = [line for line in lines if line.startswith(f"{path}:") and ": error[unknown-field]" in line]
    assert len(errors) == 100 and "no_such_field_0'" in errors[0] and "no_such_field_99'" in errors[-1]
    (more,) = [line for line in lines if "error[more-problems]" in line]
    assert "400 more problems are not shown" in more
    assert len(lines) == 101
