"""The eco-map: the person's safety net as a picture (SVG text, no system packages).

The person sits at the centre and the people the plan can lean on sit around
them. Line style shows how steady a relationship is (solid steady, long dashes
on and off, short dashes new, zigzag strained, dots not recorded); line weight
shows closeness. Each card names the roles that member holds in this plan; each
role nobody can fill is an empty dashed card. Meaning never rests on colour:
every card says in words what it is, and a legend explains the lines. The
picture scales (``viewBox``), uses large type, and its layout depends only on
the content, never on the order of lists in the proposal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from xml.sax.saxutils import escape

from riskengine.analysis.network import build_graph
from riskengine.documents.evaluation import Evaluation, SafetyNet, SinglePointOfFailure
from riskengine.documents.proposal import Member, Proposal
from riskengine.documents.vocab import member_group

__all__ = ["MAX_CARDS", "render_ecomap"]

WIDTH = 1200
CX, CY = 600, 670
RX, RY = 450, 385
CARD_W = 250
LINE_H = 27
NAME_SIZE, TEXT_SIZE = 30, 22
PERSON_R = 78
MAX_CARDS = 10
WRAP = 18
FONT = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"
_GROUP_ORDER = {"personal": 0, "group": 1, "service": 2, "other": 3, "outside_network": 4}
_FILL = {"personal": "#e3eefc", "group": "#e5f5e0", "service": "#fdf3d6", "other": "#eeeeee"}
_STEADY_WORD = {"consistent": "steady", "on_and_off": "on and off", "new": "new", "strained": "strained"}
_DASH = {"on_and_off": "30 14", "new": "10 10", None: "1 11"}
_WIDTH_BY_CLOSENESS = {1: 2, 2: 4, 3: 7, 4: 10, 5: 14}
_ISSUE_WORDS = {
    "not_agreed": "not agreed", "not_aware": "not told", "on_and_off": "on and off", "new": "new",
    "strained": "strained", "not_known": "steadiness unknown", "rarely_in_contact": "rarely in touch",
    "consent_conflict": "said not to tell",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Card:
    """One place around the person: a member, a named owner off the map, or an empty role."""

    key: tuple[int, int, str]
    node: str
    title: str
    lines: tuple[tuple[str, bool], ...]
    fill: str
    missing: bool = False
    heavy: bool = False
    steadiness: str | None = None
    closeness: int | None = None
    tie: str = "line"  # line | none | plan
    x: float = 0.0
    y: float = 0.0

    @property
    def title_lines(self) -> list[str]:
        """An empty role's name wraps (it is the whole message); a member's id is clipped."""
        if self.missing:
            return _wrap(self.title, 12)
        return [_clip(self.title, 12)]

    @property
    def height(self) -> int:
        extra = (len(self.title_lines) - 1) * (LINE_H + 6)
        return 22 + LINE_H + 8 + extra + LINE_H * len(self.lines) + 14


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
    cards = _choose(_cards(proposal, net), net)
    placed = _spread(_place(cards[:MAX_CARDS]))
    hidden = len(cards) - len(placed)
    frame = _frame(placed)
    legend_top = max([CY + RY + 60, *(c.y + c.height / 2 + 40 for c in placed)])
    frame = _Frame(frame.x0, frame.y0, frame.width, legend_top + 480 + (40 if hidden else 0) - frame.y0)
    svg = _Svg()
    _header(svg, proposal, net, frame)
    _links(svg, proposal, placed)
    for card in placed:
        _tie(svg, card)
    _person(svg)
    for card in placed:
        _card(svg, card)
    _legend(svg, frame, legend_top, hidden)
    svg.add("</svg>")
    return "\n".join(svg.parts) + "\n"


# ---------------------------------------------------------------- what to draw


def _cards(proposal: Proposal, net: SafetyNet) -> list[_Card]:
    held, troubled = _roles_by_member(net)
    alone = {s.member: s for s in net.single_points_of_failure}
    conflicts = {c.member for c in net.consent_conflicts}
    cards = [_member_card(m, held, troubled, alone, conflicts) for m in proposal.network]
    graph = build_graph(proposal)
    for node in sorted(graph.nodes):
        if not graph.nodes[node].get("in_network"):
            cards.append(_outside_card(node, held, alone))
    for i, need in enumerate(n for n in net.needs if n.status == "missing"):
        lines = (("nobody yet", True), *((w, False) for w in _wrap(f"needed {need.when}")))
        title = need.role.replace("_", " ")
        cards.append(_Card((9, i, title), "", title, lines, "#ffffff", missing=True, tie="none"))
    return cards


def _roles_by_member(net: SafetyNet) -> tuple[dict[str, list[str]], dict[str, dict[str, tuple[str, ...]]]]:
    held: dict[str, list[str]] = {}
    troubled: dict[str, dict[str, tuple[str, ...]]] = {}
    for need in net.needs:
        issues = {entry.member: entry.issues for entry in need.issues_by_member}
        role = need.role.replace("_", " ")
        for member in need.filled_by:
            if member in issues:
                troubled.setdefault(member, {})[role] = issues[member]
            elif role not in held.get(member, []):
                held.setdefault(member, []).append(role)
    return held, troubled


def _member_card(
    m: Member,
    held: dict[str, list[str]],
    troubled: dict[str, dict[str, tuple[str, ...]]],
    alone: dict[str, SinglePointOfFailure],
    conflicts: set[str],
) -> _Card:
    kind = (m.kind_label or m.kind).replace("_", " ")
    steady = _STEADY_WORD.get(m.steadiness or "", "steadiness unknown")
    lines: list[tuple[str, bool]] = [(w, False) for w in _wrap(f"{kind}, {steady}")]
    if m.contact == "none":
        lines.append(("no contact", True))
    carried = _carried(alone[m.id]) if m.id in alone else []
    if carried:
        lines += [(w, True) for w in _wrap("only one for: " + ", ".join(carried))]
    others = [r for r in held.get(m.id, []) if r not in carried]
    if others:
        lines += [(w, False) for w in _wrap("holds: " + ", ".join(others))]
    maybe = troubled.get(m.id, {})
    if maybe:
        issues = sorted({i for found in maybe.values() for i in found}, key=list(_ISSUE_WORDS).index)
        lines += [(w, False) for w in _wrap("could hold: " + ", ".join(sorted(maybe)))]
        lines += [(w, False) for w in _wrap("but: " + ", ".join(_ISSUE_WORDS[i] for i in issues))]
    if m.id in conflicts and not any("consent_conflict" in found for found in maybe.values()):
        lines.append(("said not to tell", True))
    group = _group(m.kind)
    key = (_GROUP_ORDER[group], -(m.closeness or 0), m.id)
    tie = "none" if m.contact == "none" else "line"
    return _Card(
        key, m.id, m.id, _trim(lines), _FILL[group], heavy=m.id in alone,
        steadiness=m.steadiness, closeness=m.closeness, tie=tie,
    )  # fmt: skip


def _outside_card(node: str, held: dict[str, list[str]], alone: dict[str, SinglePointOfFailure]) -> _Card:
    lines = [(w, False) for w in _wrap("named in the plan, not on the map")]
    if node in alone:
        lines += [(w, True) for w in _wrap("only one for: " + ", ".join(_carried(alone[node])))]
    return _Card(
        (_GROUP_ORDER["outside_network"], 0, node),
        node,
        node,
        _trim(lines),
        "#ffffff",
        heavy=node in alone,
        tie="plan",
    )


def _carried(spof: SinglePointOfFailure) -> list[str]:
    roles = [r.replace("_", " ") for r in spof.carries]
    if spof.cuts_off_services:
        roles.append("the way to services")
    return roles


def _choose(cards: list[_Card], net: SafetyNet) -> list[_Card]:
    """Everyone if they fit; otherwise the cards that matter to this plan first."""
    cards.sort(key=lambda c: c.key)
    if len(cards) <= MAX_CARDS:
        return cards
    involved = {m for n in net.needs for m in n.filled_by[:3]}
    involved |= {s.member for s in net.single_points_of_failure} | {c.member for c in net.consent_conflicts}

    def priority(card: _Card) -> tuple[int, tuple[int, int, str]]:
        return (
            0 if card.missing or card.heavy else 1 if card.node in involved or card.tie == "plan" else 2
        ), card.key

    chosen = sorted(cards, key=priority)[:MAX_CARDS]
    rest = [c for c in cards if c not in chosen]
    return sorted(chosen, key=lambda c: c.key) + rest


def _place(cards: Sequence[_Card]) -> list[_Card]:
    out = []
    count = max(len(cards), 1)
    for i, card in enumerate(cards):
        angle = -math.pi / 2 + 2 * math.pi * i / count
        x, y = CX + RX * math.cos(angle), CY + RY * math.sin(angle)
        out.append(_replace_xy(card, x, y))
    return out


def _replace_xy(card: _Card, x: float, y: float) -> _Card:
    return replace(card, x=x, y=y)


def _overlap(a: _Card, b: _Card, gap: float = 14) -> bool:
    return abs(a.x - b.x) < CARD_W + gap and abs(a.y - b.y) < (a.height + b.height) / 2 + gap


def _spread(cards: list[_Card]) -> list[_Card]:
    """Push overlapping cards outward from the person until none overlap (deterministic)."""
    for _ in range(400):
        clash = next(
            (
                (i, j)
                for i in range(len(cards))
                for j in range(i + 1, len(cards))
                if _overlap(cards[i], cards[j])
            ),
            None,
        )
        if clash is None:
            break
        for k in clash:
            card = cards[k]
            dx, dy = card.x - CX, card.y - CY
            length = math.hypot(dx, dy) or 1.0
            cards[k] = _replace_xy(card, card.x + dx / length * 8, card.y + dy / length * 8)
    return cards


@dataclass(frozen=True, slots=True)
class _Frame:
    x0: float
    y0: float
    width: float
    height: float


def _frame(cards: Sequence[_Card]) -> _Frame:
    half = max([WIDTH / 2, *(abs(c.x - CX) + CARD_W / 2 + 30 for c in cards)])
    top = min([0.0, *(c.y - c.height / 2 - 190 for c in cards)])
    return _Frame(CX - half, top, 2 * half, 0)


# ---------------------------------------------------------------- drawing


def _header(svg: _Svg, proposal: Proposal, net: SafetyNet, frame: _Frame) -> None:
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
    svg.text(CX, top + 100, _clip(title, 56), 30)
    svg.text(CX, top + 142, _summary(net), 26)


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


def _links(svg: _Svg, proposal: Proposal, cards: Sequence[_Card]) -> None:
    where = {c.node: c for c in cards if not c.missing}
    for a, b in sorted({tuple(sorted(link)) for link in proposal.links}):
        if a in where and b in where:
            p, q = where[a], where[b]
            svg.add(
                f'<path d="M{p.x:.1f},{p.y:.1f} Q{CX + (p.x + q.x - 2 * CX) * 0.65:.1f},'
                f'{CY + (p.y + q.y - 2 * CY) * 0.65:.1f} {q.x:.1f},{q.y:.1f}" fill="none" '
                'stroke="#7a7a7a" stroke-width="3"/>'
            )


def _tie(svg: _Svg, card: _Card) -> None:
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


def _tie_width(card: _Card) -> int:
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
    svg.add(f'<circle cx="{CX}" cy="{CY}" r="{PERSON_R}" fill="#2b2b6b" stroke="#000000" stroke-width="4"/>')
    svg.add(
        f'<text x="{CX}" y="{CY + 13}" font-size="40" text-anchor="middle" font-weight="bold" fill="#ffffff">You</text>'
    )


def _card(svg: _Svg, card: _Card) -> None:
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


def _legend(svg: _Svg, frame: _Frame, top: float, hidden: int) -> None:
    left, right = frame.x0 + 40, frame.x0 + frame.width - 40
    svg.add(
        f'<line x1="{left:.0f}" y1="{top - 20:.1f}" x2="{right:.0f}" y2="{top - 20:.1f}" stroke="#999999" stroke-width="2"/>'
    )
    svg.add(f'<g transform="translate({frame.x0:.0f},0)">')
    svg.text(60, top + 22, "How to read this map", 28, bold=True, anchor="start")
    rows = [
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
            '<path d="M60,8 Q130,-16 200,8" fill="none" stroke="#7a7a7a" stroke-width="3"/>',
            "thin grey curve: these two know each other",
        ),
    ]
    for i, (shape, words) in enumerate(rows):
        y = top + 70 + 44 * i
        svg.add(f'<g transform="translate(0,{y:.1f})">{shape}</g>')
        svg.text(230, y + 8, words, 24, anchor="start")
    y = top + 70 + 44 * len(rows)
    svg.add(
        f'<rect x="60" y="{y - 18:.1f}" width="140" height="36" rx="8" fill="#ffffff" stroke="#1f1f1f" '
        'stroke-width="3" stroke-dasharray="12 8"/>'
    )
    svg.text(230, y + 8, "dashed box: a role nobody can fill yet", 24, anchor="start")
    y += 50
    svg.add(
        f'<rect x="60" y="{y - 18:.1f}" width="140" height="36" rx="8" fill="#ffffff" stroke="#1f1f1f" stroke-width="6"/>'
    )
    svg.text(230, y + 8, "thick double border: the only one holding a role", 24, anchor="start")
    if hidden:
        svg.text(60, y + 58, f"{hidden} more people on the map are not drawn here.", 24, anchor="start")
    svg.add("</g>")


# ---------------------------------------------------------------- small helpers


def _group(kind: str) -> str:
    return member_group(kind)


def _wrap(text: str, width: int = WRAP) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _trim(lines: Iterable[tuple[str, bool]], limit: int = 8) -> tuple[tuple[str, bool], ...]:
    out = list(lines)
    if len(out) <= limit:
        return tuple(out)
    return (*out[: limit - 1], (f"+{len(out) - limit + 1} more lines", False))


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
