"""``riskengine fhir ...``: read a FHIR Bundle or CDS Hooks prefetch as a proposal, write an
evaluation as FHIR resources, and show the Bundle a proposal maps from.

Imports only the standard library at module level (the CLI's cold start stays light); the
handlers import ``riskengine`` and this package, and say which extra to install if
``fhir.resources`` is missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
from pathlib import Path
from typing import Any, TextIO

__all__ = ["register"]

JURISDICTIONS = ("england", "wales", "scotland", "northern_ireland")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``riskengine fhir read|resources|bundle``."""
    fhir = sub.add_parser("fhir", help="FHIR R4: read a Bundle or prefetch, write resources (docs/fhir.md)")
    commands = fhir.add_subparsers(dest="fhir_command", required=True, metavar="COMMAND")

    read = commands.add_parser("read", help="map a FHIR Bundle (or a CDS Hooks prefetch) to a proposal")
    _input(read)
    read.add_argument("--format", choices=("yaml", "json"), default="yaml")
    read.set_defaults(handler=_read)

    resources = commands.add_parser(
        "resources", help="evaluate a FHIR Bundle and print the FHIR resources for the evaluation"
    )
    _input(resources)
    resources.add_argument(
        "--rulesets", action="append", type=Path, metavar="DIR",
        help="a rulesets directory (repeatable; default: the shipped rulesets)",
    )  # fmt: skip
    resources.add_argument("--format", choices=("json",), default="json")
    resources.set_defaults(handler=_resources)

    bundle = commands.add_parser("bundle", help="print the FHIR Bundle a proposal file maps from")
    bundle.add_argument("file", type=Path, help="proposal file (YAML or JSON); - reads standard input")
    bundle.add_argument("--format", choices=("json",), default="json")
    bundle.set_defaults(handler=_bundle)


def _input(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        type=Path,
        help="a FHIR Bundle (JSON), or with --prefetch a CDS Hooks request; - reads standard input",
    )
    parser.add_argument(
        "--prefetch", action="store_true",
        help="the file is a CDS Hooks prefetch object, or a whole hook request with one",
    )  # fmt: skip
    parser.add_argument(
        "--jurisdiction", choices=JURISDICTIONS, help="the deployment's (wins over addresses)"
    )
    parser.add_argument(
        "--as-of", type=dt.date.fromisoformat, metavar="YYYY-MM-DD", help="default: CarePlan.created"
    )


def _fhir() -> Any:
    import riskengine

    try:  # the mapping imports its models lazily, so check here that they are installed
        found = importlib.util.find_spec("fhir.resources") is not None
    except ModuleNotFoundError:
        found = False
    if not found:  # fhir.resources comes with the service extra
        raise riskengine.RiskEngineError("fhir.resources is missing: pip install 'riskengine[service]'")
    from riskengine import fhir

    return fhir


def _mapping(args: argparse.Namespace, err: TextIO) -> Any:
    import riskengine

    fhir = _fhir()
    data = riskengine.read_input(args.file, getattr(args, "stdin", None)).data
    options = {"jurisdiction": args.jurisdiction, "as_of": args.as_of, "source": str(args.file)}
    if args.prefetch:
        if isinstance(data, dict) and "hook" in data and "prefetch" in data:
            data = data["prefetch"]  # a whole CDS Hooks request
        mapping = fhir.map_prefetch(data, **options)
    else:
        mapping = fhir.map_bundle(data, **options)
    for warning in mapping.warnings:
        err.write(warning.render() + "\n")
    return mapping


def _read(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    mapping = _mapping(args, err)
    data = mapping.proposal.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    if args.format == "json":
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        import yaml

        out.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
    return 0


def _resources(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import riskengine

    mapping = _mapping(args, err)
    evaluation = riskengine.Engine.from_paths(args.rulesets).evaluate(mapping.proposal)
    resources = _fhir().resources_for(evaluation, mapping.proposal, references=mapping.references)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    out.write(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n")
    return 0


def _bundle(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import riskengine

    proposal, warnings = riskengine.read_proposal_input(args.file, getattr(args, "stdin", None))
    for warning in warnings:
        err.write(warning.render() + "\n")
    out.write(json.dumps(_fhir().bundle_for(proposal), indent=2, ensure_ascii=False) + "\n")
    return 0
