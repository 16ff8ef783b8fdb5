"""Shared fixtures: paths, and engines over the engine's own test ruleset."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from riskengine import Engine
from riskengine.read.cache import ENV

from .paths import CORE


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-goldens",
        action="store_true",
        help="rewrite golden files from the current output (review the diff before committing)",
    )


@pytest.fixture(scope="session", autouse=True)
def _parse_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The parse cache lives in a fresh folder for the run (commands run by the tests inherit it),
    never in the user's own cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv(ENV, str(tmp_path_factory.mktemp("parse-cache")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def core_durable() -> Engine:
    """The core fixture ruleset on durable-rules."""
    return Engine.from_paths([CORE], backend="durable")


@pytest.fixture(scope="session")
def core_reference() -> Engine:
    """The core fixture ruleset on the reference evaluator."""
    return Engine.from_paths([CORE], backend="reference")


@pytest.fixture(scope="session")
def shipped() -> Engine:
    """Every shipped ruleset, on the default backend."""
    return Engine.from_paths()
