"""riskengine: positive risk-taking decision support. It prompts; it never decides."""
__version__ = "0.1.0"
