"""The Dask path gives the local result, ships rulesets it can verify, and survives a lost worker.

Every cluster here is a real ``distributed.LocalCluster``: worker processes talking TCP on
loopback, as on a real cluster. They are kept small (two workers, a few dozen proposals).
"""

from __future__ import annotations

import io
import json
import os
import signal
from pathlib import Path

import pytest

import riskengine
from riskengine.batch.dask import DaskExecutor, EnginePlugin, RulesetFolder, ShippedRulesets
from riskengine.batch.executor import InlineExecutor, RulesetSpec, Task
from riskengine.batch.inputs import iter_items
from riskengine.batch.pipeline import evaluate_item
from riskengine.batch.synth import write_corpus
from riskengine.cli import main

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "impact"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("dask") / "corpus.ndjson"
    write_corpus(str(target), count=48, seed=3)
    return target


def _cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err)
    return code, err.getvalue()


def test_batch_on_dask_local_2_equals_the_local_batch(corpus: Path, tmp_path: Path) -> None:
    local, remote = tmp_path / "local.ndjson", tmp_path / "dask.ndjson"
    assert _cli("batch", str(corpus), "-o", str(local), "--workers", "0")[0] == 0
    code, err = _cli("batch", str(corpus), "-o", str(remote), "--dask", "local:2")
    assert code == 0, err
    assert remote.read_bytes() == local.read_bytes()
    assert len(remote.read_bytes().splitlines()) == 48


def test_impact_on_a_running_cluster_equals_the_local_impact(corpus: Path, tmp_path: Path) -> None:
    sides = ["--before", "rulesets", "--before", str(FIXTURES / "before"),
             "--after", "rulesets", "--after", str(FIXTURES / "after")]  # fmt: skip
    local, remote = tmp_path / "local.json", tmp_path / "dask.json"
    assert _cli("impact", *sides, str(corpus), "--json", str(local), "--workers", "0")[0] == 0
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        code, err = _cli(  # in chunks of 5, not the default 64: 10 tasks for 48 proposals
            "impact", *sides, str(corpus), "--json", str(remote), "--dask", cluster.scheduler_address,
            "--dask-chunk", "5",
        )  # fmt: skip
        # A worker given rulesets that are not what the client loaded refuses them, and says so.
        spec = RulesetSpec.of(["rulesets", FIXTURES / "before"])
        good = ShippedRulesets.of(spec)
        forged = ShippedRulesets(
            spec,
            (good.folders[0], RulesetFolder.read(FIXTURES / "after")),
            good.expected,
            good.engine_version,
        )
        executor = DaskExecutor(cluster.scheduler_address)
        try:
            with pytest.raises(riskengine.RiskEngineError, match="the client's"):
                executor.client.register_plugin(EnginePlugin([forged]), name="forged")
        finally:
            executor.close()
    assert code == 0, err
    assert json.loads(remote.read_text()) == json.loads(local.read_text())
    assert json.loads(local.read_text())["summary"]["changed"]["proposals"] > 0


def test_a_worker_killed_mid_run_still_gives_every_result_once_in_order(corpus: Path) -> None:
    task = Task(evaluate_item, (RulesetSpec.of(None),))
    expected = list(InlineExecutor().map_ordered(task, iter_items([str(corpus)])))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        DaskExecutor(cluster.scheduler_address, chunk_items=3, in_flight=3) as executor,
    ):
        chunks = executor.map_chunks(task, iter_items([str(corpus)]))
        got = list(next(chunks))
        pids = executor.client.run(os.getpid)
        victim = sorted(pids)[0]
        os.kill(pids[victim], signal.SIGKILL)  # mid-run: both workers hold chunks
        for chunk in chunks:
            got.extend(chunk)
        assert victim not in executor.client.scheduler_info(n_workers=-1)["workers"]
    assert got == expected  # complete, in input order, no duplicates


def test_rulesets_travel_by_hash_and_a_tampered_copy_is_refused(tmp_path: Path) -> None:
    spec = RulesetSpec.of([riskengine.default_rulesets_dir(), FIXTURES / "before"])
    shipped = ShippedRulesets.of(spec)
    assert shipped.folders[0].origin == "shipped" and shipped.folders[0].files == ()  # only its hash travels
    overlay = shipped.folders[1]
    assert overlay.origin == "overlay" and [name for name, _ in overlay.files] == ["local-trust.yaml"]
    shipped.install(tmp_path)  # the same content: accepted, written under its hash
    assert (tmp_path / overlay.digest / "local-trust.yaml").is_file()
    name, data = overlay.files[0]
    tampered = RulesetFolder("overlay", overlay.digest, ((name, data.replace(b"parkrun", b"bungee_jump")),))
    with pytest.raises(riskengine.RiskEngineError, match="does not match its hash"):
        tampered.materialise(tmp_path / "other")
    forged = RulesetFolder.read(FIXTURES / "after")
    swapped = ShippedRulesets(spec, (shipped.folders[0], forged), shipped.expected, shipped.engine_version)
    with pytest.raises(riskengine.RiskEngineError, match="the client's"):
        swapped.install(tmp_path)


def test_local_n_must_be_a_number(corpus: Path, tmp_path: Path) -> None:
    code, err = _cli("batch", str(corpus), "-o", str(tmp_path / "x.ndjson"), "--dask", "local:two")
    assert code == riskengine.EXIT_INVALID and "local:N" in err
