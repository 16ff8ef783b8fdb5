"""The live room's other roads, in a real browser (Debian's Chromium) against the real server.

The whole-session test (``test_room_browser.py``) runs with the content security policy
bypassed, because axe-core is injected as a script; these check what it cannot:

* every view works under its **own** policy, with no violation reported by the browser;
* a phone whose browser has no server-sent events (or a network that breaks them) follows
  the session by **polling**;
* a phone with **JavaScript turned off** joins, answers and sees each step with plain forms
  and a refresh.

Each test has its own server (the session's state is one per server).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .browser import chromium_browser, new_page
from .room_harness import Console, RoomServer, running

pytest.importorskip("playwright")
from playwright.sync_api import Page, expect

# Every policy violation the page reports, and every console error, collected from the start.
_WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""
_OPTION_A = "A Say it is too soon, and look at it again in three months."


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RoomServer]:
    with running(tmp_path) as started:
        yield started


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium_browser() as started:
        yield started


def _watched(page: Page) -> list[str]:
    """Console errors of ``page`` from now on (policy refusals are logged there too)."""
    errors: list[str] = []
    page.add_init_script(_WATCH)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def _join(page: Page, server: RoomServer) -> None:
    page.goto(server.url + "/")
    page.get_by_label("The PIN on the main screen").fill(server.pin)
    page.get_by_role("button", name="Join").click()
    expect(page.locator("h1")).to_have_text("You are in")


def _to_the_first_question(console: Console) -> None:
    for action in ("prebrief", "next", "next", "open"):
        console.act(action)


def test_every_view_works_under_its_own_content_security_policy(server: RoomServer, browser: Any) -> None:
    """Console, projector and phone, with the policy enforced: the facilitator drives a question
    open from the console page, the projector and the phone follow live, the phone's answer is
    counted; the browser reports no policy violation and no script error on any of them."""
    console = new_page(browser, bypass_csp=False)
    errors = {"console": _watched(console)}
    console.goto(server.console_url)
    projector = new_page(browser, context=console.context)  # the console's cookie opens it
    projector.set_viewport_size({"width": 1280, "height": 720})
    errors["projector"] = _watched(projector)
    projector.goto(server.url + "/projector")
    phone = new_page(browser, width=320, height=640, bypass_csp=False)
    errors["phone"] = _watched(phone)
    _join(phone, server)

    for button in ("Start: show the prebrief", "Start the story", "Next stage", "Open the question"):
        console.bring_to_front()
        console.get_by_role("button", name=button, exact=True).click()
    expect(phone.locator("#live")).to_contain_text("What would you do?", timeout=10_000)
    expect(projector.locator("#live")).to_contain_text("0 answers so far", timeout=10_000)
    phone.get_by_label(_OPTION_A).check()
    phone.locator("#send").click()
    expect(phone.locator("#answer-done")).to_contain_text("A: Say it is too soon")
    expect(projector.locator("#live")).to_contain_text("1 answer", timeout=10_000)

    for name, page in (("console", console), ("projector", projector), ("phone", phone)):
        assert page.evaluate("() => window.__violations") == [], name
        assert errors[name] == [], (name, errors[name])
    # The policy was in force all along: an inline script added now is refused, and reported.
    ran = phone.evaluate(_INLINE)
    assert ran is False
    assert phone.evaluate("() => window.__violations") == ["script-src-elem inline"]


_INLINE = """() => {
  const s = document.createElement("script");
  s.textContent = "window.__ran = true";
  document.body.append(s);
  return window.__ran === true;
}"""


def test_a_phone_without_server_sent_events_follows_the_session_by_polling(
    server: RoomServer, browser: Any
) -> None:
    """With no EventSource in the browser, the phone polls: each move of the facilitator reaches
    it, it answers once, and a reload shows the same one answer."""
    phone = new_page(browser, width=320, height=640)
    phone.add_init_script("delete window.EventSource;")
    polls: list[str] = []
    phone.on("request", lambda r: polls.append(r.url) if "/p/poll" in r.url else None)
    streams: list[str] = []
    phone.on("request", lambda r: streams.append(r.url) if r.url.endswith("/live") else None)
    _join(phone, server)
    console = Console(server)
    try:
        console.act("prebrief")
        expect(phone.locator("#live")).to_contain_text("no right or wrong answers", timeout=10_000)
        _to_the_first_question_from_prebrief(console)
        expect(phone.locator("#live")).to_contain_text("What would you do?", timeout=10_000)
        phone.get_by_label(_OPTION_A).check()
        phone.locator("#send").click()
        expect(phone.locator("#answer-done")).to_contain_text("A: Say it is too soon")
        console.act("close")
        expect(phone.locator("#live")).to_contain_text("Answers are closed", timeout=10_000)
        assert "1 answer" in console.projector()
    finally:
        console.close()
    assert polls, "the phone never polled"
    assert streams == [], "the phone opened an event stream it does not have"


def _to_the_first_question_from_prebrief(console: Console) -> None:
    for action in ("next", "next", "open"):
        console.act(action)


def test_a_phone_with_javascript_off_joins_answers_and_follows_by_refreshing(
    server: RoomServer, browser: Any
) -> None:
    """Scripts off: the PIN form joins, the page says to refresh, a refresh shows the question,
    the answer form posts as a plain form and comes back with the answer shown, once."""
    phone = new_page(browser, width=320, height=640, javascript=False)
    _join(phone, server)
    expect(phone.locator(".noscript")).to_contain_text("Refresh this page")
    console = Console(server)
    try:
        _to_the_first_question(console)
        phone.reload()
        expect(phone.locator("#live")).to_contain_text("What would you do?")
        phone.get_by_label(_OPTION_A).check()
        phone.locator("#send").click()
        expect(phone.locator("#answer-done")).to_contain_text("A: Say it is too soon")
        assert "1 answer" in console.projector()
        phone.reload()  # the same one answer after a refresh, not a second vote
        expect(phone.locator("#answer-done")).to_contain_text("A: Say it is too soon")
        assert "1 answer" in console.projector()
        console.act("close")
        phone.reload()
        expect(phone.locator("#live")).to_contain_text("Answers are closed")
    finally:
        console.close()
