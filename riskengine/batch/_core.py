"""The batch capability's one interface to the stages below the door.

Two things the door does not offer: validating parsed data *with* positions worked out from
its text only when there is a problem (``SourceMap``), and the contract's closed vocabularies
(for the synthetic corpus). Nothing else in :mod:`riskengine.batch` imports a stage.

May import: :mod:`riskengine.read.source`, :mod:`riskengine.read.proposal_files`,
:mod:`riskengine.documents.vocab`.
"""

from __future__ import annotations

from typing import Any, get_args

from riskengine.documents import vocab
from riskengine.documents.proposal import Proposal
from riskengine.errors import InputError
from riskengine.read.proposal_files import proposal_from_data
from riskengine.read.source import SourceMap

__all__ = ["CATEGORIES", "VOCABULARY", "validate_located"]

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
    """Validate parsed data; on a problem, raise it located in ``text`` (as ``path``).

    Positions are worked out only when there is a problem (most records have none). If the
    text cannot be re-read for positions (JSON that PyYAML does not take, say a key over 1,024
    characters), the problems are raised at ``path`` without a line.
    """
    try:
        return proposal_from_data(data, SourceMap(path))
    except InputError as unlocated:
        located = SourceMap(path, text=text)
        try:
            located.locate(())
        except InputError:
            raise unlocated from None
        return proposal_from_data(data, located)
