"""A worker process: one Engine loaded once, answering frames on stdin/stdout one at a time.

Started by the pool as ``python -m riskengine.service.worker``. The first frame it writes
says it is ready (with the rulesets it loaded) or why it could not start. Then it answers
each request frame with exactly one reply frame, until stdin closes. Anything printed by
accident goes to stderr, never into the protocol.

Proposal text is never kept: the parse cache is switched off once the rulesets are loaded.

May import: the standard library, ``riskengine`` public names, :mod:`riskengine.fhir`,
and the service's :mod:`.protocol` and :mod:`.cards`.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

import riskengine

from . import cards as card_builder
from .protocol import PAYLOAD, read_frame, write_frame

__all__ = ["main", "ruleset_set_hash"]

# Test seam: a delay before each evaluation, so a test can kill a worker while it is busy.
DELAY_ENV = "RISKENGINE_SERVICE_TEST_DELAY"
PIPE_BYTES = 1024 * 1024


def ruleset_set_hash(rulesets: list[dict[str, Any]]) -> str:
    """One hash for the whole set of loaded rulesets (their ids, versions and file hashes)."""
    lines = sorted(f"{r['id']}@{r['version']}:{r['sha256']}" for r in rulesets)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


class Worker:
    """The engine and what it answers."""

    def __init__(self, engine: riskengine.Engine, jurisdiction: str | None) -> None:
        self.engine = engine
        self.jurisdiction = jurisdiction
        self.rulesets = [r.provenance().model_dump(mode="json") for r in engine.book.rulesets]
        self.set_hash = ruleset_set_hash(self.rulesets)
        self.label = (
            f"riskengine {riskengine.__version__}: {len(self.rulesets)} rulesets, set {self.set_hash[:12]}"
        )
        self.delay = float(os.environ.get(DELAY_ENV) or 0)
        self.ops: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
            "evaluate": self.evaluate,
            "batch": self.batch,
            "cds": self.cds,
            "render": self.render,
        }

    def ready(self) -> dict[str, Any]:
        """The first frame: what this worker loaded."""
        return {
            "ok": True,
            "ready": True,
            "pid": os.getpid(),
            "engine_version": riskengine.__version__,
            "backend": self.engine.backend.name,
            "rulesets": self.rulesets,
            "set_sha256": self.set_hash,
            "source_label": self.label,
            "person_copy": True,
        }

    def warm_up(self) -> None:
        """Evaluate a bare proposal once, so the first request is as fast as the rest."""
        bare = {"schema_version": 1, "id": "warm-up", "jurisdiction": "england", "as_of": "2026-01-01",
                "proposal": {"activity": "other", "categories": ["leisure"]}}  # fmt: skip
        with contextlib.suppress(riskengine.RiskEngineError):
            self.engine.evaluate(bare)

    def handle(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """One reply for one request; a failure is a reply too, never a crash of the loop."""
        if self.delay:
            time.sleep(self.delay)
        op = self.ops.get(str(message.get("op")))
        if op is None:
            return {
                "ok": False,
                "status": 400,
                "code": "bad-op",
                "detail": f"unknown op {message.get('op')!r}",
            }
        try:
            return op(message)
        except riskengine.InputError as exc:
            return _input_problem(exc)
        except riskengine.RiskEngineError as exc:
            return {"ok": False, "status": 500, "code": "evaluation-failed", "detail": str(exc)}
        except Exception as exc:  # the message only, never the traceback, goes back
            traceback.print_exc(file=sys.stderr)
            return {"ok": False, "status": 500, "code": "internal", "detail": type(exc).__name__}

    # -- REST -------------------------------------------------------------------------------
    def evaluate(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /v1/evaluations``: a proposal's text in, the evaluation (or a report) out."""
        name = "request.yaml" if message.get("media") == "yaml" else "request.json"
        proposal = riskengine.parse_proposal(str(message["text"]), name)
        evaluation = self.engine.evaluate(proposal)
        return {"ok": True, "body": self._render(evaluation, str(message.get("format") or "json")),
                "proposal_id": proposal.id}  # fmt: skip

    def _render(self, evaluation: riskengine.Evaluation, fmt: str) -> str:
        if fmt in ("text", "text-full"):
            return riskengine.render_text(evaluation, full=fmt == "text-full")
        if fmt == "person":
            return riskengine.render_person(evaluation)
        return evaluation.to_json() + "\n"

    def batch(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """A chunk of NDJSON lines (their bytes as the payload): the answers' bytes as the payload,
        one line for each, errors as error lines; ``lines`` gives each answer's size and whether
        it is an evaluation."""
        from ._batch import evaluate_chunk

        out, index = evaluate_chunk(
            self.engine, message["numbers"], message["sizes"], message.get(PAYLOAD, b"")
        )
        return {"ok": True, "lines": index, PAYLOAD: out}

    def render(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """A stored evaluation's practitioner report or person copy."""
        evaluation = riskengine.Evaluation.model_validate_json(str(message["evaluation"]))
        return {"ok": True, "body": self._render(evaluation, str(message.get("format") or "text"))}

    # -- CDS Hooks --------------------------------------------------------------------------
    def cds(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """A hook call's prefetch in, cards out (or one card saying what is missing)."""
        from riskengine import fhir

        request: Mapping[str, Any] = message["request"]
        prefetch = request.get("prefetch") or {}
        missing = [key for key in fhir.PREFETCH if prefetch.get(key) is None]
        if not prefetch:
            card = card_builder.not_evaluated_card(missing, (), self.label)
            return {"ok": True, "result": "missing-prefetch", "missing": missing, "cards": [card]}
        elsewhere = _other_subjects(prefetch, str(request.get("context", {}).get("patientId", "")))
        if elsewhere:
            card = card_builder.wrong_person_card(self.label, elsewhere)
            return {"ok": True, "result": "wrong-person", "missing": missing, "cards": [card]}
        jurisdiction = message.get("jurisdiction") or self.jurisdiction
        try:
            mapping = fhir.map_prefetch(prefetch, jurisdiction=jurisdiction)
        except riskengine.InputError as exc:
            problems = [d.to_dict() for d in exc.diagnostics]
            card = card_builder.not_evaluated_card(missing, problems, self.label)
            return {"ok": True, "result": "not-mappable", "missing": missing, "cards": [card],
                    "diagnostics": problems}  # fmt: skip
        proposal = mapping.proposal
        evaluation = self.engine.evaluate(proposal)
        resources = fhir.resources_for(
            evaluation, proposal, references=mapping.references, subject=mapping.subject
        )
        cards = card_builder.cards_for(
            evaluation, resources, label=self.label, links=message.get("links") or ()
        )
        body = evaluation.to_json() + "\n"
        return {"ok": True, "result": "evaluated", "missing": missing, "cards": cards, "evaluation": body,
                "output_sha256": hashlib.sha256(body.encode()).hexdigest()}  # fmt: skip


def _input_problem(exc: riskengine.InputError) -> dict[str, Any]:
    return {
        "ok": False,
        "status": 0,
        "code": "invalid-input",
        "diagnostics": [d.to_dict() for d in exc.diagnostics],
    }


def _other_subjects(prefetch: Mapping[str, Any], patient_id: str) -> list[str]:
    """FHIR paths of resources in the prefetch that are about someone other than ``patient_id``."""
    if not patient_id:
        return []
    wanted = {f"Patient/{patient_id}", patient_id}
    found: list[str] = []
    for key, value in prefetch.items():
        if not isinstance(value, Mapping):
            continue
        entries = value.get("entry") if value.get("resourceType") == "Bundle" else None
        resources = [(f"{key}", value)] if entries is None else [
            (f"{key}.entry[{i}].resource", e.get("resource")) for i, e in enumerate(entries) if isinstance(e, Mapping)
        ]  # fmt: skip
        for path, resource in resources:
            if not isinstance(resource, Mapping):
                continue
            if resource.get("resourceType") == "Patient":
                if resource.get("id") not in (None, patient_id):
                    found.append(f"{path}.id")
                continue
            for field in ("subject", "patient"):
                ref = resource.get(field)
                if (
                    isinstance(ref, Mapping)
                    and isinstance(ref.get("reference"), str)
                    and ref["reference"] not in wanted
                ):
                    found.append(f"{path}.{field}.reference")
    return found


def serve(stdin: BinaryIO, stdout: BinaryIO, worker: Worker) -> None:
    """Answer frames until stdin closes."""
    while (message := read_frame(stdin)) is not None:
        write_frame(stdout, worker.handle(message))


def _widen_pipes(*fds: int) -> None:
    """Make the pipes to the server hold a whole batch chunk (1 MiB, where Linux allows it), so a
    worker writes its answers in one go instead of waiting on the server for every 64 KiB."""
    for fd in fds:
        with contextlib.suppress(OSError, AttributeError):  # not a pipe, not Linux, over the limit
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def main(argv: list[str] | None = None) -> int:
    """Load the engine, say ready, serve."""
    parser = argparse.ArgumentParser(prog="riskengine-worker")
    parser.add_argument("--rulesets", action="append", default=None)
    parser.add_argument("--backend", default=riskengine.DEFAULT_BACKEND)
    parser.add_argument("--jurisdiction", default=None)
    args = parser.parse_args(argv)
    stdin = sys.stdin.buffer
    stdout = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    _widen_pipes(stdin.fileno(), stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints go to stderr
    try:
        engine = riskengine.Engine.from_paths(args.rulesets, backend=args.backend)
    except riskengine.RiskEngineError as exc:
        write_frame(
            stdout, {"ok": False, "ready": False, "diagnostics": [d.to_dict() for d in exc.diagnostics]}
        )
        return 2
    os.environ["RISKENGINE_CACHE_DIR"] = ""  # from here on, no parse is kept on disk
    worker = Worker(engine, args.jurisdiction)
    worker.warm_up()
    write_frame(stdout, worker.ready())
    try:
        serve(stdin, stdout, worker)
    except (BrokenPipeError, KeyboardInterrupt):
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
