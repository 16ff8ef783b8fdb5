"""Rewrite the field table in docs/rule-language.md from riskengine.rules.fields.FIELDS.

Run after adding a field: ``python scripts/update_field_table.py``. tests/test_docs.py
fails while the guide and the code disagree.
"""

from __future__ import annotations

import re
from pathlib import Path

from riskengine.rules.fields import FIELDS

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "rule-language.md"
START, END = "<!-- fields:start -->", "<!-- fields:end -->"


def table() -> str:
    """The markdown tables, one per scope."""
    parts = []
    for scope, fields in FIELDS.items():
        rows = [f"#### `{scope}`", "", "| field | type | meaning |", "|---|---|---|"]
        for name, spec in fields.items():
            kind = spec.type + (": " + ", ".join(spec.vocab) if spec.vocab else "")
            rows.append(f"| `{scope}.{name}` | {kind} | {spec.doc} |")
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


def main() -> None:
    """Replace the text between the markers."""
    text = GUIDE.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    GUIDE.write_text(pattern.sub(f"{START}\n{table()}\n{END}", text), encoding="utf-8")


if __name__ == "__main__":
    main()
