"""docs/integration.md's "try it end to end", step by step: keys, a config, the real server, the
example CDS client (cards for a synthetic person, then feedback), and `log verify`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.service_harness import ROOT, Server

CLIENT = ROOT / "docs" / "examples" / "cds_client.py"
ISSUER = "https://demo-ehr.example"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_integration_walk_through_works(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    made = run(str(CLIENT), "keygen", str(keys))
    assert made.returncode == 0, made.stderr
    log = tmp_path / "decisions.jsonl"
    server = Server(tmp_path)
    server.config.update({"service_url": server.url, "decision_log": {"path": str(log)},
                          "auth": {"cds_clients": [{"iss": ISSUER, "jwks_file": str(keys / "jwks.json")}]}})  # fmt: skip
    server.start()
    try:
        called = run(str(CLIENT), "call", server.url, str(ROOT / "tests" / "fixtures" / "fhir" / "england-parkrun.json"),
                     "--key", str(keys / "private.pem"), "--issuer", ISSUER, "--feedback", "override")  # fmt: skip
    finally:
        assert server.stop() == 0
    assert called.returncode == 0, called.stdout + called.stderr
    lines = called.stdout.splitlines()
    assert lines[0].startswith("evaluation ") and "cards" in lines[0]
    assert all(line.startswith(("- [info] ", "    ", "feedback: 200")) for line in lines[1:]), called.stdout
    verified = run("-m", "riskengine.cli", "log", "verify", str(log), "--format", "json")
    report = json.loads(verified.stdout)
    assert verified.returncode == 0 and report["evaluations"] == 1 and report["feedback"] == 1
