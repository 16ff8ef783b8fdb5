"""Training benchmarks for issue 12's speed targets, on this machine.

    python benchmarks/bench_training.py            # everything (about a minute)
    python benchmarks/bench_training.py --quick    # fewer runs, for a smoke check

Targets: the engine debrief of a decision point with four options, in process with the
shipped rulesets loaded once, <= 20 ms (each of the four decision points with four options in
the shipped scenarios: each debrief evaluates the four options and what actually happened);
``riskengine scenario pack`` to PDF <= 5 s for the largest shipped scenario, measured in process
(render and WeasyPrint, engine loaded) and as the whole command from a cold start.
Results are printed and written to benchmarks/results/training.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from riskengine import Engine  # noqa: E402
from riskengine.training import debrief, load_scenario  # noqa: E402
from riskengine.training.pack import write_pack  # noqa: E402

SCENARIOS = sorted((ROOT / "scenarios" / "training").glob("*.scenario.yaml"))


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1e3, 2),
        "min_ms": round(ordered[0] * 1e3, 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1e3, 2),
        "max_ms": round(ordered[-1] * 1e3, 2),
        "runs": len(ordered),
    }


def bench_debrief(engine: Engine, runs: int) -> dict[str, object]:
    """First debrief of a freshly loaded scenario (every plan evaluated; loading not timed), its CPU
    time (what other processes on a shared machine cannot inflate as much), and a repeated debrief
    (evaluations kept in memory, as in a live room)."""
    out: dict[str, object] = {}
    for path in SCENARIOS:
        for dp_id, state in load_scenario(path).points.items():
            if len(state.decision_point.options) != 4:
                continue
            wall, cpu, again = [], [], []
            for _ in range(runs):
                scenario = load_scenario(path)
                start, start_cpu = time.perf_counter(), time.process_time()
                debrief(scenario, dp_id, engine=engine)
                wall.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
                start = time.perf_counter()
                debrief(scenario, dp_id, engine=engine)
                again.append(time.perf_counter() - start)
            out[f"{path.name.removesuffix('.scenario.yaml')}/{dp_id} ({len(state.plans)} plans)"] = {
                "first": _stats(wall), "first_cpu": _stats(cpu), "repeated": _stats(again),
            }  # fmt: skip
    return out


def _largest() -> Path:
    return max(SCENARIOS, key=lambda p: sum(len(load_scenario(p).points[d].plans) for d in load_scenario(p).points))


def bench_pack(engine: Engine, runs: int) -> dict[str, object]:
    path = _largest()
    scenario = load_scenario(path)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "pack.pdf"
        write_pack(scenario, target, engine=engine)  # warm: WeasyPrint's imports and fonts
        in_process, in_process_cpu = [], []
        for _ in range(runs):
            fresh = load_scenario(path)
            start, start_cpu = time.perf_counter(), time.process_time()
            write_pack(fresh, target, engine=engine)
            in_process.append(time.perf_counter() - start)
            in_process_cpu.append(time.process_time() - start_cpu)
        command, command_cpu = [], []
        for _ in range(max(3, runs // 2)):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "riskengine.cli", "scenario", "pack", str(path), "-o", str(target)],
                check=True, capture_output=True,
            )  # fmt: skip
            command.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            command_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        pages = subprocess.run(["pdfinfo", str(target)], check=False, capture_output=True, text=True).stdout
    return {
        "scenario": path.name,
        "pages": next((line.split()[-1] for line in pages.splitlines() if line.startswith("Pages:")), "?"),
        "in_process": _stats(in_process),
        "in_process_cpu": _stats(in_process_cpu),
        "command_cold": _stats(command),
        "command_cold_cpu": _stats(command_cpu),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    engine = Engine.from_paths()
    results_load = os.getloadavg()
    results = {
        "debrief_4_options": bench_debrief(engine, 30 if args.quick else 300),
        "pack_pdf": bench_pack(engine, 3 if args.quick else 10),
        "load_average_at_start": [round(x, 2) for x in results_load],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(results, indent=2))
    folder = ROOT / "benchmarks" / "results"
    folder.mkdir(exist_ok=True)
    (folder / "training.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
