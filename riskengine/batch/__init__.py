"""Batch evaluation and ruleset-change impact (issue 15): ``riskengine batch``, ``riskengine impact``.

May import: the door (``riskengine``) and its own modules.
"""
