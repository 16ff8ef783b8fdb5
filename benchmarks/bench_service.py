"""Load on the real ``riskengine serve`` over loopback: throughput, latency, memory, batch, CDS.

    python benchmarks/bench_service.py                 # every measure, default sizes
    python benchmarks/bench_service.py --quick         # smaller counts, for a look
    python benchmarks/bench_service.py --only rest --requests 20000

The load generator is a small asyncio HTTP/1.1 client on keep-alive connections (prebuilt
request bytes, Content-Length framing), so it costs the shared 2 cores far less than a full
HTTP client would; it still shares them with the server, which the figures include. Targets
(issue 14): >= 500 evaluations/s with 2 workers and p99 <= 25 ms; CDS hook p99 <= 50 ms;
100,000 requests with zero errors and flat memory; batch NDJSON >= 1,000 proposals/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.service_harness import Server  # noqa: E402
from tests.test_service_cds import load_bundle, prefetch_of  # noqa: E402

PARKRUN = ROOT / "scenarios" / "proposals" / "parkrun-with-a-friend.yaml"


def _request(path: str, body: bytes, content_type: str) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")  # fmt: skip
    return head.encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def _load(port: int, make: Callable[[int], bytes], total: int, connections: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def one_connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for n in counter:
                start = time.perf_counter()
                status = await _exchange(reader, writer, make(n))
                latencies.append(time.perf_counter() - start)
                errors += status != 200
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "errors": errors,
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def _rss_mib(server: Server) -> float:
    """Resident memory of the server and its workers, MiB."""
    assert server.process is not None
    total = 0
    for pid in [server.process.pid, *server.worker_pids()]:
        with contextlib.suppress(FileNotFoundError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return round(total / 1024, 1)


def in_process(seconds: float = 5.0) -> dict[str, Any]:
    """The same work in this process with no server (parse the JSON text, evaluate, to_json): the
    baseline the service's figures are to be read against on a shared machine."""
    import riskengine

    engine = riskengine.Engine.from_paths()
    text = json.dumps(yaml.safe_load(PARKRUN.read_text(encoding="utf-8")), default=str)
    engine.evaluate(riskengine.parse_proposal(text, "request.json"))
    times: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        engine.evaluate(riskengine.parse_proposal(text, "request.json")).to_json()
        times.append(time.perf_counter() - start)
    times.sort()
    return {
        "per_second": round(len(times) / sum(times), 1),
        "p50_ms": round(times[len(times) // 2] * 1000, 2),
    }


def rest(server: Server, total: int, connections: int) -> dict[str, Any]:
    body = json.dumps(yaml.safe_load(PARKRUN.read_text(encoding="utf-8")), default=str).encode()
    request = _request("/v1/evaluations", body, "application/json")
    asyncio.run(_load(server.port, lambda n: request, 300, connections))  # warm-up
    return asyncio.run(_load(server.port, lambda n: request, total, connections))


def soak(server: Server, total: int, connections: int, samples: int = 10) -> dict[str, Any]:
    """``total`` requests in ``samples`` rounds, memory read after each."""
    body = json.dumps(yaml.safe_load(PARKRUN.read_text(encoding="utf-8")), default=str).encode()
    request = _request("/v1/evaluations", body, "application/json")
    memory, errors, rates = [_rss_mib(server)], 0, []
    for _ in range(samples):
        result = asyncio.run(_load(server.port, lambda n: request, total // samples, connections))
        errors += result["errors"] + (total // samples - result["requests"])
        rates.append(result["per_second"])
        memory.append(_rss_mib(server))
    return {
        "requests": total,
        "errors": errors,
        "rss_mib": memory,
        "per_second_median": statistics.median(rates),
    }


def cds(server: Server, total: int, connections: int) -> dict[str, Any]:
    patient, prefetch = prefetch_of(load_bundle("england-parkrun"))

    def make(n: int) -> bytes:
        body = {"hook": "patient-view", "hookInstance": str(uuid.UUID(int=n)),
                "context": {"userId": "Practitioner/kw", "patientId": patient}, "prefetch": prefetch}  # fmt: skip
        return _request("/cds-services/riskengine-plan-review", json.dumps(body).encode(), "application/json")

    asyncio.run(_load(server.port, make, 100, connections))
    return asyncio.run(_load(server.port, make, total, connections))


def batch(server: Server, lines: int) -> dict[str, Any]:
    import httpx

    data = yaml.safe_load(PARKRUN.read_text(encoding="utf-8"))
    body = "".join(json.dumps({**data, "id": f"prop-{i}"}, default=str) + "\n" for i in range(lines)).encode()
    began = time.perf_counter()
    out = 0
    with (
        httpx.Client(timeout=600) as client,
        client.stream(
            "POST",
            server.url + "/v1/evaluations:batch",
            content=body,
            headers={"content-type": "application/x-ndjson"},
        ) as answer,
    ):
        for line in answer.iter_lines():
            out += bool(line) and '"evaluation":' in line[:200]
    elapsed = time.perf_counter() - began
    return {"lines": lines, "evaluated": out, "per_second": round(out / elapsed, 1)}


def _note(name: str, result: dict[str, Any]) -> dict[str, Any]:
    print(f"{name}: {json.dumps(result)}", file=sys.stderr, flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=("rest", "cds", "soak", "batch"), action="append")
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", choices=("durable", "reference", "compiled"), default="durable")
    parser.add_argument("--decision-log", action="store_true", help="log every decision (fsync each commit)")
    parser.add_argument(
        "--soak", type=int, default=None, help="requests in the memory soak (default 100,000)"
    )
    args = parser.parse_args()
    only = set(args.only or ("rest", "cds", "soak", "batch"))
    n = args.requests or (5_000 if args.quick else 20_000)
    with tempfile.TemporaryDirectory() as tmp:
        config: dict[str, Any] = {"workers": args.workers, "access_log": False, "report_ttl_seconds": 60,
                                  "backend": args.backend}  # fmt: skip
        if args.decision_log:
            config["decision_log"] = {"path": f"{tmp}/decisions.jsonl"}
        server = Server(Path(tmp), config).start()
        try:
            results: dict[str, Any] = {"workers": args.workers, "connections": args.connections,
                                       "decision_log": args.decision_log, "backend": args.backend}  # fmt: skip
            results["load_average"] = Path("/proc/loadavg").read_text().split()[:3]
            if "rest" in only:
                results["in_process"] = _note("in_process", in_process())
                results["rest"] = _note("rest", rest(server, n, args.connections))
            if "cds" in only:
                results["cds"] = _note("cds", cds(server, max(n // 4, 500), min(args.connections, 2)))
            if "batch" in only:
                results["batch"] = _note("batch", batch(server, 2_000 if args.quick else 10_000))
            if "soak" in only:
                results["soak"] = _note(
                    "soak", soak(server, args.soak or (20_000 if args.quick else 100_000), args.connections)
                )
        finally:
            server.stop()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
