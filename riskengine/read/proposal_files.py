"""Read a proposal document: parse → shape → cross-field checks, every problem located."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from riskengine.documents.proposal import Proposal
from riskengine.documents.vocab import NETWORK_KINDS
from riskengine.errors import Diagnostic, InputError, Location, Severity, at_most, closest, quoted
from riskengine.read.bounds import check_data
from riskengine.read.limits import Limits, limits_for
from riskengine.read.shape import validate_model
from riskengine.read.source import SourceMap, YamlPath, dotted, parse_document, read_document

__all__ = ["load_proposal", "parse_proposal", "proposal_from_data", "proposal_warnings", "read_proposal"]


def load_proposal(path: Path | str, limits: Limits | None = None) -> Proposal:
    """Read and validate a proposal file (YAML or JSON), within ``limits`` (:mod:`riskengine.read.limits`)."""
    return read_proposal(path, limits)[0]


def read_proposal(path: Path | str, limits: Limits | None = None) -> tuple[Proposal, list[Diagnostic]]:
    """Read a proposal file once: the validated proposal and its warnings, located in that one reading."""
    limits = limits or limits_for("proposal")
    document = read_document(path, limits)
    proposal = _validated(document.data, document.source)
    return proposal, proposal_warnings(proposal, document.source)


def parse_proposal(text: str, name: str = "<proposal>", limits: Limits | None = None) -> Proposal:
    """Validate a proposal given as YAML or JSON text, within ``limits``."""
    document = parse_document(text, name, limits or limits_for("proposal"))
    return _validated(document.data, document.source)


def proposal_from_data(data: Any, source: SourceMap | None = None, limits: Limits | None = None) -> Proposal:
    """Validate plain data as a proposal, within ``limits``; raise :class:`InputError` with every problem."""
    source = source or SourceMap("<proposal>")
    json_text = source.text if source.json else None  # data read from this JSON text
    check_data(data, limits or limits_for("proposal"), source.locate, json_text=json_text)
    return _validated(data, source)


def _validated(data: Any, source: SourceMap) -> Proposal:
    """Shape and cross-check data already within the limits."""
    if not isinstance(data, Mapping):
        raise InputError(
            [Diagnostic(source.locate(()), "not-a-mapping", "", "a proposal is a mapping of fields")]
        )
    model, problems = validate_model(Proposal, data, source)
    if model is None:
        raise InputError(at_most(problems, Location(source.path)))
    problems = _cross_checks(model, source)
    if problems:
        raise InputError(at_most(problems, Location(source.path)))
    return model


def _cross_checks(p: Proposal, source: SourceMap) -> list[Diagnostic]:
    problems: list[Diagnostic] = []

    def fail(path: YamlPath, code: str, problem: tuple[str, str] | str) -> None:
        message, hint = (problem, "") if isinstance(problem, str) else problem
        problems.append(Diagnostic(source.locate(path), code, dotted(path), message, hint=hint))

    # Every check below is linear in the members: sets for membership, and "did you mean" (which
    # compares a name with every member) for the first few unknown names only.
    ids = [m.id for m in p.network]
    seen: set[str] = {"person"}
    for i, member_id in enumerate(ids):
        if member_id in seen:
            message = f"network id {quoted(member_id)} is used twice or is reserved"
            fail(("network", i, "id"), "duplicate-id", message)
        seen.add(member_id)
    known = set(ids)
    unknown = _Unknown(ids)
    for i, who in enumerate(p.decision_process.participants):
        if who != "person" and who not in known:
            fail(("decision_process", "participants", i), "unknown-member", unknown(who, ("person",)))
    for i, link in enumerate(p.links):
        for j, who in enumerate(link):
            if who not in known:
                fail(("links", i, j), "unknown-member", unknown(who))
        if link[0] == link[1]:
            fail(("links", i), "bad-link", "a link joins two different members")
    statement = p.person.advance_statement
    for i, rule in enumerate(statement.information_sharing if statement else ()):
        if rule.with_ not in known and rule.with_ not in NETWORK_KINDS:
            path = ("person", "advance_statement", "information_sharing", i, "with")
            fail(path, "unknown-member", unknown(rule.with_, NETWORK_KINDS))
    if p.proposal.activity == "other" and not p.proposal.categories:
        fail(("proposal", "activity"), "missing-field", "activity 'other' needs proposal.categories")
    return problems


class _Unknown:
    """Messages for names not in the network; the first :data:`HINTED` get a "did you mean"."""

    HINTED = 10

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.hinted = 0

    def __call__(self, value: str, also: tuple[str, ...] = ()) -> tuple[str, str]:
        hint = ""
        if self.hinted < self.HINTED:
            self.hinted += 1
            hint = closest(value, [*also, *self.ids])
        return f"{quoted(value)} is not in the network", hint


def proposal_warnings(p: Proposal, source: SourceMap | None = None) -> list[Diagnostic]:
    """Things worth a second look that are not errors (e.g. a kind outside the vocabulary)."""
    source = source or SourceMap("<proposal>")
    out = []
    for i, member in enumerate(p.network):
        if member.kind == "other" and member.kind_label and member.kind_label not in NETWORK_KINDS:
            hint = closest(member.kind_label, NETWORK_KINDS)
            message = f"kind '{member.kind_label}' is not in the vocabulary, read as 'other'"
            path = ("network", i, "kind")
            located = source.locate(path)
            out.append(Diagnostic(located, "open-kind", dotted(path), message, Severity.WARNING, hint))
    if p.jurisdiction == "northern_ireland" and p.person.legal_context == "community_treatment_order":
        # Never silently accepted (practitioner review 2026-12, defect 9); packs.nations also
        # puts it first in the evaluation.
        where = ("person", "legal_context")
        message = (
            "Northern Ireland has no community treatment orders (Mental Health (Northern Ireland) Order 1986); "
            "check the person's legal position (Article 15 leave, guardianship, detained or informal)"
        )
        out.append(
            Diagnostic(source.locate(where), "no-such-order", dotted(where), message, Severity.WARNING)
        )
    return out
