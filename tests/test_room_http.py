"""The live room over real HTTP: the real ``riskengine room`` on loopback, driven by httpx clients.

What it proves: the phases run in order and only as the facilitator drives them; a phone votes
once per round (a change replaces, a rejoin keeps it), never on a closed question; results and
unapproved written answers stay off every public view until the facilitator shows them; every
bad request is a clear 4xx; export then purge leaves nothing behind.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .room_harness import Console, Phone, RoomServer, csrf_of, running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoomServer]:
    with running(tmp_path_factory.mktemp("room")) as started:
        yield started


@pytest.fixture(scope="module")
def console(server: RoomServer) -> Iterator[Console]:
    client = Console(server)
    yield client
    client.close()


def test_the_command_prints_the_console_address_and_pin_and_binds_loopback(server: RoomServer) -> None:
    printed = server.stdout()
    assert "Facilitator console" in printed and f"PIN: {server.pin}" in printed
    assert server.console_url.startswith("http://127.0.0.1:")
    assert len(server.console_url.split("s=", 1)[1]) >= 40  # 256 random bits, URL-safe


def test_a_whole_decision_point(server: RoomServer, console: Console) -> None:
    phones = [Phone(server) for _ in range(6)]
    assert "Before we start" not in phones[0].view()
    console.act("prebrief")
    assert "no right or wrong answers" in console.projector()
    assert "no right or wrong answers" in phones[0].view()
    console.act("next")  # the first stage
    assert phones[0].vote("a").status_code == 409  # not open yet
    console.act("next")  # the stage with the first decision point
    console.act("open")
    for phone, option in zip(phones, "aabbcd", strict=True):
        assert phone.vote(option).status_code == 200
    assert phones[0].vote("b").status_code == 200  # a change replaces the first answer
    wrote = phones[5].vote("other", "Ring Karen on 07700 900123 and ask her")
    assert wrote.status_code == 200
    projector = console.projector()
    assert "6 answers so far" in projector
    assert "of 6" not in projector  # no distribution before the reveal
    assert "Karen" not in projector and "Karen" not in phones[1].view()
    assert phones[2].get("/console").status_code == 403  # a phone cannot drive
    assert (
        phones[2].post("/console/act", data={"action": "reveal", "csrf": phones[2].csrf}).status_code == 403
    )
    console.act("close")
    assert phones[3].vote("a").status_code == 409  # a closed question takes no answers
    console.act("table_talk")
    console.act("revote")
    for phone in phones[:4]:
        assert phone.vote("c").status_code == 200
    console.act("close")
    assert "of 6" not in console.projector()
    console.act("reveal")
    shown = console.projector()
    assert "First vote: 6 answers. Re-vote after table talk: 4 answers." in shown
    assert "Karen" not in shown and "07700" not in shown
    queue = console.get("/console/poll").json()["html"]
    assert "Ring Karen on 07700 900123" in queue and "a phone number" in queue
    text_id = queue.split('name="text" value="', 1)[1].split('"', 1)[0]
    approved = console.post_form("/console/moderate", {"text": text_id, "decision": "approved"})
    assert approved.status_code == 200
    shown = console.projector()
    assert "Ring [name] on [number] and ask her" in shown and "07700" not in shown
    console.act("happened")
    assert "What actually happened" in console.projector()
    for option in "abcd":  # the engine's view of any option, alone
        alone = console.act("debrief", plan=[option])
        assert f"Option {option.upper()}" in alone["html"]
        assert f"Option {option.upper()}" in console.projector()
    console.act("debrief", plan=["b", "happened"])
    debrief = console.projector()
    assert "What the principles ask" in debrief and "no right answer" in debrief
    assert "Option B" in debrief and "What happened" in debrief
    for phone in phones:
        phone.close()


def test_bad_requests_are_clear_4xx(server: RoomServer, console: Console) -> None:
    with httpx.Client(base_url=server.url) as anyone:
        assert anyone.get("/console").status_code == 403
        assert anyone.get("/console?s=" + "x" * 43).status_code == 403
        assert anyone.get("/projector").status_code == 403
        assert anyone.get("/nowhere").status_code == 404
        assert anyone.put("/join").status_code == 405
        assert anyone.post("/join", data={"pin": server.pin}).status_code == 403  # no CSRF token
        csrf = csrf_of(anyone.get("/").text)
        assert (
            anyone.post(
                "/join", data={"csrf": csrf, "pin": "000000" if server.pin != "000000" else "1"}
            ).status_code
            == 403
        )
        assert anyone.post(
            "/join", content=b"\xff\xfe", headers={"content-type": "application/x-www-form-urlencoded"}
        ).status_code in (400, 403)
        assert anyone.post("/join", json={"pin": server.pin}).status_code == 415
        big = "x" * 20_000
        assert anyone.post("/join", data={"csrf": csrf, "pin": big}).status_code == 413
        cross = anyone.post(
            "/join", data={"csrf": csrf, "pin": server.pin}, headers={"origin": "http://evil.example"}
        )
        assert cross.status_code == 403
        assert anyone.get("/p/live").status_code == 403
    phone = Phone(server)
    assert phone.post("/p/vote", data={"option": "a"}).status_code == 403  # no CSRF token
    assert phone.vote("other", "x" * 400).status_code in (409, 422)
    phone.close()
    bad = console.post_form("/console/act", {"action": "explode"})
    assert bad.status_code == 409 and "possible" in bad.json()["error"]
    assert console.post_form("/console/switch", {"switch": "frozen:maybe"}).status_code == 422
    assert console.post_form("/console/moderate", {"text": "nope", "decision": "approved"}).status_code == 404
    assert console.get("/console/export.json").status_code == 409  # not ended yet


def test_every_page_carries_the_security_headers(server: RoomServer) -> None:
    response = httpx.get(server.url + "/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert (
        response.headers["referrer-policy"] == "same-origin"
    )  # "no-referrer" would make forms send Origin: null


def test_end_export_then_purge(server: RoomServer, console: Console, tmp_path: Path) -> None:
    console.act("end")
    exported = console.get("/console/export.json")
    assert exported.status_code == 200
    data = json.loads(exported.text)
    assert data["kind"] == "riskengine-room-results"
    assert "token" not in exported.text and "Karen" not in exported.text
    assert console.get("/console/export.html").status_code == 200
    assert console.post_form("/console/purge", {}).status_code == 200
    assert console.get("/console/export.json").status_code == 410
    assert "deleted" in console.projector()


def test_limits_a_full_room_a_busy_client_and_the_purge_clock(tmp_path: Path) -> None:
    """Beyond --max-participants a phone is told the room is full; a client that floods is told
    to slow down (429) and the room carries on; after --purge-after-hours everything is gone."""
    with running(tmp_path, args=("--max-participants", "2", "--purge-after-hours", "0.005")) as small:
        first, second = Phone(small), Phone(small)
        with httpx.Client(base_url=small.url) as third:
            csrf = csrf_of(third.get("/").text)
            full = third.post("/join", data={"csrf": csrf, "pin": small.pin})
            assert full.status_code == 409 and "full" in full.text
        codes = [first.get("/p/poll").status_code for _ in range(120)]
        assert 429 in codes and set(codes) <= {200, 429}
        assert second.get("/p/poll").status_code == 200  # one busy phone does not slow the others
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and httpx.get(small.url + "/healthz").json()["phase"] != "ended":
            time.sleep(0.2)
        assert httpx.get(small.url + "/healthz").json()["phase"] == "ended"
        assert second.get("/p/poll").status_code == 403  # forgotten: not in the room any more
        assert small.stderr().strip() == ""
        first.close()
        second.close()
