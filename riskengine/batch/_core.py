"""The batch capability's one interface to the stages below the door.

What the door does not offer: validating data parsed from JSON text with positions worked out
from the text only when there is a problem (``SourceMap``), the proposal limits' checks of a
text (:mod:`riskengine.read.bounds`), and the contract's closed vocabularies (for the
synthetic corpus). Nothing else in :mod:`riskengine.batch` imports a stage.

May import: :mod:`riskengine.read.source`, :mod:`riskengine.read.proposal_files`,
:mod:`riskengine.read.bounds`, :mod:`riskengine.read.limits`, :mod:`riskengine.documents`.
"""

from __future__ import annotations

from typing import Any, get_args

from riskengine.documents import vocab
from riskengine.documents.proposal import Proposal
from riskengine.read.bounds import check_json_nesting, check_text
from riskengine.read.limits import limits_for
from riskengine.read.proposal_files import proposal_from_data
from riskengine.read.source import SourceMap

__all__ = ["CATEGORIES", "VOCABULARY", "check_json_text", "check_nesting", "validate_located"]

_LIMITS = limits_for("proposal")

VOCABULARY: dict[str, tuple[str, ...]] = {
    "activity": vocab.ACTIVITIES,
    "jurisdiction": vocab.JURISDICTIONS,
    "legal_context": get_args(vocab.LegalContext),
    "capacity": get_args(vocab.CapacityStatus),
    "decision_role": get_args(vocab.DecisionRole),
    "network_kind": vocab.NETWORK_KINDS,
    "personal_kind": vocab.PERSONAL_KINDS,
    "formal_kind": vocab.FORMAL_KINDS,
    "legal_role": get_args(vocab.LegalRole),
    "contact": get_args(vocab.Contact),
    "steadiness": get_args(vocab.Steadiness),
    "concern_kind": get_args(vocab.ConcernKind),
    "raised_by": get_args(vocab.RaisedBy),
    "initiator": get_args(vocab.Initiator),
    "role": vocab.ROLES,
}
CATEGORIES: dict[str, tuple[str, ...]] = dict(vocab.ACTIVITY_CATEGORIES)


def validate_located(data: Any, path: str, text: str) -> Proposal:
    """Validate data parsed from the JSON ``text`` (within a proposal's limits); on a problem,
    raise it located in ``text`` (as ``path``). Positions are worked out only then."""
    return proposal_from_data(data, SourceMap(path, text=text, json=True))


def check_json_text(text: str, path: str) -> str:
    """``text`` once its size and characters are within a proposal's limits (as riskengine
    evaluate checks them), without a byte-order mark."""
    return check_text(text, path, _LIMITS)


def check_nesting(text: str, path: str) -> None:
    """Refuse JSON nested deeper than a proposal may be, before :mod:`json` recurses into it."""
    check_json_nesting(text, path, _LIMITS)
