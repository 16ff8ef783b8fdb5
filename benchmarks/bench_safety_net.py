"""Benchmark the safety-net analysis and the second evaluation phase.

Targets (issue 3): the safety-net analysis adds at most 0.5 ms (median) to an
evaluation for a 30-member network, and a 500-member network still evaluates
in at most 50 ms (median). Run from the repository root:

    .venv/bin/python benchmarks/bench_safety_net.py [--rulesets DIR_OR_FILE ...]

Every figure is wall time with the garbage collector on, as a real run has it. "Whole
evaluation" is ``Engine.evaluate`` on a proposal already read; the 500-member target is
measured on the **full pipeline**: the proposal's JSON text parsed, validated, evaluated and
written as JSON (each run on a text not seen before, with the parse cache off), with
``Engine.evaluate`` alone printed beside it. It prints medians in milliseconds and exits 1 if
a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from riskengine.analysis.safety_net import analyse
from riskengine.documents.proposal import Proposal
from riskengine.engine import Engine, default_rulesets_dir
from riskengine.errors import RiskEngineError
from riskengine.read.cache import ENV
from riskengine.read.proposal_files import parse_proposal, proposal_from_data
from riskengine.run.facts import build_facts, with_safety_net
from riskengine.run.two_phase import need_requests

KINDS = ("friend", "family", "neighbour", "peer", "partner", "key_worker", "gp", "crisis_team",
         "support_worker", "community_group", "prescriber", "helpline", "peer_support_worker")  # fmt: skip
CONTACT = ("daily", "weekly", "monthly", "less_than_monthly", "none")
STEADY = ("consistent", "on_and_off", "new", "strained")


def proposal(size: int, seed: int = 3) -> Proposal:
    """A full proposal with a ``size``-member network, links and owned mitigations."""
    return proposal_from_data(proposal_data(size, seed))


def proposal_data(size: int, seed: int = 3) -> dict[str, Any]:
    """The data of :func:`proposal`."""
    rnd = random.Random(seed)
    network = [
        {"id": f"m{i:03d}", "kind": rnd.choice(KINDS), "closeness": rnd.randint(1, 5), "contact": rnd.choice(CONTACT),
         "steadiness": rnd.choice(STEADY), "known_for_months": rnd.randint(0, 200),
         "knows_about_plan": rnd.random() < 0.6, "agreed_to_help": rnd.random() < 0.5}
        for i in range(size)
    ]  # fmt: skip
    links = sorted({tuple(sorted(rnd.sample(range(size), 2))) for _ in range(size)}) if size > 1 else []
    data: dict[str, Any] = {
        "schema_version": 1, "id": f"bench-{size}", "jurisdiction": "england", "as_of": "2026-11-22",
        "person": {"early_warning_signs": ["sleeping less"], "recent_crisis_days": 90,
                   "advance_statement": {"exists": True, "information_sharing": [
                       {"with": "m001", "allowed": False, "note": "not about money"}]}},
        "network": network,
        "links": [[f"m{a:03d}", f"m{b:03d}"] for a, b in links],
        "proposal": {"activity": "reduce_or_stop_medication", "goal": "come off it slowly with m002",
                     "concerns": [{"kind": "relapse_or_crisis", "raised_by": "practitioner"}]},
        "plan": {"mitigations": [{"text": "m002 comes with me to the GP", "owner": "m002"},
                                 {"text": "ring the duty line", "owner": "duty-team"}]},
    }  # fmt: skip
    return data


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """Median wall time in ms, with the garbage collector on (a real run has it on)."""
    fn()  # warm up
    times = []
    gc.collect()
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def full_pipeline(engine: Engine, data: dict[str, Any]) -> Callable[[], object]:
    """JSON text -> parse -> validate -> evaluate -> JSON, on a new text every run."""
    copies = itertools.count()

    def run() -> object:
        text = json.dumps({**data, "id": f"{data['id']}-{next(copies)}"})
        return engine.evaluate(parse_proposal(text, "bench.json")).to_json()

    return run


def safety_net_cost(engine: Engine, p: Proposal) -> Callable[[], object]:
    """Everything the second phase adds: the analysis, its facts, and the second-phase rules."""
    facts = build_facts(p)
    early = engine.backend.run(engine.book.program, facts)
    requests = need_requests(engine.book, facts, early)

    def run() -> object:
        result = analyse(p, requests)
        late_facts = with_safety_net(
            facts, result.safety_net, services_reachable=result.services_reachable,
            service_cut_points=len(result.service_cut_points),
        )  # fmt: skip
        return (
            engine.backend.run(engine.book.late_program, late_facts) if engine.book.late_program.rules else ()
        )

    return run


def load(paths: list[Path], backend: str) -> tuple[Engine, str]:
    try:
        return Engine.from_paths(paths, backend=backend), ", ".join(map(str, paths))
    except RiskEngineError as exc:  # other rulesets may be mid-edit: fall back to ours alone
        print(f"  (could not load {paths}: {str(exc).splitlines()[0]}; using safety-net.yaml alone)")
        ours = default_rulesets_dir() / "safety-net.yaml"
        return Engine.from_paths([ours], backend=backend), str(ours)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rulesets", action="append", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    os.environ[ENV] = ""  # no parse cache: the full pipeline reads every text afresh
    ok = True
    small, large, large_data = proposal(30), proposal(500), proposal_data(500)
    for backend in ("reference", "durable"):
        engine, where = load(args.rulesets or [default_rulesets_dir()], backend)
        print(f"{backend} backend, rulesets: {where} ({len(engine.book.rules)} rules, "
              f"{len(engine.book.late_program.rules)} in phase 2)")  # fmt: skip
        facts = build_facts(small)
        requests = need_requests(engine.book, facts, engine.backend.run(engine.book.program, facts))
        analysis = median_ms(partial(analyse, small, requests), args.runs)
        added = median_ms(safety_net_cost(engine, small), args.runs)
        whole30 = median_ms(partial(engine.evaluate, small), args.runs)
        evaluate500 = median_ms(partial(engine.evaluate, large), max(20, args.runs // 5))
        whole500 = median_ms(full_pipeline(engine, large_data), max(20, args.runs // 5))
        print(f"  30 members: safety-net analysis alone {analysis:.3f} ms median (target <= 0.5)")
        print(f"  30 members: analysis + phase-2 facts + phase-2 rules {added:.3f} ms median")
        print(f"  30 members: whole evaluation (Engine.evaluate) {whole30:.3f} ms median")
        print(f"  500 members: Engine.evaluate on the proposal already read {evaluate500:.3f} ms median")
        print(f"  500 members: full pipeline, JSON text to JSON {whole500:.3f} ms median (target <= 50)")
        ok = ok and analysis <= 0.5 and whole500 <= 50
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
