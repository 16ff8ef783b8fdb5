"""The eco-map: a scalable, deterministic SVG whose meaning is in words and line shapes, not colour."""

from __future__ import annotations

import itertools
import random
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskengine.cli import main
from riskengine.engine import Engine
from riskengine.read.proposal_files import load_proposal, proposal_from_data
from riskengine.report.ecomap import MAX_CARDS, render_ecomap

from .paths import EXAMPLES, SCENARIO_PROPOSALS, SHIPPED

RULESET = SHIPPED / "safety-net.yaml"
NS = {"s": "http://www.w3.org/2000/svg"}
SOLID = {"contact": "weekly", "steadiness": "consistent", "knows_about_plan": True, "agreed_to_help": True}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_paths([RULESET], backend="reference")


def draw(engine: Engine, data: dict[str, Any]) -> str:
    p = proposal_from_data(data)
    return render_ecomap(p, engine.evaluate(p))


def doc(network: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schema_version": 1, "id": "e", "jurisdiction": "england", "as_of": "2026-11-22",
        "proposal": {"activity": "parkrun", "title": "Doing a parkrun"}, "network": network,
    }  # fmt: skip
    return {**base, **extra}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]


def cards(root: ET.Element, kind: str) -> dict[str, ET.Element]:
    return {g.get("data-node", ""): g for g in root.iterfind(f".//s:g[@class='card {kind}']", NS)}


def ties(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-node", ""): g for g in root.iterfind(".//s:g[@class='tie']", NS)}


MIXED = doc(
    [
        {"id": "sam", "kind": "friend", "closeness": 5, **SOLID},
        {"id": "dad", "kind": "family", "closeness": 2, "contact": "monthly", "steadiness": "strained"},
        {"id": "pal", "kind": "friend", "closeness": 3, "contact": "weekly", "steadiness": "on_and_off"},
        {"id": "kw", "kind": "key_worker", "contact": "weekly", "steadiness": "new"},
        {"id": "gp1", "kind": "helpline", "contact": "none"},
    ],
    links=[["sam", "pal"]],
    person={"early_warning_signs": ["sleeping less"]},
    proposal={"activity": "reduce_or_stop_medication", "title": "Coming off"},
)


class TestShape:
    def test_valid_scalable_svg(self, engine: Engine) -> None:
        """The output parses as SVG with a viewBox, width 100% and an accessible title and description."""
        root = parse(draw(engine, MIXED))
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.get("viewBox") and root.get("width") == "100%"
        assert root.find("s:title", NS) is not None and root.find("s:desc", NS) is not None

    def test_large_type(self, engine: Engine) -> None:
        """No text is smaller than 22 user units, so it reads on a projector and a phone."""
        root = parse(draw(engine, MIXED))
        sizes = [int(t.get("font-size", "0")) for t in root.iter("{http://www.w3.org/2000/svg}text")]
        assert min(sizes) >= 22

    def test_no_external_references(self, engine: Engine) -> None:
        """The SVG is self-contained: no images, scripts or external links."""
        svg = draw(engine, MIXED)
        assert "<image" not in svg and "<script" not in svg and "href" not in svg


class TestMeaning:
    def test_person_at_centre_and_every_member_labelled(self, engine: Engine) -> None:
        """The person is at the centre and every member has a card with its name and kind in words."""
        root = parse(draw(engine, MIXED))
        assert "You" in texts(root)
        members = cards(root, "member")
        assert set(members) == {"sam", "dad", "pal", "kw", "gp1"}
        assert "key worker, new" in texts(members["kw"])

    def test_line_style_follows_steadiness(self, engine: Engine) -> None:
        """Steady is solid, on-and-off and new are dashed differently, strained is a zigzag, no contact has no line."""
        found = ties(parse(draw(engine, MIXED)))
        assert found["sam"].find("s:line", NS).get("stroke-dasharray") is None  # type: ignore[union-attr]
        dashes = {n: found[n].find("s:line", NS).get("stroke-dasharray") for n in ("pal", "kw")}  # type: ignore[union-attr]
        assert dashes["pal"] and dashes["kw"] and dashes["pal"] != dashes["kw"]
        assert found["dad"].find("s:polyline", NS) is not None
        assert "gp1" not in found and "no contact" in texts(
            cards(parse(draw(engine, MIXED)), "member")["gp1"]
        )

    def test_line_weight_follows_closeness(self, engine: Engine) -> None:
        """A closer relationship is drawn with a heavier line."""
        found = ties(parse(draw(engine, MIXED)))
        sam = float(found["sam"].find("s:line", NS).get("stroke-width", "0"))  # type: ignore[union-attr]
        pal = float(found["pal"].find("s:line", NS).get("stroke-width", "0"))  # type: ignore[union-attr]
        assert sam > pal

    def test_roles_and_missing_slots(self, engine: Engine) -> None:
        """Members are labelled with the roles they hold, and each missing role is an empty labelled slot."""
        root = parse(draw(engine, MIXED))
        sam = " ".join(texts(cards(root, "member")["sam"]))
        assert "early warning" in sam
        missing = cards(root, "missing")
        assert "prescribing oversight" in missing and "nobody yet" in texts(missing["prescribing oversight"])

    def test_legend_explains_in_words(self, engine: Engine) -> None:
        """A legend names every line style and box in words, so nothing rests on colour."""
        words = " ".join(texts(parse(draw(engine, MIXED))))
        for phrase in (
            "steady",
            "on and off",
            "new",
            "strained",
            "not recorded",
            "closer",
            "nobody can fill",
            "only one",
        ):
            assert phrase in words


class TestSizesAndOrder:
    def test_empty_network(self, engine: Engine) -> None:
        """With nobody on the map, the picture shows the person and a slot for every missing role."""
        data = doc(
            [], person={"early_warning_signs": ["x"]}, proposal={"activity": "reduce_or_stop_medication"}
        )
        root = parse(draw(engine, data))
        assert not cards(root, "member") and len(cards(root, "missing")) >= 3

    def test_large_network_stays_readable(self, engine: Engine) -> None:
        """A 500-member network draws at most MAX_CARDS cards and names every member it does not draw."""
        network = [{"id": f"m{i:03d}", "kind": "friend", "closeness": 1 + i % 5, **SOLID} for i in range(500)]
        root = parse(draw(engine, doc(network)))
        drawn = set(cards(root, "member"))
        assert len(drawn) + len(cards(root, "missing")) <= MAX_CARDS
        legend = " ".join(texts(root))
        assert "Not drawn, to keep the map readable (490)" in legend
        assert all(m["id"] in drawn or m["id"] in legend for m in network)

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(seed=st.integers(0, 10_000))
    def test_order_independent(self, engine: Engine, seed: int) -> None:
        """Shuffling the network, links and mitigations gives the same SVG bytes."""
        data = {**MIXED, "plan": {"mitigations": [{"text": "sam comes with me", "owner": "sam"},
                                                   {"text": "call duty", "owner": "duty-team"}]}}  # fmt: skip
        rnd = random.Random(seed)
        network, mitigations = list(data["network"]), list(data["plan"]["mitigations"])
        rnd.shuffle(network)
        rnd.shuffle(mitigations)
        other = {**data, "network": network, "plan": {"mitigations": mitigations}, "links": [["pal", "sam"]]}
        assert draw(engine, other) == draw(engine, data)

    def test_cards_never_overlap(self, engine: Engine) -> None:
        """However many cards there are, none overlaps another."""
        network = [
            {
                "id": f"m{i}",
                "kind": "family",
                "contact": "none",
                "steadiness": "strained",
                "known_for_months": 1,
            }
            for i in range(30)
        ]
        root = parse(draw(engine, doc(network, person={"early_warning_signs": ["x"]})))
        boxes = []
        for g in [*cards(root, "member").values(), *cards(root, "missing").values()]:
            rect = g.find("s:rect", NS)
            assert rect is not None
            boxes.append(tuple(float(rect.get(k, "0")) for k in ("x", "y", "width", "height")))
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert (
                    a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]
                )


class TestFiles:
    @pytest.mark.parametrize(
        "path", sorted([*EXAMPLES.glob("*.yaml"), *SCENARIO_PROPOSALS.glob("*.yaml")]), ids=lambda p: p.stem
    )
    def test_every_example_draws(self, engine: Engine, path: Path) -> None:
        """Every contract example and scenario proposal draws as valid SVG."""
        p = load_proposal(path)
        assert parse(render_ecomap(p, engine.evaluate(p))).get("viewBox")

    def test_cli_writes_the_file(self, tmp_path: Path) -> None:
        """`riskengine ecomap FILE -o OUT.svg` writes the picture."""
        out = tmp_path / "map.svg"
        code = main(["ecomap", str(EXAMPLES / "parkrun-full.yaml"), "-o", str(out), "--rulesets", str(RULESET),
                     "--backend", "reference"])  # fmt: skip
        assert code == 0 and parse(out.read_text(encoding="utf-8")).get("viewBox")


KINDS = ["friend", "family", "partner", "key_worker", "community_group", "gp", "peer", "neighbour"]
STEADY = ["consistent", "on_and_off", "new", "strained", None]


def sized(count: int) -> dict[str, Any]:
    """A proposal with ``count`` members of mixed kinds, and ties between members across the map."""
    network = []
    for i in range(count):
        member = {"id": f"p{i:02d}", "kind": KINDS[i % len(KINDS)], "closeness": 1 + i % 5, "contact": "weekly",
                  "known_for_months": 12 * (1 + i % 3), "knows_about_plan": i % 2 == 0, "agreed_to_help": i % 3 == 0}  # fmt: skip
        if STEADY[i % 5]:
            member["steadiness"] = STEADY[i % 5]
        network.append(member)
    links = [[f"p{i:02d}", f"p{(i + count // 2) % count:02d}"] for i in range(0, count, 3) if count > 1]
    links = [pair for pair in links if pair[0] != pair[1]]
    return doc(network, links=links, person={"early_warning_signs": ["sleeping less"]},
               plan={"mitigations": [{"text": "call the duty team", "owner": "duty-team"}]})  # fmt: skip


def _boxes(root: ET.Element) -> dict[str, tuple[float, float, float, float]]:
    out = {}
    for kind in ("member", "missing"):
        for node, g in cards(root, kind).items():
            rect = g.find("s:rect", NS)
            assert rect is not None
            x, y, w, h = (float(rect.get(k, "0")) for k in ("x", "y", "width", "height"))
            out[node] = (x, y, x + w, y + h)
    return out


def _points(polyline: ET.Element) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (p.split(",") for p in polyline.get("points", "").split())]


def _segment_near_centre(
    a: tuple[float, float], b: tuple[float, float], cx: float, cy: float, r: float
) -> bool:
    (x0, y0), (x1, y1) = a, b
    dx, dy = x1 - x0, y1 - y0
    t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, ((cx - x0) * dx + (cy - y0) * dy) / (dx * dx + dy * dy)))
    return (x0 + t * dx - cx) ** 2 + (y0 + t * dy - cy) ** 2 <= r * r


class TestGeometry:
    """Checked on the picture itself: ties between members keep clear of "You", no two cards
    overlap, and everyone is either drawn or named."""

    @pytest.mark.parametrize("count", [0, 1, 5, 16, 40])
    def test_no_tie_crosses_the_centre_and_no_cards_overlap(self, engine: Engine, count: int) -> None:
        data = sized(count)
        root = parse(draw(engine, data))
        circle = root.find(".//s:circle[@class='person']", NS)
        assert circle is not None
        cx, cy, r = (float(circle.get(k, "0")) for k in ("cx", "cy", "r"))
        links = root.findall(".//s:polyline[@class='link']", NS)
        for link in links:
            route = _points(link)
            assert not any(
                _segment_near_centre(a, b, cx, cy, r + 10) for a, b in itertools.pairwise(route)
            )
        boxes = list(_boxes(root).values())
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
        legend = " ".join(texts(root))
        drawn = _boxes(root)
        assert all(m["id"] in drawn or m["id"] in legend for m in data["network"])
        pairs = {tuple(sorted(p)) for p in data.get("links", [])}
        shown = {tuple(sorted((link.get("data-a", ""), link.get("data-b", "")))) for link in links}
        for a, b in pairs - shown:  # a tie not drawn is named, unless a member has no card
            assert f"{a} and {b}" in legend or a not in drawn or b not in drawn
        if count == 5:
            assert shown, "with five members there is room to draw the ties"

    def test_no_card_text_is_cut(self, engine: Engine) -> None:
        """A card used to end '+2 more lines'; an id used to be clipped with an ellipsis."""
        long_id = "the-hearing-voices-group-in-leeds"
        network = [{"id": long_id, "kind": "community_group", **SOLID}]
        words = " ".join(texts(parse(draw(engine, doc(network)))))
        assert "more lines" not in words and "…" not in words
        assert long_id.replace("-", "") in words.replace("-", "").replace(" ", "")

    def test_the_legend_explains_every_card_colour(self, engine: Engine) -> None:
        root = parse(draw(engine, sized(8)))
        fills = {g.find("s:rect", NS).get("fill") for g in cards(root, "member").values()}  # type: ignore[union-attr]
        legend = root.find(".//s:g[@class='legend']", NS)
        assert legend is not None
        explained = {r.get("fill") for r in legend.iter("{http://www.w3.org/2000/svg}rect")}
        assert fills <= explained
