"""Secrets, CSRF tokens, rate limits, bounded bodies and the security headers.

The console secret is 256 random bits, compared in constant time. Every form carries a CSRF
token tied to who may send it (the join form, one participant, the console), checked in
constant time, and a request another site sends (``Origin`` or ``Sec-Fetch-Site``) is refused.
Each client (a participant's token, else its address) gets a token bucket.

Imports: the standard library and Starlette.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from urllib.parse import parse_qs

from starlette.requests import Request

from .state import RoomError

__all__ = ["CSP", "HEADERS", "Buckets", "Keys", "read_form", "same_origin"]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cache-control": "no-store",
}


class Keys:
    """The room's secrets: the console's, the projector's, and the key CSRF tokens are made with."""

    def __init__(self, console: str | None = None) -> None:
        self.console = console or secrets.token_urlsafe(32)
        self.projector = secrets.token_urlsafe(24)
        self._key = secrets.token_bytes(32)

    def csrf(self, who: str) -> str:
        """The CSRF token for a form sent by ``who`` (``join``, ``c`` or ``p:<token>``)."""
        return hmac.new(self._key, who.encode(), hashlib.sha256).hexdigest()[:32]

    def check_csrf(self, who: str, given: str) -> None:
        """Refuse (403) a form whose token is not ``who``'s."""
        if not hmac.compare_digest(self.csrf(who).encode(), given.encode()):
            raise RoomError(
                403, "This form has expired or came from somewhere else. Reload the page and try again."
            )

    def is_console(self, given: str | None) -> bool:
        """Constant-time check of the console secret."""
        return given is not None and hmac.compare_digest(self.console.encode(), given.encode())

    def is_projector(self, given: str | None) -> bool:
        """Constant-time check of the projector's view key."""
        return given is not None and hmac.compare_digest(self.projector.encode(), given.encode())


class Buckets:
    """A token bucket per client, the least recently used forgotten past ``size`` clients."""

    def __init__(self, rate: float, burst: int, size: int = 20_000) -> None:
        self.rate, self.burst, self.size = rate, float(burst), size
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str, *, scale: float = 1.0) -> None:
        """Spend one token, or refuse with 429."""
        now = time.monotonic()
        burst = self.burst * scale
        tokens, then = self._buckets.pop(client, (burst, now))
        tokens = min(burst, tokens + (now - then) * self.rate * scale)
        if tokens < 1:
            self._buckets[client] = (tokens, now)
            raise RoomError(429, "Too many requests from this device. Wait a few seconds and try again.")
        self._buckets[client] = (tokens - 1, now)
        while len(self._buckets) > self.size:
            self._buckets.popitem(last=False)


def same_origin(request: Request) -> None:
    """Refuse (403) a state-changing request sent by another site."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise RoomError(403, "Requests from other sites are refused.")
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            raise RoomError(403, "Requests from other sites are refused.")
    elif origin == "null":
        raise RoomError(403, "Requests from other sites are refused.")


async def read_form(request: Request, limit: int) -> dict[str, list[str]]:
    """An URL-encoded form body, at most ``limit`` bytes (413 beyond it, 415 for other kinds)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise RoomError(415, "Send the form as application/x-www-form-urlencoded.")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise RoomError(413, f"The request is too large (the limit is {limit} bytes).")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RoomError(413, f"The request is too large (the limit is {limit} bytes).")
    try:
        text = body.decode("utf-8")
        return parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise RoomError(400, "The form could not be read (it is not UTF-8 URL-encoded text).") from None
