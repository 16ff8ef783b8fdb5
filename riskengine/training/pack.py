"""The facilitator pack: one self-contained print HTML document, and the same as PDF.

Before the session: the session plan and timings, learning outcomes, room set-up, the
prebrief and ground rules, content notes and support, credits and the consent statement.
During: each stage, what to tell the room, the decision prompt, the reveal (or a "storyteller
speaks here" cue), the PEARLS prompts and the engine debrief for each decision point. To
print: option cards for rooms without devices, a tally sheet, and a Gibbs reflection handout.

The HTML carries its own print CSS and nothing external, so it opens offline and prints the
same everywhere. The PDF is rendered from that same HTML by WeasyPrint (the ``training``
extra; it needs Pango from the system).

Imports: the standard library, :mod:`riskengine` public names, :mod:`._core`, :mod:`.debrief`,
:mod:`.load`, :mod:`.model`, :mod:`.play`; WeasyPrint only when writing a PDF.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from pathlib import Path

from riskengine import Diagnostic, Engine, Location, RiskEngineError

from ._core import PRINCIPLE_TITLES, TENSION_TITLES, write_file_atomically
from .debriefing import DebriefResult, PlanDebrief, debrief
from .load import LoadedScenario
from .model import Credit, DecisionPoint, Scenario, Stage
from .solo import GIBBS
from .text import plan_name

__all__ = ["render_pack", "write_pack"]

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_NOTHING = "<span class='small'>the same as every plan</span>"
_ORIGIN = {
    "composite": "This is a composite scenario: it draws on several people's experiences, changed and combined. It is no one person's story.",
    "fictional": "This is a fictional scenario. It is no real person's story.",
    "real_with_consent": "This is a real person's story, used with their consent as recorded below.",
}
_DISPLAY = {
    "full_name": "full name",
    "first_name": "first name",
    "initials": "initials",
    "pseudonym": "a pseudonym",
    "anonymous": "anonymous",
}
_SCOPE = {
    "live_with_storyteller": "told live with the storyteller present",
    "text_without_storyteller": "read as text without the storyteller",
    "recorded": "played as a recording",
    "internal": "used inside the organisation",
    "public": "published openly",
}
_SECTOR = {
    "nhs": "NHS",
    "adult_social_care": "adult social care",
    "voluntary_sector": "voluntary sector",
    "carers": "carers",
    "service_users": "people who use services",
    "students": "students",
    "housing": "housing",
    "police": "police",
    "education": "education",
    "primary_care": "primary care",
}
_PEARLS = (
    ("reactions", "Reactions"),
    ("description", "Description"),
    ("analysis", "Analysis"),
    ("summary", "Summary"),
)
_GROUND_RULES = (
    "Everyone here is doing their best and wants to do well by the people they work with. We take that as given.",
    "What people say about their own lives stays in the room. Talk about the ideas afterwards, not about who said what.",
    "There is no right answer, and no one is marked. The engine's debrief shows what the principles ask of each plan; it does not rank the plans.",
    "You can step out at any time, for any reason, without explaining. A named lead is free to go with you if you want.",
    "Experts by experience and by learning are equal partners in this room.",
    "Please do not use real names or details of people you work with.",
)
_ROOM = (
    "Tables of four to six, mixing roles and sectors where you can.",
    "One set of option cards per table (printed from this pack), and a pen for the tally sheet.",
    "If a storyteller is telling their own part, agree beforehand where they sit, how they want to be introduced, and a signal for a pause.",
    "A quiet space nearby, and one lead free to step out with anyone who needs a break.",
    "The support information on a slide or a card on each table, and read out at the start.",
)
_CSS = """
@page { size: A4; margin: 18mm 16mm 20mm 16mm;
  @bottom-center { content: "Page " counter(page) " of " counter(pages); font: 9pt sans-serif; color: #333; } }
@page wide { size: A4 landscape; margin: 14mm 14mm 16mm 14mm; }
html { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 10.5pt; line-height: 1.4; color: #111; background: #fff; }
body { margin: 0 auto; max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 22pt; margin: 0 0 .3em; }
h2 { font-size: 15pt; margin: 1.2em 0 .4em; border-bottom: 2px solid #111; padding-bottom: .1em; }
h3 { font-size: 12.5pt; margin: 1em 0 .3em; }
h4 { font-size: 11pt; margin: .8em 0 .2em; }
p, li { margin: .25em 0; }
h2, h3, h4 { break-after: avoid; }
.lead { font-size: 12pt; }
.note { border-left: 4px solid #111; padding: .3em .8em; margin: .6em 0; background: #f3f3f3; }
.cue { border: 2px dashed #111; padding: .5em .8em; margin: .6em 0; font-weight: bold; }
.story { font-size: 11.5pt; margin: .4em 0 .6em; }
.meta { color: #333; font-size: 9.5pt; }
.tags { font-size: 9pt; color: #333; }
table { border-collapse: collapse; width: 100%; margin: .4em 0 .8em; }
th, td { border: 1px solid #555; padding: .25em .4em; vertical-align: top; text-align: left; }
th { background: #e8e8e8; }
td ul, td ol { margin: 0; padding-left: 1.1em; }
.section { break-before: page; }
.wide { page: wide; break-before: page; }
.keep { break-inside: avoid; }
.cards { font-size: 0; }
.card { font-size: 10.5pt; display: inline-block; vertical-align: top; box-sizing: border-box; width: 48%; margin: 0 2% 5mm 0; min-height: 58mm; border: 1.5px dashed #111; padding: 6mm; break-inside: avoid; }
.card .letter { font-size: 34pt; font-weight: bold; line-height: 1; }
.card .text { font-size: 15pt; margin-top: 3mm; }
.card .dp { font-size: 9pt; color: #333; margin-top: 4mm; }
.tally { table-layout: fixed; }
.tally td { height: 12mm; }
.tally thead th:first-child { width: 46%; }
.tally thead th:last-child { width: 24%; }
.write { border: 1px solid #555; min-height: 34mm; margin: .3em 0 .8em; }
.small { font-size: 8.5pt; color: #333; }
ul.plus, ul.query { list-style: none; padding-left: 0; }
ul.plus li::before { content: "+ "; font-weight: bold; }
ul.query li::before { content: "? "; font-weight: bold; }
tr { break-inside: avoid; }
table.diff tr { break-inside: auto; }
.wide table { table-layout: fixed; }
.wide table th:first-child, .wide table td:first-child { width: 17%; }
.carddp { break-before: page; }
.carddp:first-of-type { break-before: auto; }
.wide td, .wide th { font-size: 9.5pt; }
@media print { body { max-width: none; padding: 0; } }
@media screen { body { padding: 1rem; } .section, .wide { border-top: 3px double #111; margin-top: 2rem; } }
"""


def write_pack(scenario: LoadedScenario, output: Path, *, engine: Engine | None = None) -> None:
    """Write the pack to ``output``: PDF if it ends in ``.pdf``, else HTML. Nothing is left half-written."""
    text = render_pack(scenario, engine=engine)
    write_file_atomically(output, _pdf(text, output) if output.suffix.lower() == ".pdf" else text)


def _pdf(text: str, output: Path) -> bytes:
    try:
        import weasyprint  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint is installed but Pango is not
        message = f"a PDF needs WeasyPrint and Pango: pip install 'riskengine[training]' (and see the README) ({exc})"
        raise RiskEngineError([Diagnostic(Location(str(output)), "no-pdf", "", message)]) from None
    pdf: bytes = weasyprint.HTML(string=text).write_pdf()
    return pdf


def render_pack(scenario: LoadedScenario, *, engine: Engine | None = None) -> str:
    """The whole pack as one HTML document."""
    s = scenario.scenario
    results = {dp_id: debrief(scenario, dp_id, engine=engine) for dp_id in scenario.points}
    body = [
        _cover(s),
        _plan(scenario),
        _before(s),
        *(_stage(stage, results) for stage in scenario.stages()),
        _closing(s),
        *(_debrief(results[dp.id], dp) for dp in s.decision_points() if dp.id in results),
        _cards(s),
        _tally(s),
        _gibbs(s),
    ]
    return (
        f'<!DOCTYPE html>\n<html lang="{_e(s.language)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Facilitator pack: {_e(s.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _ul(items: Iterable[str], cls: str = "") -> str:
    rows = "".join(f"<li>{_e(i)}</li>" for i in items)
    klass = f' class="{cls}"' if cls else ""
    return f"<ul{klass}>{rows}</ul>" if rows else ""


def _credit(c: Credit) -> str:
    return f"<li><strong>{_e(c.role.replace('_', ' '))}</strong>: {_e(c.shown())} <span class='meta'>(shown as {_DISPLAY[c.display]}{'; ' + _e(c.note) if c.note else ''})</span></li>"


def _cover(s: Scenario) -> str:
    sectors = ", ".join(_SECTOR[x] for x in s.audience.sectors) or "any"
    roles = ", ".join(s.audience.roles)
    outcomes = "".join(f"<li>{_e(o.text)}</li>" for o in s.learning_outcomes)
    return f"""<header>
<p class="meta">Facilitator pack · scenario <code>{_e(s.id)}</code> · version {_e(s.version)} · {_e(s.language)}</p>
<h1>{_e(s.title)}</h1>
<p class="lead">{_e(s.summary)}</p>
<p class="note">{_e(_ORIGIN[s.origin])}</p>
</header>
<section aria-labelledby="h-about"><h2 id="h-about">Who it is for and what it is for</h2>
<p><strong>Sectors:</strong> {_e(sectors)}{"<br><strong>Roles:</strong> " + _e(roles) if roles else ""}</p>
<h3>Learning outcomes</h3><ol>{outcomes or "<li>Not set in the scenario.</li>"}</ol>
<h3>Credits</h3><ul>{"".join(_credit(c) for c in s.credits) or "<li>Not recorded.</li>"}</ul>
{_consent(s)}
</section>"""


def _consent(s: Scenario) -> str:
    c = s.consent
    if c is None:
        words = f"No consent record: the scenario is {s.origin}, and tells no real person's story."
        return f"<h3>Consent</h3><p>{_e(words)}</p>"
    scope = "; ".join(_SCOPE[x] for x in c.scope)
    excerpt = (
        "may be used in excerpts" if c.excerpting == "permitted" else "must be used whole, not in excerpts"
    )
    return f"""<h3>Consent</h3>
<p>The story may be {_e(scope)}. It {excerpt}. Consent was given on {c.granted.isoformat()} and is
due for review by {c.review_by.isoformat()}; do not use it after that date until it is renewed.
The signed record is kept at: <em>{_e(c.reference)}</em> (a reference only: the form is not in this pack).
To withdraw or ask about consent: {_e(c.withdrawal_contact)}.</p>{f"<p>{_e(c.note)}</p>" if c.note else ""}"""


def _minutes(scenario: LoadedScenario) -> list[tuple[str, int]]:
    s = scenario.scenario
    rows = [("Welcome, prebrief and ground rules", s.timings.prebrief)]
    for stage in scenario.stages():
        rows.append((f"Stage: {stage.title}", stage.minutes))
        dp = stage.decision_point
        if dp is not None:
            revote = " and re-vote" if dp.revote else ""
            rows.append((f"{dp.id}: table talk{revote}", dp.table_talk_minutes))
    if s.timings.break_:
        rows.append(("Break", s.timings.break_))
    rows.append(("Closing reflection", s.timings.closing))
    return rows


def _plan(scenario: LoadedScenario) -> str:
    rows = _minutes(scenario)
    total = sum(m for _, m in rows)
    body = "".join(f"<tr><td>{_e(part)}</td><td>{m}</td></tr>" for part, m in rows)
    return f"""<section class="section" aria-labelledby="h-plan"><h2 id="h-plan">Session plan and timings</h2>
<table><caption class="meta">About {total} minutes in all. The stage times include telling the story, the reveal and the debrief.</caption>
<thead><tr><th scope="col">Part</th><th scope="col">Minutes</th></tr></thead><tbody>{body}
<tr><th scope="row">Total</th><td>{total}</td></tr></tbody></table>
<h3>Room set-up</h3>{_ul(_ROOM)}
</section>"""


def _before(s: Scenario) -> str:
    notes = ", ".join(n.replace("_", " ") for n in s.content_notes)
    staff = f"<p><strong>For staff:</strong> {_e(s.support.staff)}</p>" if s.support.staff else ""
    lead = (
        f"<p><strong>For the leads:</strong> {_e(s.support.facilitator_note)}</p>"
        if s.support.facilitator_note
        else ""
    )
    return f"""<section aria-labelledby="h-prebrief"><h2 id="h-prebrief">Prebrief and ground rules</h2>
<p>Read these out before the story starts, and leave time for questions.</p>{_ul(_GROUND_RULES)}
<h3>Content notes</h3>
<p>{"This story touches on: " + _e(notes) + ". Say so at the start, so people can prepare or choose to step out." if notes else "No content notes are recorded for this story."}</p>
<h3>Support</h3><p class="note"><strong>Crisis support:</strong> {_e(s.support.crisis)}</p>{staff}{lead}
</section>"""


def _stage(stage: Stage, results: dict[str, DebriefResult]) -> str:
    facts = "".join(
        f"<li>{_e(f.text)} <span class='meta'>(fact <code>{_e(f.id)}</code>)</span></li>" for f in stage.facts
    )
    parts = [
        f'<section class="section" aria-labelledby="h-{_e(stage.id)}"><h2 id="h-{_e(stage.id)}">Stage: {_e(stage.title)}</h2>',
        f"<p class='meta'>Stage <code>{_e(stage.id)}</code> · about {stage.minutes} minutes</p>",
        f"<h3>Tell the room</h3><p class='story'>{_e(stage.text)}</p>",
    ]
    if facts:
        parts.append(f"<h3>What the room now knows</h3><ul>{facts}</ul>")
    if stage.facilitator_note:
        parts.append(f"<p class='note'><strong>For the leads:</strong> {_e(stage.facilitator_note)}</p>")
    if stage.decision_point is not None:
        parts.append(_decision(stage.decision_point, results.get(stage.decision_point.id)))
    parts.append("</section>")
    return "\n".join(parts)


def _tags(principles: Sequence[str], tensions: Sequence[str]) -> str:
    words = [PRINCIPLE_TITLES[p] for p in principles] + [TENSION_TITLES[t] for t in tensions]
    return f"<span class='tags'>Tagged: {_e('; '.join(words))}</span>" if words else ""


def _decision(dp: DecisionPoint, result: DebriefResult | None) -> str:
    options = "".join(
        f"<li><strong>{_LETTERS[i]}.</strong> {_e(o.text)}<br>{_tags(o.principles, o.tensions)}</li>"
        for i, o in enumerate(dp.options)
    )
    free = (
        " People may also write a plan of their own and say which principles it draws on."
        if dp.free_text
        else ""
    )
    revote = " After table talk, the room votes again: note how the votes moved." if dp.revote else ""
    parts = [
        f"<h3>What would you do? <span class='meta'>(decision point <code>{_e(dp.id)}</code>)</span></h3>",
        f"<p class='lead'><strong>{_e(dp.prompt)}</strong></p><ul class='plain'>{options}</ul>",
        f"<p>Table talk: {dp.table_talk_minutes} minutes, then each table feeds back.{free}{revote} Use the option cards and the tally sheet if there are no devices.</p>",
    ]
    r = dp.reveal
    if r is not None:
        parts.append("<h3>What actually happened</h3>")
        if r.delivery == "storyteller_live":
            parts.append(
                "<p class='cue'>The storyteller speaks here. Hand over and listen; the text below is only a fallback if they choose not to tell it today.</p>"
            )
        elif r.delivery == "recorded":
            parts.append("<p class='cue'>Play the recording here. The transcript is below.</p>")
        parts.append(
            f"<p class='story'>{_e(r.transcript if r.delivery == 'recorded' and r.transcript else r.what_happened)}</p>"
        )
        if r.wish:
            parts.append(f"<p><strong>What the storyteller wishes had happened:</strong> {_e(r.wish)}</p>")
        if r.reflection:
            parts.append(f"<p><strong>Looking back:</strong> {_e(r.reflection)}</p>")
        parts.append("<p class='meta'>This is what happened, not the right answer. It is closest to option "
                     f"{_e(_letter(dp, r.maps_to))}.</p>" if r.maps_to else "<p class='meta'>This is what happened, not the right answer.</p>")  # fmt: skip
    if dp.debrief is not None:
        phases = "".join(
            f"<h4>{title}</h4>{_ul(getattr(dp.debrief.pearls, phase))}"
            for phase, title in _PEARLS
            if getattr(dp.debrief.pearls, phase)
        )
        parts.append(f"<div class='keep'><h3>Debrief (PEARLS)</h3>{phases}</div>")
    if result is not None:
        parts.append(
            f"<p>The engine debrief for this decision point is on the page headed “What the principles ask of each plan: {_e(dp.id)}”.</p>"
        )
    return "\n".join(parts)


def _letter(dp: DecisionPoint, option_id: str | None) -> str:
    for i, o in enumerate(dp.options):
        if o.id == option_id:
            return _LETTERS[i] if o.id == _LETTERS[i].lower() else f"{_LETTERS[i]} ({o.id})"
    return option_id or ""


def _plan_head(p: PlanDebrief, dp: DecisionPoint) -> str:
    if p.kind == "option":
        return _e(_letter(dp, p.key))
    if p.kind == "happened":
        return "What happened" + (f" (closest to {_e(_letter(dp, p.close_to))})" if p.close_to else "")
    return _e(plan_name(p))


def _debrief(result: DebriefResult, dp: DecisionPoint) -> str:
    plans = result.shown()
    heads = "".join(f"<th scope='col'>{_plan_head(p, dp)}</th>" for p in plans)
    legend = "".join(f"<li><strong>{_plan_head(p, dp)}</strong>: {_e(p.label)}</li>" for p in plans)
    known = _ul(t for _, t in result.known_facts) or "<p>Nothing beyond the story so far.</p>"
    rows = []
    for row in result.principles:
        cells = []
        for p in plans:
            on_record, lacking = row.differs(p.key)
            cells.append(
                f"<td>{_ul(on_record, 'plus')}{_ul(lacking, 'query')}{_NOTHING if not (on_record or lacking) else ''}</td>"
            )
        shared = _ul(row.on_record_in_all, "plus") + _ul(row.lacking_in_all, "query")
        rows.append(
            f"<tr><th scope='row'>{_e(row.title)}<br><span class='small'>{_e(row.id)}</span></th>{''.join(cells)}</tr>"
        )
        if shared:
            rows.append(
                f"<tr><td class='small'>in every plan</td><td colspan='{len(plans)}' class='small'>{shared}</td></tr>"
            )
    sections = []
    for d in result.diffs:
        if d.section == "principles":
            continue
        only = "".join(
            f"<td>{_ul(d.only.get(p.key, ())) or '<span class=small>nothing only here</span>'}</td>"
            for p in plans
        )
        sections.append(
            f"<tr><th scope='row'>{_e(d.title)}<br><span class='small'>{len(d.shared)} the same in every plan</span></th>{only}</tr>"
        )
    rules = "".join(
        f"<p class='small'><strong>{_plan_head(p, dp)}</strong> rests on rules: {_e(', '.join(sorted({t.rule for t in p.evaluation.trace})))}</p>"
        for p in plans
    )
    return f"""<section class="wide" aria-labelledby="h-debrief-{_e(dp.id)}">
<h2 id="h-debrief-{_e(dp.id)}">What the principles ask of each plan: {_e(dp.id)}</h2>
<p class="note">{_e(result.framing)}</p>
<p><strong>{_e(dp.prompt)}</strong></p>
<h3>Known at this point</h3>{known}
<h3>The plans</h3><ul>{legend}</ul>
<table><caption class="meta">By principle: what each plan has on record (+) and lacks (?) that not every plan shares.</caption>
<thead><tr><th scope="col">Principle</th>{heads}</tr></thead><tbody>{"".join(rows)}</tbody></table>
<table class="diff"><caption class="meta">What changes between the plans: items only some plans have.</caption>
<thead><tr><th scope="col">Section</th>{heads}</tr></thead><tbody>{"".join(sections)}</tbody></table>
<h3>Traceable</h3>{rules}
</section>"""


def _closing(s: Scenario) -> str:
    text = f"<p class='story'>{_e(s.closing.text)}</p>" if s.closing.text else ""
    return f"""<section class="section" aria-labelledby="h-closing"><h2 id="h-closing">Closing</h2>{text}
<p>Hand out the reflection sheet (the last page). Give people ten quiet minutes. Remind the room of the support information, and thank the storyteller and everyone who took part.</p>
</section>"""


def _cards(s: Scenario) -> str:
    groups = []
    for dp in s.decision_points():
        cards = "".join(
            f"<div class='card'><p class='letter'>{_LETTERS[i]}</p><p class='text'>{_e(o.text)}</p>"
            f"<p class='dp'>{_e(s.title)} · {_e(dp.id)}: {_e(dp.prompt)}</p></div>"
            for i, o in enumerate(dp.options)
        )
        groups.append(
            f"<div class='carddp'><h3>Cards for {_e(dp.id)}</h3><div class='cards'>{cards}</div></div>"
        )
    return f"""<section class="section" aria-labelledby="h-cards"><h2 id="h-cards">Option cards</h2>
<p class="meta">Print one set per table and cut along the dashed lines. Tables hold up a card to vote.</p>
{"".join(groups)}</section>"""


def _tally(s: Scenario) -> str:
    blocks = []
    for dp in s.decision_points():
        revote = "<th scope='col'>After table talk</th>" if dp.revote else ""
        rows = "".join(
            f"<tr><th scope='row'>{_LETTERS[i]}. {_e(o.text)}</th><td></td>{'<td></td>' if dp.revote else ''}<td></td></tr>"
            for i, o in enumerate(dp.options)
        )
        if dp.free_text:
            rows += f"<tr><th scope='row'>A plan of our own</th><td></td>{'<td></td>' if dp.revote else ''}<td></td></tr>"
        blocks.append(
            f"<div class='keep'><h3>{_e(dp.id)}: {_e(dp.prompt)}</h3><table class='tally'><thead><tr><th scope='col'>Option</th>"
            f"<th scope='col'>First vote</th>{revote}<th scope='col'>Notes</th></tr></thead><tbody>{rows}</tbody></table></div>"
        )
    return f"""<section class="section" aria-labelledby="h-tally"><h2 id="h-tally">Tally sheet</h2>
<p class="meta">Count hands or cards. Counts only: no names.</p>{"".join(blocks)}</section>"""


def _gibbs(s: Scenario) -> str:
    parts = []
    for stage, question in GIBBS:
        asked = s.closing.gibbs.get(stage) or (question,)  # type: ignore[call-overload]
        title = stage.replace("_", " ").capitalize()
        parts.append(
            f"<div class='keep'><h3>{_e(title)}</h3><p>{_e(' '.join(asked))}</p><div class='write' role='presentation'></div></div>"
        )
    return f"""<section class="section" aria-labelledby="h-gibbs"><h2 id="h-gibbs">Reflection sheet</h2>
<p>{_e(s.title if s.title[-1:] in ".?!" else s.title + ".")} This sheet is yours to keep; nobody collects it. The questions follow Gibbs' reflective cycle (1988).</p>
{"".join(parts)}</section>"""
