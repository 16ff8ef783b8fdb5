"""Failures of the real server's parts: a worker killed mid-request, an evaluation that overruns,
recycling, and the decision log through a SIGKILL of the whole server under load."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.service_harness import PARKRUN, ROOT, Server, running, wait_gone

YAML = {"content-type": "application/yaml"}


def cli_json() -> bytes:
    return subprocess.run([sys.executable, "-m", "riskengine.cli", "evaluate", str(PARKRUN)], cwd=ROOT, check=True,
                          capture_output=True).stdout  # fmt: skip


def test_a_worker_killed_mid_request_gives_503_and_the_next_request_is_served(tmp_path: Path) -> None:
    """SIGKILL the only worker while it holds a request: that request gets 503 with Retry-After
    (never a partial or wrong answer, never a hang), a new worker takes over, and the next
    request gets the right evaluation."""
    expected = cli_json()
    env = {"RISKENGINE_SERVICE_TEST_DELAY": "1.5"}  # each evaluation waits first, so it can be caught busy
    with running(tmp_path, {"workers": 1, "timeout_seconds": 20}, env=env) as server:
        [victim] = server.worker_pids()
        answers: list[httpx.Response] = []
        started = threading.Event()

        def send() -> None:
            started.set()
            answers.append(httpx.post(server.url + "/v1/evaluations", content=PARKRUN.read_bytes(), headers=YAML,
                                      timeout=30))  # fmt: skip

        thread = threading.Thread(target=send)
        thread.start()
        started.wait()
        time.sleep(0.7)  # the request is inside the worker now (its delay is 1.5 s)
        assert httpx.get(server.url + "/readyz").json()["busy"] == 1
        os.kill(victim, signal.SIGKILL)
        thread.join(30)
        [lost] = answers
        assert lost.status_code == 503
        assert lost.headers["retry-after"] == "1"
        assert lost.headers["content-type"] == "application/problem+json"
        assert lost.json()["type"].endswith("worker-lost")
        assert wait_gone(victim)
        server.wait_ready(60)
        [replacement] = server.worker_pids()
        assert replacement != victim
        assert httpx.get(server.url + "/readyz").json()["replaced"] == 1
        served = httpx.post(
            server.url + "/v1/evaluations", content=PARKRUN.read_bytes(), headers=YAML, timeout=30
        )
        assert served.status_code == 200 and served.content == expected


def test_a_worker_killed_mid_batch_gives_error_lines_for_its_chunk_and_the_rest_go_on(tmp_path: Path) -> None:
    """SIGKILL the worker holding a batch chunk: each line of that chunk gets a worker-lost error
    line (never a partial or wrong answer), the lines after it are evaluated by the replacement,
    in order, and the next batch is served whole."""
    import yaml

    data = yaml.safe_load(PARKRUN.read_text(encoding="utf-8"))
    line = json.dumps(data, default=str).encode() + b"\n"
    expected = b'"evaluation":' + json.dumps(json.loads(cli_json()), separators=(",", ":")).encode()[:200]
    env = {"RISKENGINE_SERVICE_TEST_DELAY": "1.5"}  # each chunk waits first, so it can be caught busy
    ndjson = {"content-type": "application/x-ndjson"}
    with running(tmp_path, {"workers": 1, "timeout_seconds": 20}, env=env) as server:
        [victim] = server.worker_pids()
        answers: list[httpx.Response] = []

        def chunks() -> Iterator[bytes]:
            yield line * 3
            time.sleep(1.2)  # these three are inside the worker now; the kill comes before the rest
            yield line * 2

        def send() -> None:
            answers.append(httpx.post(server.url + "/v1/evaluations:batch", content=chunks(), headers=ndjson,
                                      timeout=60))  # fmt: skip

        thread = threading.Thread(target=send)
        thread.start()
        time.sleep(0.7)
        assert httpx.get(server.url + "/readyz").json()["busy"] == 1
        os.kill(victim, signal.SIGKILL)
        thread.join(60)
        [answer] = answers
        assert answer.status_code == 200
        out = answer.content.splitlines()
        assert [json.loads(o)["input"] for o in out] == [f"request:{n}" for n in range(1, 6)]
        assert all(json.loads(o)["errors"][0]["code"] == "worker-lost" for o in out[:3])
        assert all(expected in o for o in out[3:])
        assert wait_gone(victim)
        again = httpx.post(server.url + "/v1/evaluations:batch", content=line * 2, headers=ndjson, timeout=60)
        assert [expected in o for o in again.content.splitlines()] == [True, True]


def test_an_evaluation_past_the_timeout_gets_503_and_its_worker_is_replaced(tmp_path: Path) -> None:
    env = {"RISKENGINE_SERVICE_TEST_DELAY": "3"}
    with running(tmp_path, {"workers": 1, "timeout_seconds": 1}, env=env) as server:
        [first] = server.worker_pids()
        began = time.monotonic()
        answer = httpx.post(
            server.url + "/v1/evaluations", content=PARKRUN.read_bytes(), headers=YAML, timeout=30
        )
        assert answer.status_code == 503 and "ran out of time" in answer.json()["detail"]
        assert time.monotonic() - began < 2.5  # the deadline holds; the request did not wait for the worker
        assert wait_gone(first)
        server.wait_ready(60)
        assert server.worker_pids() != [first]


def test_workers_are_recycled_after_n_evaluations_without_a_failed_request(tmp_path: Path) -> None:
    expected = cli_json()
    with running(tmp_path, {"workers": 1, "recycle_after": 3}) as server:
        [first] = server.worker_pids()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for _ in range(8):
                answer = client.post("/v1/evaluations", content=PARKRUN.read_bytes(), headers=YAML)
                assert answer.status_code == 200 and answer.content == expected
        assert wait_gone(first)
        assert first not in server.worker_pids()
        assert httpx.get(server.url + "/readyz").json()["replaced"] == 0  # recycled, not lost


def test_decision_log_survives_sigkill_of_the_server_under_load(tmp_path: Path) -> None:
    """Every acknowledged evaluation is in the log after the server is SIGKILLed mid-load, and
    `log verify` is green; then a one-byte edit is found."""
    log = tmp_path / "decisions.jsonl"
    server = Server(tmp_path, {"workers": 2, "decision_log": {"path": str(log), "max_bytes": 8192}}).start()
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            while not stop.is_set():
                try:
                    answer = client.post("/v1/evaluations", content=PARKRUN.read_bytes(), headers=YAML)
                except httpx.HTTPError:
                    return
                if answer.status_code == 200:
                    with lock:
                        acknowledged.append(answer.headers["evaluation-id"])

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # SIGKILL, mid-load
    stop.set()
    for thread in threads:
        thread.join(15)
    assert len(acknowledged) >= 60
    files = sorted(tmp_path.glob("decisions.jsonl*"))
    assert len([f for f in files if not f.name.endswith(".lock")]) > 2  # rotated along the way
    logged = {
        json.loads(line).get("evaluation_id")
        for f in files
        if not f.name.endswith(".lock")
        for line in f.read_text(encoding="utf-8").splitlines()
    }
    assert set(acknowledged) <= logged
    verify = _verify(log)
    assert verify.returncode == 0, verify.stdout + verify.stderr

    # A restarted server continues the same chain.
    with running(tmp_path, {"workers": 1, "decision_log": {"path": str(log), "max_bytes": 8192}}) as again:
        assert httpx.post(again.url + "/v1/evaluations", content=PARKRUN.read_bytes(), headers=YAML,
                          timeout=30).status_code == 200  # fmt: skip
    assert _verify(log).returncode == 0

    # One byte changed in an older rotated file is found, with the file and line.
    older = tmp_path / "decisions.jsonl.1"
    data = bytearray(older.read_bytes())
    at = data.index(b'"output_sha256":"') + len(b'"output_sha256":"')
    data[at] = ord("0") if data[at] != ord("0") else ord("1")
    older.write_bytes(bytes(data))
    broken = _verify(log)
    assert broken.returncode == 1
    assert f"{older}:" in broken.stderr and "edited" in broken.stderr


def _verify(log: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "riskengine.cli", "log", "verify", str(log)], cwd=ROOT,
                          capture_output=True, text=True, check=False)  # fmt: skip


def test_serve_with_broken_rulesets_exits_2_naming_each_problem(tmp_path: Path) -> None:
    """Workers report the ruleset errors they hit at load; the server prints them located and exits 2."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "conditions.yaml").write_bytes(
        (ROOT / "tests" / "fixtures" / "bad" / "rulesets" / "conditions.yaml").read_bytes()
    )
    server = Server(tmp_path, {"workers": 1, "rulesets": [str(rules)]}).start(wait=False)
    assert server.process is not None
    assert server.process.wait(90) == 2
    assert "conditions.yaml:" in server.stderr() and "could not load the rulesets" in server.stderr()


def test_a_second_server_on_the_same_decision_log_is_refused(tmp_path: Path) -> None:
    log = {"decision_log": {"path": str(tmp_path / "d.jsonl")}}
    with running(tmp_path, {"workers": 1, **log}):
        second = Server(tmp_path, {"workers": 1, **log}).start(wait=False)
        assert second.process is not None
        assert second.process.wait(90) == 2
        assert "in use by another riskengine serve" in second.stderr()
