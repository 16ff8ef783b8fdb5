"""The mapping's entry points: a Bundle or a CDS Hooks prefetch in, a proposal out.

May import ``riskengine`` public names and this package's modules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import riskengine

from .codes import PREFETCH
from .inbound import FhirMapping, map_resources
from .read import Problems, gather_bundle, gather_prefetch

__all__ = ["map_bundle", "map_prefetch", "proposal_from_bundle", "proposal_from_prefetch"]


def map_bundle(
    bundle: Mapping[str, Any] | Any,
    *,
    jurisdiction: str | None = None,
    as_of: dt.date | None = None,
    proposal_id: str | None = None,
    source: str = "<bundle>",
) -> FhirMapping:
    """Read a FHIR Bundle into a proposal, keeping the warnings and the FHIR references.

    ``jurisdiction`` (england | wales | scotland | northern_ireland) is the deployment's and wins
    over the Patient's address; ``as_of`` defaults to the draft CarePlan's ``created`` date
    (nothing reads the clock). Raises :class:`riskengine.InputError` listing every problem,
    each located by FHIR path (``Bundle.entry[3].resource.relationship[0]``).
    """
    problems = Problems(source)
    resources = gather_bundle(bundle, problems)
    return map_resources(resources, problems, jurisdiction=jurisdiction, as_of=as_of, proposal_id=proposal_id)


def map_prefetch(
    prefetch: Mapping[str, Any] | Any,
    *,
    jurisdiction: str | None = None,
    as_of: dt.date | None = None,
    proposal_id: str | None = None,
    source: str = "<prefetch>",
) -> FhirMapping:
    """As :func:`map_bundle`, for a CDS Hooks ``prefetch`` object (keys of :data:`PREFETCH`).

    A key that is absent or null is a ``not-prefetched`` warning: the service can say what is
    missing without fetching anything itself.
    """
    problems = Problems(source)
    resources = gather_prefetch(prefetch, tuple(PREFETCH), problems)
    return map_resources(resources, problems, jurisdiction=jurisdiction, as_of=as_of, proposal_id=proposal_id)


def proposal_from_bundle(
    bundle: Mapping[str, Any], *, jurisdiction: str | None = None, **options: Any
) -> riskengine.Proposal:
    """The proposal of :func:`map_bundle`, without the warnings."""
    return map_bundle(bundle, jurisdiction=jurisdiction, **options).proposal


def proposal_from_prefetch(
    prefetch: Mapping[str, Any], *, jurisdiction: str | None = None, **options: Any
) -> riskengine.Proposal:
    """The proposal of :func:`map_prefetch`, without the warnings."""
    return map_prefetch(prefetch, jurisdiction=jurisdiction, **options).proposal
