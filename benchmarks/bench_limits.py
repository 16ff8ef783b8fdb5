"""Hostile and large inputs: time and peak memory to refuse or evaluate each (issue 10, "Measure").

Each run is a fresh process that builds the engine on the shipped rulesets and evaluates one
shipped example (not timed: the engine is warm, as a service's is), then reads one proposal file and, if it is valid, evaluates it: the time is that read and evaluation,
the memory is the process's peak resident set (``resource.getrusage``'s ``ru_maxrss``) and how
far the step raised it above the peak before it. The bound to meet is 1 s and 200 MB.

    python benchmarks/bench_limits.py [--runs 5] [--backend durable]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HEAD = "schema_version: 1\nid: bench\njurisdiction: england\nas_of: 2026-11-22\n"
MIB = 1024 * 1024
WARM = Path(__file__).resolve().parent.parent / "scenarios" / "proposals" / "parkrun-with-a-friend.yaml"
SECONDS, MEGABYTES = 1.0, 200

STEP = """
import json, resource, sys, time
import riskengine
engine = riskengine.Engine.from_paths(None, backend=sys.argv[2])
engine.evaluate(riskengine.load_proposal(sys.argv[3]))  # warm, as a service's engine is
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    proposal, _ = riskengine.read_proposal(sys.argv[1])
    engine.evaluate(proposal)
    outcome = "evaluated"
except riskengine.InputError as exc:
    outcome = "refused: " + exc.diagnostics[0].code + " " + exc.diagnostics[0].message[:60]
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_kib": peak, "rise_kib": peak - before, "outcome": outcome}))
"""


def _alias_bomb() -> str:
    lines = ["  categories: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10)]
    return HEAD + "proposal:\n  activity: parkrun\n" + "".join(lines)


def _two_mib() -> str:
    """Just under 2 MiB, all of it valid: 500 concerns of 4,000 characters (the longest text allowed)."""
    words = ("the family worry about the evenings and the bus home " * 80)[:3990]
    concerns = "".join(
        f"    - kind: other\n      raised_by: family\n      text: '{words} {i}'\n" for i in range(500)
    )
    return HEAD + "proposal:\n  activity: parkrun\n  concerns:\n" + concerns


def _members(count: int) -> str:
    people = "".join(
        f"  - {{id: m{i}, kind: friend, closeness: 3, contact: weekly, knows_about_plan: true}}\n"
        for i in range(count)
    )
    return HEAD + "proposal:\n  activity: parkrun\nnetwork:\n" + people


def _long_string(chars: int) -> str:
    return HEAD + "proposal:\n  activity: parkrun\n  goal: '" + "x" * chars + "'\n"


CASES: dict[str, Callable[[], str]] = {
    "alias bomb (9 levels, 10^9 values)": _alias_bomb,
    "2 MiB proposal (500 concerns of 4,000 characters)": _two_mib,
    "500 members": lambda: _members(500),
    "10,000-character goal": lambda: _long_string(10_000),
    "4,000-character goal (the longest a text field takes)": lambda: _long_string(4_000),
}


def _run(path: Path, backend: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", STEP, str(path), backend, str(WARM)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", default="durable")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.runs} runs each; backend {args.backend}")
    with tempfile.TemporaryDirectory(prefix="bench-limits-") as folder:
        failed = False
        for name, make in CASES.items():
            path = Path(folder) / "proposal.yaml"
            path.write_text(make(), encoding="utf-8")
            runs = [_run(path, args.backend) for _ in range(args.runs)]
            seconds = sorted(float(str(r["seconds"])) for r in runs)
            peaks = sorted(int(str(r["peak_kib"])) / 1024 for r in runs)
            rises = sorted(int(str(r["rise_kib"])) / 1024 for r in runs)
            ok = seconds[-1] < SECONDS and peaks[-1] < MEGABYTES
            failed = failed or not ok
            print(
                f"{name} ({path.stat().st_size / MIB:.2f} MiB): {runs[0]['outcome']}\n"
                f"  time {statistics.median(seconds) * 1000:.1f} ms (range {seconds[0] * 1000:.1f}-{seconds[-1] * 1000:.1f}); "
                f"peak RSS {statistics.median(peaks):.0f} MiB (range {peaks[0]:.0f}-{peaks[-1]:.0f}), "
                f"raised by {statistics.median(rises):.1f} MiB (range {rises[0]:.1f}-{rises[-1]:.1f}); "
                f"{'within' if ok else 'OVER'} {SECONDS:.0f} s and {MEGABYTES} MB"
            )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
