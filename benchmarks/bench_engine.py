"""Engine benchmarks for issue 2's speed and memory targets, on this machine.

    python benchmarks/bench_engine.py            # everything (about 5 minutes)
    python benchmarks/bench_engine.py --quick    # fewer runs, for a smoke check

Targets (2 cores): evaluating the full example parkrun proposal in process with all
shipped rulesets, median <= 2 ms and p99 <= 5 ms (also measured on copies whose text
differs every time, so caches keyed by text cannot flatter it); `riskengine evaluate`
cold start <= 0.8 s wall (with the parse cache filled, and empty, as on a first run); durable-rules backend time within 3x of the reference evaluator on the
same rules, side by side in one run; memory flat over 100,000 evaluations.
Results are printed and written to benchmarks/results/engine.json.
"""

from __future__ import annotations

import argparse
import copy
import gc
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

from riskengine import Engine, Proposal, load_proposal  # noqa: E402
from riskengine.read.cache import ENV  # noqa: E402
from riskengine.read.proposal_files import proposal_from_data  # noqa: E402
from riskengine.read.source import read_document  # noqa: E402
from riskengine.run.facts import build_facts  # noqa: E402

PROPOSAL = ROOT.parent / "shared" / "contract" / "examples" / "parkrun-full.yaml"
if not PROPOSAL.exists():
    PROPOSAL = ROOT / "scenarios" / "proposals" / "parkrun-with-a-friend.yaml"


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1e3, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3, 3),
        "runs": len(ordered),
    }


def _varied(runs: int) -> list[Proposal]:
    """The example with its free text changed on every copy, so no cache keyed by text can help."""
    base = read_document(PROPOSAL).data
    out = []
    for i in range(runs):
        doc = copy.deepcopy(base)
        part = doc["proposal"]
        part["goal"] = f"{part.get('goal', 'a goal')} (copy {i})"
        for concern in part.get("concerns", []):
            concern["text"] = f"{concern.get('text', 'a worry')} (copy {i})"
        for mitigation in doc.get("plan", {}).get("mitigations", []):
            mitigation["text"] = f"{mitigation['text']} (copy {i})"
        out.append(proposal_from_data(doc))
    return out


def bench_evaluate(runs: int) -> dict[str, object]:
    """Whole in-process evaluation (facts, both phases, assembly) on each backend: the same
    proposal again and again (the target's measure), and a different copy each time."""
    proposal = load_proposal(PROPOSAL)
    varied = _varied(runs)
    out: dict[str, object] = {}
    for backend in ("durable", "reference"):
        engine = Engine.from_paths(backend=backend)
        for _ in range(200):
            engine.evaluate(proposal)
        same, different = [], []
        for other in varied:  # interleaved, so load on the machine hits both alike
            start = time.perf_counter()
            engine.evaluate(proposal)
            middle = time.perf_counter()
            engine.evaluate(other)
            different.append(time.perf_counter() - middle)
            same.append(middle - start)
        out[backend] = {**_percentiles(same), "rules": len(engine.book.rules)}
        out[f"{backend}_varied_text"] = _percentiles(different)
    return out


def bench_backends(runs: int) -> dict[str, object]:
    """Backend time alone on the same program and facts, interleaved so load hits both alike."""
    proposal = load_proposal(PROPOSAL)
    facts = build_facts(proposal)
    engines = {b: Engine.from_paths(backend=b) for b in ("durable", "reference")}
    program = engines["durable"].book.program
    samples: dict[str, list[float]] = {b: [] for b in engines}
    for _ in range(runs):
        for name, engine in engines.items():
            start = time.perf_counter()
            engine.backend.run(program, facts)
            samples[name].append(time.perf_counter() - start)
    durable, reference = statistics.median(samples["durable"]), statistics.median(samples["reference"])
    return {
        "durable": _percentiles(samples["durable"]),
        "reference": _percentiles(samples["reference"]),
        "ratio_durable_to_reference": round(durable / reference, 2),
        "rules": len(program.rules),
    }


def bench_cold_start(runs: int) -> dict[str, object]:
    """Wall time of `riskengine evaluate` in a fresh process, as a user would run it: with the
    parse cache already filled (every run after the first), and with it empty (a first run)."""
    command = [sys.executable, "-m", "riskengine.cli", "evaluate", str(PROPOSAL)]
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as folder:
        warm = {**os.environ, ENV: folder}
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env=warm)
        samples: dict[str, list[float]] = {"warm_cache": [], "empty_cache": []}
        for i in range(runs):
            empty = {**os.environ, ENV: str(Path(folder) / f"empty-{i}")}
            for name, env in (("warm_cache", warm), ("empty_cache", empty)):
                start = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env=env)
                samples[name].append(time.perf_counter() - start)
    for name, found in samples.items():
        out[name] = {"median_s": round(statistics.median(found), 3), "max_s": round(max(found), 3), "runs": runs}
    return out


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_memory(evaluations: int) -> dict[str, object]:
    """Resident memory over many evaluations in one process (durable backend)."""
    proposal = load_proposal(PROPOSAL)
    engine = Engine.from_paths(backend="durable")
    for _ in range(1000):
        engine.evaluate(proposal)
    gc.collect()
    readings = [round(_rss_mib(), 2)]
    step = evaluations // 10
    for _ in range(10):
        for _ in range(step):
            engine.evaluate(proposal)
        gc.collect()
        readings.append(round(_rss_mib(), 2))
    return {
        "evaluations": evaluations,
        "rss_mib": readings,
        "growth_mib": round(readings[-1] - readings[0], 2),
        "growth_second_half_mib": round(readings[-1] - readings[5], 2),
    }


def main() -> None:
    """Run the benchmarks and report against the targets."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs, cold, memory = (300, 3, 5_000) if args.quick else (3_000, 10, 100_000)
    results = {
        "proposal": str(PROPOSAL.name),
        "evaluate": bench_evaluate(runs),
        "backends": bench_backends(runs),
        "cold_start": bench_cold_start(cold),
        "memory": bench_memory(memory),
    }
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "engine.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    ev, be = results["evaluate"]["durable"], results["backends"]  # type: ignore[index]
    varied, cold = results["evaluate"]["durable_varied_text"], results["cold_start"]  # type: ignore[index]
    print(
        f"\nevaluate (durable): median {ev['median_ms']} ms (target <= 2), p99 {ev['p99_ms']} ms (target <= 5)\n"
        f"evaluate (durable), a different copy each time: median {varied['median_ms']} ms, p99 {varied['p99_ms']} ms\n"
        f"cold start: median {cold['warm_cache']['median_s']} s with the parse cache filled, "
        f"{cold['empty_cache']['median_s']} s with it empty (target <= 0.8)\n"
        f"durable/reference backend time: {be['ratio_durable_to_reference']}x (target <= 3)\n"
        f"memory growth over {results['memory']['evaluations']} evaluations: "  # type: ignore[index]
        f"{results['memory']['growth_mib']} MiB"  # type: ignore[index]
    )


if __name__ == "__main__":
    main()
