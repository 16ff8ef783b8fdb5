"""The REST API of the real server, over loopback: every route, its answers and its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.service_harness import PARKRUN, ROOT, Server

PROPOSALS = sorted((ROOT / "scenarios" / "proposals").glob("*.yaml"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("rest")
    config = {
        "workers": 2,
        "decision_log": {"path": str(workdir / "decisions.jsonl")},
        "max_body_bytes": 200_000,
        "max_batch_bytes": 4_000_000,
    }
    server = Server(workdir, config).start()
    yield server
    assert server.stop() == 0, server.stderr()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def cli_json(path: Path) -> bytes:
    return subprocess.run(
        [sys.executable, "-m", "riskengine.cli", "evaluate", str(path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout


@pytest.mark.parametrize("path", PROPOSALS, ids=lambda p: p.stem)
def test_evaluation_is_byte_identical_to_the_cli(client: httpx.Client, path: Path) -> None:
    """YAML and JSON bodies both give exactly the bytes `riskengine evaluate --format json` prints."""
    expected = cli_json(path)
    as_yaml = client.post(
        "/v1/evaluations", content=path.read_bytes(), headers={"content-type": "application/yaml"}
    )
    assert as_yaml.status_code == 200, as_yaml.text
    assert as_yaml.content == expected
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    as_json = client.post("/v1/evaluations", content=json.dumps(data, default=str),
                          headers={"content-type": "application/json; charset=utf-8"})  # fmt: skip
    assert as_json.status_code == 200, as_json.text
    assert as_json.content == expected
    assert as_json.headers["content-type"] == "application/json"
    assert len(as_json.headers["evaluation-id"]) == 36


@pytest.mark.parametrize(
    ("query", "flags"), [("format=text", ["--format", "text"]), ("format=text&full=true", ["--format", "text", "--full"]),
                         ("format=person", ["--format", "person"])],
)  # fmt: skip
def test_text_and_person_formats_are_what_the_cli_prints(
    client: httpx.Client, query: str, flags: list[str]
) -> None:
    expected = subprocess.run([sys.executable, "-m", "riskengine.cli", "evaluate", str(PARKRUN), *flags],
                              cwd=ROOT, check=True, capture_output=True).stdout  # fmt: skip
    answer = client.post(f"/v1/evaluations?{query}", content=PARKRUN.read_bytes(),
                         headers={"content-type": "application/yaml"})  # fmt: skip
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.content == expected


def problem(answer: httpx.Response, status: int) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["status"] == status and body["type"].startswith("urn:riskengine:problem:")
    assert "Traceback" not in answer.text
    return dict(body)


def test_yaml_syntax_error_is_400_with_line_and_column(client: httpx.Client) -> None:
    body = b"schema_version: 1\nid: x\nproposal: [\n"
    found = problem(
        client.post("/v1/evaluations", content=body, headers={"content-type": "application/yaml"}), 400
    )
    diagnostic: dict[str, object] = found["diagnostics"][0]  # type: ignore[index]
    assert len(found["diagnostics"]) == 1  # type: ignore[arg-type]
    assert diagnostic["code"] == "yaml-syntax" and diagnostic["line"] == 4


def test_json_syntax_error_is_400(client: httpx.Client) -> None:
    found = problem(
        client.post("/v1/evaluations", content=b'{"id": ', headers={"content-type": "application/json"}), 400
    )
    assert found["diagnostics"][0]["code"] in {"json-syntax", "yaml-syntax"}  # type: ignore[index]


def test_invalid_proposal_is_422_with_pointers_and_positions(client: httpx.Client) -> None:
    text = PARKRUN.read_text(encoding="utf-8").replace("steadiness: consistent", "steadiness: consistant", 1)
    found = problem(
        client.post("/v1/evaluations", content=text.encode(), headers={"content-type": "application/yaml"}),
        422,
    )
    [diagnostic] = [d for d in found["diagnostics"] if d["pointer"] == "/network/0/steadiness"]  # type: ignore[attr-defined]
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "steadiness: consistant" in row)
    assert diagnostic["line"] == line and diagnostic["column"] > 1
    assert diagnostic["field"] == "network[0].steadiness"
    assert "did you mean 'consistent'" in f"{diagnostic['message']} {diagnostic.get('hint') or ''}"


def test_not_utf8_is_400(client: httpx.Client) -> None:
    found = problem(
        client.post("/v1/evaluations", content=b"id: \xff\xfe", headers={"content-type": "application/yaml"}),
        400,
    )
    assert found["type"] == "urn:riskengine:problem:bad-encoding"


def test_unsupported_media_type_is_415(client: httpx.Client) -> None:
    problem(
        client.post("/v1/evaluations", content=b"<proposal/>", headers={"content-type": "application/xml"}),
        415,
    )
    problem(client.post("/v1/evaluations", content=PARKRUN.read_bytes()), 415)  # no content type at all
    problem(
        client.post("/v1/evaluations:batch", content=b"{}", headers={"content-type": "application/json"}), 415
    )


def test_too_large_is_413(client: httpx.Client) -> None:
    big = b"# " + b"x" * 250_000 + b"\n" + PARKRUN.read_bytes()
    problem(client.post("/v1/evaluations", content=big, headers={"content-type": "application/yaml"}), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is counted as the body arrives
        for _ in range(30):
            yield b"#" + b"y" * 9_999 + b"\n"

    problem(
        client.post("/v1/evaluations", content=chunks(), headers={"content-type": "application/yaml"}), 413
    )


def test_bad_query_parameter_is_400(client: httpx.Client) -> None:
    problem(client.post("/v1/evaluations?format=pdf", content=PARKRUN.read_bytes(),
                        headers={"content-type": "application/yaml"}), 400)  # fmt: skip


def test_unknown_route_and_method_are_problems(client: httpx.Client) -> None:
    problem(client.get("/v1/nothing-here"), 404)
    problem(client.get("/v1/evaluations"), 405)
    problem(client.get("/v1/schemas/ruleset"), 400)


def test_batch_streams_one_line_per_proposal_and_goes_on_after_a_bad_one(client: httpx.Client) -> None:
    good = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in PROPOSALS[:3]]
    lines = [json.dumps(good[0], default=str), "{not json", json.dumps({**good[1], "jurisdiction": "mars"}, default=str),
             "", json.dumps(good[2], default=str), '{"id": "\xff"}']  # fmt: skip
    body = ("\n".join(lines) + "\n").encode().replace(b"\xc3\xbf", b"\xff")  # the last line is not UTF-8
    with client.stream("POST", "/v1/evaluations:batch", content=body,
                       headers={"content-type": "application/x-ndjson"}) as answer:  # fmt: skip
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/x-ndjson")
        out = [json.loads(line) for line in answer.iter_lines() if line]
    assert [o["input"] for o in out] == ["request:1", "request:2", "request:3", "request:5", "request:6"]
    assert out[4]["errors"][0]["code"] == "bad-encoding"
    assert "evaluation" in out[0] and out[0]["id"] == good[0]["id"]
    assert out[1]["errors"][0]["code"] == "json-syntax"
    assert out[2]["id"] == good[1]["id"] and out[2]["errors"][0]["pointer"] == "/jurisdiction"
    expected = json.loads(cli_json(PROPOSALS[2]))
    assert out[3]["evaluation"] == expected


def test_batch_of_many_lines_keeps_order(client: httpx.Client) -> None:
    data = yaml.safe_load(PARKRUN.read_text(encoding="utf-8"))
    lines = [json.dumps({**data, "id": f"prop-{i}"}, default=str) for i in range(60)]
    answer = client.post("/v1/evaluations:batch", content="\n".join(lines).encode(),
                         headers={"content-type": "application/x-ndjson"})  # fmt: skip
    ids = [json.loads(line)["id"] for line in answer.text.splitlines()]
    assert ids == [f"prop-{i}" for i in range(60)]


def test_batch_answers_stay_in_input_order_with_errors_between(client: httpx.Client) -> None:
    data = yaml.safe_load(PARKRUN.read_text(encoding="utf-8"))
    lines = [json.dumps({**data, "id": f"p-{i}"}, default=str) if i % 3 else "[1," for i in range(40)]
    answer = client.post("/v1/evaluations:batch", content="\n".join(lines).encode(),
                         headers={"content-type": "application/x-ndjson"})  # fmt: skip
    out = [json.loads(x) for x in answer.text.splitlines()]
    assert [o["input"] for o in out] == [f"request:{i + 1}" for i in range(40)]
    assert [("errors" in o) for o in out] == [i % 3 == 0 for i in range(40)]


def test_a_large_batch_sent_whole_before_reading_does_not_deadlock(client: httpx.Client) -> None:
    """httpx sends the whole body before it reads: the server reads ahead, so output (about ten
    times the input) never waits on a client that is still sending."""
    data = yaml.safe_load(PARKRUN.read_text(encoding="utf-8"))
    lines = [json.dumps({**data, "id": f"big-{i}"}, default=str) for i in range(500)]
    body = ("\n".join(lines) + "\n").encode()
    assert len(body) < 4_000_000
    answer = client.post("/v1/evaluations:batch", content=body, headers={"content-type": "application/x-ndjson"},
                         timeout=240)  # fmt: skip
    out = answer.text.splitlines()
    assert len(out) == 500 and len(answer.content) > 10 * 1024 * 1024
    assert all('"evaluation":' in line[:300] for line in out)


def test_a_batch_over_the_size_limit(client: httpx.Client) -> None:
    line = json.dumps(yaml.safe_load(PARKRUN.read_text(encoding="utf-8")), default=str).encode() + b"\n"
    body = line * (4_000_000 // len(line) + 2)
    declared = client.post(
        "/v1/evaluations:batch", content=body, headers={"content-type": "application/x-ndjson"}
    )
    problem(declared, 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the lines past the limit get one error line
        for _ in range(4_000_000 // len(line) + 2):
            yield line

    streamed = client.post("/v1/evaluations:batch", content=chunks(), headers={"content-type": "application/x-ndjson"},
                           timeout=240)  # fmt: skip
    out = [json.loads(x) for x in streamed.text.splitlines()]
    assert "evaluation" in out[0] and out[-1]["errors"][0]["code"] == "unreadable-line"
    assert "batch is over" in out[-1]["errors"][0]["message"]


def test_rulesets_lists_ids_versions_hashes_and_origins(client: httpx.Client) -> None:
    listing = client.get("/v1/rulesets").json()
    evaluation = json.loads(cli_json(PARKRUN))
    assert listing["rulesets"] == evaluation["provenance"]["rulesets"]
    assert (
        len(listing["set_sha256"]) == 64
        and listing["engine_version"] == evaluation["provenance"]["engine_version"]
    )


@pytest.mark.parametrize("name", ["proposal", "evaluation"])
def test_schemas_are_the_cli_schemas(client: httpx.Client, name: str) -> None:
    expected = json.loads(subprocess.run([sys.executable, "-m", "riskengine.cli", "schema", name], cwd=ROOT,
                                         check=True, capture_output=True).stdout)  # fmt: skip
    answer = client.get(f"/v1/schemas/{name}")
    assert answer.status_code == 200 and answer.json() == expected


def test_health_and_readiness(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["ready"] is True and ready["loaded"] == ready["workers"] == 2


def test_openapi_is_3_1_with_the_contract_and_problem_shapes(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    schemas = document["components"]["schemas"]
    assert {"Proposal", "Evaluation", "Problem", "CdsRequest", "CdsFeedback"} <= set(schemas)
    post = document["paths"]["/v1/evaluations"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json", "application/yaml"}
    for status in ("400", "413", "415", "422", "503"):
        assert "application/problem+json" in post["responses"][status]["content"]


def test_request_log_is_one_json_line_per_request_without_proposal_content(
    server: Server, client: httpx.Client
) -> None:
    marker = "a-unique-phrase-the-log-must-not-hold"
    text = PARKRUN.read_text(encoding="utf-8").replace("good sense of humour", marker)
    assert (
        client.post(
            "/v1/evaluations", content=text.encode(), headers={"content-type": "application/yaml"}
        ).status_code
        == 200
    )
    client.get("/healthz")
    logged = server.stderr()
    assert marker not in logged and "prop-2041" not in logged and "P-2041" not in logged
    requests = [
        json.loads(line) for line in logged.splitlines() if line.startswith("{") and '"request"' in line
    ]
    assert requests and all({"time", "method", "path", "status", "ms"} <= set(r) for r in requests)
    assert any(r["path"] == "/healthz" and r["status"] == 200 for r in requests)
    decisions = (server.workdir / "decisions.jsonl").read_text(encoding="utf-8")
    assert marker not in decisions and "P-2041" not in decisions  # input kept only if configured


def test_decision_log_has_an_entry_per_evaluation_and_verifies(server: Server, client: httpx.Client) -> None:
    answer = client.post(
        "/v1/evaluations", content=PARKRUN.read_bytes(), headers={"content-type": "application/yaml"}
    )
    log = server.workdir / "decisions.jsonl"
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    [entry] = [e for e in entries if e.get("evaluation_id") == answer.headers["evaluation-id"]]
    import hashlib

    assert entry["input_sha256"] == hashlib.sha256(PARKRUN.read_bytes()).hexdigest()
    assert entry["output_sha256"] == hashlib.sha256(answer.content).hexdigest()
    assert (
        entry["kind"] == "evaluation" and entry["engine_version"] and len(entry["ruleset_set_sha256"]) == 64
    )
    assert entries[0]["kind"] == "service-start" and entries[0]["rulesets"]
    verify = subprocess.run([sys.executable, "-m", "riskengine.cli", "log", "verify", str(log)], cwd=ROOT,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith("ok:")
