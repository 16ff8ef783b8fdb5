"""The one placeholder syntax of rule texts: ``{scope.field}``, named by the field table.

The loader checks every placeholder with :func:`placeholder_names`; assembly fills them with
:class:`Template`. Both read the same pattern, so what loads is what fills.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from riskengine.rules.fields import CASE_SCOPES, fact_key

__all__ = ["Template", "fill_text", "placeholder_names"]

# Anything in braces is a placeholder; the loader refuses any that is not ``scope.field``.
_ANY = re.compile(r"\{([^{}]*)\}")
_SCOPED = re.compile(r"\{([a-z_]+)\.([a-z_]+)\}")


def placeholder_names(text: str) -> list[str]:
    """The names in ``text``'s placeholders, as written (``case.activity``)."""
    return _ANY.findall(text)


@dataclass(frozen=True, slots=True)
class Template:
    """A text split once at its ``{scope.field}`` placeholders into literal text and fact lookups."""

    text: str
    head: str  # the text before the first placeholder
    slots: tuple[tuple[bool, str, str], ...]  # per placeholder: (is a case field, fact key, text after)

    @classmethod
    def parse(cls, text: str) -> Template:
        """Split ``text`` at the placeholders :func:`render` fills."""
        parts = _SCOPED.split(text)  # literal, scope, field, literal, scope, field, ..., literal
        slots = tuple(
            (scope in CASE_SCOPES, fact_key(scope, name), after)
            for scope, name, after in zip(parts[1::3], parts[2::3], parts[3::3], strict=True)
        )
        return cls(text, parts[0], slots)

    def fill(self, case: dict[str, Any], item: dict[str, Any] | None) -> str:
        """The text with each placeholder replaced by the value of its field in the matched facts."""
        if not self.slots:
            return self.text
        fact = item or {}
        out = [self.head]
        for is_case, key, after in self.slots:
            out += (_show((case if is_case else fact).get(key)), after)
        return "".join(out)


def fill_text(text: str, case: dict[str, Any], item: dict[str, Any] | None) -> str:
    """Fill ``{scope.field}`` placeholders from the matched facts."""
    return _template(text).fill(case, item) if "{" in text else text


@lru_cache(maxsize=2048)
def _template(text: str) -> Template:
    """:meth:`Template.parse`, once per text: a rule's texts are the same on every evaluation."""
    return Template.parse(text)


def _show(value: Any) -> str:
    if value is None:
        return "not recorded"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value).replace("_", " ")
