"""Reloading changed rulesets in one process: memory and durable-rules handles per reload.

Each round writes a ruleset whose content differs (so its program is new), builds an Engine on
the durable backend and evaluates one proposal. Prints RSS growth per reload.

    python benchmarks/bench_reload.py [--reloads 400]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
from pathlib import Path

import riskengine
from riskengine.run.backends import durable

ROOT = Path(__file__).resolve().parent.parent
BACKEND = "durable"


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reloads", type=int, default=400)
    args = parser.parse_args()
    proposal = riskengine.load_proposal(ROOT / "scenarios" / "proposals" / "parkrun-with-a-friend.yaml")
    work = Path(tempfile.mkdtemp(prefix="bench-reload-"))
    try:
        shutil.copytree(ROOT / "rulesets", work / "rulesets")
        target = work / "rulesets" / "felton-2018.yaml"
        original = target.read_text(encoding="utf-8")
        samples = []
        durable.MAX_COMPILED_RULES = 10**9  # measure the memory itself, past the process's own cap
        for n in range(args.reloads):
            target.write_text(original.replace("version: ", f"# reload {n}\nversion: ", 1), encoding="utf-8")
            engine = riskengine.Engine.from_paths([work / "rulesets"], backend=BACKEND)
            engine.evaluate(proposal)
            if n in (9, args.reloads - 1):
                samples.append(
                    (n + 1, _rss_mib(), len(durable._REGISTRY.handles), len(durable._REGISTRY.programs))
                )
        (n0, rss0, h0, p0), (n1, rss1, h1, p1) = samples
        per = (rss1 - rss0) / (n1 - n0)
        print(
            f"reloads {n1}: RSS {rss0:.1f} MiB after {n0}, {rss1:.1f} MiB after {n1}: {per:.2f} MiB per reload"
        )
        print(f"live durable rulesets {h0} -> {h1}; compiled programs held {p0} -> {p1}")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
