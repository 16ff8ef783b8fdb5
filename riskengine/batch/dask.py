"""Batch and impact runs on a Dask distributed cluster (the ``dask`` extra): ``--dask ADDRESS``.

Dask distributed is the Python ecosystem's established engine for running Python functions
on a cluster of worker processes: it schedules, moves data over TCP, notices lost workers and
reruns their tasks, and is what a trust's data team is most likely to run already.

How a run goes:

* **Rulesets travel by content hash.** The client reads each rulesets folder into a
  :class:`RulesetFolder` (every file's bytes, and a SHA-256 over them all); the shipped
  folder travels as its hash alone, since every worker has its own copy. A worker plugin
  (:class:`EnginePlugin`) receives them, writes overlay folders to a directory named by the
  hash, checks every hash (its own shipped folder's too), loads the rulesets, and checks
  that the rulesets it loaded are, id, version and SHA-256, the ones the client loaded. It
  does this once per worker (and again on a worker that replaces a lost one), not per task;
  a worker whose rulesets differ fails the run with a message saying which.
* **Proposals go in chunks** (``chunk_items`` each, 64 by default) as tasks; at most ``in_flight`` chunks
  per worker are submitted or waiting to be written at any time, so memory on the client
  does not grow with the corpus.
* **Results come back in input order**: chunks complete in any order, their results are
  fetched in the background as they finish (``distributed.as_completed(with_results=True)``),
  and wait in a reorder buffer, bounded by the same limit,
  until every earlier chunk has been written.
* **A lost worker's chunks are retried**: Dask reruns the tasks of a worker that dies; a
  chunk whose task Dask gives up on (``KilledWorker``) or loses is submitted again under a
  new key, up to ``retries`` times. Each chunk's results are written once, when it is next
  in order, whichever attempt produced them, so a retry can never duplicate output.

``--dask local:N`` starts a :class:`distributed.LocalCluster` of N worker processes, one
thread each, talking TCP on loopback: the same path as a real cluster, on one machine.

May import: the door (``riskengine``), the batch modules, and ``distributed`` (the commands
import this module only for ``--dask``, so the command line starts without the extra).
The worker plugin hands the engine it loaded and verified to the executor's
:func:`~riskengine.batch.executor.install_engine`, so the executor's own ``run_chunk`` finds it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import os
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import riskengine

from .executor import (
    CHUNK_ITEMS,
    RulesetSpec,
    Task,
    chunked,
    engines_for,
    install_engine,
    ruleset_digest,
    run_chunk,
)
from .inputs import Item

__all__ = [
    "DaskExecutor",
    "DaskUnavailable",
    "EnginePlugin",
    "RulesetFolder",
    "ShippedRulesets",
]

R = TypeVar("R")


class DaskUnavailable(riskengine.RiskEngineError):
    """The ``dask`` extra is not installed, or the cluster cannot be reached."""


@dataclass(frozen=True)
class RulesetFolder:
    """A rulesets folder by content: ``shipped`` (hash only) or an ``overlay`` (hash and files)."""

    origin: Literal["shipped", "overlay"]
    digest: str
    files: tuple[tuple[str, bytes], ...] = ()

    @classmethod
    def read(cls, path: Path | str) -> RulesetFolder:
        folder = Path(path)
        files = _folder_files(folder)
        origin: Literal["shipped", "overlay"] = (
            "shipped" if folder.resolve() == riskengine.default_rulesets_dir().resolve() else "overlay"
        )
        return cls(origin, _digest(files), () if origin == "shipped" else files)

    def materialise(self, root: Path) -> Path:
        """The folder on this machine, its hash checked: the shipped one, or written under ``root``."""
        if self.origin == "shipped":
            here = riskengine.default_rulesets_dir()
            found = _digest(_folder_files(here))
            if found != self.digest:
                raise _mismatch(
                    f"this worker's shipped rulesets have hash {found[:12]}, the client's {self.digest[:12]}"
                )
            return here
        if _digest(self.files) != self.digest:
            raise _mismatch(f"the overlay received does not match its hash {self.digest[:12]}")
        target = root / self.digest
        if not target.is_dir():
            staging = Path(tempfile.mkdtemp(dir=root, prefix=".incoming-"))
            for name, data in self.files:
                (staging / name).parent.mkdir(parents=True, exist_ok=True)
                (staging / name).write_bytes(data)
            with contextlib.suppress(OSError):  # another process on this machine got there first
                os.replace(staging, target)
        if _digest(_folder_files(target)) != self.digest:
            raise _mismatch(f"the overlay written to {target} does not match its hash")
        return target


@dataclass(frozen=True)
class ShippedRulesets:
    """A :class:`RulesetSpec` as it travels to workers: its folders by content, and what loading
    them must give (each ruleset's id, version and SHA-256, from the client's own load)."""

    spec: RulesetSpec
    folders: tuple[RulesetFolder, ...]
    expected: tuple[str, ...]
    engine_version: str

    @classmethod
    def of(cls, spec: RulesetSpec) -> ShippedRulesets:
        """Read ``spec``'s folders here; load them here to know what the workers must load."""
        paths = list(spec.paths) or [str(riskengine.default_rulesets_dir())]
        engine = engines_for([spec])[0]
        folders = tuple(RulesetFolder.read(p) for p in paths)
        return cls(spec, folders, _fingerprint(engine.book), riskengine.__version__)

    def install(self, root: Path) -> None:
        """On a worker: write, check and load the rulesets, for ``run_chunk`` to find by hash."""
        if self.engine_version != riskengine.__version__:
            raise _mismatch(
                f"this worker runs riskengine {riskengine.__version__}, the client {self.engine_version}"
            )
        paths = [str(folder.materialise(root)) for folder in self.folders]
        found = ruleset_digest(paths)
        if found != self.spec.digest:
            raise _mismatch(
                f"the rulesets on this worker have hash {found[:12]}, the client's {self.spec.digest[:12]}"
            )
        local = RulesetSpec(tuple(paths), found, self.spec.backend)
        engine = engines_for([local])[0]
        loaded = _fingerprint(engine.book)
        if loaded != self.expected:
            raise _mismatch(f"this worker loaded {', '.join(loaded)}; the client {', '.join(self.expected)}")
        install_engine(self.spec, engine)


def _plugin_base() -> type:
    try:
        from distributed.diagnostics.plugin import WorkerPlugin
    except ImportError:  # pragma: no cover - the extra is installed for the tests
        return object
    return WorkerPlugin


class EnginePlugin(_plugin_base()):  # type: ignore[misc]
    """Loads each ruleset spec's engine once on every worker, and on every worker that joins later."""

    def __init__(self, shipped: Sequence[ShippedRulesets]) -> None:
        self.shipped = tuple(shipped)
        keys = "".join(f"{s.spec.digest}{s.spec.backend}" for s in self.shipped)
        self.name = "riskengine-" + hashlib.sha256(keys.encode()).hexdigest()[:16]

    def setup(self, worker: Any = None) -> None:
        root = (
            Path(tempfile.gettempdir()) / f"riskengine-rulesets-{os.getuid() if hasattr(os, 'getuid') else 0}"
        )
        root.mkdir(mode=0o700, exist_ok=True)
        for shipped in self.shipped:
            shipped.install(root)


class DaskExecutor:
    """The :class:`~riskengine.batch.executor.Executor` protocol on a Dask cluster.

    ``address`` is a scheduler address (``tcp://host:8786``) or ``local:N`` for a LocalCluster
    of N worker processes on loopback. Use it as a context manager (it closes what it opened).
    """

    def __init__(
        self, address: str, *, chunk_items: int = CHUNK_ITEMS, in_flight: int = 4, retries: int = 3
    ) -> None:
        distributed = _distributed()
        self.chunk_items, self.in_flight, self.retries = chunk_items, in_flight, retries
        self._cluster: Any = None
        self._registered: set[str] = set()
        wanted = 1
        if address.startswith("local:"):
            wanted = _count(address)
            self._cluster = distributed.LocalCluster(
                n_workers=wanted, threads_per_worker=1, processes=True, host="127.0.0.1",
                protocol="tcp://", dashboard_address=None, silence_logs=logging.ERROR,
            )  # fmt: skip
            address = self._cluster.scheduler_address
        try:
            self.client: Any = distributed.Client(address, timeout="20s")
            self.client.wait_for_workers(wanted, timeout=120)
        except (OSError, TimeoutError) as exc:
            self.close()
            raise _unavailable(
                f"cannot reach the Dask scheduler at {address}, or it has no workers: {exc}"
            ) from exc
        self.workers = len(self.client.scheduler_info(n_workers=-1)["workers"])

    def prepare(self, rulesets: Sequence[RulesetSpec]) -> None:
        """Load the rulesets on every worker (and every worker that joins), once per set of specs."""
        plugin = EnginePlugin([ShippedRulesets.of(spec) for spec in rulesets])
        if plugin.name not in self._registered:
            self.client.register_plugin(plugin, name=plugin.name)
            self._registered.add(plugin.name)

    def map_chunks(self, task: Task[R], items: Iterable[Item]) -> Iterator[list[R]]:
        """Each chunk's results in input order, with at most ``in_flight`` chunks per worker held."""
        self.prepare(task.rulesets)
        limit = max(2, self.in_flight * max(1, self.workers))
        run = _Run(self.client, task, chunked(items, self.chunk_items), limit, self.retries)
        try:
            yield from run
        finally:
            run.cancel()

    def map_ordered(self, task: Task[R], items: Iterable[Item]) -> Iterator[R]:
        for results in self.map_chunks(task, items):
            yield from results

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()
            self._cluster = None

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Run(Generic[R]):
    """One ordered map: at most ``limit`` chunks submitted or waiting in the reorder buffer."""

    def __init__(
        self, client: Any, task: Task[R], chunks: Iterator[list[Item]], limit: int, retries: int
    ) -> None:
        self.client, self.task, self.chunks, self.limit, self.retries = client, task, chunks, limit, retries
        self.tag = uuid.uuid4().hex[:12]
        # Results are fetched in the background as chunks finish, not one round trip at a time.
        self.waiting: Any = _distributed().as_completed(with_results=True, raise_errors=False)
        self.index_of: dict[Any, int] = {}  # future -> chunk index
        self.held: dict[int, list[Item]] = {}  # chunks not yet yielded, kept for a retry
        self.done: dict[int, list[R]] = {}  # the reorder buffer
        self.attempts: dict[int, int] = {}
        self.next_in = self.next_out = 0

    def __iter__(self) -> Iterator[list[R]]:
        self._fill()
        while self.held:
            future, result = next(self.waiting)
            index = self.index_of.pop(future, None)
            if index is None or index < self.next_out:
                continue  # an attempt superseded by a retry that already came back
            if future.status == "finished":
                self.done.setdefault(index, result)
            else:
                self._retry(index, future)
            future.release()
            while self.next_out in self.done:
                yield self.done.pop(self.next_out)
                del self.held[self.next_out]
                self.next_out += 1
            self._fill()

    def _fill(self) -> None:
        while len(self.held) < self.limit:
            chunk = next(self.chunks, None)
            if chunk is None:
                return
            self.held[self.next_in] = chunk
            self._submit(self.next_in)
            self.next_in += 1

    def _submit(self, index: int) -> None:
        attempt = self.attempts.get(index, 0)
        future = self.client.submit(
            run_chunk, self.task, self.held[index], key=f"riskengine-{self.tag}-{index}-{attempt}", pure=False
        )
        self.index_of[future] = index
        self.waiting.add(future)

    def _retry(self, index: int, future: Any) -> None:
        killed = _distributed().KilledWorker
        error = future.exception() if future.status == "error" else None
        lost = error is None or isinstance(error, killed | OSError)
        if not lost or self.attempts.get(index, 0) >= self.retries:
            if error is not None:
                raise error
            raise _unavailable(f"chunk {index} was lost {self.retries + 1} times on the cluster")
        self.attempts[index] = self.attempts.get(index, 0) + 1
        self._submit(index)

    def cancel(self) -> None:
        if self.index_of:
            with contextlib.suppress(Exception):
                self.client.cancel(list(self.index_of))
            self.index_of.clear()


def _distributed() -> Any:
    """The ``distributed`` module (untyped, so held as Any), or a located error without the extra."""
    try:
        return importlib.import_module("distributed")
    except ImportError as exc:
        raise _unavailable("Dask is not installed: pip install 'riskengine[dask]'") from exc


def _folder_files(folder: Path) -> tuple[tuple[str, bytes], ...]:
    if folder.is_file():
        return ((folder.name, folder.read_bytes()),)
    found = sorted(p for p in folder.rglob("*") if p.is_file())  # every file, as the spec's hash covers
    return tuple((p.relative_to(folder).as_posix(), p.read_bytes()) for p in found)


def _digest(files: Iterable[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for name, data in sorted(files):
        h.update(f"{name}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def _fingerprint(book: riskengine.RuleBook) -> tuple[str, ...]:
    return tuple(f"{r.ref} {r.sha256}" for r in book.rulesets)


def _count(address: str) -> int:
    text = address.partition(":")[2]
    if not text.isdigit() or int(text) < 1:
        raise _unavailable(f"'{address}': write local:N with N a number of workers, such as local:2")
    return int(text)


def _mismatch(message: str) -> riskengine.RiskEngineError:
    return riskengine.RiskEngineError(
        [riskengine.Diagnostic(riskengine.Location("<dask worker>"), "ruleset-mismatch", "", message)]
    )


def _unavailable(message: str) -> DaskUnavailable:
    return DaskUnavailable([riskengine.Diagnostic(riskengine.Location("<dask>"), "dask", "", message)])
