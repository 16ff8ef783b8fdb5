"""How far evaluation is from the cost of deciding which rules fire (issue 15's 4x target).

    python benchmarks/bench_floor.py              # 15 rounds over every shipped proposal
    python benchmarks/bench_floor.py --rounds 5   # a quicker look

The **floor** is the straight-line Python function the ``compiled`` backend generates from the
compiled rules (the rule IR every backend runs), called bare: one ``if`` per rule, its tests
written out inline, a loop over the items of its scope, nothing else. Before timing anything, the benchmark checks that it
fires exactly like every backend, in both phases, on every shipped proposal and fixture
(``scenarios/proposals``, ``tests/fixtures/examples``, ``tests/fixtures/activities``); it
exits 1 if not. Then, side by side in one run (each round visits every proposal and times
every measure on it, so load on the machine hits them alike), per proposal:

* ``floor``: the generated function, both phases, on facts already derived;
* ``reference``, ``durable`` and ``compiled``: each backend's ``run``, both phases, on the
  same facts (``compiled`` is the floor inside the backend interface);
* ``evaluate_<backend>``: ``Engine.evaluate`` on a proposal already read (facts, both
  phases, the safety-net analysis, assembly), on each backend;
* ``file_to_json`` (durable) and ``file_to_json_compiled``: a copy of the proposal file (its first line rewritten before each timing,
  so its text was never seen before; the parse cache is off) read, validated, evaluated
  (durable) and written as JSON.

It prints the median over rounds of the mean time per proposal, the range over rounds, and
each measure's ratio to the floor (target: ``evaluate`` within 4x). ``--clock cpu`` times by
the process's CPU time instead of the wall clock: on a loaded machine, being preempted inflates
short measures (the floor) and long ones unevenly, and CPU time does not count it. Results also go to
benchmarks/results/floor.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from riskengine import Engine, Proposal  # noqa: E402
from riskengine.analysis.safety_net import analyse  # noqa: E402
from riskengine.read.cache import ENV  # noqa: E402
from riskengine.read.proposal_files import read_proposal  # noqa: E402
from riskengine.rules.ir import Firing, Program  # noqa: E402
from riskengine.run.backends.compiled import compile_program, program_source  # noqa: E402
from riskengine.run.facts import FactSet, build_facts, with_safety_net  # noqa: E402
from riskengine.run.two_phase import need_requests  # noqa: E402

Floor = Callable[[dict[str, Any], dict[str, list[dict[str, Any]]]], list[Firing]]


def shipped_proposals() -> list[Path]:
    """Every shipped proposal and proposal fixture."""
    fixtures = ROOT / "tests" / "fixtures"
    activities = [p for p in (fixtures / "activities").rglob("*.yaml") if not p.name.endswith(".expect.yaml")]
    return [
        *sorted((ROOT / "scenarios" / "proposals").glob("*.yaml")),
        *sorted((fixtures / "examples").glob("*.yaml")),
        *sorted(activities),
    ]


# --- the floor ------------------------------------------------------------------------------


def generate_floor(program: Program) -> tuple[str, Floor]:
    """The straight-line function for ``program`` (the compiled backend's, called bare) and its source."""
    return program_source(program)[0], compile_program(program)


# --- the check -----------------------------------------------------------------------------


class _Case:
    """One proposal with its facts for both phases, derived once."""

    def __init__(self, path: Path, engine: Engine) -> None:
        self.path = path
        self.text = path.read_text(encoding="utf-8")
        self.copy = path  # file_to_json's own copy, rewritten before each timing (see measure)
        self.copies = 0
        self.proposal: Proposal = read_proposal(path)[0]
        book, backend = engine.book, engine.backend
        self.facts = build_facts(self.proposal)
        early = backend.run(book.program, self.facts)
        found = analyse(self.proposal, need_requests(book, self.facts, early))
        self.late_facts = with_safety_net(
            self.facts,
            found.safety_net,
            services_reachable=found.services_reachable,
            service_cut_points=len(found.service_cut_points),
        )


def _fires(run: Callable[[Program, FactSet], Any], engine: Engine, case: _Case) -> tuple[list[Firing], ...]:
    return (
        list(run(engine.book.program, case.facts)),
        list(run(engine.book.late_program, case.late_facts)),
    )


def cases_of(paths: list[Path], engine: Engine) -> list[_Case]:
    """The proposals at ``paths``, read, with their facts for both phases."""
    return [_Case(path, engine) for path in paths]


def check(engines: dict[str, Engine], floors: tuple[Floor, Floor], cases: list[_Case]) -> list[str]:
    """Where the floor fires differently from a backend (empty when it never does)."""
    problems = []
    early, late = floors
    for case in cases:
        mine = (
            early(case.facts.case, case.facts.items),
            late(case.late_facts.case, case.late_facts.items),
        )
        for name, engine in engines.items():
            if _fires(engine.backend.run, engine, case) != mine:
                problems.append(f"{case.path.relative_to(ROOT)}: the floor and {name} differ")
    return problems


# --- the measures --------------------------------------------------------------------------


def measures(engines: dict[str, Engine], floors: tuple[Floor, Floor]) -> dict[str, Callable[[_Case], object]]:
    """Each measure, as a function of one proposal."""
    early, late = floors
    durable, reference, compiled = engines["durable"], engines["reference"], engines["compiled"]

    def floor(c: _Case) -> object:
        return early(c.facts.case, c.facts.items), late(c.late_facts.case, c.late_facts.items)

    def backend(engine: Engine) -> Callable[[_Case], object]:
        run, book = engine.backend.run, engine.book
        return lambda c: (run(book.program, c.facts), run(book.late_program, c.late_facts))

    def file_to_json(c: _Case) -> object:
        return durable.evaluate(read_proposal(c.copy)[0]).to_json()

    return {
        "floor": floor,
        "reference": backend(reference),
        "durable": backend(durable),
        "compiled": backend(compiled),
        "evaluate_reference": lambda c: reference.evaluate(c.proposal),
        "evaluate_durable": lambda c: durable.evaluate(c.proposal),
        "evaluate_compiled": lambda c: compiled.evaluate(c.proposal),
        "file_to_json": file_to_json,
        "file_to_json_compiled": lambda c: compiled.evaluate(read_proposal(c.copy)[0]).to_json(),
    }


def _new_copy(case: _Case) -> None:
    """Rewrite the proposal's copy with a new first line, so its text was never seen before."""
    case.copies += 1
    case.copy.write_text(f"# copy {case.copies}\n{case.text}", encoding="utf-8")


def measure(
    timed: dict[str, Callable[[_Case], object]],
    cases: list[_Case],
    rounds: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """Median and range over rounds of the mean time per proposal, in ms, and the ratio to the floor."""
    for fn in timed.values():  # warm up
        for case in cases:
            fn(case)
    samples: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(rounds):
        totals = dict.fromkeys(timed, 0.0)
        for case in cases:
            _new_copy(case)
            for name, fn in timed.items():
                start = clock()
                fn(case)
                totals[name] += clock() - start
        for name, total in totals.items():
            samples[name].append(total / len(cases) * 1e3)
    floor = statistics.median(samples["floor"])
    return {
        name: {
            "median_ms": round(statistics.median(found), 4),
            "range_ms": [round(min(found), 4), round(max(found), 4)],
            "ratio_to_floor": round(statistics.median(found) / floor, 2),
        }
        for name, found in samples.items()
    }


def main() -> int:
    """Check the floor, then time every measure side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--show-source", action="store_true", help="print the generated floor")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="cpu: this process's CPU time, which a loaded machine's preemption does not inflate",
    )
    args = parser.parse_args()
    os.environ[ENV] = ""  # no parse cache: every file is read as new
    engines = {name: Engine.from_paths(backend=name) for name in ("durable", "reference", "compiled")}
    book = engines["durable"].book
    (early_text, early), (late_text, late) = generate_floor(book.program), generate_floor(book.late_program)
    if args.show_source:
        print(early_text + late_text)
    cases = cases_of(shipped_proposals(), engines["durable"])
    folder = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    for i, case in enumerate(cases):
        case.copy = folder / f"{i}-{case.path.name}"
        _new_copy(case)
    problems = check(engines, (early, late), cases)
    rules = len(book.program.rules) + len(book.late_program.rules)
    print(f"{len(cases)} proposals, {rules} rules: the floor fires like every backend on "
          f"{len(cases) - len(problems)} of {len(cases)}")  # fmt: skip
    for problem in problems:
        print("  " + problem)
    if problems:
        return 1
    try:
        clock = time.process_time if args.clock == "cpu" else time.perf_counter
        results = measure(measures(engines, (early, late)), cases, args.rounds, clock)
    finally:
        shutil.rmtree(folder)
    load = Path("/proc/loadavg").read_text(encoding="ascii").split()[:3]
    print(
        f"per proposal, {args.clock} time, median of {args.rounds} rounds [range], load average {' '.join(load)}:"
    )
    for name, found in results.items():
        low, high = found["range_ms"]
        print(
            f"  {name:20s} {found['median_ms']:8.3f} ms  [{low:.3f}-{high:.3f}]  {found['ratio_to_floor']:6.2f}x floor"
        )
    for backend in ("durable", "reference", "compiled"):
        ratio = results[f"evaluate_{backend}"]["ratio_to_floor"]
        print(f"evaluate ({backend}) is {ratio}x the floor (target <= 4)")
    out = {"proposals": len(cases), "rules": rules, "rounds": args.rounds, "clock": args.clock,
           "load_average": load, **results}  # fmt: skip
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "floor.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
