"""Bad scenarios get located errors and warnings, pinned by golden files.

Each ``tests/fixtures/training/bad/<name>.scenario.yaml`` has ``<name>.lint.txt`` (what a
trainer sees) and ``<name>.lint.json`` (what a machine reads) beside it, from
``riskengine scenario lint --as-of 2026-12-03``. A missing golden fails; regenerate on purpose
with ``pytest tests/test_training_errors.py --regen-goldens`` and review the diff.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pytest

from riskengine import InputError
from riskengine.cli import main
from riskengine.training import load_scenario

from .paths import FIXTURES, ROOT

BAD = sorted((FIXTURES / "training" / "bad").glob("*.scenario.yaml"))
AS_OF = "2026-12-03"


def _lint(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        code = main(["scenario", "lint", "--as-of", AS_OF, *argv], stdout=out, stderr=err)
    finally:
        os.chdir(cwd)
    return code, out.getvalue(), err.getvalue()


def _golden(path: Path, suffix: str, actual: str, request: pytest.FixtureRequest) -> str:
    golden = path.with_name(path.name.removesuffix(".scenario.yaml") + suffix)
    if request.config.getoption("--regen-goldens"):
        golden.write_text(actual, encoding="utf-8")
    assert golden.exists(), f"no golden {golden.name}: run pytest --regen-goldens and review the diff"
    return golden.read_text(encoding="utf-8")


def _has_errors(path: Path) -> bool:
    return path.name != "warnings.scenario.yaml"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_text_lint_matches_golden(path: Path, request: pytest.FixtureRequest) -> None:
    """Every problem is one line, path:line:col: severity[code] field: message, located in the scenario file."""
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code, _, err = _lint(str(path.relative_to(ROOT)))
    assert err == _golden(path, ".lint.txt", err, request)
    assert "Traceback" not in err and err.strip()
    assert code == (2 if _has_errors(path) else 0)
    for line in err.splitlines():
        where = line.split(": ", 1)[0]
        assert where.startswith(str(path.relative_to(ROOT)) + ":"), (
            line
        )  # in the scenario file, with line:col
        assert int(where.split(":")[-2]) > 0, line
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # lint never rewrites a file


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_json_lint_matches_golden(path: Path, request: pytest.FixtureRequest) -> None:
    """With --format json the same problems come as data with path, line, column, code and field."""
    code, _, err = _lint("--format", "json", str(path.relative_to(ROOT)))
    assert err == _golden(path, ".lint.json", err, request)
    assert code == (2 if _has_errors(path) else 0)
    found = json.loads(err)
    assert found and all(
        d["line"] > 0 and d["code"] and (d["field"] or d["code"] == "yaml-syntax") for d in found
    )


@pytest.mark.parametrize(
    "path",
    [p for p in BAD if _has_errors(p) and "consent" not in p.name and "seed" not in p.name],
    ids=lambda p: p.name,
)
def test_loading_refuses_what_lint_calls_an_error(path: Path) -> None:
    """load_scenario raises InputError with located diagnostics for a scenario with structural errors."""
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert all(d.location.line > 0 for d in caught.value.diagnostics)


def test_warnings_fail_under_strict() -> None:
    """--strict turns warnings into a failing exit code (for CI over a trainer's own folder)."""
    warnings = FIXTURES / "training" / "bad" / "warnings.scenario.yaml"
    code, _, _ = _lint("--strict", str(warnings.relative_to(ROOT)))
    assert code == 2


def test_an_option_error_points_at_the_option_patch() -> None:
    """An option whose plan is not a valid proposal is reported at the line of the bad value in its patch."""
    path = FIXTURES / "training" / "bad" / "option-invalid-proposal.scenario.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    by_field = {d.field: d for d in caught.value.diagnostics}
    assert "sectioned" in lines[by_field["person.legal_context"].location.line - 1]
    assert "closeness: 9" in lines[by_field["network[0].closeness"].location.line - 1]
    assert "soon" in lines[by_field["plan.review_on"].location.line - 1]


def _minimal() -> dict[str, object]:
    import yaml

    data: dict[str, object] = yaml.safe_load(
        (FIXTURES / "training" / "minimal.scenario.yaml").read_text(encoding="utf-8")
    )
    return data


def _codes(data: dict[str, object]) -> list[str]:
    import datetime as dt

    from riskengine.training._core import SourceMap
    from riskengine.training.linting import lint_data

    found = lint_data(data, SourceMap("<test>"), base_dir=FIXTURES / "training", as_of=dt.date(2026, 12, 3))
    return [d.code for d in found]


def test_a_real_name_is_accepted_with_consent_and_a_full_name_credit() -> None:
    """A seed person may be named when the story is theirs, told with in-date consent, credited by full name."""
    data = _minimal()
    stages = data["stages"]
    assert isinstance(stages, list)
    stages[0]["text"] = "Leanne Winfield tells this part herself."
    assert "seed-name" in _codes(data)
    data["origin"] = "real_with_consent"
    data["credits"] = [{"role": "storyteller", "display": "full_name", "name": "Leanne Winfield"}]
    data["consent"] = {"reference": "log 3", "scope": ["text_without_storyteller"], "granted": "2026-01-01",
                       "review_by": "2027-01-01", "withdrawal_contact": "the lead"}  # fmt: skip
    assert "seed-name" not in _codes(data) and "consent-expired" not in _codes(data)
    data["credits"] = [{"role": "storyteller", "display": "initials", "name": "L.W."}]
    assert "seed-name" in _codes(data)  # she asked for initials: her full name may not appear


def test_consent_scope_must_cover_how_a_reveal_is_told() -> None:
    """A reveal told live by the storyteller needs consent for live telling; a real story needs consent at all."""
    data = _minimal()
    data["origin"] = "real_with_consent"
    assert "no-consent" in _codes(data)
    data["consent"] = {"reference": "log 3", "scope": ["text_without_storyteller"], "granted": "2026-01-01",
                       "review_by": "2027-01-01", "withdrawal_contact": "the lead"}  # fmt: skip
    stages = data["stages"]
    assert isinstance(stages, list)
    stages[1]["decision_point"]["reveal"]["delivery"] = "storyteller_live"
    assert "outside-consent" in _codes(data)
    data["consent"]["scope"] = ["live_with_storyteller", "text_without_storyteller"]  # type: ignore[index]
    assert "outside-consent" not in _codes(data)


def test_a_hostile_scenario_is_refused_within_the_limits(tmp_path: Path) -> None:
    """A scenario is read within the same limits as a ruleset: a billion-laughs alias bomb is one
    located too-large error, at once, not minutes of expansion."""
    bomb = tmp_path / "bomb.scenario.yaml"
    lines = ["x0: &x0 [lol]"] + [f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 10)}]" for i in range(1, 10)]
    bomb.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = _lint(str(bomb))
    assert code == 2, err
    assert f"{bomb}:" in err and "error[too-large]" in err and "alias" in err, err
