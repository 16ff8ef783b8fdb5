"""Stage 6, the report: assembling the traced evaluation from the run, the text renderers,
the eco-map and the knowledge catalogue.

May import: :mod:`riskengine.run` and every stage below it.
"""
