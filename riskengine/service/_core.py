"""The one module of :mod:`riskengine.service` that reaches past ``import riskengine``.

Everything else in the package uses public names. When the core moves (issue 9), only this
file changes.

* ``evaluation_text``: the practitioner's text report (``riskengine evaluate --format text``).
* ``person_text``: the person's copy, when the core has a renderer for it (issue 11), else None.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import riskengine

__all__ = ["evaluation_text", "person_text"]

from riskengine.report.text import evaluation_text


def _person_renderer() -> Callable[[riskengine.Evaluation], str] | None:
    for module, name in (
        ("riskengine.report.person", "person_text"),
        ("riskengine.report.text", "person_text"),
    ):
        try:
            found = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if callable(found):
            return found  # type: ignore[no-any-return]
    return None


person_text = _person_renderer()
