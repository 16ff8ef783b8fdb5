"""``riskengine batch`` on this machine: proposals per second, and memory against corpus size.

    python benchmarks/bench_batch.py                    # throughput, then memory at 10^4 and 10^5
    python benchmarks/bench_batch.py --quick            # smaller counts, for a look
    python benchmarks/bench_batch.py --only memory --sizes 10000 100000 1000000
    python benchmarks/bench_batch.py --only plumbing --sizes 1000000

Every corpus is a fresh synthetic one (``riskengine synth`` with a seed not used before), so
no proposal has been seen before (batch keeps no parse cache anyway).

* ``throughput``: ``riskengine batch`` with 2 workers, NDJSON lines -> JSON lines, and a
  directory of YAML files -> JSON lines. Reported: the steady rate (proposals/s between the
  first and the last chunk written, so worker start-up is left out) and the end-to-end rate of
  the whole command (start-up included), median and range over ``--runs`` runs.
* ``memory``: the peak resident memory of the batch process, of its largest worker and of the
  whole process tree, sampled every 0.2 s, at each size. Output goes to /dev/null (10^5
  evaluations are about 5 GB of JSON); memory does not depend on where it goes.
* ``plumbing``: the same pipeline with a task that does no evaluation (it returns a short line
  per record), fed 10^6 records on stdin: the executor's own ceiling and its memory at a size
  whose evaluation would take hours here.

``--backend`` (repeatable) picks the backends measured: durable, the default, then compiled.

Target (issue 15): >= 1,000 proposals/s with 2 workers; peak memory flat from 10^4 to 10^6.
The machine is shared: the load average is printed with every figure. Results are printed and
written to benchmarks/results/batch.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import riskengine  # noqa: E402
from riskengine.batch.inputs import Item  # noqa: E402
from riskengine.batch.pipeline import run_batch  # noqa: E402
from riskengine.batch.synth import synthetic_proposal, write_corpus  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "batch.json"
PAGE = os.sysconf("SC_PAGE_SIZE")


def _load() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


def _seed() -> int:
    return int(time.time() * 1000) % 1_000_000_007


def _command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "riskengine", *map(str, args)]


def steady_rate(corpus: list[str], workers: int, backend: str) -> dict[str, Any]:
    """Proposals/s between the first and last chunk written, in this process's pipeline."""
    marks: list[tuple[float, int]] = []

    def progress(summary: Any) -> None:
        marks.append((time.perf_counter(), summary.evaluated + summary.failed))

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.ndjson"
        began = time.perf_counter()
        summary = run_batch(corpus, str(out), workers=workers, backend=backend, progress=progress)
        whole = time.perf_counter() - began
    (t0, n0), (t1, n1) = marks[0], marks[-1]
    return {
        "records": summary.evaluated + summary.failed,
        "failed": summary.failed,
        "steady_per_second": round((n1 - n0) / (t1 - t0), 1) if t1 > t0 else None,
        "run_batch_per_second": round((summary.evaluated + summary.failed) / whole, 1),
    }


def end_to_end(corpus: list[str], workers: int, backend: str) -> float:
    """Proposals/s of the whole ``riskengine batch`` command, start-up included."""
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        done = subprocess.run(
            _command("batch", *corpus, "-o", Path(tmp) / "out.ndjson", "--workers", str(workers), "--backend", backend),
            capture_output=True, check=False, cwd=ROOT,
        )  # fmt: skip
        elapsed = time.perf_counter() - began
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr.decode())
    found = re.search(rb"([\d,]+) evaluated, ([\d,]+) failed", done.stderr)
    assert found is not None, done.stderr
    records = sum(int(g.replace(b",", b"")) for g in found.groups())
    return records / elapsed


def throughput(lines: int, files: int, runs: int, workers: int, backend: str) -> dict[str, Any]:
    out: dict[str, Any] = {"workers": workers, "runs": runs, "backend": backend}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, count in (("ndjson_lines", lines), ("yaml_files", files)):
            steady, whole, loads = [], [], []
            for _ in range(runs):
                corpus = _fresh(Path(tmp), kind, count)
                loads.append(_load()[0])
                steady.append(steady_rate([str(corpus)], workers, backend)["steady_per_second"])
                whole.append(end_to_end([str(corpus)], workers, backend))
            out[kind] = {"count": count, "steady_per_second": _spread(steady), "command_per_second": _spread(whole),
                         "load_at_start": loads}  # fmt: skip
            _note(f"{kind} ({backend})", out[kind])
    return out


def _fresh(folder: Path, kind: str, count: int) -> Path:
    seed = _seed()
    if kind == "ndjson_lines":
        path = folder / f"corpus-{seed}.ndjson"
        write_corpus(str(path), count=count, seed=seed)
        return path
    import yaml

    path = folder / f"files-{seed}"
    path.mkdir()
    for index in range(count):
        text = yaml.safe_dump(synthetic_proposal(seed, index), sort_keys=False)
        (path / f"{index:06d}.yaml").write_text(text, encoding="utf-8")
    return path


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


class TreeMemory:
    """Samples the resident memory of a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_root = self.peak_worker = self.peak_total = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            sizes = _tree_rss(self.pid)
            if not sizes:
                continue
            self.samples += 1
            self.peak_root = max(self.peak_root, sizes.get(self.pid, 0))
            self.peak_worker = max([self.peak_worker, *(v for k, v in sizes.items() if k != self.pid)])
            self.peak_total = max(self.peak_total, sum(sizes.values()))

    def report(self) -> dict[str, float]:
        mb = 1 << 20
        return {"batch_process_mb": round(self.peak_root / mb, 1), "largest_worker_mb": round(self.peak_worker / mb, 1),
                "tree_mb": round(self.peak_total / mb, 1), "samples": self.samples}  # fmt: skip


def _tree_rss(root: int) -> dict[int, int]:
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * PAGE
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return {pid: rss[pid] for pid in tree if pid in rss}


def memory(sizes: list[int], workers: int, backend: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            corpus = Path(tmp) / f"corpus-{size}.ndjson"
            write_corpus(str(corpus), count=size, seed=_seed())
            load = _load()
            began = time.perf_counter()
            with open(os.devnull, "wb") as sink:
                run = subprocess.Popen(_command("batch", corpus, "-o", "-", "--workers", str(workers), "--backend", backend),
                                       stdout=sink, stderr=subprocess.PIPE, cwd=ROOT)  # fmt: skip
                with TreeMemory(run.pid) as sampler:
                    _, err = run.communicate()
            corpus.unlink()
            out[str(size)] = {**sampler.report(), "seconds": round(time.perf_counter() - began, 1),
                              "load_at_start": load, "summary": err.decode().strip().splitlines()[-1]}  # fmt: skip
            _note(f"memory {size} ({backend})", out[str(size)])
    return out


def echo_item(engines: tuple[riskengine.Engine, ...], item: Item) -> tuple[bytes, bool]:
    """The plumbing task: no evaluation, a short line naming the record."""
    return f'{{"record":1,"input":"{item.label}","id":null,"evaluation":{{}}}}\n'.encode(), True


def plumbing(sizes: list[int], workers: int) -> dict[str, Any]:
    """The pipeline with :func:`echo_item`, fed ``size`` records on stdin (a 10^4 corpus, repeated)."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        block = Path(tmp) / "block.ndjson"
        write_corpus(str(block), count=10_000, seed=_seed())
        data = block.read_bytes()
        for size in sizes:
            load = _load()
            began = time.perf_counter()
            with open(os.devnull, "wb") as sink:
                child = [sys.executable, __file__, "--child-plumbing", str(workers)]
                run = subprocess.Popen(
                    child, stdin=subprocess.PIPE, stdout=sink, stderr=subprocess.PIPE, cwd=ROOT
                )
                feeder = threading.Thread(target=_feed, args=(run, data, size), daemon=True)
                with TreeMemory(run.pid) as sampler:
                    feeder.start()
                    assert run.stderr is not None
                    err = run.stderr.read()  # while the feeder writes stdin
                    run.wait()
                feeder.join()
            elapsed = time.perf_counter() - began
            out[str(size)] = {**sampler.report(), "seconds": round(elapsed, 1), "per_second": round(size / elapsed),
                              "load_at_start": load, "summary": err.decode().strip()[-200:]}  # fmt: skip
            _note(f"plumbing {size}", out[str(size)])
    return out


def _feed(run: subprocess.Popen[bytes], data: bytes, size: int) -> None:
    assert run.stdin is not None
    lines = data.splitlines(keepends=True)
    sent = 0
    while sent < size:
        take = lines[: size - sent]
        run.stdin.write(b"".join(take))
        sent += len(take)
    run.stdin.close()


def _child_plumbing(workers: int) -> int:
    summary = run_batch(["-"], "-", workers=workers, stdin=sys.stdin.buffer, function=echo_item)
    sys.stderr.write(summary.line("-") + "\n")
    return 0


def _note(name: str, result: dict[str, Any]) -> None:
    print(f"{name}: {json.dumps(result)}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=("throughput", "memory", "plumbing"), action="append")
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", action="append", choices=("durable", "compiled", "reference"),
                        help="repeatable; default: durable (the default backend), then compiled")  # fmt: skip
    parser.add_argument("--child-plumbing", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_plumbing is not None:
        return _child_plumbing(args.child_plumbing)
    only = set(args.only or ("throughput", "memory"))
    results: dict[str, Any] = {"load_average_at_start": _load(), "cores": os.cpu_count()}
    backends = args.backend or ["durable", "compiled"]
    for backend in backends if "throughput" in only else ():
        results[f"throughput_{backend}"] = throughput(
            lines=1_000 if args.quick else 4_000, files=300 if args.quick else 1_000,
            runs=args.runs or (1 if args.quick else 3), workers=args.workers, backend=backend,
        )  # fmt: skip
    for backend in backends if "memory" in only else ():
        sizes = args.sizes or ([2_000, 10_000] if args.quick else [10_000, 100_000])
        results[f"memory_{backend}"] = memory(sizes, args.workers, backend)
    if "plumbing" in only:
        results["plumbing"] = plumbing(args.sizes or [1_000_000], args.workers)
    results["load_average_at_end"] = _load()
    print(json.dumps(results, indent=2))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
