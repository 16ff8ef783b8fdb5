"""A whole session in a real browser: the real ``riskengine room`` on loopback, Debian's Chromium.

A facilitator's console, the projector and three participants' phones (320 px wide, a 2x
phone, a large phone) run the shipped "Back to college" scenario from the lobby to the
export, with 30 more participants as plain HTTP clients. At every step the test checks what
each view shows (and what it must not show yet), runs axe-core (WCAG 2.2 A and AA, and best
practice) on every view, and writes a screenshot of each to ``tests/artefacts/room/``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .browser import axe_violations, chromium_browser, describe, new_page
from .paths import ROOT
from .room_harness import Phone, RoomServer, running

pytest.importorskip("playwright")
from playwright.sync_api import Page, expect

ARTEFACTS = ROOT / "tests" / "artefacts" / "room"
EXTRA = 30  # participants as plain HTTP clients


@dataclass
class Room:
    """The pages of one session, and what the test has seen."""

    server: RoomServer
    console: Page
    projector: Page
    phones: list[Page]
    http: list[Phone]
    step: int = 0
    checked: list[str] = field(default_factory=list)

    def views(self) -> dict[str, Page]:
        """Every browser view by name."""
        return {"console": self.console, "projector": self.projector} | {
            f"phone{i + 1}": p for i, p in enumerate(self.phones)
        }

    def look(self, state: str, **expect_text: str) -> None:
        """Each view shows its expected text; axe finds nothing; a screenshot of each is kept."""
        self.step += 1
        for name, page in self.views().items():
            if page.url == "about:blank":  # a phone that has not joined yet
                continue
            wanted = expect_text.get(name) or expect_text.get("phones" if name.startswith("phone") else "")
            if wanted:
                expect(page.locator("#live")).to_contain_text(wanted, timeout=10_000)
            page.screenshot(path=str(ARTEFACTS / f"{self.step:02d}-{state}-{name}.png"), full_page=True)
            found = axe_violations(page)
            assert not found, f"{state}, {name}:\n{describe(found)}"
            self.checked.append(f"{state}/{name}")

    def c(self) -> Page:
        """The console, brought to the front (a background tab's clicks wait on throttled frames)."""
        self.console.bring_to_front()
        return self.console

    def click(self, name: str) -> None:
        """The facilitator presses a console button by its words."""
        self.c().get_by_role("button", name=name, exact=True).click()


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTEFACTS.glob("*.png"):
        old.unlink()
    with running(tmp_path_factory.mktemp("room-browser")) as server, chromium_browser() as browser:
        console = new_page(browser, width=1280, height=900)
        console.goto(server.console_url)
        projector = new_page(browser, context=console.context)
        projector.set_viewport_size({"width": 1280, "height": 720})
        projector.goto(server.url + "/projector")
        phones = [
            new_page(browser, width=320, height=640),
            new_page(browser, width=375, height=667, scale=2),
            new_page(browser, width=412, height=915),
        ]
        http = [Phone(server) for _ in range(EXTRA)]
        try:
            yield Room(server, console, projector, phones, http)
        finally:
            for phone in http:
                phone.close()


def _join(room: Room) -> None:
    first, second, third = room.phones
    first.goto(room.server.url + "/")  # types the PIN
    first.get_by_label("The PIN on the main screen").fill(room.server.pin)
    first.get_by_role("button", name="Join").click()
    for page in (second, third):  # the QR code's address carries the PIN
        page.goto(f"{room.server.url}/?pin={room.server.pin}")
        expect(page.get_by_label("The PIN on the main screen")).to_have_value(room.server.pin)
        page.get_by_role("button", name="Join").click()
    for page in room.phones:
        expect(page.locator("h1")).to_have_text("You are in")


def _vote(page: Page, label: str, text: str = "", principles: tuple[str, ...] = ()) -> None:
    page.get_by_label(label).check()
    if text:
        page.get_by_label('Your own answer (if you chose "something else")').fill(text)
    if principles:
        page.get_by_text("Optional: which principles does your answer use?").click()
        for p in principles:
            page.get_by_label(p, exact=True).check()
    page.locator("#send").click()
    expect(page.locator("#answer-done")).to_be_visible()


def test_a_whole_session(room: Room) -> None:
    """Every view at every step shows what it should, passes axe, and is photographed."""
    _lobby_to_the_question(room)
    _first_vote(room)
    _table_talk_revote_reveal(room)
    _what_happened_and_debrief(room)
    _freeze_blank_offline_closing(room)
    _end_export_purge(room)
    assert room.server.stderr().strip() == "", room.server.stderr()
    assert len(room.checked) == 5 * room.step - 3  # every view at every step (the phones joined at step 2)


def _lobby_to_the_question(room: Room) -> None:
    """Joining, self-tags shown only in groups of three, the prebrief and the story."""
    projector = room.projector
    phone1 = room.phones[0]
    room.look("start", console="Facilitator console", projector=f"PIN{' '}")
    _join(room)
    for phone in room.http[:3]:  # three say NHS, so NHS may be shown; two say voluntary sector: not shown
        assert phone.post("/p/tags", data={"csrf": phone.csrf, "sector": "nhs"}).status_code == 303
    for phone in room.http[3:5]:
        assert (
            phone.post("/p/tags", data={"csrf": phone.csrf, "sector": "voluntary_sector"}).status_code == 303
        )
    phone1.get_by_label("Where do you work or come from?").select_option("carers")
    phone1.locator("#save-tags").click()
    expect(phone1.locator("#live")).to_contain_text("Saved.")
    room.look("lobby", projector="33 people have joined", phones="You are in", console="33 joined")
    assert "Before we start" not in projector.inner_text("#live")

    room.click("Start: show the prebrief")
    room.look("prebrief", projector="Before we start", phones="no right or wrong answers")
    room.click("Start the story")
    room.look("stage-1", projector="The winter", phones="The winter", console="stage 1 of 3")
    room.click("Next stage")
    room.look("stage-2", console="stage 2 of 3", projector="The meeting")
    assert "What would you do" not in phone1.inner_text("#live")


def _first_vote(room: Room) -> None:
    """The question opens; answers (option, own words, principle tags) stay hidden; a reload keeps the vote."""
    projector = room.projector
    phone1 = room.phones[0]
    phone2 = room.phones[1]
    phone3 = room.phones[2]
    room.click("Open the question")
    room.look("open", projector="0 answers so far", phones="What would you do?")
    assert (
        phone1.inner_text("#live").count("What would you do?") == 1
    )  # the question is the heading, said once
    _reflows_with_large_targets(phone1)
    _vote(phone1, "A Say it is too soon, and look at it again in three months.")
    _vote(phone2, "Something else: I will write it", text="Ask Karen on the ward, ring 07700 900123")
    _vote(phone3, "C Ask Dee what going back would mean to her, and what her sister is worried about, before anyone decides.",
          principles=("Deciding together", "Drawing on strengths"))  # fmt: skip
    for i, phone in enumerate(room.http):
        assert phone.vote("abcd"[i % 4]).status_code == 200
    room.look("voted", projector="33 answers so far", phones="Your answer is in", console="Counts")
    assert "%" not in projector.inner_text("#live")  # no distribution before the reveal
    for page in (projector, phone1, phone3):
        assert "Karen" not in page.content() and "07700" not in page.content()

    phone1.reload()  # a dropped connection: back as the same person, with the same one answer
    expect(phone1.locator("#answer-done")).to_contain_text("A: Say it is too soon")
    expect(projector.locator("#live")).to_contain_text("33 answers so far")


def _table_talk_revote_reveal(room: Room) -> None:
    """Closed means closed; table talk, the re-vote, the reveal with the shift; free text moderated."""
    projector = room.projector
    phone1 = room.phones[0]
    room.click("Close answers")
    room.look("closed", projector="33 answers in", phones="Answers are closed")
    assert room.http[0].vote("b").status_code == 409
    room.click("Table talk")
    room.look("table-talk", projector="Talk it through at your tables", phones="Talk it through")
    room.click("Start the re-vote")
    room.look("revote-open", projector="Re-vote", phones="Vote again")
    expect(phone1.locator("#live")).to_contain_text("Your first answer was: A: Say it is too soon")
    _vote(
        phone1,
        "C Ask Dee what going back would mean to her, and what her sister is worried about, before anyone decides.",
    )
    for phone in room.http[:20]:
        assert phone.vote("c").status_code == 200
    room.click("Close answers")
    room.click("Show the room's answers")
    room.look("reveal", projector="Re-vote after table talk: 21 answers", phones="The room's answers")
    assert "fewer" in projector.inner_text("#live") or "more" in projector.inner_text("#live")
    assert "NHS: 3" in projector.inner_text("#live") and "Voluntary" not in projector.inner_text("#live")

    queued = room.c().locator(".queue li").filter(has_text="Ask Karen on the ward")
    expect(queued).to_contain_text("Flagged: may contain")
    queued.get_by_role("button", name="Approve (masked)").click()
    room.look("approved-text", projector="Ask [name] on the ward, ring [number]")
    assert "Karen" not in projector.content()


def _what_happened_and_debrief(room: Room) -> None:
    """The storyteller screen, what happened, and the engine debrief for the plans the facilitator picks."""
    projector = room.projector
    room.click("Show what actually happened")
    room.look(
        "happened-storyteller", projector="The storyteller is telling us", console="storyteller speaking"
    )
    room.c().locator("#switch-storyteller").click()
    room.look("happened", projector="They said wait three months", phones="They said wait three months")
    assert "right answer" in projector.inner_text("#live")  # "what happened, not the right answer"

    room.c().get_by_label(
        "Option B: Agree to go back after half-term, and plan it together with Dee and her sister."
    ).check()
    asked = time.perf_counter()
    room.click("Show the debrief on the projector")
    expect(projector.locator("#live")).to_contain_text("What the principles ask", timeout=5_000)
    debrief_ms = 1000 * (time.perf_counter() - asked)
    room.look("debrief", projector="Option B", phones="The engine debrief")
    assert "no right answer" in projector.inner_text("#live")
    assert debrief_ms < 1_500, (
        debrief_ms
    )  # the benchmark holds the 300 ms target; this is a loaded-machine bound


def _freeze_blank_offline_closing(room: Room) -> None:
    """Freeze and blank the projector, the offline tally, the second decision point, the closing."""
    room.c().locator("#switch-frozen").click()
    room.click("Next stage")
    expect(room.c().locator("#live")).to_contain_text("stage 3 of 3")
    room.look("frozen", projector="What the principles ask", phones="Coming back")
    room.c().locator("#switch-frozen").click()
    room.c().locator("#switch-blank").click()
    room.look("blank", projector="Taking a pause")
    room.c().locator("#switch-blank").click()
    room.look("stage-3", projector="Coming back")

    room.click("Open the question")
    room.c().get_by_label("A: Agree, and ask Dee who she wants in her corner this time.").fill("7")
    room.c().locator("#save-offline").click()
    expect(room.c().locator("#live")).to_contain_text("7 of 7")
    room.look("offline-tally", console="7 of 7", projector="0 answers so far")
    room.click("Close answers")
    room.click("Show the room's answers")
    room.look("reveal-2", projector="Including 7 counted by hand or on paper")
    room.click("Go to the closing reflection")
    room.look("closing", projector="Closing reflection", phones="Closing reflection")


def _end_export_purge(room: Room) -> None:
    """End, export (JSON and the HTML summary), purge."""
    console = room.console
    room.click("End the session")
    room.look("ended", console="Download the results (JSON)", phones="Thank you", projector="Thank you")

    with room.c().expect_download() as download:
        room.c().locator("#export-json").click()
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    first = exported["decision_points"][0]
    assert first["totals"] == {"first": 33, "revote": 21}
    assert first["texts"] == ["Ask [name] on the ward, ring [number]"]
    assert {"label": "NHS", "count": 3} in exported["mix"]["sectors"]
    assert "voluntary" not in json.dumps(exported).lower()
    with room.c().expect_download() as summary:
        room.c().locator("#export-html").click()
    saved = ARTEFACTS / "summary.html"
    summary.value.save_as(saved)
    summary_page = new_page(console.context.browser, width=1280, height=900)
    summary_page.goto(saved.as_uri())
    expect(summary_page.locator("h1")).to_contain_text("Results: Back to college")
    summary_page.screenshot(path=str(ARTEFACTS / "99-export-summary.png"), full_page=True)
    found = axe_violations(summary_page)
    assert not found, describe(found)

    room.c().locator("#purge").click()
    room.look("purged", console="Everything has been deleted", phones="deleted", projector="deleted")


def _reflows_with_large_targets(page: Page) -> None:
    """At 320 px nothing scrolls sideways; every control is at least 44 px high (a radio or tick box
    is at least 24 px, and its whole labelled row, which selects it, at least 44 px)."""
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    small = page.evaluate("""() => [...document.querySelectorAll('button, summary, input:not([type=hidden]), select, label, .choice')]
        .filter(e => {
            const r = e.getBoundingClientRect();
            if (r.width === 0 || r.right <= 0) return false;
            if (e.matches('input[type=radio], input[type=checkbox]')) return r.height < 24 || r.width < 24;
            return r.height < 44;
        })
        .map(e => e.outerHTML.slice(0, 80))""")
    assert small == []
