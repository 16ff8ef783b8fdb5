"""Stage 2, reading: YAML and JSON with positions, the parse cache, shaping plain data into
models with located errors, and reading proposal files.

May import: :mod:`riskengine.documents` and the foundation (``errors``, ``version``).
"""
