"""The rule authors' guide stays in step with the code and the shipped rules."""

from __future__ import annotations

import re

import yaml

from riskengine import Engine
from riskengine.rules.conditions import OPERATORS
from riskengine.rules.fields import FIELDS

from .paths import ROOT

GUIDE = (ROOT / "docs" / "rule-language.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```yaml\n(.*?)```", GUIDE, re.DOTALL)
CONDITIONS = GUIDE[GUIDE.index("## Conditions") : GUIDE.index("### Scopes")]
_ID = r"[a-z0-9][a-z0-9_.\-]*[a-z0-9]"


def _rule_ids_in_examples() -> set[str]:
    """Rule ids the guide's YAML examples name: a rule's own ``id``, ``rule:``, ``fires`` and
    ``does_not_fire`` (prompt, source and ruleset ids have no dots or are not in rule position)."""
    found: set[str] = set()
    for block in (b for b in BLOCKS if not b.startswith("# rulesets/sources.yaml")):
        found.update(re.findall(rf"^  - id: ({_ID})", block, re.MULTILINE))
        found.update(re.findall(rf"\brule: ({_ID})", block))
        for listed in re.findall(r"\b(?:fires|does_not_fire): \[([^\]]*)\]", block):
            found.update(part.strip() for part in listed.split(","))
    return found


def _documented_operators() -> set[str]:
    """Operators the conditions table shows in use, as ``{name: …}``, by exact name."""
    rows = [line for line in CONDITIONS.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"\{([a-z_]+):", row.split("|")[1])}


class TestRuleLanguageGuide:
    def test_every_field_is_documented(self) -> None:
        """Each field rules can test appears in the guide's field table, and no others."""
        documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", GUIDE, re.MULTILINE))
        assert documented == {f"{s}.{n}" for s, names in FIELDS.items() for n in names}

    def test_every_operator_is_documented_by_its_exact_name(self) -> None:
        """The conditions table shows each operator in use, `{name: …}`, and shows no operator
        that does not exist (a substring such as `is` inside `is_not` does not count)."""
        assert _documented_operators() == set(OPERATORS)

    def test_the_operator_check_reads_exact_names(self) -> None:
        """The extraction sees `is_not` as is_not, never as `is` (what the old substring check missed)."""
        row = "| `person.legal_context: {is_not: informal}` | is recorded and is not |"
        assert {n for n in re.findall(r"\{([a-z_]+):", row.split("|")[1])} == {"is_not"}

    def test_every_example_rule_id_exists(self, shipped: Engine) -> None:
        """Every rule id in the guide's examples is a shipped rule, so a reader can look it up."""
        named = _rule_ids_in_examples()
        known = {loaded.rule.id for loaded in shipped.book.rules}
        assert len(named) >= 5  # the examples name rules; the check is not vacuous
        assert sorted(named - known) == []

    def test_every_example_source_exists(self) -> None:
        """The shared sources the guide cites in its ruleset example are in rulesets/sources.yaml."""
        library = yaml.safe_load((ROOT / "rulesets" / "sources.yaml").read_text(encoding="utf-8"))
        ids = {entry["id"] for entry in library["sources"]}
        example = next(b for b in BLOCKS if b.startswith("id: felton-2018"))
        cited = set(re.findall(rf"^  - ({_ID})\s*(?:#.*)?$", example, re.MULTILINE))
        cited |= set(re.findall(rf"\{{id: ({_ID})[,}}]", example)) - {
            "webber-living"
        }  # a citation's own name
        cited |= set(re.findall(rf"cites: ({_ID})", example))
        assert {"felton2018", "dvla-psychiatric", "webber-slides"} <= cited
        assert sorted(cited - ids) == []
