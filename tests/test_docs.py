"""The rule authors' guide stays in step with the code."""

from __future__ import annotations

import re

from riskengine.rules.conditions import OPERATORS
from riskengine.rules.fields import FIELDS

from .paths import ROOT

GUIDE = (ROOT / "docs" / "rule-language.md").read_text(encoding="utf-8")


class TestRuleLanguageGuide:
    def test_every_field_is_documented(self) -> None:
        """Each field rules can test appears in the guide's field table, and no others."""
        documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", GUIDE, re.MULTILINE))
        assert documented == {f"{s}.{n}" for s, names in FIELDS.items() for n in names}

    def test_every_operator_is_documented(self) -> None:
        """Each condition operator appears in the guide."""
        missing = [op for op in OPERATORS if op not in GUIDE]
        assert not missing
