"""The FHIR R4 mapping (riskengine.fhir): bundles in, resources out, problems located by FHIR path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import riskengine
from riskengine import fhir

from .paths import FIXTURES

FHIR = FIXTURES / "fhir"


def _load(name: str) -> Any:
    return json.loads((FHIR / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def engine() -> riskengine.Engine:
    return riskengine.Engine.from_paths()


def test_england_parkrun_bundle_maps_and_evaluates(engine: riskengine.Engine) -> None:
    """The England parkrun bundle becomes a valid proposal the shipped engine evaluates."""
    from fhir.resources.R4B import get_fhir_model_class

    mapping = fhir.map_bundle(_load("england-parkrun.json"))
    p = mapping.proposal
    assert (p.jurisdiction, p.proposal.activity, p.as_of.isoformat()) == ("england", "parkrun", "2026-11-22")
    assert {m.id: m.kind for m in p.network}["lw"] == "social_prescriber"
    evaluation = engine.evaluate(p)
    for resource in fhir.resources_for(evaluation, p, references=mapping.references):
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
