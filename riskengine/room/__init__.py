"""riskengine.room: the live "What would you do?" room (the ``room`` extra).

One command, ``riskengine room SCENARIO``, serves three synchronised views of one session:
the facilitator's console (behind a secret), the projector, and participants' phones (join
by PIN or QR, no account). The server holds the one state (:class:`Room`); views update by
server-sent events, with polling as the fallback, and work as plain forms without JavaScript.
Everything is in memory, bounded, and deleted on request or after a set number of hours.

    from riskengine.training import load_scenario
    from riskengine.room import RoomConfig, create_app

    app = create_app(load_scenario("scenarios/training/back-to-college.scenario.yaml"), RoomConfig())

Imports: :mod:`riskengine.training` (its door) and this package's own modules; Starlette,
sse-starlette, Jinja2 and segno are loaded only when :func:`create_app` is.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .app import create_app
    from .config import RoomConfig
    from .state import Phase, Room, RoomError

__all__ = ["Phase", "Room", "RoomConfig", "RoomError", "create_app"]

_WHERE = {
    "create_app": "app",
    "RoomConfig": "config",
    "Phase": "state",
    "Room": "state",
    "RoomError": "state",
}


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'riskengine.room' has no attribute '{name}'")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
