"""Shared fixtures: paths, and engines over the engine's own test ruleset."""

from __future__ import annotations

import pytest

from riskengine import Engine

from .paths import CORE


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
