"""The one module of riskengine.fhir that imports riskengine internals: the closed list of
relationship kinds and the did-you-mean hint, neither of which the door exports.

Everything else in this package uses ``import riskengine`` public names only, so a re-layout of
the core touches this file alone.
"""

from __future__ import annotations

from riskengine.documents.vocab import NETWORK_KINDS
from riskengine.errors import did_you_mean

__all__ = ["NETWORK_KINDS", "did_you_mean"]
