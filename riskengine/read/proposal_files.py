"""Read a proposal document: parse → shape → cross-field checks, every problem located."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from riskengine.documents.proposal import Proposal
from riskengine.documents.vocab import NETWORK_KINDS
from riskengine.errors import Diagnostic, InputError, did_you_mean
from riskengine.read.shape import validate_model
from riskengine.read.source import SourceMap, YamlPath, dotted, parse_document, read_document

__all__ = ["load_proposal", "parse_proposal", "proposal_from_data", "proposal_warnings", "read_proposal"]


def load_proposal(path: Path | str) -> Proposal:
    """Read and validate a proposal file (YAML or JSON)."""
    return read_proposal(path)[0]


def read_proposal(path: Path | str) -> tuple[Proposal, list[Diagnostic]]:
    """Read a proposal file once: the validated proposal and its warnings, located in that one reading."""
    document = read_document(path)
    proposal = proposal_from_data(document.data, document.source)
    return proposal, proposal_warnings(proposal, document.source)


def parse_proposal(text: str, name: str = "<proposal>") -> Proposal:
    """Validate a proposal given as YAML or JSON text."""
    document = parse_document(text, name)
    return proposal_from_data(document.data, document.source)


def proposal_from_data(data: Any, source: SourceMap | None = None) -> Proposal:
    """Validate plain data as a proposal; raise :class:`InputError` with every problem."""
    source = source or SourceMap("<proposal>")
    if not isinstance(data, Mapping):
        raise InputError(
            [Diagnostic(source.locate(()), "not-a-mapping", "", "a proposal is a mapping of fields")]
        )
    model, problems = validate_model(Proposal, data, source)
    if model is None:
        raise InputError(problems)
    problems = _cross_checks(model, source)
    if problems:
        raise InputError(problems)
    return model


def _cross_checks(p: Proposal, source: SourceMap) -> list[Diagnostic]:
    problems: list[Diagnostic] = []

    def fail(path: YamlPath, code: str, message: str) -> None:
        problems.append(Diagnostic(source.locate(path), code, dotted(path), message))

    ids = [m.id for m in p.network]
    seen: set[str] = {"person"}  # a set, so the check stays linear in the number of members
    for i, member_id in enumerate(ids):
        if member_id in seen:
            fail(
                ("network", i, "id"), "duplicate-id", f"network id '{member_id}' is used twice or is reserved"
            )
        seen.add(member_id)
    known = set(ids)
    for i, who in enumerate(p.decision_process.participants):
        if who != "person" and who not in known:
            fail(("decision_process", "participants", i), "unknown-member", _unknown(who, ["person", *ids]))
    for i, link in enumerate(p.links):
        for j, who in enumerate(link):
            if who not in known:
                fail(("links", i, j), "unknown-member", _unknown(who, ids))
        if link[0] == link[1]:
            fail(("links", i), "bad-link", "a link joins two different members")
    statement = p.person.advance_statement
    for i, rule in enumerate(statement.information_sharing if statement else ()):
        if rule.with_ not in known and rule.with_ not in NETWORK_KINDS:
            path = ("person", "advance_statement", "information_sharing", i, "with")
            fail(path, "unknown-member", _unknown(rule.with_, [*ids, *NETWORK_KINDS]))
    if p.proposal.activity == "other" and not p.proposal.categories:
        fail(("proposal", "activity"), "missing-field", "activity 'other' needs proposal.categories")
    return problems


def _unknown(value: str, choices: list[str]) -> str:
    return f"'{value}' is not in the network{did_you_mean(value, choices)}"


def proposal_warnings(p: Proposal, source: SourceMap | None = None) -> list[Diagnostic]:
    """Things worth a second look that are not errors (e.g. a kind outside the vocabulary)."""
    source = source or SourceMap("<proposal>")
    out = []
    for i, member in enumerate(p.network):
        if member.kind == "other" and member.kind_label and member.kind_label not in NETWORK_KINDS:
            hint = did_you_mean(member.kind_label, NETWORK_KINDS)
            message = f"kind '{member.kind_label}' is not in the vocabulary, read as 'other'{hint}"
            path = ("network", i, "kind")
            out.append(Diagnostic(source.locate(path), "open-kind", dotted(path), message, "warning"))
    if p.jurisdiction == "northern_ireland" and p.person.legal_context == "community_treatment_order":
        # Never silently accepted (practitioner review 2026-12, defect 9); packs.nations also
        # puts it first in the evaluation.
        where = ("person", "legal_context")
        message = (
            "Northern Ireland has no community treatment orders (Mental Health (Northern Ireland) Order 1986); "
            "check the person's legal position (Article 15 leave, guardianship, detained or informal)"
        )
        out.append(Diagnostic(source.locate(where), "no-such-order", dotted(where), message, "warning"))
    return out
