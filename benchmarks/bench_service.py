"""Load on the real ``riskengine serve`` over loopback: throughput, latency, memory, batch, CDS.

    python benchmarks/bench_service.py                 # every measure, default sizes
    python benchmarks/bench_service.py --quick         # smaller counts, for a look
    python benchmarks/bench_service.py --only rest --requests 20000
    python benchmarks/bench_service.py --only batch --backend compiled --runs 3

Each measure runs once per ``--backend`` (default: durable, then compiled). The batch measure
posts 10,000 NDJSON lines ``--runs`` times and reports each run's rate with the CPU time the
server, its workers and the client spent per record (from /proc and ``time.process_time``).

The load generator is a small asyncio HTTP/1.1 client on keep-alive connections (prebuilt
request bytes, Content-Length framing), so it costs the shared 2 cores far less than a full
HTTP client would; it still shares them with the server, which the figures include. The batch
client is a plain socket with 4 MiB reads, httptools decoding the chunked answer, and a glance
at each line's first 200 bytes: its CPU per record is reported beside the server's. Targets
(issue 14): >= 500 evaluations/s with 2 workers and p99 <= 25 ms; CDS hook p99 <= 50 ms;
100,000 requests with zero errors and flat memory; batch NDJSON >= 1,000 proposals/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
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


def _cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of these processes so far, in seconds (0 for one gone)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class _Lines:
    """Counts response lines, and those that are evaluations, from body pieces as they come.

    Only the first bytes of each line are looked at (``"evaluation":`` comes right after the
    record's input and id), so the client costs the shared cores little beyond its reads.
    """

    HEAD = 200

    def __init__(self) -> None:
        self.lines = self.evaluated = 0
        self.head = b""
        self.at_start = True

    def feed(self, data: bytes) -> None:
        pos, size = 0, len(data)
        while pos < size:
            if self.at_start:
                need = self.HEAD - len(self.head)
                end = data.find(b"\n", pos, pos + need)
                if end < 0:
                    self.head += data[pos : pos + need]
                    pos += need
                    if len(self.head) >= self.HEAD:
                        self._counted(end_of_line=False)
                    continue
                self.head += data[pos:end]
                self._counted(end_of_line=True)
                pos = end + 1
                continue
            end = data.find(b"\n", pos)
            if end < 0:
                return
            self.at_start, pos = True, end + 1

    def _counted(self, *, end_of_line: bool) -> None:
        self.lines += 1
        self.evaluated += b'"evaluation":' in self.head
        self.head, self.at_start = b"", end_of_line


def _post_stream(
    port: int, path: str, body: bytes, content_type: str, on_body: Callable[[bytes], None]
) -> int:
    """POST ``body`` on a plain socket (sent by a thread, so a server that answers while it reads
    never waits on us), feed each decoded piece of the (chunked) answer to ``on_body``."""
    import httptools

    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    done = False

    class Protocol:
        def on_body(self, data: bytes) -> None:
            on_body(data)

        def on_message_complete(self) -> None:
            nonlocal done
            done = True

    parser = httptools.HttpResponseParser(Protocol())
    sender = threading.Thread(target=sock.sendall, args=(_request(path, body, content_type),), daemon=True)
    sender.start()
    buffer = bytearray(4 * 1024 * 1024)
    view = memoryview(buffer)
    try:
        while not done:
            got = sock.recv_into(buffer)
            if not got:
                break
            parser.feed_data(view[:got])
    finally:
        sender.join()
        sock.close()
    return int(parser.get_status_code())


def batch_corpus(lines: int) -> bytes:
    """``lines`` copies of the parkrun proposal as NDJSON, each with its own id."""
    data = yaml.safe_load(PARKRUN.read_text(encoding="utf-8"))
    return "".join(json.dumps({**data, "id": f"prop-{i}"}, default=str) + "\n" for i in range(lines)).encode()


def batch(server: Server, lines: int) -> dict[str, Any]:
    """One NDJSON batch of ``lines`` proposals: the rate, and the CPU each side spent per record.

    The client reads the streamed answer with large reads and only looks at the start of each
    line; its CPU is measured too, since it shares the machine's cores with the server."""
    body = batch_corpus(lines)
    assert server.process is not None
    server_pids, worker_pids = [server.process.pid], server.worker_pids()
    counter = _Lines()
    before = (_cpu_seconds(server_pids), _cpu_seconds(worker_pids), time.process_time())
    began = time.perf_counter()
    status = _post_stream(server.port, "/v1/evaluations:batch", body, "application/x-ndjson", counter.feed)
    elapsed = time.perf_counter() - began
    after = (_cpu_seconds(server_pids), _cpu_seconds(worker_pids), time.process_time())
    n = max(counter.evaluated, 1)
    cpu_ms = {
        name: round((b - a) * 1000 / n, 3)
        for name, a, b in zip(("server", "workers", "client"), before, after, strict=True)
    }
    return {
        "status": status,
        "lines": lines,
        "answered": counter.lines,
        "evaluated": counter.evaluated,
        "per_second": round(counter.evaluated / elapsed, 1),
        "cpu_ms_per_record": {**cpu_ms, "total": round(sum(cpu_ms.values()), 3)},
        "load_average": _load_average(),
    }


def _load_average() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


def batch_runs(server: Server, lines: int, runs: int) -> dict[str, Any]:
    """``runs`` batches: each one, and the median and range of their rates."""
    batch(server, 200)  # warm-up
    each = [_note("batch run", batch(server, lines)) for _ in range(runs)]
    rates = [r["per_second"] for r in each]
    return {
        "per_second_median": statistics.median(rates),
        "per_second_range": [min(rates), max(rates)],
        "runs": each,
    }


def _note(name: str, result: dict[str, Any]) -> dict[str, Any]:
    print(f"{name}: {json.dumps(result)}", file=sys.stderr, flush=True)
    return result


def measure(args: argparse.Namespace, backend: str, only: set[str]) -> dict[str, Any]:
    """Every chosen measure on one server whose workers use ``backend``."""
    n = args.requests or (5_000 if args.quick else 20_000)
    with tempfile.TemporaryDirectory() as tmp:
        config: dict[str, Any] = {"workers": args.workers, "access_log": False, "report_ttl_seconds": 60,
                                  "backend": backend}  # fmt: skip
        if args.decision_log:
            config["decision_log"] = {"path": f"{tmp}/decisions.jsonl"}
        server = Server(Path(tmp), config).start()
        try:
            results: dict[str, Any] = {"workers": args.workers, "connections": args.connections,
                                       "decision_log": args.decision_log, "backend": backend,
                                       "load_average": _load_average()}  # fmt: skip
            if "rest" in only:
                results["in_process"] = _note("in_process", in_process())
                results["rest"] = _note("rest", rest(server, n, args.connections))
            if "cds" in only:
                results["cds"] = _note("cds", cds(server, max(n // 4, 500), min(args.connections, 2)))
            if "batch" in only:
                lines = args.batch_lines or (2_000 if args.quick else 10_000)
                results["batch"] = _note(f"batch ({backend})", batch_runs(server, lines, args.runs))
            if "soak" in only:
                results["soak"] = _note(
                    "soak", soak(server, args.soak or (20_000 if args.quick else 100_000), args.connections)
                )
        finally:
            server.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=("rest", "cds", "soak", "batch"), action="append")
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", choices=("durable", "reference", "compiled"), action="append",
                        help="the workers' rule backend (repeatable; default: durable, then compiled)")  # fmt: skip
    parser.add_argument("--batch-lines", type=int, default=None, help="lines per batch (default 10,000)")
    parser.add_argument("--runs", type=int, default=3, help="batches per backend (median and range)")
    parser.add_argument("--decision-log", action="store_true", help="log every decision (fsync each commit)")
    parser.add_argument(
        "--soak", type=int, default=None, help="requests in the memory soak (default 100,000)"
    )
    args = parser.parse_args()
    only = set(args.only or ("rest", "cds", "soak", "batch"))
    results = {backend: measure(args, backend, only) for backend in args.backend or ("durable", "compiled")}
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
