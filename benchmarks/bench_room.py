"""The live room under a room of phones: the real ``riskengine room`` on loopback, 200 participants.

    python benchmarks/bench_room.py               # 200 participants, every measure
    python benchmarks/bench_room.py --people 50   # a smaller room, for a look

What it measures (issue 13's targets):

* **vote -> projector tally**: each participant's vote, from sending it to the projector's
  event stream showing a count that includes it; p50/p95/max. Three ways: paced (half the
  phones, one vote at a time), a burst (the other half all at once: a stress figure, reported
  but not held to the target) and spread (the re-vote: all 200 phones at random moments over
  ten seconds, as a room gives it). Target p95 <= 250 ms (paced and spread).
* **memory**: the server's resident set with every participant's event stream open (and the
  projector's and the console's). Target <= 150 MB for 200 streams.
* **debrief**: from the facilitator's request to the projector's stream showing the engine
  debrief; p50/p95/max over repeated requests 1.5 s apart (each also updates 200 phones).
  Target <= 300 ms.

The clients are httpx on asyncio in this one process, sharing the machine's cores with the
server, so the figures include their cost. Report them with the load (``uptime``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.room_harness import RoomServer, csrf_of  # noqa: E402

COUNT = re.compile(r"(\d+) answers? so far")


class Projector:
    """The projector's event stream, read in the background: each fragment with when it came."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str]] = []
        self.changed = asyncio.Event()

    async def read(self, client: httpx.AsyncClient, path: str) -> None:
        """Follow the stream until cancelled."""
        async with client.stream("GET", path, timeout=None) as response:
            event = None
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "view":
                    html = json.loads(line.split(":", 1)[1])["html"]
                    self.events.append((time.perf_counter(), html))
                    self.changed.set()

    async def until(self, test: Any, after: float, timeout: float = 30.0) -> float:
        """When the first fragment received after ``after`` passes ``test``."""
        deadline = time.perf_counter() + timeout
        seen = 0
        while time.perf_counter() < deadline:
            for when, html in self.events[seen:]:
                if when >= after and test(html):
                    return when
            seen = len(self.events)
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), max(0.01, deadline - time.perf_counter()))
            except TimeoutError:
                break
        raise TimeoutError("the projector did not show it")

    def count(self) -> int:
        """The answers the projector shows now."""
        for _, html in reversed(self.events):
            found = COUNT.search(html)
            if found:
                return int(found.group(1))
        return 0


async def join(url: str, pin: str) -> tuple[httpx.AsyncClient, str]:
    """One phone in the room: its client (cookie held) and CSRF token."""
    client = httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=4))
    csrf = csrf_of((await client.get("/")).text)
    joined = await client.post("/join", data={"csrf": csrf, "pin": pin})
    assert joined.status_code == 303, joined.text
    return client, csrf_of((await client.get("/p")).text)


async def act(console: httpx.AsyncClient, csrf: str, action: str, **extra: Any) -> None:
    response = await console.post("/console/act", data={"csrf": csrf, "action": action, **extra},
                                  headers={"Accept": "application/json"})  # fmt: skip
    assert response.status_code == 200, response.text


async def hold_streams(url: str, tokens: list[str]) -> None:
    """The phones' event streams, held open by a separate process (as the phones are separate
    devices), so reading 200 streams does not slow the process that times the projector."""
    clients = [httpx.AsyncClient(base_url=url, cookies={"room_p": t}, timeout=None) for t in tokens]
    opened = [asyncio.Event() for _ in clients]

    async def hold(client: httpx.AsyncClient, done: asyncio.Event) -> None:
        async with client.stream("GET", "/p/live") as response:
            assert response.status_code == 200, response.status_code
            done.set()
            async for _ in response.aiter_raw():
                pass

    tasks = [asyncio.create_task(hold(c, e)) for c, e in zip(clients, opened, strict=True)]
    await asyncio.gather(*(e.wait() for e in opened))
    print("open", flush=True)
    await asyncio.gather(*tasks)


async def start_holder(url: str, phones: list[tuple[httpx.AsyncClient, str]]) -> asyncio.subprocess.Process:
    tokens = [str(client.cookies["room_p"]) for client, _ in phones]
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--hold-streams",
        url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write(json.dumps(tokens).encode() + b"\n")
    await holder.stdin.drain()
    line = await asyncio.wait_for(holder.stdout.readline(), 120)
    assert line.strip() == b"open", line
    return holder


def figures(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return {"n": len(ordered), "p50": round(statistics.median(ordered), 1), "p95": round(p95, 1),
            "max": round(ordered[-1], 1)}  # fmt: skip


async def run(people: int, debriefs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        server = RoomServer(Path(folder), args=("--max-participants", str(people + 10))).start()
        try:
            return await measure(server, people, debriefs)
        finally:
            server.stop()


Phones = list[tuple[httpx.AsyncClient, str]]


async def send_vote(client: httpx.AsyncClient, token: str, option: str) -> None:
    response = await client.post("/p/vote", data={"csrf": token, "option": option},
                                 headers={"Accept": "application/json"})  # fmt: skip
    assert response.status_code == 200, response.text


async def paced_votes(projector: Projector, phones: Phones, before: int = 0) -> list[float]:
    """One vote at a time: each timed to the projector showing it (exact)."""
    out = []
    for i, (client, token) in enumerate(phones):
        sent = time.perf_counter()
        await send_vote(client, token, "abcd"[i % 4])
        shown = await projector.until(lambda h, n=before + i + 1: _count(h) >= n, sent)
        out.append(1000 * (shown - sent))
    return out


async def burst_votes(projector: Projector, phones: Phones, before: int) -> list[float]:
    """Every phone at once: a vote is on the projector once the tally reaches its rank (a stress figure)."""
    sent_at: dict[int, float] = {}
    done: list[int] = []

    async def vote(i: int, client: httpx.AsyncClient, token: str) -> None:
        sent_at[i] = time.perf_counter()
        await send_vote(client, token, "abcd"[i % 4])
        done.append(i)

    start = time.perf_counter()
    await asyncio.gather(*(vote(i, c, t) for i, (c, t) in enumerate(phones)))
    out = []
    for rank, i in enumerate(done, start=before + 1):
        shown = await projector.until(lambda h, n=rank: _count(h) >= n, start)
        out.append(1000 * (shown - sent_at[i]))
    return out


async def spread_votes(projector: Projector, phones: Phones, seconds: float = 10.0) -> list[float]:
    """Every phone at a random moment over ``seconds``, as a room votes."""
    out: list[float] = []
    done = 0
    rng = random.Random(13)

    async def later(i: int, client: httpx.AsyncClient, token: str) -> None:
        nonlocal done
        await asyncio.sleep(rng.uniform(0, seconds))
        sent = time.perf_counter()
        await send_vote(client, token, "abcd"[(i + 1) % 4])
        done += 1
        shown = await projector.until(lambda h, n=done: _count(h) >= n, sent)
        out.append(1000 * (shown - sent))

    await asyncio.gather(*(later(i, c, t) for i, (c, t) in enumerate(phones)))
    return out


async def debrief_times(
    projector: Projector, console: httpx.AsyncClient, csrf: str, times: int
) -> list[float]:
    """The facilitator asks for the debrief of a set of plans; timed to the projector showing it."""
    out = []
    choices = (["a", "happened"], ["b", "c", "happened"], ["d", "happened"])
    for n in range(times):
        await asyncio.sleep(1.5)  # a facilitator asks for the next comparison after a moment, not at once
        plans = choices[n % len(choices)]
        sent = time.perf_counter()
        await act(console, csrf, "debrief", plan=plans)
        marker = "Option " + plans[0].upper()
        shown = await projector.until(lambda h, m=marker: "What the principles ask" in h and m in h, sent)
        out.append(1000 * (shown - sent))
    return out


async def measure(server: RoomServer, people: int, debriefs: int) -> dict[str, Any]:
    idle_mb = server.rss_mb()
    console = httpx.AsyncClient(base_url=server.url, timeout=60)
    await console.get(server.console_url.removeprefix(server.url))
    csrf = csrf_of((await console.get("/console")).text)
    projector = Projector()
    reader = asyncio.create_task(projector.read(console, "/projector/live"))
    phones = [await join(server.url, server.pin) for _ in range(people)]
    holder = await start_holder(server.url, phones)
    await asyncio.sleep(1.0)
    streams_mb = server.rss_mb()
    for action in ("prebrief", "next", "next", "open"):
        await act(console, csrf, action)
    await projector.until(lambda h: "0 answers so far" in h, 0)
    half = people // 2
    paced = await paced_votes(projector, phones[:half])
    burst = await burst_votes(projector, phones[half:], half)
    voted_mb = server.rss_mb()
    for action in ("close", "table_talk", "revote"):  # the re-vote: the whole room over ten seconds
        await act(console, csrf, action)
    await projector.until(lambda h: "0 answers so far" in h, 0)
    spread = await spread_votes(projector, phones)
    for action in ("close", "reveal", "happened"):
        await act(console, csrf, action)
    debrief_ms = await debrief_times(projector, console, csrf, debriefs)
    holder.kill()
    await holder.wait()
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    for client, _ in phones:
        await client.aclose()
    await console.aclose()
    return {
        "people": people,
        "vote_to_projector_paced_ms": figures(paced),
        "vote_to_projector_burst_ms": figures(burst),
        "vote_to_projector_spread_ms": figures(spread),
        "rss_mb": {
            "idle": round(idle_mb, 1),
            f"{people}_streams_open": round(streams_mb, 1),
            "after_votes": round(voted_mb, 1),
        },
        "debrief_on_projector_ms": figures(debrief_ms),
        "server_stderr": server.stderr().strip(),
    }


def _count(html: str) -> int:
    found = COUNT.search(html)
    return int(found.group(1)) if found else -1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--debriefs", type=int, default=30)
    parser.add_argument("--hold-streams", default=None, metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hold_streams:
        asyncio.run(hold_streams(args.hold_streams, json.loads(sys.stdin.readline())))
        return 0
    load = os.getloadavg()
    result = asyncio.run(run(args.people, args.debriefs))
    result["load_before"] = [round(x, 2) for x in load]
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    targets = (
        result["vote_to_projector_paced_ms"]["p95"] <= 250
        and result["vote_to_projector_spread_ms"]["p95"] <= 250
        and result["rss_mb"][f"{args.people}_streams_open"] <= 150
        and result["debrief_on_projector_ms"]["p95"] <= 300
    )
    print("targets met" if targets else "a target was missed", file=sys.stderr)
    return 0 if targets else 1


if __name__ == "__main__":
    raise SystemExit(main())
