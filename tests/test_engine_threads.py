"""Engine is safe to share between threads: runs are serialised by a process-wide lock, so results
from many threads (and from two Engines in two threads) equal the results of one thread."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import riskengine
from riskengine import engine as engine_module

from .paths import ROOT

PROPOSALS = sorted((ROOT / "scenarios" / "proposals").glob("*.yaml"))


def test_threads_sharing_an_engine_get_the_single_thread_answers() -> None:
    engine = riskengine.Engine.from_paths()
    proposals = [riskengine.load_proposal(p) for p in PROPOSALS]
    expected = [engine.evaluate(p).to_json() for p in proposals]
    work = [i % len(proposals) for i in range(8 * len(proposals))]
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(lambda i: (i, engine.evaluate(proposals[i]).to_json()), work))
    assert all(text == expected[i] for i, text in got)


def test_two_engines_in_two_threads_do_not_share_corruption() -> None:
    first, second = riskengine.Engine.from_paths(), riskengine.Engine.from_paths()
    proposal = riskengine.load_proposal(PROPOSALS[0])
    expected = first.evaluate(proposal).to_json()
    results: list[str] = []

    def run(engine: riskengine.Engine) -> None:
        results.extend(engine.evaluate(proposal).to_json() for _ in range(25))

    threads = [threading.Thread(target=run, args=(e,)) for e in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 50 and set(results) == {expected}


def test_runs_hold_the_process_wide_lock() -> None:
    """While one thread holds the lock, another's evaluation waits (it does not run alongside)."""
    engine = riskengine.Engine.from_paths()
    proposal = riskengine.load_proposal(PROPOSALS[0])
    done = threading.Event()
    with engine_module._RUN_LOCK:

        def run() -> None:
            engine.evaluate(proposal)
            done.set()

        thread = threading.Thread(target=run)
        thread.start()
        assert not done.wait(0.5)
    assert done.wait(30)
    thread.join()
