"""The eco-map's layout: which cards to draw, where they go, and how ties between members run.

Pure geometry and content, no SVG: :mod:`riskengine.report.ecomap` draws what this decides.
The person sits at the centre; cards sit on an ellipse around them and are pushed outward
until none overlap. A tie between two members never runs through the person: it leaves each
card outward to a ring outside every card and follows the ring round, so it cannot be read as
a tie to the person; a tie whose route would cross another card is left out and named below
the map. Nothing is cut silently: a member without a card is named in a list below the map.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from riskengine.analysis.network import build_graph
from riskengine.documents.evaluation import SafetyNet, SinglePointOfFailure
from riskengine.documents.proposal import Member, Proposal
from riskengine.documents.vocab import member_group

__all__ = [
    "CARD_W", "CX", "CY", "GROUP_FILLS", "LINE_H", "MAX_CARDS", "PERSON_R",
    "Card", "Frame", "Layout", "Point", "frame_of", "lay_out", "names_in_lines", "overlap", "wrap",
]  # fmt: skip

WIDTH = 1200
CX, CY = 600, 670
RX, RY = 450, 385
CARD_W = 250
LINE_H = 27
PERSON_R = 78
MAX_CARDS = 10
WRAP = 18
RING_GAP = 36  # between the outermost card corner and the first ring the member ties follow
RING_STEP = 18  # each tie between members follows a ring of its own, so no two share a path
MAX_LINKS = 8  # ties drawn between members; any more are named below the map
_GROUP_ORDER = {"personal": 0, "group": 1, "service": 2, "other": 3, "outside_network": 4}
# Card colours, each explained in words in the legend (meaning never rests on colour alone).
GROUP_FILLS = {
    "personal": ("#e3eefc", "blue card: family, friends, partner, neighbours, peers"),
    "group": ("#e5f5e0", "green card: groups, clubs and communities"),
    "service": ("#fdf3d6", "yellow card: services and professionals"),
    "other": ("#eeeeee", "grey card: someone else"),
}
_STEADY_WORD = {"consistent": "steady", "on_and_off": "on and off", "new": "new", "strained": "strained"}
_ISSUE_WORDS = {
    "not_agreed": "not agreed", "not_aware": "not told", "on_and_off": "on and off", "new": "new",
    "strained": "strained", "not_known": "steadiness unknown", "rarely_in_contact": "rarely in touch",
    "consent_conflict": "said not to tell",
}  # fmt: skip

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Card:
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
        """The card's name, wrapped whole (never clipped)."""
        return wrap(self.title, 12 if self.missing else 14)

    @property
    def height(self) -> int:
        extra = (len(self.title_lines) - 1) * (LINE_H + 6)
        return 22 + LINE_H + 8 + extra + LINE_H * len(self.lines) + 14

    def box(self, gap: float = 0.0) -> tuple[float, float, float, float]:
        """(left, top, right, bottom), grown by ``gap`` on every side."""
        half_w, half_h = CARD_W / 2 + gap, self.height / 2 + gap
        return self.x - half_w, self.y - half_h, self.x + half_w, self.y + half_h


@dataclass(frozen=True, slots=True)
class Frame:
    x0: float
    y0: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Layout:
    """Everything the drawing needs: placed cards, routed ties, and what is not drawn."""

    cards: tuple[Card, ...]
    links: tuple[tuple[str, str, tuple[Point, ...]], ...]  # (a, b, route)
    not_drawn: tuple[str, ...]  # members (and named owners) without a card
    links_left_out: tuple[tuple[str, str], ...]  # ties whose route would cross a card, or too many
    ring: float  # radius of the outermost ring a member tie follows (0: no ties drawn)


def lay_out(proposal: Proposal, net: SafetyNet) -> Layout:
    """Choose, place and spread the cards, then route the ties between members."""
    chosen = _choose(_cards(proposal, net), net)
    placed = _spread(_place(chosen[:MAX_CARDS]))
    not_drawn = tuple(sorted(c.node for c in chosen[MAX_CARDS:] if not c.missing))
    ring = max((_far_corner(c) for c in placed), default=PERSON_R) + RING_GAP
    drawn, left_out = _route_links(proposal, placed, ring)
    outer = ring + RING_STEP * (len(drawn) - 1) if drawn else 0.0
    return Layout(tuple(placed), drawn, not_drawn, left_out, outer)


# ---------------------------------------------------------------- what to draw


def _cards(proposal: Proposal, net: SafetyNet) -> list[Card]:
    held, troubled = _roles_by_member(net)
    alone = {s.member: s for s in net.single_points_of_failure}
    conflicts = {c.member for c in net.consent_conflicts}
    cards = [_member_card(m, held, troubled, alone, conflicts) for m in proposal.network]
    graph = build_graph(proposal)
    for node in sorted(graph.nodes):
        if not graph.nodes[node].get("in_network"):
            cards.append(_outside_card(node, alone))
    for i, need in enumerate(n for n in net.needs if n.status == "missing"):
        lines = (("nobody yet", True), *((w, False) for w in wrap(f"needed {need.when}")))
        title = need.role.replace("_", " ")
        cards.append(Card((9, i, title), "", title, lines, "#ffffff", missing=True, tie="none"))
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
) -> Card:
    kind = (m.kind_label or m.kind).replace("_", " ")
    steady = _STEADY_WORD.get(m.steadiness or "", "steadiness unknown")
    lines: list[tuple[str, bool]] = [(w, False) for w in wrap(f"{kind}, {steady}")]
    if m.contact == "none":
        lines.append(("no contact", True))
    carried = _carried(alone[m.id]) if m.id in alone else []
    if carried:
        lines += [(w, True) for w in wrap("only one for: " + ", ".join(carried))]
    others = [r for r in held.get(m.id, []) if r not in carried]
    if others:
        lines += [(w, False) for w in wrap("holds: " + ", ".join(others))]
    maybe = troubled.get(m.id, {})
    if maybe:
        issues = sorted({i for found in maybe.values() for i in found}, key=list(_ISSUE_WORDS).index)
        lines += [(w, False) for w in wrap("could hold: " + ", ".join(sorted(maybe)))]
        lines += [(w, False) for w in wrap("but: " + ", ".join(_ISSUE_WORDS[i] for i in issues))]
    if m.id in conflicts and not any("consent_conflict" in found for found in maybe.values()):
        lines.append(("said not to tell", True))
    group = member_group(m.kind)
    key = (_GROUP_ORDER[group], -(m.closeness or 0), m.id)
    tie = "none" if m.contact == "none" else "line"
    return Card(
        key, m.id, m.id, tuple(lines), GROUP_FILLS[group][0], heavy=m.id in alone,
        steadiness=m.steadiness, closeness=m.closeness, tie=tie,
    )  # fmt: skip


def _outside_card(node: str, alone: dict[str, SinglePointOfFailure]) -> Card:
    lines = [(w, False) for w in wrap("named in the plan, not on the map")]
    if node in alone:
        lines += [(w, True) for w in wrap("only one for: " + ", ".join(_carried(alone[node])))]
    key = (_GROUP_ORDER["outside_network"], 0, node)
    return Card(key, node, node, tuple(lines), "#ffffff", heavy=node in alone, tie="plan")


def _carried(spof: SinglePointOfFailure) -> list[str]:
    roles = [r.replace("_", " ") for r in spof.carries]
    if spof.cuts_off_services:
        roles.append("the way to services")
    return roles


def _choose(cards: list[Card], net: SafetyNet) -> list[Card]:
    """Everyone if they fit; otherwise the cards that matter to this plan first, then the rest."""
    cards.sort(key=lambda c: c.key)
    if len(cards) <= MAX_CARDS:
        return cards
    involved = {m for n in net.needs for m in n.filled_by[:3]}
    involved |= {s.member for s in net.single_points_of_failure} | {c.member for c in net.consent_conflicts}

    def priority(card: Card) -> tuple[int, tuple[int, int, str]]:
        return (
            0 if card.missing or card.heavy else 1 if card.node in involved or card.tie == "plan" else 2
        ), card.key

    chosen = sorted(cards, key=priority)[:MAX_CARDS]
    rest = [c for c in cards if c not in chosen]
    return sorted(chosen, key=lambda c: c.key) + rest


# ---------------------------------------------------------------- where it goes


def _place(cards: Sequence[Card]) -> list[Card]:
    count = max(len(cards), 1)
    out = []
    for i, card in enumerate(cards):
        angle = -math.pi / 2 + 2 * math.pi * i / count
        out.append(replace(card, x=CX + RX * math.cos(angle), y=CY + RY * math.sin(angle)))
    return out


def overlap(a: Card, b: Card, gap: float = 14) -> bool:
    """Whether two cards (with ``gap`` between them) overlap."""
    return abs(a.x - b.x) < CARD_W + gap and abs(a.y - b.y) < (a.height + b.height) / 2 + gap


def _spread(cards: list[Card]) -> list[Card]:
    """Push overlapping cards outward from the person until none overlap (deterministic)."""
    for _ in range(2000):
        clash = next(
            (
                (i, j)
                for i in range(len(cards))
                for j in range(i + 1, len(cards))
                if overlap(cards[i], cards[j])
            ),
            None,
        )
        if clash is None:
            break
        for k in clash:
            card = cards[k]
            dx, dy = card.x - CX, card.y - CY
            length = math.hypot(dx, dy) or 1.0
            cards[k] = replace(card, x=card.x + dx / length * 8, y=card.y + dy / length * 8)
    return cards


def frame_of(layout: Layout) -> Frame:
    """The picture's extent: every card, the ring of ties, and room for the title above."""
    reach = max([WIDTH / 2, *(abs(c.x - CX) + CARD_W / 2 + 30 for c in layout.cards), layout.ring + 30])
    top = min([0.0, *(c.y - c.height / 2 - 190 for c in layout.cards), CY - layout.ring - 190])
    return Frame(CX - reach, top, 2 * reach, 0)


# ---------------------------------------------------------------- ties between members


def _far_corner(card: Card) -> float:
    left, top, right, bottom = card.box()
    return max(math.hypot(x - CX, y - CY) for x in (left, right) for y in (top, bottom))


def _route_links(
    proposal: Proposal, cards: Sequence[Card], ring: float
) -> tuple[tuple[tuple[str, str, tuple[Point, ...]], ...], tuple[tuple[str, str], ...]]:
    where = {c.node: c for c in cards if not c.missing}
    drawn: list[tuple[str, str, tuple[Point, ...]]] = []
    left_out: list[tuple[str, str]] = []
    for a, b in sorted({(min(link), max(link)) for link in proposal.links}):
        if a not in where or b not in where:
            continue
        route = _ring_route(where[a], where[b], ring + RING_STEP * len(drawn))
        others = [c for c in cards if c.node not in (a, b)]
        if len(drawn) == MAX_LINKS or any(_crosses(route, c) for c in others):
            left_out.append((a, b))
        else:
            drawn.append((a, b, route))
    return tuple(drawn), tuple(left_out)


def _ring_route(p: Card, q: Card, ring: float, steps: int = 48) -> tuple[Point, ...]:
    """From p out to the ring, round the ring the shorter way, and in to q."""
    start, end = math.atan2(p.y - CY, p.x - CX), math.atan2(q.y - CY, q.x - CX)
    sweep = (end - start + math.pi) % (2 * math.pi) - math.pi
    arc = [
        (CX + ring * math.cos(start + sweep * i / steps), CY + ring * math.sin(start + sweep * i / steps))
        for i in range(steps + 1)
    ]
    return ((p.x, p.y), *arc, (q.x, q.y))


def _crosses(route: Sequence[Point], card: Card) -> bool:
    left, top, right, bottom = card.box(gap=6)
    return any(_segment_hits_box(a, b, (left, top, right, bottom)) for a, b in itertools.pairwise(route))


def _segment_hits_box(a: Point, b: Point, box: tuple[float, float, float, float]) -> bool:
    """Liang-Barsky clipping: whether segment ab passes through the box."""
    (x0, y0), (x1, y1) = a, b
    dx, dy = x1 - x0, y1 - y0
    low, high = 0.0, 1.0
    for p, q in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return False
    return True


def wrap(text: str, width: int = WRAP) -> list[str]:
    """Words into lines of at most ``width`` characters (a longer word is broken, never cut off)."""
    lines: list[str] = []
    words = [w[i : i + width] for w in text.split() for i in range(0, len(w), width)]
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def names_in_lines(names: Iterable[str], width: int = 70) -> list[str]:
    """A list of names as lines of text, each name whole."""
    return wrap(", ".join(names), width)
