"""Start the real ``riskengine serve`` as a subprocess on a free loopback port, for the service tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
PARKRUN = ROOT / "scenarios" / "proposals" / "parkrun-with-a-friend.yaml"


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One ``riskengine serve`` process, its stderr kept in a file."""

    def __init__(self, workdir: Path, config: dict[str, Any] | None = None, *, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.workdir = workdir
        self.port = free_port()
        self.config = {"port": self.port, "workers": 1, **(config or {})}
        self.env = {**os.environ, **(env or {})}
        self.args = args
        self.stderr_path = workdir / f"server-{self.port}.stderr"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True) -> Server:
        """Start it and (by default) wait until every worker has loaded the rulesets."""
        config = self.workdir / f"config-{self.port}.yaml"
        config.write_text(yaml.safe_dump(self.config), encoding="utf-8")
        with self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "riskengine.cli", "serve", "--config", str(config), *self.args],
                cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=stderr,
            )  # fmt: skip
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Poll ``/readyz`` until it says ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited ({self.process.returncode}): {self.stderr()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"the server did not become ready: {self.stderr()}")

    def stderr(self) -> str:
        """What the server wrote to stderr so far."""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def worker_pids(self) -> list[int]:
        """The worker processes' ids (children of the server)."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return sorted(int(pid) for pid in children)

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after 15 s; the exit code."""
        return stop_process(self.process, 15)

    def kill(self) -> None:
        """SIGKILL the server itself (its workers see their stdin close and exit)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()


@contextlib.contextmanager
def running(workdir: Path, config: dict[str, Any] | None = None, **kwargs: Any) -> Iterator[Server]:
    """A started server, stopped afterwards."""
    server = Server(workdir, config, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    """True once ``pid`` no longer exists (or is a zombie)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def stop_process(process: subprocess.Popen[bytes] | None, grace: float) -> int:
    """SIGTERM ``process``, then SIGKILL after ``grace`` seconds; its exit code (0 if never started)."""
    if process is None:
        return 0
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return int(process.returncode)
