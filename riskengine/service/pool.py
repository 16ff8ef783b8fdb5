"""A pool of worker processes, driven from the event loop without ever blocking it.

Each worker is a child process (``python -m riskengine.service.worker``) with its own
Engine, loaded once, talking length-prefixed frames over its stdin and stdout; asyncio
reads the pipes, so the event loop only waits. A worker answers one request at a time.

* A worker that dies mid-request (a crash in durable-rules' C code, SIGKILL, out of memory)
  is seen as end-of-file on its stdout: that request fails with :class:`WorkerLost` (the
  app answers 503 with ``Retry-After``) and a replacement is started. Nothing is retried on
  another worker, so a proposal that crashes workers cannot take the pool down in a loop.
* A request that takes longer than ``timeout`` kills its worker (a C loop cannot be
  interrupted any other way) and fails the same way. Waiting for a free worker counts
  towards the same deadline, and no more than ``max_queue`` requests wait at once.
* After ``recycle_after`` requests a worker is replaced: the new one is started first and
  the old one finishes what it is doing, then exits.

May import: the standard library and the service's :mod:`.protocol`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .protocol import HEADER, MAX_FRAME, decode, encode, sizes

__all__ = ["Pool", "PoolBusy", "PoolStartError", "WorkerLost"]


class WorkerLost(Exception):
    """The worker serving a request died or ran out of time; the request may be retried."""

    def __init__(self, reason: str, retry_after: int = 1) -> None:
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


class PoolBusy(WorkerLost):
    """No worker came free in time, or too many requests are waiting already."""


class PoolStartError(Exception):
    """A worker could not load the rulesets: ``diagnostics`` says why."""

    def __init__(self, message: str, diagnostics: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(message)
        self.diagnostics = list(diagnostics)


@dataclass(eq=False)
class _Worker:
    process: asyncio.subprocess.Process
    info: dict[str, Any] = field(default_factory=dict)
    served: int = 0
    busy: bool = False
    dead: bool = False
    retiring: bool = False
    retired: bool = False

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    async def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        size, length = sizes(await self.process.stdout.readexactly(HEADER.size))
        body = await self.process.stdout.readexactly(size)
        return decode(body, await self.process.stdout.readexactly(length) if length else b"")

    async def send(self, frame: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(frame)
        await self.process.stdin.drain()


class Pool:
    """``size`` workers started from ``argv``; :meth:`call` sends one request to a free one."""

    def __init__(
        self,
        argv: Sequence[str],
        size: int,
        *,
        timeout: float = 10.0,
        recycle_after: int = 100_000,
        max_queue: int = 512,
        start_timeout: float = 120.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.size = size
        self.timeout = timeout
        self.recycle_after = recycle_after
        self.max_queue = max_queue
        self.start_timeout = start_timeout
        self.env = env
        self.info: dict[str, Any] = {}
        self.replaced = 0
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers: set[_Worker] = set()
        self._waiting = 0
        self._closing = False
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        """Start every worker; raise :class:`PoolStartError` if one cannot load the rulesets."""
        results = await asyncio.gather(*(self._spawn() for _ in range(self.size)), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                await self.close()
                raise result
        for worker in results:
            assert isinstance(worker, _Worker)
            self._idle.put_nowait(worker)

    async def _spawn(self) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=self.env,
            limit=MAX_FRAME,
        )
        worker = _Worker(process)
        try:
            ready = await asyncio.wait_for(worker.read(), self.start_timeout)
        except (asyncio.IncompleteReadError, TimeoutError, ValueError):
            await self._kill(worker)
            raise PoolStartError("a worker exited or hung while loading the rulesets") from None
        if not ready.get("ready"):
            await self._kill(worker)
            raise PoolStartError("a worker could not load the rulesets", ready.get("diagnostics") or ())
        worker.info = ready
        self.info = ready
        self._workers.add(worker)
        self._track(asyncio.ensure_future(self._watch(worker)))
        return worker

    async def _watch(self, worker: _Worker) -> None:
        """When a worker exits on its own (crash, kill), start its replacement."""
        await worker.process.wait()
        worker.dead = True
        self._workers.discard(worker)
        if not worker.retired and not self._closing:
            self.replaced += 1
            await self._replace()

    async def _replace(self) -> None:
        delay = 0.1
        while not self._closing:
            try:
                worker = await self._spawn()
            except PoolStartError as exc:
                print(f"riskengine serve: {exc}; trying again in {delay:.1f} s", file=sys.stderr)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            if self._closing:
                await self._retire(worker)
                return
            self._idle.put_nowait(worker)
            return

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop every worker (closing stdin; killing any that does not exit in 5 s)."""
        self._closing = True
        workers = list(self._workers)
        await asyncio.gather(*(self._retire(w) for w in workers), return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _retire(self, worker: _Worker) -> None:
        worker.retired = True
        self._workers.discard(worker)
        if worker.process.stdin is not None and not worker.process.stdin.is_closing():
            worker.process.stdin.close()
        try:
            await asyncio.wait_for(worker.process.wait(), 5.0)
        except TimeoutError:
            await self._kill(worker)

    async def _kill(self, worker: _Worker) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.process.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            await worker.process.wait()

    # -- state ------------------------------------------------------------------------------
    @property
    def loaded(self) -> int:
        """Workers alive and loaded (one being recycled still counts until its successor is in)."""
        return sum(1 for w in self._workers if not (w.dead or w.retired))

    @property
    def ready(self) -> bool:
        """Every one of the ``size`` workers has loaded the rulesets."""
        return not self._closing and self.loaded >= self.size

    def status(self) -> dict[str, Any]:
        """For ``/readyz``: how many workers are loaded, busy, and how many were replaced."""
        return {
            "ready": self.ready,
            "workers": self.size,
            "loaded": self.loaded,
            "busy": sum(1 for w in self._workers if w.busy),
            "waiting": self._waiting,
            "replaced": self.replaced,
        }

    def pids(self) -> list[int]:
        """The live workers' process ids (for operators and tests)."""
        return sorted(w.pid for w in self._workers if not w.dead)

    # -- calls ------------------------------------------------------------------------------
    async def call(self, message: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        """Send ``message`` to a free worker and return its reply.

        Raises :class:`PoolBusy` when no worker comes free before the deadline (or too many
        requests wait), :class:`WorkerLost` when the worker dies or overruns the deadline.
        """
        deadline = time.monotonic() + (timeout or self.timeout)
        worker = await self._take(deadline)
        # The exchange runs as its own task: a cancelled request (a client gone) must not leave
        # a reply unread in the pipe for the next request to find.
        exchange = asyncio.ensure_future(self._exchange(worker, encode(message), deadline))
        return await asyncio.shield(exchange)

    async def _take(self, deadline: float) -> _Worker:
        if self._closing:
            raise PoolBusy("the service is shutting down", retry_after=5)
        if self._waiting >= self.max_queue:
            raise PoolBusy("too many requests are waiting for a worker")
        self._waiting += 1
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolBusy("no worker came free in time")
                try:
                    worker = await asyncio.wait_for(self._idle.get(), remaining)
                except TimeoutError:
                    raise PoolBusy("no worker came free in time") from None
                if worker.dead or worker.retired or worker.process.returncode is not None:
                    continue
                worker.busy = True
                return worker
        finally:
            self._waiting -= 1

    async def _exchange(self, worker: _Worker, frame: bytes, deadline: float) -> dict[str, Any]:
        try:
            await worker.send(frame)
            reply = await asyncio.wait_for(worker.read(), max(deadline - time.monotonic(), 0.001))
        except TimeoutError:
            worker.busy = False
            await self._kill(worker)  # _watch starts the replacement
            raise WorkerLost("the evaluation ran out of time", retry_after=1) from None
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError, ValueError):
            worker.busy = False
            await self._kill(worker)
            raise WorkerLost("the worker evaluating this request stopped", retry_after=1) from None
        worker.busy = False
        worker.served += 1
        self._release(worker)
        return reply

    def _release(self, worker: _Worker) -> None:
        if worker.retired:
            self._track(asyncio.ensure_future(self._retire(worker)))
            return
        if worker.served >= self.recycle_after and not worker.retiring:
            worker.retiring = True
            self._track(asyncio.ensure_future(self._recycle(worker)))
        self._idle.put_nowait(worker)

    async def _recycle(self, old: _Worker) -> None:
        """Start the successor first, then let the old worker go once it is idle."""
        try:
            new = await self._spawn()
        except PoolStartError as exc:
            print(f"riskengine serve: recycling a worker failed: {exc}", file=sys.stderr)
            old.retiring = False
            old.served = 0
            return
        old.retired = True
        self._idle.put_nowait(new)
        if not old.busy:
            await self._retire(old)
