"""Move what rulesets repeat to where it is said once: gates to ``applies_when``, sources to
``rulesets/sources.yaml``.

Run from the repository root, as often as you like (a second run changes nothing)::

    python scripts/migrate_rulesets.py            # rewrite the shipped rulesets in place
    python scripts/migrate_rulesets.py --check    # exit 1 if a run would change anything

It edits the YAML as text, line by line, so comments and layout stay and the diff shows only
what moved (easy to merge with rule edits made meanwhile):

* **Gates.** When every rule of a ruleset tests the same condition first (the activity or
  category gate), or a stronger form of it, the condition moves to the ruleset's
  ``applies_when`` and the first line of each rule's ``when`` that repeats it is removed. A
  rule that tests it elsewhere, or a stronger form, keeps its own line (the trace then lists
  the field where the rule tests it). A ruleset that already has ``applies_when`` only loses
  the repeats in rules added since.
* **Sources.** Every source a ruleset defines inline becomes a citation of the one entry in
  ``sources.yaml``; the rules keep the names they cite. ``ALIASES`` records which inline
  definitions are the same source (for example the seed slide deck, declared under many ids)
  and the part of it each cites; a definition not listed there is the source of its own id.
  A definition that disagrees with the library entry of the same id is reported, and the
  library wins (its details are what the evaluation shows).

May import riskengine's read stage (positions) and nothing else of the package.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from riskengine.read.source import Document, parse_document

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ROOT / "rulesets"
LIBRARY = RULESETS / "sources.yaml"
WORK_FIELDS = ("title", "citation", "url", "seed")  # what a source is; the rest says which part and when
CITE_FIELDS = ("section", "checked", "review_by")

_SLIDES = "000_b0bfa345df7592bd.txt"

# Sources that were defined several times, as the one entry each becomes.
CANONICAL: dict[str, dict[str, Any]] = {
    "webber-slides": {
        "title": "Positive risk-taking in mental health (Webber, slide deck)",
        "citation": "Webber M. Positive risk-taking in mental health, slide deck",
        "seed": _SLIDES,
    },
    "felton2018": {
        "title": "Therapeutic risk-taking: a justifiable choice",
        "citation": "Felton A, Wright N, Stacey G. BJPsych Advances 2017;23(2):81-88 (online 2 January 2018)",
        "url": "https://www.cambridge.org/core/journals/bjpsych-advances/article/therapeutic-risktaking-a-justifiable-choice/134DFBB0FD51DBB504C5AD81981358B0",
        "seed": _SLIDES,
    },
    "mha-cop-england-2015": {
        "title": "Mental Health Act 1983: Code of Practice (England, 2015)",
        "citation": "Department of Health. Mental Health Act 1983: Code of Practice. London: TSO; 2015",
        "url": "https://www.gov.uk/government/publications/code-of-practice-mental-health-act-1983",
        "checked": dt.date(2026, 11, 22),
        "review_by": dt.date(2027, 5, 22),
    },
    "scie-personalisation-2009": {
        "title": "Personalisation for community mental health services (SCIE At a glance 18)",
        "citation": "Social Care Institute for Excellence. At a glance 18: Personalisation for community mental health services. November 2009.",
        "seed": "004_096f25c19e5e92eb.txt",
    },
    "gillard2010": {
        "title": "The barriers and facilitators of supporting self care in Mental Health NHS Trusts",
        "citation": "Gillard S, Edwards C, White S, White R, Adams K, Davies L, et al. Executive summary for the NIHR Service Delivery and Organisation programme, April 2010",
        "seed": "003_87ffada0465f612c.txt",
    },
    "kaur2017": {
        "title": "Co-production in coercive environments: seminar summary (Kaur)",
        "citation": "Kaur H. Co-production in Coercive Environments seminar summary, University of Huddersfield, 6 July 2017",
        "seed": "002_a6c4afebd6016ddd.txt",
    },
    "webber-personalised-care": {
        "title": "Personalised care in mental health (Webber, blog)",
        "citation": "Webber M. Personalised care in mental health, blog post, c. 2011-2012",
        "seed": "001_6372d9b91c24897f.txt",
    },
    "nhsggc-clozapine-break": {
        "title": "Clozapine: re-titration following a treatment break (NHS Greater Glasgow and Clyde Medicines Companion)",
        "citation": "Restates the UK clozapine product information on treatment breaks; UK-wide clozapine patient monitoring services apply.",
        "url": "https://mypsych.nhsggc.org.uk/medicines-companion/clozapine/re-titration-following-a-treatment-break/",
        "checked": dt.date(2026, 11, 22),
        "review_by": dt.date(2027, 11, 22),
    },
    "dvla-psychiatric": {
        "title": "Psychiatric disorders: assessing fitness to drive (DVLA)",
        "url": "https://www.gov.uk/guidance/psychiatric-disorders-assessing-fitness-to-drive",
    },
}

# Inline definitions that are one of the sources above: (ruleset id, id) or id -> (library id,
# the part cited, or None to keep the definition's own section).
ALIASES: dict[tuple[str, str] | str, tuple[str, str | None]] = {
    "seed000": ("webber-slides", "Risk-taking or living your life?"),
    ("safety-net", "seed000"): ("webber-slides", "Connecting People; positive risk-taking examples"),
    ("felton-2018", "connecting-people"): (
        "webber-slides",
        "Connecting People steps: existing connections (strengths and assets); taking stock",
    ),
    ("packs.join_group_or_club", "connecting-people"): ("webber2019-cpi", None),
    "seed000-connecting": ("webber-slides", "Connecting People: Stepping Out"),
    "seed000-examples": ("webber-slides", "Positive risk-taking examples, and the slides that follow"),
    "seed000-lovell": ("webber-slides", "Self-disclosure in mental health services (Lovell et al 2020)"),
    "seed000-mha-assessments": (
        "webber-slides",
        "Mental Health Act assessments (Karban et al 2021; Wickersham et al 2020; Allen & McCusker 2020; Blakley et al 2022)",
    ),
    "seed000-reintegration": ("webber-slides", "Community reintegration (Tirupati et al 2021)"),
    "seed000-shaw": ("webber-slides", "Nearest relative discharges (Shaw et al 2003)"),
    "seed000-ware": ("webber-slides", "BPD experiences (Ware et al 2022)"),
    "ware2022-seed": ("webber-slides", "BPD experiences (Ware et al 2022)"),
    "webber-living": ("webber-slides", None),
    "webber-mha-assessments": ("webber-slides", None),
    "webber-nearest-relative": ("webber-slides", None),
    "webber-reintegration": ("webber-slides", None),
    "webber-self-disclosure": ("webber-slides", None),
    ("safety-net", "ware2022"): (
        "ware2022",
        "Positive risk-taking was contingent upon collaborative and consistent relationships which created a safety net",
    ),
    "mha-cop-2015": ("mha-cop-england-2015", None),
    "seed004-advocates": (
        "scie-personalisation-2009",
        "'... experiences a Mental Health Act assessment': are suitable advocates, formal and informal, routinely involved in assessments?",
    ),
    "seed004-jenny": ("scie-personalisation-2009", "Example: AMHP, Hertfordshire"),
    ("packs.nearest_relative_discharge", "seed004-john"): (
        "scie-personalisation-2009",
        "Example: Father of man using long term mental health services",
    ),
    ("packs.personalisation", "seed004-john"): (
        "scie-personalisation-2009",
        "Example: Father of man using long term mental health services, South London",
    ),
    "seed004-scie": ("scie-personalisation-2009", None),
    "gillard-self-care-2010": ("gillard2010", None),
    "gillard2010-recs": ("gillard2010", "Recommendations"),
    "seed003-gillard": ("gillard2010", "Executive summary"),
    "seed002-pilgrim": ("kaur2017", "David Pilgrim's keynote"),
    "seed002-scott": ("kaur2017", "Charlotte Scott's talk 'Power sharing within coercive environments'"),
    "seed001-webber": ("webber-personalised-care", None),
    "personalisation-research-001": (
        "webber-personalised-care",
        "Barriers to personalisation in mental health: organisational culture, concern about risk, notional budgets",
    ),
    "clozapine-break": ("nhsggc-clozapine-break", None),
    "seed000-culture": (
        "webber-slides",
        "Connecting People: 'Organisational Culture' and 'Taking Stock' (what is and is not working for the practitioner)",
    ),
    "seed000-recovery": (
        "webber-slides",
        "Therapeutic risk-taking and recovery (Felton et al 2018): the right to take a risk and make mistakes",
    ),
    "seed002-kaur": (
        "kaur2017",
        "Home treatment can put an unbearable strain on service users and carers; 'Team Hudd': a medicine given for long periods without review",
    ),
    "dvla-episode": (
        "dvla-psychiatric",
        "At a glance: hypomania/mania, Group 1 entitlement; the same relicensing conditions for acute psychotic disorders",
    ),
}


# A definition that is only a title and a seed file is a part of the seed's one source: it
# becomes a citation of that source, its title the section (reported, to be worded better).
SEED_SOURCES = {
    _SLIDES: "webber-slides",
    "001_6372d9b91c24897f.txt": "webber-personalised-care",
    "003_87ffada0465f612c.txt": "gillard2010",
    "004_096f25c19e5e92eb.txt": "scie-personalisation-2009",
}


@dataclass
class Report:
    """What a run changed and what it could not decide."""

    changed: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---- text editing -------------------------------------------------------------------------


def _top_level_block(lines: list[str], key: str) -> tuple[int, int] | None:
    """0-based [start, end) of the top-level ``key:`` block, or None."""
    start = next((i for i, line in enumerate(lines) if line.startswith(f"{key}:")), None)
    if start is None:
        return None
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " #\t-"):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # leave blank lines before the next key
    return start, end


def _scalar(value: Any) -> str:
    """A YAML scalar for a flow mapping: dates plain, text double-quoted (JSON is valid YAML)."""
    return value.isoformat() if isinstance(value, dt.date) else json.dumps(value, ensure_ascii=False)


# ---- gates ------------------------------------------------------------------------------


def _implies(condition: dict[str, Any], gate: dict[str, Any]) -> bool:
    """Whether ``condition`` can hold only where ``gate`` holds (same field; equal or stronger)."""
    if condition == gate:
        return True
    ((name, want),) = gate.items()
    if set(condition) != {name}:
        return False
    have = condition[name]
    if isinstance(want, list):  # one of
        return have in want or (isinstance(have, list) and set(have) <= set(want))
    if isinstance(want, dict) and isinstance(have, dict) and "includes_any" in want:
        allowed = set(want["includes_any"])
        return have.get("includes") in allowed or set(have.get("includes_any", [None])) <= allowed
    return False


def _shared_gate(rules: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first condition every rule tests (or a stronger form of), if there is one."""
    firsts = [rule.get("when", [None])[0] for rule in rules]
    if len(rules) < 2 or any(not isinstance(f, dict) for f in firsts):
        return None
    gate: dict[str, Any] = json.loads(
        Counter(json.dumps(f, sort_keys=True) for f in firsts).most_common(1)[0][0]
    )
    if "any" in gate:
        return None
    every = all(any(_implies(c, gate) for c in rule.get("when", [])) for rule in rules)
    return gate if every else None


def _migrate_gate(text: str, document: Document, report: Report, name: str) -> str:
    data = document.data
    rules = data.get("rules") or []
    existing = data.get("applies_when")
    gate = existing[0] if existing else _shared_gate(rules)
    if gate is None:
        return text
    lines = text.splitlines(keepends=True)
    drop: set[int] = set()
    first_line = ""
    for i, rule in enumerate(rules):
        when = rule.get("when") or []
        if not when or when[0] != gate:
            continue
        at = document.source.locate(("rules", i, "when", 0)).line - 1
        line = lines[at]
        if not line.lstrip().startswith("- ") or yaml.safe_load(line.lstrip()[2:]) != gate:
            report.notes.append(f"{name}: rule {rule['id']}: the gate is not on one line; left as it is")
            continue
        first_line = first_line or line.lstrip()
        drop.add(at)
        if len(when) == 1:
            drop.add(document.source.locate(("rules", i, "when"), key=True).line - 1)
    if not drop:
        return text
    if existing is None:
        block = _top_level_block(lines, "rules")
        assert block is not None
        header = "applies_when:          # every rule below holds only when these do\n"
        lines.insert(block[0], f"{header}  {first_line}")
        drop = {d + 1 if d >= block[0] else d for d in drop}
    return "".join(line for i, line in enumerate(lines) if i not in drop)


# ---- sources ----------------------------------------------------------------------------


@dataclass
class Library:
    """The shared sources by id, as plain data (the file is rewritten sorted)."""

    entries: dict[str, dict[str, Any]]

    @classmethod
    def read(cls) -> Library:
        if not LIBRARY.exists():
            return cls({})
        data = yaml.safe_load(LIBRARY.read_text(encoding="utf-8")) or {}
        return cls({entry["id"]: entry for entry in data.get("sources", [])})

    def text(self) -> str:
        out = [
            "# Every source the shipped rulesets cite, defined once. A ruleset cites one by id in its\n",
            "# `sources:` list, optionally with the part cited (`section`) and when it was checked.\n",
            "# See docs/rule-language.md. scripts/migrate_rulesets.py keeps rulesets citing these.\n",
            "sources:\n",
        ]
        for source_id in sorted(self.entries):
            entry = self.entries[source_id]
            out.append(f"  - id: {source_id}\n")
            for key in (*WORK_FIELDS, *CITE_FIELDS):
                if entry.get(key) is not None:
                    out.append(f"    {key}: {_scalar(entry[key])}\n")
        return "".join(out)


def _citation(
    ruleset_id: str, definition: dict[str, Any], library: Library, report: Report
) -> dict[str, Any]:
    """The citation that replaces an inline definition, adding the source to the library if new."""
    old = definition["id"]
    alias = (
        ALIASES.get((ruleset_id, old)) or ALIASES.get(old) or _part_of_a_seed(ruleset_id, definition, report)
    )
    target, section = alias or (old, None)
    if target not in library.entries:
        chosen = CANONICAL.get(target) or {
            k: definition[k] for k in (*WORK_FIELDS, "checked", "review_by") if k in definition
        }
        library.entries[target] = {"id": target, **chosen}
    shared = library.entries[target]
    if alias is None and old not in CANONICAL:
        differs = [k for k in WORK_FIELDS if definition.get(k) != shared.get(k)]
        if differs:
            report.notes.append(
                f"{ruleset_id}: source '{old}' differs from {LIBRARY.name} in {', '.join(differs)}; the library's is used"
            )
    citation: dict[str, Any] = {"id": old}
    if target != old:
        citation["cites"] = target
    narrowed = {**{k: definition.get(k) for k in CITE_FIELDS}, **({"section": section} if section else {})}
    citation.update({k: v for k, v in narrowed.items() if v is not None and v != shared.get(k)})
    return citation


def _part_of_a_seed(ruleset_id: str, definition: dict[str, Any], report: Report) -> tuple[str, str] | None:
    """A bare title-and-seed definition as a citation of the seed's source, or None."""
    seed_source = SEED_SOURCES.get(definition.get("seed", ""))
    if (
        seed_source is None
        or set(definition) - {"id", "title", "seed", "section"}
        or definition["id"] in CANONICAL
    ):
        return None
    section = definition.get("section") or definition["title"]
    report.notes.append(
        f"{ruleset_id}: '{definition['id']}' cites {seed_source}, section {section!r}: add it to ALIASES to word the section"
    )
    return seed_source, section


def _citation_line(citation: dict[str, Any]) -> str:
    if list(citation) == ["id"]:
        return f"  - {citation['id']}\n"
    inner = ", ".join(f"{k}: {v if k in ('id', 'cites') else _scalar(v)}" for k, v in citation.items())
    return f"  - {{{inner}}}\n"


def _migrate_sources(text: str, document: Document, library: Library, report: Report) -> str:
    data = document.data
    entries = data.get("sources") or []
    if not any(isinstance(e, dict) and "title" in e for e in entries):
        return text
    defined = [e for e in entries if isinstance(e, dict) and "title" in e]
    citations = {e["id"]: _citation(data["id"], e, library, report) for e in defined}
    lines = text.splitlines(keepends=True)
    block = _top_level_block(lines, "sources")
    assert block is not None
    body: list[str] = ["sources:                # cited from rulesets/sources.yaml\n"]
    for entry in entries:
        if isinstance(entry, dict) and "title" in entry:
            body.append(_citation_line(citations[entry["id"]]))
        else:
            body.append(_citation_line(entry if isinstance(entry, dict) else {"id": entry}))
    return "".join([*lines[: block[0]], *body, *lines[block[1] :]])


def _rename_clashes(text: str, document: Document, library: Library) -> str:
    """A citation named like another shared source takes the name of the one it cites.

    Its entry in ``sources:`` and every rule's use of the old name are rewritten in place.
    """
    data = document.data
    entries = [e for e in data.get("sources") or [] if isinstance(e, dict)]
    listed = {e["id"] for e in entries}
    renames = {
        e["id"]: e["cites"]
        for e in entries
        if e.get("cites") and e["id"] in library.entries and e["cites"] not in listed
    }
    if not renames:
        return text
    lines = text.splitlines(keepends=True)
    for i, entry in enumerate(data["sources"]):
        if isinstance(entry, dict) and entry["id"] in renames:
            line = document.source.locate(("sources", i)).line - 1
            lines[line] = lines[line].replace(
                f"{{id: {entry['id']}, cites: {entry['cites']}}}", entry["cites"], 1
            )
            lines[line] = lines[line].replace(
                f"id: {entry['id']}, cites: {entry['cites']}", f"id: {entry['cites']}", 1
            )
    for path in _source_uses(data):
        name = _at(data, path)
        if name in renames:
            where = document.source.locate(path)
            line, col = where.line - 1, where.column - 1
            text_at = lines[line]
            assert text_at[col : col + len(name)] == name, (path, text_at)
            lines[line] = text_at[:col] + renames[name] + text_at[col + len(name) :]
    return "".join(lines)


def _source_uses(data: dict[str, Any]) -> list[tuple[str | int, ...]]:
    """Where rules name a source: ``source`` (one or a list) and ``then.knowledge.source``."""
    uses: list[tuple[str | int, ...]] = []
    for i, rule in enumerate(data.get("rules") or []):
        cited = rule.get("source")
        if isinstance(cited, list):
            uses += [("rules", i, "source", j) for j in range(len(cited))]
        elif cited is not None:
            uses.append(("rules", i, "source"))
        if isinstance(rule.get("then", {}).get("knowledge"), dict) and "source" in rule["then"]["knowledge"]:
            uses.append(("rules", i, "then", "knowledge", "source"))
    return uses


def _at(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


# ---- driver -----------------------------------------------------------------------------


def migrate(paths: list[Path], *, write: bool) -> Report:
    """Migrate every ruleset file in ``paths``; write the files (and the library) if asked."""
    report = Report()
    library = Library.read()
    before = library.text()
    originals = {path: path.read_text(encoding="utf-8") for path in paths}
    texts: dict[Path, str] = {}
    for path, text in originals.items():
        new = _migrate_gate(text, parse_document(text, str(path)), report, path.name)
        texts[path] = _migrate_sources(new, parse_document(new, str(path)), library, report)
    for path, text in texts.items():  # once the library is complete
        new = _rename_clashes(text, parse_document(text, str(path)), library)
        if new != originals[path]:
            report.changed.append(path)
            if write:
                path.write_text(new, encoding="utf-8")
    if library.text() != before or not LIBRARY.exists():
        report.changed.append(LIBRARY)
        if write:
            LIBRARY.write_text(library.text(), encoding="utf-8")
    return report


def ruleset_files(root: Path = RULESETS) -> list[Path]:
    """The ruleset files under ``root`` (not their tests, not the library)."""
    return sorted(
        p for p in root.rglob("*.yaml") if not p.name.endswith(".test.yaml") and p.name != LIBRARY.name
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a run would")
    args = parser.parse_args(argv)
    report = migrate(ruleset_files(), write=not args.check)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    for path in report.changed:
        print(f"{'would change' if args.check else 'changed'}: {path.relative_to(ROOT)}")
    return 1 if args.check and report.changed else 0


if __name__ == "__main__":
    sys.exit(main())
