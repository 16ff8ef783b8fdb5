"""The ASGI application: REST under ``/v1``, CDS Hooks 2.0, health, OpenAPI 3.1.

Nothing here evaluates: every evaluation, mapping and rendering is a message to the worker
pool, so the event loop only ever waits. Every error is an RFC 9457 problem; an unexpected
exception is a 500 problem with no traceback in it (the traceback goes to stderr).

May import: FastAPI/Starlette, pydantic, orjson, ``riskengine`` public names, and the
service modules (never the worker's).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sys
import time
import traceback
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import riskengine

from . import models
from ._batch import error_line
from .auth import BearerTokens, CdsVerifier, load_tokens
from .config import ServiceConfig
from .decisionlog import DecisionLog, mask
from .pool import Pool, PoolBusy, WorkerLost
from .problems import PROBLEM_JSON, ProblemError, diagnostics_from, status_for
from .protocol import PAYLOAD

__all__ = ["SERVICE_ID", "StartupError", "create_app"]

SERVICE_ID = "riskengine-plan-review"
ServiceId = Literal["riskengine-plan-review"]
_JSON_TYPES = {"application/json"}
_YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"}
_NDJSON_TYPES = {"application/x-ndjson", "application/ndjson", "application/jsonl"}
_BATCH_CHUNK = 32  # lines per task for a worker (fewer when fewer have arrived)
_BATCH_CHUNK_BYTES = 256 * 1024  # ... and no more than this much input in one task


def _prefetch() -> dict[str, str]:
    from riskengine import fhir

    return dict(fhir.PREFETCH)


# -- state ---------------------------------------------------------------------------------------
class Reports:
    """Evaluations kept in memory (never on disk) so card links can show them for a while."""

    def __init__(self, ttl: float, limit: int) -> None:
        self.ttl, self.limit = ttl, limit
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._cards: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def _trim(self, table: OrderedDict[str, tuple[float, str]]) -> None:
        now = time.monotonic()
        while table and (len(table) > self.limit or next(iter(table.values()))[0] < now):
            table.popitem(last=False)

    def keep(self, evaluation_id: str, evaluation: str, cards: list[str]) -> None:
        """Keep an evaluation, and which cards came from it, until the time-to-live passes."""
        if self.ttl <= 0 or self.limit <= 0:
            return
        expires = time.monotonic() + self.ttl
        self._items[evaluation_id] = (expires, evaluation)
        for card in cards:
            self._cards[card] = (expires, evaluation_id)
        self._trim(self._items)
        self._trim(self._cards)

    def get(self, evaluation_id: str) -> str | None:
        """The evaluation's JSON, if still kept."""
        self._trim(self._items)
        found = self._items.get(evaluation_id)
        return found[1] if found else None

    def evaluation_of(self, card: str) -> str | None:
        """The evaluation a card came from, if still known."""
        self._trim(self._cards)
        found = self._cards.get(card)
        return found[1] if found else None


class State:
    """What the routes share."""

    def __init__(self, config: ServiceConfig, argv: list[str], env: dict[str, str] | None) -> None:
        self.config = config
        self.pool = Pool(
            argv,
            config.workers,
            timeout=config.timeout_seconds,
            recycle_after=config.recycle_after,
            max_queue=config.max_queue,
            env=env,
        )
        self.log = (
            DecisionLog(
                config.decision_log.path,
                max_bytes=config.decision_log.max_bytes,
                fsync=config.decision_log.fsync,
            )
            if config.decision_log
            else None
        )
        self.tokens = BearerTokens(load_tokens(config.auth.tokens_file)) if config.auth.tokens_file else None
        self.verifier = CdsVerifier(config.auth) if config.auth.cds else None
        self.reports = Reports(config.report_ttl_seconds, config.report_store_max)
        self.base_url = config.base_url()
        self.started = False

    async def startup(self) -> None:
        """Start the workers and open the decision log (once); raise StartupError saying why not."""
        from .decisionlog import DecisionLogError
        from .pool import PoolStartError

        if self.started:
            return
        try:
            await self.pool.start()
        except PoolStartError as exc:
            lines = [_render_diagnostic(d) for d in exc.diagnostics]
            raise StartupError([*lines, f"riskengine serve: {exc}"]) from None
        if self.log is not None:
            try:
                self.log.open()
            except DecisionLogError as exc:
                await self.pool.close()
                raise StartupError([f"riskengine serve: decision log: {exc}"]) from None
            info = self.pool.info
            await self.log.write({"kind": "service-start", "workers": self.config.workers, "backend": info.get("backend"),
                                  "engine_version": info.get("engine_version"),
                                  "ruleset_set_sha256": info.get("set_sha256"), "rulesets": info.get("rulesets")})  # fmt: skip
        self.started = True
        print(orjson.dumps({"event": "ready", "url": self.base_url, "workers": self.config.workers,
                            "pids": self.pool.pids()}).decode(), file=sys.stderr, flush=True)  # fmt: skip

    async def shutdown(self) -> None:
        """Stop the workers and close the decision log."""
        await self.pool.close()
        if self.log is not None:
            self.log.close()

    def set_fields(self) -> dict[str, Any]:
        """What every decision log entry says about the rulesets and engine."""
        info = self.pool.info
        return {
            "engine_version": info.get("engine_version", riskengine.__version__),
            # one hash over every ruleset's id, version and file hash; the service-start entry
            # earlier in the same chain lists them one by one
            "ruleset_set_sha256": info.get("set_sha256"),
        }

    async def record(self, entry: dict[str, Any], raw: bytes | None = None, data: Any = None) -> None:
        """Append a decision log entry (if configured) and wait for its fsync."""
        if self.log is None:
            return
        if raw is not None:
            entry["input_sha256"] = hashlib.sha256(raw).hexdigest()
        if self.config.decision_log and self.config.decision_log.keep_input and raw is not None:
            entry["input"] = mask(data if data is not None else _loose(raw), self.config.decision_log.mask)
        try:
            await self.log.write(entry)
        except Exception as exc:  # not acknowledged: the caller must not be told it was recorded
            print(f"riskengine serve: decision log write failed: {exc}", file=sys.stderr)
            raise ProblemError(503, "decision-log-unavailable", "Service unavailable",
                               "the decision could not be recorded, so no answer is given",
                               headers={"Retry-After": "5"}) from None  # fmt: skip


class StartupError(Exception):
    """The service cannot start; ``lines`` say why (located ruleset problems first)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _render_diagnostic(d: Mapping[str, Any]) -> str:
    location = riskengine.Location(str(d.get("path", "")), int(d.get("line") or 0), int(d.get("column") or 0))
    return riskengine.Diagnostic(
        location, str(d.get("code")), str(d.get("field", "")), str(d.get("message"))
    ).render()


def _loose(raw: bytes) -> Any:
    """The body as data for the decision log's kept input (YAML read safely; text if neither)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        import yaml

        try:
            return yaml.safe_load(raw.decode("utf-8", "replace"))
        except yaml.YAMLError:
            return raw.decode("utf-8", "replace")


# -- helpers -------------------------------------------------------------------------------------
def _media(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ProblemError:
    return ProblemError(413, "too-large", "Request body too large", f"the body is over {limit} bytes")


def _text(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProblemError(400, "bad-encoding", "Unreadable body", f"the body is not UTF-8 (byte {exc.start})",
                           diagnostics=[{"pointer": "", "field": "", "code": "bad-encoding",
                                         "message": "not UTF-8", "severity": "error"}]) from None  # fmt: skip


def _unsupported(media: str, accepted: set[str]) -> ProblemError:
    return ProblemError(415, "unsupported-media-type", "Unsupported media type",
                        f"Content-Type {media or '(none)'} is not one of {', '.join(sorted(accepted))}")  # fmt: skip


def _unavailable(exc: WorkerLost) -> ProblemError:
    code = "busy" if isinstance(exc, PoolBusy) else "worker-lost"
    return ProblemError(503, code, "Service unavailable", f"{exc.reason}; nothing was evaluated, try again",
                        headers={"Retry-After": str(exc.retry_after)})  # fmt: skip


async def _call(state: State, message: dict[str, Any]) -> dict[str, Any]:
    try:
        reply = await state.pool.call(message)
    except WorkerLost as exc:
        raise _unavailable(exc) from None
    if reply.get("ok"):
        return reply
    if reply.get("code") == "invalid-input":
        raw = reply.get("diagnostics") or []
        status = status_for(raw)
        title = "Unreadable body" if status == 400 else "Invalid proposal"
        detail = f"{len(raw)} problem{'s' if len(raw) != 1 else ''} found in the request"
        raise ProblemError(status, "invalid-proposal" if status == 422 else "unreadable-body", title, detail,
                           diagnostics=diagnostics_from(raw, located=True))  # fmt: skip
    status = int(reply.get("status") or 500)
    raise ProblemError(status, str(reply.get("code") or "internal"), "Evaluation failed",
                       str(reply.get("detail") or "the evaluation failed"))  # fmt: skip


def _problem_response(exc: ProblemError, request: Request | None = None) -> Response:
    instance = request.url.path if request is not None else None
    return Response(exc.body(instance), status_code=exc.status, media_type=PROBLEM_JSON, headers=exc.headers)


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


# -- streaming NDJSON out without Starlette's disconnect listener (it would eat the request body) --
class _Ndjson(Response):
    media_type = "application/x-ndjson"

    def __init__(self, lines: AsyncIterator[bytes], headers: Mapping[str, str] | None = None) -> None:
        super().__init__(None, 200, dict(headers or {}), self.media_type)
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.lines = lines

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        try:
            async for piece in self.lines:
                await send({"type": "http.response.body", "body": piece, "more_body": True})
        except OSError:  # the client went away
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})


# -- the request log: one JSON line per request, never a body ------------------------------------
class RequestLog:
    """Pure ASGI middleware writing ``{"time", "method", "path", "status", "ms", ...}`` to stderr."""

    def __init__(self, app: ASGIApp, enabled: bool) -> None:
        self.app, self.enabled = app, enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        seen: dict[str, Any] = {"status": 0, "bytes": 0}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                for key, value in message.get("headers", ()):
                    if key == b"evaluation-id":
                        seen["evaluation_id"] = value.decode()
            elif message["type"] == "http.response.body":
                seen["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            line = {
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "event": "request",
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": seen["status"],
                "ms": round((time.perf_counter() - start) * 1000, 2),
                "bytes_out": seen["bytes"],
            }
            if "evaluation_id" in seen:
                line["evaluation_id"] = seen["evaluation_id"]
            sys.stderr.write(orjson.dumps(line).decode() + "\n")


# -- the app -------------------------------------------------------------------------------------
def create_app(config: ServiceConfig, *, worker_argv: list[str] | None = None,
               env: dict[str, str] | None = None) -> FastAPI:  # fmt: skip
    """The service for ``config``; workers start with the app's lifespan."""
    argv = worker_argv or _worker_argv(config)
    state = State(config, argv, env)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.startup()
        try:
            yield
        finally:
            await state.shutdown()

    app = FastAPI(
        title="riskengine",
        version=riskengine.__version__,
        summary="Positive risk-taking decision support. It prompts; it never decides or grades.",
        description=(
            "Evaluations of proposals (contract v1), CDS Hooks 2.0 cards, and a tamper-evident "
            "decision log. Errors are RFC 9457 problem details with located diagnostics."
        ),
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.riskengine = state
    _handlers(app)
    _rest_routes(app, state)
    _cds_routes(app, state)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(RequestLog, enabled=config.access_log)
    return app


def _worker_argv(config: ServiceConfig) -> list[str]:
    argv = [sys.executable, "-m", "riskengine.service.worker", "--backend", config.backend]
    for path in config.rulesets:
        argv += ["--rulesets", str(path)]
    if config.jurisdiction:
        argv += ["--jurisdiction", config.jurisdiction]
    return argv


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def problem(request: Request, exc: ProblemError) -> Response:
        return _problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if any(tuple(e.get("loc", ())) == ("path", "service_id") for e in exc.errors()):
            name = request.path_params.get("service_id", "")
            return _problem_response(ProblemError(404, "no-such-service", "Not found",
                                                  f"there is no CDS service {name!r}"), request)  # fmt: skip
        found = [
            {
                "pointer": "",
                "field": ".".join(str(p) for p in e.get("loc", ())),
                "code": "bad-parameter",
                "severity": "error",
                "message": str(e.get("msg")),
            }
            for e in exc.errors()
        ]
        return _problem_response(ProblemError(400, "bad-parameter", "Bad request parameter",
                                              "a path or query parameter is not valid", diagnostics=found), request)  # fmt: skip

    @app.exception_handler(StarletteHTTPException)
    async def http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed"}
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        error = ProblemError(exc.status_code, code, titles.get(exc.status_code, "HTTP error"), str(exc.detail),
                             headers=dict(exc.headers or {}))  # fmt: skip
        return _problem_response(error, request)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        traceback.print_exception(exc, file=sys.stderr)
        error = ProblemError(500, "internal", "Internal error", "an unexpected error; it has been logged")
        return _problem_response(error, request)


_PROBLEM = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    words = {400: "Unreadable body or parameter", 401: "Not authenticated",
             404: "Not found",
             413: "Body too large", 415: "Unsupported media type", 422: "Invalid proposal",
             503: "No worker could answer (Retry-After says when to try again)"}  # fmt: skip
    return {code: {"description": words[code], **_PROBLEM} for code in codes}


_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def _rest_routes(app: FastAPI, state: State) -> None:
    config = state.config

    def authorise(request: Request) -> None:
        if state.tokens is not None:
            state.tokens.check(request.headers.get("authorization"))

    body_schema = {"$ref": "#/components/schemas/Proposal"}

    @app.post(
        "/v1/evaluations",
        summary="Evaluate one proposal",
        description="The body is a proposal (JSON, or YAML with `application/yaml`). The JSON answer "
        "is byte-identical to `riskengine evaluate --format json`. `format=text` gives the practitioner's "
        "text report (`full=true`: every section), `format=person` the person's copy, each as the CLI prints it. The `Evaluation-Id` header names the decision "
        "log entry.",
        responses={
            200: {
                "description": "The evaluation",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Evaluation"}},
                    "text/plain": {"schema": {"type": "string"}},
                },
            },
            **_problems(400, 401, 413, 415, 422, 503),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": body_schema},
                    "application/yaml": {"schema": body_schema},
                },
            },
            "security": _BEARER,
        },
        response_class=Response,
    )
    async def evaluate(
        request: Request, format: Literal["json", "text", "person"] = "json", full: bool = False
    ) -> Response:
        authorise(request)
        media = _media(request)
        if media not in _JSON_TYPES | _YAML_TYPES:
            raise _unsupported(media, _JSON_TYPES | _YAML_TYPES)
        raw = await _body(request, config.max_body_bytes)
        text = _text(raw, "request")
        reply = await _call(state, {"op": "evaluate", "text": text,
                                    "media": "yaml" if media in _YAML_TYPES else "json",
                                    "format": "text-full" if format == "text" and full else format})  # fmt: skip
        body = str(reply["body"]).encode()
        evaluation_id = str(uuid.uuid4())
        await state.record({"kind": "evaluation", "route": "/v1/evaluations", "evaluation_id": evaluation_id,
                            "hook_instance": None, "format": format, **state.set_fields(),
                            "output_sha256": hashlib.sha256(body).hexdigest()}, raw)  # fmt: skip
        media_type = "application/json" if format == "json" else "text/plain; charset=utf-8"
        return Response(body, media_type=media_type, headers={"Evaluation-Id": evaluation_id})

    @app.post(
        "/v1/evaluations:batch",
        summary="Evaluate many proposals (NDJSON in, NDJSON out, streamed)",
        description="One proposal per line in; one record per line out, in order: "
        '`{"record":1,"input":"request:N","id":...,"evaluation":{...}}` or, for a line that cannot be '
        'evaluated, `{...,"errors":[...]}`; the lines after it go on. Blank lines are skipped.',
        responses={
            200: {
                "description": "One result line per input line",
                "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
            },
            **_problems(401, 413, 415, 503),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
            },
            "security": _BEARER,
        },
        response_class=Response,
    )
    async def batch(request: Request) -> Response:
        authorise(request)
        media = _media(request)
        if media not in _NDJSON_TYPES:
            raise _unsupported(media, _NDJSON_TYPES)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > config.max_batch_bytes:
            raise _too_large(config.max_batch_bytes)
        if not state.pool.ready and state.pool.loaded == 0:
            raise _unavailable(PoolBusy("no worker is loaded yet", retry_after=2))
        return _Ndjson(_batch_lines(state, request))

    @app.get("/v1/rulesets", summary="The loaded rulesets", response_model=models.RulesetListing,
             responses=_problems(401), openapi_extra={"security": _BEARER})  # fmt: skip
    async def rulesets(request: Request) -> Response:
        authorise(request)
        info = state.pool.info
        return _json({"engine_version": info.get("engine_version"), "backend": info.get("backend"),
                      "set_sha256": info.get("set_sha256"), "rulesets": info.get("rulesets", [])})  # fmt: skip

    schemas: dict[str, bytes] = {}

    @app.get("/v1/schemas/{name}", summary="JSON Schema of a contract document",
             responses={200: {"description": "A JSON Schema", "content": {"application/schema+json": {
                 "schema": {"type": "object"}}}}, **_problems(400, 401)},
             openapi_extra={"security": _BEARER}, response_class=Response)  # fmt: skip
    async def schema(request: Request, name: Literal["proposal", "evaluation"]) -> Response:
        authorise(request)
        if name not in schemas:
            model = riskengine.Proposal if name == "proposal" else riskengine.Evaluation
            schemas[name] = orjson.dumps(riskengine.json_schema(model, name), option=orjson.OPT_SORT_KEYS)
        return Response(schemas[name], media_type="application/schema+json")

    @app.get("/v1/reports/{evaluation_id}/{audience}", summary="A CDS card's linked report",
             description="The practitioner's report or the person's copy of an evaluation made by a hook "
             "call, for `report_ttl_seconds` after it (kept in memory only). The unguessable id is the "
             "credential: these are opened from a card in a browser.",
             responses={200: {"description": "The report", "content": {"text/plain": {"schema": {"type": "string"}}}},
                        **_problems(400, 404, 503)}, response_class=Response)  # fmt: skip
    async def report(evaluation_id: uuid.UUID, audience: Literal["practitioner", "person"]) -> Response:
        evaluation = state.reports.get(str(evaluation_id))
        if evaluation is None:
            raise ProblemError(
                404, "report-gone", "Not found", "no such evaluation, or its time to be shown has passed"
            )
        fmt = "person" if audience == "person" else "text-full"
        reply = await _call(state, {"op": "render", "evaluation": evaluation, "format": fmt})
        return Response(str(reply["body"]), media_type="text/plain; charset=utf-8")

    @app.get("/healthz", summary="The server process is up", response_model=models.Health)
    async def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/readyz", summary="Every worker has loaded the rulesets", response_model=models.Readiness,
             responses={503: {"description": "Not every worker is loaded",
                              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}}})  # fmt: skip
    async def readyz() -> Response:
        status = state.pool.status()
        return _json(status, 200 if status["ready"] else 503)


async def _batch_lines(state: State, request: Request) -> AsyncIterator[bytes]:
    """Read the body line by line, evaluate in chunks on the pool, yield the answers in order.

    The body is read by a task of its own, ahead of the answers, into memory (at most
    ``max_batch_bytes``): a client that sends its whole body before reading (most do) must not
    be left waiting on a server that is waiting for it to read. A chunk's answers come back
    from its worker as one buffer and go out as one piece of the response, unread.
    """
    pending: deque[asyncio.Future[bytes]] = deque()
    in_flight = state.config.batch_in_flight
    lines = _Lines()
    reader = asyncio.ensure_future(_read_ahead(request, state.config, lines))
    try:
        while (group := await lines.take(_BATCH_CHUNK, _BATCH_CHUNK_BYTES)) is not None:
            if isinstance(group, bytes):
                pending.append(_done(group))
            else:
                pending.append(asyncio.ensure_future(_batch_chunk(state, *group)))
            while len(pending) >= in_flight or (pending and pending[0].done()):
                yield await pending.popleft()
        while pending:
            yield await pending.popleft()
    finally:
        reader.cancel()
        for task in pending:
            task.cancel()


_Group = tuple[list[int], list[int], bytes]  # request line numbers, their sizes, their bytes


class _Lines:
    """The body's lines as the read-ahead task finds them, taken by the answering side in chunks."""

    def __init__(self) -> None:
        self._items: deque[tuple[int, bytes | None, str]] = deque()  # (line, bytes, why unreadable)
        self._more = asyncio.Event()
        self._closed = False

    def put(self, number: int, raw: bytes | None, problem: str = "") -> None:
        """Line ``number``: its bytes, or None and why it cannot be read."""
        self._items.append((number, raw, problem))
        self._more.set()

    def close(self) -> None:
        """No more lines."""
        self._closed = True
        self._more.set()

    async def take(self, most: int, most_bytes: int) -> _Group | bytes | None:
        """The next lines to evaluate (at most ``most`` of them, or ``most_bytes``; fewer if no
        more have come in yet), or the error line for an unreadable one; None after the last."""
        while not self._items:
            if self._closed:
                return None
            self._more.clear()
            await self._more.wait()
        number, raw, problem = self._items[0]
        if raw is None:
            self._items.popleft()
            return error_line(number, "unreadable-line", problem)
        numbers: list[int] = []
        sizes: list[int] = []
        parts: list[bytes] = []
        total = 0
        while self._items and len(numbers) < most and total < most_bytes:
            number, raw, _ = self._items[0]
            if raw is None:
                break
            self._items.popleft()
            numbers.append(number)
            sizes.append(len(raw))
            parts.append(raw)
            total += len(raw)
        return numbers, sizes, b"".join(parts)


async def _read_ahead(request: Request, config: ServiceConfig, out: _Lines) -> None:
    """Put each non-blank line on ``out`` as it arrives; close it at the end (or past the size limit)."""
    total = 0
    try:
        async for number, raw in _split_lines(request, config.max_body_bytes):
            if raw is None:
                out.put(number, None, f"the line is over {config.max_body_bytes} bytes")
                continue
            total += len(raw) + 1
            if total > config.max_batch_bytes:
                message = (
                    f"the batch is over {config.max_batch_bytes} bytes: this line and the rest were not read"
                )
                out.put(number, None, message)
                return
            if raw.strip():
                out.put(number, raw)
    except Exception as exc:  # the client went away mid-body, say
        out.put(0, None, f"the body could not be read to the end: {type(exc).__name__}")
    finally:
        out.close()


async def _batch_chunk(state: State, numbers: list[int], sizes: list[int], lines: bytes) -> bytes:
    """Evaluate a few lines on one worker: their answers, one after another."""
    message = {"op": "batch", "numbers": numbers, "sizes": sizes, PAYLOAD: lines}
    try:
        reply = await state.pool.call(message)
    except WorkerLost as exc:
        return b"".join(
            error_line(n, "worker-lost", f"{exc.reason}; this line was not evaluated") for n in numbers
        )
    index: list[list[Any]] = reply.get("lines") or []
    out: bytes = reply.get(PAYLOAD, b"")
    if not reply.get("ok") or len(index) != len(numbers) or sum(size for size, _ in index) != len(out):
        detail = str(reply.get("detail") or "the worker's answer did not match the lines sent")
        return b"".join(error_line(n, "internal", detail) for n in numbers)
    if state.log is None:  # nothing to record: no entry to build (a uuid and a hash of each answer)
        return out
    return await _logged(state, numbers, sizes, lines, index, out)


async def _logged(
    state: State, numbers: list[int], sizes: list[int], lines: bytes, index: list[list[Any]], out: bytes
) -> bytes:
    """Log each evaluated line of a chunk (one group commit for all); a line whose entry could not
    be written is answered with an error line instead."""
    view = memoryview(out)
    evaluated: list[tuple[int, bytes, memoryview]] = []
    answers: list[tuple[int, memoryview]] = []
    at_in = at_out = 0
    for n, size, (length, is_evaluation) in zip(numbers, sizes, index, strict=True):
        answer = view[at_out : at_out + length]
        answers.append((n, answer))
        if is_evaluation:
            evaluated.append((n, lines[at_in : at_in + size], answer))
        at_in, at_out = at_in + size, at_out + length
    entries = [
        state.record(
            {
                "kind": "evaluation",
                "route": "/v1/evaluations:batch",
                "evaluation_id": str(uuid.uuid4()),
                "hook_instance": None,
                "line": n,
                **state.set_fields(),
                "output_sha256": hashlib.sha256(answer).hexdigest(),
            },
            raw,
        )
        for n, raw, answer in evaluated
    ]
    results = await asyncio.gather(*entries, return_exceptions=True)
    failed = {
        n for (n, _, _), result in zip(evaluated, results, strict=True) if isinstance(result, BaseException)
    }
    if not failed:
        return out
    message = "the decision could not be recorded, so no answer is given"
    return b"".join(
        error_line(n, "decision-log-unavailable", message) if n in failed else answer for n, answer in answers
    )


def _done(lines: bytes) -> asyncio.Future[bytes]:
    future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
    future.set_result(lines)
    return future


async def _split_lines(request: Request, limit: int) -> AsyncIterator[tuple[int, bytes | None]]:
    """(line number, bytes) for each line; bytes None for a line over ``limit`` (skipped whole)."""
    buffer, number, skipping = b"", 0, False
    async for chunk in request.stream():
        buffer = buffer + chunk if buffer else chunk
        start = 0
        while (cut := buffer.find(b"\n", start)) >= 0:
            line, start = buffer[start:cut], cut + 1
            if skipping:
                skipping = False
                continue
            number += 1
            yield number, line.rstrip(b"\r")
        buffer = buffer[start:]
        if len(buffer) > limit:
            if not skipping:
                number += 1
                yield number, None
            skipping, buffer = True, b""
    if buffer and not skipping:
        number += 1
        yield number, buffer.rstrip(b"\r")


def _cds_routes(app: FastAPI, state: State) -> None:
    config = state.config

    async def authorise(request: Request, service_id: str) -> dict[str, Any] | None:
        if state.verifier is None:
            return None
        audience = f"{state.base_url}/cds-services/{service_id}"
        return await state.verifier.verify(request.headers.get("authorization"), audience)

    def service(service_id: str) -> None:
        if service_id != SERVICE_ID:
            raise ProblemError(404, "no-such-service", "Not found", f"there is no CDS service {service_id!r}")

    @app.get("/cds-services", summary="CDS Hooks discovery", response_model=models.CdsDiscovery)
    async def discovery() -> Response:
        return _json({"services": [{
            "hook": "patient-view",
            "id": SERVICE_ID,
            "title": "Positive risk-taking plan review",
            "description": "Prompts for a shared decision about something the person wants to do, from their "
            "draft care plan, goals, network and consent: what to talk through, what could help, what the law "
            "says, and who the plan leans on. It never grades or decides.",
            "prefetch": _prefetch(),
            "usageRequirements": "Send every prefetch item: this service fetches nothing from the FHIR server.",
        }]})  # fmt: skip

    @app.post("/cds-services/{service_id}", summary="CDS Hooks call (patient-view)",
              response_model=models.CdsResponse, responses=_problems(400, 401, 404, 413, 415, 422, 503),
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/CdsRequest"}}}}})  # fmt: skip
    async def hook(request: Request, service_id: ServiceId) -> Response:
        service(service_id)
        await authorise(request, service_id)
        raw = await _cds_body(request, config.max_body_bytes)
        call = _cds_document(raw, models.CdsRequest)
        data = call.model_dump(mode="json", exclude_none=True)
        evaluation_id = str(uuid.uuid4())
        reports = f"{state.base_url}/v1/reports/{evaluation_id}"
        links = [
            {"label": "Full practitioner report", "url": f"{reports}/practitioner", "type": "absolute"},
            {"label": "The person's copy, in plain English", "url": f"{reports}/person", "type": "absolute"},
        ]
        data.pop("fhirAuthorization", None)  # credentials are never passed on or logged
        message = {"op": "cds", "request": data, "links": links if config.report_ttl_seconds > 0 else []}
        reply = await _call(state, message)
        cards: list[dict[str, Any]] = reply["cards"]
        if reply.get("result") == "evaluated":
            state.reports.keep(evaluation_id, str(reply["evaluation"]), [c["uuid"] for c in cards])
        await state.record({"kind": "evaluation", "route": f"/cds-services/{service_id}",
                            "evaluation_id": evaluation_id, "hook_instance": call.hookInstance,
                            "result": reply.get("result"), "missing_prefetch": reply.get("missing", []),
                            **state.set_fields(), "output_sha256": reply.get("output_sha256"),
                            "cards": [{"uuid": c["uuid"], "summary": c["summary"]} for c in cards]},
                           raw, data)  # fmt: skip
        return _json({"cards": cards}, headers={"Evaluation-Id": evaluation_id})

    @app.post("/cds-services/{service_id}/feedback", summary="CDS Hooks feedback on cards",
              description="Accepted and overridden cards, with override reasons and comments, go to the decision "
              "log: in positive risk-taking the documented choice is the point.",
              responses={200: {"description": "Recorded", "content": {"application/json": {"schema": {"type": "object"}}}},
                         **_problems(400, 401, 404, 413, 415, 422, 503)},
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/CdsFeedback"}}}}}, response_class=Response)  # fmt: skip
    async def feedback(request: Request, service_id: ServiceId) -> Response:
        service(service_id)
        await authorise(request, service_id)
        raw = await _cds_body(request, config.max_body_bytes)
        document = _cds_document(raw, models.CdsFeedback)
        keep = config.decision_log is None or config.decision_log.keep_comments
        outcomes = []
        for item in document.feedback:
            reason = item.overrideReason
            outcomes.append({
                "card": item.card,
                "evaluation_id": state.reports.evaluation_of(item.card),
                "outcome": item.outcome,
                "accepted_suggestions": [s.id for s in item.acceptedSuggestions],
                "override_reason": reason.reason.model_dump(exclude_none=True) if reason and reason.reason else None,
                "comment": (reason.userComment if keep else "[not kept]") if reason and reason.userComment else None,
                "outcome_time": item.outcomeTimestamp,
            })  # fmt: skip
        evaluations = sorted({o["evaluation_id"] for o in outcomes if o["evaluation_id"]})
        await state.record({"kind": "feedback", "route": f"/cds-services/{service_id}/feedback",
                            "evaluation_id": evaluations[0] if len(evaluations) == 1 else None,
                            "evaluation_ids": evaluations, "hook_instance": None, "outcomes": outcomes,
                            "engine_version": riskengine.__version__}, raw, None if keep else {})  # fmt: skip
        return _json({"recorded": len(outcomes)})


async def _cds_body(request: Request, limit: int) -> bytes:
    media = _media(request)
    if media not in _JSON_TYPES:
        raise _unsupported(media, _JSON_TYPES)
    return await _body(request, limit)


def _cds_document(raw: bytes, model: type[Any]) -> Any:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProblemError(400, "unreadable-body", "Unreadable body", f"the body is not JSON: {exc}",
                           diagnostics=[{"pointer": "", "field": "", "code": "json-syntax", "severity": "error",
                                         "message": str(exc)}]) from None  # fmt: skip
    try:
        document = model.model_validate(data)
    except ValidationError as exc:
        found = [{"pointer": "".join(f"/{p}" for p in e["loc"]), "field": ".".join(str(p) for p in e["loc"]),
                  "code": "invalid", "severity": "error", "message": e["msg"]} for e in exc.errors()]  # fmt: skip
        raise ProblemError(422, "invalid-cds-request", "Invalid CDS Hooks document",
                           f"{len(found)} problem(s) in the request", diagnostics=found) from None  # fmt: skip
    return document


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's description, plus the contract documents and the problem shape as components."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    from .problems import Problem

    document = get_openapi(title=app.title, version=app.version, summary=app.summary, description=app.description,
                           routes=app.routes)  # fmt: skip
    components = document.setdefault("components", {}).setdefault("schemas", {})
    _, defs = models_json_schema(
        [
            (riskengine.Proposal, "validation"),
            (riskengine.Evaluation, "serialization"),
            (Problem, "serialization"),
            (models.CdsRequest, "validation"),
            (models.CdsFeedback, "validation"),
            (models.Readiness, "serialization"),
        ],
        ref_template="#/components/schemas/{model}",
        by_alias=True,
    )
    for name, schema in defs.get("$defs", {}).items():
        components.setdefault(name, schema)
    document["components"]["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "REST: a token from the configured tokens file. CDS Hooks: the client's signed JWT.",
        },
    }
    app.openapi_schema = document
    return document
