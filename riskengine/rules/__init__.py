"""Stage 3, the rules: loading rulesets, conditions, the field table rules may test, the
backend-neutral IR, the one placeholder syntax of rule texts, and where the shipped rulesets are.

May import: :mod:`riskengine.read`, :mod:`riskengine.documents` and the foundation.
"""
