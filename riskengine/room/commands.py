"""``riskengine room SCENARIO``: run a live "What would you do?" session.

Imports nothing heavy at module level: the handler imports uvicorn and the app when run, and
says to install the ``room`` extra if they are missing.
"""

from __future__ import annotations

import argparse
import signal
import socket
from pathlib import Path
from typing import Any, TextIO

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``room``."""
    room = sub.add_parser("room", help='run a live "What would you do?" room: console, projector, phones')
    room.add_argument("scenario", type=Path, metavar="SCENARIO", help="a .scenario.yaml file")
    room.add_argument("--host", default="127.0.0.1",
                      help="address to listen on (default 127.0.0.1, this computer only; 0.0.0.0 lets phones on the network join)")  # fmt: skip
    room.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    room.add_argument("--join-url", default=None, metavar="URL",
                      help="the address phones use, shown on the projector and in the QR code")  # fmt: skip
    room.add_argument("--max-participants", type=int, default=300, metavar="N")
    room.add_argument("--purge-after-hours", type=float, default=8.0, metavar="HOURS",
                      help="delete everything this many hours after starting (default 8)")  # fmt: skip
    room.set_defaults(handler=_room)


def _join_url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::", ""):
        host = _lan_address()
    return f"http://{host if ':' not in host else '[' + host + ']'}:{port}/"


def _lan_address() -> str:
    """This computer's address on the local network (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the outgoing interface
            return str(sock.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def _room(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        import uvicorn

        from .app import create_app
        from .config import RoomConfig
    except ImportError as exc:
        err.write(f"riskengine room needs the room extra: pip install 'riskengine[room]' ({exc.name})\n")
        return 2
    from riskengine.training import load_scenario

    if args.max_participants < 1 or args.purge_after_hours <= 0:
        err.write("riskengine room: --max-participants and --purge-after-hours must be more than 0\n")
        return 2
    scenario = load_scenario(args.scenario)
    join_url = args.join_url or _join_url(args.host, args.port)
    config = RoomConfig(host=args.host, port=args.port, join_url=join_url,
                        max_participants=args.max_participants, purge_after_hours=args.purge_after_hours)  # fmt: skip
    app = create_app(scenario, config)
    state = app.state.room
    console = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}/console?s={state.keys.console}"
    out.write(
        f"riskengine room: {scenario.scenario.title}\n"
        f"  Facilitator console (keep this address to yourself): {console}\n"
        f"  Phones join at: {join_url}  PIN: {state.room.pin}\n"
        f"  Everything is kept in memory only, and deleted when you choose or after {args.purge_after_hours:g} hours.\n"
        "  Stop with Ctrl+C.\n"
    )
    out.flush()
    return _serve(uvicorn, app, args.host, args.port)


def _serve(uvicorn: Any, app: Any, host: str, port: int) -> int:
    signal.signal(signal.SIGTERM, lambda *_: None)
    signal.signal(signal.SIGINT, lambda *_: None)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            http="httptools",
            lifespan="on",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=30,  # phones that poll every 2 s keep their connection
        )
    )
    server.run()
    return 0 if server.started else 2
