"""``riskengine serve`` and ``riskengine log verify``.

Imports nothing heavy at module level: the handlers import uvicorn and the app when run
(``serve`` says to install the ``service`` extra if they are missing). ``log verify`` needs
no extra.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import Any, TextIO

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` and ``log``."""
    serve = sub.add_parser("serve", help="run the HTTP service (REST, CDS Hooks, decision log)")
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8080)")
    serve.add_argument("--workers", type=int, default=None, help="evaluation worker processes (default 2)")
    serve.add_argument("--rulesets", action="append", type=Path, default=None, metavar="DIR",
                       help="a rulesets directory (repeatable; default: the shipped rulesets)")  # fmt: skip
    serve.add_argument("--decision-log", type=Path, default=None, metavar="PATH",
                       help="append every evaluation and feedback to this hash-chained log")  # fmt: skip
    serve.add_argument("--config", type=Path, default=None, metavar="FILE", help="YAML or JSON configuration")
    serve.add_argument("--insecure", action="store_true", default=None,
                       help="allow a non-loopback address without authentication")  # fmt: skip
    serve.set_defaults(handler=_serve)

    log = sub.add_parser("log", help="decision log tools")
    log_sub = log.add_subparsers(dest="log_command", required=True, metavar="COMMAND")
    verify = log_sub.add_parser("verify", help="check a decision log's hash chain (all its rotated files)")
    verify.add_argument("path", type=Path, metavar="PATH")
    verify.add_argument("--expect-head", default=None, metavar="HASH",
                        help="the head hash recorded earlier: catches entries cut off the end")  # fmt: skip
    verify.add_argument("--format", choices=("text", "json"), default="text")
    verify.set_defaults(handler=_verify)


def _serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        import uvicorn

        from .app import create_app
        from .config import load_config
    except ImportError as exc:
        err.write(
            f"riskengine serve needs the service extra: pip install 'riskengine[service]' ({exc.name})\n"
        )
        return 2
    overrides = {"host": args.host, "port": args.port, "workers": args.workers, "rulesets": args.rulesets,
                 "decision_log": args.decision_log, "insecure": args.insecure}  # fmt: skip
    config = load_config(args.config, overrides)
    problems = config.startup_problems()
    if problems:
        for problem in problems:
            err.write(f"riskengine serve: {problem}\n")
        return 2
    # uvicorn re-raises the signal that stopped it once it has shut down gracefully; with these
    # handlers in place beforehand, that ends in a normal exit (0) instead of death by SIGTERM.
    signal.signal(signal.SIGTERM, lambda *_: None)
    signal.signal(signal.SIGINT, lambda *_: None)
    try:
        import uvloop

        return uvloop.run(_run(config, uvicorn, create_app, err))
    except ImportError:
        import asyncio

        return asyncio.run(_run(config, uvicorn, create_app, err))


async def _run(config: Any, uvicorn: Any, create_app: Any, err: TextIO) -> int:
    """Start the workers first (so a bad ruleset is a clean exit 2), then serve until signalled."""
    from .app import StartupError

    app = create_app(config)
    state = app.state.riskengine
    try:
        await state.startup()
    except StartupError as exc:
        err.write("\n".join(exc.lines) + "\n")
        return 2
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            http="httptools",
            lifespan="on",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=10,
        )
    )
    await server.serve()
    if not server.started:  # the port could not be bound, say (uvicorn has said why)
        await state.shutdown()
        return 2
    return 0


def _verify(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import json

    from .decisionlog import verify

    report = verify(args.path, expect_head=args.expect_head)
    if args.format == "json":
        out.write(json.dumps({"ok": report.ok, "files": report.files, "entries": report.entries,
                              "evaluations": report.evaluations, "feedback": report.feedback,
                              "head": report.head, "problems": report.problems}, indent=2) + "\n")  # fmt: skip
    else:
        for problem in report.problems:
            err.write(f"{problem}\n")
        state = "ok" if report.ok else "BROKEN"
        out.write(f"{state}: {report.entries} entries ({report.evaluations} evaluations, {report.feedback} "
                  f"feedback) in {len(report.files)} file(s); head {report.head}\n")  # fmt: skip
    return 0 if report.ok else 1
