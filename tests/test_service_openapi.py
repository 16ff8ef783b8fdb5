"""Schemathesis over the real server's own OpenAPI: generated requests for every operation, and
no 500s, no answers outside the documented statuses, media types or schemas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi import checks as openapi_checks

from tests.service_harness import Server


@schemathesis.serializer("application/x-ndjson")
def _ndjson(context: Any, value: Any) -> bytes:
    """Generated NDJSON bodies are strings: send them as they are."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("openapi")
    server = Server(
        workdir, {"workers": 2, "decision_log": {"path": str(workdir / "decisions.jsonl")}}
    ).start()
    yield server
    assert server.stop() == 0, server.stderr()


@pytest.fixture(scope="module")
def api(server: Server) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(server.url + "/openapi.json")


def test_every_operation_answers_within_its_description(api: schemathesis.BaseSchema) -> None:
    """Each operation gets bounded generated cases (so the run takes a minute or two, not hours)."""
    operations = [result.ok() for result in api.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)  # fmt: skip
        def check(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
            case.call_and_validate(timeout=30, checks=CHECKS)

        check()


CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]
