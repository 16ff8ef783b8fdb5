"""Every shipped scenario goes round the whole loop: lint clean, every plan evaluated,
played to the end with scripted choices, and a facilitator pack in HTML and PDF.

Also: the debrief's promises (what was known then, deterministic, traceable, no grading
words in the scenarios), the scenario schema, and solo play's clean endings.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import re
import subprocess
from pathlib import Path

import pytest

from riskengine import Engine, InputError
from riskengine.cli import main
from riskengine.training import FRAMING, HAPPENED, debrief, load_scenario, parse_scenario
from riskengine.training.linting import lint
from riskengine.training.pack import render_pack, write_pack
from riskengine.training.solo import parse_choices, play

from .paths import FIXTURES, ROOT
from .test_promises import BANNED

SHIPPED = sorted((ROOT / "scenarios" / "training").glob("*.scenario.yaml"))
AS_OF = dt.date(2026, 12, 3)


def test_at_least_five_shipped_scenarios() -> None:
    """Four composite or fictional scenarios and the living-your-life exercise are shipped."""
    assert len(SHIPPED) >= 5
    assert any(p.name == "living-your-life.scenario.yaml" for p in SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
class TestShippedScenario:
    def test_lints_clean(self, path: Path) -> None:
        """No errors and no warnings."""
        assert [d.render() for d in lint(path, as_of=AS_OF)] == []

    def test_is_composite_or_fictional_with_two_decision_points(self, path: Path) -> None:
        """No real person's story, and at least two "What would you do?" points, each with a reveal and a debrief."""
        scenario = load_scenario(path)
        assert scenario.scenario.origin in {"composite", "fictional"}
        points = scenario.scenario.decision_points()
        assert len(points) >= 2
        assert all(dp.reveal is not None and dp.debrief is not None for dp in points)

    def test_every_option_and_what_happened_is_evaluated(self, path: Path, shipped: Engine) -> None:
        """Each decision point's debrief has an evaluation for every option and for what happened."""
        scenario = load_scenario(path)
        for dp in scenario.scenario.decision_points():
            result = debrief(scenario, dp.id, engine=shipped)
            keys = {p.key for p in result.plans}
            assert {o.id for o in dp.options} | {HAPPENED} <= keys
            for plan in result.plans:
                assert plan.evaluation.trace and len(plan.evaluation.principles) == 5

    def test_scripted_play_reaches_the_end(self, path: Path, shipped: Engine) -> None:
        """Playing with the first options, then the last options, reaches the closing reflection."""
        scenario = load_scenario(path)
        points = scenario.scenario.decision_points()
        for pick in (0, -1):
            text = ",".join(f"{dp.id}={dp.options[pick].id}" for dp in points)
            out = io.StringIO()
            assert play(scenario, out, choices=parse_choices(text, scenario), engine=shipped) == 0
            shown = out.getvalue()
            assert shown.rstrip().endswith("The end. Thank you for taking part.")
            assert shown.count("What the principles ask of each plan\n====") == len(points)

    def test_pack_renders_to_html_and_pdf(self, path: Path, tmp_path: Path, shipped: Engine) -> None:
        """The pack is one self-contained HTML file (nothing fetched) and a PDF made from it."""
        scenario = load_scenario(path)
        html = render_pack(scenario, engine=shipped)
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
        for dp in scenario.scenario.decision_points():
            assert f"What the principles ask of each plan: {dp.id}" in html
            assert all(o.text.replace("'", "&#x27;") in html for o in dp.options)
        for heading in ["Session plan and timings", "Prebrief and ground rules", "Option cards", "Tally sheet", "Reflection sheet"]:
            assert heading in html
        pdf = tmp_path / "pack.pdf"
        write_pack(scenario, pdf, engine=shipped)
        assert pdf.read_bytes().startswith(b"%PDF-")
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1)) >= 8  # type: ignore[union-attr]
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "Tally sheet" in text and "Reflection sheet" in text and scenario.scenario.title in text

    def test_no_grading_words(self, path: Path) -> None:
        """The scenario's own words never grade, score or colour (proposal patches use the contract's field names)."""
        text = path.read_text(encoding="utf-8")
        prose = [line for line in text.splitlines() if not re.search(r"\ballowed:", line)]
        hits = [line for line in prose if BANNED.search(line)]
        assert not hits, hits


def test_pack_text_never_grades(shipped: Engine) -> None:
    """The pack's visible words do not grade; the one framing sentence says what the debrief is not."""
    html = render_pack(load_scenario(SHIPPED[0]), engine=shipped)
    visible = re.sub(r"<style>.*?</style>|<[^>]+>", " ", html, flags=re.S)
    assert FRAMING.split(".")[0] in visible
    assert not BANNED.search(visible), BANNED.search(visible)


class TestDebrief:
    def test_is_deterministic(self, shipped: Engine) -> None:
        """The same scenario gives the same debrief, byte for byte."""
        path = ROOT / "scenarios" / "training" / "back-to-college.scenario.yaml"
        first = json.dumps(debrief(load_scenario(path), "dp1", engine=shipped).to_dict())
        again = json.dumps(debrief(load_scenario(path), "dp1", engine=shipped).to_dict())
        assert first == again

    def test_shows_what_changes_between_plans(self, shipped: Engine) -> None:
        """A plan with named steps and a plan B has them on record where the wait-and-see plan lacks them."""
        result = debrief(load_scenario(ROOT / "scenarios" / "training" / "back-to-college.scenario.yaml"), "dp1", engine=shipped)
        planning = next(r for r in result.principles if r.id == "felton.4")
        on_record_b, _ = planning.differs("b")
        _, lacking_a = planning.differs("a")
        assert any("plan B" in line for line in on_record_b)
        assert any("plan B" in line for line in lacking_a)
        pairwise = {d.section: d for d in result.diff("a", "b")}
        assert pairwise["principles"].only["b"] and pairwise["principles"].only["a"]

    def test_living_your_life_changes_with_the_legal_context(self, shipped: Engine) -> None:
        """The same parkrun is everyday when informal and not on a CTO or s17 leave; the debrief shows both."""
        result = debrief(load_scenario(ROOT / "scenarios" / "training" / "living-your-life.scenario.yaml"), "dp1", engine=shipped)
        everyday = {p.key: p.evaluation.living_your_life.everyday for p in result.plans}
        assert everyday["informal"] and not everyday["cto"] and not everyday["s17"]
        nations = debrief(load_scenario(ROOT / "scenarios" / "training" / "living-your-life.scenario.yaml"), "dp2", engine=shipped)
        assert {p.evaluation.proposal_id for p in nations.plans} == {"prop-2041"}
        knowledge = {p.key: tuple(k.id for k in p.evaluation.knowledge) for p in nations.plans if p.kind == "option"}
        assert len(set(knowledge.values())) > 1  # the nations differ in what has been checked for them

    def test_unknown_decision_point_is_a_located_error(self) -> None:
        """Asking for a decision point that is not there names the ones that are."""
        with pytest.raises(InputError, match="this scenario has: dp1, dp2"):
            debrief(load_scenario(FIXTURES / "training" / "minimal.scenario.yaml"), "dp3")


class TestPlay:
    SCENARIO = FIXTURES / "training" / "minimal.scenario.yaml"

    def test_end_of_input_stops_cleanly(self, shipped: Engine) -> None:
        """Ctrl-D ends the play with a message and exit code 0."""
        def ask(prompt: str) -> str:
            raise EOFError

        out = io.StringIO()
        assert play(load_scenario(self.SCENARIO), out, ask=ask, engine=shipped) == 0
        assert "Stopped. Nothing was saved." in out.getvalue()

    def test_ctrl_c_stops_cleanly(self, shipped: Engine) -> None:
        """Ctrl-C ends the play with a message and exit code 130, no traceback."""
        answers = iter(["", "a", ""])

        def ask(prompt: str) -> str:
            try:
                return next(answers)
            except StopIteration:
                raise KeyboardInterrupt from None

        out = io.StringIO()
        assert play(load_scenario(self.SCENARIO), out, ask=ask, engine=shipped) == 130
        assert "Stopped." in out.getvalue() and "What actually happened" in out.getvalue()

    def test_free_text_with_self_tagged_principles(self, shipped: Engine) -> None:
        """A learner's own plan is kept with the principles they tag; the debrief then shows what happened."""
        answers = iter(["", "I would ask Sam who he wants there", "1,5", "", "", "b", "", "", ""])
        out = io.StringIO()
        assert play(load_scenario(self.SCENARIO), out, ask=lambda _: next(answers), engine=shipped) == 0
        shown = out.getvalue()
        assert "Deciding together, Counting what could go well" in shown
        assert shown.rstrip().endswith("Thank you for taking part.")

    def test_bad_choices_are_errors(self) -> None:
        """--choices names every decision point, with options that exist."""
        scenario = load_scenario(self.SCENARIO)
        with pytest.raises(InputError, match="no choice given for: dp2"):
            parse_choices("dp1=a", scenario)
        with pytest.raises(InputError, match="'z' is not an option at dp1"):
            parse_choices("dp1=z,dp2=a", scenario)

    def test_command_line_play(self) -> None:
        """riskengine scenario play --choices plays through without asking."""
        out, err = io.StringIO(), io.StringIO()
        code = main(["scenario", "play", str(self.SCENARIO), "--choices", "dp1=b,dp2=a"], stdout=out, stderr=err)
        assert code == 0, err.getvalue()
        assert "> b" in out.getvalue() and "> a" in out.getvalue()


def test_scenario_schema_from_the_command_line() -> None:
    """riskengine schema scenario prints the JSON Schema, with every stable id a trainer writes."""
    out = io.StringIO()
    assert main(["schema", "scenario"], stdout=out, stderr=io.StringIO()) == 0
    schema = json.loads(out.getvalue())
    defs = schema["$defs"]
    for name in ["Stage", "DecisionPoint", "Option", "Reveal", "Fact"]:
        assert "id" in defs[name]["required"], name
    assert schema["properties"]["schema_version"]["const"] == 1
    assert not [s for s in re.findall(r'"([^"]*)"', json.dumps(schema)) if BANNED.search(s)]


def test_inline_and_file_base_proposals_are_both_read() -> None:
    """A base proposal may be inline or a file beside the scenario; both must not be given."""
    text = (FIXTURES / "training" / "minimal.scenario.yaml").read_text(encoding="utf-8")
    assert parse_scenario(text, "inline.yaml").base.id == "train-minimal"
    both = text.replace("stages:\n", "proposal_file: x.yaml\nstages:\n", 1)
    with pytest.raises(InputError, match="not both"):
        parse_scenario(both, "both.yaml")


def test_options_ids_cover_all_pairs_in_choices() -> None:
    """Every combination of choices across two decision points plays (letters work as well as ids)."""
    scenario = load_scenario(FIXTURES / "training" / "minimal.scenario.yaml")
    for first, second in itertools.product("ab", "ab"):
        assert parse_choices(f"dp1={first},dp2={second}", scenario) == {"dp1": first, "dp2": second}


class TestPackErrors:
    SCENARIO = FIXTURES / "training" / "minimal.scenario.yaml"

    def test_without_weasyprint_the_pdf_is_a_clear_error(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """If WeasyPrint cannot be imported, the command says what to install; nothing is written."""
        monkeypatch.setitem(__import__("sys").modules, "weasyprint", None)
        out, err = io.StringIO(), io.StringIO()
        target = tmp_path / "pack.pdf"
        code = main(["scenario", "pack", str(self.SCENARIO), "-o", str(target)], stdout=out, stderr=err)
        assert code == 2 and "riskengine[training]" in err.getvalue() and "no-pdf" in err.getvalue()
        assert not target.exists()

    def test_an_unwritable_target_is_a_located_error(self, tmp_path: Path) -> None:
        """Writing into a folder that does not exist names the file; no traceback."""
        out, err = io.StringIO(), io.StringIO()
        target = tmp_path / "missing" / "pack.html"
        code = main(["scenario", "pack", str(self.SCENARIO), "-o", str(target)], stdout=out, stderr=err)
        assert code == 2 and str(target) in err.getvalue() and "Traceback" not in err.getvalue()

    def test_html_pack_is_the_same_every_time(self, shipped: Engine) -> None:
        """The same scenario gives the same pack, byte for byte (no dates, no random ids)."""
        scenario = load_scenario(self.SCENARIO)
        assert render_pack(scenario, engine=shipped) == render_pack(load_scenario(self.SCENARIO), engine=shipped)


def test_validate_reads_scenario_files_as_scenarios() -> None:
    """riskengine validate over scenarios/ checks the training scenarios as scenarios, not as proposals."""
    out, err = io.StringIO(), io.StringIO()
    assert main(["validate", str(ROOT / "scenarios")], stdout=out, stderr=err) == 0, err.getvalue()
    assert f"{len(SHIPPED)} scenarios" in out.getvalue()
    bad = FIXTURES / "training" / "bad" / "circular-stage.scenario.yaml"
    assert main(["validate", str(bad)], stdout=io.StringIO(), stderr=err) == 2
    assert "error[circular-stage]" in err.getvalue()


def test_public_names_are_what_they_say_and_cost_the_cli_nothing() -> None:
    """Every name in riskengine.training.__all__ resolves to a function or class (not a module), and
    registering the scenario commands does not import the package's modules."""
    import subprocess
    import sys
    import types

    import riskengine.training as training

    for name in training.__all__:
        assert not isinstance(getattr(training, name), types.ModuleType), name
    code = "import sys, riskengine.cli as c; c._parser(); print(sorted(m for m in sys.modules if m.startswith('riskengine.training')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['riskengine.training', 'riskengine.training.commands']"


def test_no_story_text_reaches_the_parse_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shipped: Engine) -> None:
    """Loading, linting, playing and packing a scenario writes none of its words to the parse cache
    (a story may be a real person's), and neither does its proposal file."""
    from riskengine.read.cache import ENV

    cache = tmp_path / "cache"
    monkeypatch.setenv(ENV, str(cache))
    path = ROOT / "scenarios" / "training" / "living-your-life.scenario.yaml"  # its base is a proposal file
    scenario = load_scenario(path)
    lint(path, as_of=AS_OF)
    render_pack(scenario, engine=shipped)
    play(scenario, io.StringIO(), choices=parse_choices("dp1=cto,dp2=wales", scenario), engine=shipped)
    kept = [p.read_text(encoding="utf-8", errors="replace") for p in cache.rglob("*") if p.is_file()]
    for words in ["Draw a line across the room", "He lives in Northern Ireland", "get round the 5k with Jay"]:
        assert not any(words in text for text in kept), words


def test_the_debrief_shows_no_principle_marks(shipped: Engine) -> None:
    """No 'evident' / 'not yet evident' marks in the debrief's text, data or pack: side by side they read as a mark sheet."""
    from riskengine.training.text import debrief_text

    scenario = load_scenario(ROOT / "scenarios" / "training" / "back-to-college.scenario.yaml")
    result = debrief(scenario, "dp1", engine=shipped)
    marks = re.compile(r"\b(partly evident|not yet evident|evident|partly_evident|not_yet_evident)\b")
    shown = [debrief_text(result), json.dumps(result.to_dict()), render_pack(scenario, engine=shipped)]
    for text in shown:
        assert not marks.search(re.sub(r"<style>.*?</style>", "", text, flags=re.S)), marks.search(text)
