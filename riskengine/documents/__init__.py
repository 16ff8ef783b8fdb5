"""Stage 1, the documents: contract v1's proposal, evaluation and ruleset as types, and the vocabularies.

May import: :mod:`riskengine.errors`, :mod:`riskengine.version`. Nothing else of the package.
"""
