"""``riskengine impact`` end to end, and the Dask path against the local pool (issue 15).

    python benchmarks/bench_impact.py                      # every measure, default sizes
    python benchmarks/bench_impact.py --only impact --count 100000
    python benchmarks/bench_impact.py --only dask --dask-count 4000
    python benchmarks/bench_impact.py --only costs         # the figures docs/batch.md projects from

Measures, each end to end from the corpus file to the written report or output file:

* ``impact``: ``riskengine impact`` (2 worker processes) of a synthetic corpus between the
  shipped rulesets plus the test overlay before and after its one change. Target: 10^5
  proposals in under 5 minutes.
* ``dask``: the same ``riskengine batch`` on the local process pool and on ``--dask local:2``
  (cluster start-up timed apart: a real cluster is already running). Target: Dask time
  within 1.5x of the pool's.
* ``costs``: what the projection in docs/batch.md is made of: a proposal's cost in one
  worker (read, evaluate, JSON), the client's cost per result (receive, write), and the
  cluster's cost per chunk (a task doing nothing, round trip through the scheduler).

Every run prints the load average beside its figures: on a shared machine they move with it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import riskengine  # noqa: E402
from riskengine.batch.dask import DaskExecutor  # noqa: E402
from riskengine.batch.executor import InlineExecutor, RulesetSpec, Task  # noqa: E402
from riskengine.batch.inputs import Item, iter_items  # noqa: E402
from riskengine.batch.pipeline import run_batch  # noqa: E402
from riskengine.batch.synth import write_corpus  # noqa: E402

OVERLAY = ROOT / "tests" / "fixtures" / "impact"
SHIPPED = str(riskengine.default_rulesets_dir())


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _corpus(folder: Path, count: int, seed: int) -> Path:
    target = folder / f"corpus-{count}-{seed}.ndjson"
    if not target.exists():
        started = time.monotonic()
        write_corpus(str(target), count=count, seed=seed)
        print(f"  (synth {count:,} proposals in {time.monotonic() - started:.0f} s)")
    return target


def bench_impact(folder: Path, count: int, backend: str) -> dict[str, Any]:
    corpus = _corpus(folder, count, 11)
    report = folder / "impact.json"
    command = [sys.executable, "-m", "riskengine", "impact", "--workers", "2", "--backend", backend,
               "--before", SHIPPED, "--before", str(OVERLAY / "before"),
               "--after", SHIPPED, "--after", str(OVERLAY / "after"),
               str(corpus), "--json", str(report), "--markdown", str(folder / "impact.md")]  # fmt: skip
    load = _load()
    started = time.monotonic()
    subprocess.run(command, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = time.monotonic() - started
    summary = json.loads(report.read_text())["summary"]
    assert summary["proposals"] == count
    return {"measure": "impact", "backend": backend, "proposals": count, "seconds": round(seconds, 1),
            "per_second": round(count / seconds), "changed": summary["changed"]["proposals"],
            "target": "10^5 in < 300 s", "load_before": load, "load_after": _load()}  # fmt: skip


def bench_dask(folder: Path, count: int, repeats: int) -> dict[str, Any]:
    corpus = _corpus(folder, count, 5)
    pool_times: list[float] = []
    dask_times: list[float] = []
    started = time.monotonic()
    with DaskExecutor("local:2") as dask:
        startup = time.monotonic() - started
        run_batch([str(corpus)], str(folder / "warm.ndjson"), executor=dask)  # engines loaded once
        for _ in range(repeats):
            for name, times, executor in (("pool", pool_times, None), ("dask", dask_times, dask)):
                out = folder / f"{name}.ndjson"
                out.unlink(missing_ok=True)
                t = time.monotonic()
                if executor is None:
                    run_batch([str(corpus)], str(out), workers=2)
                else:
                    run_batch([str(corpus)], str(out), executor=executor)
                times.append(time.monotonic() - t)
    assert (folder / "pool.ndjson").read_bytes() == (folder / "dask.ndjson").read_bytes()
    ratios = [d / p for d, p in zip(dask_times, pool_times, strict=True)]
    return {"measure": "dask vs pool (batch, 2 workers)", "proposals": count,
            "pool_s": _spread(pool_times), "dask_s": _spread(dask_times), "ratio": _spread(ratios),
            "cluster_start_s": round(startup, 1), "target": "ratio <= 1.5", "load": _load()}  # fmt: skip


def _noop(engines: tuple[riskengine.Engine, ...], item: Item) -> int:
    return len(item.text)


def _cpu() -> float:
    return time.process_time()


def _workers_cpu(dask: DaskExecutor) -> float:
    return float(sum(dask.client.run(_cpu).values()))


def bench_costs(folder: Path, count: int) -> dict[str, Any]:
    """CPU seconds (less moved by the load than wall time) per proposal and per chunk."""
    from riskengine.batch.impact import impact_item
    from riskengine.batch.pipeline import evaluate_item

    corpus = _corpus(folder, count, 5)
    spec = RulesetSpec.of(None)
    items = list(iter_items([str(corpus)]))
    batch: Task[Any] = Task(evaluate_item, (spec,))
    change: Task[Any] = Task(
        impact_item,
        (RulesetSpec.of([SHIPPED, OVERLAY / "before"]), RulesetSpec.of([SHIPPED, OVERLAY / "after"])),
    )
    figures: dict[str, Any] = {"measure": "costs (CPU ms)", "proposals": len(items), "load_before": _load()}
    for name, task in (("batch", batch), ("impact", change)):
        list(InlineExecutor().map_ordered(task, items[:50]))  # warm: engines loaded
        t = _cpu()
        list(InlineExecutor().map_ordered(task, items))
        figures[f"{name}_ms_per_proposal"] = round((_cpu() - t) / len(items) * 1000, 2)
    figures["output_bytes_per_proposal"] = round(
        statistics.mean(len(line) for line, _ in _lines(batch, items))
    )
    with DaskExecutor("local:2", chunk_items=1, in_flight=8) as dask:
        noop = Task(_noop, (spec,))
        list(dask.map_ordered(noop, items[:20]))
        t, w = _cpu(), _workers_cpu(dask)
        list(dask.map_ordered(noop, items))
        figures["chunk_ms_client_and_scheduler"] = round((_cpu() - t) / len(items) * 1000, 2)
        figures["chunk_ms_workers"] = round((_workers_cpu(dask) - w) / len(items) * 1000, 2)
        dask.chunk_items = 64
        for name, task in (("batch", batch), ("impact", change)):
            list(dask.map_ordered(task, items[:64]))
            t = _cpu()
            list(dask.map_ordered(task, items))
            figures[f"{name}_ms_per_proposal_client_and_scheduler"] = round(
                (_cpu() - t) / len(items) * 1000, 3
            )
    figures["load_after"] = _load()
    return figures


def _lines(task: Task[Any], items: list[Item]) -> list[tuple[str, bool]]:
    """The batch output lines of ``items`` (for their size)."""
    return list(InlineExecutor().map_ordered(task, items[:200]))


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("impact", "dask", "costs"))
    parser.add_argument("--count", type=int, default=100_000, help="impact corpus size")
    parser.add_argument("--dask-count", type=int, default=4_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="a folder to keep corpora in between runs")
    parser.add_argument("--backend", action="append", choices=("durable", "compiled", "reference"),
                        help="impact's backends, repeatable (default: durable, then compiled)")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        if args.only in (None, "costs"):
            print(json.dumps(bench_costs(folder, 1_000)))
        if args.only in (None, "dask"):
            print(json.dumps(bench_dask(folder, args.dask_count, args.repeats)))
        if args.only in (None, "impact"):
            for backend in args.backend or ["durable", "compiled"]:
                print(json.dumps(bench_impact(folder, args.count, backend)), flush=True)


if __name__ == "__main__":
    main()
