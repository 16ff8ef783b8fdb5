"""riskengine: positive risk-taking decision support. It prompts; it never decides or grades.

The one door in::

    import riskengine

    engine = riskengine.Engine.from_paths()          # the shipped rulesets, durable-rules backend
    proposal = riskengine.load_proposal("scenarios/proposals/parkrun-with-a-friend.yaml")
    evaluation = engine.evaluate(proposal)
    print(evaluation.to_json())

Every error riskengine raises on purpose is a :class:`RiskEngineError` carrying located
:class:`Diagnostic` values.
"""

__version__ = "0.1.0"

from .engine import DEFAULT_BACKEND, Engine, default_rulesets_dir
from .errors import (
    BackendError,
    Diagnostic,
    EvaluationError,
    InputError,
    Location,
    RiskEngineError,
    RulesetError,
)
from .evaluation import Evaluation
from .knowledge import CatalogueEntry, knowledge_catalogue
from .loader import RuleBook, load_rulebook
from .person import render_person
from .proposal import Proposal
from .proposals import load_proposal, parse_proposal, proposal_from_data
from .testing import TestReport, run_rule_tests
from .textreport import render_text

__all__ = [
    "DEFAULT_BACKEND",
    "BackendError",
    "CatalogueEntry",
    "Diagnostic",
    "Engine",
    "Evaluation",
    "EvaluationError",
    "InputError",
    "Location",
    "Proposal",
    "RiskEngineError",
    "RuleBook",
    "RulesetError",
    "TestReport",
    "__version__",
    "default_rulesets_dir",
    "knowledge_catalogue",
    "load_proposal",
    "load_rulebook",
    "parse_proposal",
    "proposal_from_data",
    "render_person",
    "render_text",
    "run_rule_tests",
]
