"""Stage 4, analysis: the person's network as a graph, and the safety net the plan leans on.

May import: :mod:`riskengine.rules`, :mod:`riskengine.read`, :mod:`riskengine.documents` and the
foundation. (It reads the proposal, never the rules' firings: the run hands it the needs.)
"""
