"""The eco-map: the person's safety net as a picture (SVG text, no system packages).

The person sits at the centre and the people the plan can lean on sit around them
(:mod:`riskengine.report.ecomap_layout` decides where). Line style shows how steady a
relationship is (solid steady, long dashes on and off, short dashes new, zigzag strained,
dots not recorded); line weight shows closeness. Each card names the roles that member holds
in this plan; each role nobody can fill is an empty dashed card. Meaning never rests on
colour: every card says in words what it is, and the legend explains the lines and the card
colours. The picture scales (``viewBox``), uses large type, and its layout depends only on the
content, never on the order of lists in the proposal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from riskengine.documents.evaluation import Evaluation, SafetyNet
from riskengine.documents.proposal import Proposal
from riskengine.report.ecomap_layout import (
    CARD_W,
    CX,
    CY,
    GROUP_FILLS,
    LINE_H,
    MAX_CARDS,
    PERSON_R,
    Card,
    Frame,
    Layout,
    frame_of,
    lay_out,
    names_in_lines,
)

__all__ = ["MAX_CARDS", "PERSON_R", "render_ecomap"]

NAME_SIZE, TEXT_SIZE = 30, 22
FONT = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"
_DASH = {"on_and_off": "30 14", "new": "10 10", None: "1 11"}
_WIDTH_BY_CLOSENESS = {1: 2, 2: 4, 3: 7, 4: 10, 5: 14}
_LEGEND_ROW = 44


@dataclass
class _Svg:
    parts: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)

    def text(
        self, x: float, y: float, words: str, size: int, *, bold: bool = False, anchor: str = "middle"
    ) -> None:
        weight = ' font-weight="bold"' if bold else ""
        self.add(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{weight}>{escape(words)}</text>'
        )


def render_ecomap(proposal: Proposal, evaluation: Evaluation) -> str:
    """The person's safety net for this plan as standalone SVG text."""
    net = evaluation.safety_net
    layout = lay_out(proposal, net)
    frame = frame_of(layout)
    legend_top = max([CY + max(layout.ring, 385) + 60, *(c.y + c.height / 2 + 40 for c in layout.cards)])
    notes = _notes(layout)
    legend_rows = 13 + len(notes)
    frame = Frame(frame.x0, frame.y0, frame.width, legend_top + 120 + _LEGEND_ROW * legend_rows - frame.y0)
    svg = _Svg()
    _header(svg, proposal, net, frame)
    _links(svg, layout)
    for card in layout.cards:
        _tie(svg, card)
    _person(svg)
    for card in layout.cards:
        _card(svg, card)
    _legend(svg, frame, legend_top, notes)
    svg.add("</svg>")
    return "\n".join(svg.parts) + "\n"


def _header(svg: _Svg, proposal: Proposal, net: SafetyNet, frame: Frame) -> None:
    title = proposal.proposal.title or proposal.proposal.activity.replace("_", " ")
    box = f"{frame.x0:.0f} {frame.y0:.0f} {frame.width:.0f} {frame.height:.0f}"
    svg.add(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{box}" width="100%" '
        f'preserveAspectRatio="xMidYMin meet" role="img" aria-labelledby="t d" font-family="{FONT}">'
    )
    svg.add(f'<title id="t">Safety net eco-map: {escape(title)}</title>')
    svg.add(f'<desc id="d">{escape(_description(proposal, net))}</desc>')
    svg.add(
        f'<rect x="{frame.x0:.0f}" y="{frame.y0:.0f}" width="{frame.width:.0f}" height="{frame.height:.0f}" fill="#ffffff"/>'
    )
    top = frame.y0
    svg.text(CX, top + 56, "Who this plan leans on", 38, bold=True)
    for i, line in enumerate(names_in_lines([title], 56)[:2]):
        svg.text(CX, top + 100 + 34 * i, line, 30)
    svg.text(CX, top + 170, _summary(net), 26)


def _summary(net: SafetyNet) -> str:
    if not net.needs:
        return "No safety-net roles were asked for."
    counts = {s: sum(n.status == s for n in net.needs) for s in ("in_place", "fragile", "missing")}
    parts = f"{counts['in_place']} in place, {counts['fragile']} fragile, {counts['missing']} nobody yet"
    return f"{len(net.needs)} roles needed: {parts}"


def _description(proposal: Proposal, net: SafetyNet) -> str:
    needs = "; ".join(
        f"{n.role.replace('_', ' ')} ({n.when}): {n.status.replace('_', ' ')}"
        + (f", filled by {', '.join(n.filled_by)}" if n.filled_by else "")
        for n in net.needs
    )
    return f"{len(proposal.network)} people on the map. {needs or 'No roles needed.'}"


def _links(svg: _Svg, layout: Layout) -> None:
    for a, b, route in layout.links:
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in route)
        svg.add(
            f'<polyline class="link" data-a="{escape(a)}" data-b="{escape(b)}" points="{points}" '
            'fill="none" stroke="#6a6a6a" stroke-width="3" stroke-linejoin="round"/>'
        )


def _tie(svg: _Svg, card: Card) -> None:
    if card.tie == "none":
        return
    dx, dy = card.x - CX, card.y - CY
    length = math.hypot(dx, dy) or 1.0
    x1, y1 = CX + dx / length * PERSON_R, CY + dy / length * PERSON_R
    steadiness = "plan" if card.tie == "plan" else card.steadiness or "not_recorded"
    svg.add(f'<g class="tie" data-node="{escape(card.node)}" data-steadiness="{steadiness}">')
    if card.tie == "plan":
        svg.add(_line(x1, y1, card.x, card.y, 4, _DASH[None]))
    elif card.steadiness == "strained":
        svg.add(_zigzag(x1, y1, card.x, card.y, _tie_width(card)))
    else:
        svg.add(_line(x1, y1, card.x, card.y, _tie_width(card), _DASH.get(card.steadiness)))
    svg.add("</g>")


def _tie_width(card: Card) -> int:
    return _WIDTH_BY_CLOSENESS.get(card.closeness or 0, 3)


def _line(x1: float, y1: float, x2: float, y2: float, width: int, dash: str | None) -> str:
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    cap = "round" if dash == _DASH[None] else "butt"
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#1f1f1f" '
        f'stroke-width="{width}" stroke-linecap="{cap}"{dashed}/>'
    )


def _zigzag(x1: float, y1: float, x2: float, y2: float, width: int) -> str:
    dx, dy = x2 - x1, y2 - y1
    length = math.hypot(dx, dy) or 1.0
    ux, uy, nx_, ny_ = dx / length, dy / length, -dy / length, dx / length
    steps = max(2, int(length // 22))
    points = []
    for i in range(steps + 1):
        t = length * i / steps
        off = 0 if i in (0, steps) else (11 if i % 2 else -11)
        points.append(f"{x1 + ux * t + nx_ * off:.1f},{y1 + uy * t + ny_ * off:.1f}")
    return (
        f'<polyline points="{" ".join(points)}" fill="none" stroke="#1f1f1f" '
        f'stroke-width="{max(2, width // 2)}" stroke-linejoin="miter"/>'
    )


def _person(svg: _Svg) -> None:
    svg.add(
        f'<circle class="person" cx="{CX}" cy="{CY}" r="{PERSON_R}" fill="#2b2b6b" stroke="#000000" stroke-width="4"/>'
    )
    svg.add(
        f'<text x="{CX}" y="{CY + 13}" font-size="40" text-anchor="middle" font-weight="bold" fill="#ffffff">You</text>'
    )


def _card(svg: _Svg, card: Card) -> None:
    h = card.height
    x, y = card.x - CARD_W / 2, card.y - h / 2
    if card.missing:
        style = 'fill="#ffffff" stroke="#1f1f1f" stroke-width="3" stroke-dasharray="12 8"'
    else:
        style = f'fill="{card.fill}" stroke="#1f1f1f" stroke-width="{6 if card.heavy else 2}"'
    kind = "missing" if card.missing else "member"
    svg.add(f'<g class="card {kind}" data-node="{escape(card.node or card.title)}">')
    svg.add(f'<rect x="{x:.1f}" y="{y:.1f}" width="{CARD_W}" height="{h}" rx="14" {style}/>')
    if card.heavy:
        svg.add(
            f'<rect x="{x + 7:.1f}" y="{y + 7:.1f}" width="{CARD_W - 14}" height="{h - 14}" rx="9" '
            'fill="none" stroke="#1f1f1f" stroke-width="2"/>'
        )
    titles = card.title_lines
    for i, words in enumerate(titles):
        svg.text(card.x, y + 14 + LINE_H + (LINE_H + 6) * i, words, NAME_SIZE, bold=True)
    y += (len(titles) - 1) * (LINE_H + 6)
    for i, (words, bold) in enumerate(card.lines):
        svg.text(card.x, y + 22 + LINE_H + 8 + LINE_H * (i + 1) - 6, words, TEXT_SIZE, bold=bold)
    svg.add("</g>")


def _notes(layout: Layout) -> list[str]:
    """What the map leaves out, in words: every member without a card and every tie not drawn."""
    notes: list[str] = []
    if layout.not_drawn:
        count = len(layout.not_drawn)
        notes += names_in_lines(
            [f"Not drawn, to keep the map readable ({count}): " + ", ".join(layout.not_drawn)]
        )
    if layout.links_left_out:
        pairs = [f"{a} and {b}" for a, b in layout.links_left_out]
        notes += names_in_lines(["These know each other, not drawn to keep lines clear: " + "; ".join(pairs)])
    return notes


def _legend(svg: _Svg, frame: Frame, top: float, notes: list[str]) -> None:
    left, right = frame.x0 + 40, frame.x0 + frame.width - 40
    svg.add(
        f'<line x1="{left:.0f}" y1="{top - 20:.1f}" x2="{right:.0f}" y2="{top - 20:.1f}" stroke="#999999" stroke-width="2"/>'
    )
    svg.add(f'<g class="legend" transform="translate({frame.x0:.0f},0)">')
    svg.text(60, top + 22, "How to read this map", 28, bold=True, anchor="start")
    y = top + 70
    for shape, words in [*_line_rows(), *_box_rows()]:
        svg.add(f'<g transform="translate(0,{y:.1f})">{shape}</g>')
        svg.text(230, y + 8, words, 24, anchor="start")
        y += _LEGEND_ROW
    for line in notes:
        svg.text(60, y + 8, line, 24, anchor="start")
        y += _LEGEND_ROW
    svg.add("</g>")


def _line_rows() -> list[tuple[str, str]]:
    return [
        (_line(60, 0, 200, 0, 6, None), "solid line: steady relationship"),
        (_line(60, 0, 200, 0, 6, _DASH["on_and_off"]), "long dashes: on and off"),
        (_line(60, 0, 200, 0, 6, _DASH["new"]), "short dashes: new"),
        (_zigzag(60, 0, 200, 0, 10), "zigzag: strained"),
        (_line(60, 0, 200, 0, 4, _DASH[None]), "dots: not recorded, or named only in the plan"),
        (
            _line(60, -8, 200, -8, 2, None) + _line(60, 8, 200, 8, 14, None),
            "thicker line: closer; no line: no contact",
        ),
        (
            '<polyline points="60,12 60,-10 200,-10 200,12" fill="none" stroke="#6a6a6a" stroke-width="3"/>',
            "grey line round the outside: these two know each other",
        ),
    ]


def _box_rows() -> list[tuple[str, str]]:
    def box(fill: str, stroke: str = 'stroke-width="2"') -> str:
        return (
            f'<rect x="60" y="-18" width="140" height="36" rx="8" fill="{fill}" stroke="#1f1f1f" {stroke}/>'
        )

    return [
        *((box(fill), words) for fill, words in GROUP_FILLS.values()),
        (
            box("#ffffff", 'stroke-width="3" stroke-dasharray="12 8"'),
            "dashed box: a role nobody can fill yet",
        ),
        (box("#ffffff", 'stroke-width="6"'), "thick double border: the only one holding a role"),
    ]
