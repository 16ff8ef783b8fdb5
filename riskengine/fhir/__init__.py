"""FHIR R4 in and out: a proposal from a Bundle or a CDS Hooks prefetch, and FHIR resources for
an evaluation. Needs the ``service`` extra (``fhir.resources``); the mapping is ``docs/fhir.md``.

::

    from riskengine import fhir

    mapping = fhir.map_bundle(bundle, jurisdiction="england")   # proposal + warnings + references
    evaluation = engine.evaluate(mapping.proposal)
    resources = fhir.resources_for(evaluation, mapping.proposal, references=mapping.references)

Never produces a RiskAssessment: the engine does not grade. May import ``riskengine`` public
names; internal names only through ``_core``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .codes import CANONICAL, CS, EXT, NS, PREFETCH

if TYPE_CHECKING:  # the rest loads on first use, so the command line's start stays light
    from .api import map_bundle, map_prefetch, proposal_from_bundle, proposal_from_prefetch
    from .encode import bundle_for
    from .inbound import FhirMapping
    from .outbound import resources_for

__all__ = [
    "CANONICAL",
    "CS",
    "EXT",
    "NS",
    "PREFETCH",
    "FhirMapping",
    "bundle_for",
    "map_bundle",
    "map_prefetch",
    "proposal_from_bundle",
    "proposal_from_prefetch",
    "resources_for",
]

_LAZY = {
    "map_bundle": "api",
    "map_prefetch": "api",
    "proposal_from_bundle": "api",
    "proposal_from_prefetch": "api",
    "bundle_for": "encode",
    "FhirMapping": "inbound",
    "resources_for": "outbound",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
