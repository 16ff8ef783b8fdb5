"""The one module of riskengine.fhir that imports riskengine internals (the closed vocabularies).

Everything else in this package uses ``import riskengine`` public names only, so a re-layout of
the core touches this file alone.
"""

from __future__ import annotations

from riskengine.errors import did_you_mean
from riskengine.vocab import ACTIVITIES, JURISDICTIONS, NETWORK_KINDS, ROLES

__all__ = ["ACTIVITIES", "JURISDICTIONS", "NETWORK_KINDS", "ROLES", "did_you_mean"]
