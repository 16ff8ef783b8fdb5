"""Start the real ``riskengine room`` on a free loopback port, and drive it over plain HTTP.

Shared by the room's HTTP tests, its browser test and ``benchmarks/bench_room.py``. The server
prints the console address (with its secret) and the PIN; :class:`RoomServer` reads them.
:class:`Console` and :class:`Phone` are httpx clients that act as the facilitator and as one
participant, sending the same forms (CSRF token included) a browser would.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from .service_harness import free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent
COLLEGE = ROOT / "scenarios" / "training" / "back-to-college.scenario.yaml"
_CSRF = re.compile(r'name="csrf(?:-token)?" (?:value|content)="([0-9a-f]+)"')


class RoomServer:
    """One ``riskengine room`` process."""

    def __init__(self, workdir: Path, scenario: Path = COLLEGE, args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.scenario = scenario
        self.args = args
        self.out_path = workdir / f"room-{self.port}.out"
        self.err_path = workdir / f"room-{self.port}.err"
        self.process: subprocess.Popen[bytes] | None = None
        self.console_url = ""
        self.pin = ""

    @property
    def url(self) -> str:
        """The base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> RoomServer:
        """Start it; wait for its printed console address and for every debrief to be ready."""
        command = [
            sys.executable,
            "-m",
            "riskengine.cli",
            "room",
            str(self.scenario),
            "--port",
            str(self.port),
            *self.args,
        ]
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the room exited ({self.process.returncode}): {self.stderr()}")
            found = re.search(r"(http://\S+/console\?s=\S+).*?PIN: (\d{6})", self.stdout(), re.S)
            if found and self._ready():
                self.console_url, self.pin = found.group(1), found.group(2)
                return self
            time.sleep(0.1)
        raise AssertionError(f"the room did not start: {self.stderr()}")

    def _ready(self) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            health = httpx.get(self.url + "/healthz", timeout=2).json()
            return bool(health["debriefs"] >= len(_points(self.scenario)))
        return False

    def stdout(self) -> str:
        """What the server printed."""
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        """What the server wrote to stderr."""
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def rss_mb(self) -> float:
        """The server's resident memory now, in MB."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after 10 s; the exit code."""
        return stop_process(self.process, 10)


def _points(scenario: Path) -> list[str]:
    from riskengine.training import load_scenario

    return list(load_scenario(scenario).points)


@contextlib.contextmanager
def running(workdir: Path, **kwargs: Any) -> Iterator[RoomServer]:
    """A started room, stopped afterwards."""
    server = RoomServer(workdir, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


class Console(httpx.Client):
    """The facilitator, over HTTP."""

    def __init__(self, server: RoomServer) -> None:
        super().__init__(base_url=server.url, timeout=30)
        first = self.get(server.console_url.removeprefix(server.url))
        assert first.status_code == 303, first.text
        self.csrf = csrf_of(self.get("/console").text)

    def post_form(self, path: str, data: Mapping[str, str | list[str]]) -> httpx.Response:
        """Send a console form as the live page does (JSON back)."""
        return self.post(path, data={"csrf": self.csrf, **data}, headers={"Accept": "application/json"})

    def act(self, action: str, **extra: str | list[str]) -> dict[str, Any]:
        """Do a phase move; the console's new fragment."""
        response = self.post_form("/console/act", {"action": action, **extra})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def projector(self) -> str:
        """The projector's fragment now."""
        data: dict[str, Any] = self.get("/projector/poll").json()
        return str(data["html"])


class Phone(httpx.Client):
    """One participant, over HTTP."""

    def __init__(self, server: RoomServer, pin: str | None = None) -> None:
        super().__init__(base_url=server.url, timeout=30)
        csrf = csrf_of(self.get("/").text)
        joined = self.post("/join", data={"csrf": csrf, "pin": pin or server.pin})
        assert joined.status_code == 303, joined.text
        self.csrf = csrf_of(self.get("/p").text)

    def vote(self, option: str, text: str = "", principles: tuple[str, ...] = ()) -> httpx.Response:
        """Send an answer (JSON back)."""
        data: dict[str, str | list[str]] = {"csrf": self.csrf, "option": option, "text": text,
                                            "principle": list(principles)}  # fmt: skip
        return self.post("/p/vote", data=data, headers={"Accept": "application/json"})

    def view(self) -> str:
        """The phone's fragment now."""
        data: dict[str, Any] = self.get("/p/poll").json()
        return str(data["html"])
