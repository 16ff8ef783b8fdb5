"""Stage 5, the run: facts derived from a proposal, the two-phase loop
(:mod:`riskengine.run.two_phase`) and the backends that decide which rules fire.

May import: :mod:`riskengine.analysis` and every stage below it. durable-rules is imported only
by :mod:`riskengine.run.backends.durable`.
"""
