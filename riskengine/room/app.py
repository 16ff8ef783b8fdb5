"""The live room as an ASGI application (Starlette): pages, forms, live streams, export.

Three audiences, three ways in:

* participants join with the PIN (``/``, ``/join``) and get a random cookie; ``/p`` is their phone;
* the facilitator opens ``/console?s=SECRET`` once (the secret moves into a cookie and leaves
  the address bar); ``/console/...`` are its forms and exports;
* the projector is ``/projector``, open to the console's cookie or the projector key.

Every view updates by server-sent events (``.../live``), with polling (``.../poll``) for networks
that break them, and works without JavaScript as plain forms. Every refusal is a 4xx with a
sentence (HTML, or JSON for ``Accept: application/json``).

Imports: Starlette, sse-starlette, segno, :mod:`riskengine.training` (its door) and this
package's own modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import json
import sys
import traceback
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from riskengine.training import LoadedScenario

from .config import RoomConfig
from .results import export_data
from .security import HEADERS, Buckets, Keys, read_form, same_origin
from .state import Phase, Room, RoomError
from .views import STATIC, Fragment, Views

__all__ = ["RoomApp", "create_app"]

P_COOKIE, C_COOKIE, V_COOKIE = "room_p", "room_c", "room_v"
Handler = Callable[[Request], Awaitable[Response]]


class Hub:
    """Wakes every waiting stream when the room changes."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake everyone waiting now."""
        self._event.set()
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        """The event the next change sets (take it before rendering, so no change is missed)."""
        return self._event


@dataclass
class RoomApp:
    """The one room this server runs, and everything around it."""

    room: Room
    views: Views
    keys: Keys
    config: RoomConfig
    buckets: Buckets
    everyone: Hub = field(default_factory=Hub)
    staff: Hub = field(default_factory=Hub)
    streams: Counter[str] = field(default_factory=Counter)
    debrief_task: asyncio.Task[None] | None = None

    def changed(self, *, public: bool) -> None:
        """Tell the streams: the facilitator's and projector's always, participants' if public.

        The phones hear 50 ms later, so the projector and the console (two streams)
        are rendered and sent before two hundred phones are."""
        self.staff.notify()
        if public:
            asyncio.get_running_loop().call_later(0.05, self.everyone.notify)


def create_app(
    scenario: LoadedScenario, config: RoomConfig | None = None, *, join_url: str | None = None,
    console_secret: str | None = None, debriefs: dict[str, dict[str, Any]] | None = None,
) -> Starlette:  # fmt: skip
    """The room's ASGI app. Debriefs not given are computed by the engine at startup, in a thread."""
    config = config or RoomConfig()
    room = Room(scenario, config)
    url = join_url or config.join_url or f"http://{config.host}:{config.port}/"
    state = RoomApp(
        room, Views(room, url, dict(debriefs or {})), Keys(console_secret), config,
        Buckets(config.rate_per_second, config.rate_burst),
    )  # fmt: skip

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if debriefs is None:
            state.debrief_task = asyncio.create_task(_compute_debriefs(state))
        purger = asyncio.create_task(_purge_when_expired(state))
        yield
        purger.cancel()
        if state.debrief_task is not None:
            state.debrief_task.cancel()

    routes = [
        Route("/", _guard(state, _home)),
        Route("/join", _guard(state, _join), methods=["POST"]),
        Route("/p", _guard(state, _participant_page)),
        Route("/p/live", _guard(state, _participant_live)),
        Route("/p/poll", _guard(state, _participant_poll)),
        Route("/p/vote", _guard(state, _vote), methods=["POST"]),
        Route("/p/tags", _guard(state, _tags), methods=["POST"]),
        Route("/projector", _guard(state, _projector_page)),
        Route("/projector/live", _guard(state, _projector_live)),
        Route("/projector/poll", _guard(state, _projector_poll)),
        Route("/console", _guard(state, _console_page)),
        Route("/console/live", _guard(state, _console_live)),
        Route("/console/poll", _guard(state, _console_poll)),
        Route("/console/act", _guard(state, _act), methods=["POST"]),
        Route("/console/switch", _guard(state, _switch), methods=["POST"]),
        Route("/console/moderate", _guard(state, _moderate), methods=["POST"]),
        Route("/console/offline", _guard(state, _offline), methods=["POST"]),
        Route("/console/purge", _guard(state, _purge), methods=["POST"]),
        Route("/console/export.json", _guard(state, _export_json)),
        Route("/console/export.html", _guard(state, _export_html)),
        Route("/qr.svg", _guard(state, _qr)),
        Route("/healthz", _guard(state, _health)),
        Route("/favicon.ico", _guard(state, _no_icon)),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error(state), Exception: _crash(state)},
    )
    app.state.room = state
    return app


# -- plumbing ------------------------------------------------------------------------------


def _guard(state: RoomApp, handler: Callable[[RoomApp, Request], Awaitable[Response]]) -> Handler:
    """Rate-limit the client, turn a :class:`RoomError` into its 4xx, add the security headers."""

    async def endpoint(request: Request) -> Response:
        try:
            token = request.cookies.get(P_COOKIE)
            if token is not None and token in state.room.participants:
                state.buckets.take("p:" + token)
            elif not request.url.path.endswith(("/live", "/poll")):
                state.buckets.take("ip:" + (request.client.host if request.client else "?"), scale=20)
            response = await handler(state, request)
        except RoomError as exc:
            response = _refusal(state, request, exc.status, exc.message)
        return _secured(response)

    return endpoint


def _secured(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _refusal(state: RoomApp, request: Request, status: int, message: str) -> Response:
    if _wants_json(request) or request.url.path.endswith(("/live", "/poll", ".json")):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    heading = {403: "Not allowed", 404: "Not found", 409: "Not now", 413: "Too large", 429: "Slow down"}
    fragment = state.views.message(
        heading.get(status, "That did not work"), message, "/", "Back to the start"
    )
    return HTMLResponse(state.views.page("message", "Room: " + fragment.status, fragment, live=None), status)


def _http_error(state: RoomApp) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 400
        message = {404: "There is no page at this address.", 405: "This address does not take that method."}
        return _secured(
            _refusal(state, request, status, message.get(status, "That request was not understood."))
        )

    return handle


def _crash(state: RoomApp) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        traceback.print_exception(exc, file=sys.stderr)  # the code's fault: no request body is printed
        return _secured(_refusal(state, request, 500, "Something went wrong in the room's server."))

    return handle


def _see_other(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


def _cookie(response: Response, name: str, value: str, *, strict: bool) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict" if strict else "lax", path="/")


def _one(form: dict[str, list[str]], name: str, default: str = "") -> str:
    values = form.get(name)
    return values[0] if values else default


async def _form(state: RoomApp, request: Request, who: str) -> dict[str, list[str]]:
    same_origin(request)
    form = await read_form(request, state.config.body_limit)
    state.keys.check_csrf(who, _one(form, "csrf"))
    return form


def _answer(request: Request, fragment: Fragment, path: str) -> Response:
    """A form's reply: the new fragment for a live client, else back to the page."""
    return JSONResponse(fragment.to_json()) if _wants_json(request) else _see_other(path)


# -- who is asking -------------------------------------------------------------------------


def _token(state: RoomApp, request: Request) -> str:
    token = request.cookies.get(P_COOKIE)
    if token is None or token not in state.room.participants:
        raise RoomError(403, "You are not in this room yet. Join with the PIN on the main screen.")
    return token


def _console(state: RoomApp, request: Request) -> None:
    if not state.keys.is_console(request.cookies.get(C_COOKIE)):
        raise RoomError(
            403, "Only the facilitator can use the console. Open the address riskengine room printed."
        )


def _viewer(state: RoomApp, request: Request) -> None:
    console = state.keys.is_console(request.cookies.get(C_COOKIE))
    if not (console or state.keys.is_projector(request.cookies.get(V_COOKIE))):
        raise RoomError(403, "The projector view opens from the facilitator's console.")


# -- participants --------------------------------------------------------------------------


async def _home(state: RoomApp, request: Request) -> Response:
    token = request.cookies.get(P_COOKIE)
    if token is not None and token in state.room.participants:
        return _see_other("/p")  # a dropped phone comes back as itself: same answers, no second vote
    if state.room.phase == Phase.ENDED:
        fragment = state.views.message("This session has ended", "Thank you for taking part.")
        return HTMLResponse(state.views.page("join", "Session ended", fragment, live=None))
    pin = "".join(c for c in request.query_params.get("pin", "") if c.isdigit())[:6]
    fragment = state.views.join(state.keys.csrf("join"), pin)
    return HTMLResponse(
        state.views.page("join", "Join: " + state.room.scenario.scenario.title, fragment, live=None)
    )


async def _join(state: RoomApp, request: Request) -> Response:
    form = await _form(state, request, "join")
    token = request.cookies.get(P_COOKIE)
    if token is not None and token in state.room.participants:
        return _see_other("/p")
    pin = _one(form, "pin")[:20]
    try:
        person = state.room.join(pin)
    except RoomError as exc:
        if exc.status != 403:
            raise
        fragment = state.views.join(state.keys.csrf("join"), "", exc.message)
        page = state.views.page("join", "Join: PIN not recognised", fragment, live=None)
        return HTMLResponse(page, status_code=403)
    state.changed(public=False)
    response = _see_other("/p")
    _cookie(response, P_COOKIE, person.token, strict=False)
    return response


def _participant_fragment(state: RoomApp, token: str) -> Fragment:
    return state.views.participant(token, state.keys.csrf("p:" + token))


async def _participant_page(state: RoomApp, request: Request) -> Response:
    token = request.cookies.get(P_COOKIE)
    if token is None or token not in state.room.participants:
        return _see_other("/")
    fragment = _participant_fragment(state, token)
    title = state.room.scenario.scenario.title
    page = state.views.page("participant", title, fragment, live="/p", csrf=state.keys.csrf("p:" + token))
    return HTMLResponse(page)


async def _participant_live(state: RoomApp, request: Request) -> Response:
    token = _token(state, request)
    return _stream(state, "p:" + token, lambda: _participant_fragment(state, token), state.everyone, 0.0)


async def _participant_poll(state: RoomApp, request: Request) -> Response:
    token = _token(state, request)
    return _poll(request, _participant_fragment(state, token))


async def _vote(state: RoomApp, request: Request) -> Response:
    token = _token(state, request)
    form = await _form(state, request, "p:" + token)
    state.room.vote(token, _one(form, "option"), _one(form, "text"), form.get("principle", []))
    state.changed(public=False)
    return _answer(request, _participant_fragment(state, token), "/p")


async def _tags(state: RoomApp, request: Request) -> Response:
    token = _token(state, request)
    form = await _form(state, request, "p:" + token)
    state.room.tag(token, _one(form, "sector") or None, _one(form, "role") or None)
    state.changed(public=False)
    return _answer(request, _participant_fragment(state, token), "/p")


# -- the projector -------------------------------------------------------------------------


async def _projector_page(state: RoomApp, request: Request) -> Response:
    key = request.query_params.get("k")
    if key is not None:
        if not state.keys.is_projector(key):
            raise RoomError(403, "That projector key is not this room's.")
        response = _see_other("/projector")
        _cookie(response, V_COOKIE, key, strict=True)
        return response
    _viewer(state, request)
    fragment = state.views.projector()
    title = "Projector: " + state.room.scenario.scenario.title
    return HTMLResponse(state.views.page("projector", title, fragment, live="/projector"))


async def _projector_live(state: RoomApp, request: Request) -> Response:
    _viewer(state, request)
    return _stream(state, "projector", state.views.projector, state.staff, 0.05, limit=8)


async def _projector_poll(state: RoomApp, request: Request) -> Response:
    _viewer(state, request)
    return _poll(request, state.views.projector())


# -- the console ---------------------------------------------------------------------------


def _console_fragment(state: RoomApp) -> Fragment:
    return state.views.console(state.keys.csrf("c"))


async def _console_page(state: RoomApp, request: Request) -> Response:
    given = request.query_params.get("s")
    if given is not None:
        if not state.keys.is_console(given):
            raise RoomError(
                403, "That console address is not this room's. Use the one riskengine room printed."
            )
        response = _see_other("/console")  # the secret leaves the address bar and the history
        _cookie(response, C_COOKIE, given, strict=True)
        return response
    _console(state, request)
    page = state.views.page("console", "Console: " + state.room.scenario.scenario.title,
                            _console_fragment(state), live="/console", csrf=state.keys.csrf("c"))  # fmt: skip
    return HTMLResponse(page)


async def _console_live(state: RoomApp, request: Request) -> Response:
    _console(state, request)
    return _stream(state, "console", lambda: _console_fragment(state), state.staff, 0.25, limit=8)


async def _console_poll(state: RoomApp, request: Request) -> Response:
    _console(state, request)
    return _poll(request, _console_fragment(state))


async def _console_form(state: RoomApp, request: Request) -> dict[str, list[str]]:
    _console(state, request)
    return await _form(state, request, "c")


async def _act(state: RoomApp, request: Request) -> Response:
    form = await _console_form(state, request)
    action = _one(form, "action")
    if action == "debrief" and state.room.phase == Phase.DEBRIEF and not form.get("plan"):
        raise RoomError(422, "Tick at least one plan to show.")
    state.room.act(action, form.get("plan", []))
    state.changed(public=True)
    return _answer(request, _console_fragment(state), "/console")


async def _switch(state: RoomApp, request: Request) -> Response:
    form = await _console_form(state, request)
    name, _, value = _one(form, "switch").partition(":")
    if value not in ("on", "off"):
        raise RoomError(422, "A switch is turned 'on' or 'off'.")
    if name == "frozen" and value == "on":
        state.views.freeze()
    state.room.switch(name, value == "on")
    state.changed(public=True)  # the phones mirror the storyteller screen
    return _answer(request, _console_fragment(state), "/console")


async def _moderate(state: RoomApp, request: Request) -> Response:
    form = await _console_form(state, request)
    state.room.moderate(_one(form, "text"), _one(form, "decision"))
    state.changed(public=True)  # after the reveal the phones list the approved answers too
    return _answer(request, _console_fragment(state), "/console")


async def _offline(state: RoomApp, request: Request) -> Response:
    form = await _console_form(state, request)
    dp = state.room.dp
    if dp is None:
        raise RoomError(409, "There is no question at this stage.")
    counts: dict[str, int] = {}
    for name, values in form.items():
        if name.startswith("count-"):
            text = values[0].strip() or "0"
            if not text.isdigit():
                raise RoomError(422, "An offline count is a whole number, 0 or more.")
            counts[name.removeprefix("count-")] = int(text)
    round_ = _one(form, "round", "1")
    state.room.set_offline(dp.id, int(round_) if round_ in ("1", "2") else 0, counts)
    state.changed(public=True)
    return _answer(request, _console_fragment(state), "/console")


def _today() -> dt.date:
    """The export's date: the one clock read in the room (a session's results carry their day)."""
    return dt.date.today()


def _ended(state: RoomApp) -> None:
    if state.room.phase != Phase.ENDED:
        raise RoomError(409, "End the session first; then export the results.")
    if state.room.purged:
        raise RoomError(410, "Everything has been deleted; there is nothing left to export.")


async def _purge(state: RoomApp, request: Request) -> Response:
    await _console_form(state, request)
    if state.room.phase != Phase.ENDED:
        raise RoomError(409, "End the session first; then export and delete.")
    state.room.purge()
    state.views.frozen = None
    state.changed(public=True)
    return _answer(request, _console_fragment(state), "/console")


async def _export_json(state: RoomApp, request: Request) -> Response:
    _console(state, request)
    _ended(state)
    body = json.dumps(export_data(state.room, today=_today()), indent=2, ensure_ascii=False) + "\n"
    name = f"{state.room.scenario.id}-results.json"
    return Response(body, media_type="application/json",
                    headers={"content-disposition": f'attachment; filename="{name}"'})  # fmt: skip


async def _export_html(state: RoomApp, request: Request) -> Response:
    _console(state, request)
    _ended(state)
    css = (STATIC / "room.css").read_text(encoding="utf-8")
    html = state.views.env.get_template("export.html").render(
        data=export_data(state.room, today=_today()), css=css, lang=state.room.scenario.scenario.language
    )
    name = f"{state.room.scenario.id}-results.html"
    return HTMLResponse(html, headers={"content-disposition": f'attachment; filename="{name}"',
                                       "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'"})  # fmt: skip


# -- shared by every view ------------------------------------------------------------------


async def _qr(state: RoomApp, request: Request) -> Response:
    import segno

    target = state.views.join_url.rstrip("/") + "/?pin=" + state.room.pin
    buffer = io.BytesIO()
    segno.make(target, error="m").save(buffer, kind="svg", scale=8, border=2, dark="#000", light="#fff",
                                       title="QR code to join", svgclass="qr-svg")  # fmt: skip
    return Response(buffer.getvalue(), media_type="image/svg+xml")


async def _no_icon(state: RoomApp, request: Request) -> Response:
    return Response(status_code=204)


async def _health(state: RoomApp, request: Request) -> Response:
    return JSONResponse({"ok": True, "phase": state.room.phase.value, "debriefs": len(state.views.debriefs)})


def _poll(request: Request, fragment: Fragment) -> Response:
    if request.query_params.get("key") == fragment.key:
        return Response(status_code=204)
    return JSONResponse(fragment.to_json())


def _stream(state: RoomApp, client: str, render: Callable[[], Fragment], hub: Hub, settle: float,
            *, limit: int | None = None) -> Response:  # fmt: skip
    """Server-sent events: the fragment now, then again each time it changes."""
    most = limit or state.config.streams_per_client
    if state.streams[client] >= most:
        raise RoomError(429, f"At most {most} live connections per device. Close other tabs.")
    state.streams[client] += 1

    async def events() -> AsyncIterator[dict[str, str]]:
        last = None
        try:
            while True:
                changed = hub.current()
                seen = state.room.public_version
                fragment = render()
                if fragment.key != last:
                    last = fragment.key
                    yield {"event": "view", "data": fragment.data}
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 30)
                if settle and state.room.public_version == seen:
                    await asyncio.sleep(settle)  # votes: let a burst land, one render for many
        finally:
            state.streams[client] -= 1
            if state.streams[client] <= 0:
                del state.streams[client]

    return EventSourceResponse(events(), ping=15, headers={"cache-control": "no-store"})


async def _compute_debriefs(state: RoomApp) -> None:
    """Evaluate every plan at every decision point once, off the event loop."""
    from riskengine.training import debrief

    scenario = state.room.scenario
    for dp_id in scenario.points:
        try:
            result = await asyncio.wait_for(
                asyncio.to_thread(debrief, scenario, dp_id), state.config.debrief_timeout
            )
        except Exception as exc:  # the room runs on without this debrief; the console says so
            print(f"riskengine room: the debrief at {dp_id} failed: {type(exc).__name__}", file=sys.stderr)
            continue
        state.views.debriefs[dp_id] = result.to_dict()
        state.changed(public=True)


async def _purge_when_expired(state: RoomApp) -> None:
    every = min(30.0, state.config.purge_after_hours * 3600 / 4)
    while True:
        await asyncio.sleep(every)
        if not state.room.purged and state.room.expired():
            state.room.purge()
            state.views.frozen = None
            state.changed(public=True)
