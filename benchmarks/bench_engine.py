"""Engine benchmarks for issue 2's speed and memory targets, on this machine.

    python benchmarks/bench_engine.py            # everything (about 5 minutes)
    python benchmarks/bench_engine.py --quick    # fewer runs, for a smoke check

Targets (2 cores): evaluating the full example parkrun proposal in process with all
shipped rulesets, median <= 2 ms and p99 <= 5 ms. It is measured two ways, each labelled
for what it times: ``Engine.evaluate`` on a proposal already read (facts, both phases, the
safety-net analysis, assembly; no JSON), and **end to end**, from the proposal's text to the
evaluation's JSON (parse, validate, evaluate, write), on copies whose text differs every time
so no cache keyed by text can flatter it (the parse cache is off in this process). `riskengine evaluate` cold start <= 0.8 s wall
(with the parse cache filled, and empty, as on a first run); durable-rules backend time
within 3x of the reference evaluator on the same rules and facts, **both phases** (phase 2
runs on the facts the safety-net analysis adds), side by side in one run; memory flat over
100,000 evaluations, measured in a process of its own (nothing else has run in it).
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
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from riskengine import Engine, Proposal, load_proposal  # noqa: E402
from riskengine.read.cache import ENV  # noqa: E402
from riskengine.read.proposal_files import parse_proposal, proposal_from_data  # noqa: E402
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


def _varied_docs(runs: int) -> list[dict[str, Any]]:
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
        out.append(doc)
    return out


def _varied(runs: int) -> list[Proposal]:
    return [proposal_from_data(doc) for doc in _varied_docs(runs)]


def _varied_texts(runs: int) -> list[str]:
    """The varied copies as YAML text, as a file holds them."""
    return [yaml.safe_dump(doc, sort_keys=False, allow_unicode=True) for doc in _varied_docs(runs)]


def bench_evaluate(runs: int) -> dict[str, object]:
    """``Engine.evaluate`` on a proposal already read (facts, both phases, assembly; no JSON)
    on each backend: the same proposal again and again, and a different copy each time; and
    end to end (text -> parse -> validate -> evaluate -> JSON) on a different text each time."""
    proposal = load_proposal(PROPOSAL)
    varied = _varied(runs)
    texts = _varied_texts(runs)
    out: dict[str, object] = {}
    for backend in ("durable", "reference"):
        engine = Engine.from_paths(backend=backend)
        for _ in range(200):
            engine.evaluate(proposal)
        same, different, whole = [], [], []
        for other, text in zip(varied, texts, strict=True):  # interleaved: load hits all alike
            start = time.perf_counter()
            engine.evaluate(proposal)
            middle = time.perf_counter()
            engine.evaluate(other)
            end = time.perf_counter()
            engine.evaluate(parse_proposal(text, "copy.yaml")).to_json()
            whole.append(time.perf_counter() - end)
            different.append(end - middle)
            same.append(middle - start)
        out[backend] = {**_percentiles(same), "rules": len(engine.book.rules)}
        out[f"{backend}_varied_text"] = _percentiles(different)
        out[f"{backend}_end_to_end"] = _percentiles(whole)
    return out


def bench_backends(runs: int) -> dict[str, object]:
    """Backend time alone, both phases (phase 2 on the facts the safety-net analysis adds), on
    the same programs and facts, interleaved so load hits both alike."""
    proposal = load_proposal(PROPOSAL)
    engines = {b: Engine.from_paths(backend=b) for b in ("durable", "reference")}
    book = engines["durable"].book
    facts = build_facts(proposal)
    late_facts = engines["durable"].fire(proposal)[0]  # the second phase's facts
    phases = ((book.program, facts), (book.late_program, late_facts))
    samples: dict[str, list[float]] = {b: [] for b in engines}
    by_phase: dict[str, list[float]] = {f"{b}_{n}": [] for b in engines for n in ("phase_1", "phase_2")}
    for _ in range(runs):
        for name, engine in engines.items():
            start = time.perf_counter()
            engine.backend.run(*phases[0])
            middle = time.perf_counter()
            engine.backend.run(*phases[1])
            end = time.perf_counter()
            samples[name].append(end - start)
            by_phase[f"{name}_phase_1"].append(middle - start)
            by_phase[f"{name}_phase_2"].append(end - middle)
    durable, reference = statistics.median(samples["durable"]), statistics.median(samples["reference"])
    return {
        "durable": _percentiles(samples["durable"]),
        "reference": _percentiles(samples["reference"]),
        "ratio_durable_to_reference": round(durable / reference, 2),
        **{
            f"ratio_{n}": round(
                statistics.median(by_phase[f"durable_{n}"]) / statistics.median(by_phase[f"reference_{n}"]), 2
            )
            for n in ("phase_1", "phase_2")
        },
        "phases": {name: _percentiles(found) for name, found in by_phase.items()},
        "rules": len(book.program.rules) + len(book.late_program.rules),
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
        out[name] = {
            "median_s": round(statistics.median(found), 3),
            "max_s": round(max(found), 3),
            "runs": runs,
        }
    return out


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_memory(evaluations: int) -> dict[str, object]:
    """Resident memory over many evaluations (durable backend), in a fresh process of its own."""
    command = [sys.executable, str(Path(__file__).resolve()), "--memory-only", str(evaluations)]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    found: dict[str, object] = json.loads(done.stdout)
    return found


def _memory_here(evaluations: int) -> dict[str, object]:
    """Resident memory over many evaluations in this process: call it in a process of its own."""
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
    parser.add_argument("--memory-only", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_only:  # the memory measure's own process (see bench_memory)
        print(json.dumps(_memory_here(args.memory_only)))
        return
    runs, cold, memory = (300, 3, 5_000) if args.quick else (3_000, 10, 100_000)
    os.environ[ENV] = ""  # in this process, no parse cache: end to end reads every text afresh
    results: dict[str, Any] = {
        "proposal": str(PROPOSAL.name),
        "evaluate": bench_evaluate(runs),
        "backends": bench_backends(runs),
        "cold_start": bench_cold_start(cold),
        "memory": bench_memory(memory),
    }
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "engine.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    ev, be = results["evaluate"]["durable"], results["backends"]
    varied, cold = results["evaluate"]["durable_varied_text"], results["cold_start"]
    whole = results["evaluate"]["durable_end_to_end"]
    print(
        f"\nevaluate() on a proposal already read, no JSON (durable): median {ev['median_ms']} ms "
        f"(target <= 2), p99 {ev['p99_ms']} ms (target <= 5)\n"
        f"the same, a different copy each time: median {varied['median_ms']} ms, p99 {varied['p99_ms']} ms\n"
        f"end to end, text -> JSON, a different text each time (durable): median {whole['median_ms']} ms "
        f"(target <= 2), p99 {whole['p99_ms']} ms (target <= 5)\n"
        f"cold start: median {cold['warm_cache']['median_s']} s with the parse cache filled, "
        f"{cold['empty_cache']['median_s']} s with it empty (target <= 0.8)\n"
        f"durable/reference backend time, both phases: {be['ratio_durable_to_reference']}x (target <= 3; "
        f"phase 1 {be['ratio_phase_1']}x, phase 2 {be['ratio_phase_2']}x)\n"
        f"memory growth over {results['memory']['evaluations']} evaluations, in a process of its own: "
        f"{results['memory']['growth_mib']} MiB"
    )


if __name__ == "__main__":
    main()
