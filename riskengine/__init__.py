"""riskengine: positive risk-taking decision support. It prompts; it never decides or grades.

The one door in::

    import riskengine

    engine = riskengine.Engine.from_paths()          # the shipped rulesets, durable-rules backend
    proposal = riskengine.load_proposal("scenarios/proposals/parkrun-with-a-friend.yaml")
    evaluation = engine.evaluate(proposal)
    print(evaluation.to_json())

Every error riskengine raises on purpose is a :class:`RiskEngineError` carrying located
:class:`Diagnostic` values. The package is laid out by stage (``documents``, ``read``,
``rules``, ``analysis``, ``run``, ``report``), each importing only the stages below it; the
command line and the optional capabilities (``training``, ``room``, ``service``, ``fhir``,
``batch``) use the names exported here.
"""

from riskengine.documents.evaluation import BriefItem, Evaluation
from riskengine.documents.proposal import Proposal
from riskengine.documents.ruleset import Ruleset, RuleTestFile
from riskengine.documents.schemas import json_schema
from riskengine.engine import DEFAULT_BACKEND, Engine, default_rulesets_dir
from riskengine.errors import (
    EXIT_INTERNAL,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_TEST_FAILURES,
    BackendError,
    Diagnostic,
    EvaluationError,
    InputError,
    Location,
    RiskEngineError,
    RulesetError,
    Severity,
    diagnostics_json,
    diagnostics_text,
    json_pointer,
)
from riskengine.files import open_atomically, write_file_atomically
from riskengine.read.inputs import read_input, read_proposal_input
from riskengine.read.limits import PROPOSAL_LIMITS, RULESET_LIMITS, Limits, limits_for
from riskengine.read.proposal_files import (
    load_proposal,
    parse_proposal,
    proposal_from_data,
    proposal_warnings,
    read_proposal,
)
from riskengine.read.source import Document, read_document
from riskengine.report.knowledge import CatalogueEntry, knowledge_catalogue
from riskengine.report.person import render_person
from riskengine.report.text import evaluation_text, render_text
from riskengine.rule_tests import TestReport, load_test_file, rule_tests_json, rule_tests_text, run_rule_tests
from riskengine.rules.loader import RuleBook, load_rulebook
from riskengine.run.backends.base import BACKENDS
from riskengine.version import __version__

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "EXIT_INTERNAL",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_TEST_FAILURES",
    "PROPOSAL_LIMITS",
    "RULESET_LIMITS",
    "BackendError",
    "BriefItem",
    "CatalogueEntry",
    "Diagnostic",
    "Document",
    "Engine",
    "Evaluation",
    "EvaluationError",
    "InputError",
    "Limits",
    "Location",
    "Proposal",
    "RiskEngineError",
    "RuleBook",
    "RuleTestFile",
    "Ruleset",
    "RulesetError",
    "Severity",
    "TestReport",
    "__version__",
    "default_rulesets_dir",
    "diagnostics_json",
    "diagnostics_text",
    "evaluation_text",
    "json_pointer",
    "json_schema",
    "knowledge_catalogue",
    "limits_for",
    "load_proposal",
    "load_rulebook",
    "load_test_file",
    "open_atomically",
    "parse_proposal",
    "proposal_from_data",
    "proposal_warnings",
    "read_document",
    "read_input",
    "read_proposal",
    "read_proposal_input",
    "render_person",
    "render_text",
    "rule_tests_json",
    "rule_tests_text",
    "run_rule_tests",
    "write_file_atomically",
]
