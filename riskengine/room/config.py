"""The room's limits and switches, with the defaults ``riskengine room`` uses.

Imports: the standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RoomConfig"]


@dataclass(frozen=True)
class RoomConfig:
    """Where the room listens, what it lets in, and when it forgets."""

    host: str = "127.0.0.1"
    port: int = 8000
    join_url: str | None = None  # the address phones use (default: from host and port)
    max_participants: int = 300
    text_limit: int = 280  # characters in a written answer
    max_texts: int = 2000  # written answers held at once
    body_limit: int = 16 * 1024  # bytes in a request body
    rate_per_second: float = 5.0  # requests a client may make, on average
    rate_burst: int = 60  # and in a burst
    streams_per_client: int = 4  # open event streams a participant (or console) may hold
    min_group: int = 3  # a sector or role is shown only when at least this many share it
    purge_after_hours: float = 8.0
    debrief_timeout: float = 60.0  # seconds the engine may take for a decision point's debrief
